#!/usr/bin/env python3
"""Smart Beauty for GIMP -- the installer, for Linux, Windows and macOS (Python 3.8+, standard library only).

    python3 install.py [--with-engine]        Linux, macOS   (./install.sh runs this)
    py install.py [--with-engine]             Windows        (the python.org Python's launcher)

1. Finds every GIMP 2.10 / 3.0 / 3.2 profile of this user -- Linux ``~/.config/GIMP/X`` (or
   ``$XDG_CONFIG_HOME``), Flatpak ``~/.var/app/org.gimp.GIMP/config/GIMP/X``, Snap
   ``~/snap/gimp/current/.config/GIMP/X``; Windows ``%APPDATA%\\GIMP\\X``; macOS
   ``~/Library/Application Support/GIMP/X``; ``$GIMP3_DIRECTORY`` / ``$GIMP2_DIRECTORY`` -- and installs
   the plug-in folder into each: the adapter, ``lib/smart_beauty`` and ``vendor/`` (the pinned
   ``requests`` set; GIMP 2.10 gets the last Python 2.7 one). It says which profiles it used and skipped.
2. Sets up the ``smart-beauty`` command: a venv in ``<checkout>/.venv`` (``bin/python``, on Windows
   ``Scripts\\python.exe``) with ``pip install -e .[cli]``, linked as ``~/.local/bin/smart-beauty``
   (not on Windows), and records its interpreter in ``engine.json`` in the Smart Beauty config folder
   (``smart_beauty.settings.config_dir``: the plug-ins read the same rule), in this system's own path form.
3. ``--with-engine``: the offline engine into that venv (``pip install -e .[engine]``); and, when a
   Flatpak GIMP is found, a copy for the Flatpak sandbox's own Python (see ``install_flatpak_engine``).

The version pins live here (``PY27_VENDOR``, ``PY3_VENDOR``) and in pyproject.toml (the engine's);
the config-folder rule is ``smart_beauty.settings``' (imported from ``lib/``, not copied).
"""
from __future__ import annotations

import argparse
import datetime
import glob
import hashlib
import importlib
import json
import os
import platform as platform_mod
import re
import shutil
import subprocess
import sys
import tempfile
import types
import zipfile
from typing import Iterable, NamedTuple, Sequence

REPO = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(REPO, "lib")
SRC3 = os.path.join(REPO, "plug-ins", "smart-beauty", "smart-beauty.py")
SRC2 = os.path.join(REPO, "plug-ins", "gimp2", "smart_beauty.py")
# The module beside each entry script (the host class and the procedures; GIMP runs only the entry).
HOST3 = os.path.join(REPO, "plug-ins", "smart-beauty", "smart_beauty_gimp3.py")
HOST2 = os.path.join(REPO, "plug-ins", "gimp2", "smart_beauty_gimp2.py")
PROG = "install.sh" if os.environ.get("SB_INSTALL_WRAPPER") == "install.sh" else "install.py"

# Pinned: the last Python 2.7-compatible requests set (GIMP 2.10's Python-Fu is Python 2.7).
PY27_VENDOR = ["requests==2.27.1", "urllib3==1.26.20", "idna==2.10", "chardet==4.0.0", "certifi==2021.10.8"]
# GIMP 3 (only when its Python lacks requests): a pinned, closed set of pure-Python wheels that still
# supports Python 3.9 (GIMP 3 builds ship 3.9-3.14); fetched with --no-deps like the py2 set.
PY3_VENDOR = ["requests==2.32.5", "urllib3==2.5.0", "idna==3.10", "charset-normalizer==3.4.4", "certifi==2025.10.5"]
ENGINE_MIN = (3, 9)          # OpenCV's abi3 wheel + numpy: CPython 3.9 or newer
#: the oldest pip that installs a project with only a pyproject.toml in editable mode (PEP 660); the pip a
#: venv starts with may be older (Debian 11's Python 3.9: pip 20.3.4)
EDITABLE_PIP = (21, 3)
FLATPAK_APP = "org.gimp.GIMP"
FLATPAK_PYTHON = "/usr/bin/python3"   # the GNOME runtime's Python, the one GIMP's Python plug-ins run on
# Folders GIMP's first-run "user install" creates. GIMP skips that step when the profile folder already
# exists, so a profile we create (or one with only plug-ins/) gets them, or GIMP cannot save brushes etc.
PROFILE_DIRS = ("brushes curves dynamics environ filters fonts fractalexplorer gfig gflare gimpressionist "
                "gradients icons interpreters levels modules palettes patterns plug-ins scripts templates themes "
                "tmp tool-presets").split()
GIMP3_BINARIES = ("gimp-3.2", "gimp-console-3.2", "gimp-3.0", "gimp-console-3.0", "gimp-3", "gimp-console-3")
PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def core_settings() -> types.ModuleType:
    """``smart_beauty.settings`` from this checkout's lib/, loaded under a private package name without
    the package's ``__init__`` (which imports the HTTP client, hence ``requests``, which the installing
    Python need not have) and without touching an imported ``smart_beauty``."""
    name = "_smart_beauty_for_installer"
    sys.dont_write_bytecode = True     # a dry run writes nothing, not even __pycache__ in the checkout
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [os.path.join(LIB, "smart_beauty")]   # type: ignore[attr-defined]
        sys.modules[name] = package
    return importlib.import_module(name + ".settings")


