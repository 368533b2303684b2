"""Fault injection: a catalogue of ways the real service (or the network) misbehaves.

A fault is chosen per test (``LocalAilab.inject(name, **params)`` or ``POST /_control/inject``) or
per API key: a request whose ``ailabapi-api-key`` is ``fault:<name>`` or ``fault:<name>:k=v,k2=v2``
is accepted as a valid key and gets that fault (state such as ``times`` is kept per key string).

Every fault takes two common parameters:

* ``endpoint``: ``submit``, ``poll``, ``download``, ``credits`` or ``any`` (default: per fault);
* ``times``: apply to the first N matching requests only, then behave normally (transient faults
  for retry tests). Default: every matching request. Job faults count submits.

Catalogue (name: parameters -> behaviour; default endpoint in brackets):

==================  ================================  ===========================================
error               status, code, message,            AILab error body, error_code == status;
                    retry_after                       either status or code may be omitted [submit]
no_credits          retry_after, message              429 ERROR_NOT_ENOUGH_CREDITS [submit]
rate_limit          retry_after, message              429 EXCEEDING_LIMITS [submit]
flow_restriction    retry_after, message              503 AI_SERVICE_FLOW_RESTRICTION [submit]
no_body             status=502, retry_after           status with an empty body [poll]
html                status=502                        an HTML "Bad Gateway" page [poll]
malformed_json      status=200                        application/json that is not JSON [poll]
empty_body          status=200                        application/json, zero bytes [poll]
drop                                                  socket closed, no response at all [poll]
delay               seconds=1.0                       sleep, then answer normally [poll]
slow                queued, processing (seconds)      job durations for the next jobs [submit]
stuck               status=1                          job never leaves ``status`` (0 or 1) [submit]
task_failed         status=422,                       job fails when it would be done; the poll
                    code=ERROR_NO_FACE_IN_FILE,       then answers status + AILab body [submit]
                    message
task_status         value=3                           poll answers this ``task_status`` [poll]
status_in_data      (none)                            poll puts task_status only in
                                                      ``data.task_status`` [poll]
expired             (none)                            result download answers 404 [download]
truncated           fraction=0.5                      Content-Length is the full size, only the
                                                      fraction is sent, then the socket closes
                                                      [download]
not_image           status=200,                       an HTML page instead of the PNG [download]
                    content_type=text/html
oversized           size=67108864, content_length=1   a PNG signature + zeros, ``size`` bytes,
                                                      (content_length=0: chunked) [download]
==================  ================================  ===========================================

Which of these the real service does is mostly unknown (its pages do not say):
they are here so a client can be shown to survive them.
"""

from __future__ import annotations

import itertools
import threading

ENDPOINTS = ("submit", "poll", "download", "credits")

# name -> (kind, default endpoint, allowed params, default params)
#   kind: "response" (replaces the answer), "delay", "job" (changes a submitted job),
#         "poll" (reshapes a successful poll), "download" (reshapes a result download)
CATALOGUE = {
    "error": ("response", "submit", {"status", "code", "message", "retry_after"}, {}),
    "no_credits": ("response", "submit", {"retry_after", "message"}, {"code": "ERROR_NOT_ENOUGH_CREDITS"}),
    "rate_limit": ("response", "submit", {"retry_after", "message"}, {"code": "EXCEEDING_LIMITS"}),
    "flow_restriction": (
        "response", "submit", {"retry_after", "message"}, {"code": "AI_SERVICE_FLOW_RESTRICTION"},
    ),
    "no_body": ("response", "poll", {"status", "retry_after"}, {"status": 502}),
    "html": ("response", "poll", {"status"}, {"status": 502}),
    "malformed_json": ("response", "poll", {"status"}, {"status": 200}),
    "empty_body": ("response", "poll", {"status"}, {"status": 200}),
    "drop": ("response", "poll", set(), {}),
    "delay": ("delay", "poll", {"seconds"}, {"seconds": 1.0}),
    "slow": ("job", "submit", {"queued", "processing"}, {}),
    "stuck": ("job", "submit", {"status"}, {"status": 1}),
    "task_failed": (
        "job", "submit", {"status", "code", "message"}, {"status": 422, "code": "ERROR_NO_FACE_IN_FILE"},
    ),
    "task_status": ("poll", "poll", {"value"}, {"value": 3}),
    "status_in_data": ("poll", "poll", set(), {}),
    "expired": ("response", "download", set(), {}),
    "truncated": ("download", "download", {"fraction"}, {"fraction": 0.5}),
    "not_image": (
        "response", "download", {"status", "content_type"}, {"status": 200, "content_type": "text/html"},
    ),
    "oversized": (
        "response", "download", {"size", "content_length"}, {"size": 64 * 1024 * 1024, "content_length": 1},
    ),
}

