# -*- coding: utf-8 -*-
"""Handle on a local AILab server for tests: single source for Python 2.7 and 3.

The server itself (``smart_beauty_server``) is Python 3 only. Under Python 3 the fixture starts
it as a subprocess (``$SB_SERVER_PYTHON`` or this interpreter); under Python 2.7 (the library's
tests in a chroot that shares the host's loopback) point ``$SB_TEST_SERVER_URL`` and
``$SB_TEST_SERVER_TOKEN`` at a server started on the host, e.g.::

    SB_CONTROL_TOKEN=secret .venv/bin/python -m smart_beauty_server --port 8787 --job-seconds 0

Every call goes through the server's ``/_control`` JSON API with ``requests``.
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import os
import subprocess
import sys
import threading
import time

import requests

try:
    import queue
except ImportError:  # Python 2.7
    import Queue as queue  # noqa: N813

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(REPO, "lib")
TOKEN_HEADER = "X-Control-Token"
KEY_HEADER = "ailabapi-api-key"
SUBMIT_PATH = "/api/portrait/effects/smart-beauty"
POLL_PATH = "/api/common/query-async-task-result"
CREDITS_PATH = "/api/common/query-credits"


class ControlError(Exception):
    """The control API refused a call (bad fault name or parameter, wrong token...)."""


def fault_key(name, **params):
    """The API key that makes the server apply fault ``name`` to this key's requests."""
    if not params:
        return "fault:%s" % name
    args = ",".join("%s=%s" % (k, params[k]) for k in sorted(params))
    return "fault:%s:%s" % (name, args)


class AilabHandle(object):
    """Drive a running local AILab server: ``url``, ``valid_key``, faults, durations, stats."""

    def __init__(self, url, token, process=None):
        self.url = url.rstrip("/")
        self.control_token = token
        self.process = process
        self._session = requests.Session()
        info = self._call("GET", "info")
        self.valid_key = info["valid_key"]
        self.fault_names = info["faults"]
        self.max_upload_bytes = info["max_upload_bytes"]
        self.submit_url = self.url + SUBMIT_PATH
        self.poll_url = self.url + POLL_PATH
        self.credits_url = self.url + CREDITS_PATH

    def _call(self, method, action, payload=None, params=None):
        resp = self._session.request(method, self.url + "/_control/" + action, json=payload, params=params,
                                     headers={TOKEN_HEADER: self.control_token}, timeout=15)
        if resp.status_code != 200:
            raise ControlError("%s /_control/%s -> %s %s" % (method, action, resp.status_code, resp.text[:300]))
        return resp.json()

    fault_key = staticmethod(fault_key)

    def headers(self, key=None):
        return {KEY_HEADER: key if key is not None else self.valid_key}

    def inject(self, name, **params):
        """Activate fault ``name`` (common params: endpoint, times); returns its id."""
        return self._call("POST", "inject", {"name": name, "params": params})["id"]

    def reset(self):
        self._call("POST", "reset")

    def stats(self):
        """``{"counts": {submit, poll, download, credits, other, total}, "tasks": {id: {...}}, ...}``."""
        return self._call("GET", "stats")

    def requests(self, since=0):
        return self._call("GET", "requests", params={"since": since})["requests"]

    def task(self, task_id):
        """One task: status, queued_seconds, processing_seconds, submitted_at, ready_at, polls..."""
        return self._call("GET", "tasks/" + task_id)

    def set_durations(self, queued=None, processing=None, job_seconds=None, sequence=None):
        """Durations of the next jobs: ``queued``/``processing``, a total, or ``[[q, p], ...]`` per job."""
        payload = {}
        for name, value in (("queued", queued), ("processing", processing), ("job_seconds", job_seconds),
                            ("sequence", sequence)):
            if value is not None:
                payload[name] = value
        self._call("POST", "durations", payload)

    def configure(self, result_ttl=None, credits=None):
        payload = {}
        if result_ttl is not None:
            payload["result_ttl"] = result_ttl
        if credits is not None:
            payload["credits"] = credits
        self._call("POST", "config", payload)

    def close(self):
        self._session.close()
        if self.process is not None:
            self.process.stop()
            self.process = None


class ServerProcess(object):
    """``python -m smart_beauty_server --port 0 --print-url`` as a child process."""

    def __init__(self, python, token, job_seconds=0.2, extra_args=(), start_timeout=30.0):
        env = dict(os.environ)
        # Only our lib/: the caller's PYTHONPATH may be for another interpreter (e.g. a py2.7 test run).
        env["PYTHONPATH"] = LIB
        env["SB_CONTROL_TOKEN"] = token
        env.pop("AILAB_API_KEY", None)
        cmd = [python, "-m", "smart_beauty_server", "--port", "0", "--print-url",
               "--exit-on-stdin-eof", "--job-seconds", str(job_seconds)] + list(extra_args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=REPO)
        self.stderr_lines = []
        lines = queue.Queue()
        _daemon(self._pump, self.proc.stdout, lines.put)
        _daemon(self._pump, self.proc.stderr, self.stderr_lines.append)
        try:
            line = lines.get(timeout=start_timeout)
        except queue.Empty:
            line = None
        if not line or not line.startswith("http"):
            self.stop()
            raise RuntimeError("local AILab server did not start: %s" % "".join(self.stderr_lines)[-2000:])
        self.url = line.strip()

    @staticmethod
    def _pump(stream, sink):
        for raw in iter(stream.readline, b""):
            sink(raw.decode("utf-8", "replace"))
        stream.close()

    def stop(self, timeout=10.0):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # --exit-on-stdin-eof: a clean stop
            except (IOError, OSError):
                pass
            deadline = time.time() + timeout
            while self.proc.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.terminate()
                self.proc.wait()


def _daemon(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.daemon = True
    thread.start()
    return thread


def server_python():
    """Interpreter for the server: ``$SB_SERVER_PYTHON``, else this one if it is Python 3, else None."""
    if os.environ.get("SB_SERVER_PYTHON"):
        return os.environ["SB_SERVER_PYTHON"]
    if sys.version_info[0] >= 3:
        return sys.executable
    return None


def open_ailab(job_seconds=0.0):
    """An ``AilabHandle`` on ``$SB_TEST_SERVER_URL`` if set, else on a freshly started server.

    Its jobs take no time (``job_seconds``): the clients of the tests run on a virtual clock
    (``tests/virtual_clock.py``), which a server in another process cannot share; a test about how
    long a job takes sets durations (``set_durations``) or uses an in-process server on its clock.

    Returns ``(handle, None)`` or ``(None, reason)`` when no server can be had (Python 2.7 without
    ``$SB_TEST_SERVER_URL`` or ``$SB_SERVER_PYTHON``).
    """
    url = os.environ.get("SB_TEST_SERVER_URL")
    if url:
        token = os.environ.get("SB_TEST_SERVER_TOKEN", "")
        return AilabHandle(url, token), None
    python = server_python()
    if python is None:
        return None, ("the local AILab server needs Python 3: set SB_TEST_SERVER_URL + SB_TEST_SERVER_TOKEN "
                      "(a server started on the host) or SB_SERVER_PYTHON")
    token = binascii.hexlify(os.urandom(16)).decode("ascii")
    process = ServerProcess(python, token, job_seconds=job_seconds)
    try:
        return AilabHandle(process.url, token, process=process), None
    except Exception:
        process.stop()
        raise
