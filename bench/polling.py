#!/usr/bin/env python3
"""How soon does the client notice a finished job, and how many status queries does that cost?

Runs real jobs against the local AILab server over HTTP, with the adaptive poll policy and with a
fixed 5 s poller side by side in the same run, on two workloads:

  (a) mixed: durations log-uniform in 2-40 s, independent of each other;
  (b) batch: similar photos, durations within +-15 % of a common value (uniform).

Time is scaled down by one factor (``--scale``, default 10) for the server's durations AND the
client's policy constants alike; every figure printed is converted back to real seconds. The delay
is measured on the server: from the instant a task became ready to the arrival of the first status
query after it. Queries per job are counted by the server too.

Also printed for (a): the best any poller can do that knows the exact duration distribution and
keeps at most one query per second (a dynamic program over poll times), at the adaptive poller's
query count - the yardstick for the policy.
"""
import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from PIL import Image  # noqa: E402

from smart_beauty import Client, RetouchJob  # noqa: E402
from smart_beauty.polling import FixedPolicy, PollPolicy  # noqa: E402
from smart_beauty_server import LocalAilab  # noqa: E402


def scaled_policy(scale):
    """The default policy with every constant in scaled time. ``k`` multiplies sqrt(seconds)
    (it is sqrt(2 x the price of one query in seconds of delay)), so it scales by 1/sqrt(scale)."""
    defaults = PollPolicy()
    return PollPolicy(k=defaults.k / math.sqrt(scale), min_interval=defaults.min_interval / scale,
                      max_interval=defaults.max_interval / scale, first_poll=defaults.first_poll / scale,
                      prior_min=defaults.prior_min / scale, prior_max=defaults.prior_max / scale,
                      prior_weight=defaults.prior_weight, first_quantile=defaults.first_quantile)


def run_workload(durations, policy, scale, concurrency, image):
    """Run one job per duration; returns per-job (delay s, queries) in real (unscaled) seconds."""
    order = {"i": 0}
    lock = threading.Lock()

    def provider(info):
        with lock:
            i = order["i"]
            order["i"] += 1
        return (0.0, durations[i] / scale)

    server = LocalAilab(port=0, durations=provider, engine_workers=4).start()
    try:
        client = Client(server.valid_key, server.url)
        task_ids = [None] * len(durations)

        def one(i):
            job = RetouchJob(client, image, level=0.5, deadline=600, policy=policy)
            job.run()
            job.cleanup()
            task_ids[i] = job.task_id

        with ThreadPoolExecutor(concurrency) as pool:
            for f in [pool.submit(one, i) for i in range(len(durations))]:
                f.result()
        results = []
        for tid in task_ids:
            info = server.task_info(tid)
            ready = info["ready_at"]
            polls = sorted(info["poll_times"])
            noticed = min(p for p in polls if p >= ready)
            results.append(((noticed - ready) * scale, len(polls)))
        client.close()
        return results
    finally:
        server.stop()


def summarize(results):
    delays = sorted(r[0] for r in results)
    queries = [r[1] for r in results]
    p95 = delays[min(len(delays) - 1, int(math.ceil(0.95 * len(delays))) - 1)]
    return statistics.mean(delays), p95, statistics.mean(queries)


