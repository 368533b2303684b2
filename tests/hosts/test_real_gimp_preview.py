"""The Smart Beauty dialog's preview in the real GIMP 3.0.4 and 3.2.x under Xvfb (issue #16).

A local server with the offline engine runs on the host (this checkout's lib/, this Python) and is
recorded in the config folder as the plug-ins' shared server (local-server.json), so the plug-in in
the chroot reuses it over the loopback the roots share, exactly as it reuses a server it started.
No API key: the backend is the offline engine. python-fu-smart-beauty runs INTERACTIVE; once its
dialog is shown, Alt+V (the Preview toggle's mnemonic) switches the preview on, the dialog is
photographed (``import``), and Escape cancels it.

Checked: the preview reached the engine (its server charged its test credits for at least one sync
request, and no async task), the cancelled run left the image as it was (one layer, not dirty: the
preview never touches the image, so there is nothing in the undo history), libgimp printed no
mnemonic complaint; in the ``local`` case "Save as preset..." (Alt+E) stored the dialog's strengths
in the presets file the CLI reads. The screenshot is kept in the test's folder; ``SB_PREVIEW_SHOTS=DIR`` copies it
to DIR (scripts/screenshots.sh uses that for docs/images/gimp3-preview.png).
"""
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import GIMP3_EXPORT_LAYER, Bind, record_time
from PIL import Image
from smart_beauty.effects import BUILTIN
from test_real_gimp_dialog import GIMP3S, xdotool, xserver  # noqa: F401 - xserver is a fixture

REPO = Path(__file__).resolve().parents[2]
TITLE = "Smart Beauty"
PROGRAM = GIMP3_EXPORT_LAYER + r'''
import json
CASE = %r
NI = Gimp.RunMode.NONINTERACTIVE
img = Gimp.file_load(NI, Gio.File.new_for_path("/sb/work/in.png"))
layer = img.get_layers()[0]
if CASE == "selection":     # a layer with offsets and a transparent strip; an ellipse around the face
    layer.add_alpha()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 1536, 200)
    layer.edit_clear()
    layer.set_offsets(100, 60)
    img.select_ellipse(Gimp.ChannelOps.REPLACE, 100 + 560, 60 + 240, 460, 560)
img.clean_all()
p = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
c = p.create_config()
c.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
c.set_property("image", img)
c.set_core_object_array("drawables", [layer])
c.set_property("beauty-level", 0.8)
c.set_property("preset", "natural")
r = p.run(c)
R = {"status": r.index(0).value_nick, "layers": [l.get_name() for l in img.get_layers()], "dirty": img.is_dirty()}
if CASE == "ok" and R["status"] == "success":
    export_layer(img.get_layers()[0], "/sb/work/new.png")
json.dump(R, open("/sb/work/result.json", "w"))
'''
WRAPPER = "#!/bin/sh\necho 'the test records a running server; this command is never started' >&2\nexit 1\n"


def _engine_name():
    """The real offline engine when it can run here (OpenCV and its model files), else the stand-in."""
    try:
        from smart_beauty_engine import offline
    except ImportError:
        return "simple"
    return "offline" if offline.available()[0] else "simple"


@pytest.fixture
def engine_server(tmp_path):
    """``smart-beauty serve --announce`` on the host: its announcement (url, key, pid, engine, version)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "lib"), SB_CONTROL_TOKEN="preview-test-control")
    engine = _engine_name()
    proc = subprocess.Popen([sys.executable, "-m", "smart_beauty_cli.cli", "serve", "--port", "0", "--announce",
                             "--engine", engine, "--idle-exit", "600"], env=env, stdout=subprocess.PIPE,
                            stderr=open(str(tmp_path / "server.log"), "w"), text=True, start_new_session=True)
    line = proc.stdout.readline()
    assert line, (tmp_path / "server.log").read_text()
    yield json.loads(line)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def engine_calls(server):
    """Submits the server has had (the offline service bills no credits to count them by)."""
    import requests
    r = requests.get(server["url"] + "/_control/stats", headers={"X-Control-Token": "preview-test-control"},
                     timeout=10)
    return r.json()["counts"]["submit"]


def retouch_directly(server, path, strengths):
    """The server's own answer for ``path`` with ``strengths`` (a job, as OK runs it), as an RGB array."""
    from smart_beauty import Client, RetouchJob
    with Client(server["key"], server["url"], local=True) as client:
        job = RetouchJob(client, str(path), level=0.8, effects=strengths, result_dir=str(path.parent / "tmp"))
        try:
            job.run()
            return np.asarray(Image.open(job.result_path).convert("RGB"))
        finally:
            job.cleanup()


