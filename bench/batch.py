#!/usr/bin/env python3
"""Batch throughput: 50 images through the CLI's batch path against the local AILab server.

    .venv/bin/python bench/batch.py [--images 50] [--job-seconds 1.0] [--jobs 1 4 8]

The server (in this process, real HTTP on 127.0.0.1, SimpleEngine) gives every job the same fixed
time; its capacity is unlimited unless faults are injected. Time is scaled 1:10 on both sides: a
1.0 s job stands for a 10 s service job, and the poll policy's floor (1 s) becomes 0.1 s. Each
``--jobs`` value runs the same 50 fresh 256x256 PNGs through ``cli.make_batch`` (Pillow prepare,
PNG write, temp+rename); throughput = images written / batch wall time.

Then the rate-limit scenario: jobs=8 while the server refuses submits with 429 + Retry-After for a
while (``rate_limit`` fault, ``--limited`` refusals, Retry-After 1 s = 10 s scaled; HTTP allows
whole seconds only): how many were refused, how long the shared pause held every job, how many
items were put back in the queue and the in-flight limit the batch ended with.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from smart_beauty import Client  # noqa: E402
from smart_beauty.batch import DONE  # noqa: E402
from smart_beauty.polling import PollPolicy  # noqa: E402
from smart_beauty_cli import cli  # noqa: E402
from smart_beauty_server import LocalAilab  # noqa: E402


def scaled_policy():
    return PollPolicy(min_interval=0.1, max_interval=1.5, first_poll=0.1, prior_min=0.1, prior_max=30.0)


def make_inputs(directory, n):
    rng = np.random.default_rng(0)
    for i in range(n):
        y, x = np.mgrid[0:256, 0:256]
        rgb = np.stack([x, y, (x + y) // 2], axis=-1) + rng.integers(-20, 21, size=(256, 256, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(os.path.join(directory, "img%02d.png" % i))
    return sorted(os.path.join(directory, n) for n in os.listdir(directory))


def run(srv, files, out, jobs):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    pairs = [(f, cli.output_path(f, out)) for f in files]
    with Client(srv.valid_key, srv.url, backoff=0.1, max_backoff=1.0) as client:
        batch = cli.make_batch(client, pairs, 0.7, False, jobs=jobs, force=True, deadline=120.0,
                               policy=scaled_policy())
        kinds = []
        for event in batch.run(tick=0.05):
            kinds.append(event.kind)
    return batch, kinds


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--job-seconds", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--limited", type=int, default=12, help="429 refusals in the rate-limit scenario")
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix="sb-bench-batch-")
    srv = LocalAilab(port=0, job_seconds=args.job_seconds).start()
    try:
        os.makedirs(os.path.join(work, "in"))
        files = make_inputs(os.path.join(work, "in"), args.images)
        print("%d images, fixed job time %.2f s (scaled 1:10), local server, SimpleEngine, %d cores"
              % (len(files), args.job_seconds, os.cpu_count() or 1))
        rows = []
        base = None
        for k in args.jobs:
            srv.reset()
            srv.set_durations(job_seconds=args.job_seconds)
            t0 = time.monotonic()
            batch, _ = run(srv, files, os.path.join(work, "out%d" % k), k)
            wall = time.monotonic() - t0
            done = batch.count(DONE)
            tput = done / wall
            base = base or tput
            target = 0.8 * k * base if k > 1 else None
            rows.append((k, done, wall, tput, tput / base, target))
        print()
        print("| --jobs | done | wall (s) | images/s | speed-up | target (0.8·k × seq) |")
        print("|---:|---:|---:|---:|---:|---|")
        for k, done, wall, tput, speed, target in rows:
            verdict = "-" if target is None else ("%.2f/s %s" % (target, "met" if tput >= target else "MISSED"))
            print("| %d | %d | %.1f | %.2f | %.2f× | %s |" % (k, done, wall, tput, speed, verdict))

        # -- under 429s
        srv.reset()
        srv.set_durations(job_seconds=args.job_seconds)
        srv.inject("rate_limit", retry_after=1, times=args.limited)
        t0 = time.monotonic()
        batch, kinds = run(srv, files, os.path.join(work, "out429"), 8)
        wall = time.monotonic() - t0
        log = srv.app.log.entries()
        refused = [e for e in log if e["status"] == 429]
        paused = 0.0
        if refused:
            times = sorted(e["mono"] for e in log)
            for r in refused:  # silence after each refusal (the shared pause)
                later = [t for t in times if t > r["mono"] + 0.05]
                paused = max(paused, (later[0] - r["mono"]) if later else 0.0)
        print()
        print("Under 429s (jobs=8, %d submits refused with Retry-After 1 s): %d/%d done in %.1f s = %.2f images/s; "
              "longest silence after a 429: %.2f s (every job waits out the pause); %d item(s) put back in the "
              "queue; in-flight limit at the end: %d."
              % (len(refused), batch.count(DONE), len(files), wall, batch.count(DONE) / wall, paused,
                 kinds.count("requeued"), batch.limit))
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
