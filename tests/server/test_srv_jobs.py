"""Async jobs: 0 -> 1 -> 2, ready times, downloads, no-face failure, expiry, durations, stats, lifecycle."""

from __future__ import annotations

import errno
import io
import os
import tempfile
import threading
import time

import numpy as np
import pytest
import requests
from PIL import Image
from server_testutil import (
    POLL, assert_ailab_error, encode, expected_simple, flat_png, noisy_rgb, poll, submit, wait_done,
)

from smart_beauty_server import LocalAilab, images, jobs
from smart_beauty_server.simple import SimpleEngine


def test_status_progression_ready_time_and_download(clock):
    """A 40 s job (10 s queued, 30 s processing) on the test's virtual clock: the status follows the
    clock exactly, to the poll."""
    ailab = LocalAilab(port=0, queued_seconds=10.0, processing_seconds=30.0, clock=clock).start()
    try:
        _progression(ailab, clock)
    finally:
        ailab.stop()


def _progression(ailab, clock):
    arr = noisy_rgb(20, 30, seed=7)
    task_id = submit(ailab.url, ailab.valid_key, image=encode(arr), level="0.8").json()["task_id"]
    while ailab.store.get(task_id).engine_done_mono is None:   # the engine itself runs in real time
        time.sleep(0.005)
    seen = []
    for step in [0.0, 9.9, 0.2, 29.8, 0.2]:   # polls at 0, 9.9, 10.1, 39.9 and 40.1 s
        clock.advance(step)
        body = poll(ailab.url, ailab.valid_key, task_id).json()
        assert body["error_code"] == 0
        seen.append(body["task_status"])
        if body["task_status"] != 2:
            assert body["data"] == {"image_url": ""}
    assert seen == [0, 0, 1, 1, 2]
    url = body["data"]["image_url"]
    assert url.startswith(ailab.url + "/results/") and url.endswith(".png")
    info = ailab.task_info(task_id)
    assert info["status"] == 2 and info["polls"] == len(seen)
    assert info["queued_seconds"] == 10.0 and info["processing_seconds"] == 30.0
    r = requests.get(url, timeout=10)  # no key
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.mode == "RGB" and img.size == (30, 20)
    assert np.array_equal(np.asarray(img), expected_simple(arr, 0.8))
    log = ailab.requests
    assert [e["endpoint"] for e in log] == ["submit"] + ["poll"] * len(seen) + ["download"]
    assert all(e["sent_api_key"] for e in log[:-1]) and not log[-1]["sent_api_key"]
    assert all("ailabapi-api-key" not in {k.lower() for k in e["headers"]} for e in log)
    counts = ailab.stats()["counts"]
    assert counts["poll"] == len(seen) and counts["download"] == 1 and counts["total"] == len(log)


def test_unknown_and_missing_task(ailab):
    assert_ailab_error(poll(ailab.url, ailab.valid_key, "no-such-task"), 404, "ERROR_RESOURCE_NOT_FOUND")
    r = requests.get(ailab.url + POLL, headers=ailab.headers(), timeout=10)
    assert_ailab_error(r, 400, "MISSING_PARAMETERS")
    assert_ailab_error(poll(ailab.url, "wrong", "x"), 401, "ERROR_USER_NOT_EXISTS")


