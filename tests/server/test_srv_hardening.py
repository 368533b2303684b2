"""The local AILab server may be exposed by users (a studio running the offline engine): hardening.

* binds 127.0.0.1 unless told; a non-loopback address needs a key, and gets no control API / fault keys;
* the upload limit holds while the body is read, also for a chunked upload with no Content-Length;
* decompression bombs and images of 4096 px or more are refused with the service's error shape;
* fuzzing (hypothesis) of the multipart submit, the poll query, the credits and result endpoints, any
  path/method/header: never a 500, always the AILab error shape, every status declared in
  docs/openapi-local.yaml, memory bounded. ``SB_FUZZ_EXAMPLES`` sets the examples per property
  (default 120; the full run in docs/reliability.md used 2000).
"""
import json
import os
import resource
import socket
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_testutil import png_bytes
from werkzeug.test import Client as WsgiClient

from smart_beauty_server import LocalAilab
from smart_beauty_server.faults import parse_fault_key

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = int(os.environ.get("SB_FUZZ_EXAMPLES", "120"))
KEY = "sb-hardening-key-0123456789"
SUBMIT = "/api/portrait/effects/smart-beauty"
POLL = "/api/common/query-async-task-result"
CREDITS = "/api/common/query-credits"


def _openapi():
    with open(os.path.join(REPO, "docs", "openapi-local.yaml")) as f:
        return json.load(f)  # the file is JSON, which is also YAML 1.2


OPENAPI = _openapi()


def declared(path, method):
    if path.startswith("/results/"):
        path = "/results/{token}.png"
    op = OPENAPI["paths"].get(path, {}).get(method.lower())
    if op is None:
        op = OPENAPI["x-any-other-request"]
    return {int(s) for s in op["responses"]}


@pytest.fixture(scope="module")
def server():
    srv = LocalAilab(port=0, api_keys=[KEY], job_seconds=0.0, allow_fault_keys=False,
                     max_upload_bytes=1024 * 1024).start()
    yield srv
    srv.stop()


# ------------------------------------------------------------------ binding
def test_binds_loopback_by_default_and_needs_a_key_elsewhere():
    assert LocalAilab().host == "127.0.0.1"
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(ValueError):
            LocalAilab(host=host)
    exposed = LocalAilab(host="0.0.0.0", api_keys=[KEY])
    assert exposed.control_token is None and exposed.app.control is None
    assert exposed.app.allow_fault_keys is False
    exposed.store.close()


# ------------------------------------------------------------------ the upload limit while reading
def _chunked_upload(url, total, chunk=64 * 1024):
    """POST a multipart body of ``total`` bytes with Transfer-Encoding: chunked (no Content-Length);
    returns (status line + body, bytes the server let us send before answering/closing)."""
    host, port = url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    boundary = b"sbfuzzboundary"
    head = (b"POST " + SUBMIT.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nailabapi-api-key: " + KEY.encode() +
            b"\r\nContent-Type: multipart/form-data; boundary=" + boundary + b"\r\nTransfer-Encoding: chunked\r\n\r\n")
    s.sendall(head)
    preamble = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"image_target\"; filename=\"a.png\""
                b"\r\nContent-Type: image/png\r\n\r\n")
    sent = 0
    try:
        s.sendall(b"%x\r\n%s\r\n" % (len(preamble), preamble))
        block = b"\x89PNG" + b"\0" * (chunk - 4)
        while sent < total:
            s.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            sent += len(block)
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed: the rest was never read
    s.settimeout(10)
    reply = b""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                break
            reply += data
    except OSError:
        pass
    s.close()
    return reply, sent


def test_chunked_upload_without_content_length_is_cut_at_the_limit(server):
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reply, sent = _chunked_upload(server.url, 256 * 1024 * 1024)
    if reply:  # the 413 may be lost to the connection reset that ends the upload
        assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
        body = json.loads(reply.split(b"\r\n\r\n", 1)[1].split(b"\r\n0\r\n")[0].strip() or b"{}")
        assert body["error_code"] == 413 and body["error_detail"]["code"] == "ERROR_REQUEST_BODY_TOO_LARGE"
    # 256 MiB offered, 1 MiB limit: a server that drained the body would take all of it. What the client
    # gets to send before the server closes depends on socket buffers and on how soon that thread runs
    # (usually a few MiB; 23 MiB was seen on a loaded machine), so the bound is half the offer, not the limit.
    # What the server itself holds is bounded by the memory check below.
    assert sent < 128 * 1024 * 1024, sent
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 64 * 1024  # KiB: < 64 MiB grown
    # and the server still serves
    client = WsgiClient(server.app)
    assert client.get(CREDITS, headers={"ailabapi-api-key": KEY}).status_code == 200


def test_declared_content_length_over_the_limit_is_refused_before_reading(server):
    host, port = server.url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"POST " + SUBMIT.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nailabapi-api-key: " + KEY.encode() +
              b"\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 999999999\r\n\r\n")
    reply = s.recv(65536)
    s.close()
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


# ------------------------------------------------------------------ bombs and big images
def _png_header_only(width, height, idat=b""):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat or zlib.compress(b"\0" * 1024, 9)) + \
        chunk(b"IEND", b"")


def _submit(server, data, name="a.png"):
    client = WsgiClient(server.app)
    return client.post(SUBMIT, headers={"ailabapi-api-key": KEY},
                       data={"task_type": "async", "image_target": (__import__("io").BytesIO(data), name)})


