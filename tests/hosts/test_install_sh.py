"""install.sh (the wrapper README's first command runs) and install.py behind it, against fake GIMP
profiles (every platform layout) under a throw-away HOME.

Runs install.sh from a temp copy of the checkout whose adapters are placeholders (the installer is
under test here, not the plug-ins). Downloaded wheels are cached in tests/hosts/cache/wheels.
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hosts import WHEEL_CACHE, load_installer

REPO = Path(__file__).resolve().parents[2]
# the pins, from the one place they live (install.py)
PY27_SET = dict(r.split("==") for r in load_installer().PY27_VENDOR)

if os.name != "posix" or not shutil.which("bash"):
    pytest.skip("install.sh tests need a POSIX shell with bash", allow_module_level=True)


def make_repo(tmp_path, adapters=("3", "2"), tag="v1"):
    repo = tmp_path / "repo"
    (repo / "lib").mkdir(parents=True)
    for name in ("install.sh", "install.py", "pyproject.toml"):
        shutil.copy2(REPO / name, repo / name)
    shutil.copytree(REPO / "lib" / "smart_beauty", repo / "lib" / "smart_beauty",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # py3-only packages that must NOT be installed into GIMP profiles
    for name in ("smart_beauty_cli", "smart_beauty_server"):
        shutil.copytree(REPO / "lib" / name, repo / "lib" / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (repo / "lib" / "smart_beauty" / "__pycache__").mkdir(exist_ok=True)
    (repo / "lib" / "smart_beauty" / "__pycache__" / "junk.cpython-311.pyc").write_bytes(b"x")
    write_adapters(repo, adapters, tag)
    return repo


def write_adapters(repo, adapters=("3", "2"), tag="v1"):
    if "3" in adapters:
        p = repo / "plug-ins" / "smart-beauty" / "smart-beauty.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/usr/bin/env python3\n# placeholder GIMP 3 adapter %s\n" % tag)
        p.chmod(0o644)  # the installer must set the exec bit itself
        (p.parent / "smart_beauty_gimp3.py").write_text("# placeholder GIMP 3 host module %s\n" % tag)
    if "2" in adapters:
        p = repo / "plug-ins" / "gimp2" / "smart_beauty.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/usr/bin/env python2\n# placeholder GIMP 2.10 adapter %s\n" % tag)
        p.chmod(0o644)
        (p.parent / "smart_beauty_gimp2.py").write_text("# placeholder GIMP 2.10 host module %s\n" % tag)


_NO_GIMP_BIN = []


def path_without_gimp():
    """A directory of links to every command in /usr/bin and /bin except GIMP's: these tests stand for
    a machine where GIMP is not installed (or only where they put it), whatever this machine has."""
    if not _NO_GIMP_BIN:
        import tempfile

        d = Path(tempfile.mkdtemp(prefix="sb-path-without-gimp-"))
        for folder in ("/bin", "/usr/bin"):
            for entry in sorted(os.listdir(folder)):
                if entry.startswith("gimp") or (d / entry).exists():
                    continue
                with contextlib.suppress(OSError):
                    os.symlink(os.path.join(folder, entry), str(d / entry))
        _NO_GIMP_BIN.append(str(d))
    return _NO_GIMP_BIN[0]


def run_install(repo, home, *args, env=None, check=True, path_prefix=None, cache=WHEEL_CACHE):
    e = {
        "HOME": str(home),
        "PATH": ((str(path_prefix) + ":") if path_prefix else "") + path_without_gimp(),
        "LANG": "C.UTF-8",
        "SB_PYTHON": sys.executable,
        "SB_WHEEL_CACHE": str(cache),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    e.update(env or {})
    p = subprocess.run(["bash", str(repo / "install.sh")] + list(args), env=e, cwd=str(home),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    if check and p.returncode != 0:
        raise AssertionError("install.sh %s failed rc=%d:\n%s" % (" ".join(args), p.returncode, p.stdout))
    return p


def tree(root):
    """{relative path: (kind, mode, sha256/target)} of everything under root."""
    out = {}
    root = Path(root)
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        st = p.lstat()
        if p.is_symlink():
            out[rel] = ("l", 0, os.readlink(p))
        elif p.is_dir():
            out[rel] = ("d", stat.S_IMODE(st.st_mode), "")
        else:
            out[rel] = ("f", stat.S_IMODE(st.st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def dist_versions(vendor):
    """{project: version} from the *.dist-info folders of an unpacked vendor dir."""
    out = {}
    for d in Path(vendor).glob("*.dist-info"):
        name, version = d.name[: -len(".dist-info")].rsplit("-", 1)
        out[name.lower().replace("_", "-")] = version
    return out


def assert_gimp3_install(prof, vendored=True):
    d = Path(prof) / "plug-ins" / "smart-beauty"
    f = d / "smart-beauty.py"
    assert f.is_file(), "missing %s" % f
    assert os.access(f, os.X_OK), "not executable: %s" % f
    host = d / "smart_beauty_gimp3.py"   # the host module beside the entry script: imported, never run
    assert host.is_file() and not os.access(host, os.X_OK), host
    assert (d / "lib" / "smart_beauty" / "__init__.py").is_file()
    assert not (d / "lib" / "smart_beauty_cli").exists() and not (d / "lib" / "smart_beauty_server").exists()
    assert not list(d.rglob("__pycache__")) and not list(d.rglob("*.pyc"))
    if vendored:
        v = dist_versions(d / "vendor")
        assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer"} <= set(v), v
        assert int(v["requests"].split(".")[0]) >= 2 and tuple(map(int, v["requests"].split(".")[:2])) >= (2, 32)
        assert not list((d / "vendor").rglob("*.so")), "vendored requests must be pure Python"
    else:
        assert not (d / "vendor").exists()
    return d


def assert_gimp2_install(prof):
    d = Path(prof) / "plug-ins" / "smart_beauty"
    f = d / "smart_beauty.py"
    assert f.is_file() and os.access(f, os.X_OK)
    host = d / "smart_beauty_gimp2.py"   # GIMP 2.10 runs executable files: the module must not be one
    assert host.is_file() and not os.access(host, os.X_OK), host
    assert (d / "lib" / "smart_beauty" / "__init__.py").is_file()
    assert not (d / "lib" / "smart_beauty_cli").exists() and not (d / "lib" / "smart_beauty_server").exists()
    # exactly the pinned py2.7 set, unpacked
    assert dist_versions(d / "vendor") == PY27_SET
    for pkg in ("requests", "urllib3", "idna", "chardet", "certifi"):
        assert (d / "vendor" / pkg / "__init__.py").is_file()
    assert not list((d / "vendor").rglob("*.so"))
    # the library copied is exactly the repo's (minus caches)
    src = tree(REPO / "lib" / "smart_beauty")
    src = {k: v for k, v in src.items() if "__pycache__" not in k and not k.endswith(".pyc")}
    got = tree(d / "lib" / "smart_beauty")
    assert {k: v[2] for k, v in got.items()} == {k: v[2] for k, v in src.items()}
    return d


def no_staging_left(prof):
    left = [p.name for p in (Path(prof) / "plug-ins").iterdir() if p.name.startswith(".")]
    assert not left, "staging leftovers: %s" % left


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path)


@pytest.fixture
def home(tmp_path):
    h = tmp_path / "home"
    h.mkdir()
    return h


def test_help(repo, home):
    out = run_install(repo, home, "--help").stdout
    for opt in ("--gimp-dir", "--gimp-version", "--dry-run", "--uninstall", "--no-cli", "--with-engine"):
        assert opt in out


def test_linux_profiles_both_versions(repo, home):
    p3 = home / ".config" / "GIMP" / "3.0"
    p2 = home / ".config" / "GIMP" / "2.10"
    old = home / ".config" / "GIMP" / "2.8"
    for p in (p3, p2, old):
        p.mkdir(parents=True)
    out = run_install(repo, home, "--no-cli").stdout
    assert_gimp3_install(p3)
    assert_gimp2_install(p2)
    assert not (old / "plug-ins").exists()
    assert "2.8 is not supported" in out and "skipped" in out
    assert "installed %s" % (p3 / "plug-ins" / "smart-beauty" / "smart-beauty.py") in out
    # pre-first-run folders (GIMP skips its user install when the profile folder exists)
    for p in (p2, p3):
        for sub in ("brushes", "gradients", "patterns", "palettes", "plug-ins", "tmp"):
            assert (p / sub).is_dir()
        no_staging_left(p)


@pytest.mark.parametrize("layout", ["flatpak", "snap", "xdg", "gimp3_directory", "gimp2_directory"])
def test_platform_layouts(repo, home, tmp_path, layout):
    """Linux's layouts (Windows' and macOS' are in test_install_platforms.py, by the platform parameter)."""
    env = {}
    if layout == "flatpak":
        prof, ver = home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0", "3"
    elif layout == "snap":
        prof, ver = home / "snap" / "gimp" / "current" / ".config" / "GIMP" / "2.10", "2"
    elif layout == "xdg":
        env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
        prof, ver = tmp_path / "xdg" / "GIMP" / "2.10", "2"
    elif layout == "gimp3_directory":
        prof, ver = tmp_path / "custom-gimp3-profile", "3"
        env["GIMP3_DIRECTORY"] = str(prof)
    else:
        prof, ver = tmp_path / "custom-gimp2-profile", "2"
        env["GIMP2_DIRECTORY"] = str(prof)
    prof.mkdir(parents=True)
    run_install(repo, home, "--no-cli", env=env)
    if ver == "3":
        assert_gimp3_install(prof)
    else:
        assert_gimp2_install(prof)
    no_staging_left(prof)