def test_unknown_result_token_is_plain_404(ailab):
    r = requests.get(ailab.url + "/results/abcdefghijklmnop.png", timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain")


def test_no_face_fails_on_the_poll(ailab):
    task_id = submit(ailab.url, ailab.valid_key, image=flat_png()).json()["task_id"]
    r = wait_done(ailab.url, ailab.valid_key, task_id)
    body = assert_ailab_error(r, 422, "ERROR_NO_FACE_IN_FILE")
    assert body["error_detail"]["code_message"] == "No face detected in the file."
    assert ailab.task(task_id)["status"] == "failed"


def test_engine_crash_is_processing_failure(srv):
    def broken(rgb, level, multi_face):
        raise RuntimeError("boom")

    srv.store.engine = broken
    task_id = submit(srv.url, srv.valid_key).json()["task_id"]
    assert_ailab_error(wait_done(srv.url, srv.valid_key, task_id), 500, "PROCESSING_FAILURE")


def test_results_expire(clock):
    ailab = LocalAilab(port=0, job_seconds=0.0, result_ttl=3600.0, clock=clock).start()
    try:
        _expiry(ailab, clock)
    finally:
        ailab.stop()


def _expiry(ailab, clock):
    task_id = submit(ailab.url, ailab.valid_key).json()["task_id"]
    body = wait_done(ailab.url, ailab.valid_key, task_id).json()
    url = body["data"]["image_url"]
    first = requests.get(url, timeout=10)
    clock.advance(3599.0)
    second = requests.get(url, timeout=10)      # a result is downloaded as often as asked until it expires
    assert first.status_code == second.status_code == 200 and first.content == second.content
    clock.advance(1.0)
    r = requests.get(url, timeout=10)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("text/plain")
    assert_ailab_error(poll(ailab.url, ailab.valid_key, task_id), 404, "ERROR_RESOURCE_NOT_FOUND")
    assert ailab.task_info(task_id)["status"] == "expired"


def test_a_saved_result_is_the_stores_file_under_a_second_name_and_outlives_it(clock, tmp_path):
    """``TaskStore.save_result`` (the command's in-process engine takes its results so): the store's file
    gets the caller's name, no byte read or written (the same file: two links); it can be saved again
    until the result expires, as the service's downloads; then it is refused and the store's own name goes,
    and every saved one keeps its bytes."""
    folder, out = tmp_path / "store", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    store = jobs.TaskStore(SimpleEngine(), jobs.fixed_durations(0.0, 0.0), result_ttl=3600.0, clock=clock,
                           result_dir=str(folder), save=images.save_bmp)
    store.start()
    try:
        arr = noisy_rgb(20, 30, seed=5)
        task = store.submit(arr, 0.6, False)
        assert store.poll(task.id, hold=10.0)[1] == jobs.DONE
        kept = task.result_path
        first, second, late = (str(out / name) for name in ("first.bmp", "second.bmp", "late.bmp"))
        assert store.save_result(task.token, first)
        assert os.path.samefile(first, kept) and os.stat(kept).st_nlink == 2
        with Image.open(first) as f:
            assert f.format == "BMP" and np.array_equal(np.asarray(f), expected_simple(arr, 0.6))
        with open(first, "rb") as f:
            data = f.read()
        assert store.save_result(task.token, first) and os.path.samefile(first, kept)   # the same name again
        assert os.stat(kept).st_nlink == 2
        assert not store.save_result("unknown-token", str(out / "none.bmp"))
        clock.advance(3599.0)
        victim = tmp_path / "victim"
        victim.write_bytes(b"not yours")
        os.symlink(str(victim), second)        # planted at the name: replaced, never followed
        assert store.save_result(task.token, second) and os.path.samefile(second, kept)
        assert not os.path.islink(second) and victim.read_bytes() == b"not yours"
        assert store.result(task.token) == data
        assert sorted(os.listdir(folder)) == [os.path.basename(kept)]          # no name of a save left
        clock.advance(1.0)
        assert not store.save_result(task.token, late) and store.result(task.token) is None
        store.sweep()
        assert task.result_path is None and not os.path.exists(kept) and not os.path.exists(late)
        for path in (first, second):
            with open(path, "rb") as f:
                assert f.read() == data
            assert os.stat(path).st_nlink == 2 and os.stat(path).st_mode & 0o777 == 0o600
        assert sorted(os.listdir(out)) == ["first.bmp", "second.bmp"] and os.listdir(folder) == []
    finally:
        store.close()


@pytest.mark.parametrize("cannot", ["link", "rename"])
def test_a_result_is_saved_as_a_copy_where_it_cannot_be_linked(cannot, clock, tmp_path, monkeypatch):
    """A file system without hard links (``link``), or the caller's name on another one (``rename``, EXDEV):
    the same bytes in a new file of the caller's, 0600, that replaces whatever had the name; no other name
    left behind, in the store's folder or the caller's."""
    folder, out = tmp_path / "store", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    store = jobs.TaskStore(SimpleEngine(), jobs.fixed_durations(0.0, 0.0), clock=clock, result_dir=str(folder),
                           save=images.save_bmp)
    store.start()
    try:
        task = store.submit(noisy_rgb(20, 30, seed=6), 0.4, False)
        assert store.poll(task.id, hold=10.0)[1] == jobs.DONE

        def cross_device(src, dst, *args, **kwargs):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src, None, dst)

        if cannot == "link":
            monkeypatch.setattr(os, "link", cross_device)
        else:
            replace = os.replace

            def no_rename_out_of_the_store(src, dst, *args, **kwargs):
                if os.path.dirname(src) == str(folder):
                    cross_device(src, dst)
                return replace(src, dst, *args, **kwargs)

            monkeypatch.setattr(os, "replace", no_rename_out_of_the_store)
        copy = str(out / "copy.bmp")
        for placeholder in (False, True):
            if placeholder:
                with open(copy, "wb") as f:
                    f.write(b"placeholder")
            assert store.save_result(task.token, copy)
            assert not os.path.samefile(copy, task.result_path) and os.stat(task.result_path).st_nlink == 1
            with open(copy, "rb") as f:
                assert f.read() == store.result(task.token)
            assert os.stat(copy).st_mode & 0o777 == 0o600
            assert os.listdir(out) == ["copy.bmp"] and os.listdir(folder) == [os.path.basename(task.result_path)]

        def disk_full(src, dst, *args, **kwargs):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(jobs.shutil, "copyfileobj", disk_full)
        with open(copy, "wb") as f:
            f.write(b"placeholder")
        with pytest.raises(OSError):
            store.save_result(task.token, copy)
        with open(copy, "rb") as f:           # a copy that fails leaves the name as it was, and nothing else
            assert f.read() == b"placeholder"
        assert os.listdir(out) == ["copy.bmp"] and os.listdir(folder) == [os.path.basename(task.result_path)]
    finally:
        store.close()


