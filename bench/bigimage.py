#!/usr/bin/env python3
"""Big photos: quality, wall time and peak memory of ``smart-beauty retouch`` at 24 MP and 48 MP.

    .venv/bin/python bench/bigimage.py [--sizes 24 48] [--level 0.8] [--engine offline|simple]

Test images: ``samples/portrait.jpg`` (512x512) is upscaled (Lanczos) to the photo's height and
centred on a 3:2 (24 MP, 6000x4000) or 4:3 (48 MP, 8000x6000) canvas whose sides are the same
picture stretched and blurred; then **synthetic fine grain is added** (per-pixel Gaussian noise,
sigma 4, plus a faint 2-px luminance texture) so that there is detail to lose -- an upscale alone
has none. Saved as JPEG q95 4:4:4, like a camera file.

The retouch runs as the real command in a child process (``python -m smart_beauty_cli.cli retouch
... --report``) against a local AILab server in this process (the offline engine, or SimpleEngine),
so the child's peak RSS (its own ``VmHWM``, read as it exits) is what a user's machine needs. The child
reduces the photo to < 4096 px, uploads it (PNG if <= 5 MB, else JPEG 4:4:4: the report says which),
and applies the *change* to the full-size original (``imaging.recompose``).

Quality, computed here afterwards: the reduced result R is recomputed with the same engine on the
uploaded file s; pixels whose neighbourhood R did not change (|R - s| = 0 within 4 px, mapped to
full size) are "untouched". PSNR there of the output vs the original (target >= 45 dB), and of the
naive result (R upscaled, bicubic) vs the original for comparison; in the retouched area, PSNR of
the output vs the naive result (how close the full-size retouch is to what the service did).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageFilter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")
sys.path.insert(0, LIB)

from smart_beauty_cli import imaging  # noqa: E402
from smart_beauty_server import LocalAilab  # noqa: E402

Image.MAX_IMAGE_PIXELS = None
SIZES = {24: (6000, 4000), 48: (8000, 6000)}


def make_portrait(size, path, seed=0):
    w, h = size
    src = Image.open(os.path.join(ROOT, "samples", "portrait.jpg")).convert("RGB")
    face = src.resize((h, h), Image.LANCZOS)
    canvas = src.resize((w, h), Image.BILINEAR).filter(ImageFilter.GaussianBlur(h / 100.0))
    canvas.paste(face, ((w - h) // 2, 0))
    rng = np.random.default_rng(seed)
    out = np.asarray(canvas, dtype=np.float32)
    for top in range(0, h, 1000):  # in strips: keep this process small too
        rows = out[top:top + 1000]
        grain = rng.normal(0.0, 4.0, size=rows.shape).astype(np.float32)
        yy, xx = np.mgrid[top:top + rows.shape[0], 0:w]
        texture = (2.0 * np.sin(xx * 1.7) * np.sin(yy * 2.3)).astype(np.float32)[..., None]
        rows += grain + texture
    Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=95, subsampling=0)


def psnr(a, b):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def dilate(mask, r):
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def run_child(src, outdir, srv, report):
    env = dict(os.environ, PYTHONPATH=LIB, AILAB_API_KEY=srv.valid_key, AILAB_API_BASE=srv.url)
    # The child reports its own VmHWM (peak RSS of its own address space) as it exits: ru_maxrss of a
    # child would include this (big) process's RSS at fork time, which survives exec on Linux.
    code = ("import sys\nfrom smart_beauty_cli import cli\nrc = cli.main(sys.argv[1:])\n"
            "sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
            "sys.exit(rc)\n")
    cmd = [sys.executable, "-c", code, "retouch", src, "-o", outdir, "--quiet", "--force", "--report", report,
           "--level", str(ARGS.level)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit("retouch failed (%d): %s" % (proc.returncode, proc.stderr[-2000:]))
    peak_kib = int(proc.stderr.strip().splitlines()[-1].split()[1])
    return wall, peak_kib / 1024.0


def measure(mp, srv, engine, work):
    size = SIZES[mp]
    src = os.path.join(work, "portrait-%dmp.jpg" % mp)
    make_portrait(size, src)
    outdir = os.path.join(work, "out")
    report = os.path.join(work, "report-%d.json" % mp)
    wall, peak = run_child(src, outdir, srv, report)
    row = json.load(open(report))[0]
    out = np.asarray(Image.open(os.path.join(outdir, "portrait-%dmp.beauty.png" % mp)).convert("RGB"))
    original, _ = imaging.open_rgb(src)
    prepared = imaging.prepare_upload(src, work)  # deterministic: the same file the child sent
    sent, _ = imaging.open_rgb(prepared.path)
    prepared.cleanup()
    reduced = engine(sent, ARGS.level, False)
    changed_small = dilate(np.any(reduced != sent, axis=2), 4)
    changed = np.asarray(Image.fromarray(changed_small.astype(np.uint8) * 255).resize(size, Image.NEAREST)) > 0
    naive = np.asarray(Image.fromarray(reduced).resize(size, Image.BICUBIC))
    untouched = ~changed
    return {
        "mp": mp, "size": "%dx%d" % size, "encoding": row["encoding"], "scale": row["scale"],
        "wall": wall, "peak_mib": peak, "untouched_share": float(untouched.mean()),
        "psnr_untouched": psnr(out[untouched], original[untouched]),
        "psnr_untouched_naive": psnr(naive[untouched], original[untouched]),
        "psnr_face_vs_naive": psnr(out[changed], naive[changed]) if changed.any() else float("nan"),
    }


def main(argv=None):
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 48], choices=sorted(SIZES))
    ap.add_argument("--level", type=float, default=0.8)
    ap.add_argument("--engine", choices=("offline", "simple"), default="offline")
    ARGS = ap.parse_args(argv)
    if ARGS.engine == "offline":
        from smart_beauty_engine.offline import OfflineEngine
        engine = OfflineEngine()
    else:
        from smart_beauty_server.simple import SimpleEngine
        engine = SimpleEngine()
    work = tempfile.mkdtemp(prefix="sb-bench-big-")
    srv = LocalAilab(port=0, engine=engine, job_seconds=0.0).start()
    rows = []
    try:
        for mp in ARGS.sizes:
            rows.append(measure(mp, srv, engine, work))
            print(rows[-1], file=sys.stderr)
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("engine: %s, level %.2f, %d cores" % (ARGS.engine, ARGS.level, os.cpu_count() or 1))
    print()
    print("| photo | sent as | wall (s) | peak RSS | untouched area | PSNR untouched (ours / naive upscale) "
          "| PSNR retouched area vs reduced result upscaled |")
    print("|---|---|---:|---:|---:|---|---:|")
    for r in rows:
        print("| %d MP (%s) | %s, scale %.3f | %.1f | %.0f MiB | %.0f %% | %s / %.1f dB | %.1f dB |"
              % (r["mp"], r["size"], r["encoding"], r["scale"], r["wall"], r["peak_mib"], 100 * r["untouched_share"],
                 "lossless (inf)" if math.isinf(r["psnr_untouched"]) else "%.1f dB" % r["psnr_untouched"],
                 r["psnr_untouched_naive"], r["psnr_face_vs_naive"]))


ARGS = None

if __name__ == "__main__":
    main()