def test_gimp_dir_version_from_name_contents_or_option(repo, home, tmp_path):
    named = tmp_path / "x" / "3.0"
    by_gimprc = tmp_path / "profile-a"
    by_pluginrc = tmp_path / "profile-b"
    unknown = tmp_path / "profile-c"
    for p in (named, by_gimprc, by_pluginrc, unknown):
        p.mkdir(parents=True)
    (by_gimprc / "gimprc").write_text('# GIMP gimprc\n(config-version "3.0.4")\n')
    (by_pluginrc / "pluginrc").write_text("# GIMP pluginrc\n\n(protocol-version 26)\n(file-version 5)\n")
    for p in (named, by_gimprc, by_pluginrc):
        run_install(repo, home, "--no-cli", "--gimp-dir", str(p))
    assert_gimp3_install(named)
    assert_gimp3_install(by_gimprc)
    assert_gimp2_install(by_pluginrc)
    bad = run_install(repo, home, "--no-cli", "--gimp-dir", str(unknown), check=False)
    assert bad.returncode != 0 and "--gimp-version" in bad.stdout
    assert not (unknown / "plug-ins").exists()
    run_install(repo, home, "--no-cli", "--gimp-dir", str(unknown), "--gimp-version", "2.10")
    assert_gimp2_install(unknown)