@pytest.mark.parametrize("code,expected", [(errno.ENOSPC, (507, "ERROR_INSUFFICIENT_STORAGE")),
                                           (errno.EIO, (500, "PROCESSING_FAILURE"))])
def test_a_result_that_cannot_be_written_fails_the_job_and_leaves_no_file(code, expected, tmp_path):
    """The result goes straight from Pillow into the store's file: a write that fails halfway removes the
    file and fails the job -- a full disk with our own 507 (the offline engine's disk is the user's to free;
    AILab has no such answer), any other error as an engine error does."""
    def half_then_full(rgb, f):
        f.write(b"BM" + bytes(100))
        raise OSError(code, os.strerror(code))

    store = jobs.TaskStore(SimpleEngine(), jobs.fixed_durations(0.0, 0.0), result_dir=str(tmp_path),
                           save=half_then_full)
    store.start()
    try:
        task = store.submit(noisy_rgb(20, 30, seed=7), 0.5, False)
        assert store.poll(task.id, hold=10.0)[1] == jobs.FAILED
        assert task.error[:2] == expected and task.token is None
        assert os.listdir(tmp_path) == [] and store.credits == store.initial_credits
    finally:
        store.close()


def test_per_job_duration_sequence(ailab):
    ailab.set_durations(sequence=[[0.0, 0.05], [0.1, 0.3]])
    ids = [submit(ailab.url, ailab.valid_key).json()["task_id"] for _ in range(3)]
    got = [(ailab.task(i)["queued_seconds"], ailab.task(i)["processing_seconds"]) for i in ids]
    assert got == [(0.0, 0.05), (0.1, 0.3), (0.1, 0.3)]
    assert ailab.stats()["durations"] == {"sequence": [[0.0, 0.05], [0.1, 0.3]]}