class Failure(Exception):
    """Stops the installer with one sentence (exit status ``code``, 1 by default)."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.code = code


class Profile(NamedTuple):
    version: str      # "2.10", "3.0", "3.2"
    path: str
    origin: str       # "Linux", "Flatpak", "Snap", "Windows", "macOS", "--gimp-dir", "$GIMP3_DIRECTORY", ...


class Report:
    """What was done and skipped, printed as it happens and summed up at the end."""

    def __init__(self, dry: bool) -> None:
        self.dry = dry
        self.done: list[str] = []
        self.skipped: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def did(self, text: str) -> None:
        self.done.append(text)
        self.say("  " + text)

    def skip(self, text: str, quiet: bool = False) -> None:
        self.skipped.append(text)
        if not quiet:
            self.say("  skipped: " + text)


# ---------------------------------------------------------------- where things are, per system

def norm_version(text: str) -> str:
    """``"2.10"`` / ``"3.x"`` for a supported GIMP version string, else ``""``."""
    text = text.strip()
    if text == "2.10" or text.startswith("2.10."):
        return "2.10"
    if text == "3":
        return "3.0"
    m = re.match(r"^3\.(\d+)", text)
    return "3.%s" % m.group(1) if m else ""


def gimp_bases(env: dict[str, str], platform: str) -> list[tuple]:
    """(folder holding GIMP's version folders, origin) for this user on ``platform``."""
    settings = core_settings()
    home = settings.home_dir(env, platform)
    j = os.path.join            # these are read on this system, so its own path rules
    if platform.startswith("win"):
        appdata = env.get("APPDATA") or j(home, "AppData", "Roaming")
        return [(j(appdata, "GIMP"), "Windows")]
    if platform == "darwin":
        return [(j(home, "Library", "Application Support", "GIMP"), "macOS")]
    bases = [(j(env.get("XDG_CONFIG_HOME") or j(home, ".config"), "GIMP"), "Linux")]
    if env.get("XDG_CONFIG_HOME"):
        bases.append((j(home, ".config", "GIMP"), "Linux"))
    bases.append((j(home, ".var", "app", FLATPAK_APP, "config", "GIMP"), "Flatpak"))
    bases.append((j(home, "snap", "gimp", "current", ".config", "GIMP"), "Snap"))
    return bases


def flatpak_gimp_installed(env: dict[str, str], platform: str) -> bool:
    """Whether the Flathub GIMP is installed for this user or system-wide (or has been run)."""
    if not platform.startswith("linux"):
        return False
    home = core_settings().home_dir(env, platform)
    data = env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share")
    return any(os.path.isdir(p) for p in (os.path.join(data, "flatpak", "app", FLATPAK_APP),
                                          os.path.join("/var/lib/flatpak/app", FLATPAK_APP),
                                          os.path.join(home, ".var", "app", FLATPAK_APP)))


def wheel_cache(env: dict[str, str], platform: str) -> str:
    if env.get("SB_WHEEL_CACHE"):
        return env["SB_WHEEL_CACHE"]
    home = core_settings().home_dir(env, platform)
    if platform.startswith("win"):
        base = env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "smart-beauty", "cache", "wheels")
    if platform == "darwin":
        return os.path.join(home, "Library", "Caches", "smart-beauty", "wheels")
    return os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "smart-beauty", "wheels")


def check_native_python(platform: str) -> None:
    """Windows paths must be recorded as Windows paths: refuse MSYS2/Cygwin Pythons (``/c/Users/...``)."""
    if platform in ("msys", "cygwin"):
        raise Failure("this Python (%s) is an MSYS2/Cygwin one, whose paths GIMP cannot use; run the installer "
                      "with the python.org Python instead: py install.py" % sys.executable)


