"""Helpers for the local-server tests (Python 3): images, requests, raw sockets, assertions."""

from __future__ import annotations

import io
import re
import socket
import struct
import time
import zlib
from urllib.parse import urlsplit

import numpy as np
import requests
from PIL import Image

KEY_HEADER = "ailabapi-api-key"
SUBMIT = "/api/portrait/effects/smart-beauty"
POLL = "/api/common/query-async-task-result"
CREDITS = "/api/common/query-credits"
UUID_UPPER = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


def noisy_rgb(h=24, w=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def encode(arr, fmt="PNG", **kw):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, fmt, **kw)
    return buf.getvalue()


def png_bytes(h=24, w=32, seed=0):
    return encode(noisy_rgb(h, w, seed))


def flat_png(h=24, w=32, value=128):
    return encode(np.full((h, w, 3), value, dtype=np.uint8))


def expected_simple(arr, level):
    """SimpleEngine's documented formula."""
    m = int(round(level * 1000))
    wide = arr.astype(np.int32)
    return (wide + (((255 - wide) * m + 2000) // 4000)).astype(np.uint8)


def with_png_size(png, width, height):
    """Rewrite a PNG's IHDR width/height (and its CRC): a header that lies about its size."""
    ihdr = 8 + 8
    data = bytearray(png)
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12:ihdr + 13])) & 0xFFFFFFFF
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def submit(url, key, image=None, task_type="async", level=None, multi_face=None, filename="in.png", **kw):
    data = {}
    if task_type is not None:
        data["task_type"] = task_type
    if level is not None:
        data["beauty_level"] = level
    if multi_face is not None:
        data["multi_face"] = multi_face
    files = {"image_target": (filename, image if image is not None else png_bytes(), "application/octet-stream")}
    headers = {KEY_HEADER: key} if key is not None else {}
    kw.setdefault("timeout", 10)
    return requests.post(url + SUBMIT, headers=headers, data=data, files=files, **kw)


def poll(url, key, task_id, timeout=10, **kw):
    return requests.get(url + POLL, params={"task_id": task_id}, headers={KEY_HEADER: key}, timeout=timeout, **kw)


def wait_done(url, key, task_id, timeout=5.0, interval=0.03):
    """Poll until the answer is not status 0/1; returns the last response."""
    deadline = time.monotonic() + timeout
    while True:
        r = poll(url, key, task_id)
        body = r.json() if r.status_code == 200 else None
        if r.status_code != 200 or body.get("task_status") not in (0, 1) or time.monotonic() > deadline:
            return r
        time.sleep(interval)


def assert_ailab_error(resp, status, code):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["error_code"] == status
    detail = body["error_detail"]
    assert detail["status_code"] == status
    assert detail["code"] == code
    assert detail["code_message"] and detail["message"]
    assert body["error_msg"] and body["error_code_str"]
    assert UUID_UPPER.match(body["request_id"])
    assert body["log_id"].isdigit()
    return body


def raw_request(url, raw, until_complete=False, timeout=10.0):
    """Send raw bytes to the server of ``url``; return what comes back until EOF, or (``until_complete``)
    until a response with a Content-Length is complete while the connection is still open."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if until_complete and b"\r\n\r\n" in data:
                status, headers, body = split_response(data)
                if len(body) >= int(headers.get("content-length", "-1")) >= 0:
                    break
    return data


def split_response(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return status, headers, body
