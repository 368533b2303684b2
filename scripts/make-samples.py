#!/usr/bin/env python3
"""Rebuild the engine's sample photos from public-domain images shipped inside PyPI wheels.

    pip download --no-deps -d /tmp/w scikit-image matplotlib
    .venv/bin/python scripts/make-samples.py /tmp/w/scikit_image-*.whl /tmp/w/matplotlib-*.whl

Writes (see samples/README.md for sources and licences):
  samples/portrait.jpg        Eileen Collins (NASA), 512x512
  samples/hopper.jpg          Grace Hopper (U.S. Navy), 512x600
  samples/group.jpg           a 4-face collage of the two portraits at different sizes
  tests/engine/data/noface.jpg  a coffee cup (CC0), no face
Needs Pillow only.
"""

import io
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent


def member(wheel, suffix):
    """Open the wheel member whose name ends with ``suffix`` as an RGB PIL image."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(suffix))
        return Image.open(io.BytesIO(z.read(name))).convert("RGB")


def group(astronaut, hopper):
    """Four portraits (two people, each also mirrored) of different sizes on one canvas.

    No real group photo with a clear licence ships in a PyPI or Debian package (see samples/README.md);
    this collage of two different real people at four face sizes stands in for one.
    """
    canvas = Image.new("RGB", (1040, 640), (196, 190, 184))
    tiles = [
        (astronaut, 1.00, (0, 0)),
        (hopper, 0.75, (520, 0)),
        (ImageOps.mirror(hopper), 0.50, (530, 452)),
        (ImageOps.mirror(astronaut), 0.60, (812, 450)),
    ]
    for img, scale, (x, y) in tiles:
        w, h = round(img.width * scale), round(img.height * scale)
        part = img.resize((w, h), Image.LANCZOS)
        canvas.paste(part.crop((0, 0, min(w, canvas.width - x), min(h, canvas.height - y))), (x, y))
    return canvas


def main(skimage_wheel, matplotlib_wheel):
    astronaut = member(skimage_wheel, "skimage/data/astronaut.png")
    coffee = member(skimage_wheel, "skimage/data/coffee.png")
    hopper = member(matplotlib_wheel, "sample_data/grace_hopper.jpg")
    (ROOT / "samples").mkdir(exist_ok=True)
    (ROOT / "tests/engine/data").mkdir(parents=True, exist_ok=True)
    astronaut.save(ROOT / "samples/portrait.jpg", quality=90)
    hopper.save(ROOT / "samples/hopper.jpg", quality=90)
    group(astronaut, hopper).save(ROOT / "samples/group.jpg", quality=88)
    coffee.resize((300, 200), Image.LANCZOS).save(ROOT / "tests/engine/data/noface.jpg", quality=85)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
