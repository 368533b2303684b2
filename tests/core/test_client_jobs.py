# -*- coding: utf-8 -*-
"""The client and the job workflow against the local AILab server over real HTTP, for success and
every injected fault: the exact error class, a useful key-free message, retries only where safe,
and no temp file left behind. Single source: also runs under a real Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import socket
import sys

import pytest

from smart_beauty import Client, RetouchJob, errors
from smart_beauty.polling import PollPolicy

import pngutil
from virtual_clock import VirtualClock

CANARY = "fault-free-canary-key"  # never used for auth; must never show up anywhere


def make_client(ailab, key=None, clock=None, **kw):
    """A client on a virtual clock (its own unless given) with the real back-off and a fresh cloud
    poll policy (first query after about 1.2 s, then 1-15 s apart): the waits take no wall time."""
    return Client(key or ailab.valid_key, ailab.url, clock=clock or VirtualClock(), poll_policy=PollPolicy(), **kw)


def run_job(ailab, portrait, workdir, key=None, deadline=300.0, level=1.0, multi_face=False, client_kw=None,
            clock=None):
    with make_client(ailab, key, clock, **(client_kw or {})) as client:
        job = RetouchJob(client, portrait, level=level, multi_face=multi_face, deadline=deadline,
                         result_dir=workdir)
        return job, job.run()


def assert_clean_failure(info, workdir, cls, key=None):
    err = info.value
    assert type(err) is cls, repr(err)
    text = str(err)
    assert text.endswith(".") or text.endswith(")")
    assert any(word in text.lower() for word in ("try", "check", "run", "top it up", "contact", "use a"))
    for secret in (key, CANARY):
        if secret:
            assert secret not in text and secret not in repr(err) and secret not in (err.detail or "")
    assert os.listdir(workdir) == [], "temp files left behind: %r" % os.listdir(workdir)


def test_success_downloads_the_servers_result(ailab, portrait, workdir):
    job, path = run_job(ailab, portrait, workdir, level=0.8)
    try:
        w, h, channels, rows = pngutil.read_png(path)
        _, _, _, src = pngutil.read_png(portrait)
        assert (w, h) == (48, 32)
        for y in (0, 7, 31):
            for i in (0, 10, 143):
                assert rows[y][i] == pngutil.simple_engine_value(src[y][i], 0.8)
        counts = ailab.stats()["counts"]
        assert counts["submit"] == 1 and counts["download"] == 1 and counts["poll"] == job.queries >= 1
        assert os.listdir(workdir) == [os.path.basename(path)]
    finally:
        job.cleanup()
    assert os.listdir(workdir) == []


def test_submit_sends_the_documented_fields(ailab, portrait, workdir):
    job, _ = run_job(ailab, portrait, workdir, level=0.25, multi_face=True)
    job.cleanup()
    task = ailab.task(job.task_id)
    assert task["level"] == pytest.approx(0.25) and task["multi_face"] is True


def test_key_never_travels_in_a_url_or_to_the_result_host(ailab, portrait, workdir):
    job, _ = run_job(ailab, portrait, workdir)
    job.cleanup()
    reqs = ailab.requests()
    assert reqs
    for r in reqs:
        assert ailab.valid_key not in r["path"] and ailab.valid_key not in r.get("query", "")
        if r["endpoint"] == "download":
            assert not r.get("had_key"), r


FAULTS = [
    # (fault name, params, expected error, must not be retried)
    ("error", dict(status=401, code="ERROR_USER_NOT_EXISTS"), errors.AuthError),
    ("error", dict(status=403, code="ERROR_USER_LOCKED"), errors.AuthError),
    ("no_credits", dict(), errors.NoCreditsError),
    ("error", dict(status=413, code="FILE_SIZE_EXCEEDS_LIMIT"), errors.BadInputError),
    ("error", dict(status=415, code="UNSUPPORTED_FILE_TYPES"), errors.BadInputError),
    ("error", dict(status=422, code="ERROR_NO_FACE_IN_FILE"), errors.NoFaceError),
    ("error", dict(status=500, code="PROCESSING_FAILURE"), errors.ServiceError),
    ("error", dict(status=500, code="PROCESSING_FAILURE", endpoint="poll"), errors.ServiceError),
    ("task_failed", dict(), errors.NoFaceError),
    ("task_failed", dict(status=500, code="PROCESSING_FAILURE"), errors.ServiceError),
    ("task_status", dict(value=3), errors.ServiceError),
    ("task_status", dict(value=7), errors.ServiceError),
    ("malformed_json", dict(), errors.ServiceError),
    ("empty_body", dict(), errors.ServiceError),
    ("malformed_json", dict(endpoint="submit"), errors.ServiceError),
    ("expired", dict(), errors.ResultExpiredError),
    ("error", dict(status=404, code="ERROR_RESOURCE_NOT_FOUND", endpoint="poll"), errors.ResultExpiredError),
    ("truncated", dict(), errors.BadResultError),
    ("not_image", dict(), errors.BadResultError),
    ("oversized", dict(size=3 * 1024 * 1024), errors.BadResultError),
]


@pytest.mark.parametrize("name,params,cls", FAULTS, ids=["%s-%s" % (f[0], "-".join(
    "%s" % f[1][k] for k in sorted(f[1]))) for f in FAULTS])
def test_fault_gives_the_right_error_and_leaves_nothing(ailab, portrait, workdir, name, params, cls):
    ailab.inject(name, **params)
    client_kw = {"max_download_bytes": 2 * 1024 * 1024} if name == "oversized" else None
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, client_kw=client_kw)
    assert_clean_failure(info, workdir, cls, ailab.valid_key)


def test_fault_chosen_by_key_works_too(ailab, portrait, workdir):
    key = ailab.fault_key("no_credits")
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, key=key)
    assert_clean_failure(info, workdir, errors.NoCreditsError, key)


def test_out_of_credits_429_is_never_retried(ailab, portrait, workdir):
    ailab.inject("no_credits", retry_after=0)
    with pytest.raises(errors.NoCreditsError):
        run_job(ailab, portrait, workdir)
    assert ailab.stats()["counts"]["submit"] == 1


def test_rate_limit_429_is_retried_honouring_retry_after(ailab, portrait, workdir, clock):
    ailab.inject("rate_limit", retry_after=7, times=2)
    job, _ = run_job(ailab, portrait, workdir, clock=clock)
    job.cleanup()
    assert ailab.stats()["counts"]["submit"] == 3
    # two Retry-After: 7 pauses (the back-off alone would be about 1 s and 2 s) before the upload went through
    assert len([w for w in clock.waits if w >= 7.0]) == 2, clock.waits


def test_rate_limit_gives_up_after_the_retry_budget(ailab, portrait, workdir):
    ailab.inject("rate_limit", retry_after=0)
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, client_kw={"status_retries": 2})
    assert_clean_failure(info, workdir, errors.RateLimitError)
    assert ailab.stats()["counts"]["submit"] == 3


def test_flow_restriction_503_on_poll_is_retried(ailab, portrait, workdir):
    ailab.inject("flow_restriction", endpoint="poll", times=2, retry_after=0)
    job, _ = run_job(ailab, portrait, workdir)
    job.cleanup()


@pytest.mark.parametrize("name", ["no_body", "html", "drop"])
def test_transient_poll_failures_are_retried(ailab, portrait, workdir, name):
    ailab.inject(name, times=2)
    job, path = run_job(ailab, portrait, workdir)
    assert os.path.exists(path)
    job.cleanup()
    assert ailab.stats()["counts"]["poll"] >= job.queries + 2


@pytest.mark.parametrize("name", ["no_body", "html", "drop"])
def test_persistent_poll_failures_end_in_a_clear_error(ailab, portrait, workdir, name):
    ailab.inject(name)
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, client_kw={"status_retries": 2})
    assert_clean_failure(info, workdir, errors.NetworkError if name == "drop" else errors.ServiceError)


def test_submit_is_not_retried_after_a_5xx_or_a_dropped_connection(ailab, portrait, workdir):
    ailab.inject("no_body", endpoint="submit", status=502)
    with pytest.raises(errors.ServiceError):
        run_job(ailab, portrait, workdir)
    assert ailab.stats()["counts"]["submit"] == 1
    ailab.reset()
    ailab.inject("drop", endpoint="submit")
    with pytest.raises(errors.NetworkError):
        run_job(ailab, portrait, workdir)
    assert ailab.stats()["counts"]["submit"] == 1


def test_truncated_download_is_retried_once_it_recovers(ailab, portrait, workdir):
    ailab.inject("truncated", times=1)
    job, path = run_job(ailab, portrait, workdir)
    pngutil.read_png(path)
    job.cleanup()
    assert ailab.stats()["counts"]["download"] == 2


def test_status_only_inside_data_is_understood(ailab, portrait, workdir):
    ailab.inject("status_in_data")
    job, _ = run_job(ailab, portrait, workdir)
    job.cleanup()


def test_stuck_task_hits_the_deadline(ailab, portrait, workdir, clock):
    ailab.inject("stuck")
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, deadline=300.0, clock=clock)
    assert_clean_failure(info, workdir, errors.JobTimeoutError)
    assert "300 seconds" in str(info.value)
    polls = ailab.stats()["counts"]["poll"]
    # asked all along (never more than 15 s apart), and stopped at the deadline, not after it
    assert 300.0 / 15 <= polls <= 300 and 300.0 <= clock.now() - 1000.0 < 300.0 + 15, (polls, clock.now())


def test_slow_answers_count_against_the_deadline(ailab, portrait, workdir):
    # An answer that takes longer than the job has left: the read timeout is cut at the deadline (a
    # real socket timeout: the reply to the upload is held back 2 s, the deadline is 0.3 s).
    ailab.inject("delay", seconds=2.0, endpoint="submit")
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, deadline=0.3)
    assert type(info.value) in (errors.JobTimeoutError, errors.NetworkError)
    assert ailab.stats()["counts"]["poll"] == 0


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_a_network_error(portrait, workdir):
    client = Client(CANARY, "http://127.0.0.1:%d" % _free_port(), clock=VirtualClock())
    job = RetouchJob(client, portrait, deadline=10, result_dir=workdir)
    with pytest.raises(errors.SmartBeautyError) as info:
        job.run()
    assert_clean_failure(info, workdir, errors.NetworkError)
    assert "127.0.0.1" in str(info.value)


def test_dns_failure_is_a_network_error(portrait, workdir):
    client = Client(CANARY, "https://no-such-host.invalid", clock=VirtualClock())
    with pytest.raises(errors.SmartBeautyError) as info:
        RetouchJob(client, portrait, deadline=10, result_dir=workdir).run()
    assert_clean_failure(info, workdir, errors.NetworkError)


def test_cancel_while_processing_stops_at_once_and_cleanly(ailab, portrait, workdir):
    ailab.inject("stuck", status=1)
    with make_client(ailab) as client:
        job = RetouchJob(client, portrait, deadline=10 ** 6, result_dir=workdir)
        states = []
        for event in job.run_in_background(tick=0.05):
            states.append(event.state)
            if event.state == "processing" and not job.cancelled:
                job.cancel()
        with pytest.raises(errors.CancelledError):
            _ = job.result_path
    assert states.count("processing") >= 1 and "downloading" not in states
    assert ailab.stats()["counts"]["download"] == 0 and os.listdir(workdir) == []


def test_a_job_waiting_on_the_network_keeps_progress_flowing_on_the_calling_thread(ailab, portrait, workdir):
    """GIMP's progress bar moves while the worker thread is blocked: the calling thread gets an event
    every ``tick`` whether or not the job has news. The worker is held by the network (the
    service's first status answer comes after 0.5 s), so this one is measured in real time."""
    ailab.inject("delay", seconds=0.5, times=1)
    with make_client(ailab) as client:
        job = RetouchJob(client, portrait, result_dir=workdir)
        events = list(job.run_in_background(tick=0.02))
        path = job.result_path
        job.cleanup()
    waiting = [e for e in events if e.state == "queued"]
    assert path and len(waiting) >= 5, len(waiting)   # 0.5 s / 0.02 s ticks = 25, with room for a busy machine
    assert [e.state for e in events][-1] == "done"
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"uploading", "queued", "downloading"} <= set(e.state for e in events)


