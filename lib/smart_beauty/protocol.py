"""The AILab Smart Beauty wire protocol, in one place, with no I/O.

Facts (the vendor's API pages and SDKs; the local server, ``smart_beauty_server``, speaks the same
protocol and docs/openapi-local.yaml describes it): submit is a multipart POST with header
``ailabapi-api-key`` and fields ``task_type=async``, ``image_target`` (file), ``multi_face`` ("1" or
absent), ``beauty_level`` (decimal string); the task is polled with
``GET /api/common/query-async-task-result?task_id=``; ``task_status`` 0 queued, 1 processing,
2 done with the result in ``data.image_url``. A reply succeeded when HTTP is 200 **and**
``error_code`` is 0; public fields are parsed before business fields, and every one is optional.
Errors branch on ``error_detail.code`` (HTTP 429 means both "rate limited" and "out of credits").

Assumptions (undocumented, handled defensively): ``task_status`` may sit in ``data`` instead of the
top level; 3 (and any value other than 0/1/2) means the task failed; a failed task is reported on a
poll as a non-200 reply with an AILab error body.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import json

from . import errors
from .compat import string_types, text_type, to_text

DEFAULT_BASE_URL = "https://www.ailabapi.com"
SUBMIT_PATH = "/api/portrait/effects/smart-beauty"
QUERY_PATH = "/api/common/query-async-task-result"
CREDITS_PATH = "/api/common/query-credits"
KEY_HEADER = "ailabapi-api-key"

TASK_QUEUED = 0
TASK_PROCESSING = 1
TASK_DONE = 2
PENDING_STATUSES = (TASK_QUEUED, TASK_PROCESSING)

#: Service limits for ``image_target`` (the service's page).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_SIDE_EXCLUSIVE = 4096
UPLOAD_FORMATS = ("jpeg", "png", "bmp")

# Codes that mean "not now" rather than "never": safe and useful to retry after a pause.
TRANSIENT_CODES = frozenset([
    "EXCEEDING_LIMITS", "AI_SERVICE_FLOW_RESTRICTION", "ERROR_INSUFFICIENT_RESOURCES",
    "ERROR_RESOURCE_UNAVAILABLE",
])
NO_CREDITS_CODES = frozenset(["ERROR_NOT_ENOUGH_CREDITS"])
AUTH_CODES = frozenset(["ERROR_USER_NOT_EXISTS", "ERROR_APPLICATIONS_NOT_EXISTS"])
LOCKED_CODES = frozenset(["ERROR_USER_LOCKED", "ERROR_ILLEGAL_OPERATION"])
FACE_CODES = frozenset([
    "ERROR_NO_FACE_IN_FILE", "ERROR_FACE_NOT_FOUND", "ERROR_FACE_SIZE_NOT_MEET_REQUIREMENTS",
    "ERROR_FACE_SIZE_RATIO_NOT_MET", "ERROR_SMALL_FACE_SIZE", "ERROR_FACE_UNRECOGNIZABLE",
    "ERROR_POOR_FACE_QUALITY", "ERROR_BLURRY_FACE", "ERROR_OBSTRUCTED_FACE", "ERROR_POOR_FACE_LIGHTING",
    "ERROR_INCOMPLETE_FACE", "ERROR_FACE_NOT_FACING_FORWARD", "ERROR_CARTOON_FACE_NOT_SUPPORTED",
    "ERROR_FACE_COUNT_INVALID",
])
TOO_BIG_CODES = frozenset([
    "FILE_SIZE_EXCEEDS_LIMIT", "FILE_RESOLUTION_EXCEEDS_LIMITS", "ERROR_HIGH_RESOLUTION",
    "ERROR_REQUEST_BODY_TOO_LARGE", "ERROR_TOO_MANY_FILES",
])
EXPIRED_CODES = frozenset(["ERROR_TASK_REVOKED", "ERROR_RESOURCE_RECLAIMED", "ERROR_RESOURCE_NOT_FOUND"])
# Our local server's own answer (AILab has none): the offline engine could not write a result because the
# disk of the computer it runs on -- the user's -- is full.
DISK_FULL_STATUS, DISK_FULL_CODE = 507, "ERROR_INSUFFICIENT_STORAGE"


def format_level(level):
    """``beauty_level`` as the decimal string the service expects ("0.8"), checked to be in [0, 1]."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise errors.BadInputError("The beauty level must be a number between 0 and 1.")
    if not 0.0 <= value <= 1.0 or value != value:
        raise errors.BadInputError("The beauty level must be between 0 and 1 (got %s)." % (level,))
    text = ("%.3f" % value).rstrip("0").rstrip(".")
    return text or "0"


