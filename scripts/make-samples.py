#!/usr/bin/env python3
"""Rebuild the engine's sample photos from public-domain images shipped inside PyPI wheels.

    pip download --no-deps -d /tmp/w scikit-image matplotlib
    .venv/bin/python scripts/make-samples.py /tmp/w/scikit_image-*.whl /tmp/w/matplotlib-*.whl [FR_DIR]
        [--faceaisharp DIR] [--voteview DIR] [--sitroom DIR] [--dummy DIR]

FR_DIR (optional): a checkout of the GitHub repository ageitgey/face_recognition (commit 2e2dccea), from
whose ``examples/`` the two White House portraits are cropped (public domain, see samples/README.md).
--faceaisharp DIR: a checkout of georg-jung/FaceAiSharp (commit c7e94128): the Obama family portrait, and
Joe Biden's official presidential portrait (2021), cropped at full resolution.
--voteview DIR: a checkout of voteview/member_photos (commit 687cf7a9): the photograph of James A. Garfield
and the official House portraits of Ruben Gallego, A. Donald McEachin, David Curson, Stephanie Murphy,
Deb Haaland, Lauren Underwood, Ted Lieu and Pramila Jayapal.
Those are copied byte for byte; each is checked against its sha256 first.
--sitroom DIR: a checkout of shreyabansal-sb/mini-wiki (commit 337ce845): the White House Situation Room
photograph of 1 May 2011 (960x640), copied byte for byte after its sha256 is checked.
--dummy DIR: a checkout of kerns/dummy (commit 6c835a4b): an official White House photograph of a man looking
down (on the phone), checked against its sha256, then cropped and scaled like the two portraits above.

Writes (see samples/README.md for sources and licences):
  samples/portrait.jpg        Eileen Collins (NASA), 512x512
  samples/hopper.jpg          Grace Hopper (U.S. Navy), 512x600
  samples/group.jpg           a 4-face collage of the two portraits at different sizes
  tests/engine/data/noface.jpg  a coffee cup (CC0), no face
  samples/obama.jpg, samples/biden.jpg  (with FR_DIR) 424x512 crops
  samples/family.jpg          (with --faceaisharp) 640x427, a real group photo of four
  samples/garfield.jpg        (with --voteview) 473x600, a black-and-white photograph of a bearded man
  samples/gallego.jpg         (with --voteview) 482x600, a colour portrait of a man with a short beard
  samples/mceachin.jpg        (with --voteview) 479x600, an older man, darker skin, glasses, moustache
  samples/curson.jpg          (with --voteview) 480x599, an older man with a full white beard, in colour
  samples/murphy.jpg, haaland.jpg, underwood.jpg, lieu.jpg, jayapal.jpg
                              (with --voteview) 480x600 (jayapal 480x599): women and men, East and South
                              Asian, Native American and Black faces
  samples/crowd.jpg           (with --sitroom) 960x640, a real crowd: 13 faces 35-96 px
  samples/phone.jpg           (with --dummy) 568x512, a face looking down, a hand and a phone beside it
  samples/biden-2021.jpg      (with --faceaisharp) 1400x1750 at full resolution: real skin texture, face ~730 px
Needs Pillow only.
"""

import argparse
import hashlib
import io
import shutil
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


#: (file in face_recognition's examples/, crop box, output) -- both then scaled x0.8, JPEG q88
WHITE_HOUSE = (("obama.jpg", (230, 60, 760, 700), "samples/obama.jpg"),
               ("biden.jpg", (300, 130, 830, 770), "samples/biden.jpg"))


def white_house(fr_dir):
    for name, box, out in WHITE_HOUSE:
        img = Image.open(Path(fr_dir) / "examples" / name).convert("RGB").crop(box)
        img = img.resize((round(img.width * 0.8), round(img.height * 0.8)), Image.LANCZOS)
        img.save(ROOT / out, quality=88, optimize=True)