def test_gimp_dir_only_that_profile(repo, home, tmp_path):
    other = home / ".config" / "GIMP" / "3.0"
    other.mkdir(parents=True)
    target = tmp_path / "new" / "2.10"  # does not exist yet: created with GIMP's folders
    run_install(repo, home, "--no-cli", "--gimp-dir", str(target))
    assert_gimp2_install(target)
    assert (target / "gradients").is_dir()
    assert not (other / "plug-ins").exists()


def test_dry_run_writes_nothing(repo, home, tmp_path):
    for v in ("3.0", "2.10"):
        (home / ".config" / "GIMP" / v).mkdir(parents=True)
    cache = tmp_path / "fresh-cache"
    before = tree(tmp_path)
    out = run_install(repo, home, "--dry-run", cache=cache).stdout
    assert tree(tmp_path) == before
    assert "would install" in out and "would vendor" in out and "would create/update" in out
    assert not cache.exists()
    out = run_install(repo, home, "--dry-run", "--uninstall", cache=cache).stdout
    assert tree(tmp_path) == before


def test_reinstall_is_idempotent_and_upgrades(repo, home):
    p3 = home / ".config" / "GIMP" / "3.0"
    p2 = home / ".config" / "GIMP" / "2.10"
    p3.mkdir(parents=True)
    p2.mkdir(parents=True)
    run_install(repo, home, "--no-cli")
    first = tree(home)
    run_install(repo, home, "--no-cli")
    second = tree(home)
    ignore = lambda t: {k: v for k, v in t.items() if not k.endswith("INSTALLED.txt")}  # noqa: E731
    assert ignore(first) == ignore(second)
    write_adapters(repo, tag="v2")
    out = run_install(repo, home, "--no-cli").stdout
    assert "upgraded" in out
    assert "adapter v2" in (p3 / "plug-ins" / "smart-beauty" / "smart-beauty.py").read_text()
    assert "adapter v2" in (p2 / "plug-ins" / "smart_beauty" / "smart_beauty.py").read_text()
    # a file removed from the library disappears on upgrade (old copy replaced, not merged)
    stale = p2 / "plug-ins" / "smart_beauty" / "lib" / "smart_beauty" / "stale_module.py"
    stale.write_text("x = 1\n")
    run_install(repo, home, "--no-cli")
    assert not stale.exists()
    assert_gimp3_install(p3)
    assert_gimp2_install(p2)
    no_staging_left(p3)
    no_staging_left(p2)


