"""AILab wire format: public response fields, the error-code table, body builders.

Facts from the vendor's API pages (Smart Beauty, response description, async task query):

* every response carries the *public fields* ``request_id`` (an uppercase UUID in live captures),
  ``log_id`` (a numeric string), ``error_code`` (0 on success, otherwise **equal to the HTTP status**),
  ``error_code_str`` / ``error_msg`` (deprecated, optional) and
  ``error_detail{status_code, code, code_message, message}``;
* HTTP status -> ``error_detail.code`` table below (``docs/response-description.mdx``), including
  429 used both for ``ERROR_NOT_ENOUGH_CREDITS`` and ``EXCEEDING_LIMITS``;
* the no-face example: HTTP 422, ``code`` ``ERROR_NO_FACE_IN_FILE``, ``code_message``
  "No face detected in the file.", ``message`` "pic not has face", ``error_code_str``
  ``FILE_CONTENT_NON_COMPLIANCE``.

Our assumptions (not documented): the wording of ``code_message`` for codes other than the ones
quoted in the docs; ``error_code_str`` equal to ``code`` except where the docs show otherwise;
``error_msg`` = "<code_message> - <message>"; the 405 code ``ERROR_METHOD_NOT_ALLOWED`` (not in the
table; only this server's own answer to a wrong HTTP method).
"""

from __future__ import annotations

import json
import random
import re
import uuid

from smart_beauty.effects import DESCRIPTIONS, Effects

_LEVEL_RE = re.compile(r"^\s*(\d+(\.\d*)?|\.\d+)\s*$")
#: our own form fields (not the service's): effect name -> field
EFFECT_FIELDS = {name: "smart_beauty_" + name for name in Effects.__slots__}

