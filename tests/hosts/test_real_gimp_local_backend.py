"""Real GIMP 3.0.4 and 3.2.x with backend "local": the plug-in itself starts `smart-beauty serve` (Python 3,
found through the cli-path that install.sh records), retouches through it, reuses it on the next run;
Check Setup reports it. No API key anywhere. Roots: gimp3x (gimp3 + Debian's numpy/Pillow/werkzeug)
and gimp32 (which has those packages itself).

The engine is the SimpleEngine (SMART_BEAUTY_ENGINE=simple), from Debian's own packages (no PyPI here):
the point is the wiring (spawn, announce, reuse, messages), not the pixels. The real engine under the
same GIMPs (installed by README's command) is tests/hosts/test_real_engine.py."""

import json
import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import GIMP3_EXPORT_LAYER, Bind, record_time
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lib"))
from smart_beauty_server.simple import SimpleEngine  # noqa: E402

PROGRAM = GIMP3_EXPORT_LAYER + r'''
import json, os, signal
NI = Gimp.RunMode.NONINTERACTIVE
R = {"runs": []}
pdb = Gimp.get_pdb()

def state():
    try:
        return json.load(open("/sb/work/config/local-server.json"))
    except Exception:
        return None

try:
    proc = pdb.lookup_procedure("python-fu-smart-beauty")
    R["args"] = [a.name for a in proc.get_arguments()]
    img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/in.png"))
    src = img.get_layers()[0]
    for i, backend in enumerate(["local", "auto"]):
        cfg = proc.create_config()
        cfg.set_property("run-mode", NI)
        cfg.set_property("image", img)
        cfg.set_core_object_array("drawables", [src])
        cfg.set_property("beauty-level", 0.7)
        cfg.set_property("backend", backend)
        res = proc.run(cfg)
        st = state()
        R["runs"].append({"backend": backend, "status": res.index(0).value_nick,
                          "error": str(res.index(1)) if res.length() > 1 else None,
                          "layers": [l.get_name() for l in img.get_layers()],
                          "server_pid": st and st.get("pid"), "engine": st and st.get("engine")})
        export_layer(img.get_layers()[0], "/sb/work/new%d.png" % i)
    # the optional per-effect arguments (batch mode): a preset with one strength changed, then a preset
    # that does not exist (one sentence, nothing added)
    for preset in ("No reshaping", "glamour"):
        cfg = proc.create_config()
        cfg.set_property("run-mode", NI)
        cfg.set_property("image", img)
        cfg.set_core_object_array("drawables", [src])
        cfg.set_property("backend", "local")
        cfg.set_property("preset", preset)
        cfg.set_property("lips", 0.0)
        before = len(img.get_layers())
        res = proc.run(cfg)
        R["runs"].append({"preset": preset, "status": res.index(0).value_nick,
                          "error": str(res.index(1)) if res.length() > 1 else None,
                          "added": len(img.get_layers()) - before})
    check = pdb.lookup_procedure("python-fu-smart-beauty-check")
    cfg = check.create_config()
    cfg.set_property("run-mode", NI)
    res = check.run(cfg)
    R["check"] = {"status": res.index(0).value_nick, "error": str(res.index(1)) if res.length() > 1 else None}
    img.delete()
finally:
    st = state()
    if st and st.get("pid"):
        try:
            os.kill(int(st["pid"]), signal.SIGTERM)
            R["stopped"] = st["pid"]
        except OSError as e:
            R["stop_error"] = str(e)
    json.dump(R, open("/sb/work/result.json", "w"))
'''

WRAPPER = """#!/bin/sh
# what install.sh's venv command does, with the chroot's Debian Python 3 and the checkout's lib/
PYTHONPATH=/sb/src/lib exec python3 -m smart_beauty_cli.cli "$@"
"""


