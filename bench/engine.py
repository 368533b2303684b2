#!/usr/bin/env python3
"""Benchmark the offline Smart Beauty engine, per stage, side by side with G'MIC's ``fx_smooth_skin``
and (optionally) the previous engine, in one run.

    .venv/bin/python bench/engine.py [--runs 7] [--level 0.8] [--no-gmic]
        [--previous-lib DIR --previous-python PY]   # e.g. `git archive <old commit> lib | tar -x -C DIR`

Images:
* ``0.26 MP``: ``samples/portrait.jpg`` (512x512 real portrait, face ~95 px);
* ``12 MP tight``: ``samples/obama.jpg`` cropped so the detector's face box covers >= 60 % of the
  frame, upscaled (INTER_CUBIC) to ~12 MP (an upscale: no real pore texture, same work per pixel);
* ``12 MP wide``: ``samples/portrait.jpg`` upscaled to 3464x3464 (face ~640 px, 4 % of the frame;
  the image earlier figures used, and one the previous engine finds a face in).

Engine times: median of ``--runs`` calls after one warm-up, decode/encode excluded, per stage.
Whole process (on by default, ``--no-whole`` to skip): ``smart-beauty retouch FILE.jpg -o DIR`` against
``gmic FILE.jpg fx_smooth_skin ... -o out.png`` on the same JPEG, all timed from outside, in turns
(one of each per round, median of ``--whole-runs`` rounds: all see the same machine load), decode,
imports and PNG encoding included; the ratios ours / G'MIC are printed. Each command twice: **cold**
(no local server running: stopped, untimed, before) and **warm** (right after the cold run). Ours runs
the engine in its own process both times (since 2026-12-02); a command from before then started the
shared ``smart-beauty serve`` in its cold run (a second Python importing OpenCV and Werkzeug and loading
the engine) and handed its warm run to that server. ``--previous-cli`` adds another ``smart-beauty``
(e.g. main's, in its own venv) to the turns, run the same way (a private config folder).
G'MIC (Debian ``gmic``) filter time = its whole run minus ``gmic FILE.jpg -o out.png`` alone.
Targets (issue 12): <= 30 ms at 0.26 MP, <= 0.3 s at 12 MP tight; whole process no slower than G'MIC.
"""

import argparse
import json
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

STAGES = ("detect", "landmarks", "masks", "smoothing", "whitening", "apply", "lips", "warp")
TARGETS = {"0.26 MP": 0.030, "12 MP tight": 0.300, "12 MP wide": 0.300}
GMIC_DEFAULTS = "2,0.5,1,1,1,50,50,5,2,0.2,3,1,0.05"
TIGHT_SHARE = 0.62  # face box area / frame area of the tight portrait
TIGHT_PIXELS = 12.0e6


def tight_portrait(engine, rgb):
    """Crop ``rgb`` around its face so the detector box covers TIGHT_SHARE of the frame; upscale to 12 MP."""
    import cv2

    x0, y0, x1, y1 = engine.find_faces(rgb)[0].box
    bw, bh = x1 - x0, y1 - y0
    k = (1.0 / TIGHT_SHARE) ** 0.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * bh
    w, h = bw * k, bh * k
    h_img, w_img = rgb.shape[:2]
    cx0, cy0 = int(round(max(0, cx - w / 2))), int(round(max(0, cy - h / 2)))
    crop = rgb[cy0:min(h_img, cy0 + int(round(h))), cx0:min(w_img, cx0 + int(round(w)))]
    s = (TIGHT_PIXELS / (crop.shape[0] * crop.shape[1])) ** 0.5
    size = (int(round(crop.shape[1] * s)), int(round(crop.shape[0] * s)))
    return np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC))


def load_images(engine):
    from PIL import Image

    def load(name):
        return np.ascontiguousarray(np.asarray(Image.open(os.path.join(ROOT, "samples", name)).convert("RGB")))

    import cv2

    portrait = load("portrait.jpg")
    wide = np.ascontiguousarray(cv2.resize(portrait, (3464, 3464), interpolation=cv2.INTER_CUBIC))
    return {"0.26 MP": portrait, "12 MP tight": tight_portrait(engine, load("obama.jpg")), "12 MP wide": wide}


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


