"""The fault matrix on real GIMP 3.0.4 (headless, Debian 13 chroot): the faults marked ``real_gimp``
in tests/reliability/matrix.py, each run through ``python-fu-smart-beauty`` installed by install.sh
into a throw-away profile. One GIMP session per job deadline runs its faults in turn: the batch
program resets the local AILab server and injects the cell's faults through its control API, writes
the service address and key to the Smart Beauty config folder (0600), runs the procedure on a fresh
image and records status, layers, the source pixels and the temp folder. Every cell must equal the
outcome recorded in tests/reliability/outcomes.json (``SB_RELIABILITY_RECORD=1`` records instead).
"""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hosts import not_available, record_time

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reliability"))
import matrix  # noqa: E402
import netfaults  # noqa: E402

WHEEL_CACHE = REPO / "tests" / "hosts" / "cache" / "wheels"
BAD_KEY = "wrong-key-0123456789abcdef"

PROGRAM = r'''
import json, os, urllib.request
NI = Gimp.RunMode.NONINTERACTIVE
OUT = {}

def control(method, action, payload=None):
    req = urllib.request.Request(SERVER + "/_control/" + action, method=method,
                                 data=None if payload is None else json.dumps(payload).encode(),
                                 headers={"X-Control-Token": TOKEN, "Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=15).read().decode())

def export_layer(l, path):
    tmp = Gimp.Image.new(l.get_width(), l.get_height(), Gimp.ImageBaseType.RGB)
    cp = Gimp.Layer.new_from_drawable(l, tmp)
    tmp.insert_layer(cp, None, 0)
    cp.set_offsets(0, 0)
    Gimp.file_save(NI, tmp, Gio.File.new_for_path(path), None)
    tmp.delete()

def layers(img):
    return [[l.get_name(), list(l.get_offsets()[1:]), l.get_width(), l.get_height()] for l in img.get_layers()]

for cell in CELLS:
    control("POST", "reset")
    for name, params in cell["inject"]:
        control("POST", "inject", {"name": name, "params": params})
    with open("/sb/work/config/settings.json", "w") as f:
        json.dump({"api_base": cell["base"]}, f)
    fd = os.open("/sb/work/config/api-key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (cell["key"] + "\n").encode())
    os.close(fd)
    img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/bg.png"))
    src = Gimp.file_load_layer(NI, img, Gio.File.new_for_path("/sb/work/face.png"))
    src.set_name("Face")
    img.insert_layer(src, None, 0)
    src.set_offsets(7, 5)
    export_layer(src, "/sb/work/%s-before.png" % cell["id"])
    before = layers(img)
    proc = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
    cfg = proc.create_config()
    cfg.set_property("run-mode", NI)
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [src])
    cfg.set_property("beauty-level", 0.8)
    res = proc.run(cfg)
    R = {"status": res.index(0).value_nick, "error": str(res.index(1)) if res.length() > 1 else None,
         "before": before, "after": layers(img)}
    export_layer(src, "/sb/work/%s-after.png" % cell["id"])
    R["stats"] = control("GET", "stats")
    R["tmp_left"] = sorted(os.path.join(d, f) for d, _, fs in os.walk("/sb/work/tmp") for f in fs)
    OUT[cell["id"]] = R
    img.delete()
    json.dump(OUT, open("/sb/work/result.json", "w"))
'''


