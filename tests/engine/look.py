"""Look measures for the offline engine (issue 12, section 2), on regions derived from the landmarks.

Used by ``test_look.py``; ``python tests/engine/look.py`` prints every measure for every photo
(the figures quoted in docs/engine.md).

Columns of the report: face width; mean change of L* on cheeks and neck and their gap; neck pixels
measured; mean C* of the mouth and its mean change; pixels the warp alone changes and the share of
them outside the grown face box; the share of the finest detail's variance kept on the cheeks
(``texture``) and of the blemish band's on the skin (``blemish``, lower = smoother).

All colour figures are CIE L*a*b* (OpenCV's float conversion, D65). Regions:

* cheeks: disks of radius 5 % of the face width around mesh points 50, 280, 205, 425;
* neck: the box 0.04-0.22 face heights below the chin, +-0.22 face widths around it, keeping only
  pixels whose chroma (a*, b*) is within 12 of the cheeks' median and whose L* is within 35 of it
  (so collars, ties and suits drop out);
* mouth: the outer lip polygon minus the inner one, eroded by one pixel;
* warp box: the detector's box grown by 15 % of its size on each side.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SAMPLES = os.path.join(REPO, "samples")

CHEEK_POINTS = (50, 280, 205, 425)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
NOSE_AND_MOUTH = (1, 2, 4, 5, 19, 94, 98, 327) + LIPS_OUTER


def load_rgb(path):
    from PIL import Image

    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB")))


def lab(rgb):
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def face_height(face):
    return float(face.landmarks[:, 1].max() - face.landmarks[:, 1].min())


def cheek_region(shape, face):
    import cv2

    m = np.zeros(shape[:2], np.uint8)
    r = max(2, int(round(0.05 * face.width)))
    for i in CHEEK_POINTS:
        x, y = face.landmarks[i]
        cv2.circle(m, (int(round(x)), int(round(y))), r, 1, -1)
    return m.astype(bool)


def neck_region(rgb, face):
    """Neck skin below the chin (see the module doc); may be empty when no neck shows."""
    L = lab(rgb)
    cheeks = cheek_region(rgb.shape, face)
    ref = np.median(L[cheeks], axis=0)
    h, w = rgb.shape[:2]
    cx, cy = face.landmarks[152]
    fw, fh = face.width, face_height(face)
    m = np.zeros((h, w), bool)
    y0, y1 = int(max(0, cy + 0.04 * fh)), int(min(h, cy + 0.22 * fh))
    x0, x1 = int(max(0, cx - 0.22 * fw)), int(min(w, cx + 0.22 * fw))
    m[y0:y1, x0:x1] = True
    chroma_ok = np.hypot(L[..., 1] - ref[1], L[..., 2] - ref[2]) < 12
    light_ok = np.abs(L[..., 0] - ref[0]) < 35
    return m & chroma_ok & light_ok


def ear_region(rgb, face, point):
    """Skin beside the face's silhouette at mesh ``point`` (234 or 454, level with the eyes' outer
    corners): 2-20 % of the face width outwards, +-12 % of the face height, skin-coloured as for the neck.
    Where the ear shows, this is the ear."""
    L = lab(rgb)
    cheeks = cheek_region(rgb.shape, face)
    ref = np.median(L[cheeks], axis=0)
    h, w = rgb.shape[:2]
    ex, ey = face.landmarks[point]
    side = 1 if ex > face.landmarks[:, 0].mean() else -1
    fw, fh = face.width, face_height(face)
    lo, hi = sorted((ex + side * 0.02 * fw, ex + side * 0.2 * fw))
    m = np.zeros((h, w), bool)
    m[int(max(0, ey - 0.12 * fh)):int(min(h, ey + 0.12 * fh)), int(max(0, lo)):int(min(w, hi))] = True
    chroma_ok = np.hypot(L[..., 1] - ref[1], L[..., 2] - ref[2]) < 12
    light_ok = np.abs(L[..., 0] - ref[0]) < 35
    return m & chroma_ok & light_ok


def mouth_region(shape, face):
    import cv2

    m = np.zeros(shape[:2], np.uint8)
    pts = face.landmarks
    cv2.fillPoly(m, [np.round(pts[list(LIPS_OUTER)]).astype(np.int32)], 1)
    cv2.fillPoly(m, [np.round(pts[list(LIPS_INNER)]).astype(np.int32)], 0)
    m = cv2.erode(m, np.ones((3, 3), np.uint8))
    return m.astype(bool)


def grown_box(face, shape, grow=0.15):
    x0, y0, x1, y1 = face.box
    bw, bh = x1 - x0, y1 - y0
    h, w = shape[:2]
    return (max(0, int(np.floor(x0 - grow * bw))), max(0, int(np.floor(y0 - grow * bh))),
            min(w, int(np.ceil(x1 + grow * bw))), min(h, int(np.ceil(y1 + grow * bh))))


def whitening_gap(img, out, face):
    """(dL cheeks, dL neck, neck pixel count): mean change of L* on each region."""
    neck = neck_region(img, face)
    cheeks = cheek_region(img.shape, face)
    d = lab(out)[..., 0] - lab(img)[..., 0]
    d_neck = float(d[neck].mean()) if neck.sum() else float("nan")
    return float(d[cheeks].mean()), d_neck, int(neck.sum())


def chroma(rgb):
    L = lab(rgb)
    return np.hypot(L[..., 1], L[..., 2])


def lip_chroma_gain(img, out, face):
    """(mean C* of the mouth before, mean change of C* there)."""
    m = mouth_region(img.shape, face)
    c0, c1 = chroma(img)[m], chroma(out)[m]
    return float(c0.mean()), float((c1 - c0).mean())


def warp_outside_share(img, warped, face, threshold=0):
    """(changed pixels, share of them outside the face box grown by 15 %)."""
    changed = np.abs(warped.astype(np.int16) - img).max(axis=2) > threshold
    x0, y0, x1, y1 = grown_box(face, img.shape)
    inside = np.zeros(changed.shape, bool)
    inside[y0:y1, x0:x1] = True
    n = int(changed.sum())
    return n, (float((changed & ~inside).sum()) / n if n else 0.0)


def warp_only(img, face, level):
    """The engine's warp stage alone on ``img`` (full image, uint8)."""
    from smart_beauty_engine.masks import face_roi
    from smart_beauty_engine.warp import warp_face

    x0, y0, x1, y1 = face_roi(face, img.shape)
    out = img.copy()
    out[y0:y1, x0:x1] = warp_face(np.ascontiguousarray(img[y0:y1, x0:x1]), face, (x0, y0), level)
    return out