def test_duration_callable_in_process(srv):
    seen = []

    def durations(info):
        seen.append(info)
        return 0.0, 0.01 * len(seen)

    srv.set_durations(func=durations)
    ids = [submit(srv.url, srv.valid_key, level="0.3").json()["task_id"] for _ in range(2)]
    assert [srv.task_info(i)["processing_seconds"] for i in ids] == [0.01, 0.02]
    assert seen[0] == {"level": 0.3, "multi_face": False}


def test_concurrent_submits_and_polls(srv):
    srv.set_durations(queued=0.0, processing=0.1)
    errors, ids = [], []

    def worker(seed):
        try:
            arr = noisy_rgb(16, 16, seed=seed)
            task_id = submit(srv.url, srv.valid_key, image=encode(arr)).json()["task_id"]
            ids.append(task_id)
            url = wait_done(srv.url, srv.valid_key, task_id).json()["data"]["image_url"]
            out = np.asarray(Image.open(io.BytesIO(requests.get(url, timeout=10).content)))
            assert np.array_equal(out, expected_simple(arr, 1.0))
        except Exception as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 12
    assert srv.stats()["counts"]["submit"] == 12


def test_stop_joins_threads_and_leaves_no_temp_files(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = set(threading.enumerate())
    srv = LocalAilab(port=0, job_seconds=0.05).start()
    task_id = submit(srv.url, srv.valid_key, image=encode(noisy_rgb(300, 400))).json()["task_id"]
    url = wait_done(srv.url, srv.valid_key, task_id).json()["data"]["image_url"]
    assert requests.get(url, timeout=10).status_code == 200
    srv.stop()
    time.sleep(0.05)
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + POLL, timeout=2)


def test_reset_forgets_everything(ailab):
    ailab.inject("rate_limit")
    ailab.set_durations(job_seconds=5)
    ailab.configure(result_ttl=1, credits=8)
    ailab.reset()
    stats = ailab.stats()
    assert stats["faults"] == [] and stats["tasks"] == {} and stats["counts"]["total"] == 0
    assert stats["result_ttl"] == 86400 and stats["credits"] > 8
    assert stats["durations"] == {"queued": 0.0, "processing": 0.0}   # the test session's server: no waiting


def test_a_job_finishing_after_a_reset_is_neither_kept_nor_billed():
    """The test session's server is reset between tests; an engine still busy with the last test's job
    must not take its 8 credits from the next test's account (seen once in CI: balance 115, not 123)."""
    started, release = threading.Event(), threading.Event()

    def held_engine(rgb, level, multi_face=False):
        started.set()
        release.wait(10)
        return rgb

    srv = LocalAilab(port=0, engine=held_engine, job_seconds=0.0).start()
    try:
        task_id = submit(srv.url, srv.valid_key, image=encode(noisy_rgb(20, 30, seed=3)), level="0.5").json()["task_id"]
        assert started.wait(10)
        task = srv.store.get(task_id)
        srv.reset()
        before = srv.stats()["credits"]
        release.set()
        deadline = time.monotonic() + 10
        while task.engine_done_mono is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert task.engine_done_mono is not None and task.result_path is None
        assert srv.stats()["credits"] == before and srv.stats()["tasks"] == {}
        assert os.listdir(srv.store.result_dir) == []
    finally:
        release.set()
        srv.stop()