PREVIOUS = r"""
import json, statistics, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from smart_beauty_engine.offline import OfflineEngine
eng = OfflineEngine()
res = {}
for name, path in json.loads(sys.argv[2]).items():
    rgb = np.load(path)
    try:
        eng(rgb, float(sys.argv[3]), False)
    except Exception as e:
        res[name] = "%s: %s" % (type(e).__name__, e)
        continue
    ts = []
    for _ in range(int(sys.argv[4])):
        t0 = time.perf_counter(); eng(rgb, float(sys.argv[3]), False); ts.append(time.perf_counter() - t0)
    res[name] = statistics.median(ts)
print(json.dumps(res))
"""


def bench_previous(lib, python, images, level, runs, tmp):
    paths = {}
    for name, rgb in images.items():
        paths[name] = os.path.join(tmp, "prev-%d.npy" % len(paths))
        np.save(paths[name], rgb)
    out = subprocess.run([python, "-c", PREVIOUS, lib, json.dumps(paths), str(level), str(runs)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_rounds(commands, rounds, before=None, env=None):
    """Wall times of each command (name -> argv; a list, one per round), run in turns: round after round,
    every command once. ``before[name]()`` runs untimed just before that command (e.g. stopping the server
    for a cold run)."""
    times = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            if before and name in before:
                before[name]()
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            times[name].append(time.perf_counter() - t0)
    return times


def ratio(ours, theirs):
    """Median of the per-round ratios ours / theirs: each round's pair saw the same machine load."""
    return statistics.median(a / b for a, b in zip(ours, theirs))


def stop_server(cli, env):
    """Stop the local server recorded in ``env``'s config folder (untimed), with that command itself."""
    subprocess.run([cli, "serve", "--stop"], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=env)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--whole-runs", type=int, default=3)
    ap.add_argument("--level", type=float, default=0.8)
    ap.add_argument("--no-gmic", action="store_true")
    ap.add_argument("--no-whole", action="store_true")
    ap.add_argument("--previous-lib", help="lib/ folder of the previous engine (its own venv: --previous-python)")
    ap.add_argument("--previous-python", default=sys.executable)
    ap.add_argument("--previous-cli", help="another smart-beauty command to time whole, cold and warm (e.g. main's)")
    ap.add_argument("--images", nargs="+", choices=sorted(TARGETS), default=sorted(TARGETS), metavar="NAME",
                    help="the images to time (default: all of %s)" % ", ".join(sorted(TARGETS)))
    ap.add_argument("--cli", help="the smart-beauty command timed as 'ours' (default: the one beside this Python; "
                    "e.g. a script running a checkout's lib/)")
    args = ap.parse_args(argv)

    import cv2
    from PIL import Image

    from smart_beauty_engine.offline import OfflineEngine, available

    ok, reason = available()
    if not ok:
        sys.exit(reason)
    print(reason, "| cores: %d, OpenCV threads: %d, load average %.1f | %s UTC" % (
        os.cpu_count(), cv2.getNumThreads(), os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M", time.gmtime())))
    t0 = time.perf_counter()
    engine = OfflineEngine()
    engine.find_faces(np.zeros((64, 64, 3), np.uint8))
    print("engine load: %.0f ms" % ((time.perf_counter() - t0) * 1e3))
    images = {name: rgb for name, rgb in load_images(engine).items() if name in args.images}
    for name, rgb in images.items():
        face = engine.find_faces(rgb)[0]
        x0, y0, x1, y1 = face.box
        print("  %-12s %dx%d, face %.0f px wide, face box %.0f %% of the frame" % (
            name, rgb.shape[1], rgb.shape[0], face.width, 100 * (x1 - x0) * (y1 - y0) / rgb.shape[0] / rgb.shape[1]))
    print("level %.2f, single face, median of %d runs after 1 warm-up, decode/encode excluded\n"
          % (args.level, args.runs))

    header = ("%-12s %8s  " % ("image", "total") + " ".join("%9s" % s for s in STAGES)
              + " %9s   target" % "other")
    print(header + "\n" + "-" * len(header))
    for name, rgb in images.items():
        total, st = bench_engine(engine, rgb, args.level, args.runs)
        verdict = "met" if total <= TARGETS[name] else "MISSED"
        other = total - sum(st.values())  # input check, copies
        print("%-12s %6.1fms  " % (name, total * 1e3) + " ".join("%7.1fms" % (st[s] * 1e3) for s in STAGES)
              + " %7.1fms   <= %.0f ms %s" % (other * 1e3, TARGETS[name] * 1e3, verdict))

    with tempfile.TemporaryDirectory() as tmp:
        if args.previous_lib:
            prev = bench_previous(args.previous_lib, args.previous_python, images, args.level, args.runs, tmp)
            print("\nprevious engine (%s): " % args.previous_lib
                  + ", ".join("%s %.1f ms" % (k, v * 1e3) if isinstance(v, float) else "%s failed (%s)" % (k, v)
                              for k, v in prev.items()))

        files = {}
        for name, rgb in images.items():
            files[name] = os.path.join(tmp, "%s.jpg" % name.replace(" ", "-"))
            Image.fromarray(rgb).save(files[name], quality=92)
        gmic = None if args.no_gmic else shutil.which("gmic")
        if not args.no_gmic and gmic is None:
            print("\ngmic not installed (apt-get install gmic): no G'MIC comparison")
        cli = args.cli or os.path.join(os.path.dirname(sys.executable), "smart-beauty")
        if not args.no_whole and not os.path.exists(cli):
            print("\nno smart-beauty command beside %s: whole-process time skipped" % sys.executable)
            cli = None
        if args.no_whole:
            cli = None
        if gmic or cli:
            env = {k: v for k, v in os.environ.items() if k not in ("AILAB_API_KEY", "SMART_BEAUTY_CLI",
                                                                       "SMART_BEAUTY_ENGINE")}
            env["SMART_BEAUTY_CONFIG_DIR"] = os.path.join(tmp, "config")   # the bench's own server, no key
            clis = {"ours": cli} if cli else {}
            if args.previous_cli:
                clis["previous"] = args.previous_cli
            print("\nwhole processes timed from outside, median of %d rounds; each round runs them one after the "
                  "other, so all see the same load; (N.NNx): median of the rounds' ratios to G'MIC's whole time:"
                  % args.whole_runs)
            if os.environ.get("PYTHONDONTWRITEBYTECODE"):
                print("  NOTE: PYTHONDONTWRITEBYTECODE is set: a command whose modules have no .pyc compiles them on "
                      "every run (an installed one has them)")
            print("  G'MIC:  gmic FILE.jpg fx_smooth_skin %s (defaults) -o out.png; its filter time is that minus "
                  "gmic FILE.jpg -o out.png" % GMIC_DEFAULTS)
            print("  ours:   smart-beauty retouch FILE.jpg --level %.2f --backend local --force -o DIR; cold: no "
                  "local server running (stopped, untimed, before); warm: right after (a command that started "
                  "the server in its cold run reuses it)" % args.level)
            if args.previous_cli:
                print("  previous: %s, the same way" % args.previous_cli)
            for name, path in files.items():
                commands, before = {}, {}
                if gmic:
                    dst = os.path.join(tmp, "gmic.png")
                    commands["gmic io"] = [gmic, "-v", "-99", path, "-o", dst]
                    commands["gmic"] = [gmic, "-v", "-99", path, "fx_smooth_skin", GMIC_DEFAULTS, "-o", dst]
                for who, command in clis.items():
                    argv = [command, "retouch", path, "--level", str(args.level), "--backend", "local", "--force",
                            "-o", os.path.join(tmp, "out-" + who)]
                    commands[who + " cold"], commands[who + " warm"] = argv, list(argv)
                    before[who + " cold"] = (lambda c=command: stop_server(c, env))
                load = os.getloadavg()[0]
                rounds = timed_rounds(commands, args.whole_runs, before, env)
                t = {k: statistics.median(v) for k, v in rounds.items()}
                line = "  %-12s" % name
                if gmic:
                    line += "  G'MIC filter %5.0f ms, whole %5.0f ms" % ((t["gmic"] - t["gmic io"]) * 1e3,
                                                                        t["gmic"] * 1e3)
                for who in clis:
                    for how in ("cold", "warm"):
                        ours = t["%s %s" % (who, how)]
                        line += " | %s %s %5.0f ms" % (who, how, ours * 1e3)
                        if gmic:
                            r = ratio(rounds["%s %s" % (who, how)], rounds["gmic"])
                            line += " (%.2fx, %s)" % (r, "met" if r <= 1.0 else "MISSED")
                print(line + " | load average %.1f -> %.1f" % (load, os.getloadavg()[0]))
            for command in clis.values():
                stop_server(command, env)

if __name__ == "__main__":
    main()
