#!/usr/bin/env python3
"""Benchmark the offline Smart Beauty engine, per stage, against G'MIC's ``fx_smooth_skin``.

    .venv/bin/python bench/engine.py [--runs 7] [--level 0.7] [--no-gmic]

Images: ``samples/portrait.jpg`` (512x512 = 0.26 MP real portrait) and the same upscaled with
INTER_CUBIC to 3464x3464 (12 MP; an upscale, so it has no real pore texture). Times are the median
of ``--runs`` runs after one warm-up, decode/encode excluded. Targets (2 cores): <= 60 ms at
0.26 MP, <= 0.6 s at 12 MP.

G'MIC (Debian ``gmic``, a CLI) is timed as a subprocess on a PNG of the same image; the time of
``gmic in.png -o out.png`` alone (PNG I/O + start-up) is measured too and subtracted.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

STAGES = ("detect", "landmarks", "masks", "smoothing", "whitening", "lips", "warp")
TARGETS = {"0.26 MP": 0.060, "12 MP": 0.600}
GMIC_DEFAULTS = "2,0.5,1,1,1,50,50,5,2,0.2,3,1,0.05"


def load_images():
    import cv2
    from PIL import Image

    path = os.path.join(ROOT, "samples", "portrait.jpg")
    small = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))
    big = cv2.resize(small, (3464, 3464), interpolation=cv2.INTER_CUBIC)
    return {"0.26 MP": small, "12 MP": big}


def bench_engine(engine, rgb, level, runs):
    """Median total and per-stage seconds over ``runs`` calls (after one warm-up)."""
    engine(rgb, level, False)
    totals, stages = [], {s: [] for s in STAGES}
    for _ in range(runs):
        t = {}
        t0 = time.perf_counter()
        engine(rgb, level, False, timings=t)
        totals.append(time.perf_counter() - t0)
        for s in STAGES:
            stages[s].append(t.get(s, 0.0))
    return statistics.median(totals), {s: statistics.median(v) for s, v in stages.items()}


def bench_gmic(rgb, runs):
    """(filter seconds, whole-process seconds) for fx_smooth_skin, or None if gmic is missing."""
    gmic = shutil.which("gmic")
    if gmic is None:
        return None
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.png"), os.path.join(tmp, "out.png")
        Image.fromarray(rgb).save(src, compress_level=1)

        def run(*args):
            t0 = time.perf_counter()
            subprocess.run([gmic, "-v", "-99", src, *args, "-o", dst], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return time.perf_counter() - t0

        io_only = statistics.median(run() for _ in range(runs))
        whole = statistics.median(run("fx_smooth_skin", GMIC_DEFAULTS) for _ in range(runs))
    return max(0.0, whole - io_only), whole


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--gmic-runs", type=int, default=1, help="G'MIC runs per image (slow at 12 MP)")
    ap.add_argument("--level", type=float, default=0.7)
    ap.add_argument("--no-gmic", action="store_true")
    args = ap.parse_args(argv)

    import cv2

    from smart_beauty_py3.engine.offline import OfflineEngine, available

    ok, reason = available()
    if not ok:
        sys.exit(reason)
    print(reason, "| cores: %d, OpenCV threads: %d" % (os.cpu_count(), cv2.getNumThreads()))
    t0 = time.perf_counter()
    engine = OfflineEngine()
    engine.find_faces(np.zeros((64, 64, 3), np.uint8))
    print("engine load (mediapipe graphs + OpenCV warm-up): %.0f ms" % ((time.perf_counter() - t0) * 1e3))
    print("level %.2f, single face, median of %d runs after 1 warm-up, decode/encode excluded\n"
          % (args.level, args.runs))

    header = ("%-8s %8s  " % ("image", "total") + " ".join("%9s" % s for s in STAGES)
              + " %9s   target" % "other")
    print(header + "\n" + "-" * len(header))
    images = load_images()
    for name, rgb in images.items():
        total, st = bench_engine(engine, rgb, args.level, args.runs)
        verdict = "ok" if total <= TARGETS[name] else "MISSED"
        other = total - sum(st.values())  # input check, copies, float conversion of the ROI
        print("%-8s %6.1fms  " % (name, total * 1e3) + " ".join("%7.1fms" % (st[s] * 1e3) for s in STAGES)
              + " %7.1fms   <= %.0f ms %s" % (other * 1e3, TARGETS[name] * 1e3, verdict))

    if args.no_gmic:
        return
    print("\nG'MIC fx_smooth_skin %s (defaults), median of %d run(s):" % (GMIC_DEFAULTS, args.gmic_runs))
    for name, rgb in images.items():
        res = bench_gmic(rgb, args.gmic_runs)
        if res is None:
            print("  gmic not installed (apt-get install gmic): no comparison")
            break
        filt, whole = res
        print("  %-8s filter %7.0f ms   whole process incl. PNG I/O %7.0f ms" % (name, filt * 1e3, whole * 1e3))


if __name__ == "__main__":
    main()