def skin_kept(img, out, face, level):
    """(fine texture kept on the cheeks, blemish band kept on the skin): ``out``'s variance over that of
    the same photo with only the warp applied (:func:`warp_only`), so both have the same geometry. Against
    ``img`` itself the slimming would count too: it moves hair, ears and background into the skin's edge
    (long dark hair beside the jaw raised the blemish band by up to half with the warp alone)."""
    ref = warp_only(img, face, level)
    cheeks, skin = cheek_region(img.shape, face), skin_region(img, face)
    texture = fine_detail_var(out, cheeks) / max(1e-6, fine_detail_var(ref, cheeks))
    return texture, blemish_var(out, skin, face.width) / max(1e-6, blemish_var(ref, skin, face.width))


def blemish_var(rgb, region, face_width):
    """Variance of L* detail between 0.8 % and 3 % of the face width (spots, blotches) on ``region``."""
    import cv2

    L = lab(rgb)[..., 0]
    band = cv2.GaussianBlur(L, (0, 0), 0.008 * face_width) - cv2.GaussianBlur(L, (0, 0), 0.03 * face_width)
    return float(band[region].var())


def skin_region(img, face):
    """The engine's own skin mask > 0.8 (face oval minus features, this face's skin colour)."""
    from smart_beauty_engine import masks

    x0, y0, x1, y1 = masks.face_roi(face, img.shape)
    work = masks.build(np.ascontiguousarray(img[y0:y1, x0:x1]), face, (x0, y0))
    full = np.zeros(img.shape[:2], np.float32)
    full[y0:y1, x0:x1] = masks.upscale(work.skin, (y1 - y0, x1 - x0))
    return full > 0.8


def fine_detail_var(rgb, region, sigma=1.0):
    import cv2

    L = lab(rgb)[..., 0]
    return float((L - cv2.GaussianBlur(L, (0, 0), sigma))[region].var())


# -- synthetic variants (said so wherever they are used) ----------------------------------------------