#: per checkout: (file in it, sha256 of its bytes, output) -- copied unchanged
AS_IS = {
    "faceaisharp": [("examples/obama_family.jpg",
                     "3ecdc21cf56a6bd8263dd98d156477677ba405e4d9aeaee7bcd07868046a07f2", "samples/family.jpg")],
    "voteview": [("images/wiki/099888.jpg",
                  "2629846fdd8755efa43a99da20542015f3dc8d94068fc0bde2c81fa5bde1df01", "samples/garfield.jpg"),
                 ("images/wiki/021502.jpg",
                  "494a98f8a123693c83edb024df8275efd131f9b60b6e877c77a1090e6d985212", "samples/gallego.jpg"),
                 ("images/wiki/021736.jpg",
                  "3a489d37bb3f949ad1ea6b949771752bff855631cd0424f57435066b7938f931", "samples/mceachin.jpg"),
                 ("images/wiki/031100.jpg",
                  "ff70f8d176fd90db370b81ea6d781aae8ca2c0cba45f086b52d1b238c48f56b7", "samples/curson.jpg"),
                 ("images/wiki/021738.jpg",
                  "7d8e66d2a194f0edc81d233501e269135f01d29adb69b45200edf0647c434025", "samples/murphy.jpg"),
                 ("images/wiki/021928.jpg",
                  "134001640ceacf7e7c433a1a64390361f5340a4ecaab00aca286b1e0908cfba2", "samples/haaland.jpg"),
                 ("images/wiki/021979.jpg",
                  "c3e34d18f14b86bfdafc0580487367354769e36309ad64a1989e98531e4f8040", "samples/underwood.jpg"),
                 ("images/wiki/021507.jpg",
                  "cffb4ad2f133b604ef0aac03108f12ec133a414d21835e93ec2a996228b12a04", "samples/lieu.jpg"),
                 ("images/wiki/021726.jpg",
                  "7efe0cf84c3d234c5a9f6b2cc3cabdfc771796cc122f5b820c68e2aef8a2f3da", "samples/jayapal.jpg")],
    "sitroom": [("images/situation_room.jpg",
                 "05b6cfd8741846c8285941f6e786f131139ca5189c3d68460ce63bb71440b762", "samples/crowd.jpg")],
}


def checked(src, sha256):
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if digest != sha256:
        sys.exit("%s: sha256 %s, expected %s (another version of the file?)" % (src, digest, sha256))
    return src


def copy_checked(checkout, which):
    for path, sha256, out in AS_IS[which]:
        shutil.copyfile(checked(Path(checkout) / path, sha256), ROOT / out)


#: per checkout: (file in it, sha256 of its bytes, crop box, scale, output) -- cropped, scaled (Lanczos)
#: unless the scale is 1, saved as JPEG q88
CROPPED = {
    "dummy": [("dummy/assets/image/landscape/obama_nasa_hq_photo.jpg",
               "6c6f6b6eacd758c784d088a9af2baa27cc489db95f6e7b4cba56ac564152e866", (440, 0, 1150, 640), 0.8,
               "samples/phone.jpg")],
    "faceaisharp": [("examples/biden_7mpx.jpg",
                     "c71b879f52932215cdf5fee9bcfbe5ea00b470469caffda8fc1883050bfc9d1d", (525, 300, 1925, 2050), 1.0,
                     "samples/biden-2021.jpg")],
}


def crop_checked(checkout, which):
    for path, sha256, box, scale, out in CROPPED[which]:
        img = Image.open(checked(Path(checkout) / path, sha256)).convert("RGB").crop(box)
        if scale != 1.0:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        img.save(ROOT / out, quality=88, optimize=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(usage=__doc__)
    parser.add_argument("skimage_wheel")
    parser.add_argument("matplotlib_wheel")
    parser.add_argument("fr_dir", nargs="?")
    parser.add_argument("--faceaisharp")
    parser.add_argument("--voteview")
    parser.add_argument("--sitroom")
    parser.add_argument("--dummy")
    args = parser.parse_args()
    main(args.skimage_wheel, args.matplotlib_wheel)
    if args.fr_dir:
        white_house(args.fr_dir)
    for which in AS_IS:
        if getattr(args, which):
            copy_checked(getattr(args, which), which)
    for which in CROPPED:
        if getattr(args, which):
            crop_checked(getattr(args, which), which)
