"""The AILab-compatible WSGI application: routing, validation, responses, request log.

Facts from the AILab docs: the three endpoints and their methods; header ``ailabapi-api-key``;
multipart fields ``task_type`` (``async``; the sync page makes it optional with default ``sync``),
``image_target`` (file), ``beauty_level`` (decimal string in [0, 1], default 1), ``multi_face``
(``"1"`` = all faces, anything else = the largest face); the async submit body (``task_type``,
``task_id``); the poll body (``task_status`` top level, ``data.image_url``); the sync body
(``data.image`` = base64); the credits body (``data`` = list of packs); result URLs downloadable
without the key; HTTP status == ``error_code``.

Ours, not the service's: the optional per-effect fields of :data:`protocol.EFFECT_FIELDS`
(``smart_beauty_smooth``, ``_tone``, ``_slim``, ``_eyes``, ``_lips``, ``_texture``; each a decimal
string in [0, 1], checked like ``beauty_level``). They reach the engine as an
:class:`smart_beauty.effects.Effects`: ``Effects.from_level(beauty_level)`` with the given ones
replaced. The AILab service has no such fields and ignores unknown ones; our client sends them only
to this server when it runs the offline engine (``smart_beauty.client.Client.local``).

Our assumptions (undocumented, kept simple and stated): validation order (key, body size, task_type,
beauty_level, the effect fields, image_target, then the image checks of ``images.decode``); a missing or unknown key
is 401 ERROR_USER_NOT_EXISTS; an unknown task (or one whose result has expired) is
404 ERROR_RESOURCE_NOT_FOUND; any key may poll any task; the poll of a queued/processing task has
``data.image_url == ""`` as in the docs' example; result downloads behave like a static file host,
so their errors (404 when unknown or expired) are plain text, not AILab bodies; a request body over
the server's upload limit is refused from its Content-Length before it is read
(413 ERROR_REQUEST_BODY_TOO_LARGE) and Werkzeug's ``max_content_length`` stops chunked bodies while
they are parsed; either way the rest of the body is not read (see ``_too_large``).
"""

from __future__ import annotations

import base64
import io
import re
import socket
import threading
import time
from collections import Counter

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from smart_beauty_engine import NoFaceFound
from smart_beauty_server import images, jobs, protocol
from smart_beauty_server.protocol import parse_effects, parse_level

SUBMIT_PATH = "/api/portrait/effects/smart-beauty"
POLL_PATH = "/api/common/query-async-task-result"
CREDITS_PATH = "/api/common/query-credits"
KEY_HEADER = "ailabapi-api-key"
_ROUTES = {SUBMIT_PATH: ("submit", "POST"), POLL_PATH: ("poll", "GET"), CREDITS_PATH: ("credits", "GET")}
_RESULT_RE = re.compile(r"^/results/([A-Za-z0-9_-]{8,64})\.png$")
_HIDDEN_HEADERS = {KEY_HEADER, "authorization", "cookie"}

GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
MALFORMED_JSON = b'{"error_code":0,"error_detail":{"status_code":200,"code":""},"task_status":2,"data":{"ima'


