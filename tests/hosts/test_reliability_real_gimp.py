"""The fault matrix on the real GIMPs: GIMP 3.0.4 (Debian 13 chroot), GIMP 3.2.x (Debian sid chroot;
its cells must equal 3.0.4's recorded ``gimp3_real`` ones) and GIMP 2.10.22 with real Python-Fu
(Debian 11 chroot), headless. The faults marked ``real_gimp`` in tests/reliability/matrix.py,
each run through ``python-fu-smart-beauty`` installed by install.sh into a throw-away profile. One GIMP
session per job deadline runs its faults in turn: the batch program resets the local AILab server and
injects the cell's faults through its control API, writes the service address and key to the Smart
Beauty config folder (0600), runs the procedure on a fresh image and records status, layers, the source
pixels and the temp folder. GIMP 2.10's messages are the ``Smart Beauty-Warning:`` lines GIMP prints
between the program's markers. Every cell must equal the outcome recorded in
tests/reliability/outcomes.json (``SB_RELIABILITY_RECORD=1`` records instead); a real GIMP 2.10 cell
must also equal the gimpfu stand-ins' cell for the same fault.
"""
import json
import os
import sys
import time
from pathlib import Path

import pytest
from hosts import GIMP2_EXPORT_LAYER, GIMP3_EXPORT_LAYER, GIMPS, not_available, record_time

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "reliability"))
import matrix  # noqa: E402
import netfaults  # noqa: E402

BAD_KEY = "wrong-key-0123456789abcdef"

# Both GIMPs' programs start with this (Python 2.7 and 3): the local server's control API and a cell's set-up.
COMMON = r'''
import json, os, sys
try:
    from urllib.request import Request, urlopen
except ImportError:
    from urllib2 import Request, urlopen
OUT = {}

def control(method, action, payload=None):
    req = Request(SERVER + "/_control/" + action, data=None if payload is None else json.dumps(payload).encode(),
                  headers={"X-Control-Token": TOKEN, "Content-Type": "application/json"})
    req.get_method = lambda: method
    return json.loads(urlopen(req, timeout=15).read().decode())

def set_up(cell):
    """Fresh server state with the cell's faults; the cell's service address and key in the config folder."""
    control("POST", "reset")
    for name, params in cell["inject"]:
        control("POST", "inject", {"name": name, "params": params})
    with open("/sb/work/config/settings.json", "w") as f:
        json.dump({"api_base": cell["base"]}, f)
    fd = os.open("/sb/work/config/api-key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (cell["key"] + "\n").encode())
    os.close(fd)
'''

PROGRAM = {}
PROGRAM[3] = COMMON + GIMP3_EXPORT_LAYER + r'''
NI = Gimp.RunMode.NONINTERACTIVE

def layers(img):
    return [[l.get_name(), list(l.get_offsets()[1:]), l.get_width(), l.get_height()] for l in img.get_layers()]

for cell in CELLS:
    set_up(cell)
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

PROGRAM[2] = COMMON + GIMP2_EXPORT_LAYER + r'''

def layers(img):
    return [[l.name, list(l.offsets), l.width, l.height] for l in img.layers]

for cell in CELLS:
    set_up(cell)
    img = pdb.gimp_file_load("/sb/work/bg.png", "/sb/work/bg.png")
    src = pdb.gimp_file_load_layer(img, "/sb/work/face.png")
    pdb.gimp_item_set_name(src, "Face")
    pdb.gimp_image_insert_layer(img, src, None, 0)
    pdb.gimp_layer_set_offsets(src, 7, 5)
    export_layer(src, "/sb/work/%s-before.png" % cell["id"])
    before = layers(img)
    sys.stderr.write("@@CELL %s\n" % cell["id"])
    sys.stderr.flush()
    try:
        pdb.python_fu_smart_beauty(img, src, 0.8, 0)
        R = {"status": "success", "error": None}
    except RuntimeError as e:           # pygimp: the procedure returned EXECUTION_ERROR
        R = {"status": "execution-error", "error": None, "raised": str(e)}
    sys.stderr.write("@@END %s\n" % cell["id"])
    sys.stderr.flush()
    R["before"] = before
    R["after"] = layers(img)
    export_layer(src, "/sb/work/%s-after.png" % cell["id"])
    R["stats"] = control("GET", "stats")
    R["tmp_left"] = sorted(os.path.join(d, f) for d, _, fs in os.walk("/sb/work/tmp") for f in fs)
    OUT[cell["id"]] = R
    pdb.gimp_image_delete(img)
    json.dump(OUT, open("/sb/work/result.json", "w"))