def desaturated(rgb):
    """Grey copy (Rec. 601 luma in all three channels): a black-and-white photo."""
    y = (rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    return np.repeat(np.clip(y + 0.5, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def sepia(rgb):
    """Sepia-toned black-and-white copy: grey lightness, one warm hue everywhere."""
    grey = desaturated(rgb).astype(np.float32)
    tone = np.array([1.07, 0.98, 0.82], np.float32)
    return np.clip(grey * tone + 0.5, 0, 255).astype(np.uint8)


def darkened(rgb, gain=0.42, gamma=1.25):
    """Darker copy: the whole photo darker and a little more contrasted in the shadows."""
    x = (rgb.astype(np.float32) / 255.0) ** gamma * gain
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def tight_crop(rgb, face, share=0.62):
    """Crop around the face so its detector box covers ``share`` of the frame (a tight portrait)."""
    x0, y0, x1, y1 = face.box
    bw, bh = x1 - x0, y1 - y0
    k = (1.0 / share) ** 0.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2 + 0.05 * bh
    h, w = rgb.shape[:2]
    ax, ay = int(round(max(0, cx - bw * k / 2))), int(round(max(0, cy - bh * k / 2)))
    return np.ascontiguousarray(rgb[ay:min(h, ay + int(round(bh * k))), ax:min(w, ax + int(round(bw * k)))])


def downscaled_to_face(rgb, face, width):
    """The photo scaled so that the face is ``width`` px wide (INTER_AREA)."""
    import cv2

    s = width / face.width
    h, w = rgb.shape[:2]
    return cv2.resize(rgb, (max(8, round(w * s)), max(8, round(h * s))), interpolation=cv2.INTER_AREA)


#: the real one-face photos (samples/README.md): four in colour, ``garfield`` a black-and-white photograph,
#: ``phone`` a face looking down (on the phone; chin on the collar, a hand against the cheek)
REAL_PHOTOS = ("portrait", "hopper", "obama", "biden", "garfield", "phone", "gallego", "mceachin", "biden-2021",
               "curson", "murphy", "haaland", "underwood", "lieu", "jayapal")

#: samples/phone.jpg (568x512): the face's box, drawn by hand from the photo (hairline to chin, from the
#: visible ear to the hand that covers the other one)
PHONE_FACE = (145, 100, 325, 310)

#: the real group photo (samples/family.jpg, 640x427): each person's face box, drawn by hand from the
#: photo (forehead to chin, ear to ear), left to right
FAMILY = "family"
FAMILY_FACES = {
    "Michelle Obama": (172, 88, 246, 168),
    "Malia Obama": (240, 116, 312, 190),
    "Barack Obama": (374, 94, 456, 178),
    "Sasha Obama (child)": (452, 96, 528, 172),
}


#: the real crowd (samples/crowd.jpg, 960x640, the White House Situation Room, 1 May 2011): every visible
#: face's box, drawn by hand from the photo (hairline to chin, cheek edge to cheek edge; ears left out,
#: as on the turned heads they lie far behind the face), left to right
CROWD = "crowd"
CROWD_FACES = {
    "Joe Biden (older, head turned)": (67, 232, 127, 302),
    "Barack Obama": (298, 218, 342, 277),
    "Marshall Webb (looking down)": (426, 218, 480, 270),
    "Mike Mullen (glasses)": (450, 64, 496, 122),
    "Tom Donilon (three-quarter)": (568, 52, 616, 114),
    "Bill Daley (older)": (690, 80, 742, 144),
    "Denis McDonough": (697, 193, 758, 266),
    "Hillary Clinton (hand over the mouth)": (718, 274, 776, 348),
    "Tony Blinken": (766, 101, 806, 148),
    "Robert Gates (older, three-quarter)": (819, 397, 931, 510),
    "Audrey Tomason (35 px, hair over the cheeks)": (825, 134, 860, 175),
    "John Brennan (glasses)": (877, 50, 930, 118),
    "James Clapper (glasses, grey goatee; cut by the frame, behind a shoulder)": (920, 40, 960, 120),
}
#: the faces of CROWD_FACES the engine does not find (tests mark them xfail, strict, with the figures)
CROWD_MISSED = ("James Clapper (glasses, grey goatee; cut by the frame, behind a shoulder)",)


def face_in(faces, box):
    """The faces whose mesh centre lies inside ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    return [f for f in faces if x0 <= f.landmarks[:, 0].mean() <= x1 and y0 <= f.landmarks[:, 1].mean() <= y1]


def lips_measured(img, out, face, min_px=20):
    """(mouth pixels, mean C* before, mean change of C*) on the eroded mouth ring, or, on a face so
    small that the ring has fewer than ``min_px`` pixels (closed lips of a 35-50 px face leave 0-7),
    on the whole lip polygon, not eroded."""
    import cv2

    m = mouth_region(img.shape, face)
    if m.sum() < min_px:
        mm = np.zeros(img.shape[:2], np.uint8)
        cv2.fillPoly(mm, [np.round(face.landmarks[list(LIPS_OUTER)]).astype(np.int32)], 1)
        cv2.fillPoly(mm, [np.round(face.landmarks[list(LIPS_INNER)]).astype(np.int32)], 0)
        m = mm.astype(bool)
    c0, c1 = chroma(img)[m], chroma(out)[m]
    return int(m.sum()), float(c0.mean()), float((c1 - c0).mean())


def photos():
    """name -> (rgb, what it is); the real photos first, then the synthetic variants."""
    p = {n: load_rgb(os.path.join(SAMPLES, n + ".jpg")) for n in REAL_PHOTOS}
    out = {n: (img, "real") for n, img in p.items()}
    out["portrait-dark"] = (darkened(p["portrait"]), "synthetic: portrait darkened")
    out["obama-grey"] = (desaturated(p["obama"]), "synthetic: obama desaturated")
    out["biden-grey"] = (desaturated(p["biden"]), "synthetic: biden desaturated")
    out["obama-sepia"] = (sepia(p["obama"]), "synthetic: obama sepia-toned")
    return out


def report(level=0.8):
    sys.path.insert(0, os.path.join(REPO, "lib"))
    from smart_beauty_engine.offline import OfflineEngine

    eng = OfflineEngine()
    print("level %.2f" % level)
    print("%-14s %5s %8s %8s %6s %6s %7s %7s %8s %8s %8s %8s" % (
        "photo", "fw", "dLcheek", "dLneck", "gap", "neckpx", "Cmouth", "dCmouth", "warp px", "outside",
        "texture", "blemish"))
    for name, (img, _) in photos().items():
        face = eng.find_faces(img)[0]
        out = eng(img, level, False)
        dc, dn, nn = whitening_gap(img, out, face)
        c0, dcm = lip_chroma_gain(img, out, face)
        n, share = warp_outside_share(img, warp_only(img, face, level), face)
        tex, blem = skin_kept(img, out, face, level)
        print("%-14s %5.0f %8.2f %8.2f %6.2f %6d %7.2f %7.2f %8d %7.1f%% %8.2f %8.2f" % (
            name, face.width, dc, dn, abs(dc - dn), nn, c0, dcm, n, 100 * share, tex, blem))
    for group in (FAMILY, CROWD):
        img = load_rgb(os.path.join(SAMPLES, group + ".jpg"))
        out = eng(img, level, True)
        for face in sorted(eng.find_faces(img, every_face=True), key=lambda f: f.box[0]):
            dc, dn, nn = whitening_gap(img, out, face)
            _m, c0, dcm = lips_measured(img, out, face)
            n, share = warp_outside_share(img, warp_only(img, face, level), face)
            tex, blem = skin_kept(img, out, face, level)
            print("%-14s %5.0f %8.2f %8.2f %6.2f %6d %7.2f %7.2f %8d %7.1f%% %8.2f %8.2f" % (
                "%s@%d" % (group, face.box[0]), face.width, dc, dn, abs(dc - dn), nn, c0, dcm, n, 100 * share,
                tex, blem))
    small = downscaled_to_face(photos()["portrait"][0], eng.find_faces(photos()["portrait"][0])[0], 40)
    face = eng.find_faces(small)[0]
    out = eng(small, level, False)
    skin = cheek_region(small.shape, face)
    print("portrait at 40 px face (synthetic downscale): face %.0f px, fine-detail variance kept %.2f" % (
        face.width, fine_detail_var(out, skin) / fine_detail_var(small, skin)))


if __name__ == "__main__":
    report(float(sys.argv[1]) if len(sys.argv) > 1 else 0.8)