def record_engine(env: dict[str, str], platform: str, host: dict | None = None,
                  flatpak: dict | None = None) -> str:
    """Write the engine commands for the plug-ins (``engine.json`` in the Smart Beauty config folder);
    entries given replace the recorded ones. Returns the file's path."""
    settings = core_settings()
    path = settings.path_module(platform).join(settings.config_dir(env, platform), "engine.json")
    data = settings.read_json(path)
    if host is not None:
        data["host"] = host
    if flatpak is not None:
        data["flatpak"] = flatpak
    settings.write_private(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    return path


# ---------------------------------------------------------------- Pythons

def _version_of(argv: Sequence[str], pattern: str, timeout: float) -> tuple | None:
    """(major, minor) that ``pattern`` (two groups) finds at the start of what ``argv`` prints; None when
    it does not run, fails or prints something else."""
    try:
        out = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.match(pattern, out.stdout.strip())
    return (int(m.group(1)), int(m.group(2))) if out.returncode == 0 and m else None


def python_version(python: str) -> tuple | None:
    """(major, minor) of an interpreter, asked by running it; None if it does not run."""
    return _version_of([python, "-c", PROBE], r"^(\d+)\.(\d+)$", timeout=60)


def pip_version(python: str) -> tuple | None:
    """(major, minor) of the pip of an interpreter (``pip X.Y[.Z] from ...``); None without a pip."""
    return _version_of([python, "-m", "pip", "--version"], r"^pip (\d+)\.(\d+)", timeout=120)


def editable_pip(python: str, report: Report) -> None:
    """Make sure the venv of ``python`` has a pip that can ``install -e`` this project (``EDITABLE_PIP``),
    upgrading the venv's own pip when it is older (nothing outside the venv changes)."""
    version = pip_version(python)
    if version is not None and version >= EDITABLE_PIP:
        return
    cmd = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pip>=%d.%d" % EDITABLE_PIP]
    if subprocess.run(cmd).returncode != 0:
        raise Failure("could not upgrade the pip of %s (pip %s cannot install this project; PyPI reachable?)"
                      % (python, "%d.%d" % version if version else "(none)"))
    report.did("upgraded the venv's pip (%s was too old to install this project)"
               % ("pip %d.%d" % version if version else "no pip"))


def base_python(env: dict[str, str]) -> str:
    """The Python the venv is made with: ``$SB_PYTHON``, else the one running this installer."""
    return env.get("SB_PYTHON") or sys.executable


def engine_python(env: dict[str, str], platform: str) -> str:
    """A CPython >= 3.9 for the engine's venv: the base Python, else the newest python3.X on PATH."""
    base = base_python(env)
    found = python_version(base)
    if found and found >= ENGINE_MIN:
        return base
    if not platform.startswith("win"):
        for minor in range(14, ENGINE_MIN[1] - 1, -1):
            cand = shutil.which("python3.%d" % minor, path=env.get("PATH"))
            if cand is None:
                continue
            version = python_version(cand)
            if version and version >= ENGINE_MIN:
                return cand
    have = "%s is %s" % (os.path.basename(base), "%d.%d" % found if found else "not runnable")
    raise Failure("the offline engine needs Python 3.9 or newer and none was found (%s). Install one (your "
                  "distribution's python3, or python.org) and run again, or set SB_PYTHON to it; without "
                  "--with-engine everything else works, with an AILab API key." % have)


# ---------------------------------------------------------------- wheels

class Wheels:
    """Pinned wheel sets fetched once with ``pip download`` into a cache, unpacked where needed."""

    def __init__(self, cache: str, env: dict[str, str], report: Report) -> None:
        self.cache, self.env, self.report = cache, env, report
        self._pip: str | None = None

    def pip_python(self) -> str:
        if self._pip is None:
            python = base_python(self.env)
            if pip_version(python) is None:
                raise Failure("%s has no pip (Debian/Ubuntu: sudo apt install python3-pip; or set SB_PYTHON to a "
                              "Python with pip)" % python)
            self._pip = python
        return self._pip

    def fetch(self, name: str, args: Sequence[str]) -> str:
        """``pip download args`` into ``<cache>/<name>`` (kept; ``.complete`` marks a whole set)."""
        dest = cache_folder(self.cache, name, args)
        if os.path.isfile(os.path.join(dest, ".complete")):
            return dest
        part = dest + ".part"
        shutil.rmtree(part, ignore_errors=True)
        os.makedirs(part)
        self.report.say("  downloading the %s wheels with pip ..." % name)
        cmd = [self.pip_python(), "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-cache-dir",
               "-d", part] + list(args)
        if subprocess.run(cmd).returncode != 0:
            shutil.rmtree(part, ignore_errors=True)
            raise Failure("pip download failed for the %s set (network? PyPI reachable?)" % name)
        open(os.path.join(part, ".complete"), "w").close()
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(part, dest)
        return dest

    def py27(self) -> str:
        return self.fetch("py27-requests", PY27_ARGS)

    def py3(self) -> str:
        return self.fetch("py3-requests", PY3_ARGS)


# --no-deps + an explicit closed set: pip would evaluate dependency markers with this machine's Python 3
# and pull py3-only packages otherwise.
PY27_ARGS = ["--no-deps", "--only-binary=:all:", "--python-version", "2.7", "--implementation", "cp", "--abi", "none",
             "--platform", "any"] + PY27_VENDOR
PY3_ARGS = ["--no-deps", "--only-binary=:all:", "--python-version", "3.9", "--implementation", "py", "--abi", "none",
            "--platform", "any"] + PY3_VENDOR


def cache_folder(cache: str, name: str, args: Sequence[str]) -> str:
    """Where a wheel set is cached: its name carries a digest of the request, so changed pins never
    reuse an old set."""
    return os.path.join(cache, "%s-%s" % (name, hashlib.sha256(" ".join(args).encode()).hexdigest()[:10]))


def unpack_wheels(wheel_dir: str, target: str) -> list[str]:
    """Unzip every wheel of ``wheel_dir`` into ``target`` (a wheel is a zip of its importable files);
    returns the wheels' "name-version"s."""
    wheels = sorted(glob.glob(os.path.join(wheel_dir, "*.whl")))
    if not wheels:
        raise Failure("no wheels in %s" % wheel_dir)
    os.makedirs(target, exist_ok=True)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(target)
    return ["-".join(os.path.basename(w).split("-")[:2]) for w in wheels]


def extra_requirements(name: str) -> list[str]:
    """The requirements of pyproject.toml's install extra ``name`` (the engine's pins live there). An
    extra that names this project's own extras (``cli`` is ``smart-beauty-gimp[server,engine]`` + tqdm)
    gets theirs, each requirement once."""
    with open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    named = re.search(r'^name = "([^"]+)"', text, re.M)
    if named is None:
        raise SystemExit("install.py: pyproject.toml has no project name")
    project = named.group(1)
    section = text[text.index("[project.optional-dependencies]"):]
    m = re.search(r"^%s = \[(.*?)^\]" % re.escape(name), section, re.S | re.M)
    if not m:
        raise Failure("pyproject.toml has no install extra %r" % name)
    body = "\n".join(line.split("#", 1)[0] for line in m.group(1).splitlines())
    requirements = []
    for requirement in re.findall(r'"([^"]+)"', body):
        own = re.match(r"%s\[([^\]]+)\]$" % re.escape(project), requirement)
        if own:
            for extra in own.group(1).split(","):
                requirements.extend(extra_requirements(extra.strip()))
        else:
            requirements.append(requirement)
    return list(dict.fromkeys(requirements))


# ---------------------------------------------------------------- profiles

class Installer:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], platform: str) -> None:
        self.args, self.env, self.platform = args, env, platform
        self.report = Report(args.dry_run)
        self.wheels = Wheels(args.wheel_cache or wheel_cache(env, platform), env, self.report)
        self.profiles: list[Profile] = []

    # -- finding
    def profile_version(self, folder: str) -> str:
        """From the folder's name, else its gimprc / pluginrc, else --gimp-version."""
        v = norm_version(os.path.basename(folder.rstrip("/\\")))
        gimprc = os.path.join(folder, "gimprc")
        if not v and os.path.isfile(gimprc):
            with open(gimprc, encoding="utf-8", errors="replace") as f:
                text = f.read()
            m = re.search(r'^\(config-version "([0-9.]*)"\)', text, re.M)
            v = norm_version(m.group(1)) if m else ""
            if not v and "/gimp/2.0/gimprc" in text:
                v = "2.10"
            if not v and "/gimp/3.0/gimprc" in text:
                v = "3.0"
        pluginrc = os.path.join(folder, "pluginrc")
        if not v and os.path.isfile(pluginrc):
            with open(pluginrc, encoding="utf-8", errors="replace") as f:
                m = re.search(r"^\(protocol-version (\d+)\)", f.read(), re.M)
            if m:   # GIMP 2.10 writes (protocol-version 26), GIMP 3.0 (protocol-version 277)
                v = "2.10" if int(m.group(1)) < 256 else "3.0"
        if not v and self.args.gimp_version:
            v = norm_version(self.args.gimp_version)
        return v

    def add(self, folder: str, version: str, origin: str) -> None:
        real = os.path.realpath(folder)
        if all(os.path.realpath(p.path) != real for p in self.profiles):
            self.profiles.append(Profile(version, folder if not os.path.isdir(folder) else real, origin))

    def scan(self, base: str, origin: str) -> None:
        if not os.path.isdir(base):
            return
        for name in sorted(os.listdir(base)):
            folder = os.path.join(base, name)
            if not os.path.isdir(folder):
                continue
            version = norm_version(name)
            if not version:
                self.report.skip("%s: GIMP %s is not supported (2.10 and 3.x are)" % (folder, name), quiet=True)
                continue
            self.add(folder, version, origin)

    def find_profiles(self) -> None:
        if self.args.gimp_dir:
            for folder in self.args.gimp_dir:
                version = self.profile_version(folder)
                if not version:
                    raise Failure("cannot tell the GIMP version of %s (name it 2.10, 3.0, 3.2... "
                                  "or pass --gimp-version)" % folder)
                if not os.path.isdir(folder):
                    if self.args.dry_run:
                        self.report.say("would create %s" % folder)
                    else:
                        os.makedirs(folder)
                self.add(folder, version, "--gimp-dir")
            return
        if self.env.get("GIMP3_DIRECTORY"):
            version = self.profile_version(self.env["GIMP3_DIRECTORY"])
            self.add(self.env["GIMP3_DIRECTORY"], version if version.startswith("3") else "3.0", "$GIMP3_DIRECTORY")
        if self.env.get("GIMP2_DIRECTORY"):
            self.add(self.env["GIMP2_DIRECTORY"], "2.10", "$GIMP2_DIRECTORY")
        for base, origin in gimp_bases(self.env, self.platform):
            self.scan(base, origin)
        if not self.args.uninstall and self.platform.startswith("linux"):
            self.find_unstarted_gimps()

    def find_unstarted_gimps(self) -> None:
        """A system GIMP on PATH whose profile does not exist yet (never started): prepare
        ``~/.config/GIMP/<ver>`` so the plug-in is there on the first start."""
        settings = core_settings()
        cfg = os.path.join(self.env.get("XDG_CONFIG_HOME") or os.path.join(settings.home_dir(self.env), ".config"),
                           "GIMP")
        seen = set()
        for binary in GIMP3_BINARIES + ("gimp-2.10", "gimp-console-2.10", "gimp"):
            exe = shutil.which(binary, path=self.env.get("PATH"))
            if not exe:
                continue
            try:
                out = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, timeout=60).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            m = re.search(r"version (\d[\d.]*)", out)
            version = norm_version(m.group(1)) if m else ""
            if not version or version in seen:
                continue
            seen.add(version)
            folder = os.path.join(cfg, version)
            if os.path.isdir(folder):
                continue
            self.report.say("GIMP %s is installed (%s) but has never been started: preparing %s"
                            % (version, binary, folder))
            if not self.args.dry_run:
                os.makedirs(folder)
            self.add(folder, version, "Linux (new)")

    # -- installing
    def gimp3_has_requests(self, origin: str) -> bool:
        """Does the Python that runs this GIMP 3 plug-in already have requests?"""
        if self.args.vendor != "auto":
            return self.args.vendor == "never"
        if origin not in ("Linux", "Linux (new)", "$GIMP3_DIRECTORY"):
            return False        # Flatpak, Snap, Windows, macOS: GIMP's own Python, no requests
        if not any(shutil.which(b, path=self.env.get("PATH")) for b in GIMP3_BINARIES):
            return False
        # GIMP 3 runs Python plug-ins with `#!/usr/bin/env python3`
        python3 = shutil.which("python3", path=self.env.get("PATH"))
        return python3 is not None and subprocess.run([python3, "-c", "import requests"], stdout=subprocess.DEVNULL,
                                                      stderr=subprocess.DEVNULL).returncode == 0

    def ensure_profile_dirs(self, folder: str) -> None:
        missing = [d for d in PROFILE_DIRS if not os.path.isdir(os.path.join(folder, d))]
        if not missing:
            return
        if self.args.dry_run:
            self.report.say("  would create profile folders: %s" % " ".join(missing))
            return
        for d in missing:
            os.makedirs(os.path.join(folder, d), exist_ok=True)
        self.report.did("created GIMP profile folders in %s: %s" % (folder, " ".join(missing)))

    def install_into(self, profile: Profile) -> None:
        say, did, skip = self.report.say, self.report.did, self.report.skip
        name, src, host = ("smart_beauty", SRC2, HOST2) if profile.version == "2.10" else ("smart-beauty", SRC3, HOST3)
        plugins = os.path.join(profile.path, "plug-ins")
        dest = os.path.join(plugins, name)
        say("GIMP %s profile (%s): %s" % (profile.version, profile.origin, profile.path))
        self.ensure_profile_dirs(profile.path)
        for old in ("smart_beauty.py", "smart-beauty.py"):
            if os.path.exists(os.path.join(plugins, old)):
                say("  note: %s (an older manual install?) has the same name and may shadow the new plug-in; "
                    "remove it" % os.path.join(plugins, old))
        vendor_py3 = profile.version != "2.10" and not self.gimp3_has_requests(profile.origin)
        if self.args.dry_run:
            say("  would install %s (executable), %s, %s" % (os.path.join(dest, name + ".py"),
                                                              os.path.join(dest, os.path.basename(host)),
                                                              os.path.join(dest, "lib", "smart_beauty")))
            if profile.version == "2.10":
                say("  would vendor into %s: %s" % (os.path.join(dest, "vendor"), " ".join(PY27_VENDOR)))
            elif vendor_py3:
                say("  would vendor a current requests into %s" % os.path.join(dest, "vendor"))
            else:
                say("  would not vendor requests (GIMP's Python 3 has it)")
            if os.path.exists(dest):
                say("  would replace the existing %s" % dest)
            return
        # stage next to the target, then swap: never a half-installed plug-in
        os.makedirs(plugins, exist_ok=True)
        stage = tempfile.mkdtemp(prefix=".%s.new." % name, dir=plugins)
        try:
            shutil.copyfile(src, os.path.join(stage, name + ".py"))
            os.chmod(os.path.join(stage, name + ".py"), 0o755)
            shutil.copyfile(host, os.path.join(stage, os.path.basename(host)))   # a module: not executable
            os.chmod(os.path.join(stage, os.path.basename(host)), 0o644)
            copy_packages(os.path.join(stage, "lib"), ["smart_beauty"])
            if profile.version == "2.10":
                unpack_wheels(self.wheels.py27(), os.path.join(stage, "vendor"))
                did("vendored for Python 2.7: %s" % " ".join(PY27_VENDOR))
            elif vendor_py3:
                got = unpack_wheels(self.wheels.py3(), os.path.join(stage, "vendor"))
                did("vendored for Python 3: %s" % " ".join(got))
            else:
                skip("vendor/ for %s (GIMP's Python 3 already has requests)" % profile.path)
            with open(os.path.join(stage, "INSTALLED.txt"), "w", encoding="utf-8") as f:
                f.write("source=%s\ninstalled=%s\ncommit=%s\ngimp=%s\n" % (
                    REPO, datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    git_commit(), profile.version))
            os.chmod(stage, 0o755)
            if os.path.exists(dest):
                old = tempfile.mkdtemp(prefix=".%s.old." % name, dir=plugins)
                os.replace(dest, os.path.join(old, name))
                os.replace(stage, dest)
                shutil.rmtree(old, ignore_errors=True)
                did("upgraded %s" % os.path.join(dest, name + ".py"))
            else:
                os.replace(stage, dest)
                did("installed %s" % os.path.join(dest, name + ".py"))
        finally:
            shutil.rmtree(stage, ignore_errors=True)

    def uninstall_from(self, profile: Profile) -> None:
        self.report.say("GIMP %s profile (%s): %s" % (profile.version, profile.origin, profile.path))
        plugins = os.path.join(profile.path, "plug-ins")
        found = [os.path.join(plugins, n) for n in ("smart-beauty", "smart_beauty")]
        for pattern in (".smart-beauty.*", ".smart_beauty.*"):      # staging left by an interrupted install
            found += glob.glob(os.path.join(plugins, pattern))
        found = [p for p in found if os.path.exists(p)]
        for p in found:
            if self.args.dry_run:
                self.report.say("  would remove %s" % p)
            else:
                shutil.rmtree(p)
                self.report.did("removed %s" % p)
        if not found:
            self.report.skip("%s: Smart Beauty is not installed there" % profile.path)

    # -- the command-line tool
    def setup_cli(self) -> dict[str, str] | None:
        say, did = self.report.say, self.report.did
        venv = os.path.join(REPO, ".venv")
        layout = core_settings().venv_layout(venv, self.platform)
        say("Command-line tool:")
        if self.args.dry_run:
            say("  would create/update %s (python -m venv), pip install -e %s[cli]" % (venv, REPO))
            if not self.platform.startswith("win"):
                say("  would link %s" % os.path.join(self.bin_dir(), "smart-beauty"))
            return None
        python = engine_python(self.env, self.platform) if self.args.with_engine else base_python(self.env)
        if not os.path.isfile(layout["python"]):
            if subprocess.run([python, "-m", "venv", venv]).returncode != 0 or not os.path.isfile(layout["python"]):
                raise Failure("%s -m venv failed (Debian/Ubuntu: sudo apt install python3-venv)" % python)
            did("created %s (Python %s)" % (venv, "%d.%d" % (python_version(layout["python"]) or (0, 0))))
        if self.args.with_engine:
            version = python_version(layout["python"])
            if not version or version < ENGINE_MIN:
                raise Failure("%s uses Python %s, which the offline engine cannot use (it needs 3.9 or newer); "
                              "remove %s and run %s --with-engine again"
                              % (venv, "%d.%d" % version if version else "(not runnable)", venv, self.command()))
        editable_pip(layout["python"], self.report)
        pip = [layout["python"], "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", REPO + "[cli]"]
        if subprocess.run(pip).returncode != 0:
            raise Failure("pip install -e %s[cli] failed" % REPO)
        did("pip install -e %s[cli] into %s" % (REPO, venv))
        if self.platform.startswith("win"):
            say("  the command is %s (run it by that path, or add %s to your PATH)" % (layout["cli"], layout["bin"]))
        else:
            self.link_cli(layout["cli"])
        path = record_engine(self.env, self.platform, host={"python": layout["python"], "made_by": PROG})
        did("recorded %s in %s (the plug-ins start the offline engine with it)" % (layout["python"], path))
        return layout

    def bin_dir(self) -> str:
        return os.path.join(core_settings().home_dir(self.env, self.platform), ".local", "bin")

    def command(self) -> str:
        """How the user runs this installer here."""
        if self.platform.startswith("win"):
            return "py install.py"
        return "./install.sh" if PROG == "install.sh" else "python3 install.py"

    def link_cli(self, cli: str) -> None:
        link = os.path.join(self.bin_dir(), "smart-beauty")
        os.makedirs(self.bin_dir(), exist_ok=True)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(cli, link)
        self.report.did("linked %s -> %s" % (link, cli))
        if self.bin_dir() not in (self.env.get("PATH") or "").split(os.pathsep):
            self.report.say("  note: %s is not on your PATH; add it (e.g. in ~/.profile: "
                            'export PATH="$HOME/.local/bin:$PATH")' % self.bin_dir())

    def remove_cli(self) -> None:
        say = self.report.say
        link = os.path.join(self.bin_dir(), "smart-beauty")
        if not os.path.islink(link):
            self.report.skip("%s: not present" % link)
        elif not os.readlink(link).startswith(REPO + os.sep):
            self.report.skip("%s points to %s (not this checkout), left alone" % (link, os.readlink(link)))
        elif self.args.dry_run:
            say("  would remove %s" % link)
        else:
            os.remove(link)
            self.report.did("removed %s" % link)
        settings = core_settings()
        folder = settings.config_dir(self.env, self.platform)
        for name in ("engine.json", "cli-path"):
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                continue
            if name == "engine.json":
                recorded = (settings.read_json(path).get("host") or {}).get("python") or ""
            else:
                with open(path, encoding="utf-8") as f:
                    recorded = f.read().strip()
            if recorded.startswith(REPO + os.sep):      # what this checkout recorded, nothing else
                if self.args.dry_run:
                    say("  would remove %s" % path)
                else:
                    os.remove(path)
                    self.report.did("removed %s" % path)
        flatpak_engine = os.path.join(self.flatpak_data_dir(), "flatpak-engine")
        if os.path.isdir(flatpak_engine):
            if self.args.dry_run:
                say("  would remove %s" % flatpak_engine)
            else:
                shutil.rmtree(flatpak_engine)
                self.report.did("removed %s (the engine for the Flatpak GIMP)" % flatpak_engine)
        say("  note: %s and your saved settings (API key) are left in place" % os.path.join(REPO, ".venv"))

    def flatpak_data_dir(self) -> str:
        """Where the engine for the Flatpak GIMP goes: the host's ~/.local/share/smart-beauty (the sandbox
        sees it at the same path through --filesystem=host)."""
        home = core_settings().home_dir(self.env, self.platform)
        return self.env.get("SB_FLATPAK_ENGINE_DIR") or os.path.join(home, ".local", "share", "smart-beauty")

    # -- the offline engine
    def setup_engine(self, layout: dict[str, str] | None) -> None:
        say = self.report.say
        say("Offline engine:")
        if self.args.dry_run:
            say("  would run: pip install -e %s[engine] (OpenCV contrib headless, numpy)" % REPO)
            return
        if layout is None:
            layout = core_settings().venv_layout(os.path.join(REPO, ".venv"), self.platform)
            if not os.path.isfile(layout["python"]):
                raise Failure("--with-engine --no-cli: there is no %s to install the engine into; run %s "
                              "--with-engine" % (layout["python"], self.command()))
        install_engine(layout["python"], self.report)

    def setup_flatpak_engine(self) -> None:
        """The engine again, for the Flatpak GIMP: see install_flatpak_engine."""
        say = self.report.say
        say("Offline engine for the Flatpak GIMP (its sandbox cannot run the venv above):")
        version = self.args.flatpak_python or flatpak_python_version(self.env)
        if not version:
            version = "3.13"
            say("  could not ask the Flatpak runtime for its Python version (no 'flatpak' command); assuming "
                "3.13 (GNOME 49/50); --flatpak-python X.Y names another")
        target = os.path.join(self.flatpak_data_dir(), "flatpak-engine", "python" + version)
        if self.args.dry_run:
            say("  would download the engine's wheels for CPython %s (manylinux) and unpack them into %s"
                % (version, target))
            return
        install_flatpak_engine(version, target, self.wheels, self.report)
        path = record_engine(self.env, self.platform, flatpak={
            "python": FLATPAK_PYTHON, "python_version": version, "path": target, "made_by": PROG})
        self.report.did("recorded it in %s (the plug-in in the Flatpak GIMP starts %s with it)"
                        % (path, FLATPAK_PYTHON))

    # -- main
    def run(self) -> int:
        say, args = self.report.say, self.args
        check_native_python(self.platform)
        if not os.path.isdir(os.path.join(LIB, "smart_beauty")):
            raise Failure("%s is missing: run the installer from a complete Smart Beauty checkout"
                          % os.path.join(LIB, "smart_beauty"))
        if args.dry_run:
            say("(dry run: nothing will be changed)")
        self.find_profiles()
        if args.uninstall:
            for profile in self.profiles:
                self.uninstall_from(profile)
            if args.cli:
                say("Command-line tool:")
                self.remove_cli()
        else:
            # check every source we are about to need before touching any profile
            for profile in self.profiles:
                for src in (SRC2, HOST2) if profile.version == "2.10" else (SRC3, HOST3):
                    if not os.path.isfile(src):
                        raise Failure("the GIMP %s plug-in %s is missing from this checkout" % (
                            "2.10" if profile.version == "2.10" else "3",
                            os.path.relpath(src, REPO).replace(os.sep, "/")))
            for profile in self.profiles:
                self.install_into(profile)
            layout = self.setup_cli() if args.cli else None
            if args.with_engine:
                self.setup_engine(layout)
                flatpak = any(p.origin == "Flatpak" for p in self.profiles) or flatpak_gimp_installed(
                    self.env, self.platform)
                if args.flatpak_engine == "always" or (args.flatpak_engine == "auto" and flatpak):
                    self.setup_flatpak_engine()
        say("")
        if not self.profiles:
            say("No GIMP 2.10 or 3.x profile found. Start GIMP once (it creates its profile folder) and run")
            say("%s again, or name the folder: %s --gimp-dir %s" % (
                self.command(), self.command(), example_profile(self.platform)))
        used = ", ".join("GIMP %s (%s)" % (p.version, p.origin) for p in self.profiles) or "none"
        say("Summary: %d done, %d skipped; profiles used: %s." % (len(self.report.done), len(self.report.skipped),
                                                                   used))
        for s in self.report.skipped:
            say("  skipped: " + s)
        if not args.uninstall and self.profiles and not args.dry_run:
            say("Restart GIMP, then use Filters > Enhance > Smart Beauty... "
                "(set your key in Smart Beauty Settings...).")
            say("If anything is missing: Filters > Enhance > Smart Beauty > Check Setup... or 'smart-beauty doctor'.")
        if not args.with_engine and not args.uninstall:
            if args.cli:    # the command's cli extra includes the engine's: OpenCV came with it
                say("Offline engine: its OpenCV came with the command (the cli extra); add --with-engine to check "
                    "that it loads (Python 3.9+) and, for a Flathub GIMP, to install the sandbox's copy.")
            else:
                say("Offline engine not installed (add --with-engine to install it).")
        return 0 if self.profiles or args.cli else 3