def test_uninstall_removes_everything(repo, home):
    p3 = home / ".config" / "GIMP" / "3.0"
    p2 = home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "2.10"
    p3.mkdir(parents=True)
    p2.mkdir(parents=True)
    before = tree(home)
    run_install(repo, home, "--no-cli")
    (home / ".local" / "bin").mkdir(parents=True)
    os.symlink(str(repo / ".venv" / "bin" / "smart-beauty"), str(home / ".local" / "bin" / "smart-beauty"))
    out = run_install(repo, home, "--uninstall").stdout
    assert "removed" in out
    assert not (p3 / "plug-ins" / "smart-beauty").exists()
    assert not (p2 / "plug-ins" / "smart_beauty").exists()
    assert not (home / ".local" / "bin" / "smart-beauty").is_symlink()
    after = tree(home)
    # only the GIMP profile folders created for the first run (and ~/.local/bin) remain
    extra = set(after) - set(before)
    assert all(after[k][0] == "d" for k in extra), sorted(k for k in extra if after[k][0] != "d")
    again = run_install(repo, home, "--uninstall", "--no-cli").stdout
    assert "not installed" in again


def test_missing_adapter_fails_before_touching_profiles(tmp_path, home):
    repo = make_repo(tmp_path, adapters=("2",))
    p3 = home / ".config" / "GIMP" / "3.0"
    p2 = home / ".config" / "GIMP" / "2.10"
    p3.mkdir(parents=True)
    p2.mkdir(parents=True)
    p = run_install(repo, home, "--no-cli", check=False)
    assert p.returncode != 0
    assert "plug-ins/smart-beauty/smart-beauty.py is missing" in p.stdout
    assert not (p2 / "plug-ins").exists() and not (p3 / "plug-ins").exists()
    # only a 2.10 profile: the missing GIMP 3 adapter is not needed
    shutil.rmtree(p3)
    run_install(repo, home, "--no-cli")
    assert_gimp2_install(p2)


def test_no_profile_found(repo, home):
    p = run_install(repo, home, "--no-cli", check=False)
    assert p.returncode == 3
    assert "No GIMP 2.10 or 3.x profile found" in p.stdout and "--gimp-dir" in p.stdout


