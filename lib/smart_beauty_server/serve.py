"""``smart-beauty serve``: the local AILab server for people and for the plug-ins.

For people: ``smart-beauty serve --port 8787`` prints the URL and the test key and runs until Ctrl-C.
For the plug-ins (``smart_beauty.localserver``): ``--port 0 --announce --idle-exit 600`` binds a free
loopback port, accepts only a random key made for this run, never accepts ``fault:`` keys (a person
gets them only with ``--allow-fault-keys``), prints ONE
JSON line ``{"url", "key", "pid", "engine", "version"}`` on stdout (then nothing more there) and exits once no
request has come for ``--idle-exit`` seconds (and no job is running).
"""
import json
import os
import secrets
import sys
import threading
import time

import smart_beauty
from smart_beauty_server import LocalAilab
from smart_beauty_server.local import run_until_stopped, tell_people

#: a status query of a job the engine is still running is answered when it ends (or after this many
#: seconds): the client learns of a 30 ms job at once instead of at its next poll, and asks less
HOLD_POLLS = 0.5


class Activity:
    """WSGI wrapper: remembers when the last request ended and how many are in flight."""

    def __init__(self, app):
        self.app = app
        self.last = time.monotonic()
        self.active = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            self.active += 1
            self.last = time.monotonic()
        try:
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self.active -= 1
                self.last = time.monotonic()

    def idle_for(self):
        with self._lock:
            return 0.0 if self.active else time.monotonic() - self.last


def _busy(srv):
    try:
        tasks = srv.store.describe()
    except Exception:  # noqa: BLE001
        return False
    return any(str(t.get("status")) in ("queued", "processing", "0", "1") for t in tasks.values())


def serve(host="127.0.0.1", port=8787, engine=None, engine_name="offline", job_seconds=0.0, announce=False,
          idle_exit=None, out=None, allow_fault_keys=False):
    """Run until SIGINT/SIGTERM, or ``idle_exit`` seconds without requests. Returns an exit code."""
    out = out or sys.stdout
    key = secrets.token_urlsafe(24) if announce else None
    srv = LocalAilab(port=port, host=host, engine=engine, job_seconds=job_seconds,
                     api_keys=[key] if key else None, allow_fault_keys=allow_fault_keys and not announce,
                     quiet=announce, credits=None,   # the offline engine is free: no credits to run out of
                     control_token=os.environ.get("SB_CONTROL_TOKEN") or None,   # tests count requests
                     hold_polls=HOLD_POLLS)
    activity = Activity(srv.app)
    srv.app = activity           # LocalAilab.start() serves whatever srv.app is
    srv.start()
    if announce:
        out.write(json.dumps({"url": srv.url, "key": key, "pid": os.getpid(), "engine": engine_name,
                              "version": smart_beauty.__version__}) + "\n")
        out.flush()
        if out is sys.stdout:    # the parent reads one line and closes the pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
    else:
        tell_people(srv)
        out.write(srv.url + "\n")
        out.flush()

    def idle():
        if idle_exit and activity.idle_for() >= idle_exit and not _busy(srv):
            print("smart-beauty serve: idle for %gs, exiting." % idle_exit, file=sys.stderr, flush=True)
            return True
        return False
    return run_until_stopped(srv, should_stop=idle, tick=0.25)
