"""The offline engine, started on demand: find ``smart-beauty``, run ``smart-beauty serve``, reuse it.

Both GIMP plug-ins (GIMP 2.10's Python 2.7 too) use the offline engine through the very same AILab
protocol as the cloud: a Python 3 subprocess ``smart-beauty serve --port 0 --announce --idle-exit S``
binds a free loopback port, prints one JSON line ``{"url", "key", "pid", "engine"}`` (``key`` is a
random token for this server run only, not the user's API key) and exits after S idle seconds.
That line is kept in ``local-server.json`` (0600) in the Smart Beauty config folder, so the next
plug-in run reuses the server while it is alive.

The command is looked up in this order (:func:`find_cli`): ``$SMART_BEAUTY_CLI`` (only that one),
the path ``install.sh`` recorded in ``cli-path`` in the config folder, ``~/.local/bin/smart-beauty``,
the checkout's ``.venv`` (when the library runs from a checkout), ``smart-beauty`` on PATH.

``open_client(backend, settings)`` is the one place that turns a backend choice (``auto``: the cloud
when a key is set, else the offline engine; ``cloud``; ``local``) into a :class:`~smart_beauty.Client`.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import json
import os
import subprocess
import threading

from . import errors, settings as sb_settings
from .client import Client
from .compat import monotonic, text_type

BACKENDS = ("auto", "cloud", "local")
ENV_CLI = "SMART_BEAUTY_CLI"
ENV_ENGINE = "SMART_BEAUTY_ENGINE"      # offline (default) or simple (tests)
CLI_PATH_FILE = "cli-path"              # written by install.sh
STATE_FILE = "local-server.json"
LOG_FILE = "local-server.log"
IDLE_EXIT = 600.0                       # seconds the server lives without requests
START_TIMEOUT = 90.0                    # first start imports OpenCV and numpy; generous for slow disks
PROBE_TIMEOUT = 2.0
_children = []                          # servers started by this process (reaped by stop())

INSTALL_FIX = "run './install.sh --with-engine' in the Smart Beauty folder"
NO_ENGINE = ("The offline engine is not installed (no 'smart-beauty' command was found); %s, or store an "
             "AILab API key with Filters > Enhance > Smart Beauty Settings... to use the cloud." % INSTALL_FIX)


class LocalServer(object):
    """A running local server: ``url``, ``key`` (this run's token), ``pid``, ``engine``, ``reused``."""

    def __init__(self, url, key, pid=None, engine=None, reused=False, cli=None):
        self.url, self.key, self.pid, self.engine, self.reused, self.cli = url, key, pid, engine, reused, cli

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


def open_client(backend="auto", settings=None, env=None, on_wait=None):
    """A Client for the chosen backend (starting the local server if needed). Raises ConfigError
    with the fix when neither a key nor the offline engine is there. ``on_wait(elapsed)``: called
    every 0.1 s on this thread while the server starts on a worker thread (GIMP's progress bar)."""
    settings = settings or sb_settings.Settings.load(env)
    chosen = resolve(backend, settings)
    if chosen == "cloud":
        return Client(settings.require_key(), base_url=settings.base_url)
    server = ensure(env=env) if on_wait is None else in_background(ensure, 0.1, on_wait, env=env)
    client = Client(server.key, base_url=server.url)
    client.local_engine = True   # jobs poll it at the local engine's pace (jobs.policy_for)
    return client


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

def _exe(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def _checkout_venv():
    here = os.path.dirname(os.path.abspath(__file__))          # <checkout>/lib/smart_beauty
    root = os.path.dirname(os.path.dirname(here))
    if os.name == "nt":
        return os.path.join(root, ".venv", "Scripts", "smart-beauty.exe")
    return os.path.join(root, ".venv", "bin", "smart-beauty")


def _which(name, env):
    for d in (env.get("PATH") or "").split(os.pathsep):
        for ext in ([""] if os.name != "nt" else [".exe", ".cmd", ""]):
            p = os.path.join(d, name + ext)
            if _exe(p):
                return p
    return None


def candidates(env=None):
    """(path, where) pairs in lookup order (existing or not)."""
    env = os.environ if env is None else env
    if env.get(ENV_CLI):
        return [(env[ENV_CLI], "$" + ENV_CLI)]
    out = []
    recorded = os.path.join(sb_settings.config_dir(env), CLI_PATH_FILE)
    try:
        with io.open(recorded, "r", encoding="utf-8") as f:
            line = f.read().strip()
        if line:
            out.append((line, "recorded by install.sh in %s" % recorded))
    except (IOError, OSError):
        pass
    home = os.path.expanduser("~")
    local_bin = os.path.join(home, ".local", "bin", "smart-beauty")
    out.append((local_bin, "~/.local/bin"))
    out.append((_checkout_venv(), "the checkout's .venv"))
    on_path = _which("smart-beauty", env)
    if on_path:
        out.append((on_path, "PATH"))
    return out


def find_cli(env=None):
    """The ``smart-beauty`` command to start the offline engine with, or None."""
    for path, _where in candidates(env):
        if _exe(path):
            return path
    return None


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


def _alive(url, key):
    """True when a server answers the credits query with this run's key."""
    try:
        sb_settings.check_base_url(url)
        with Client(key, base_url=url, status_retries=0, connect_timeout=PROBE_TIMEOUT,
                    read_timeout=PROBE_TIMEOUT) as client:
            client.credits()
        return True
    except Exception:  # noqa: BLE001 - anything else means: start a new one
        return False


# -- starting ---------------------------------------------------------------------------------

def serve_argv(cli, env=None):
    env = os.environ if env is None else env
    engine = (env.get(ENV_ENGINE) or "offline").strip()
    return [cli, "serve", "--port", "0", "--announce", "--idle-exit", "%g" % IDLE_EXIT, "--engine", engine]


def _detach_kwargs():
    if os.name == "nt":
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200) | 0x08000000  # CREATE_NO_WINDOW
        return {"creationflags": flags}
    return {"preexec_fn": os.setsid}


def _child_env(env):
    child = dict(env)
    # GIMP's own Python settings must not leak into the Python 3 server (GIMP 2.10 sets PYTHONHOME etc.).
    for name in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONNOUSERSITE"):
        child.pop(name, None)
    # keep the user's AILab key out of the local server: it gets its own per-run token
    child.pop(sb_settings.ENV_KEY, None)
    return child


def _log_tail(path, limit=2000):
    try:
        with io.open(path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()[-limit:]
    except (IOError, OSError):
        return ""
    return text.strip()


def start(cli, env=None, timeout=START_TIMEOUT):
    """Start ``cli serve`` detached; return a LocalServer once it has announced itself."""
    env = os.environ if env is None else env
    directory = sb_settings.config_dir(env)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    log_path = os.path.join(directory, LOG_FILE)
    log = io.open(log_path, "wb")
    devnull = io.open(os.devnull, "rb")
    try:
        proc = subprocess.Popen(serve_argv(cli, env), stdin=devnull, stdout=subprocess.PIPE, stderr=log,
                                close_fds=os.name != "nt", env=_child_env(env), **_detach_kwargs())
    except (OSError, ValueError) as e:
        raise errors.ConfigError("The offline engine could not be started (%s: %s); %s." % (cli, e, INSTALL_FIX))
    finally:
        log.close()
        devnull.close()
    _children.append(proc)
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
    data["cli"] = cli
    data["started"] = True
    _write_state(data, env)
    return LocalServer(data["url"], data["key"], data.get("pid"), data.get("engine"), False, cli)


def ensure(env=None, timeout=START_TIMEOUT):
    """A live local server: the one recorded in the config folder if it still answers, else a new
    one. Raises ConfigError (one sentence with the fix) when the engine is missing or fails."""
    env = os.environ if env is None else env
    state = _read_state(env)
    if state and _alive(state["url"], state["key"]):
        return LocalServer(state["url"], state["key"], state.get("pid"), state.get("engine"), True, state.get("cli"))
    cli = find_cli(env)
    if cli is None:
        raise errors.ConfigError(NO_ENGINE)
    return start(cli, env, timeout)


def stop(env=None, wait=5.0):
    """Stop the recorded server (tests, ``doctor --stop``). Returns True if one was running."""
    import signal
    state = _read_state(env)
    try:
        os.remove(_state_path(env))
    except OSError:
        pass
    pid = state and state.get("pid")
    if not pid:
        return False
    try:
        os.kill(int(pid), signal.SIGTERM)
    except (OSError, ValueError):
        return False
    import time
    deadline = monotonic() + wait
    while monotonic() < deadline:
        for child in list(_children):
            if child.pid == int(pid) and child.poll() is not None:
                _children.remove(child)
                return True
        try:
            os.kill(int(pid), 0)
        except OSError:
            return True
        time.sleep(0.05)
    return True


def describe_missing(env=None):
    """Where the command was looked for (for Check Setup)."""
    return "; ".join("%s (%s)" % (p, w) for p, w in candidates(env))
