#!/usr/bin/env python3
"""Before/after pictures of the offline engine for the README, written to ``docs/images/``.

    .venv/bin/python scripts/engine-pictures.py

* ``engine-portrait-levels.jpg`` / ``engine-hopper-levels.jpg``: face close-up, before and at
  levels 0.3 / 0.7 / 1.0 (enlarged 2x with bicubic so the skin is visible);
* ``engine-portrait.jpg``: the whole sample portrait, before | after at 0.7;
* ``engine-group.jpg``: the 4-face sample, before (top) / after at 0.7 with ``multi_face`` (bottom).
"""

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))
OUT = os.path.join(ROOT, "docs", "images")


def load(name):
    from PIL import Image

    return np.ascontiguousarray(np.asarray(Image.open(os.path.join(ROOT, "samples", name)).convert("RGB")))


def label(img, text):
    import cv2

    img = img.copy()
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return img


def save(img, name, max_width=1000, quality=86):
    from PIL import Image

    im = Image.fromarray(img)
    if im.width > max_width:
        im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
    path = os.path.join(OUT, name)
    im.save(path, quality=quality, optimize=True)
    print("%s  %dx%d  %d KB" % (os.path.relpath(path, ROOT), im.width, im.height, os.path.getsize(path) // 1024))


def levels_strip(engine, rgb, name, levels=(0.3, 0.7, 1.0), zoom=2.0):
    import cv2

    (x0, y0, x1, y1), = engine.face_regions(rgb, False)
    tiles = [label(cv2.resize(rgb[y0:y1, x0:x1], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC),
                   "before")]
    for lv in levels:
        out = engine(rgb, lv, False)
        crop = cv2.resize(out[y0:y1, x0:x1], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        tiles.append(label(crop, "level %.1f" % lv))
    save(np.hstack(tiles), name)


def main():
    from smart_beauty_engine.offline import OfflineEngine, available

    ok, reason = available()
    if not ok:
        sys.exit(reason)
    os.makedirs(OUT, exist_ok=True)
    engine = OfflineEngine()
    portrait, hopper, group = load("portrait.jpg"), load("hopper.jpg"), load("group.jpg")
    levels_strip(engine, portrait, "engine-portrait-levels.jpg")
    levels_strip(engine, hopper, "engine-hopper-levels.jpg", zoom=1.25)
    save(np.hstack([label(portrait, "before"), label(engine(portrait, 0.7, False), "level 0.7")]),
         "engine-portrait.jpg", max_width=1024)
    save(np.vstack([label(group, "before"), label(engine(group, 0.7, True), "level 0.7, multi_face")]),
         "engine-group.jpg", max_width=780, quality=84)


if __name__ == "__main__":
    main()
