"""The offline engine, started on demand: find ``smart-beauty``, run ``smart-beauty serve``, reuse it.

Both GIMP plug-ins (GIMP 2.10's Python 2.7 too) use the offline engine through the very same AILab
protocol as the cloud: a Python 3 subprocess ``smart-beauty serve --port 0 --announce --idle-exit S``
binds a free loopback port, prints one JSON line ``{"url", "key", "pid", "engine", "version"}`` (``key`` is a
random token for this server run only, not the user's API key) and exits after S idle seconds.
That line is kept in ``local-server.json`` (0600) in the Smart Beauty config folder, so the next
run of a plug-in reuses the server while it is alive and is of this version with the engine asked for
(:func:`ensure`). One process starts it at a time (``local-server.lock``); the others wait for its
line. ``smart-beauty serve --stop`` ends it. (The ``smart-beauty`` command runs the engine in its own
process instead: ``smart_beauty_cli.inprocess``.)

The command is looked up in this order (:func:`find_engine`): ``$SMART_BEAUTY_CLI`` (only that one);
inside the Flatpak GIMP's sandbox only the engine the installer put there for the sandbox's own Python
(``engine.json``'s ``flatpak`` entry: that Python, run with the recorded folder of wheels unpacked for
it on PYTHONPATH -- the sandbox cannot run the host's venv, whose interpreter links into the host's
``/usr``); elsewhere the interpreter the installer recorded (``engine.json``'s ``host`` entry: the venv's
``bin/python`` or, on Windows, ``Scripts\\python.exe``, started as ``python -m smart_beauty_cli.cli``),
the command an older ``install.sh`` recorded in ``cli-path``, ``~/.local/bin/smart-beauty``, the
checkout's ``.venv`` (when the library runs from a checkout), ``smart-beauty`` on PATH.
The platform is a parameter wherever the rules differ (Windows paths are built with ``ntpath``), so
the Windows and macOS rules are tested on any system.

``open_client(backend, settings)`` is the one place that turns a backend choice (``auto``: the cloud
when a key is set, else the offline engine; ``cloud``; ``local``) into a :class:`~smart_beauty.Client`,
for every entry point: both plug-ins, Check Setup / doctor, and the CLI's cloud backend.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import atexit
import errno
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time

from . import __version__, errors, settings as sb_settings, workdir
from .compat import monotonic, new_session_kwargs, text_type, urlsplit

BACKENDS = ("auto", "cloud", "local")
ENV_CLI = "SMART_BEAUTY_CLI"
ENV_ENGINE = "SMART_BEAUTY_ENGINE"      # offline (default) or simple (tests)
ENGINE_FILE = "engine.json"             # written by install.py: {"host": {...}, "flatpak": {...}}
CLI_PATH_FILE = "cli-path"              # written by older install.sh versions: the command's path
CLI_MODULE = "smart_beauty_cli.cli"     # what a recorded interpreter runs (python -m ...)
STATE_FILE = "local-server.json"
LOCK_FILE = "local-server.lock"         # held by the one process starting a server (see ensure)
LOG_FILE = "local-server.log"
IDLE_EXIT = 600.0                       # seconds the server lives without requests
START_TIMEOUT = 90.0                    # first start imports OpenCV and numpy; generous for slow disks
PROBE_TIMEOUT = 2.0
#: numpy's OpenBLAS starts a thread per core when numpy is imported and stops them at exit (about 0.05 s
#: of CPU, and as much at exit); neither the server nor the command does linear algebra worth threads.
#: Set for the server here and for the command by its launcher, unless the user set it.
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}
_children = []  # type: list  # servers started by this process (reaped by stop(), _reap())


def _reap():
    """Collect the exit status of servers this process started that have ended since (stopped by another
    process, or idle): no zombie left, no "subprocess is still running" warning at exit."""
    for child in list(_children):
        if child.poll() is not None:
            _children.remove(child)


atexit.register(_reap)


def installer_command(platform=None):
    """How the installer is run on ``platform``: ``py install.py`` on Windows, ``./install.sh`` elsewhere."""
    return "py install.py" if (sys.platform if platform is None else platform).startswith("win") else "./install.sh"


def install_fix(platform=None):
    """The one command that installs (or repairs) the offline engine, as typed on ``platform``."""
    return "run '%s --with-engine' in the Smart Beauty folder" % installer_command(platform)


def no_engine(platform=None):
    return ("The offline engine is not installed (no 'smart-beauty' command was found); %s, or store an "
            "AILab API key with Filters > Enhance > Smart Beauty Settings... to use the cloud." % install_fix(platform))


INSTALL_FIX = install_fix()
NO_ENGINE = no_engine()
FLATPAK_FIX = ("run './install.sh --with-engine' in the Smart Beauty folder from a terminal outside Flatpak "
               "(it installs a copy of the engine for the Flatpak GIMP's own Python), then restart GIMP")


class LocalServer(object):
    """A running local server: ``url``, ``key`` (this run's token), ``pid``, ``engine``, ``reused``,
    ``version`` (the Smart Beauty version it runs)."""

    def __init__(self, url, key, pid=None, engine=None, reused=False, cli=None, version=None):
        self.url, self.key, self.pid, self.engine, self.reused, self.cli = url, key, pid, engine, reused, cli
        self.version = version

    @classmethod
    def from_state(cls, data, reused):
        return cls(data["url"], data["key"], data.get("pid"), data.get("engine"), reused, data.get("cli"),
                   data.get("version"))

    def __repr__(self):
        return "LocalServer(%r, pid=%r, engine=%r, reused=%r)" % (self.url, self.pid, self.engine, self.reused)


def backend_name(value):
    """Accept a name or an index (GIMP 2.10 PF_OPTION passes 0/1/2)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(BACKENDS):
        return BACKENDS[value]
    name = text_type(value or "auto").strip().lower()
    if name not in BACKENDS:
        raise errors.ConfigError("Unknown backend %r; use auto, cloud or local." % (name,))
    return name


def resolve(backend, settings):
    """The backend that ``auto`` means with these settings: cloud if a key is set, else local."""
    backend = backend_name(backend)
    if backend == "auto":
        return "cloud" if settings.api_key else "local"
    return backend


def open_client(backend="auto", settings=None, env=None, on_wait=None, clock=None, start_local=None,
                **options):
    """The one way a :class:`~smart_beauty.Client` is opened, for every entry point (the CLI, both
    GIMPs, Check Setup / doctor, batches): ``backend`` (auto: the cloud when a key is set, else the
    offline engine; cloud; local) chooses the service. Raises ConfigError with the fix when neither a
    key nor the offline engine is there.

    ``start_local()``: how the local service is had, a :class:`LocalServer` (default :func:`ensure`:
    the ``smart-beauty serve`` process the plug-ins share, started if needed). ``on_wait(elapsed)``:
    called every 0.1 s on this thread while it starts on a worker thread (GIMP's progress bar).
    ``clock`` and ``options`` (timeouts, retries) go to the Client. A local service is on a loopback
    address, so its jobs poll at the local pace (:func:`smart_beauty.jobs.policy_for`), and its client is
    marked ``local``: the only kind that is sent per-effect strengths (:meth:`Client.submit`)."""
    from .client import Client  # requests: not needed to find or start the local server (see ensure)

    name = backend_name(backend)
    if name != "local":
        settings = settings or sb_settings.Settings.load(env)
    if name == "cloud" or (name == "auto" and resolve(name, settings) == "cloud"):
        return Client(settings.require_key(), base_url=settings.base_url, clock=clock, **options)
    start = start_local or (lambda: ensure(env=env))
    server = start() if on_wait is None else in_background(start, 0.1, on_wait)
    return Client(server.key, base_url=server.url, clock=clock, local=True, **options)


def in_background(func, tick, on_tick, *args, **kwargs):
    """Run ``func`` on a worker thread; call ``on_tick(elapsed)`` every ``tick`` seconds on this
    (GIMP's main) thread until it is done. Returns its result or raises its exception."""
    box = {}

    def work():
        try:
            box["result"] = func(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised on the calling thread
            box["error"] = e

    worker = threading.Thread(target=work, name="smart-beauty-worker")
    worker.daemon = True
    t0 = monotonic()
    worker.start()
    while True:
        worker.join(tick)
        if not worker.is_alive():
            break
        on_tick(monotonic() - t0)
    if "error" in box:
        raise box["error"]
    return box.get("result")


# -- finding the command ----------------------------------------------------------------------

class Command(object):
    """How to start ``smart-beauty``: ``program`` + ``args`` (e.g. a Python and ``-m smart_beauty_cli.cli``),
    ``where`` it was found, and ``pythonpath`` (folders the child gets as PYTHONPATH, or None)."""

    def __init__(self, program, args=(), where="", pythonpath=None):
        self.program, self.args, self.where, self.pythonpath = program, list(args), where, pythonpath

    def argv(self, rest=()):
        return [self.program] + self.args + list(rest)

    def __str__(self):
        return " ".join(self.argv())

    def __repr__(self):
        return "Command(%r, where=%r)" % (self.argv(), self.where)


def _exe(path, platform=None):
    """An existing program file (on Windows every file can be run; elsewhere it needs its x bit)."""
    platform = sys.platform if platform is None else platform
    if not path or not os.path.isfile(path):
        return False
    return platform.startswith("win") or os.access(path, os.X_OK)


def _checkout_venv(platform=None):
    """The checkout's ``smart-beauty`` command (when this library runs from a checkout)."""
    here = os.path.dirname(os.path.abspath(__file__))          # <checkout>/lib/smart_beauty
    root = os.path.dirname(os.path.dirname(here))
    return sb_settings.venv_layout(sb_settings.path_module(platform).join(root, ".venv"), platform)["cli"]


def _which(name, env, platform=None):
    platform = sys.platform if platform is None else platform
    windows = platform.startswith("win")
    path = sb_settings.path_module(platform)
    for d in (env.get("PATH") or "").split(";" if windows else ":"):
        for ext in ([".exe", ".cmd", ""] if windows else [""]):
            p = path.join(d, name + ext)
            if _exe(p, platform):
                return p
    return None


def _sandboxed(env, platform=None):
    """Inside the Flatpak GIMP's sandbox (Linux only; FLATPAK_ID or /.flatpak-info)."""
    return (sys.platform if platform is None else platform).startswith("linux") and sb_settings.in_flatpak(env)


def read_record(env=None, platform=None):
    """``engine.json`` from the config folder (what the installer recorded), or {}."""
    path = sb_settings.path_module(platform).join(sb_settings.config_dir(env, platform), ENGINE_FILE)
    data = sb_settings.read_json(path)
    data["_file"] = path
    return data


def _python_command(entry, where):
    """A Command running the CLI module with a recorded interpreter (+ its PYTHONPATH folder).

    Compatibility, the one rule: a folder unpacked by an installer from before the packages were named by
    role (the Flatpak GIMP's engine, kept until the installer runs again with --with-engine) holds the
    command as ``smart_beauty_py3.cli``, not ``smart_beauty_cli.cli``: that folder's own module is run. A
    recorded venv interpreter needs no rule: its editable install finds the packages of the checkout."""
    folder = entry.get("path") or None
    module = CLI_MODULE
    if folder and not os.path.isdir(os.path.join(folder, CLI_MODULE.split(".")[0])) and os.path.isfile(
            os.path.join(folder, "smart_beauty_py3", "cli.py")):
        module = "smart_beauty_py3.cli"
    return Command(entry.get("python") or "", ["-m", module], where, folder)


def candidates(env=None, platform=None):
    """Commands in lookup order (existing or not)."""
    env = os.environ if env is None else env
    if env.get(ENV_CLI):
        return [Command(env[ENV_CLI], where="$" + ENV_CLI)]
    record = read_record(env, platform)
    if _sandboxed(env, platform):
        entry = record.get("flatpak")
        if isinstance(entry, dict) and entry.get("python"):
            return [_python_command(entry, "installed for the Flatpak GIMP, recorded in %s" % record["_file"])]
        return []
    out = []
    entry = record.get("host")
    if isinstance(entry, dict) and entry.get("python"):
        out.append(_python_command(entry, "recorded by the installer in %s" % record["_file"]))
    path = sb_settings.path_module(platform)
    recorded = path.join(sb_settings.config_dir(env, platform), CLI_PATH_FILE)
    try:
        with io.open(recorded, "r", encoding="utf-8") as f:
            line = f.read().strip()
        if line:
            out.append(Command(line, where="recorded by install.sh in %s" % recorded))
    except (IOError, OSError):
        pass
    home = sb_settings.home_dir(env, platform)
    out.append(Command(path.join(home, ".local", "bin", "smart-beauty"), where="~/.local/bin"))
    out.append(Command(_checkout_venv(platform), where="the checkout's .venv"))
    on_path = _which("smart-beauty", env, platform)
    if on_path:
        out.append(Command(on_path, where="PATH"))
    return out


def _usable(command, platform=None):
    if not _exe(command.program, platform):
        return False
    return all(os.path.isdir(p) for p in (command.pythonpath or "").split(os.pathsep) if p)


def find_engine(env=None, platform=None):
    """The Command to start the offline engine with, or None (:func:`missing_message` says why)."""
    for command in candidates(env, platform):
        if _usable(command, platform):
            return command
    return None


def find_cli(env=None, platform=None):
    """The program of :func:`find_engine`'s command (a ``smart-beauty`` or a Python), or None."""
    command = find_engine(env, platform)
    return command.program if command else None


def python_version(python):
    """``"3.13"`` for an interpreter that runs, else None."""
    try:
        out = subprocess.check_output([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                      stderr=subprocess.STDOUT)
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.decode("ascii", "replace").strip() or None


def missing_message(env=None, platform=None):
    """One sentence: why no engine command is usable here, and the fix."""
    env = os.environ if env is None else env
    if env.get(ENV_CLI) or not _sandboxed(env, platform):
        return no_engine(platform)
    record = read_record(env, platform)
    entry = record.get("flatpak")
    if not isinstance(entry, dict) or not entry.get("python"):
        host = record.get("host") if isinstance(record.get("host"), dict) else {}
        seen = ("the one installed on this computer (%s) needs the computer's own /usr, which GIMP's sandbox "
                "replaces" % host["python"] if host.get("python") else "GIMP's sandbox needs its own copy")
        return "The offline engine is not installed for the Flatpak GIMP: %s; %s." % (seen, FLATPAK_FIX)
    if not _exe(entry["python"], platform):
        return ("The offline engine for the Flatpak GIMP needs %s, which is not in GIMP's sandbox; %s."
                % (entry["python"], FLATPAK_FIX))
    return ("The offline engine for the Flatpak GIMP is incomplete (%s is missing); %s."
            % (entry.get("path") or "its folder", FLATPAK_FIX))


def flatpak_mismatch(command, env=None):
    """For the Flatpak engine: a sentence when the sandbox's Python is not the one its wheels are for."""
    entry = read_record(env).get("flatpak") or {}
    wanted = entry.get("python_version")
    if not wanted or not command.where.startswith("installed for the Flatpak"):
        return None
    have = python_version(command.program)
    if have == wanted:
        return None
    return ("The offline engine was installed for the Flatpak GIMP's Python %s, but GIMP's Python is now %s "
            "(a Flatpak runtime update); %s." % (wanted, have or "not runnable", FLATPAK_FIX))


# -- the state file ---------------------------------------------------------------------------

def _state_path(env=None):
    return os.path.join(sb_settings.config_dir(env), STATE_FILE)


def _read_state(env=None):
    try:
        with io.open(_state_path(env), "r", encoding="utf-8") as f:
            data = json.load(f)
    except (IOError, OSError, ValueError):
        return None
    if isinstance(data, dict) and data.get("url") and data.get("key"):
        return data
    return None


def _write_state(data, env=None):
    sb_settings.write_private(_state_path(env), json.dumps(data, sort_keys=True))


def _listening(url):
    """Whether anything accepts a connection at ``url``'s address. A server that has exited leaves its
    address in the state file; its port refuses at once, so :func:`ensure` can start the new one
    before importing the HTTP client (0.1 s: see :func:`_alive`)."""
    try:
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname, parts.port), PROBE_TIMEOUT)
    except (socket.error, OSError, ValueError, TypeError):
        return False
    sock.close()
    return True


def _alive(url, key):
    """True when a server answers the credits query with this run's key."""
    try:
        sb_settings.check_base_url(url)
        if not _listening(url):
            return False
        with open_client("local", start_local=lambda: LocalServer(url, key), status_retries=0,
                         connect_timeout=PROBE_TIMEOUT, read_timeout=PROBE_TIMEOUT) as client:
            client.credits()
        return True
    except Exception:  # noqa: BLE001 - anything else means: start a new one
        return False


# -- starting ---------------------------------------------------------------------------------

def serve_argv(cli, env=None):
    engine = engine_name(env)
    command = cli if isinstance(cli, Command) else Command(cli)
    return command.argv(["serve", "--port", "0", "--announce", "--idle-exit", "%g" % IDLE_EXIT, "--engine", engine])


def popen_kwargs(platform=None):
    """How the server is started so it outlives the plug-in and opens no window: Windows has no fork,
    so no ``preexec_fn``/sessions there -- a new process group without a console window, and
    ``close_fds`` left off (Python 2.7 on Windows refuses it with redirected handles)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win"):
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200) | 0x08000000  # CREATE_NO_WINDOW
        return {"creationflags": flags, "close_fds": False}
    return dict(new_session_kwargs(), close_fds=True)


def _child_env(env, command=None):
    child = dict(env)
    # GIMP's own Python settings must not leak into the Python 3 server (GIMP 2.10 sets PYTHONHOME etc.).
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONNOUSERSITE"):
        child.pop(name, None)
    # keep the user's AILab key out of the local server: it gets its own per-run token
    child.pop(sb_settings.ENV_KEY, None)
    for name, value in BLAS_THREADS.items():
        child.setdefault(name, value)
    if command is not None and command.pythonpath:
        child["PYTHONPATH"] = command.pythonpath     # the engine unpacked for this Python (Flatpak)
        child["PYTHONNOUSERSITE"] = "1"
    return child


def _log_tail(path, limit=2000):
    try:
        with io.open(path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()[-limit:]
    except (IOError, OSError):
        return ""
    return text.strip()


def _make_dir(directory):
    """The config folder (0700), also when another process makes it at the same moment."""
    try:
        os.makedirs(directory, 0o700)
    except OSError:
        if not os.path.isdir(directory):
            raise


def start(cli, env=None, timeout=START_TIMEOUT, spawned=None):
    """Start ``cli serve`` detached; return a LocalServer once it has announced itself. ``spawned()``
    is called as soon as its process exists (it then imports and loads for a few tenths of a second)."""
    env = os.environ if env is None else env
    _reap()
    directory = sb_settings.config_dir(env)
    _make_dir(directory)
    log_path = os.path.join(directory, LOG_FILE)
    log = io.open(log_path, "wb")
    devnull = io.open(os.devnull, "rb")
    command = cli if isinstance(cli, Command) else Command(cli)
    try:
        proc = subprocess.Popen(serve_argv(command, env), stdin=devnull, stdout=subprocess.PIPE, stderr=log,
                                env=_child_env(env, command), **popen_kwargs())
    except (OSError, ValueError) as e:
        raise errors.ConfigError("The offline engine could not be started (%s: %s); %s." % (
            command, e, FLATPAK_FIX if command.pythonpath else INSTALL_FIX))
    finally:
        log.close()
        devnull.close()
    _children.append(proc)
    if spawned is not None:
        spawned()
    lines = []

    def read_line():
        try:
            lines.append(proc.stdout.readline())
        except Exception:  # noqa: BLE001
            lines.append(b"")

    reader = threading.Thread(target=read_line, name="smart-beauty-serve-announce")
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    line = lines[0] if lines else b""
    try:
        data = json.loads(line.decode("utf-8", "replace")) if line else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data.get("url") or not data.get("key"):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        tail = _log_tail(log_path)
        if "not installed" in tail:
            reason = [ln for ln in tail.splitlines() if "not installed" in ln][-1]
            reason = reason.split("smart-beauty: ", 1)[-1].strip()
            raise errors.ConfigError(reason if "install" in reason.split("not installed", 1)[1]
                                     else "%s; %s." % (reason.rstrip("."), INSTALL_FIX))
        detail = (tail.splitlines() or ["no output"])[-1][:200]
        raise errors.ConfigError("The offline engine did not start (%s; details in %s); %s." % (
            detail, log_path, INSTALL_FIX))
    proc.stdout.close()   # the server writes nothing more to stdout
    data["cli"] = str(command)
    data["started"] = True
    _write_state(data, env)
    return LocalServer.from_state(data, False)


def engine_name(env=None):
    """The engine a local server is asked to run: ``$SMART_BEAUTY_ENGINE`` (offline, the default, or simple)."""
    env = os.environ if env is None else env
    return (env.get(ENV_ENGINE) or "offline").strip()


def _reusable(state, env, probed):
    """A recorded server this run may use: of this Smart Beauty version (after an upgrade the old one
    would go on running the old code), with the engine asked for, answering with its key. Each
    (url, key) is probed once per call of :func:`ensure` (``probed``)."""
    if not state or state.get("version") != __version__ or state.get("engine") != engine_name(env):
        return False
    which = (state["url"], state["key"])
    if which in probed:
        return False
    probed.add(which)
    return _alive(*which)


def _lock_path(env):
    return os.path.join(sb_settings.config_dir(env), LOCK_FILE)


def _take_lock(path):
    """True when this process created the lock file (O_EXCL: one creator on every OS; Windows refuses a
    file another process is deleting with EACCES: not taken either, the caller tries again)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        if e.errno == errno.EEXIST or (e.errno == errno.EACCES and os.name == "nt"):
            return False
        raise
    with io.open(fd, "w", encoding="ascii") as f:
        f.write("%d\n" % os.getpid())
    return True


def _lock_is_stale(path, max_age):
    """A lock whose holder is gone: older than ``max_age`` seconds, or (not on Windows, where asking
    would signal) its process no longer exists. A lock of a process in another PID namespace (the
    Flatpak sandbox) looks stale: then two servers may start, as without a lock."""
    try:
        age = time.time() - os.path.getmtime(path)
        with io.open(path, "r", encoding="ascii") as f:
            text = f.read().strip()
    except (IOError, OSError):
        return False            # gone already: the next attempt takes it
    return age > max_age or workdir.process_gone(text)


def ensure(env=None, timeout=START_TIMEOUT, command=None, spawned=None):
    """A live local server: the one recorded in the config folder if it still answers (and is of this
    version, with the engine asked for), else a new one started with ``command`` (default
    :func:`find_engine`'s). One process at a time starts it: the others wait for its announcement and
    reuse it (``parallel smart-beauty retouch ::: *.jpg`` starts one server, not one per photo).
    ``spawned()``: called once only waiting is left (its process was started, here or by another
    process), not when a running server is found. Raises ConfigError (one sentence with the fix) when
    the engine is missing or fails."""
    env = os.environ if env is None else env
    probed = set()
    state = _read_state(env)
    if _reusable(state, env, probed):
        return LocalServer.from_state(state, True)
    if command is None:
        command = find_engine(env)
        if command is None:
            raise errors.ConfigError(missing_message(env))
        mismatch = flatpak_mismatch(command, env)
        if mismatch:
            raise errors.ConfigError(mismatch)
    _make_dir(sb_settings.config_dir(env))
    lock = _lock_path(env)
    deadline = monotonic() + timeout
    held = False
    try:
        while True:
            held = _take_lock(lock)
            state = _read_state(env)        # started meanwhile by the lock's holder?
            if _reusable(state, env, probed):
                return LocalServer.from_state(state, True)
            if held or monotonic() > deadline:
                return start(command, env, timeout, spawned)
            if spawned is not None:     # another process is starting it: only waiting is left
                spawned()
                spawned = None
            if _lock_is_stale(lock, timeout + 10.0):
                try:
                    os.remove(lock)
                except OSError:
                    pass
                continue
            time.sleep(0.05)
    finally:
        if held:
            try:
                os.remove(lock)
            except OSError:
                pass


def stop(env=None, wait=5.0):
    """Stop the recorded server (``smart-beauty serve --stop``, tests). Returns True if one was running.
    Only a server that answers with its recorded key is signalled: a stale state file's pid may by now
    belong to another program."""
    import signal
    state = _read_state(env)
    try:
        os.remove(_state_path(env))
    except OSError:
        pass
    pid = state and state.get("pid")
    if not pid or not _alive(state["url"], state["key"]):
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)       # Windows: TerminateProcess
    except (OSError, ValueError):
        return False
    if os.name == "nt":
        return True     # there, os.kill(pid, 0) would send CTRL_C_EVENT (0), not ask whether it lives
    deadline = monotonic() + wait
    while monotonic() < deadline:
        _reap()      # a server of this process, once ended, is reaped here: else os.kill would see its zombie
        try:
            os.kill(int(pid), 0)
        except OSError:
            return True
        time.sleep(0.05)
    return True


def describe_missing(env=None):
    """Where the command was looked for (for Check Setup)."""
    return "; ".join("%s (%s)" % (c.program, c.where) for c in candidates(env)) or missing_message(env)