# code -> (HTTP status, code_message). Documented codes; messages are ours unless quoted in the docs.
CODES = {
    # 400
    "ERROR_PARAMETERS": (400, "Parameter error."),
    "MISSING_PARAMETERS": (400, "Missing parameters."),
    "ERROR_INVALID_PARAMETER": (400, "Invalid parameter."),
    "PARAMETERS_CANNOT_EMPTY": (400, "Parameters cannot be empty."),
    "UNSUPPORTED_PARAMETER_VALUES": (400, "Unsupported parameter value."),
    "ERROR_INVALID_PARAMETER_FORMAT": (400, "Invalid parameter format."),
    "ERROR_PARAMETER_CONVERSION_FAILED": (400, "Parameter conversion failed."),
    # 401 / 403
    "ERROR_USER_NOT_EXISTS": (401, "The user does not exist (invalid API key)."),
    "ERROR_APPLICATIONS_NOT_EXISTS": (401, "The application does not exist."),
    "ERROR_USER_LOCKED": (403, "The account is locked."),
    "ERROR_ILLEGAL_OPERATION": (403, "Illegal operation."),
    # 404
    "ERROR_AI_NOT_EXISTS": (404, "The AI capability does not exist."),
    "ERROR_FILE_NOT_FOUND": (404, "File not found."),
    "ERROR_FACE_NOT_FOUND": (404, "Face not found."),
    "ERROR_RESOURCE_NOT_FOUND": (404, "Resource not found."),
    # 405: ours (see module docstring)
    "ERROR_METHOD_NOT_ALLOWED": (405, "Method not allowed."),
    # 406 / 409 / 410
    "ERROR_INVALID_RESPONSE_FORMAT": (406, "Invalid response format."),
    "ERROR_TASK_CONFLICT": (409, "Task conflict."),
    "ERROR_TASK_STOPPED_PROCESSING": (409, "The task stopped processing."),
    "ERROR_TASK_REVOKED": (410, "The task was revoked."),
    "ERROR_RESOURCE_RECLAIMED": (410, "The resource was reclaimed."),
    # 413
    "ERROR_TOO_MANY_FILES": (413, "Too many files."),
    "FILE_SIZE_EXCEEDS_LIMIT": (413, "File size exceeds the limit."),
    "FILE_RESOLUTION_EXCEEDS_LIMITS": (413, "File resolution exceeds the limits."),
    "ERROR_HIGH_RESOLUTION": (413, "Resolution too high."),
    "ERROR_REQUEST_BODY_TOO_LARGE": (413, "Request body too large."),
    # 415
    "UNSUPPORTED_FILE_TYPES": (415, "Unsupported file type."),
    "ERROR_UNSUPPORTED_GRAYSCALE_IMAGE": (415, "Grayscale images are not supported."),
    # 422
    "FILE_DECODING_FAILURE": (422, "File decoding failed."),
    "ERROR_ILLEGAL_FILE": (422, "Illegal file."),
    "ERROR_INVALID_FILE": (422, "Invalid file."),
    "ERROR_LOW_RESOLUTION": (422, "Resolution too low."),
    "FILE_CONTENT_NON_COMPLIANCE": (422, "File content does not meet requirements."),
    "ERROR_CONTENT_NON_COMPLIANCE": (422, "Content does not meet requirements."),
    "ERROR_NO_FACE_IN_FILE": (422, "No face detected in the file."),  # quoted in the docs
    "ERROR_FACE_SIZE_NOT_MEET_REQUIREMENTS": (422, "Face size does not meet requirements."),
    "ERROR_FACE_SIZE_RATIO_NOT_MET": (422, "Face size ratio not met."),
    "ERROR_SMALL_FACE_SIZE": (422, "Face too small."),
    "ERROR_FACE_UNRECOGNIZABLE": (422, "Face unrecognizable."),
    "ERROR_POOR_FACE_QUALITY": (422, "Poor face quality."),
    "ERROR_BLURRY_FACE": (422, "Blurry face."),
    "ERROR_OBSTRUCTED_FACE": (422, "Obstructed face."),
    "ERROR_POOR_FACE_LIGHTING": (422, "Poor face lighting."),
    "ERROR_INCOMPLETE_FACE": (422, "Incomplete face."),
    "ERROR_FACE_NOT_FACING_FORWARD": (422, "Face not facing forward."),
    "ERROR_CARTOON_FACE_NOT_SUPPORTED": (422, "Cartoon faces are not supported."),
    "ERROR_FACE_COUNT_INVALID": (422, "Invalid face count."),
    # 429: same status, two meanings -- clients must branch on the code
    "ERROR_NOT_ENOUGH_CREDITS": (429, "Not enough credits."),
    "ERROR_FACE_TRACE_LIMIT_EXCEEDED": (429, "Face trace limit exceeded."),
    "ERROR_DATABASE_LIMIT_EXCEEDED": (429, "Database limit exceeded."),
    "ERROR_BATCH_TASK_LIMIT_EXCEEDED": (429, "Batch task limit exceeded."),
    "EXCEEDING_LIMITS": (429, "Exceeds limit"),  # quoted in the docs
    # 5xx
    "PROCESSING_FAILURE": (500, "Processing failure."),
    "ERROR_RESPONSE_BODY_TOO_LARGE": (500, "Response body too large."),
    "UNKNOWN_ERROR": (500, "Unknown error."),
    "SERVICE_INTERNAL_ERROR": (500, "Service internal error."),
    "ERROR_IMAGE_STORAGE_NOT_SUPPORTED": (501, "Image storage not supported."),
    "ERROR_FILE_DOWNLOAD_FAILED": (502, "File download failed."),
    "ERROR_FILE_UPLOAD_FAILED": (502, "File upload failed."),
    "ERROR_DATA_TRANSFER_FAILED": (502, "Data transfer failed."),
    "FILE_SERVICE_ERROR": (502, "File service error."),
    "AI_SERVICE_ERROR": (502, "AI service error."),
    "AI_SERVICE_INTERNAL_ERROR": (502, "AI service internal error."),
    "AI_SERVICE_UNAUTHORIZED": (502, "AI service unauthorized."),
    "AI_SERVICE_NOT_FOUND": (502, "AI service not found."),
    "ERROR_GATEWAY": (502, "Gateway error."),
    "ERROR_INSUFFICIENT_RESOURCES": (503, "Insufficient resources."),
    "ERROR_RESOURCE_UNAVAILABLE": (503, "Resource unavailable."),
    "AI_SERVICE_FLOW_RESTRICTION": (503, "AI service is rate-limited"),  # quoted in the docs
    "ERROR_FILE_DOWNLOAD_TIMEOUT": (504, "File download timeout."),
    "AI_SERVICE_TIMEOUT": (504, "AI service timeout."),
}