def preview_and_cancel(xhost, display, seen, stop, shot, save_as=None, press_ok=False):
    """Wait for the dialog, Alt+V (Preview), wait for the engine, photograph it, optionally save the
    strengths as a preset, Escape."""
    t0 = time.monotonic()
    while not stop.is_set() and time.monotonic() - t0 < 120:
        wins = xdotool(xhost, display, "search", "--name", "^%s$" % TITLE).stdout.split()
        if not wins:
            time.sleep(0.3)
            continue
        seen["after"] = round(time.monotonic() - t0, 1)
        time.sleep(1.0)
        xdotool(xhost, display, "windowfocus", "--sync", wins[0])
        xdotool(xhost, display, "key", "--clearmodifiers", "alt+v")
        time.sleep(float(os.environ.get("SB_PREVIEW_WAIT", "6")))
        subprocess.run(["chroot", str(xhost.root), "env", "-i", "DISPLAY=" + display, "PATH=/usr/bin:/bin",
                        "import", "-window", wins[0], "/tmp/" + shot], capture_output=True, timeout=60)
        if save_as:      # Save as pr_eset... (Alt+E), type the name, Return
            xdotool(xhost, display, "windowfocus", "--sync", wins[0])
            xdotool(xhost, display, "key", "--clearmodifiers", "alt+e")
            for _ in range(30):
                ask = xdotool(xhost, display, "search", "--name", "^Save as preset$").stdout.split()
                if ask:
                    time.sleep(0.5)
                    xdotool(xhost, display, "windowfocus", "--sync", ask[0])
                    xdotool(xhost, display, "type", "--delay", "50", save_as)
                    xdotool(xhost, display, "key", "Return")
                    seen["saved"] = True
                    time.sleep(1.5)
                    break
                time.sleep(0.3)
        finish = "Escape"
        if press_ok:     # Face slimming to 0 from the keyboard (its mnemonic, Home), then OK
            xdotool(xhost, display, "windowfocus", "--sync", wins[0])
            xdotool(xhost, display, "key", "--clearmodifiers", "alt+f")
            xdotool(xhost, display, "key", "--clearmodifiers", "Home")
            time.sleep(2.0)
            finish = "alt+o"
        for _ in range(5):
            xdotool(xhost, display, "windowfocus", "--sync", wins[0])
            xdotool(xhost, display, "key", "--clearmodifiers", finish)
            time.sleep(1.5)
            if not xdotool(xhost, display, "search", "--name", "^%s$" % TITLE).stdout.split():
                return
        return


CASES = [("gimp3", "local"), ("gimp32", "local"), ("gimp3", "cloud"), ("gimp32", "selection"), ("gimp3", "ok"),
         ("gimp32", "ok")]