def optimal_frontier(lo, hi, min_gap=1.0, dt=0.05, lams=(0.3, 0.5, 0.8, 1.0, 1.3, 1.6, 2.0, 2.5)):
    """(mean delay, queries) of the best schedules for a log-uniform [lo, hi] duration, by DP."""
    ts = np.arange(0, hi + 2 * min_gap + dt, dt)
    llo, lhi = math.log(lo), math.log(hi)
    F = np.clip((np.log(np.maximum(ts, 1e-9)) - llo) / (lhi - llo), 0, 1)
    PE = (np.clip(ts, lo, hi) - lo) / (lhi - llo)   # E[T; T <= t]
    g = int(round(min_gap / dt))
    out = []
    for lam in lams:
        n = len(ts)
        V = np.zeros(n)
        nxt = np.full(n, -1)
        for i in range(n - 1, -1, -1):
            if F[i] >= 1.0:
                continue
            js = np.arange(i + g, n)
            if not len(js):
                V[i] = 1e9
                continue
            cost = lam * (1 - F[i]) + ts[js] * (F[js] - F[i]) - (PE[js] - PE[i]) + (1 - F[js]) * V[js]
            k = int(np.argmin(cost))
            V[i], nxt[i] = cost[k], js[k]
        i, polls = 0, []
        while nxt[i] >= 0:
            i = nxt[i]
            polls.append(i)
        d = q = 0.0
        prev = 0
        for j, p in enumerate(polls):
            mass = F[p] - F[prev]
            d += ts[p] * mass - (PE[p] - PE[prev])
            q += (j + 1) * mass
            prev = p
        out.append((d, q))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=10.0, help="time compression for both sides")
    ap.add_argument("--mixed-jobs", type=int, default=240)
    ap.add_argument("--batch-jobs", type=int, default=60)
    ap.add_argument("--batch-seconds", type=float, default=12.0)
    ap.add_argument("--warmup", type=int, default=20, help="jobs excluded from (a) while the policy learns")
    ap.add_argument("--batch-warmup", type=int, default=5, help="jobs excluded from (b): 'once a few were seen'")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    mixed = [math.exp(rng.uniform(math.log(2), math.log(40))) for _ in range(args.mixed_jobs)]
    batch = [args.batch_seconds * rng.uniform(0.85, 1.15) for _ in range(args.batch_jobs)]

    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "face.png")
        y, x = np.mgrid[0:64, 0:64]
        Image.fromarray(np.stack([x * 4, y * 4, (x + y) * 2], -1).astype(np.uint8)).save(image)
        t0 = time.time()
        rows = []
        for name, durations, conc, warm in (("(a) mixed 2-40 s", mixed, 16, args.warmup),
                                            ("(b) batch %.0f s +-15 %%" % args.batch_seconds, batch, 4,
                                             args.batch_warmup)):
            adaptive = run_workload(durations, scaled_policy(args.scale), args.scale, conc, image)
            fixed = run_workload(durations, FixedPolicy(5.0 / args.scale), args.scale, conc, image)
            rows.append((name, summarize(adaptive[warm:]), summarize(fixed[warm:]), summarize(adaptive),
                         len(durations) - warm))
        wall = time.time() - t0

    print("Polling benchmark (scale 1:%g, %.0f s wall; delays and counts in real seconds)" % (args.scale, wall))
    print("%-22s %-8s %10s %10s %12s" % ("workload", "poller", "mean delay", "p95 delay", "queries/job"))
    for name, ad, fx, ad_all, n in rows:
        print("%-22s %-8s %9.2fs %9.2fs %12.2f" % (name, "adaptive", ad[0], ad[1], ad[2]))
        print("%-22s %-8s %9.2fs %9.2fs %12.2f" % ("", "fixed 5s", fx[0], fx[1], fx[2]))
        print("%-22s ratio: delay %.2fx, queries %.2fx  (%d jobs after warm-up; all jobs: %.2fs, %.2f q)"
              % ("", ad[0] / fx[0], ad[2] / fx[2], n, ad_all[0], ad_all[2]))
    frontier = optimal_frontier(2.0, 40.0)
    q_adaptive = rows[0][1][2]
    best = min(frontier, key=lambda dq: abs(dq[1] - q_adaptive))
    print("(a) yardstick: best possible poller knowing the exact distribution (<= 1 query/s):")
    print("    " + ", ".join("%.2fs @ %.1f q" % (d, q) for d, q in frontier))
    print("    nearest to the adaptive poller's %.2f queries: %.2f s mean delay" % (q_adaptive, best[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