'''


def _warnings(output, cell_id):
    """GIMP 2.10's message lines for one cell: what the user reads."""
    start = output.find("@@CELL %s\n" % cell_id)
    end = output.find("@@END %s\n" % cell_id, start)
    assert start >= 0 and end > start, "markers of %s not found" % cell_id
    return [line.split("-Warning: ", 1)[1] for line in output[start:end].splitlines() if "-Warning: " in line]


def _pixels(path):
    from PIL import Image
    with Image.open(path) as im:
        return im.convert("RGBA").tobytes()


def _retried(stats, succeeded):
    hits = [f["hits"] for f in stats["faults"]]
    counts = stats["counts"]
    return (any(h > 1 for h in hits) or (succeeded and any(h >= 1 for h in hits))
            or max(counts["submit"], counts["other"], counts["download"]) > 1)


@pytest.fixture(params=list(GIMPS))
def real_gimp(request, host_work):
    """Each real GIMP (3.0.4, 3.2.x, 2.10.22); both GIMP 3s must give the recorded gimp3_real cells."""
    major = int(GIMPS[request.param].split(".")[0])
    adapter = REPO / "plug-ins" / ("smart-beauty/smart-beauty.py" if major == 3 else "gimp2/smart_beauty.py")
    if not adapter.exists():
        not_available("reliability-" + request.param, "the GIMP %d adapter is not in this checkout" % major)
    host = request.getfixturevalue(request.param + "_host")
    host.install_plugin(host_work)
    from PIL import Image
    import numpy as np
    rs = np.random.RandomState(3)
    Image.fromarray(rs.randint(0, 256, size=(60, 80, 3)).astype(np.uint8)).save(host_work / "bg.png")
    Image.fromarray(rs.randint(0, 256, size=(40, 48, 3)).astype(np.uint8)).save(host_work / "face.png")
    for d in ("tmp", "config"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o700)
    return host


def test_fault_matrix_on_real_gimp(real_gimp, host_work, ailab, tmp_path):
    version, major = real_gimp.version, real_gimp.major
    entry = "gimp3_real" if major == 3 else "gimp210_real"
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
            res = real_gimp.batch(host_work, head + PROGRAM[major], env={
                "TMPDIR": "/sb/work/tmp", "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config",
                "SMART_BEAUTY_DEADLINE": str(deadline)}, timeout=300)
            record_time("GIMP %s: %d fault cells (deadline %g s)" % (version, len(cells), deadline),
                        time.monotonic() - t0)
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
                if major == 3:
                    messages = ["[error status] " + matrix.normalize(r["error"])] if r["error"] else []
                else:
                    messages = [matrix.normalize(m) for m in _warnings(res.output, f["id"])]
                    assert r.get("raised") in (None, "execution error"), r
                retried = (tls.connections > 1) if f["base"] == "tls" else _retried(r["stats"], succeeded)
                outcome = {"result": "succeeded" if succeeded else "failed", "status": r["status"].upper()
                           .replace("-", "_"), "messages": messages, "image": image,
                           "temp_left": [os.path.basename(p) for p in r["tmp_left"]], "retried": retried}
                if major == 2 and succeeded:
                    outcome["status"] = "returned"       # as the stand-in cells say it
                observed[f["id"]] = outcome
                text = " ".join(messages) + res.output
                assert ailab.valid_key not in text and BAD_KEY not in text
                assert outcome["temp_left"] == [], outcome
                assert outcome["retried"] == f["retried"], (f["id"], outcome)
                if f["expect"] is None:
                    assert succeeded, (f["id"], outcome, res.output[-3000:])
                else:
                    assert not succeeded and image == "unchanged", (f["id"], outcome)
                    assert len(messages) == 1, (f["id"], outcome, res.output[-3000:])   # said once
                if f["base"] == "tls":
                    assert tls.heads == [], "a request went through an untrusted TLS connection"
                if major == 2:   # the gimpfu stand-ins must have said the same
                    stand_in = recorded.get(f["id"], {}).get("gimp2")
                    assert outcome == stand_in, (
                        "real GIMP 2.10 and the gimpfu stand-ins differ on %s:\nreal %r\nstand-in %r"
                        % (f["id"], outcome, recorded.get(f["id"], {}).get("gimp2")))
    finally:
        tls.close()
    if matrix.RECORD:
        cells = matrix.load()
        for fid, o in observed.items():
            cells.setdefault(fid, {})[entry] = o
        matrix.save(cells)
        return
    for fid, o in observed.items():
        assert recorded.get(fid, {}).get(entry) == o, (
            "%s on real GIMP %s changed (SB_RELIABILITY_RECORD=1 to accept):\nobserved %r\nrecorded %r"
            % (fid, version, o, recorded.get(fid, {}).get(entry)))
