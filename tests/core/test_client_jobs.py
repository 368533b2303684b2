# -*- coding: utf-8 -*-
"""The client and the job workflow against the local AILab server over real HTTP, for success and
every injected fault: the exact error class, a useful key-free message, retries only where safe,
and no temp file left behind. Single source: also runs under a real Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import socket
import time

import pytest

from smart_beauty import Client, RetouchJob, errors
from smart_beauty.polling import PollPolicy

import pngutil

CANARY = "fault-free-canary-key"  # never used for auth; must never show up anywhere


def fast_policy():
    return PollPolicy(min_interval=0.05, max_interval=0.2, first_poll=0.05, prior_min=0.05, prior_max=5.0)


def make_client(ailab, key=None, **kw):
    kw.setdefault("backoff", 0.05)
    kw.setdefault("max_backoff", 0.3)
    return Client(key or ailab.valid_key, ailab.url, **kw)


def run_job(ailab, portrait, workdir, key=None, deadline=20.0, level=1.0, multi_face=False, client_kw=None):
    with make_client(ailab, key, **(client_kw or {})) as client:
        job = RetouchJob(client, portrait, level=level, multi_face=multi_face, deadline=deadline,
                         policy=fast_policy(), result_dir=workdir)
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


def test_rate_limit_429_is_retried_honouring_retry_after(ailab, portrait, workdir):
    ailab.inject("rate_limit", retry_after=1, times=2)
    start = time.time()
    job, _ = run_job(ailab, portrait, workdir)
    job.cleanup()
    assert ailab.stats()["counts"]["submit"] == 3
    assert time.time() - start >= 2.0  # two Retry-After: 1 pauses


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


def test_stuck_task_hits_the_deadline(ailab, portrait, workdir):
    ailab.inject("stuck")
    start = time.time()
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, deadline=1.5)
    assert_clean_failure(info, workdir, errors.JobTimeoutError)
    assert "1.5 seconds" in str(info.value) and time.time() - start < 4.0


def test_slow_answers_count_against_the_deadline(ailab, portrait, workdir):
    ailab.inject("delay", seconds=3.0)
    start = time.time()
    with pytest.raises(errors.SmartBeautyError) as info:
        run_job(ailab, portrait, workdir, deadline=1.0)
    assert type(info.value) in (errors.JobTimeoutError, errors.NetworkError)
    assert time.time() - start < 3.0


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused_is_a_network_error(portrait, workdir):
    client = Client(CANARY, "http://127.0.0.1:%d" % _free_port(), backoff=0.01)
    job = RetouchJob(client, portrait, deadline=10, result_dir=workdir)
    with pytest.raises(errors.SmartBeautyError) as info:
        job.run()
    assert_clean_failure(info, workdir, errors.NetworkError)
    assert "127.0.0.1" in str(info.value)


def test_dns_failure_is_a_network_error(portrait, workdir):
    client = Client(CANARY, "https://no-such-host.invalid", backoff=0.01)
    with pytest.raises(errors.SmartBeautyError) as info:
        RetouchJob(client, portrait, deadline=10, result_dir=workdir).run()
    assert_clean_failure(info, workdir, errors.NetworkError)


def test_cancel_while_processing_stops_quickly_and_cleanly(ailab, portrait, workdir):
    ailab.set_durations(queued=0.2, processing=5.0)
    with make_client(ailab) as client:
        job = RetouchJob(client, portrait, deadline=30, policy=fast_policy(), result_dir=workdir)
        states, start = [], time.time()
        for event in job.run_in_background(tick=0.05):
            states.append(event.state)
            if event.state == "processing" and time.time() - start > 0.5:
                job.cancel()
        with pytest.raises(errors.CancelledError):
            _ = job.result_path
    assert time.time() - start < 2.5
    assert "processing" in states and os.listdir(workdir) == []


def test_slow_job_keeps_progress_flowing_on_the_calling_thread(ailab, portrait, workdir):
    ailab.set_durations(queued=0.5, processing=1.5)
    with make_client(ailab) as client:
        job = RetouchJob(client, portrait, deadline=30, policy=fast_policy(), result_dir=workdir)
        stamps, events = [], []
        for event in job.run_in_background(tick=0.1):
            stamps.append(time.time())
            events.append(event)
        path = job.result_path
        job.cleanup()
    gaps = [b - a for a, b in zip(stamps, stamps[1:])]
    # ticks are 0.1 s over a 2 s job: many events, none far apart (room left for a loaded CI machine)
    assert path and len(stamps) >= 12 and max(gaps) < 1.0, (len(stamps), max(gaps))
    assert [e.state for e in events][-1] == "done"
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {"uploading", "queued", "processing", "downloading"} <= set(e.state for e in events)


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


def test_client_repr_hides_the_key(ailab):
    client = make_client(ailab, key=CANARY + "-long-enough")
    assert CANARY not in repr(client)
    client.close()
