"""Build/reuse the real-host chroots (tests/hosts/*-root.sh) and run commands inside them.

Python 3 only (runs on the host). Used by tests/hosts/conftest.py; also a small CLI:

    python3 tests/hosts/hosts.py build gimp3|gimp32|gimp3x|gimp210|py27
    python3 tests/hosts/hosts.py run [--bind HOST:GUEST[:ro]]... [--env K=V]... [--cwd DIR] gimp210 -- cmd args...

(the options come before the root's name: everything after it is the command)

Every run: `chroot ROOT env -i <only the variables given> timeout ...`, bind mounts made for that
run and ALWAYS unmounted afterwards (also on timeout/KeyboardInterrupt).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
HOSTS_DIR = Path(os.environ.get("SB_HOSTS_DIR", "/var/cache/smart-beauty-hosts"))
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

BUILDERS = {
    "gimp3": ["sh", str(HERE / "gimp3-root.sh")],
    # GIMP 3.2.x from Debian sid, built the way gimp3 is
    "gimp32": ["sh", str(HERE / "gimp32-root.sh")],
    # gimp3 + Debian's numpy/Pillow/werkzeug (the local server) + Xvfb/xdotool/imagemagick (screenshots)
    "gimp3x": ["sh", str(HERE / "gimp3-plus-root.sh"), "gimp3x"],
    # gimp3 + python3-venv/python3-pip: README's commands on a fresh Debian 13, the real offline engine
    "d13": ["sh", str(HERE / "gimp3-plus-root.sh"), "d13"],
    "gimp210": ["sh", str(HERE / "bullseye-root.sh"), "gimp210"],
    "py27": ["sh", str(HERE / "bullseye-root.sh"), "py27"],
}
WHEEL_CACHE = REPO / "tests" / "hosts" / "cache" / "wheels"   # pip downloads of install.sh, kept between runs
TIMES: list = []  # (what, seconds), printed in the pytest summary by conftest.py
# seconds, per root; a cold gimp210 build takes ~2-5 min, gimp3 ~1 min, gimp32 ~1.5-3 min
BUILD_TIMEOUT = int(os.environ.get("SB_HOSTS_BUILD_TIMEOUT", "1800"))
# The real GIMPs every GIMP test runs on: root name -> GIMP version (tests parametrise over these).
GIMPS = {"gimp3": "3.0", "gimp32": "3.2", "gimp210": "2.10"}


SKIPPED: list = []  # (tier, reason), printed LOUDLY in the pytest summary
REQUIRED = bool(os.environ.get("CI")) or os.environ.get("SB_REQUIRE_HOSTS") == "1"


# For GIMP 3 batch programs (python-fu-eval): save one layer alone, at its own size, as a PNG.
GIMP3_EXPORT_LAYER = r'''
def export_layer(l, path):
    tmp = Gimp.Image.new(l.get_width(), l.get_height(), Gimp.ImageBaseType.RGB)
    cp = Gimp.Layer.new_from_drawable(l, tmp)
    tmp.insert_layer(cp, None, 0)
    cp.set_offsets(0, 0)
    ok = Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, tmp, Gio.File.new_for_path(path), None)
    tmp.delete()
    return ok
'''

# The same for GIMP 2.10 (Python-Fu): PNG export saves the given drawable alone.
GIMP2_EXPORT_LAYER = r'''
def export_layer(l, path):
    pdb.file_png_save2(l.image, l, path, path, 0, 9, 0, 0, 0, 0, 0, 0, 0)
'''


def load_installer(path: Path = REPO / "install.py"):
    """The installer module (install.py at the checkout's root), for its pins and its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sb_install", str(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record_time(what: str, seconds: float) -> None:
    TIMES.append((what, seconds))


def not_available(tier: str, reason: str) -> None:
    """Skip loudly, or fail when the real hosts are required (CI / SB_REQUIRE_HOSTS=1)."""
    import pytest

    SKIPPED.append((tier, reason))
    msg = "REAL-HOST TIER %s NOT RUN: %s" % (tier, reason)
    if REQUIRED:
        pytest.fail(msg + " (CI/SB_REQUIRE_HOSTS=1 requires it)", pytrace=False)
    pytest.skip(msg)


class HostUnavailable(Exception):
    """This machine cannot build/run the real-host chroots (not root, not Debian, ...)."""


def unavailable_reason() -> str | None:
    """Why the real hosts cannot run here, or None if they can (cheap checks only).

    SB_HOSTS_DISABLE=<reason> declares them unavailable on purpose (still reported loudly, and
    still a failure under CI / SB_REQUIRE_HOSTS=1).
    """
    if os.environ.get("SB_HOSTS_DISABLE"):
        return "disabled by SB_HOSTS_DISABLE=%s" % os.environ["SB_HOSTS_DISABLE"]
    if sys.platform != "linux":
        return "real-host tiers need Linux (found %s)" % sys.platform
    if os.geteuid() != 0:
        return "real-host tiers need root (debootstrap, chroot, bind mounts)"
    if not shutil.which("chroot"):
        return "chroot(8) not found"
    if not shutil.which("debootstrap") and not shutil.which("apt-get"):
        return "neither debootstrap nor apt-get found (not a Debian host)"
    if not (Path("/etc/apt/sources.list.d/debian.sources").exists() or Path("/etc/apt/sources.list").exists()
            or os.environ.get("SB_DEBIAN_MIRROR")):
        return "no Debian archive configured in /etc/apt (set SB_DEBIAN_MIRROR)"
    return None


def _mounts() -> list[str]:
    with open("/proc/mounts") as f:
        return [line.split()[1].replace("\\040", " ") for line in f]


def mounted_below(path: Path) -> list[str]:
    p = str(path)
    return [m for m in _mounts() if m == p or m.startswith(p + "/")]


def build(name: str, force: bool = False, log=None, timeout: float | None = None) -> tuple[Path, float]:
    """Build or reuse root `name`; returns (root path, seconds spent).

    The builder's progress lines (stderr) go to `log` (anything with .write) as they come. A build
    that takes longer than `timeout` (default BUILD_TIMEOUT, env SB_HOSTS_BUILD_TIMEOUT) is stopped
    (SIGTERM to its process group, so the script's trap unmounts, then SIGKILL) and raises."""
    why = unavailable_reason()
    if why:
        raise HostUnavailable(why)
    limit = BUILD_TIMEOUT if timeout is None else timeout
    argv = list(BUILDERS[name]) + (["--force"] if force else [])
    env = dict(os.environ, SB_HOSTS_DIR=str(HOSTS_DIR), SB_PYTHON3=os.environ.get("SB_PYTHON3", sys.executable))
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: queue.Queue = queue.Queue()
    err: list = []

    def pump():
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        while True:
            try:
                line = lines.get(timeout=max(0.1, min(1.0, t0 + limit - time.monotonic())))
            except queue.Empty:
                if time.monotonic() - t0 > limit:
                    raise subprocess.TimeoutExpired(argv, limit) from None
                continue
            if line is None:
                break
            err.append(line)
            if log is not None:
                log.write(line)
        out = proc.stdout.read()
        proc.wait()
    except BaseException as e:
        _stop_group(proc)
        if isinstance(e, subprocess.TimeoutExpired):
            raise RuntimeError("building the %s root took longer than %d s (SB_HOSTS_BUILD_TIMEOUT) and was "
                               "stopped; its last lines:\n%s" % (name, limit, "".join(err[-20:]))) from None
        raise
    secs = time.monotonic() - t0
    stderr = "".join(err)
    if proc.returncode != 0:
        raise RuntimeError("building the %s root failed (rc=%d):\n%s" % (name, proc.returncode, stderr[-4000:]))
    root = Path(out.strip().splitlines()[-1]) if out.strip() else None
    if root is None or not root.is_dir():
        raise RuntimeError("builder for %s printed no root: %r" % (name, out))
    return root, secs


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM the builder's process group (its trap unmounts what it mounted), SIGKILL after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class Bind:
    host: Path
    guest: str  # absolute path inside the root, e.g. /sb/work
    ro: bool = False


@dataclass
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def check(self) -> Result:
        if self.returncode != 0:
            raise AssertionError("command failed rc=%d%s: %s\n--- stdout\n%s\n--- stderr\n%s" % (
                self.returncode, " (TIMEOUT)" if self.timed_out else "", " ".join(self.argv),
                self.stdout[-6000:], self.stderr[-6000:]))
        return self


@dataclass
class Host:
    """A built chroot. `run()` executes a command in it with a scrubbed environment."""

    name: str
    root: Path
    build_seconds: float = 0.0
    base_env: dict = field(default_factory=dict)

    def guest(self, guest_path: str) -> Path:
        """Host-side path of a path inside the root."""
        return self.root / guest_path.lstrip("/")

    @contextlib.contextmanager
    def _runlock(self):
        # one run at a time per root: the /sb/* mount points are shared
        lock = open(self.root.parent / (".%s.run.lock" % self.root.name), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            lock.close()

    @contextlib.contextmanager
    def mounted(self, binds: list[Bind]):
        done: list[Path] = []
        try:
            for b in binds:
                target = self.guest(b.guest)
                if mounted_below(target):
                    raise RuntimeError("%s is already mounted (a previous run leaked?)" % target)
                target.mkdir(parents=True, exist_ok=True)
                subprocess.run(["mount", "--bind", str(b.host), str(target)], check=True)
                done.append(target)
                if b.ro:
                    subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)
            yield
        finally:
            for target in reversed(done):
                if subprocess.run(["umount", str(target)]).returncode != 0:
                    subprocess.run(["umount", "-l", str(target)])
            left = [m for t in done for m in mounted_below(t)]
            if left:
                raise RuntimeError("could not unmount %s" % left)

    def run(self, cmd, *, binds=(), env=None, cwd="/", timeout=300.0, input=None) -> Result:
        """Run `cmd` (list, or a str for `sh -c`) inside the root as root.

        Only `env` (+ PATH/HOME/LANG and the host's base_env) reaches the command.
        """
        if isinstance(cmd, str):
            cmd = ["sh", "-c", cmd]
        e = {"PATH": CHROOT_PATH, "HOME": "/root", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
             "PIP_NO_PYTHON_VERSION_WARNING": "1"}
        e.update(self.base_env)
        e.update(env or {})
        inner = ["env", "-i"] + ["%s=%s" % kv for kv in e.items()] + [
            "sh", "-c", 'cd "$0" && exec timeout -k 10 %d "$@"' % int(timeout), cwd] + list(cmd)
        argv = ["chroot", str(self.root)] + inner
        t0 = time.monotonic()
        with self._runlock(), self.mounted([b if isinstance(b, Bind) else Bind(*b) for b in binds]):
            p = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 start_new_session=True)
            timed_out = False
            try:
                out, err = p.communicate(input=input, timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                out, err = p.communicate()
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
        rc = p.returncode
        if rc == 124:
            timed_out = True
        return Result(cmd, rc, out, err, time.monotonic() - t0, timed_out)


class GimpHost(Host):
    """A root with a real GIMP: throw-away profiles and python-fu-eval batch runs."""

    version = ""          # "3.0" / "3.2" / "2.10"
    major = 0             # 3 / 2: which plug-in API (and which adapter) this GIMP runs
    console = ""          # gimp-console-3.0 / gimp-console-3.2 / gimp-console-2.10
    profile_env = ""      # GIMP3_DIRECTORY / GIMP2_DIRECTORY

    def new_profile(self, dest: Path, template: bool = True) -> Path:
        """Create a throw-away GIMP profile at host path `dest` (a copy of the first-run template)."""
        tpl = self.guest("/sb/profile-%s" % self.version)
        if template and tpl.is_dir():
            shutil.copytree(tpl, dest, symlinks=True)
        else:
            dest.mkdir(parents=True)
        return dest

    def install_plugin(self, work: Path, vendor: str = "always") -> Path:
        """A throw-away profile at `work`/profile with our plug-in installed by install.sh, as a user would
        (`--gimp-dir`, this GIMP's version, no CLI; `vendor`: install.sh's --vendor). Returns the profile."""
        prof = self.new_profile(work / "profile")
        t0 = time.monotonic()
        p = subprocess.run(["bash", str(REPO / "install.sh"), "--gimp-dir", str(prof), "--gimp-version",
                            self.version, "--no-cli", "--vendor", vendor],
                           env=dict(os.environ, SB_PYTHON=sys.executable, SB_WHEEL_CACHE=str(WHEEL_CACHE)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("install.sh into %s failed (rc=%d):\n%s" % (prof, p.returncode, p.stdout))
        record_time("install.sh into a GIMP %s profile" % self.version, time.monotonic() - t0)
        return prof

    def batch(self, work: Path, code: str, *, profile: str = "/sb/work/profile", env=None,
              binds=(), timeout=240.0, name="batch.py") -> Result:
        """Run Python `code` in GIMP's python-fu-eval, with host dir `work` at /sb/work (cwd)."""
        (work / name).write_text(code)
        e = {self.profile_env: profile}
        e.update(env or {})
        return self.run(self.batch_argv("/sb/work/" + name), binds=[Bind(work, "/sb/work")] + list(binds),
                        env=e, cwd="/sb/work", timeout=timeout)

    def batch_argv(self, guest_script: str) -> list[str]:
        raise NotImplementedError


class Gimp3Host(GimpHost):
    version = "3.0"
    major = 3
    console = "gimp-console-3.0"
    profile_env = "GIMP3_DIRECTORY"

    def batch_argv(self, guest_script):
        # exit code: 0 on success, 64 when the Python code raises
        return [self.console, "-i", "--batch-interpreter=python-fu-eval",
                "-b", 'exec(open(%r).read())' % guest_script, "--quit"]


class Gimp32Host(Gimp3Host):
    # 3.2 has gimp-console-3.2 / gimp-console-3 / gimp-console, no gimp-console-3.0; profile GIMP/3.2
    version = "3.2"
    console = "gimp-console-3.2"


class Gimp210Host(GimpHost):
    version = "2.10"
    major = 2
    console = "gimp-console-2.10"
    profile_env = "GIMP2_DIRECTORY"

    def batch_argv(self, guest_script):
        # NB: GIMP 2.10's batch exit code is always 0 - check results through files.
        return [self.console, "-i", "--batch-interpreter=python-fu-eval",
                "-b", 'exec(open(%r).read())' % guest_script, "-b", "pdb.gimp_quit(1)"]


class Py27Host(Host):
    def pytest(self, paths, *args, src: Path = REPO, env=None, timeout=600.0) -> Result:
        """Run python2.7 -m pytest (4.6) on the checkout mounted read-only at /sb/src."""
        argv = ["python2.7", "-m", "pytest", "-p", "no:cacheprovider"] + list(args) + list(paths)
        return self.run(argv, binds=[Bind(src, "/sb/src", ro=True)], env=env, cwd="/sb/src", timeout=timeout)


CLASSES = {"gimp3": Gimp3Host, "gimp32": Gimp32Host, "gimp3x": Gimp3Host, "gimp210": Gimp210Host, "py27": Py27Host,
           "d13": Gimp3Host}


def get(name: str, log=None) -> Host:
    root, secs = build(name, log=log)
    return CLASSES[name](name, root, secs)


def du_mib(path: Path) -> int:
    out = subprocess.run(["du", "-sxm", str(path)], stdout=subprocess.PIPE, text=True).stdout
    return int(out.split()[0]) if out else -1


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("name", choices=sorted(BUILDERS))
    b.add_argument("--force", action="store_true")
    r = sub.add_parser("run")
    r.add_argument("name", choices=sorted(BUILDERS))
    r.add_argument("--bind", action="append", default=[], help="HOST:GUEST[:ro]")
    r.add_argument("--env", action="append", default=[], help="K=V passed into the chroot")
    r.add_argument("--cwd", default="/")
    r.add_argument("--timeout", type=float, default=600)
    r.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args(argv)
    if a.cmd == "build":
        root, secs = build(a.name, force=a.force, log=sys.stderr)
        print("%s  (%.1f s, %d MiB)" % (root, secs, du_mib(root)))
        return 0
    host = get(a.name, log=sys.stderr)
    binds = []
    for spec in a.bind:
        parts = spec.split(":")
        binds.append(Bind(Path(parts[0]).resolve(), parts[1], len(parts) > 2 and parts[2] == "ro"))
    env = dict(kv.split("=", 1) for kv in a.env)
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    res = host.run(cmd, binds=binds, env=env, cwd=a.cwd, timeout=a.timeout)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