def write_exe(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def test_system_gimp_never_started_and_vendor_auto(repo, home, tmp_path):
    """A system GIMP 3 on PATH with no profile yet: ~/.config/GIMP/3.0 is prepared. Its python3
    has requests (fake python3 here), so nothing is vendored; --vendor always forces it."""
    fakebin = tmp_path / "fakebin"
    write_exe(fakebin / "gimp-3.0", "#!/bin/sh\necho 'GNU Image Manipulation Program version 3.0.4'\n")
    write_exe(fakebin / "python3", '#!/bin/sh\n[ "$1" = -c ] && case "$2" in *"import requests"*) exit 0;; esac\n'
              'exec %s "$@"\n' % sys.executable)
    out = run_install(repo, home, "--no-cli", path_prefix=fakebin).stdout
    prof = home / ".config" / "GIMP" / "3.0"
    assert "never been started" in out
    assert_gimp3_install(prof, vendored=False)
    assert (prof / "brushes").is_dir()
    run_install(repo, home, "--no-cli", "--vendor", "always", path_prefix=fakebin)
    assert_gimp3_install(prof, vendored=True)
    run_install(repo, home, "--no-cli", "--vendor", "never")
    assert_gimp3_install(prof, vendored=False)


def test_system_gimp32_never_started(repo, home, tmp_path):
    """GIMP 3.2 has gimp-3.2 / gimp-console-3 but no gimp-3.0 (Debian sid): ~/.config/GIMP/3.2 is
    prepared, once, and its python3's requests is seen through the 3.2 binaries too."""
    fakebin = tmp_path / "fakebin"
    for name in ("gimp-3.2", "gimp-console-3"):
        write_exe(fakebin / name, "#!/bin/sh\necho 'GNU Image Manipulation Program version 3.2.6'\n")
    write_exe(fakebin / "python3", '#!/bin/sh\n[ "$1" = -c ] && case "$2" in *"import requests"*) exit 0;; esac\n'
              'exec %s "$@"\n' % sys.executable)
    out = run_install(repo, home, "--no-cli", path_prefix=fakebin).stdout
    prof = home / ".config" / "GIMP" / "3.2"
    assert out.count("never been started") == 1, out
    assert not (home / ".config" / "GIMP" / "3.0").exists()
    assert_gimp3_install(prof, vendored=False)


def test_engine_option(repo, home, tmp_path):
    """--with-engine without the command-line tool has no venv to put the engine into: one sentence naming
    it and the command that makes it, after the plug-in is installed; --no-engine says how to add it."""
    (home / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    p = run_install(repo, home, "--no-cli", "--with-engine", check=False)
    assert p.returncode == 1, p.stdout
    assert "there is no %s" % (repo / ".venv" / "bin" / "python") in p.stdout and "--with-engine" in p.stdout
    assert "Traceback" not in p.stdout
    assert_gimp3_install(home / ".config" / "GIMP" / "3.0")
    out = run_install(repo, home, "--no-cli", "--no-engine").stdout
    assert "Offline engine not installed (add --with-engine to install it)" in out


def test_vendored_wheels_are_the_pinned_py27_set():
    """The py27 wheel cache holds exactly the pinned, py2-compatible wheels."""
    installer = load_installer()
    d = Path(installer.cache_folder(str(WHEEL_CACHE), "py27-requests", installer.PY27_ARGS))
    if not (d / ".complete").exists():
        pytest.skip("wheel cache not filled yet (filled by the install tests)")
    names = sorted(p.name for p in d.glob("*.whl"))
    assert len(names) == len(PY27_SET), names
    for w in names:
        proj, ver = w.split("-")[:2]
        assert PY27_SET[proj.lower()] == ver
        tag = w.rsplit("-", 3)[1]
        assert "py2" in tag, w
        with zipfile.ZipFile(str(d / w)) as z:
            assert not [n for n in z.namelist() if n.endswith(".so")]


def test_cli_setup(tmp_path, home):
    """Real CLI setup: a venv in the checkout, `pip install -e .`, ~/.local/bin/smart-beauty linked."""
    repo = tmp_path / "clirepo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", "cache",
                                                              "*.egg-info", ".pytest_cache", "samples", "bench"))
    write_adapters(repo)
    (home / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    env = {"PIP_CACHE_DIR": str(REPO / "tests" / "hosts" / "cache" / "pip")}
    out = run_install(repo, home, env=env).stdout
    link = home / ".local" / "bin" / "smart-beauty"
    assert link.is_symlink() and os.readlink(str(link)) == str(repo / ".venv" / "bin" / "smart-beauty")
    assert "linked" in out and "not on your PATH" in out
    assert (repo / ".venv" / "bin" / "smart-beauty").exists()
    r = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-c",
                        "import smart_beauty, smart_beauty_cli, smart_beauty_server; print(smart_beauty.__file__)"],
                       stdout=subprocess.PIPE, text=True, check=True)
    assert r.stdout.strip().startswith(str(repo / "lib"))
    # the interpreter the plug-ins start the engine with, in the config folder smart_beauty.settings names
    record = home / ".config" / "smart-beauty" / "engine.json"
    assert json.loads(record.read_text())["host"]["python"] == str(repo / ".venv" / "bin" / "python")
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    out2 = run_install(repo, home, "--uninstall", env=env).stdout
    assert not link.exists() and "left in place" in out2
    assert not record.exists() and "removed %s" % record in out2


def python_shim(path, version):
    """A `python3.X` stand-in: answers the installer's version question (install.py's PROBE) as Python
    `version` would, runs everything else with this interpreter (so venv, pip and the rest really work)."""
    write_exe(path, '#!/bin/sh\n'
                    'if [ "$1" = -c ]; then case "$2" in\n'
                    '  *"sys.version_info[:2])"*) echo "%s"; exit 0;;\n'
                    'esac; fi\n'
                    'exec %s "$@"\n' % (version, sys.executable))


