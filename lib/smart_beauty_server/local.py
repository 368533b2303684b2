"""``LocalAilab``: the server object (threads, sockets, lifecycle) and ``serve_forever``.

Werkzeug's threaded dev server on 127.0.0.1 by default. On a non-loopback address it refuses to
start without configured API keys, and it never serves the control API or accepts ``fault:`` keys
there; on a loopback address it answers only requests whose Host header names a loopback address
(DNS rebinding). Uploads waiting for the engine and results are kept on disk in a private temp
folder (see ``jobs``); ``stop()`` shuts the server, joins every thread it started and removes it.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from smart_beauty.settings import is_loopback_host

from smart_beauty_server.simple import SimpleEngine
from smart_beauty_server import jobs
from smart_beauty_server.app import AilabApp
from smart_beauty_server.control import ControlApi
from smart_beauty_server.faults import FaultBook

DEFAULT_KEY = "sb-local-test-key"
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024  # server upload limit (body), above the 5 MB file limit


#: a literal loopback address (127.0.0.0/8, ::1) or "localhost"; never another name: the client's rule
#: for sending a key over plain http, so the server and its clients agree on what "loopback" is
is_loopback = is_loopback_host


class _QuietHandler(WSGIRequestHandler):
    timeout = 60  # seconds a client may stall mid-request

    def log_request(self, code="-", size="-"):
        pass


class _LoggingHandler(WSGIRequestHandler):
    timeout = 60


class LocalAilab:
    """A local stand-in for the AILab service.

    ``durations``: None (use ``job_seconds``: a quarter queued, the rest processing), a
    ``(queued, processing)`` pair, or a callable ``f(info) -> (queued, processing)`` called once per
    job (``info`` has ``level`` and ``multi_face``). ``queued_seconds``/``processing_seconds``
    override the pair. ``engine``: ``f(rgb, level, multi_face) -> rgb``, also called with ``effects=``
    (an ``Effects``) for a request with our own per-effect fields (``protocol.EFFECT_FIELDS``; the AILab
    service has none and ignores them); default ``SimpleEngine()``.
    ``clock``: what job durations and result expiry are measured on (``smart_beauty.clock``): a test
    gives its clients and this server one virtual clock, so a job of 20 s takes no wall time.
    ``credits``: the account's balance (8 per call, as the service bills); None counts nothing and lists
    no pack (``smart-beauty serve``, the offline engine's service: previews and retouches are free).
    ``hold_polls``: seconds a status query of a running job waits for it to end before it is answered
    (0: at once, as the service does; ``smart-beauty serve`` holds them, see :data:`serve.HOLD_POLLS`).
    """

    def __init__(self, port=0, host="127.0.0.1", api_keys=None, engine=None, job_seconds=0.2,
                 queued_seconds=None, processing_seconds=None, durations=None, result_ttl=86400.0,
                 max_upload_bytes=DEFAULT_MAX_UPLOAD, control_token=None, allow_fault_keys=True,
                 credits=100000, engine_workers=2, quiet=True, clock=None, hold_polls=0.0):
        self.host = host
        self.port = int(port)
        self.loopback = is_loopback(host)
        if not self.loopback and not api_keys:
            raise ValueError("refusing to serve on non-loopback address %r without a configured API key"
                             % host)
        self.api_keys = list(api_keys) if api_keys else [DEFAULT_KEY]
        self.max_upload_bytes = int(max_upload_bytes)
        self.quiet = quiet
        self._defaults = {"result_ttl": float(result_ttl), "credits": None if credits is None else int(credits)}
        self._default_durations = self._make_durations(job_seconds, queued_seconds, processing_seconds,
                                                       durations)
        self.faults = FaultBook()
        self.store = jobs.TaskStore(engine or SimpleEngine(), self._default_durations, result_ttl, credits,
                                    engine_workers, clock=clock)
        self.control_token = None
        control = None
        if self.loopback:
            self.control_token = control_token or secrets.token_urlsafe(18)
            control = ControlApi(self, self.control_token, is_loopback)
        # the protocol's app (its request log feeds stats); ``app`` is what is served, which a caller may
        # wrap (``smart-beauty serve`` wraps it to see activity)
        self.ailab = AilabApp(self.store, self.faults, self.api_keys,
                              allow_fault_keys=bool(allow_fault_keys and self.loopback),
                              max_upload_bytes=self.max_upload_bytes, control=control,
                              host_check=is_loopback if self.loopback else None, hold_polls=hold_polls)
        self.app = self.ailab
        self._httpd = None
        self._thread = None

    @staticmethod
    def _make_durations(job_seconds=None, queued=None, processing=None, durations=None):
        if callable(durations):
            return durations
        if durations is not None:
            return jobs.fixed_durations(*durations)
        base = job_seconds if job_seconds is not None else 0.2
        q = base * 0.25 if queued is None else queued
        p = base * 0.75 if processing is None else processing
        return jobs.fixed_durations(q, p)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self):
        if self._httpd is not None:
            raise RuntimeError("already started")
        handler = _QuietHandler if self.quiet else _LoggingHandler
        self._httpd = make_server(self.host, self.port, self.app, threaded=True, request_handler=handler)
        self.port = self._httpd.server_port
        self.store.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ailab-http", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._httpd.server_close()
            self._httpd = None
        self.store.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d" % (host, self.port)

    @property
    def valid_key(self):
        return self.api_keys[0]

    # -- test hooks -------------------------------------------------------------------------------
    def inject(self, name, **params):
        """Activate a fault (see ``faults`` for names/params); returns its id."""
        return self.faults.inject(name, **params)

    def reset(self):
        """Forget faults, tasks, the request log; restore credits, durations and result_ttl."""
        self.faults.reset()
        self.store.clear()
        self.ailab.log.clear()
        self.store.durations = self._default_durations
        self.store.result_ttl = self._defaults["result_ttl"]
        self.store.initial_credits = self.store.credits = self._defaults["credits"]

    def set_durations(self, queued=None, processing=None, job_seconds=None, sequence=None, func=None):
        """Durations of jobs submitted from now on: a pair, a total, a per-job sequence or a callable."""
        if func is not None:
            self.store.durations = func
        elif sequence is not None:
            self.store.durations = jobs.sequence_durations(sequence)
        else:
            self.store.durations = self._make_durations(job_seconds, queued, processing)

    def configure(self, result_ttl=None, credits=None):
        if result_ttl is not None:
            self.store.result_ttl = float(result_ttl)
        if credits is not None:
            self.store.initial_credits = self.store.credits = int(credits)

    @property
    def result_ttl(self):
        return self.store.result_ttl

    @result_ttl.setter
    def result_ttl(self, value):
        self.store.result_ttl = float(value)

    @property
    def requests(self):
        """The request log: dicts with method, path, query, endpoint, headers (no key), time, mono,
        status ("dropped" when the socket was closed), task_id, fault, sent_api_key."""
        return self.ailab.log.entries()

    def requests_since(self, since=0):
        return self.ailab.log.entries(since)

    def task_info(self, task_id):
        """One task's record (status, durations, ready_at, polls, poll_times, ...) or None."""
        return self.store.describe().get(task_id)

    def stats(self):
        durations = self.store.durations
        return {
            "counts": self.ailab.log.counts(),
            "tasks": self.store.describe(),
            "faults": self.faults.describe(),
            "credits": self.store.credits,
            "result_ttl": self.store.result_ttl,
            "durations": getattr(durations, "description", {"callable": repr(durations)}),
        }


def run_until_stopped(srv, done=None, should_stop=None, tick=0.25):
    """The one serve loop (``smart-beauty serve`` and ``python -m smart_beauty_server``): keep the
    started ``srv`` serving until SIGTERM, Ctrl-C, ``done`` (an Event) is set or ``should_stop()`` says
    so (checked every ``tick`` s); then stop it. Returns the exit code, 0."""
    done = done or threading.Event()
    # SIGTERM only leaves a note, read every tick: a handler that set ``done`` could run while this very
    # thread holds ``done``'s lock inside done.wait(), and wait for it for ever (a server stopped by
    # 'serve --stop' then never ended)
    terminated = []
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: terminated.append(signum))
    try:
        while not terminated and not done.wait(tick):
            if terminated or (should_stop is not None and should_stop()):
                break
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


def tell_people(srv):
    """The line a person starting a server by hand reads on stderr: where it is and its test key."""
    hint = " (test API key: %s)" % DEFAULT_KEY if DEFAULT_KEY in srv.api_keys else ""
    print("Local AILab server on %s%s" % (srv.url, hint), file=sys.stderr, flush=True)


def serve_forever(host="127.0.0.1", port=8787, print_url=False, exit_on_stdin_eof=False, **options):
    """Run a ``LocalAilab`` until SIGINT/SIGTERM (or stdin EOF): ``python -m smart_beauty_server``
    (the tests' session server). ``smart-beauty serve`` is :func:`smart_beauty_server.serve.serve`; both
    run :func:`run_until_stopped`."""
    srv = LocalAilab(port=port, host=host, **options)
    srv.start()
    done = threading.Event()
    if print_url:
        print(srv.url, flush=True)
    else:
        tell_people(srv)
    if exit_on_stdin_eof:
        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            done.set()

        threading.Thread(target=watch_stdin, name="ailab-stdin", daemon=True).start()
    return run_until_stopped(srv, done, tick=0.5)
