"""Secrets on the real hosts.

* Real GIMP 3.0.4 and 3.2.x: a canary API key (the only key the local AILab server accepts) in AILAB_API_KEY;
  python-fu-smart-beauty succeeds and fails, the Settings procedure tests the key, the image with its
  new layer is saved as XCF; afterwards the throw-away profile (pluginrc, sessionrc, parasiterc,
  saved procedure settings...), the XCF, the output and temp folders and GIMP's output hold no trace of it.
* Real Python 2.7 with the pinned requests 2.27.1 that install.sh vendors for GIMP 2.10: an empty
  CURL_CA_BUNDLE switches certificate checks off in plain requests there, and not in our client.
"""
import os
import sys
import time
from pathlib import Path

import pytest
from hosts import GIMPS, Bind, record_time

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reliability"))
import netfaults  # noqa: E402

CANARY = "sbcanary-real-gimp-4b1d8e2a9c07"

PROGRAM = r'''
import json, os, urllib.request
NI = Gimp.RunMode.NONINTERACTIVE
R = {}

def control(method, action, payload=None):
    req = urllib.request.Request(SERVER + "/_control/" + action, method=method,
                                 data=None if payload is None else json.dumps(payload).encode(),
                                 headers={"X-Control-Token": TOKEN, "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=15).read().decode())

def run(name, **props):
    proc = Gimp.get_pdb().lookup_procedure(name)
    cfg = proc.create_config()
    cfg.set_property("run-mode", NI)
    for k, v in props.items():
        if k == "drawables":
            cfg.set_core_object_array(k, v)
        else:
            cfg.set_property(k, v)
    res = proc.run(cfg)
    return [res.index(0).value_nick, str(res.index(1)) if res.length() > 1 else None]

img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/bg.png"))
src = img.get_layers()[0]
R["ok"] = run("python-fu-smart-beauty", image=img, drawables=[src], **{"beauty-level": 0.8})
control("POST", "inject", {"name": "no_credits", "params": {}})
R["fail"] = run("python-fu-smart-beauty", image=img, drawables=[src], **{"beauty-level": 0.5})
control("POST", "reset")
R["settings"] = run("python-fu-smart-beauty-settings")
R["layers"] = [l.get_name() for l in img.get_layers()]
Gimp.file_save(NI, img, Gio.File.new_for_path("/sb/work/out/result.xcf"), None)
Gimp.file_save(NI, img, Gio.File.new_for_path("/sb/work/out/result.png"), None)
json.dump(R, open("/sb/work/out/result.json", "w"))
'''


def _hits(root):
    found = []
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                if CANARY.encode() in f.read():
                    found.append(path)
    return found


@pytest.mark.parametrize("root", [name for name, ver in GIMPS.items() if ver.startswith("3.")])
def test_canary_key_leaves_no_trace_in_real_gimp3(root, request, host_work):
    import json

    import numpy as np
    from PIL import Image
    from smart_beauty_server import LocalAilab

    gimp3_host = request.getfixturevalue(root + "_host")
    prof = gimp3_host.install_plugin(host_work)
    Image.fromarray(np.random.RandomState(9).randint(0, 256, size=(48, 64, 3)).astype(np.uint8)).save(
        host_work / "bg.png")
    for d in ("tmp", "config", "out"):
        (host_work / d).mkdir()
    srv = LocalAilab(port=0, api_keys=[CANARY], job_seconds=0.1).start()
    try:
        head = "SERVER = %r\nTOKEN = %r\n" % (srv.url, srv.control_token)
        t0 = time.monotonic()
        res = gimp3_host.batch(host_work, head + PROGRAM, env={
            "AILAB_API_KEY": CANARY, "AILAB_API_BASE": srv.url, "TMPDIR": "/sb/work/tmp",
            "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config", "SMART_BEAUTY_DEADLINE": "20"}, timeout=300)
        record_time("GIMP %s: canary-key session + XCF" % gimp3_host.version, time.monotonic() - t0)
        server_log = repr(srv.requests)
    finally:
        srv.stop()
    rj = host_work / "out" / "result.json"
    assert rj.exists(), res.output[-5000:]
    r = json.loads(rj.read_text())
    assert r["ok"][0] == "success" and r["settings"][0] == "success", (r, res.output[-3000:])
    assert r["fail"][0] == "execution-error" and "credits" in r["fail"][1], r
    assert any(n.startswith("Smart Beauty") for n in r["layers"]), r
    assert (host_work / "out" / "result.xcf").stat().st_size > 0
    # the profile GIMP wrote at exit: pluginrc, sessionrc, parasiterc, saved procedure settings...
    written = sorted(str(p.relative_to(prof)) for p in prof.rglob("*rc"))
    assert any(w.endswith("pluginrc") for w in written), written
    assert _hits(host_work) == [], "canary key found on disk"
    assert CANARY not in res.output and CANARY not in server_log


PY27_PROBE = r'''
import requests
from smart_beauty import Client, errors
try:
    requests.Session().get(URL + "/api/common/query-credits", timeout=5)
    print("PLAIN-REQUESTS: unverified request sent")
except requests.exceptions.SSLError:
    print("PLAIN-REQUESTS: refused")
try:
    with Client("py27-canary-0123456789", URL) as c:
        c.credits()
    print("CLIENT: unverified request sent")
except errors.NetworkError as e:
    print("CLIENT: refused: %s" % e)
print("requests " + requests.__version__)
'''


def test_empty_curl_ca_bundle_does_not_disable_tls_on_py27(py27_host, tmp_path):
    tls = netfaults.TlsServer(str(tmp_path))
    try:
        res = py27_host.run(["python2.7", "-c", "URL = %r\n" % tls.url + PY27_PROBE],
                            binds=[Bind(REPO / "lib", "/sb/lib", True)],
                            env={"PYTHONPATH": "/sb/lib", "CURL_CA_BUNDLE": ""}, timeout=60)
    finally:
        tls.close()
    out = res.output
    assert "requests 2.27.1" in out, out
    # requests 2.27.1 on its own would send it unverified (why the guard exists) ...
    assert "PLAIN-REQUESTS: unverified request sent" in out, out
    # ... our client refuses, and never sends the key
    assert "CLIENT: refused" in out and "certificate problem" in out, out
    assert not any(b"py27-canary" in h for h in tls.heads), tls.heads


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_readable_key_file_refused_on_py27(py27_host, tmp_path, mode):
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    key = cfg / "api-key"
    key.write_text("py27-canary-0123456789\n")
    os.chmod(str(key), mode)
    res = py27_host.run(["python2.7", "-c", "from smart_beauty import Settings, errors\n"
                         "try:\n    Settings.load()\n    print('LOADED')\n"
                         "except errors.ConfigError as e:\n    print('REFUSED: %s' % e)\n"],
                        binds=[Bind(REPO / "lib", "/sb/lib", True), Bind(cfg, "/sb/cfg")],
                        env={"PYTHONPATH": "/sb/lib", "SMART_BEAUTY_CONFIG_DIR": "/sb/cfg"}, timeout=60)
    assert "REFUSED" in res.output and "chmod 600" in res.output, res.output
    assert "py27-canary" not in res.output