@pytest.mark.parametrize("root", ["gimp3x", "gimp32"])
def test_real_gimp3_starts_the_offline_engine_itself(root, request, host_work):
    gimp = request.getfixturevalue(root + "_host")
    gimp.install_plugin(host_work, vendor="never")
    rng = np.random.RandomState(3)
    src = rng.randint(0, 256, size=(36, 48, 3)).astype(np.uint8)
    Image.fromarray(src, "RGB").save(host_work / "in.png")
    for d in ("config", "bin", "tmp"):
        (host_work / d).mkdir()
    (host_work / "bin" / "smart-beauty").write_text(WRAPPER)
    os.chmod(str(host_work / "bin" / "smart-beauty"), 0o755)
    # as install.sh records it (smart_beauty.localserver reads it)
    (host_work / "config" / "cli-path").write_text("/sb/work/bin/smart-beauty\n")
    env = {"SMART_BEAUTY_CONFIG_DIR": "/sb/work/config", "SMART_BEAUTY_ENGINE": "simple", "TMPDIR": "/sb/work/tmp"}
    t0 = time.monotonic()
    res = gimp.batch(host_work, textwrap.dedent(PROGRAM), env=env, binds=[Bind(REPO, "/sb/src", ro=True)],
                     timeout=300)
    record_time("GIMP %s (%s): two local-backend runs + Check Setup" % (gimp.version, root), time.monotonic() - t0)
    rj = host_work / "result.json"
    assert rj.exists(), res.output[-5000:]
    r = json.loads(rj.read_text())
    log = host_work / "config" / "local-server.log"
    detail = "%s\n--- server log\n%s\n--- gimp\n%s" % (r, log.read_text() if log.exists() else "-", res.output[-4000:])
    assert r["args"][5:] == ["backend", "preset", "smooth", "tone", "slim", "eyes", "lips", "texture",
                             "layer-mask"], detail
    assert len(r["runs"]) == 4, detail
    first, second, preset, unknown = r["runs"]
    assert preset["status"] == "success" and preset["added"] == 1, detail
    assert unknown["status"] == "execution-error" and unknown["added"] == 0, detail
    assert "no preset called 'glamour'" in unknown["error"], detail
    assert first["status"] == "success" and second["status"] == "success", detail
    assert first["engine"] == "simple" and first["server_pid"], detail
    assert second["server_pid"] == first["server_pid"], "the second run did not reuse the server: " + detail
    assert first["layers"][0] == "Smart Beauty (level 0.70)"
    expected = SimpleEngine()(src, 0.7, False)
    got = np.asarray(Image.open(host_work / "new0.png").convert("RGB"))
    assert np.array_equal(got, expected)
    assert r["check"]["status"] == "success", detail
    assert "READY" in res.output and "offline engine: " in res.output, detail
    assert "GIMP: %s." % gimp.version in res.output, detail
    assert r.get("stopped"), detail


def test_real_gimp210_check_setup_and_missing_engine(gimp210_host, host_work, ailab):
    """GIMP 2.10 (Python 2.7): Check Setup under Filters > Enhance > Smart Beauty reports READY with a
    working key; backend local (SMART_BEAUTY_BACKEND: the 2.10 procedure keeps its 4 contract
    arguments) without an engine says how to install it, the image unchanged."""
    gimp = gimp210_host
    gimp.install_plugin(host_work)
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8), "RGB").save(host_work / "in.png")
    for d in ("config", "tmp"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o777)
    code = textwrap.dedent(r'''
        import json
        R = {}
        pdb.python_fu_smart_beauty_check()
        img = pdb.gimp_file_load("/sb/work/in.png", "/sb/work/in.png")
        try:
            pdb.python_fu_smart_beauty(img, img.active_layer, 0.5, 0)
            R["status"] = "success"
        except RuntimeError as e:    # the procedure failed: EXECUTION_ERROR for this caller
            R["status"] = str(e)
        R["layers"] = [l.name for l in img.layers]
        json.dump(R, open("/sb/work/result.json", "w"))
        ''')
    env = {"AILAB_API_KEY": ailab.valid_key, "AILAB_API_BASE": ailab.url, "TMPDIR": "/sb/work/tmp",
           "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config", "SMART_BEAUTY_CLI": "/nonexistent/smart-beauty",
           "SMART_BEAUTY_BACKEND": "local"}
    res = gimp.batch(host_work, code, env=env, timeout=300)
    rj = host_work / "result.json"
    assert rj.exists(), res.output[-5000:]
    out = res.output
    assert "GIMP: 2.10" in out and "Python: 2.7" in out and "READY: a retouch would use the AILab cloud" in out, out
    assert ailab.valid_key not in out
    assert "offline engine is not installed" in out and "./install.sh --with-engine" in out, out
    assert json.loads(rj.read_text()) == {"status": "execution error", "layers": ["Background"]}