def test_a_request_held_back_over_a_reset_counts_in_neither_test():
    """A reply held back by a ``delay`` fault (its client gave up) must not show up after the reset as
    a submit the next test never made (seen in CI: 1 submit where a test expected 0), nor make a task."""
    srv = LocalAilab(port=0, job_seconds=0.0).start()
    try:
        srv.inject("delay", seconds=0.5, endpoint="submit", times=1)
        replies = []

        def post():
            try:
                replies.append(submit(srv.url, srv.valid_key, image=encode(noisy_rgb(20, 30, seed=4)),
                                      level="0.5").status_code)
            except requests.ConnectionError as exc:
                replies.append(type(exc).__name__)

        sender = threading.Thread(target=post)
        sender.start()
        deadline = time.monotonic() + 10
        while not srv.stats()["faults"][0]["hits"] and time.monotonic() < deadline:
            time.sleep(0.005)
        assert srv.stats()["faults"][0]["hits"] == 1   # the reply is being held back now
        srv.reset()
        sender.join(10)
        assert replies == ["ConnectionError"]
        stats = srv.stats()
        assert stats["counts"]["total"] == 0 and stats["tasks"] == {}
    finally:
        srv.stop()


def test_the_offline_service_counts_no_credits():
    """``smart-beauty serve`` (credits=None): a dialog's previews are free, so no balance runs out and the
    credits query lists no pack; a server with a balance refuses once it is spent."""
    srv = LocalAilab(port=0, job_seconds=0.0, credits=None).start()
    try:
        for _ in range(3):
            assert submit(srv.url, srv.valid_key, image=encode(noisy_rgb(20, 30, seed=1)), level="0.5",
                          task_type="sync").status_code == 200
        assert srv.stats()["credits"] is None
        reply = requests.get(srv.url + "/api/common/query-credits", headers={"ailabapi-api-key": srv.valid_key},
                             timeout=10)
        assert reply.status_code == 200 and reply.json()["data"] == []
    finally:
        srv.stop()
    srv = LocalAilab(port=0, job_seconds=0.0, credits=8).start()
    try:
        first, second = (submit(srv.url, srv.valid_key, image=encode(noisy_rgb(20, 30, seed=1)), level="0.5",
                                task_type="sync") for _ in range(2))
        assert first.status_code == 200 and second.status_code == 429
    finally:
        srv.stop()


def test_a_server_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Its private folder is made on first use and removed when it stops: a server that was only made
    (never started, or stopped without a job) leaves nothing in the temp folder either."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    LocalAilab(api_keys=["k"])                       # made, never started
    srv = LocalAilab(port=0, api_keys=["k"], job_seconds=0.0).start()
    srv.stop()
    assert os.listdir(str(tmp_path)) == []
    srv = LocalAilab(port=0, api_keys=["k"], job_seconds=0.0).start()
    folder = srv.store.result_dir                    # in use: exists, private
    assert os.path.isdir(folder) and os.path.dirname(folder) == str(tmp_path)
    srv.stop()
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("hold", [0.0, 30.0])
def test_a_held_status_query_is_answered_when_the_job_ends(hold):
    """``hold_polls`` (``smart-beauty serve``): a query about a job the engine is running waits for it and
    says 'done' in the same answer; without it (the service's way) the answer is 'processing' at once."""
    started, release = threading.Event(), threading.Event()

    def held_engine(rgb, level, multi_face=False):
        started.set()
        release.wait(10)
        return rgb

    srv = LocalAilab(port=0, engine=held_engine, job_seconds=0.0, hold_polls=hold).start()
    try:
        task_id = submit(srv.url, srv.valid_key, image=encode(noisy_rgb(20, 30, seed=3)), level="0.5").json()["task_id"]
        assert started.wait(10)
        answers = []
        query = threading.Thread(target=lambda: answers.append(poll(srv.url, srv.valid_key, task_id).json()))
        query.start()
        deadline = time.monotonic() + 10
        while not srv.store.get(task_id).polls and time.monotonic() < deadline:
            time.sleep(0.005)     # the query has reached the store (and, held, waits there)
        release.set()
        query.join(15)
        assert len(answers) == 1 and len(srv.store.get(task_id).polls) == 1
        assert answers[0]["task_status"] == (2 if hold else 1)
        if hold:
            assert answers[0]["data"]["image_url"].endswith(".png")
    finally:
        release.set()
        srv.stop()