class _Request(Request):
    """While a request is parsed its upload stays in memory (bounded by the upload limit), never in a
    temp file of Werkzeug's; the task store then keeps it in its own private folder until the engine
    takes it."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


class _Dropped(Response):
    """Marker response: the client's socket is to be shut down, nothing will reach the client.

    The shutdown happens in ``AilabApp.__call__`` *after* the request is logged, so a client that sees
    the dropped connection and then asks ``/_control`` for the counts always finds this request there."""

    def __init__(self, environ):
        super().__init__(b"", status=500)
        self.environ = environ

    def shut(self):
        shut_socket(self.environ)


class RequestLog:
    """Every API request (not /_control): method, path, endpoint, headers minus the key, times.

    A request belongs to the log it arrived in: one still being answered when the log is cleared (a
    test's reset; e.g. a reply held back by a ``delay`` fault after its client gave up) is not added to
    the next one, where it would count as a request the next test never made."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []
        self._counts = Counter()
        self._generation = 0

    @property
    def generation(self):
        """Changes with every :meth:`clear`."""
        with self._lock:
            return self._generation

    def add(self, entry, generation):
        """Log ``entry``, a request that arrived while the log was at ``generation``; a request from
        before the last clear is left out."""
        with self._lock:
            if generation != self._generation:
                return
            entry["seq"] = len(self._entries)
            self._entries.append(entry)
            self._counts[entry["endpoint"]] += 1

    def entries(self, since=0):
        with self._lock:
            return [dict(e) for e in self._entries[since:]]

    def counts(self):
        with self._lock:
            counts = {name: self._counts.get(name, 0) for name in ("submit", "poll", "download", "credits")}
            counts["other"] = self._counts.get("other", 0)
            counts["total"] = len(self._entries)
            return counts

    def clear(self):
        with self._lock:
            self._entries = []
            self._counts = Counter()
            self._generation += 1


def json_response(body, status=200, headers=None):
    return Response(protocol.dumps(body), status=status, headers=headers, content_type="application/json")


def ailab_error(status=None, code=None, message=None, retry_after=None):
    body = protocol.error_body(status, code, message)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return json_response(body, body["error_code"], headers)


def drop_connection(environ):
    """A response that closes the client's socket without answering, once the request is logged."""
    return _Dropped(environ)


def shut_socket(environ):
    """Shut the client's socket down now (Werkzeug's dev server exposes it)."""
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("drop needs Werkzeug's server (environ['werkzeug.socket'])")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def host_name(header):
    """The name part of a Host header: "127.0.0.1:8787" -> "127.0.0.1", "[::1]:80" -> "::1"."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class AilabApp:
    """WSGI callable. ``control`` (a ``ControlApi`` or None) serves ``/_control/...``."""

    def __init__(self, store, faults, api_keys, allow_fault_keys=True, max_upload_bytes=10 * 1024 * 1024,
                 control=None, host_check=None, hold_polls=0.0):
        """``host_check``: None, or ``f(host) -> bool`` for the Host header's name: a server on a
        loopback address answers only requests addressed to a loopback name, so a web page whose
        domain was re-pointed at 127.0.0.1 (DNS rebinding) cannot use it from the user's browser.
        ``hold_polls``: seconds a status query waits for a running job to end (``TaskStore.poll``)."""
        self.host_check = host_check
        self.hold_polls = float(hold_polls)
        self.store = store
        self.faults = faults
        self.api_keys = set(api_keys)
        self.allow_fault_keys = allow_fault_keys
        self.max_upload_bytes = int(max_upload_bytes)
        self.control = control
        self.log = RequestLog()

    # -- WSGI ------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if self.host_check is not None and not self.host_check(host_name(environ.get("HTTP_HOST", ""))):
            response = Response(b"421 Misdirected Request: this server answers only to a loopback address "
                                b"(127.0.0.1, ::1 or localhost)\n", status=421, content_type="text/plain")
            return response(environ, start_response)
        if path.startswith("/_control/") or path == "/_control":
            if self.control is not None:
                return self.control(environ, start_response)
        generation = self.log.generation
        request = _Request(environ)
        request.max_content_length = self.max_upload_bytes
        endpoint, method = _ROUTES.get(path, (None, None))
        if endpoint is None and _RESULT_RE.match(path):
            endpoint, method = "download", "GET"
        entry = {
            "method": request.method,
            "path": path,
            "query": request.query_string.decode("latin-1"),
            "endpoint": endpoint or "other",
            "headers": {k: v for k, v in request.headers.items() if k.lower() not in _HIDDEN_HEADERS},
            "sent_api_key": KEY_HEADER in {k.lower() for k in request.headers.keys()},
            "time": time.time(),
            "mono": time.monotonic(),
            "status": None,
            "task_id": None,
            "fault": None,
        }
        if endpoint is None:
            response = ailab_error(404, "ERROR_AI_NOT_EXISTS", "no such API: %s" % path)
        elif request.method != method:
            response = ailab_error(405, "ERROR_METHOD_NOT_ALLOWED", "use %s" % method)
        else:
            response = self._dispatch(endpoint, request, entry, generation)
        entry["status"] = "dropped" if isinstance(response, _Dropped) else response.status_code
        self.log.add(entry, generation)
        if isinstance(response, _Dropped):
            response.shut()
        return response(environ, start_response)

    # -- dispatch with faults --------------------------------------------------------------------
    def _dispatch(self, endpoint, request, entry, generation):
        fault_key = None
        task = None
        if endpoint == "download":
            token = _RESULT_RE.match(request.path).group(1)
            task = self.store.task_for_token(token)
            fault_key = task.fault_key if task is not None else None
        else:
            key = request.headers.get(KEY_HEADER, "")
            if key.startswith("fault:") and self.allow_fault_keys:
                try:
                    if self.faults.key_fault(key) is None:
                        raise ValueError("not a fault key")
                except ValueError as exc:
                    return ailab_error(400, "ERROR_INVALID_PARAMETER", "bad fault key: %s" % exc)
                fault_key = key
            elif key not in self.api_keys:
                return ailab_error(401, "ERROR_USER_NOT_EXISTS", "invalid or missing API key")
        delay = self.faults.take(endpoint, ("delay",), fault_key)
        if delay is not None:
            time.sleep(min(float(delay.params["seconds"]), 120.0))
            if self.log.generation != generation:
                # The server was reset while this reply was held back: the request is the last
                # test's, and it must not make a task (or take credits) in the next one.
                return drop_connection(request.environ)
        fault = self.faults.take(endpoint, ("response",), fault_key)
        if fault is not None:
            entry["fault"] = fault.name
            return self._fault_response(fault, request)
        handler = getattr(self, "_" + endpoint)
        return handler(request, entry, fault_key, task)

    def _fault_response(self, fault, request):
        p = fault.params
        name = fault.name
        if name in ("error", "no_credits", "rate_limit", "flow_restriction"):
            return ailab_error(p.get("status"), p.get("code"), p.get("message"), p.get("retry_after"))
        if name == "no_body":
            headers = {"Retry-After": str(p["retry_after"])} if p.get("retry_after") is not None else None
            return Response(b"", status=int(p["status"]), headers=headers)
        if name == "html":
            return Response(GATEWAY_HTML, status=int(p["status"]), content_type="text/html")
        if name == "malformed_json":
            return Response(MALFORMED_JSON, status=int(p["status"]), content_type="application/json")
        if name == "empty_body":
            return Response(b"", status=int(p["status"]), content_type="application/json")
        if name == "drop":
            return drop_connection(request.environ)
        if name == "expired":
            return _not_found()
        if name == "not_image":
            page = b"<!DOCTYPE html><html><body><h1>Sign in to continue</h1></body></html>\n"
            return Response(page, status=int(p["status"]), content_type=str(p["content_type"]))
        if name == "oversized":
            return _oversized(int(p["size"]), bool(p["content_length"]))
        raise AssertionError("unhandled fault %s" % name)

    # -- endpoints -------------------------------------------------------------------------------
    def _submit(self, request, entry, fault_key, _task):
        if request.content_length is not None and request.content_length > self.max_upload_bytes:
            # Refuse from the header, before reading the body.
            return self._too_large(request)
        try:
            form, files = request.form, request.files
        except RequestEntityTooLarge:
            # A chunked body (no Content-Length) stops at the limit while it is parsed.
            return self._too_large(request)
        task_type = form.get("task_type", "sync")
        if task_type not in ("async", "sync"):
            return ailab_error(400, "ERROR_INVALID_PARAMETER", "task_type must be 'async'")
        level = parse_level(form.get("beauty_level"))
        if level is None:
            return ailab_error(400, "ERROR_INVALID_PARAMETER", "beauty_level must be a number in [0, 1]")
        effects, problem = parse_effects(form, level)
        if problem is not None:
            return ailab_error(400, "ERROR_INVALID_PARAMETER", problem)
        multi_face = form.get("multi_face") == "1"
        upload = files.get("image_target")
        if upload is None:
            return ailab_error(400, "MISSING_PARAMETERS", "image_target is required")
        data = upload.read(images.MAX_FILE_BYTES + 1)
        try:
            rgb = images.decode(data)
        except images.ImageRejected as exc:
            return ailab_error(exc.status, exc.code, exc.message)
        if not self.store.has_credits():
            return ailab_error(429, "ERROR_NOT_ENOUGH_CREDITS", "not enough credits")
        if task_type == "sync":
            return self._run_sync(rgb, level, multi_face, effects)
        durations = stuck = fail = None
        job_fault = self.faults.take("submit", ("job",), fault_key)
        if job_fault is not None:
            entry["fault"] = job_fault.name
            p = job_fault.params
            if job_fault.name == "slow":
                base = self.store.durations({"level": level, "multi_face": multi_face})
                durations = (float(p.get("queued", base[0])), float(p.get("processing", base[1])))
            elif job_fault.name == "stuck":
                stuck = int(p["status"])
            elif job_fault.name == "task_failed":
                status, code = protocol.resolve(p.get("status"), p.get("code"))
                fail = (status, code, p.get("message"))
        del rgb  # checked; the engine decodes it again from disk when its turn comes (bounded memory)
        task = self.store.submit(bytes(data), level, multi_face, durations=durations, stuck=stuck, fail=fail,
                                 fault=entry["fault"], fault_key=fault_key, effects=effects)
        entry["task_id"] = task.id
        body = protocol.success_fields()
        body.update({"task_type": "async", "task_id": task.id})
        return json_response(body)

    def _too_large(self, request):
        """413, and stop reading: Werkzeug's server would otherwise drain (read and discard) up to
        10 GB of the rest so the client sees the 413, which keeps a thread busy for an exposed
        server. Shutting the read side ends that drain at once; a client still sending may see a
        connection reset instead of the 413 (ours never sends more than 5 MB)."""
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        return ailab_error(413, "ERROR_REQUEST_BODY_TOO_LARGE", "request body larger than %d bytes"
                           % self.max_upload_bytes)

    def _run_sync(self, rgb, level, multi_face, effects=None):
        try:
            png = self.store.run_sync(rgb, level, multi_face, effects)
        except NoFaceFound:
            return ailab_error(422, "ERROR_NO_FACE_IN_FILE")
        except Exception as exc:  # engine failure
            return ailab_error(500, "PROCESSING_FAILURE", "engine error: %s" % type(exc).__name__)
        body = protocol.success_fields()
        body.update({"task_type": "sync", "data": {"image": base64.b64encode(png).decode("ascii")}})
        return json_response(body)

    def _poll(self, request, entry, fault_key, _task):
        task_id = request.args.get("task_id", "")
        if not task_id:
            return ailab_error(400, "MISSING_PARAMETERS", "task_id is required")
        entry["task_id"] = task_id
        task, status = self.store.poll(task_id, self.hold_polls)
        if task is None:
            return ailab_error(404, "ERROR_RESOURCE_NOT_FOUND", "no such task")
        if status == jobs.FAILED:
            return ailab_error(*task.error)
        if status == jobs.EXPIRED:
            return ailab_error(404, "ERROR_RESOURCE_NOT_FOUND", "task result expired")
        body = protocol.success_fields()
        body["task_status"] = status
        url = request.host_url + "results/%s.png" % task.token if status == jobs.DONE else ""
        body["data"] = {"image_url": url}
        shape = self.faults.take("poll", ("poll",), fault_key)
        if shape is not None:
            entry["fault"] = shape.name
            if shape.name == "task_status":
                body["task_status"] = shape.params["value"]
            elif shape.name == "status_in_data":
                body["data"]["task_status"] = body.pop("task_status")
        return json_response(body)

    def _credits(self, request, entry, fault_key, _task):
        body = protocol.success_fields()
        balance = self.store.credits
        if balance is None:     # the offline service counts no credits: no pack to list
            body["data"] = []
            return json_response(body)
        body["data"] = [{
            "unique_sign": "local-test-pack",
            "name": "Local AILab test credits",
            "balance": balance,
            "total": self.store.initial_credits,
            "last_recharge_balance": self.store.initial_credits,
            "balance_warning": 0,
            "first_buy_time": "2025-01-01 00:00:00",
            "last_update_time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }]
        return json_response(body)

    def _download(self, request, entry, fault_key, task):
        token = _RESULT_RE.match(request.path).group(1)
        png = self.store.result(token)
        if png is None:
            return _not_found()
        entry["task_id"] = task.id if task is not None else None
        shape = self.faults.take("download", ("download",), fault_key)
        if shape is not None:
            entry["fault"] = shape.name
            sent = max(0, min(len(png) - 1, int(len(png) * float(shape.params["fraction"]))))
            return _truncated(png, sent, request.environ)
        return Response(png, status=200, content_type="image/png")


def _not_found():
    return Response(b"404 Not Found: this result does not exist or has expired\n", status=404,
                    content_type="text/plain; charset=utf-8")


def _truncated(data, sent, environ):
    def body():
        if sent:
            yield data[:sent]
        shut_socket(environ)

    resp = Response(body(), status=200, content_type="image/png", direct_passthrough=True)
    resp.headers["Content-Length"] = str(len(data))
    return resp


def _oversized(size, with_length):
    chunk = b"\0" * (1024 * 1024)

    def body():
        head = b"\x89PNG\r\n\x1a\n"
        yield head
        left = size - len(head)
        while left > 0:
            n = min(left, len(chunk))
            yield chunk[:n]
            left -= n

    resp = Response(body(), status=200, content_type="image/png", direct_passthrough=True)
    if with_length:
        resp.headers["Content-Length"] = str(size)
    return resp