#: Our local server's own submit fields (not the service's; it ignores them): ``smart_beauty_<effect>``
#: per strength of :class:`smart_beauty.effects.Effects` (docs/openapi-local.yaml).
EFFECT_FIELD_PREFIX = "smart_beauty_"


def plain_level(level, effects):
    """The ``beauty_level`` a request carries: the strengths' own when ``effects`` (an
    :class:`~smart_beauty.effects.Effects` or None) are one plain level, else ``level``."""
    if effects is not None and effects.level() is not None:
        return effects.level()
    return level


def submit_fields(level, multi_face, effects=None, task_type="async"):
    """The non-file multipart fields of a submit, in a stable order. ``effects`` (an
    :class:`~smart_beauty.effects.Effects`): our local server's per-effect fields are added -- only
    ever for that server (see :meth:`smart_beauty.client.Client.submit`). ``task_type`` "sync": the
    answer carries the result (only our local server's previews ask for that)."""
    fields = [("task_type", task_type), ("beauty_level", format_level(level))]
    if multi_face:
        # "1" = retouch every face; any other value or no field = only the largest face.
        fields.append(("multi_face", "1"))
    if effects is not None:
        fields.extend((EFFECT_FIELD_PREFIX + name, format_level(getattr(effects, name)))
                      for name in effects.__slots__)
    return fields


class Reply(object):
    """A parsed reply: the public fields first, then the raw business body."""

    __slots__ = ("http_status", "body", "is_json", "error_code", "code", "code_message", "message",
                 "request_id", "log_id", "retry_after")

    def __init__(self, http_status, body, is_json, retry_after=None):
        self.http_status = http_status
        self.body = body if isinstance(body, dict) else {}
        self.is_json = is_json and isinstance(body, dict)
        self.retry_after = retry_after
        b = self.body
        detail = b.get("error_detail") if isinstance(b.get("error_detail"), dict) else {}
        self.error_code = _as_int(b.get("error_code"), 0 if http_status == 200 else http_status)
        self.code = _clean(detail.get("code")) or _clean(b.get("error_code_str"))
        self.code_message = _clean(detail.get("code_message"))
        self.message = _clean(detail.get("message")) or _clean(b.get("error_msg"))
        self.request_id = _clean(b.get("request_id"))
        self.log_id = _clean(b.get("log_id"))

    @property
    def ok(self):
        return self.http_status == 200 and self.is_json and self.error_code == 0

    @property
    def has_ailab_error(self):
        """True when the body is an AILab error description (not a gateway page or an empty body)."""
        return self.is_json and (self.error_code not in (0, None) or bool(self.code))

    def task_status(self):
        """``task_status`` from the top level, else from ``data`` (vendor SDKs read both)."""
        value = self.body.get("task_status")
        if value is None and isinstance(self.body.get("data"), dict):
            value = self.body["data"].get("task_status")
        return _as_int(value, None)

    def result_url(self):
        data = self.body.get("data")
        url = data.get("image_url") if isinstance(data, dict) else None
        return url if isinstance(url, string_types) and url else None

    def task_id(self):
        value = self.body.get("task_id")
        if value is None and isinstance(self.body.get("data"), dict):
            value = self.body["data"].get("task_id")
        return _clean(value)


