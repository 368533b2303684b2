"""The Smart Beauty dialog in the real GIMP 3.0.4 and 3.2.x, on an X server (Xvfb).

libgimp checks every label of a procedure dialog as it builds it and prints what it dislikes:
"Procedure '...': no mnemonic for property backend" (3.2.6, which makes a choice of three items a
radio frame by default) and "duplicate mnemonic l for label of property beauty-level and dialog button
load-defaults" (3.0.4 and 3.2.6) were printed before the adapter asked for a combo box and gave every
field its own mnemonic. Here: python-fu-smart-beauty runs INTERACTIVE from a batch with DISPLAY set,
the dialog must appear, libgimp must print no mnemonic complaint, and Escape (sent with xdotool) must
cancel it, leaving the image alone.

The X server is the gimp3x root's Xvfb, listening on TCP on the loopback the chroots share, so the
gimp3 and gimp32 roots need no X server of their own. GIMP 3.2's image loaders (glycin) run in a
bubblewrap sandbox that needs /proc, so /proc is bind-mounted for the run (without it the plug-in
aborts while loading the dialog's icons, after the mnemonic check).
"""
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from hosts import CHROOT_PATH, GIMPS, Bind, record_time
from PIL import Image

GIMP3S = [name for name, ver in GIMPS.items() if ver.startswith("3.")]
TITLE = "Smart Beauty"

PROGRAM = r'''
import json
img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path("/sb/work/in.png"))
p = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
c = p.create_config()
c.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
c.set_property("image", img)
c.set_core_object_array("drawables", img.get_selected_layers())
r = p.run(c)
json.dump({"status": r.index(0).value_nick, "layers": [l.get_name() for l in img.get_layers()]},
          open("/sb/work/result.json", "w"))
'''
BATCH_PROGRAM = r'''
import json, os
p = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty-batch")
c = p.create_config()
c.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
c.set_property("input", "/sb/work/in.png")
c.set_property("output-folder", "/sb/work/out")
r = p.run(c)
json.dump({"status": r.index(0).value_nick, "layers": [1],
           "outputs": os.listdir("/sb/work/out") if os.path.isdir("/sb/work/out") else []},
          open("/sb/work/result.json", "w"))
'''
#: the dialogs: (procedure's program, window title)
DIALOGS = {"retouch": (PROGRAM, TITLE), "batch": (BATCH_PROGRAM, "Smart Beauty Batch")}


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@pytest.fixture(scope="module")
def xserver(gimp3x_host):
    """DISPLAY of an Xvfb started in the gimp3x root, reachable over TCP from every root."""
    root = gimp3x_host.root
    num = next((n for n in range(60, 100) if _port_free(6000 + n) and not (root / "tmp" / (".X%d-lock" % n)).exists()),
               None)
    assert num is not None, "no free X display number"
    proc = subprocess.Popen(["chroot", str(root), "env", "-i", "PATH=" + CHROOT_PATH, "Xvfb", ":%d" % num,
                             "-listen", "tcp", "-ac", "-screen", "0", "1024x768x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 20
    while _port_free(6000 + num):
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start: %s" % (
            proc.stderr.read() if proc.poll() is not None else "timeout")
        time.sleep(0.2)
    yield gimp3x_host, "127.0.0.1:%d" % num
    os.killpg(proc.pid, 15)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()


def xdotool(xhost, display, *args):
    return subprocess.run(["chroot", str(xhost.root), "env", "-i", "PATH=" + CHROOT_PATH, "DISPLAY=" + display,
                           "xdotool"] + list(args), capture_output=True, text=True, timeout=30)


def cancel_when_shown(xhost, display, seen, stop, title=TITLE):
    """Wait for the dialog window, note it, press Escape in it (again while it stays)."""
    t0 = time.monotonic()
    while not stop.is_set() and time.monotonic() - t0 < 90:
        wins = xdotool(xhost, display, "search", "--name", "^%s$" % title).stdout.split()
        if wins:
            seen.setdefault("after", round(time.monotonic() - t0, 1))
            time.sleep(0.5)
            if os.environ.get("SB_DIALOG_SHOTS") and "shot" not in seen:   # a picture of it, to look at
                seen["shot"] = "/tmp/sb-dialog-%s-%d.png" % (title.replace(" ", "-"), os.getpid())
                subprocess.run(["chroot", str(xhost.root), "env", "-i", "DISPLAY=" + display, "PATH=/usr/bin:/bin",
                                "import", "-window", wins[0], seen["shot"]], capture_output=True, timeout=60)
            xdotool(xhost, display, "windowfocus", "--sync", wins[0])
            xdotool(xhost, display, "key", "--clearmodifiers", "Escape")
            seen["escapes"] = seen.get("escapes", 0) + 1
            time.sleep(1.5)
            continue
        if "after" in seen:
            return
        time.sleep(0.3)


@pytest.mark.parametrize("dialog", sorted(DIALOGS))
@pytest.mark.parametrize("root", GIMP3S)
def test_dialog_opens_without_mnemonic_complaints_and_escape_cancels(root, dialog, request, xserver, host_work):
    """Both dialogs: the retouch one and the batch one (its fields, then the presets and sliders of the
    retouch dialog's panel without the preview)."""
    program, title = DIALOGS[dialog]
    xhost, display = xserver
    gimp = request.getfixturevalue(root + "_host")
    gimp.install_plugin(host_work)
    Image.new("RGB", (40, 30), (120, 100, 90)).save(host_work / "in.png")
    for d in ("tmp", "config"):
        (host_work / d).mkdir()
        os.chmod(str(host_work / d), 0o777)
    seen, stop = {}, threading.Event()
    watcher = threading.Thread(target=cancel_when_shown, args=(xhost, display, seen, stop, title), daemon=True)
    watcher.start()
    t0 = time.monotonic()
    try:
        # a key is set, so the first-run check before the dialog passes (it does not go online)
        res = gimp.batch(host_work, program, env={
            "AILAB_API_KEY": "dialog-test-key", "AILAB_API_BASE": "http://127.0.0.1:9", "TMPDIR": "/sb/work/tmp",
            "SMART_BEAUTY_CONFIG_DIR": "/sb/work/config", "DISPLAY": display},
            binds=[Bind(Path("/proc"), "/proc")], timeout=150)
    finally:
        stop.set()
        watcher.join(30)
    record_time("GIMP %s: the %s dialog under Xvfb, cancelled" % (gimp.version, dialog), time.monotonic() - t0)
    complaints = [ln for ln in res.output.splitlines() if "mnemonic" in ln]
    assert "after" in seen, "the dialog never appeared:\n" + res.output[-4000:]
    assert complaints == [], complaints
    assert "no preview or per-effect controls" not in res.output and "Traceback" not in res.output, res.output
    if seen.get("shot") and (xhost.root / seen["shot"].lstrip("/")).exists():
        shutil.move(str(xhost.root / seen["shot"].lstrip("/")),
                    os.path.join(os.environ["SB_DIALOG_SHOTS"], "%s-%s.png" % (root, dialog)))
    rj = host_work / "result.json"
    assert rj.exists(), res.output[-4000:]
    r = json.loads(rj.read_text())
    assert r["status"] == "cancel" and len(r["layers"]) == 1 and r.get("outputs", []) == [], r
