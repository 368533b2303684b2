"""``/_control/...``: a small JSON API so a test process in another language or Python version
(e.g. the library's tests under a real Python 2.7) can drive a server running elsewhere.

Not part of AILab. Served only when the server is bound to a loopback address, only to loopback
peers, and only with the control token (header ``X-Control-Token``) given at start.

==========================  ======  ===========================================================
path                        method  body / answer
==========================  ======  ===========================================================
/_control/info              GET     -> {url, valid_key, faults: [names], max_upload_bytes}
/_control/inject            POST    {"name": ..., "params": {...}} -> {"id": n}
/_control/reset             POST    clears faults, tasks, request log, credits, durations, ttl
/_control/stats             GET     -> ``LocalAilab.stats()``
/_control/requests          GET     ?since=N -> {"requests": [...]}
/_control/tasks/<task_id>   GET     -> one task's record (404 if unknown)
/_control/durations         POST    {"queued", "processing"} | {"job_seconds"} | {"sequence": [[q, p], ...]}
/_control/config            POST    {"result_ttl": seconds, "credits": n}
==========================  ======  ===========================================================
"""

from __future__ import annotations

import hmac
import json

from werkzeug.wrappers import Request, Response

from smart_beauty_server import protocol
from smart_beauty_server.faults import CATALOGUE

TOKEN_HEADER = "X-Control-Token"


def _json(obj, status=200):
    return Response(json.dumps(obj), status=status, content_type="application/json")


def _error(status, code, message):
    return _json(protocol.error_body(status, code, message), status)


class ControlApi:
    def __init__(self, server, token, is_loopback):
        if not token:
            raise ValueError("the control API needs a token")
        self.server = server
        self.token = token
        self._is_loopback = is_loopback

    def __call__(self, environ, start_response):
        return self._handle(Request(environ))(environ, start_response)

    def _handle(self, request):
        if not self._is_loopback(request.remote_addr or ""):
            return _error(403, "ERROR_ILLEGAL_OPERATION", "control API is loopback only")
        given = request.headers.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8")):
            return _error(403, "ERROR_ILLEGAL_OPERATION", "missing or wrong control token")
        action = request.path[len("/_control/"):]
        request.max_content_length = 1024 * 1024
        try:
            body = request.get_json(force=True, silent=True) if request.method == "POST" else None
            return self._route(request, action, body or {})
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, "ERROR_INVALID_PARAMETER", str(exc))

    def _route(self, request, action, body):
        srv = self.server
        get, post = request.method == "GET", request.method == "POST"
        if action == "info" and get:
            return _json({
                "url": srv.url,
                "valid_key": srv.valid_key,
                "faults": sorted(CATALOGUE),
                "max_upload_bytes": srv.max_upload_bytes,
            })
        if action == "inject" and post:
            return _json({"id": srv.inject(body["name"], **dict(body.get("params") or {}))})
        if action == "reset" and post:
            srv.reset()
            return _json({"ok": True})
        if action == "stats" and get:
            return _json(srv.stats())
        if action == "requests" and get:
            return _json({"requests": srv.requests_since(int(request.args.get("since", 0)))})
        if action.startswith("tasks/") and get:
            info = srv.task_info(action[len("tasks/"):])
            if info is None:
                return _error(404, "ERROR_RESOURCE_NOT_FOUND", "no such task")
            return _json(info)
        if action == "durations" and post:
            srv.set_durations(**body)
            return _json({"ok": True})
        if action == "config" and post:
            srv.configure(**body)
            return _json({"ok": True})
        return _error(404, "ERROR_RESOURCE_NOT_FOUND",
                      "no such control action: %s %s" % (request.method, action))