class TaskState(object):
    """What one status query said: ``status`` 0/1 pending, 2 done (then ``image_url`` is set)."""

    __slots__ = ("status", "image_url", "request_id")

    def __init__(self, status, image_url=None, request_id=None):
        self.status, self.image_url, self.request_id = status, image_url, request_id

    @property
    def done(self):
        return self.status == TASK_DONE


def parse_reply(http_status, content, retry_after=None):
    """Parse raw reply bytes. Non-JSON bodies are allowed here; callers decide what they mean."""
    body, is_json = None, False
    if content:
        try:
            body = json.loads(to_text(content))
            is_json = isinstance(body, dict)
        except ValueError:
            body = None
    return Reply(http_status, body, is_json, retry_after)


def is_transient(reply):
    """Whether a failed reply is worth retrying after a pause (idempotent calls only).

    Retry: 429/503 with a "limit" code, and 5xx replies that carry no AILab error (gateway pages,
    empty bodies). Never: 429 out-of-credits, any other AILab error (a task that failed on the
    service stays failed), 4xx.
    """
    if reply.code in NO_CREDITS_CODES:
        return False
    if reply.code in TRANSIENT_CODES:
        return True
    if reply.http_status == 429:
        return not reply.has_ailab_error or reply.code in TRANSIENT_CODES
    if reply.http_status >= 500:
        return not reply.has_ailab_error
    return False


def error_for(reply, phase):
    """Map a failed reply to the error a user should see. ``phase``: submit, query, credits."""
    status, code = reply.http_status, reply.code
    kw = dict(request_id=reply.request_id or reply.log_id, code=code, http_status=status,
              detail=_detail(reply))
    if code in NO_CREDITS_CODES:
        return errors.NoCreditsError(**kw)
    if code in AUTH_CODES or status == 401:
        return errors.AuthError(**kw)
    if code in LOCKED_CODES or status == 403:
        return errors.AuthError("Your AILab account is locked or not allowed to use Smart Beauty; "
                                "contact AILabTools support.", **kw)
    if code in FACE_CODES:
        return errors.NoFaceError(**kw)
    if code == DISK_FULL_CODE:
        return errors.DiskFullError(**kw)
    if code in TRANSIENT_CODES or status == 429:
        return errors.RateLimitError(**kw)
    if code in TOO_BIG_CODES or status == 413:
        return errors.BadInputError("The image is larger than the service accepts (5 MB, under 4096x4096 px); "
                                    "scale it down and try again.", **kw)
    if code in ("UNSUPPORTED_FILE_TYPES", "ERROR_UNSUPPORTED_GRAYSCALE_IMAGE") or status == 415:
        return errors.BadInputError("The service cannot read this kind of image; export it as RGB PNG or JPEG "
                                    "and try again.", **kw)
    if status == 422:
        return errors.BadInputError("The service could not use this image (%s); try another photo."
                                    % (reply.code_message or code or "unreadable image").rstrip("."), **kw)
    if phase == "query" and (code in EXPIRED_CODES or status in (404, 410)):
        return errors.ResultExpiredError("The service no longer knows this task (results are kept 24 hours); "
                                         "run Smart Beauty again.", **kw)
    if status == 404:
        return errors.ServiceError("The Smart Beauty service was not found at the configured address; "
                                   "check the API base URL in your settings.", **kw)
    if 400 <= status < 500:
        return errors.BadInputError("The service rejected the request (%s); check the beauty level and the image."
                                    % (code or "HTTP %d" % status), **kw)
    if status == 200 and not reply.is_json:
        return errors.ServiceError("The Smart Beauty service sent a reply that could not be read; "
                                   "try again in a few minutes.", **kw)
    if status == 504:
        return errors.ServiceError("The Smart Beauty service timed out while processing; "
                                   "try again in a few minutes.", **kw)
    return errors.ServiceError("The Smart Beauty service failed (%s); try again in a few minutes."
                               % (code or "HTTP %d" % status), **kw)


def _detail(reply):
    parts = [p for p in (reply.code, reply.code_message, reply.message) if p]
    return " - ".join(parts) or None


def _clean(value):
    if value is None:
        return None
    value = text_type(value).strip()
    return value or None


def _as_int(value, default):
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
