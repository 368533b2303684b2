"""Submit endpoint: body shape, key check, every validation, upload limit, sync mode, credits."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import requests
from PIL import Image
from server_testutil import (
    CREDITS, KEY_HEADER, SUBMIT, UUID_UPPER, assert_ailab_error, encode, expected_simple, flat_png, noisy_rgb,
    png_bytes, raw_request, split_response, submit, with_png_size,
)


def test_async_submit_body(ailab):
    r = submit(ailab.url, ailab.valid_key)
    assert r.status_code == 200
    body = r.json()
    assert body["error_code"] == 0
    assert body["error_detail"] == {"status_code": 200, "code": "", "code_message": "", "message": ""}
    assert UUID_UPPER.match(body["request_id"]) and body["log_id"].isdigit()
    assert body["task_type"] == "async" and body["task_id"]
    assert ailab.stats()["counts"]["submit"] == 1


@pytest.mark.parametrize("key", [None, "", "not-a-key"])
def test_missing_or_unknown_key_is_401(ailab, key):
    assert_ailab_error(submit(ailab.url, key), 401, "ERROR_USER_NOT_EXISTS")


def test_missing_image_target(ailab):
    r = requests.post(ailab.url + SUBMIT, headers=ailab.headers(), data={"task_type": "async"}, timeout=10)
    assert_ailab_error(r, 400, "MISSING_PARAMETERS")


def test_bad_task_type(ailab):
    assert_ailab_error(submit(ailab.url, ailab.valid_key, task_type="later"), 400, "ERROR_INVALID_PARAMETER")


@pytest.mark.parametrize("level", ["-0.1", "1.01", "2", "abc", "1e-1", "nan", "inf", "", "0,5"])
def test_bad_beauty_level(ailab, level):
    r = submit(ailab.url, ailab.valid_key, level=level)
    assert_ailab_error(r, 400, "ERROR_INVALID_PARAMETER")


@pytest.mark.parametrize("level,value", [("0", 0.0), ("1", 1.0), (".5", 0.5), ("0.70", 0.7), (None, 1.0)])
def test_good_beauty_level_and_multi_face(srv, level, value):
    r = submit(srv.url, srv.valid_key, level=level, multi_face="1" if level == "0" else "0")
    assert r.status_code == 200, r.text
    info = srv.task_info(r.json()["task_id"])
    assert info["level"] == value
    assert info["multi_face"] is (level == "0")


@pytest.mark.parametrize("fmt,kw", [("JPEG", {"quality": 95}), ("BMP", {}), ("PNG", {})])
def test_accepted_formats(ailab, fmt, kw):
    r = submit(ailab.url, ailab.valid_key, image=encode(noisy_rgb(), fmt, **kw))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "TIFF"])
def test_unsupported_formats(ailab, fmt):
    data = encode(noisy_rgb(), fmt)
    assert_ailab_error(submit(ailab.url, ailab.valid_key, image=data), 415, "UNSUPPORTED_FILE_TYPES")


def test_format_is_sniffed_not_taken_from_filename(ailab):
    r = submit(ailab.url, ailab.valid_key, image=b"hello, not an image", filename="photo.png")
    assert_ailab_error(r, 415, "UNSUPPORTED_FILE_TYPES")


def test_file_over_5mb(ailab):
    data = png_bytes() + b"\0" * (5 * 1024 * 1024)
    assert_ailab_error(submit(ailab.url, ailab.valid_key, image=data), 413, "FILE_SIZE_EXCEEDS_LIMIT")


def test_undecodable(ailab):
    for data in (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, png_bytes()[:-40], b"\xff\xd8\xff\xe0junk", b"BMxx"):
        assert_ailab_error(submit(ailab.url, ailab.valid_key, image=data), 422, "FILE_DECODING_FAILURE")


@pytest.mark.parametrize("size", [(4096, 2), (3, 4096), (5000, 5000)])
def test_resolution_limit(ailab, size):
    data = flat_png(size[1], size[0])
    assert_ailab_error(submit(ailab.url, ailab.valid_key, image=data), 413, "FILE_RESOLUTION_EXCEEDS_LIMITS")


def test_largest_allowed_resolution(ailab):
    assert submit(ailab.url, ailab.valid_key, image=encode(noisy_rgb(2, 4095))).status_code == 200


@pytest.mark.timeout(30)   # decoding 10^10 pixels would not end (nor fit in memory)
def test_decompression_bomb_is_refused_from_the_header(ailab):
    bomb = with_png_size(png_bytes(), 100000, 100000)
    assert_ailab_error(submit(ailab.url, ailab.valid_key, image=bomb), 413, "FILE_RESOLUTION_EXCEEDS_LIMITS")


def test_upload_limit_refused_before_the_body_is_read(ailab):
    """Content-Length over the server limit: the 413 comes back while most of the body is unsent."""
    length = 30 * 1024 * 1024
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s: %s\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            "Content-Length: %d\r\n\r\n" % (SUBMIT, KEY_HEADER, ailab.valid_key, length)).encode()
    raw = raw_request(ailab.url, head + b"x" * (256 * 1024), until_complete=True)   # 256 KiB of 30 MiB sent
    status, headers, body = split_response(raw)
    assert status == 413
    assert b"ERROR_REQUEST_BODY_TOO_LARGE" in body


def test_upload_limit_with_requests(ailab):
    r = submit(ailab.url, ailab.valid_key, image=b"\x89PNG\r\n\x1a\n" + b"\0" * (30 * 1024 * 1024))
    assert_ailab_error(r, 413, "ERROR_REQUEST_BODY_TOO_LARGE")


def test_chunked_upload_over_limit(ailab):
    def body():
        for _ in range(ailab.max_upload_bytes // 65536 + 20):
            yield b"-" * 65536

    headers = dict(ailab.headers(), **{"Content-Type": "multipart/form-data; boundary=zz"})
    r = requests.post(ailab.url + SUBMIT, headers=headers, data=body(), timeout=20)
    assert_ailab_error(r, 413, "ERROR_REQUEST_BODY_TOO_LARGE")


def test_sync_mode_returns_base64_png(ailab):
    arr = noisy_rgb(10, 12, seed=3)
    r = submit(ailab.url, ailab.valid_key, image=encode(arr), task_type="sync", level="0.5")
    assert r.status_code == 200
    body = r.json()
    assert body["task_type"] == "sync" and "task_id" not in body
    out = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["data"]["image"]))))
    assert np.array_equal(out, expected_simple(arr, 0.5))


def test_sync_no_face(ailab):
    r = submit(ailab.url, ailab.valid_key, image=flat_png(), task_type="sync")
    assert_ailab_error(r, 422, "ERROR_NO_FACE_IN_FILE")


def test_unknown_path_and_wrong_method(ailab):
    r = requests.get(ailab.url + "/api/portrait/effects/nope", headers=ailab.headers(), timeout=10)
    assert_ailab_error(r, 404, "ERROR_AI_NOT_EXISTS")
    r = requests.get(ailab.url + SUBMIT, headers=ailab.headers(), timeout=10)
    assert_ailab_error(r, 405, "ERROR_METHOD_NOT_ALLOWED")


def test_credits_endpoint_and_billing(ailab):
    ailab.configure(credits=20)
    r = requests.get(ailab.url + CREDITS, headers=ailab.headers(), timeout=10)
    assert r.status_code == 200 and r.json()["error_code"] == 0
    packs = r.json()["data"]
    assert isinstance(packs, list) and packs[0]["balance"] == 20
    assert set(packs[0]) == {"unique_sign", "name", "balance", "total", "last_recharge_balance",
                             "balance_warning", "first_buy_time", "last_update_time"}
    assert_ailab_error(requests.get(ailab.url + CREDITS, timeout=10), 401, "ERROR_USER_NOT_EXISTS")
    # two successful calls cost 8 each; the third finds 4 left
    for _ in range(2):
        assert submit(ailab.url, ailab.valid_key, task_type="sync").status_code == 200
    assert requests.get(ailab.url + CREDITS, headers=ailab.headers(), timeout=10).json()["data"][0]["balance"] == 4
    assert_ailab_error(submit(ailab.url, ailab.valid_key), 429, "ERROR_NOT_ENOUGH_CREDITS")
    # a failed call is not billed
    assert submit(ailab.url, ailab.valid_key, image=b"nope").status_code == 415