# HTTP status -> the code this server uses when only a status is asked for (our choice).
DEFAULT_CODE = {
    400: "ERROR_INVALID_PARAMETER",
    401: "ERROR_USER_NOT_EXISTS",
    403: "ERROR_USER_LOCKED",
    404: "ERROR_RESOURCE_NOT_FOUND",
    405: "ERROR_METHOD_NOT_ALLOWED",
    406: "ERROR_INVALID_RESPONSE_FORMAT",
    409: "ERROR_TASK_CONFLICT",
    410: "ERROR_RESOURCE_RECLAIMED",
    413: "FILE_SIZE_EXCEEDS_LIMIT",
    415: "UNSUPPORTED_FILE_TYPES",
    422: "FILE_DECODING_FAILURE",
    429: "EXCEEDING_LIMITS",
    500: "PROCESSING_FAILURE",
    501: "ERROR_IMAGE_STORAGE_NOT_SUPPORTED",
    502: "AI_SERVICE_ERROR",
    503: "AI_SERVICE_FLOW_RESTRICTION",
    504: "AI_SERVICE_TIMEOUT",
}

# Legacy ``error_code_str`` values shown in the docs' examples (otherwise we echo the code).
_CODE_STR = {"ERROR_NO_FACE_IN_FILE": "FILE_CONTENT_NON_COMPLIANCE"}
# Vendor-style raw ``message`` values; the no-face one is quoted in the docs.
_MESSAGES = {"ERROR_NO_FACE_IN_FILE": "pic not has face"}


def resolve(status=None, code=None):
    """Return ``(status, code)`` from either or both (unknown codes need a status; default 500)."""
    if code and status is None:
        status = CODES.get(code, (500, ""))[0]
    status = int(status if status is not None else 500)
    if not code:
        code = DEFAULT_CODE.get(status, "UNKNOWN_ERROR")
    return status, code


def new_request_id():
    """Uppercase UUID, as in live captures."""
    return str(uuid.uuid4()).upper()


def new_log_id():
    """Numeric string, as in live captures (``"77496025"``)."""
    return str(random.randint(10_000_000, 99_999_999))


def success_fields():
    """Public fields of a successful response (the business fields are added by the caller)."""
    return {
        "request_id": new_request_id(),
        "log_id": new_log_id(),
        "error_code": 0,
        "error_code_str": "",
        "error_msg": "",
        "error_detail": {"status_code": 200, "code": "", "code_message": "", "message": ""},
    }


def error_body(status=None, code=None, message=None):
    """Full AILab error body: ``error_code`` == HTTP status, ``error_detail.code`` == ``code``."""
    status, code = resolve(status, code)
    code_message = CODES.get(code, (status, "Error."))[1]
    message = message if message is not None else _MESSAGES.get(code, code_message)
    return {
        "request_id": new_request_id(),
        "log_id": new_log_id(),
        "error_code": status,
        "error_code_str": _CODE_STR.get(code, code),
        "error_msg": "%s - %s" % (code_message, message),
        "error_detail": {
            "status_code": status,
            "code": code,
            "code_message": code_message,
            "message": message,
        },
    }


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def parse_level(text):
    """``beauty_level``: decimal string in [0, 1]; None for an invalid one."""
    if text is None:
        return 1.0
    if not _LEVEL_RE.match(text):
        return None
    value = float(text)
    return value if 0.0 <= value <= 1.0 else None


def parse_effects(form, level):
    """``(effects, None)`` from the :data:`EFFECT_FIELDS` in ``form`` (``(None, None)`` when there are
    none: the engine is called as before), or ``(None, message)`` for a field that is not a decimal
    in [0, 1]."""
    given = {}
    for name in Effects.__slots__:
        field = EFFECT_FIELDS[name]
        text = form.get(field)
        if text is None:
            continue
        value = parse_level(text)
        if value is None:
            return None, "%s (%s) must be a number in [0, 1]" % (field, DESCRIPTIONS[name])
        given[name] = value
    if not given:
        return None, None
    return Effects.from_level(level).replace(**given), None