def _pixels(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.convert("RGBA").tobytes()


def _retried(stats, succeeded):
    hits = [f["hits"] for f in stats["faults"]]
    counts = stats["counts"]
    return (any(h > 1 for h in hits) or (succeeded and any(h >= 1 for h in hits))
            or max(counts["submit"], counts["other"], counts["download"]) > 1)


@pytest.fixture
def gimp3_installed(gimp3_host, host_work):
    if not (REPO / "plug-ins" / "smart-beauty" / "smart-beauty.py").exists():
        not_available("reliability-gimp3", "the GIMP 3 adapter is not in this checkout")
    prof = gimp3_host.new_profile(host_work / "profile")
    p = subprocess.run(["bash", str(REPO / "install.sh"), "--gimp-dir", str(prof), "--gimp-version", "3.0",
                        "--no-cli", "--vendor", "always"],
                       env=dict(os.environ, SB_PYTHON=sys.executable, SB_WHEEL_CACHE=str(WHEEL_CACHE)),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert p.returncode == 0, p.stdout
    from PIL import Image
    import numpy as np
    rs = np.random.RandomState(3)
    Image.fromarray(rs.randint(0, 256, size=(60, 80, 3)).astype(np.uint8)).save(host_work / "bg.png")
    Image.fromarray(rs.randint(0, 256, size=(40, 48, 3)).astype(np.uint8)).save(host_work / "face.png")
    for d in ("tmp", "config"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o700)
    return gimp3_host


def test_fault_matrix_on_real_gimp3(gimp3_installed, host_work, ailab, tmp_path):
    tls = netfaults.TlsServer(str(tmp_path))
    recorded = matrix.load()
    observed = {}
    try:
        groups = {}
        for f in matrix.FAULTS:
            if f["real_gimp"]:
                # faults whose outcome does not depend on the deadline share one session
                groups.setdefault(f["deadline"] if f["deadline"] < 6 else 10.0, []).append(f)
        for deadline, faults in sorted(groups.items()):
            cells = []
            for f in faults:
                base = {None: ailab.url, "tls": tls.url, "refused": "http://127.0.0.1:%d" % netfaults.closed_port(),
                        "wrong_path": ailab.url + "/v9"}[f["base"]]
                cells.append({"id": f["id"], "inject": f["inject"], "base": base,
                              "key": BAD_KEY if f["key"] == "bad" else ailab.valid_key})
            head = "SERVER = %r\nTOKEN = %r\nCELLS = %r\n" % (ailab.url, ailab.control_token, cells)
            t0 = time.monotonic()
            res = gimp3_installed.batch(host_work, head + PROGRAM, env={
                "TMPDIR": "/sb/work/tmp", "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config",
                "SMART_BEAUTY_DEADLINE": str(deadline)}, timeout=300)
            record_time("GIMP 3.0: %d fault cells (deadline %g s)" % (len(cells), deadline), time.monotonic() - t0)
            rj = host_work / "result.json"
            assert rj.exists(), res.output[-5000:]
            out = json.loads(rj.read_text())
            rj.unlink()
            for f in faults:
                assert f["id"] in out, ("cell %s did not run" % f["id"], res.output[-3000:])
                r = out[f["id"]]
                succeeded = r["status"] == "success"
                same = _pixels(host_work / ("%s-before.png" % f["id"])) == _pixels(
                    host_work / ("%s-after.png" % f["id"]))
                if succeeded:
                    image = "new layer added" if len(r["after"]) == len(r["before"]) + 1 else "WRONG RESULT"
                else:
                    image = "unchanged" if same and r["after"] == r["before"] else "CHANGED"
                messages = ["[error status] " + matrix.normalize(r["error"])] if r["error"] else []
                retried = (tls.connections > 1) if f["base"] == "tls" else _retried(r["stats"], succeeded)
                outcome = {"result": "succeeded" if succeeded else "failed", "status": r["status"].upper()
                           .replace("-", "_"), "messages": messages, "image": image,
                           "temp_left": [os.path.basename(p) for p in r["tmp_left"]], "retried": retried}
                observed[f["id"]] = outcome
                text = " ".join(messages) + res.output
                assert ailab.valid_key not in text and BAD_KEY not in text
                assert outcome["temp_left"] == [], outcome
                assert outcome["retried"] == f["retried"], (f["id"], outcome)
                if f["expect"] is None:
                    assert succeeded, (f["id"], outcome, res.output[-3000:])
                else:
                    assert not succeeded and image == "unchanged", (f["id"], outcome)
                if f["base"] == "tls":
                    assert tls.heads == [], "a request went through an untrusted TLS connection"
    finally:
        tls.close()
    if matrix.RECORD:
        cells = matrix.load()
        for fid, o in observed.items():
            cells.setdefault(fid, {})["gimp3_real"] = o
        matrix.save(cells)
        return
    for fid, o in observed.items():
        assert recorded.get(fid, {}).get("gimp3_real") == o, (
            "%s on real GIMP 3 changed (SB_RELIABILITY_RECORD=1 to accept):\nobserved %r\nrecorded %r"
            % (fid, o, recorded.get(fid, {}).get("gimp3_real")))
