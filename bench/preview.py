#!/usr/bin/env python3
"""Preview latency of the GIMP 3 dialog: from a control released to the preview image ready.

What the dialog does (plug-ins/smart-beauty/smart_beauty_gimp3.py, smart_beauty.preview), outside
GIMP, for a 0.26 MP and a 12 MP photo side by side in one run:

* once per dialog: the reduced copy (at most 600x450, ``preview.preview_size``) and its PNG -- in GIMP
  GEGL gives the copy at a scale (measured there: 2.6 ms on 3.0.4, 4.1 ms on 3.2.6 for 12 MP); here
  Pillow reduces it (reported, not part of a release);
* per release: the request goes to the worker (:class:`preview.Latest`), which sends the copy to the
  local server (``smart-beauty serve`` with the offline engine, started like the plug-ins start it)
  in its synchronous mode, and the PNG that comes back is decoded (Pillow here; GdkPixbuf in GIMP,
  measured there at 4.2 / 6.6 ms) -- the "ready" instant.

Each release changes one strength (like a slider), cycling through values, so no two requests in a
row are the same; the dialog asks for a preview when a slider held with the mouse is released (or at
once for a key or a click), so one release is one request. Also measured: 20 changes 10 ms apart
(a key held down, the level's spin button) -- how many reached the engine (the others were dropped
as stale) and the time from the last change to its preview.

usage: bench/preview.py [--releases N] [--engine offline|simple]
"""
import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))

from PIL import Image  # noqa: E402

from smart_beauty import localserver, preview  # noqa: E402
from smart_beauty.effects import BUILTIN  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "portrait.jpg")
SIZES = (("0.26 MP", (590, 443)), ("12 MP", (4000, 3000)))
VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)


def reduced_copy(photo):
    t0 = time.perf_counter()
    w, h, _scale = preview.preview_size(*photo.size)
    small = photo.resize((w, h), Image.BOX).convert("RGBA")   # the dialog reads R'G'B'A u8 from GEGL
    out = io.BytesIO()
    small.save(out, "PNG", compress_level=1)                     # the dialog: GdkPixbuf, compression 1
    png = out.getvalue()
    return png, (w, h), time.perf_counter() - t0


class Dialog:
    """The dialog's preview path without GTK: Latest + render + decode, with the release instants."""

    def __init__(self, client, png):
        self.client, self.png = client, png
        self.ready = {}
        self.event = threading.Event()
        self.latest = preview.Latest(self._render, self._deliver)

    def _render(self, request):
        _t0, strengths = request
        return preview.render(self.client, self.png, 0.8, False, strengths)

    def _deliver(self, number, request, result, error):
        if error is not None:
            raise error
        Image.open(io.BytesIO(result)).load()          # the image ready to show
        self.ready[number] = time.perf_counter() - request[0]
        self.event.set()

    def release(self, strengths):
        self.event.clear()
        number = self.latest.request((time.perf_counter(), strengths))
        return number

    def wait(self, number, timeout=60):
        while number not in self.ready:
            if not self.event.wait(timeout):
                raise RuntimeError("no preview within %d s" % timeout)
            self.event.clear()
        return self.ready[number]


def ms(seconds):
    return "%.0f" % (seconds * 1000)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--releases", type=int, default=20)
    ap.add_argument("--engine", default="offline", choices=("offline", "simple"))
    args = ap.parse_args(argv)
    config = tempfile.mkdtemp(prefix="sb-bench-preview-")
    env = dict(os.environ, SMART_BEAUTY_CONFIG_DIR=config, SMART_BEAUTY_ENGINE=args.engine,
               SMART_BEAUTY_CLI=os.environ.get("SMART_BEAUTY_CLI") or "")
    command = localserver.Command(sys.executable, ["-m", localserver.CLI_MODULE])
    env["PYTHONPATH"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib")
    t0 = time.perf_counter()
    server = localserver.start(command, env)
    started = time.perf_counter() - t0
    source = Image.open(SAMPLE).convert("RGB")
    photos = dict((name, source.resize(size, Image.LANCZOS)) for name, size in SIZES)
    client = localserver.open_client("local", start_local=lambda: server)
    dialogs, copies = {}, {}
    try:
        for name, photo in photos.items():
            png, size, took = reduced_copy(photo)
            copies[name] = (size, took, len(png))
            dialogs[name] = Dialog(client, png)
            dialogs[name].wait(dialogs[name].release(BUILTIN["natural"]))      # warm-up (engine load)
        times = dict((name, []) for name in photos)
        for i in range(args.releases):                     # interleaved: the same machine state for both
            strengths = BUILTIN["natural"].replace(slim=VALUES[i % len(VALUES)], smooth=VALUES[(i + 2) % 5])
            for name in photos:
                d = dialogs[name]
                times[name].append(d.wait(d.release(strengths)))
        drags = {}
        for name in photos:
            d = dialogs[name]
            rendered0, dropped0 = d.latest.rendered, d.latest.dropped
            number = None
            for i in range(20):
                number = d.release(BUILTIN["natural"].replace(eyes=i / 20.0))
                time.sleep(0.01)
            released = time.perf_counter()
            d.wait(number)
            drags[name] = (d.latest.rendered - rendered0, d.latest.dropped - dropped0,
                           time.perf_counter() - released)
    finally:
        for d in dialogs.values():
            d.latest.close(wait=5)
        client.close()
        localserver.stop(env)
    print("bench/preview.py  %s  engine=%s  server start %.1f s  load %s  (%d cores)" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), server.engine, started,
        "%.2f" % os.getloadavg()[0] if hasattr(os, "getloadavg") else "?", os.cpu_count() or 0))
    print("%-8s %-12s %-10s %-10s %-10s %-10s %-10s %s" % (
        "photo", "copy", "copy once", "median", "p90", "max", "<=150 ms",
        "20 changes 10 ms apart: rendered/dropped, last->ready"))
    for name, _size in SIZES:
        t = sorted(times[name])
        (w, h), took, _n = copies[name]
        rendered, dropped, after = drags[name]
        print("%-8s %-12s %-10s %-10s %-10s %-10s %-10s %d/%d, %s ms" % (
            name, "%dx%d" % (w, h), ms(took) + " ms", ms(statistics.median(t)) + " ms",
            ms(t[int(0.9 * (len(t) - 1))]) + " ms", ms(t[-1]) + " ms",
            "%d/%d" % (sum(1 for x in t if x <= 0.150), len(t)), rendered, dropped, ms(after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
