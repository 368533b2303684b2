"""Windows and macOS layouts, SIMULATED on Linux: the installer and the plug-in's engine lookup take the
platform as a parameter (``install.main(argv, env, platform)``, ``localserver.find_engine(env, platform)``),
and build that platform's paths with its own rules (``ntpath`` for Windows), so these tests run the
Windows and macOS branches here, against fake APPDATA / HOME trees. Nothing here ran on Windows or macOS.

Profile discovery and installation read real folders (made under tmp_path); the strings the installer
records for the plug-in and the plug-in reads back are Windows strings (``C:\\...\\Scripts\\python.exe``).
"""

from __future__ import annotations

import json
import ntpath
import os
import subprocess
import sys

import pytest
from hosts import WHEEL_CACHE, load_installer

from smart_beauty import Client, localserver, settings

install = load_installer()


def run_main(argv, env, platform, capsys):
    rc = install.main(list(argv) + ["--wheel-cache", str(WHEEL_CACHE)], env=env, platform=platform)
    out = capsys.readouterr()
    return rc, out.out + out.err


def gimp3_installed(profile):
    d = profile / "plug-ins" / "smart-beauty"
    return (d / "smart-beauty.py").is_file() and (d / "lib" / "smart_beauty" / "settings.py").is_file() \
        and (d / "vendor" / "requests" / "__init__.py").is_file()


def test_windows_profiles_under_appdata(tmp_path, capsys):
    """%APPDATA%\\GIMP\\2.10, 3.0 and 3.2 are used, 2.8 is skipped with the reason, and the Linux folders of
    the same (fake) user are not looked at on Windows; the GIMP 3 profiles get the vendored requests
    (GIMP for Windows runs its own Python, which lacks it)."""
    appdata = tmp_path / "Users" / "ann" / "AppData" / "Roaming"
    for v in ("2.10", "3.0", "3.2", "2.8"):
        (appdata / "GIMP" / v).mkdir(parents=True)
    linux = tmp_path / "Users" / "ann" / ".config" / "GIMP" / "3.0"
    linux.mkdir(parents=True)
    env = {"APPDATA": str(appdata), "USERPROFILE": str(tmp_path / "Users" / "ann"), "PATH": ""}
    rc, out = run_main(["--no-cli"], env, "win32", capsys)
    assert rc == 0, out
    assert gimp3_installed(appdata / "GIMP" / "3.0") and gimp3_installed(appdata / "GIMP" / "3.2")
    g2 = appdata / "GIMP" / "2.10" / "plug-ins" / "smart_beauty"
    assert (g2 / "smart_beauty.py").is_file() and (g2 / "vendor" / "requests" / "__init__.py").is_file()
    assert not (appdata / "GIMP" / "2.8" / "plug-ins").exists() and not (linux / "plug-ins").exists()
    assert "GIMP 2.8 is not supported" in out
    assert "profiles used: GIMP 2.10 (Windows), GIMP 3.0 (Windows), GIMP 3.2 (Windows)" in out, out
    # APPDATA unset: the default under the user's folder
    del env["APPDATA"]
    rc, out = run_main(["--no-cli", "--dry-run"], env, "win32", capsys)
    assert "GIMP 3.2 profile (Windows): %s" % (appdata / "GIMP" / "3.2") in out, out


