"""Control API protection, non-loopback safety, the command line, and the subprocess fixture."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests
from ailab_fixture import LIB, AilabHandle, ControlError, ServerProcess
from server_testutil import assert_ailab_error, submit
from werkzeug.test import Client

from smart_beauty_server import LocalAilab, is_loopback


@pytest.mark.parametrize("headers", [{}, {"X-Control-Token": "wrong"}])
def test_control_api_needs_the_token(ailab, headers):
    for method, action in (("GET", "info"), ("GET", "stats"), ("POST", "reset"), ("POST", "inject")):
        r = requests.request(method, ailab.url + "/_control/" + action, headers=headers,
                             json={"name": "drop"}, timeout=10)
        assert_ailab_error(r, 403, "ERROR_ILLEGAL_OPERATION")
    assert ailab.stats()["faults"] == []


def test_control_round_trip(ailab):
    assert "truncated" in ailab.fault_names
    fault_id = ailab.inject("rate_limit", retry_after=1, times=1)
    assert ailab.stats()["faults"][0]["id"] == fault_id
    assert submit(ailab.url, ailab.valid_key).status_code == 429
    task_id = submit(ailab.url, ailab.valid_key).json()["task_id"]
    assert ailab.task(task_id)["task_id"] == task_id
    assert [e["status"] for e in ailab.requests(since=1)] == [200]
    with pytest.raises(ControlError):
        ailab.task("nope")


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")


def test_non_loopback_without_key_is_refused():
    with pytest.raises(ValueError, match="API key"):
        LocalAilab(host="0.0.0.0")
    env = dict(os.environ, PYTHONPATH=LIB)
    env.pop("AILAB_API_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "smart_beauty_server", "--host", "0.0.0.0", "--port", "0"],
                          env=env, capture_output=True, timeout=30)
    assert proc.returncode == 2 and b"API key" in proc.stderr


def test_non_loopback_has_no_control_api_and_no_fault_keys():
    """Checked through the WSGI app without opening a socket on a public address."""
    srv = LocalAilab(host="0.0.0.0", api_keys=["secret-key"])
    assert srv.control_token is None
    client = Client(srv.app)
    r = client.get("/_control/info", headers={"X-Control-Token": "anything"})
    assert r.status_code == 404 and r.json["error_detail"]["code"] == "ERROR_AI_NOT_EXISTS"
    r = client.get("/api/common/query-credits", headers={"ailabapi-api-key": "fault:rate_limit"})
    assert r.status_code == 401
    r = client.get("/api/common/query-credits", headers={"ailabapi-api-key": "secret-key"})
    assert r.status_code == 200
    srv.stop()


def test_subprocess_server_starts_and_stops_cleanly():
    proc = ServerProcess(sys.executable, "tok-123", job_seconds=0.1)
    try:
        handle = AilabHandle(proc.url, "tok-123")
        assert handle.url.startswith("http://127.0.0.1:")
        assert submit(handle.url, handle.valid_key).status_code == 200
        handle.close()
    finally:
        proc.stop()
    assert proc.proc.returncode == 0


def test_main_help():
    from smart_beauty_server import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