@pytest.mark.parametrize("w,h,code", [
    (100000, 100000, "FILE_RESOLUTION_EXCEEDS_LIMITS"),   # Pillow's bomb guard
    (30000, 30000, "FILE_RESOLUTION_EXCEEDS_LIMITS"),
    (4096, 10, "FILE_RESOLUTION_EXCEEDS_LIMITS"),
    (10, 4096, "FILE_RESOLUTION_EXCEEDS_LIMITS"),
    (0x7FFFFFFF, 1, None),
])
def test_bombs_and_oversized_images_get_the_service_error_shape(server, w, h, code):
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = _submit(server, _png_header_only(w, h))
    body = r.get_json()
    assert r.status_code in (413, 422) and body["error_code"] == r.status_code
    assert code is None or body["error_detail"]["code"] == code
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 64 * 1024


def test_a_zlib_bomb_inside_the_limits_is_decoded_in_bounded_memory(server):
    # 4000 x 4000 RGB from ~50 KB of IDAT: legal for the service; 48 MB of pixels at most
    raw = (b"\0" + b"\0" * (4000 * 3)) * 4000
    data = _png_header_only(4000, 4000, zlib.compress(raw, 9))
    assert len(data) < 100 * 1024
    r = _submit(server, data)
    assert r.status_code in (200, 422), r.get_data()[:200]   # a flat image: "no face" from SimpleEngine
    assert r.get_json()["error_code"] in (0, 422)


# ------------------------------------------------------------------ fuzzing
def _check(resp, path, method):
    assert resp.status_code != 500 and resp.status_code < 600, (path, method, resp.get_data()[:300])
    assert resp.status_code in declared(path, method), (path, method, resp.status_code)
    if not path.startswith("/results/"):
        body = json.loads(resp.get_data())
        assert body["error_code"] in (0, resp.status_code), body
        if resp.status_code != 200:
            assert body["error_detail"]["code"] and body["error_detail"]["status_code"] == resp.status_code


FIELD = st.one_of(st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
IMAGE = st.one_of(st.binary(max_size=2048), st.just(png_bytes()), st.builds(
    lambda head, cut: png_bytes()[:cut] + head, st.binary(max_size=64), st.integers(0, 400)))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(["task_type", "beauty_level", "multi_face", "image_target", "x",
                                               "task_id"]), FIELD, max_size=5),
       image=st.one_of(st.none(), IMAGE), filename=st.text(max_size=30),
       key=st.sampled_from([KEY, "", "nope", KEY + "x"]))
def test_fuzz_submit(server, fields, image, filename, key):
    import io

    data = dict(fields)
    if image is not None:
        data["image_target"] = (io.BytesIO(image), filename or "f")
    r = WsgiClient(server.app).post(SUBMIT, data=data, headers={"ailabapi-api-key": key})
    _check(r, SUBMIT, "POST")


@FUZZ
@given(raw=st.binary(max_size=4096), ctype=st.sampled_from([
    "multipart/form-data; boundary=x", "multipart/form-data", "application/x-www-form-urlencoded",
    "application/json", "text/plain", "multipart/form-data; boundary=" + "a" * 300]))
def test_fuzz_raw_submit_bodies(server, raw, ctype):
    r = WsgiClient(server.app).post(SUBMIT, data=raw, content_type=ctype, headers={"ailabapi-api-key": KEY})
    _check(r, SUBMIT, "POST")


@FUZZ
@given(query=st.one_of(st.text(max_size=200), st.dictionaries(st.text(max_size=10), st.text(max_size=60),
                                                              max_size=4)),
       key=st.sampled_from([KEY, "", "bad"]))
def test_fuzz_poll_query(server, query, key):
    r = WsgiClient(server.app).get(POLL, query_string=query, headers={"ailabapi-api-key": key})
    _check(r, POLL, "GET")


@FUZZ
@given(path=st.one_of(st.text(max_size=80).map(lambda t: "/" + t), st.sampled_from(
    [SUBMIT, POLL, CREDITS, "/results/", "/results/x.png", "/results/" + "A" * 40 + ".png", "/_control/info"])),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]),
    headers=st.dictionaries(st.sampled_from(["ailabapi-api-key", "Content-Type", "X-Control-Token", "Range"]),
                            st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
                            max_size=3))
def test_fuzz_any_request(server, path, method, headers):
    try:
        r = WsgiClient(server.app).open(path, method=method, headers=headers)
    except (UnicodeError, ValueError):
        return  # werkzeug's test client cannot even build this URL (e.g. "//[")
    if path.startswith("/_control"):
        assert r.status_code in (401, 403, 404), r.status_code  # never without the control token
        return
    if method == "HEAD" or path.startswith("/results/"):
        assert r.status_code != 500
        return
    _check(r, path if path in (SUBMIT, POLL, CREDITS) else "/other", method)


@FUZZ
@given(key=st.text(max_size=60).map(lambda t: "fault:" + t))
def test_fuzz_fault_keys_only_raise_value_error(key):
    try:
        parse_fault_key(key)
    except ValueError:
        pass


def test_fuzzing_left_memory_bounded_and_the_server_alive(server):
    # run last in this module: the server still answers and the process did not balloon
    r = WsgiClient(server.app).get(CREDITS, headers={"ailabapi-api-key": KEY})
    assert r.status_code == 200
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 2 * 1024 * 1024  # KiB: under 2 GiB