@pytest.mark.parametrize("root, case", [c for c in CASES if c[0] in GIMP3S])
def test_the_preview_pane_shows_the_offline_engines_result_and_cancel_leaves_no_trace(
        root, case, request, xserver, host_work, engine_server):  # noqa: F811 - xserver is the fixture
    """``local``: no key, the offline engine retouches and previews; ``cloud``: a key is set, so the
    per-effect controls are disabled with the reason and the preview still runs on the offline engine
    (never on the service: its address here answers nothing); ``selection``: a layer with offsets, a
    transparent strip and an elliptic selection (the pane mixes the preview in by the selection)."""
    xhost, display = xserver
    gimp = request.getfixturevalue(root + "_host")
    gimp.install_plugin(host_work)
    portrait = Image.open(REPO / "samples" / "portrait.jpg").convert("RGB")
    portrait.resize((1536, 1536), Image.LANCZOS).save(host_work / "in.png")   # reduced to 450 px for the pane
    for d in ("tmp", "config", "bin"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o777)
    (host_work / "bin" / "smart-beauty").write_text(WRAPPER)
    os.chmod(str(host_work / "bin" / "smart-beauty"), 0o755)
    (host_work / "config" / "local-server.json").write_text(json.dumps(engine_server))
    calls_before = engine_calls(engine_server)
    shot = "sb-preview-%s-%s-%d.png" % (root, case, os.getpid())
    env = {"TMPDIR": "/sb/work/tmp", "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config", "DISPLAY": display,
           "SMART_BEAUTY_CLI": "/sb/work/bin/smart-beauty", "SMART_BEAUTY_ENGINE": engine_server["engine"]}
    if case == "cloud":
        env.update({"AILAB_API_KEY": "preview-test-key", "AILAB_API_BASE": "http://127.0.0.1:9"})
    seen, stop = {}, threading.Event()
    save_as = "My look" if case == "local" else None
    watcher = threading.Thread(target=preview_and_cancel, daemon=True,
                               args=(xhost, display, seen, stop, shot, save_as, case == "ok"))
    watcher.start()
    t0 = time.monotonic()
    try:
        res = gimp.batch(host_work, PROGRAM % case, env=env, binds=[Bind(Path("/proc"), "/proc")], timeout=200)
    finally:
        stop.set()
        watcher.join(60)
    record_time("GIMP %s: the dialog's preview under Xvfb (%s)" % (gimp.version, case), time.monotonic() - t0)
    picture = xhost.root / "tmp" / shot
    if picture.exists():
        shutil.move(str(picture), str(host_work / "preview.png"))
        if os.environ.get("SB_PREVIEW_SHOTS"):
            shutil.copy(str(host_work / "preview.png"),
                        os.path.join(os.environ["SB_PREVIEW_SHOTS"], "preview-%s-%s.png" % (root, case)))
    calls = engine_calls(engine_server) - calls_before
    assert "after" in seen, "the dialog never appeared:\n" + res.output[-4000:]
    assert [ln for ln in res.output.splitlines() if "mnemonic" in ln] == []
    rj = host_work / "result.json"
    assert rj.exists(), res.output[-4000:]
    r = json.loads(rj.read_text())
    if case == "ok":
        # OK with preset natural and Face slimming set to 0 by hand: the full layer, retouched with
        # exactly those strengths (the same server asked directly gives the same pixels)
        assert r["status"] == "success" and r["layers"][0] == "Smart Beauty (level 0.80)", r
        expected = retouch_directly(engine_server, host_work / "in.png",
                                    BUILTIN["natural"].replace(slim=0.0))
        got = np.asarray(Image.open(host_work / "new.png").convert("RGB"))
        assert got.shape == expected.shape and np.array_equal(got, expected)
        assert not np.array_equal(got, retouch_directly(engine_server, host_work / "in.png", BUILTIN["natural"]))
    else:
        assert r == {"status": "cancel", "layers": [r["layers"][0]], "dirty": False}, r
    previews = calls - (1 if case == "ok" else 0)     # OK's own full-size job is one of them
    assert previews >= 1, "no preview reached the engine:\n" + res.output[-4000:]
    assert (host_work / "preview.png").exists()
    if save_as:      # stored where the CLI and the procedures read presets, with the dialog's strengths
        assert seen.get("saved"), seen
        presets = json.loads((host_work / "config" / "presets.json").read_text())
        assert presets == {"my-look": {"smooth": 0.5, "tone": 0.3, "slim": 0.2, "eyes": 0.15, "lips": 0.3,
                                       "texture": 0.75}}, presets
    with Image.open(host_work / "preview.png") as im:
        assert im.width > 600 and im.height > 450, im.size