def example_profile(platform: str) -> str:
    if platform.startswith("win"):
        return r"%APPDATA%\GIMP\3.2"
    if platform == "darwin":
        return "~/Library/Application Support/GIMP/3.2"
    return "~/.config/GIMP/3.2"


def copy_packages(target: str, names: Iterable[str]) -> None:
    """Copy packages from lib/ (no caches)."""
    for name in names:
        shutil.copytree(os.path.join(LIB, name), os.path.join(target, name),
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def install_engine(python: str, report: Report) -> None:
    """The engine into the venv of ``python``: ``pip install -e .[engine]``, then its own check."""
    version = python_version(python)
    if not version or version < ENGINE_MIN:
        raise Failure("%s uses Python %s; the offline engine needs Python 3.9 or newer. Make the venv with such a "
                      "Python." % (python, "%d.%d" % version if version else "(not runnable)"), code=3)
    editable_pip(python, report)
    cmd = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", REPO + "[engine]"]
    if subprocess.run(cmd).returncode != 0:
        raise Failure("pip install -e %s[engine] failed" % REPO)
    check = subprocess.run([python, "-c", "from smart_beauty_engine.offline import available; ok, why = available(); "
                            "print(why); raise SystemExit(0 if ok else 1)"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    report.say("  " + check.stdout.strip())
    if check.returncode != 0:
        raise Failure("the offline engine was installed but does not work here: %s" % check.stdout.strip())
    report.did("offline engine installed into %s" % os.path.dirname(os.path.dirname(python)))


def flatpak_python_version(env: dict[str, str]) -> str | None:
    """The Flatpak GIMP's Python version, asked from the runtime itself (``flatpak run``), or None."""
    flatpak = shutil.which("flatpak", path=env.get("PATH"))
    if not flatpak:
        return None
    try:
        out = subprocess.run([flatpak, "run", "--command=python3", FLATPAK_APP, "-c", PROBE],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and re.match(r"^3\.\d+$", out.stdout.strip()) else None


def install_flatpak_engine(version: str, target: str, wheels: Wheels, report: Report) -> None:
    """The offline engine for the Flatpak GIMP's own Python.

    Inside Flathub's sandbox ``/usr`` is the GNOME runtime's, so the host venv's interpreter (a link into
    the host's ``/usr``) cannot start; ``--filesystem=host`` still shows the host's files at the same
    paths. So: the engine's wheels (OpenCV's abi3 build, numpy, Pillow, ... for CPython ``version``,
    manylinux for this machine) are downloaded and unpacked into ``target``, with our three packages
    beside them; the plug-in starts the runtime's ``/usr/bin/python3 -m smart_beauty_cli.cli serve``
    with ``target`` on PYTHONPATH."""
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform_mod.machine().lower(), platform_mod.machine())
    tag = version.replace(".", "")
    requirements = sorted(set(extra_requirements("cli") + PY3_VENDOR))   # the cli extra holds the engine's
    args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", version, "--abi", "cp" + tag,
            "--abi", "abi3", "--abi", "none"]
    for plat in ("manylinux_2_28", "manylinux_2_17", "manylinux2014"):
        args += ["--platform", "%s_%s" % (plat, machine)]
    wheel_dir = wheels.fetch("flatpak-engine-cp%s-%s" % (tag, machine), args + requirements)
    stage = target + ".part"
    shutil.rmtree(stage, ignore_errors=True)
    got = unpack_wheels(wheel_dir, stage)
    copy_packages(stage, ["smart_beauty", "smart_beauty_cli", "smart_beauty_server", "smart_beauty_engine"])
    with open(os.path.join(stage, "INSTALLED.txt"), "w", encoding="utf-8") as f:
        f.write("source=%s\ncommit=%s\npython=%s\n" % (REPO, git_commit(), version))
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(stage, target)
    report.did("unpacked for the Flatpak runtime's Python %s into %s: %s" % (version, target, " ".join(got)))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Installs Smart Beauty into every GIMP 2.10 and 3.x user profile found:\n"
                    "  Linux    ~/.config/GIMP/<ver>  ($XDG_CONFIG_HOME/GIMP/<ver>)\n"
                    "  Flatpak  ~/.var/app/org.gimp.GIMP/config/GIMP/<ver>\n"
                    "  Snap     ~/snap/gimp/current/.config/GIMP/<ver>\n"
                    "  Windows  %APPDATA%\\GIMP\\<ver>\n"
                    "  macOS    ~/Library/Application Support/GIMP/<ver>\n"
                    "  and the folders named by $GIMP3_DIRECTORY / $GIMP2_DIRECTORY.\n"
                    "GIMP 3.x:  <profile>/plug-ins/smart-beauty/smart-beauty.py + smart_beauty_gimp3.py + lib/ "
                    "(+ vendor/ with requests)\n"
                    "GIMP 2.10: <profile>/plug-ins/smart_beauty/smart_beauty.py + smart_beauty_gimp2.py + lib/ + "
                    "vendor/ (py2.7 requests)\n"
                    "It also sets up the smart-beauty command: a venv in <checkout>/.venv with pip install -e .[cli]\n"
                    "(linked as ~/.local/bin/smart-beauty on Linux and macOS).",
        epilog="Environment: SB_PYTHON (the Python 3.8+ with pip to make the venv with), SB_WHEEL_CACHE, "
               "GIMP3_DIRECTORY, GIMP2_DIRECTORY, SMART_BEAUTY_CONFIG_DIR.")
    ap.add_argument("--gimp-dir", action="append", default=[], metavar="DIR",
                    help="install into exactly this GIMP profile folder (the one holding plug-ins/, e.g. "
                         "~/.config/GIMP/3.0); may be given more than once")
    ap.add_argument("--gimp-version", metavar="VER",
                    help="GIMP version for --gimp-dir when it cannot be told from the folder (2.10, 3.0, 3.2, ...)")
    ap.add_argument("--vendor", choices=("auto", "always", "never"), default="auto",
                    help="GIMP 3 only: vendor requests unless GIMP's Python has it (auto), always, never. "
                         "GIMP 2.10 always gets the pinned py2.7 set.")
    ap.add_argument("--wheel-cache", metavar="DIR", help="where downloaded wheels are kept "
                    "(default ~/.cache/smart-beauty/wheels)")
    ap.add_argument("--no-cli", dest="cli", action="store_false",
                    help="do not set up the smart-beauty command (venv + ~/.local/bin link)")
    ap.add_argument("--with-engine", action="store_true", help="also install the offline engine (OpenCV, numpy)")
    ap.add_argument("--no-engine", dest="with_engine", action="store_false",
                    help="do not install the offline engine (default)")
    ap.add_argument("--flatpak-engine", choices=("auto", "always", "never"), default="auto",
                    help="with --with-engine: also install the engine for the Flatpak GIMP's own Python "
                         "(auto: when a Flatpak GIMP is found)")
    ap.add_argument("--flatpak-python", metavar="X.Y",
                    help="the Flatpak runtime's Python version (default: asked with 'flatpak run')")
    ap.add_argument("--engine-into", metavar="VENV", help=argparse.SUPPRESS)   # scripts/install-engine.sh
    ap.add_argument("--dry-run", "-n", action="store_true", help="print what would be done; change nothing")
    ap.add_argument("--uninstall", action="store_true",
                    help="remove Smart Beauty from every profile found (and the ~/.local/bin link)")
    args = ap.parse_args(argv)
    if args.gimp_version and not norm_version(args.gimp_version):
        ap.error("unsupported --gimp-version '%s' (use 2.10 or 3.x, e.g. 3.2)" % args.gimp_version)
    if args.flatpak_python and not re.match(r"^3\.\d+$", args.flatpak_python):
        ap.error("--flatpak-python takes a version such as 3.13")
    return args


def main(argv: Sequence[str] | None = None, env: dict[str, str] | None = None,
         platform: str | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ if env is None else env)
    platform = sys.platform if platform is None else platform
    try:
        if args.engine_into:
            python = core_settings().venv_layout(args.engine_into, platform)["python"]
            if not os.path.isfile(python):
                raise Failure("no Python in %s (create the venv first: python3 -m venv %s)"
                              % (args.engine_into, args.engine_into), code=2)
            install_engine(python, Report(False))
            return 0
        return Installer(args, env, platform).run()
    except Failure as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr, flush=True)
        return e.code


if __name__ == "__main__":
    sys.exit(main())
