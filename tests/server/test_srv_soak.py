"""A bounded soak: many retouch jobs, many at once, through the real client against the local server
on loopback; it stops by itself and every job is accounted for (its own result, bit-exact; one task,
one submit and one download each on the server; no temp file left; threads and memory back to bounds).

Size: ``SB_SOAK_JOBS`` (default 60) and ``SB_SOAK_CONCURRENCY`` (default 16); the full run is
``SB_SOAK_JOBS=500 SB_SOAK_CONCURRENCY=32 .venv/bin/pytest tests/server/test_srv_soak.py``.
"""
import os
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np
from PIL import Image

from smart_beauty import Client, RetouchJob
from smart_beauty.polling import PollPolicy
from smart_beauty_server.simple import SimpleEngine
from smart_beauty_server import LocalAilab

JOBS = int(os.environ.get("SB_SOAK_JOBS", "60"))
CONCURRENCY = int(os.environ.get("SB_SOAK_CONCURRENCY", "16"))


def test_soak(tmp_path):
    inputs = tmp_path / "in"
    work = tmp_path / "work"
    inputs.mkdir()
    work.mkdir()
    expected = []
    for i in range(JOBS):
        rgb = np.random.RandomState(i).randint(0, 256, size=(24 + i % 7, 32 + i % 5, 3)).astype(np.uint8)
        Image.fromarray(rgb).save(str(inputs / ("p%03d.png" % i)))
        expected.append(SimpleEngine()(rgb, 0.5))
    threads0 = threading.active_count()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    srv = LocalAilab(port=0, job_seconds=0.05, engine_workers=2).start()
    policy = PollPolicy(min_interval=0.05, max_interval=0.5, first_poll=0.05, prior_min=0.05, prior_max=5.0)
    results = {}
    t0 = time.monotonic()
    try:
        with Client(srv.valid_key, srv.url) as client:
            def one(i):
                job = RetouchJob(client, str(inputs / ("p%03d.png" % i)), level=0.5, deadline=120, policy=policy,
                                 result_dir=str(work))
                path = job.run()
                try:
                    got = np.asarray(Image.open(path).convert("RGB"))
                finally:
                    job.cleanup()
                return i, job.task_id, got

            with ThreadPoolExecutor(CONCURRENCY) as pool:
                futures = [pool.submit(one, i) for i in range(JOBS)]
                for f in as_completed(futures, timeout=600):
                    i, task_id, got = f.result()
                    results[i] = task_id
                    assert np.array_equal(got, expected[i]), "job %d got another job's result" % i
        elapsed = time.monotonic() - t0
        stats = srv.stats()
    finally:
        srv.stop()
    assert sorted(results) == list(range(JOBS))
    assert len(set(results.values())) == JOBS
    assert set(results.values()) == set(stats["tasks"])
    assert stats["counts"]["submit"] == JOBS and stats["counts"]["download"] == JOBS
    assert all(t["status"] == 2 for t in stats["tasks"].values())
    assert os.listdir(str(work)) == []
    deadline = time.monotonic() + 10
    while threading.active_count() > threads0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads0, [t.name for t in threading.enumerate()]
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024.0
    assert grown_mib < 300, grown_mib
    print("soak: %d jobs, %d concurrent, %.1f s, %.1f jobs/s, %d polls, max RSS +%.0f MiB"
          % (JOBS, CONCURRENCY, elapsed, JOBS / elapsed, stats["counts"]["poll"], grown_mib))
