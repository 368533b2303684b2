# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function, unicode_literals

import json

import pytest

from smart_beauty import errors, protocol


@pytest.mark.parametrize("level,text", [(0, "0"), (1, "1"), (0.8, "0.8"), ("0.25", "0.25"), (0.12345, "0.123")])
def test_level_is_a_decimal_string(level, text):
    assert protocol.format_level(level) == text


@pytest.mark.parametrize("level", [-0.1, 1.01, "x", None, float("nan")])
def test_level_out_of_range_is_bad_input(level):
    with pytest.raises(errors.BadInputError):
        protocol.format_level(level)


def test_submit_fields_send_multi_face_only_when_wanted():
    assert protocol.submit_fields(0.5, False) == [("task_type", "async"), ("beauty_level", "0.5")]
    assert ("multi_face", "1") in protocol.submit_fields(0.5, True)


def reply(status, body):
    return protocol.parse_reply(status, json.dumps(body).encode("utf-8"))


def test_public_fields_are_read_before_business_fields():
    r = reply(200, {"error_code": 422, "error_detail": {"code": "ERROR_NO_FACE_IN_FILE"}, "task_id": "t1"})
    # A 200 with a non-zero error_code is still a failure: the task id must not be trusted.
    assert not r.ok
    assert isinstance(protocol.error_for(r, "submit"), errors.NoFaceError)


def test_success_needs_status_200_and_error_code_0_and_tolerates_missing_fields():
    assert reply(200, {"task_id": "abc"}).ok            # error_code absent (live captures omit fields)
    assert reply(200, {"error_code": 0, "task_id": "abc"}).task_id() == "abc"
    assert not protocol.parse_reply(200, b"<html>").ok
    assert not protocol.parse_reply(200, b"").ok


def test_task_status_top_level_then_data():
    assert reply(200, {"task_status": 1}).task_status() == 1
    assert reply(200, {"data": {"task_status": 2, "image_url": "http://x/y.png"}}).task_status() == 2
    assert reply(200, {"task_status": 2, "data": {"image_url": "http://x/y.png"}}).result_url() == "http://x/y.png"
    assert reply(200, {"task_status": "2"}).task_status() == 2


ERROR_TABLE = [
    (401, "ERROR_USER_NOT_EXISTS", errors.AuthError, False),
    (403, "ERROR_USER_LOCKED", errors.AuthError, False),
    (400, "ERROR_INVALID_PARAMETER", errors.BadInputError, False),
    (413, "FILE_SIZE_EXCEEDS_LIMIT", errors.BadInputError, False),
    (415, "UNSUPPORTED_FILE_TYPES", errors.BadInputError, False),
    (422, "ERROR_NO_FACE_IN_FILE", errors.NoFaceError, False),
    (422, "ERROR_BLURRY_FACE", errors.NoFaceError, False),
    (422, "FILE_DECODING_FAILURE", errors.BadInputError, False),
    (429, "ERROR_NOT_ENOUGH_CREDITS", errors.NoCreditsError, False),
    (429, "EXCEEDING_LIMITS", errors.RateLimitError, True),
    (503, "AI_SERVICE_FLOW_RESTRICTION", errors.RateLimitError, True),
    (500, "PROCESSING_FAILURE", errors.ServiceError, False),
    (502, "AI_SERVICE_ERROR", errors.ServiceError, False),
    (504, "AI_SERVICE_TIMEOUT", errors.ServiceError, False),
    (418, "SOMETHING_NEW", errors.BadInputError, False),
    (599, "SOMETHING_NEW", errors.ServiceError, False),
]


@pytest.mark.parametrize("status,code,cls,transient", ERROR_TABLE)
def test_error_mapping_branches_on_error_detail_code(status, code, cls, transient):
    r = reply(status, {"error_code": status, "error_detail": {"status_code": status, "code": code,
                                                              "message": "m"}, "request_id": "RID-1"})
    err = protocol.error_for(r, "submit")
    assert type(err) is cls
    assert err.request_id == "RID-1" and err.code == code and err.http_status == status
    assert "RID-1" in str(err)
    assert err.user_message.endswith(".") and len(err.user_message) > 30
    assert protocol.is_transient(r) is transient


def test_gateway_errors_without_ailab_body_are_transient_but_task_failures_are_not():
    assert protocol.is_transient(protocol.parse_reply(502, b"<html>Bad Gateway</html>"))
    assert protocol.is_transient(protocol.parse_reply(503, b""))
    assert not protocol.is_transient(reply(500, {"error_code": 500, "error_detail": {"code": "PROCESSING_FAILURE"}}))
    assert not protocol.is_transient(reply(429, {"error_code": 429,
                                                 "error_detail": {"code": "ERROR_NOT_ENOUGH_CREDITS"}}))


def test_expired_task_on_query_is_result_expired():
    r = reply(404, {"error_code": 404, "error_detail": {"code": "ERROR_RESOURCE_NOT_FOUND"}})
    assert isinstance(protocol.error_for(r, "query"), errors.ResultExpiredError)
    assert isinstance(protocol.error_for(r, "submit"), errors.ServiceError)


def test_scrub_removes_secrets():
    assert errors.scrub("key abc123 leaked abc123", "abc123") == "key [key hidden] leaked [key hidden]"
    assert errors.scrub(None, "x") is None
