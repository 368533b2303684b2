"""The offline engine from inside the Flathub GIMP's sandbox: SIMULATED sandbox, real GIMP, real engine.

Flathub's org.gimp.GIMP runs with ``--filesystem=host`` (the host's files at their own paths, but not its
``/usr``: the GNOME runtime's is mounted there, with its own python3), ``--filesystem=xdg-config/GIMP:create``
and network; Flatpak sets ``FLATPAK_ID`` and points ``XDG_CONFIG_HOME`` / ``XDG_DATA_HOME`` /
``XDG_CACHE_HOME`` into ``~/.var/app/org.gimp.GIMP``. A venv made on the host links into the host's
``/usr`` and cannot start there.

Here the ``d13`` root plays the sandbox: its ``/usr`` (Debian 13, Python 3.13, GIMP 3.0.4) is not the
installing system's (this machine: Debian 12, Python 3.11). The user's home is bound at the same path
inside, and the command runs with the variables Flatpak sets. GIMP finds its profile where an older
Flathub GIMP keeps it (``$XDG_CONFIG_HOME/GIMP/3.0``); the installer ran on the host, as a user would:
``./install.sh --with-engine`` (README's first command's installer; the runtime's Python given with
``--flatpak-python 3.13`` since there is no ``flatpak`` command to ask here).

1. Before the engine is installed for the sandbox (``--flatpak-engine never``): the plug-in's local
   backend fails with the sentence naming the Flatpak sandbox and the command that helps (not a missing
   host file, not "install the engine", which was installed).
2. After ``./install.sh --with-engine`` installs it: GIMP retouches with the real offline engine started
   from the sandbox's ``/usr/bin/python3`` (the server reports engine "offline" and its command).

Not reproduced: bubblewrap's namespaces, ``/.flatpak-info`` (the root is shared with other tests;
``FLATPAK_ID`` is what the plug-in and installer key on too), the GNOME runtime itself (its Python is
the runtime's version; Debian 13's 3.13 stands for it), Flathub's newer profile location
(``~/.config/GIMP/3.x``, found by the installer's Linux scan).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hosts import GIMP3_EXPORT_LAYER, REPO, WHEEL_CACHE, Bind, record_time
from PIL import Image
from test_install_sh import path_without_gimp
from test_real_engine import changed, copy_checkout

APP = "org.gimp.GIMP"
PIP_CACHE = REPO / "tests" / "hosts" / "cache" / "pip"

PROGRAM = GIMP3_EXPORT_LAYER + r'''
import json
NI = Gimp.RunMode.NONINTERACTIVE
R = {}
img = Gimp.file_load(NI, Gio.File.new_for_path(%(photo)r))
src = img.get_layers()[0]
proc = Gimp.get_pdb().lookup_procedure("python-fu-smart-beauty")
cfg = proc.create_config()
cfg.set_property("run-mode", NI)
cfg.set_property("image", img)
cfg.set_core_object_array("drawables", [src])
cfg.set_property("beauty-level", 0.8)
cfg.set_property("backend", "local")
res = proc.run(cfg)
R["status"] = res.index(0).value_nick
R["error"] = str(res.index(1)) if res.length() > 1 else None
R["layers"] = [l.get_name() for l in img.get_layers()]
if len(R["layers"]) > 1:
    export_layer(img.get_layers()[0], %(layer)r)
    export_layer(src, %(source)r)
json.dump(R, open(%(result)r, "w"))
'''


def sandbox_env(home: Path) -> dict:
    """What Flatpak sets for org.gimp.GIMP (the parts our code and GIMP read)."""
    var = home / ".var" / "app" / APP
    return {"HOME": str(home), "FLATPAK_ID": APP, "XDG_CONFIG_HOME": str(var / "config"),
            "XDG_DATA_HOME": str(var / "data"), "XDG_CACHE_HOME": str(var / "cache"),
            "XDG_STATE_HOME": str(var / ".local" / "state"), "SMART_BEAUTY_DEADLINE": "240"}


def install(work: Path, *args: str) -> subprocess.CompletedProcess:
    """README's installer on the host (this machine's Python, /usr and PATH without GIMP), HOME = the
    simulated user's."""
    env = {"HOME": str(work / "home"), "PATH": path_without_gimp(), "LANG": "C.UTF-8", "SB_PYTHON": sys.executable,
           "SB_WHEEL_CACHE": str(WHEEL_CACHE), "PIP_CACHE_DIR": str(PIP_CACHE), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    t0 = time.monotonic()
    p = subprocess.run(["./install.sh", "--with-engine"] + list(args), cwd=str(work / "src"), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    record_time("install.sh --with-engine %s (host)" % " ".join(args), time.monotonic() - t0)
    assert p.returncode == 0, p.stdout[-5000:]
    return p


def run_in_sandbox(host, work: Path, name: str) -> tuple:
    """GIMP 3.0.4 in the d13 root with the sandbox's view; returns (result dict or None, output)."""
    home = work / "home"
    files = {k: str(work / ("%s-%s.png" % (name, k))) for k in ("layer", "source")}
    files.update(photo=str(work / "src" / "samples" / "portrait.jpg"), result=str(work / ("%s.json" % name)))
    script = work / ("%s.py" % name)
    script.write_text(textwrap.dedent(PROGRAM % files))
    state = home / ".config" / "smart-beauty" / "local-server.json"
    # stop the engine server GIMP started (it would idle for 10 minutes inside the root)
    stop = ("python3 -c 'import json, os, signal, sys\ntry: os.kill(json.load(open(sys.argv[1]))[\"pid\"], "
            "signal.SIGTERM)\nexcept Exception: pass' %s" % state)
    cmd = " ".join("'%s'" % a.replace("'", "'\\''") for a in host.batch_argv(str(script)))
    t0 = time.monotonic()
    res = host.run(["sh", "-c", "%s; rc=$?; %s; exit $rc" % (cmd, stop)], cwd=str(work), timeout=400,
                   env=sandbox_env(home),
                   # the root's /tmp is a scratch folder of this test; the work folder (the user's home
                   # included) is bound at its own path inside it, as --filesystem=host shows it
                   binds=[Bind(work / "roottmp", "/tmp"), Bind(work, str(work))])
    record_time("GIMP 3.0.4 in the simulated Flatpak sandbox (%s)" % name, time.monotonic() - t0)
    result = Path(files["result"])
    return (json.loads(result.read_text()) if result.exists() else None), res.output


@pytest.fixture(scope="module")
def sandbox(d13_host, tmp_path_factory):
    work = tmp_path_factory.mktemp("flatpak")
    assert str(work).startswith("/tmp/"), work      # bound below the root's own /tmp
    work.chmod(0o755)
    (work / "roottmp").mkdir()
    (work / "roottmp").chmod(0o1777)
    copy_checkout(work / "src")
    home = work / "home"
    profile = home / ".var" / "app" / APP / "config" / "GIMP" / "3.0"
    profile.parent.mkdir(parents=True)
    d13_host.new_profile(profile)
    PIP_CACHE.mkdir(parents=True, exist_ok=True)
    return work


def test_engine_missing_in_the_sandbox_names_flatpak_and_the_fix(d13_host, sandbox):
    work = sandbox
    out = install(work, "--flatpak-engine", "never").stdout
    assert "GIMP 3.0 profile (Flatpak)" in out, out
    record = json.loads((work / "home" / ".config" / "smart-beauty" / "engine.json").read_text())
    host_python = record["host"]["python"]
    assert host_python == str(work / "src" / ".venv" / "bin" / "python") and "flatpak" not in record
    result, output = run_in_sandbox(d13_host, work, "before")
    assert result is not None, output[-4000:]
    assert result["status"] == "execution-error", result
    error = result["error"]
    assert "not installed for the Flatpak GIMP" in error and host_python in error, error
    assert "./install.sh --with-engine" in error and "outside Flatpak" in error, error
    assert error in output, output[-3000:]       # GIMP 3.0 shows the sentence (its "Calling error" line)


def test_engine_installed_for_the_sandbox_retouches_in_gimp(d13_host, sandbox):
    work = sandbox
    out = install(work, "--flatpak-python", "3.13").stdout
    for noise in ("Traceback", "dependency conflicts", "ERROR"):
        assert noise not in out, out[-4000:]
    target = work / "home" / ".local" / "share" / "smart-beauty" / "flatpak-engine" / "python3.13"
    assert "unpacked for the Flatpak runtime's Python 3.13 into %s" % target in out, out[-4000:]
    record = json.loads((work / "home" / ".config" / "smart-beauty" / "engine.json").read_text())
    assert record["flatpak"] == {"python": "/usr/bin/python3", "python_version": "3.13", "path": str(target),
                                 "made_by": "install.sh"}
    assert list(target.glob("numpy-*.dist-info")) and list(target.glob("opencv_contrib_python_headless-*"))
    # the host venv's interpreter really is unusable in the sandbox: it links into the host's /usr
    host_python = os.path.realpath(record["host"]["python"])
    assert not (d13_host.root / host_python.lstrip("/")).exists(), host_python

    result, output = run_in_sandbox(d13_host, work, "after")
    server_state = work / "home" / ".config" / "smart-beauty" / "local-server.json"
    log = work / "home" / ".config" / "smart-beauty" / "local-server.log"
    detail = "%s\n--- server log\n%s\n--- gimp\n%s" % (
        result, log.read_text()[-3000:] if log.exists() else "-", output[-4000:])
    assert result is not None and result["status"] == "success", detail
    assert result["layers"][0] == "Smart Beauty (level 0.80)", detail
    server = json.loads(server_state.read_text())
    assert server["engine"] == "offline", server                    # the real engine, not a stand-in
    assert server["cli"] == "/usr/bin/python3 -m smart_beauty_cli.cli", server
    # the sandbox's config folder (~/.var/app/.../config/smart-beauty) was not made: the shared one was used
    assert not (work / "home" / ".var" / "app" / APP / "config" / "smart-beauty").exists()
    source = np.asarray(Image.open(work / "after-source.png").convert("RGB"))
    layer = np.asarray(Image.open(work / "after-layer.png").convert("RGB"))
    diff = changed(source, layer)
    assert diff[75:180, 175:275].mean() > 0.3 and not diff[:, :60].any() and not diff[400:].any(), detail

    # a Flatpak runtime update (another Python) is named, with the fix
    record["flatpak"]["python_version"] = "3.12"
    (work / "home" / ".config" / "smart-beauty" / "engine.json").write_text(json.dumps(record))
    result, output = run_in_sandbox(d13_host, work, "updated")
    assert result is not None and result["status"] == "execution-error", output[-3000:]
    assert "Python 3.12, but GIMP's Python is now 3.13" in result["error"], result
    assert "./install.sh --with-engine" in result["error"]