_COMMON = {"endpoint", "times"}
_ids = itertools.count(1)


class Fault:
    """One active fault. ``remaining`` is None (unlimited) or the count still to apply."""

    def __init__(self, name, params=None, source="inject"):
        if name not in CATALOGUE:
            raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(sorted(CATALOGUE))))
        kind, default_endpoint, allowed, defaults = CATALOGUE[name]
        params = dict(params or {})
        unknown = set(params) - allowed - _COMMON
        if unknown:
            raise ValueError("fault %r does not take %s" % (name, ", ".join(sorted(unknown))))
        endpoint = params.pop("endpoint", default_endpoint)
        if kind in ("job",) and endpoint != "submit":
            raise ValueError("fault %r only applies to submit" % name)
        if kind in ("poll",) and endpoint != "poll":
            raise ValueError("fault %r only applies to poll" % name)
        if kind == "download" and endpoint != "download":
            raise ValueError("fault %r only applies to download" % name)
        if endpoint != "any" and endpoint not in ENDPOINTS:
            raise ValueError("unknown endpoint %r" % (endpoint,))
        times = params.pop("times", None)
        self.id = next(_ids)
        self.name = name
        self.kind = kind
        self.endpoint = endpoint
        self.params = dict(defaults, **params)
        self.remaining = None if times is None else int(times)
        self.hits = 0
        self.source = source

    def matches(self, endpoint):
        return (self.endpoint == "any" or self.endpoint == endpoint) and self.remaining != 0

    def describe(self):
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "params": dict(self.params),
            "remaining": self.remaining,
            "hits": self.hits,
            "source": self.source,
        }


def _parse_value(text):
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_fault_key(key):
    """``"fault:name"`` / ``"fault:name:k=v,k2=v2"`` -> ``(name, params)``; None if not a fault key."""
    if not key or not key.startswith("fault:"):
        return None
    rest = key[len("fault:"):]
    name, _, args = rest.partition(":")
    params = {}
    for item in filter(None, (a.strip() for a in args.split(","))):
        k, sep, v = item.partition("=")
        if not sep:
            raise ValueError("bad fault key parameter %r (want k=v)" % item)
        params[k.strip()] = _parse_value(v)
    return name, params


class FaultBook:
    """Thread-safe registry of injected faults and per-key faults."""

    def __init__(self):
        self._lock = threading.Lock()
        self._injected = []
        self._by_key = {}

    def inject(self, name, **params):
        fault = Fault(name, params)
        with self._lock:
            self._injected.append(fault)
        return fault.id

    def reset(self):
        with self._lock:
            self._injected = []
            self._by_key = {}

    def key_fault(self, key):
        """The (cached) Fault for a fault key; raises ValueError for a malformed one."""
        with self._lock:
            fault = self._by_key.get(key)
        if fault is None:
            parsed = parse_fault_key(key)
            if parsed is None:
                return None
            fault = Fault(parsed[0], parsed[1], source="key")
            with self._lock:
                fault = self._by_key.setdefault(key, fault)
        return fault

    def take(self, endpoint, kinds, key=None):
        """Consume and return the first matching fault of one of ``kinds`` (per-key first), or None."""
        with self._lock:
            candidates = []
            if key is not None and key in self._by_key:
                candidates.append(self._by_key[key])
            candidates.extend(self._injected)
            for fault in candidates:
                if fault.kind in kinds and fault.matches(endpoint):
                    fault.hits += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
        return None

    def describe(self):
        with self._lock:
            return [f.describe() for f in self._injected] + [f.describe() for f in self._by_key.values()]