def test_macos_profiles_under_library(tmp_path, capsys):
    home = tmp_path / "Users" / "ann"
    lib = home / "Library" / "Application Support" / "GIMP"
    for v in ("2.10", "3.2"):
        (lib / v).mkdir(parents=True)
    (home / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    rc, out = run_main(["--no-cli"], {"HOME": str(home), "PATH": ""}, "darwin", capsys)
    assert rc == 0, out
    assert gimp3_installed(lib / "3.2") and (lib / "2.10" / "plug-ins" / "smart_beauty" / "smart_beauty.py").is_file()
    assert not (home / ".config" / "GIMP" / "3.0" / "plug-ins").exists()
    assert "profiles used: GIMP 2.10 (macOS), GIMP 3.2 (macOS)" in out, out


def test_no_profile_names_the_platforms_folder(tmp_path, capsys):
    rc, out = run_main(["--no-cli"], {"APPDATA": str(tmp_path), "USERPROFILE": str(tmp_path)}, "win32", capsys)
    assert rc == 3 and "py install.py --gimp-dir %APPDATA%\\GIMP\\3.2" in out, out
    rc, out = run_main(["--no-cli"], {"HOME": str(tmp_path)}, "darwin", capsys)
    assert rc == 3 and "--gimp-dir ~/Library/Application Support/GIMP/3.2" in out, out


@pytest.mark.parametrize("platform,python,cli", [
    ("win32", r"C:\Users\ann\smart-beauty\.venv\Scripts\python.exe",
     r"C:\Users\ann\smart-beauty\.venv\Scripts\smart-beauty.exe"),
    ("darwin", "/Users/ann/smart-beauty/.venv/bin/python", "/Users/ann/smart-beauty/.venv/bin/smart-beauty"),
    ("linux", "/home/ann/smart-beauty/.venv/bin/python", "/home/ann/smart-beauty/.venv/bin/smart-beauty"),
])
def test_venv_layout(platform, python, cli):
    venv = r"C:\Users\ann\smart-beauty\.venv" if platform == "win32" else python.rsplit("/bin/", 1)[0]
    layout = settings.venv_layout(venv, platform)
    assert (layout["python"], layout["cli"]) == (python, cli)


@pytest.mark.parametrize("platform,env,expected", [
    ("win32", {"APPDATA": r"C:\Users\ann\AppData\Roaming"}, r"C:\Users\ann\AppData\Roaming\smart-beauty"),
    ("win32", {"USERPROFILE": r"C:\Users\ann"}, r"C:\Users\ann\AppData\Roaming\smart-beauty"),
    ("darwin", {"HOME": "/Users/ann"}, "/Users/ann/Library/Application Support/smart-beauty"),
    ("linux", {"HOME": "/home/ann"}, "/home/ann/.config/smart-beauty"),
    ("linux", {"HOME": "/home/ann", "XDG_CONFIG_HOME": "/x"}, "/x/smart-beauty"),
])
def test_config_folder_per_platform(platform, env, expected):
    """The one rule (smart_beauty.settings.config_dir) the installer writes by and the plug-in reads by."""
    assert settings.config_dir(env, platform) == expected


def test_msys_python_is_refused(capsys):
    """A Python from MSYS2/Git Bash would record /c/Users/... paths, which GIMP's Python cannot open."""
    rc, out = run_main(["--no-cli"], {"HOME": "/c/Users/ann"}, "msys", capsys)
    assert rc == 1 and "MSYS2/Cygwin" in out and "py install.py" in out, out


def windows_tree(tmp_path):
    """A fake Windows user whose paths are Windows strings: on Linux, a backslash is an ordinary file-name
    character, so ntpath-built paths under tmp_path/w round-trip through real files."""
    root = str(tmp_path / "w")
    env = {"APPDATA": root + r"\Users\ann\AppData\Roaming", "USERPROFILE": root + r"\Users\ann", "PATH": ""}
    return root, env


def test_windows_engine_recorded_and_found(tmp_path):
    """The installer records the venv's Scripts\\python.exe (a Windows path, as Windows' Python gives it);
    the plug-in reads it from %APPDATA%\\smart-beauty\\engine.json and starts `python.exe -m
    smart_beauty_cli.cli serve ...` -- no .exe launcher in between, no fork-isms."""
    root, env = windows_tree(tmp_path)
    python = settings.venv_layout(root + r"\Users\ann\smart-beauty\.venv", "win32")["python"]
    path = install.record_engine(env, "win32", host={"python": python, "made_by": "install.py"})
    assert path == root + r"\Users\ann\AppData\Roaming\smart-beauty\engine.json"
    assert json.load(open(path))["host"]["python"].endswith(r"\.venv\Scripts\python.exe")
    first = localserver.candidates(env, "win32")[0]
    assert (first.program, first.args) == (python, ["-m", "smart_beauty_cli.cli"])
    assert localserver.find_engine(env, "win32") is None          # recorded, but no such file yet
    assert "py install.py --with-engine" in localserver.missing_message(env, "win32")
    open(python, "w").close()                                     # now there is (no x bit: Windows needs none)
    found = localserver.find_engine(env, "win32")
    assert found.program == python and "recorded by the installer" in found.where
    # elsewhere a program needs its x bit (asked of the rule itself: a Linux lookup would read this
    # machine's own config folder and checkout)
    assert localserver._exe(python, "win32") and not localserver._exe(python, "linux")
    argv = localserver.serve_argv(found, {})
    assert argv[:4] == [python, "-m", "smart_beauty_cli.cli", "serve"] and "--announce" in argv
    # later candidates: the checkout's venv and PATH in Windows form
    wheres = {c.where: c.program for c in localserver.candidates(env, "win32")}
    assert wheres["the checkout's .venv"].endswith(r"\.venv\Scripts\smart-beauty.exe")
    assert wheres["~/.local/bin"] == ntpath.join(env["USERPROFILE"], ".local", "bin", "smart-beauty")


def test_windows_start_has_no_fork_isms():
    """Windows has no fork: no preexec_fn / start_new_session; a new process group without a console
    window; close_fds off (Python 2.7 on Windows refuses it with redirected handles). POSIX: a session."""
    win = localserver.popen_kwargs("win32")
    assert win == {"creationflags": 0x200 | 0x08000000, "close_fds": False}
    posix = localserver.popen_kwargs("linux")
    assert posix.get("start_new_session") is True and "creationflags" not in posix
    assert "preexec_fn" not in posix                 # no fork-time Python code on Python 3 either


def test_recorded_interpreter_really_starts_the_server(tmp_path, monkeypatch):
    """The launch the Windows record uses (python -m smart_beauty_cli.cli serve, this system's start
    arguments), run for real with this interpreter: the server announces itself and answers."""
    cfg = tmp_path / "config"
    monkeypatch.setenv("SMART_BEAUTY_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("SMART_BEAUTY_ENGINE", "simple")
    monkeypatch.delenv("SMART_BEAUTY_CLI", raising=False)
    monkeypatch.delenv("AILAB_API_KEY", raising=False)
    install.record_engine(dict(os.environ), sys.platform, host={"python": sys.executable})
    try:
        server = localserver.ensure()
        assert server.engine == "simple" and "-m smart_beauty_cli.cli" in server.cli
        with Client(server.key, base_url=server.url) as client:
            assert client.credits() is not None
    finally:
        localserver.stop()


def test_flatpak_record_and_messages(tmp_path, monkeypatch):
    """Inside the Flatpak sandbox (FLATPAK_ID; simulated) only the engine installed for the sandbox's
    Python counts; without it the sentence names the sandbox and the fix, never a missing host file."""
    monkeypatch.setattr(settings, "FLATPAK_INFO", str(tmp_path / "no-flatpak-info"))
    home = tmp_path / "home"
    env = {"HOME": str(home), "FLATPAK_ID": "org.gimp.GIMP",
           "XDG_CONFIG_HOME": str(home / ".var" / "app" / "org.gimp.GIMP" / "config")}
    host_python = str(home / "sb" / ".venv" / "bin" / "python")
    install.record_engine({"HOME": str(home)}, "linux", host={"python": host_python})
    assert localserver.find_engine(env, "linux") is None
    text = localserver.missing_message(env, "linux")
    assert "not installed for the Flatpak GIMP" in text and host_python in text
    assert "./install.sh --with-engine" in text and "outside Flatpak" in text
    site = tmp_path / "flatpak-engine" / "python3.13"
    site.mkdir(parents=True)
    install.record_engine({"HOME": str(home)}, "linux", flatpak={
        "python": sys.executable, "python_version": "3.0", "path": str(site)})
    found = localserver.find_engine(env, "linux")
    assert found.program == sys.executable and found.pythonpath == str(site)
    child = localserver._child_env(dict(env, PYTHONPATH="/gimp/own"), found)
    assert child["PYTHONPATH"] == str(site) and child["PYTHONNOUSERSITE"] == "1"
    mismatch = localserver.flatpak_mismatch(found, env)
    assert "Python 3.0" in mismatch and "%d.%d" % sys.version_info[:2] in mismatch and "install.sh" in mismatch
    # outside the sandbox the host entry is used, the Flatpak one never
    assert [c.program for c in localserver.candidates({"HOME": str(home)}, "linux")][0] == host_python


def test_install_sh_wrapper_is_posix_sh():
    """install.sh is a thin POSIX-sh wrapper (macOS' /bin/bash is 3.2; dash runs it on Debian)."""
    text = open(os.path.join(install.REPO, "install.sh")).read()
    assert text.startswith("#!/bin/sh\n") and "install.py" in text and len(text.splitlines()) < 25
    assert subprocess.run(["sh", "-n", os.path.join(install.REPO, "install.sh")]).returncode == 0


def test_an_engine_json_from_before_the_packages_were_named_by_role(tmp_path, monkeypatch):
    """engine.json files written before smart_beauty_py3 became smart_beauty_cli / smart_beauty_server
    (a ``git pull`` does not rewrite them): the venv entry (only an interpreter) runs the new module; a
    Flatpak engine folder unpacked then holds only smart_beauty_py3, and its own module is run from it
    until ``./install.sh --with-engine`` unpacks a new one."""
    monkeypatch.setattr(settings, "FLATPAK_INFO", str(tmp_path / "no-flatpak-info"))
    home = tmp_path / "home"
    site = tmp_path / "flatpak-engine" / "python3.13"
    for package in ("smart_beauty", "smart_beauty_py3", "smart_beauty_engine"):
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text("")
    (site / "smart_beauty_py3" / "cli.py").write_text("")
    venv_python = home / "sb" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    venv_python.symlink_to(sys.executable)
    config = home / ".config" / "smart-beauty"
    config.mkdir(parents=True)
    (config / "engine.json").write_text(json.dumps({     # as the installer of 2026-12-01 wrote it
        "flatpak": {"made_by": "install.sh", "path": str(site), "python": sys.executable, "python_version": "3.13"},
        "host": {"made_by": "install.sh", "python": str(venv_python)}}, indent=2, sort_keys=True) + "\n")
    outside = {"HOME": str(home), "PATH": ""}
    host = localserver.find_engine(outside, "linux")
    assert host.argv(["serve"]) == [str(venv_python), "-m", "smart_beauty_cli.cli", "serve"]
    inside = {"HOME": str(home), "FLATPAK_ID": "org.gimp.GIMP", "XDG_CONFIG_HOME": str(home / ".config")}
    old = localserver.find_engine(inside, "linux")
    assert old.argv(["serve"]) == [sys.executable, "-m", "smart_beauty_py3.cli", "serve"]
    assert old.pythonpath == str(site)
    (site / "smart_beauty_cli").mkdir()                # unpacked again by the new installer: the new module
    (site / "smart_beauty_cli" / "__init__.py").write_text("")
    assert localserver.find_engine(inside, "linux").args == ["-m", "smart_beauty_cli.cli"]