def test_engine_needs_python_3_9_or_newer(tmp_path, home):
    """--with-engine on a machine whose python3 is 3.8: the CLI venv is made with a newer Python when
    there is one (3.13 and 3.14 included: the engine is OpenCV's abi3 wheel) and the real engine is
    installed into it (pip, the pinned OpenCV); with none, one clear sentence before anything is created;
    an existing venv on 3.8 is named; install-engine.sh itself refuses such a venv with the same explanation."""
    repo = tmp_path / "clirepo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.pyc", "cache",
                                                              "*.egg-info", ".pytest_cache", "samples", "bench"))
    write_adapters(repo)
    fakebin = tmp_path / "fakebin"
    for name in ("python3", "python3.14", "python3.13", "python3.12", "python3.11", "python3.10", "python3.9"):
        python_shim(fakebin / name, "3.8")
    env = {"PIP_CACHE_DIR": str(REPO / "tests" / "hosts" / "cache" / "pip"), "SB_PYTHON": str(fakebin / "python3")}

    p = run_install(repo, home, "--with-engine", env=env, path_prefix=fakebin, check=False)
    assert p.returncode != 0
    assert "the offline engine needs Python 3.9 or newer" in p.stdout and "python3 is 3.8" in p.stdout, p.stdout
    assert not (repo / ".venv").exists()

    real = "%d.%d" % sys.version_info[:2]              # now there is one: this interpreter, 3.9 or newer
    python_shim(fakebin / ("python" + real), real)
    out = run_install(repo, home, "--with-engine", env=env, path_prefix=fakebin).stdout
    assert "(Python %s)" % real in out, out
    assert "The local engine is installed (OpenCV 4." in out and "offline engine installed into" in out, out
    assert (repo / ".venv" / "bin" / "smart-beauty").exists()
    for noise in ("Traceback", "WARNING", "dependency conflicts"):
        assert noise not in out, out

    venv_python = repo / ".venv" / "bin" / "python"         # a venv made earlier with 3.8
    venv_python.unlink()
    python_shim(venv_python, "3.8")
    p = run_install(repo, home, "--with-engine", env=env, path_prefix=fakebin, check=False)
    assert p.returncode != 0 and "uses Python 3.8, which the offline engine cannot use" in p.stdout, p.stdout
    assert "remove %s" % (repo / ".venv") in p.stdout

    r = subprocess.run(["sh", str(repo / "scripts" / "install-engine.sh"), str(repo / ".venv")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    assert r.returncode == 3 and "needs Python 3.9 or newer" in r.stdout and "Python 3.8" in r.stdout, r.stdout


def test_a_venv_whose_pip_is_too_old_for_an_editable_install_gets_a_newer_one(tmp_path, capsys):
    """Debian 11's Python 3.9 makes venvs with pip 20.3, which cannot ``install -e`` a project that has
    only a pyproject.toml (tests/hosts/test_real_engine.py met it for real): the installer upgrades that
    venv's own pip first and says so; a recent pip is left alone."""
    installer = load_installer()
    log = tmp_path / "calls"
    old = tmp_path / "old-python"
    write_exe(old, '#!/bin/sh\n'
                   'echo "$*" >> %s\n'
                   'if [ "$1 $2 $3" = "-m pip --version" ]; then echo "pip 20.3.4 from /x (python 3.9)"; fi\n' % log)
    report = installer.Report(dry=False)
    assert installer.pip_version(str(old)) == (20, 3)
    installer.editable_pip(str(old), report)
    calls = log.read_text().splitlines()
    assert calls[-1].startswith("-m pip install") and calls[-1].endswith("pip>=21.3"), calls
    assert report.done and "upgraded the venv's pip (pip 20.3 was too old" in report.done[-1]
    report = installer.Report(dry=False)
    assert installer.pip_version(sys.executable) >= installer.EDITABLE_PIP   # this test's own venv
    installer.editable_pip(sys.executable, report)
    assert report.done == []


def test_test_sh_asks_for_the_installers_editable_pip():
    """test.sh upgrades its venv's pip by the installer's rule (a shell script cannot import EDITABLE_PIP,
    so it spells the bound out): the two say the same."""
    installer = load_installer()
    text = (REPO / "test.sh").read_text()
    assert "'pip>=%d.%d'" % installer.EDITABLE_PIP in text
    assert len(re.findall(r"pip>=\d", text)) == 1, "test.sh asks for pip in more than one place"