def test_progress_follows_the_services_states_in_virtual_time(portrait, workdir, clock):
    """A 40 s job (10 s queued, 30 s processing) on an in-process server sharing the test's clock."""
    if sys.version_info[0] < 3:
        pytest.skip("the local AILab server is Python 3 only")
    from smart_beauty_server import LocalAilab

    with LocalAilab(port=0, queued_seconds=10.0, processing_seconds=30.0, clock=clock) as srv:
        with Client(srv.valid_key, srv.url, clock=clock, poll_policy=PollPolicy()) as client:
            job = RetouchJob(client, portrait, result_dir=workdir)
            seen = []
            path = job.run(progress=seen.append)
            job.cleanup()
    states = [e.state for e in seen]
    assert path and states[0] == "uploading" and states[-2:] == ["downloading", "done"]
    assert states.index("queued") < states.index("processing")
    assert 40.0 <= seen[-1].elapsed < 40.0 + 15.0 and 4 <= job.queries <= 40, (seen[-1].elapsed, job.queries)
    fractions = [e.fraction for e in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_input_over_the_limits_is_refused_before_any_upload(ailab, tmpdir, workdir):
    path = str(tmpdir.join("huge.png"))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0\0\x17p\0\0\x0f\xa0" + b"\x08\x02\0\0\0" + b"\0" * 100)
    with pytest.raises(errors.BadInputError) as info:
        run_job(ailab, path, workdir)
    assert "6000x4000" in str(info.value)
    assert ailab.stats()["counts"]["submit"] == 0


def test_credits_query(ailab):
    with make_client(ailab) as client:
        packs = client.credits()
    assert packs and "balance" in packs[0]


def test_balance_is_the_credits_left_over_all_packs(ailab):
    ailab.configure(credits=123)
    with make_client(ailab) as client:
        assert client.balance() == 123.0
    ailab.configure(credits=0)
    with make_client(ailab) as client:
        assert client.balance() == 0.0   # a key that works on an empty account: 0, not "no packs" (None)


def test_client_repr_hides_the_key(ailab):
    client = make_client(ailab, key=CANARY + "-long-enough")
    assert CANARY not in repr(client)
    client.close()
