"""One face's working copy: its ROI reduced so the face is ~WORK_FACE_WIDTH px wide, with soft masks.

Everything low-frequency (masks, smoothing base, whitening) is computed on this small copy; the
change is then upscaled once and added to the full-resolution ROI (``retouch.apply_change``), so the
cost at 12 MP is one resize and one add, and the detail finer than the working scale (pores, fine
hair) is never touched.

* ``skin``: filled face oval minus eyes, brows and lips, feathered, times a skin-colour probability
  from a model sampled on this face's cheeks/forehead/nose bridge (keeps hair fringe, brows, beard
  shadow and glasses frames out, and adapts to any skin tone);
* ``whiten``: every pixel of this face's skin colour over face, ears and neck alike (the face oval
  grown by 15 % and a jaw-wide column down the neck, feathered), fading only toward the ROI border
  and down the neck, so the face never looks pasted on; the skin-colour test is on hue (normalised
  r, g: a neck in shadow is the same skin); eyes, brows and mouth kept off.

All masks are float32 in [0, 1] and fall to exactly 0 at the border of the face's region of
interest, so nothing outside that box ever changes.
"""

from dataclasses import dataclass

import numpy as np

from . import landmarks as lm

#: face width (pixels) of the working copy; smaller faces are worked on at full resolution
WORK_FACE_WIDTH = 224


@dataclass
class Work:
    """The working copy of one face's ROI and its masks (``scale`` = working px per image px)."""

    small: np.ndarray  # float32 RGB [0, 255] at working scale
    skin: np.ndarray
    whiten: np.ndarray
    scale: float
    face_width: float  # at working scale
    pts: np.ndarray  # landmarks at working scale, ROI origin


def face_roi(face, shape):
    """Integer ROI ``(x0, y0, x1, y1)`` around a face: landmark box + margins (most below, for the neck)."""
    h, w = shape[:2]
    lo = face.landmarks.min(axis=0)
    hi = face.landmarks.max(axis=0)
    fw, fh = hi[0] - lo[0], hi[1] - lo[1]
    x0 = int(max(0, np.floor(lo[0] - 0.27 * fw)))
    x1 = int(min(w, np.ceil(hi[0] + 0.27 * fw)))
    y0 = int(max(0, np.floor(lo[1] - 0.2 * fh)))
    y1 = int(min(h, np.ceil(hi[1] + 0.7 * fh)))
    return x0, y0, x1, y1


def _poly(mask, pts, idx, value=1.0):
    import cv2

    cv2.fillPoly(mask, [np.round(pts[list(idx)] * 16).astype(np.int32)], value, cv2.LINE_AA, 4)


def _border_window(h, w, ramp, open_sides=(False, False, False, False)):
    """1 inside, 0 on the outermost pixel row/column, smooth ramp of ``ramp`` pixels in between.

    ``open_sides`` (left, top, right, bottom): sides that are the photo's own edge, where nothing lies
    beyond and so no ramp is needed (a tight portrait's cheeks and neck reach the frame).
    """
    ramp = max(2.0, float(ramp))
    left, top, right, bottom = open_sides
    big = np.float32(1e9)
    iy, ix = np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32)
    ys = np.minimum(big if top else iy, big if bottom else iy[::-1])
    xs = np.minimum(big if left else ix, big if right else ix[::-1])
    wy = np.clip(ys / ramp, 0, 1)
    wx = np.clip(xs / ramp, 0, 1)
    win = np.outer(wy, wx)
    return win * win * (3 - 2 * win)  # smoothstep


def _skin_model(ycc, pts, face_w):
    """Robust mean and covariance of this face's skin colour (YCrCb), sampled on cheeks/forehead."""
    h, w = ycc.shape[:2]
    r = max(1, int(round(0.03 * face_w)))
    samples = []
    for i in lm.SKIN_SAMPLES:
        x, y = int(round(pts[i, 0])), int(round(pts[i, 1]))
        patch = ycc[max(0, y - r):min(h, y + r + 1), max(0, x - r):min(w, x + r + 1)]
        if patch.size:
            samples.append(patch.reshape(-1, 3))
    if not samples:
        return None
    s = np.concatenate(samples).astype(np.float64)
    # robust centre: drop the 20 % of samples farthest from the median (specular spots, stray hair)
    med = np.median(s, axis=0)
    dist = np.abs(s - med).sum(axis=1)
    s = s[dist <= np.percentile(dist, 80)]
    return s.mean(axis=0), np.cov(s.T)


def skin_probability(ycc, pts, face_w, luma_weight=1.6):
    """Per-pixel probability that a pixel has this face's skin colour (YCrCb Mahalanobis distance).

    ``ycc`` is float32 YCrCb at working scale; ``pts`` the landmarks at working scale.
    ``luma_weight`` widens the tolerance on lightness (lighting varies; shadowed skin is skin).
    """
    h, w = ycc.shape[:2]
    model = _skin_model(ycc, pts, face_w)
    if model is None:
        return np.ones((h, w), np.float32)
    mean, cov = model
    cov = cov + np.diag([30.0, 4.0, 4.0])
    cov[0, :] *= luma_weight
    cov[:, 0] *= luma_weight
    inv = np.linalg.inv(cov).astype(np.float32)
    d = ycc.reshape(-1, 3) - mean.astype(np.float32)
    d2 = np.einsum("ij,jk,ik->i", d, inv, d).reshape(h, w)
    dist = np.sqrt(d2)
    # 1 within 2.5 sigma, fading to 0 at 4.5 sigma
    return np.clip((4.5 - dist) / 2.0, 0.0, 1.0).astype(np.float32)


def chromaticity_probability(rgb, pts, face_w):
    """``(probability, grey)``: probability that a pixel has this face's skin *hue*, whatever its
    lightness; ``grey`` when the skin has no hue to speak of (a black-and-white photo).

    Mahalanobis distance in normalised (r, g) chromaticity, which shading does not change (YCrCb's
    chroma shrinks in shadow, so a neck in the jaw's shadow would not count as skin). Pixels darker
    than a fifth of the face's skin luma fade out (their chromaticity is noise).
    """
    h, w = rgb.shape[:2]
    total = rgb.sum(axis=2) + np.float32(1.0)
    rg = np.stack([rgb[..., 0] / total, rgb[..., 1] / total], axis=-1)
    luma = total * np.float32(1 / 3.0)
    r = max(1, int(round(0.03 * face_w)))
    samples, lumas = [], []
    for i in lm.SKIN_SAMPLES:
        x, y = int(round(pts[i, 0])), int(round(pts[i, 1]))
        sl = (slice(max(0, y - r), min(h, y + r + 1)), slice(max(0, x - r), min(w, x + r + 1)))
        if rg[sl].size:
            samples.append(rg[sl].reshape(-1, 2))
            lumas.append(luma[sl].ravel())
    if not samples:
        return np.ones((h, w), np.float32), False
    s = np.concatenate(samples).astype(np.float64)
    med = np.median(s, axis=0)
    dist = np.abs(s - med).sum(axis=1)
    s = s[dist <= np.percentile(dist, 80)]
    mean = s.mean(axis=0)
    if np.hypot(mean[0] - 1 / 3.0, mean[1] - 1 / 3.0) < 0.012:
        return np.zeros((h, w), np.float32), True
    cov = np.cov(s.T) + np.diag([0.012 ** 2, 0.012 ** 2])
    inv = np.linalg.inv(cov).astype(np.float32)
    d = rg.reshape(-1, 2) - mean.astype(np.float32)
    dist = np.sqrt(np.einsum("ij,jk,ik->i", d, inv, d)).reshape(h, w)
    prob = np.clip((4.5 - dist) / 2.0, 0.0, 1.0)
    floor = 0.2 * float(np.median(np.concatenate(lumas)))
    dark = np.clip(luma / max(1.0, floor) - 1.0, 0.0, 1.0)
    return (prob * dark).astype(np.float32), False


def _face_and_neck(pts, fw, fh, h, w):
    """Soft region of face, ears and neck: the face oval grown by 15 % of the face width, and a
    column as wide as the jaw going down from it along the face's axis. Keeps the whitening off a
    skin-coloured background (wood, curtains, sand) beside the head."""
    import cv2

    region = np.zeros((h, w), np.float32)
    oval = pts[list(lm.FACE_OVAL)]
    centre = oval.mean(axis=0)
    out = oval - centre
    out = oval + out / np.maximum(np.hypot(out[:, 0], out[:, 1]), 1e-6)[:, None] * np.float32(0.15 * fw)
    cv2.fillPoly(region, [np.round(out * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    axis = pts[lm.CHIN] - pts[lm.FOREHEAD]
    axis = axis / max(1e-6, float(np.hypot(*axis)))
    a, b = pts[lm.RIGHT_JAW[-1]], pts[lm.LEFT_JAW[-1]]  # jaw angles (172, 397)
    far = 2.0 * fh
    neck = np.array([a, b, b + far * axis, a + far * axis], np.float32)
    cv2.fillConvexPoly(region, np.round(neck * 16).astype(np.int32), 1.0, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(region, (0, 0), max(1.0, 0.06 * fw))


def working_scale(face_width):
    return min(1.0, WORK_FACE_WIDTH / max(1.0, float(face_width)))


def reduce(img, w, h):
    """``img`` resized to ``w`` x ``h`` (a reduction): halvings by 2x2 averages (INTER_LINEAR at exactly
    half size), then INTER_AREA for the rest -- the same pixel-centre mapping as one INTER_AREA, ~5x
    faster at 12 MP."""
    import cv2

    while img.shape[1] // 2 >= w and img.shape[0] // 2 >= h:
        img = cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    if img.shape[:2] == (h, w):
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def build(roi_rgb, face, origin, image_shape=None):
    """The :class:`Work` copy for ``face`` over ``roi_rgb`` (the uint8 ROI crop at ``origin``).

    ``image_shape``: the whole photo's, so the masks need not fade where the ROI is the photo's edge.
    """
    import cv2

    h, w = roi_rgb.shape[:2]
    scale = working_scale(face.width)
    if scale == 1.0:
        small = roi_rgb.astype(np.float32)
    else:
        sw, sh = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
        small = reduce(roi_rgb, sw, sh).astype(np.float32)
    sh, sw = small.shape[:2]
    # pixel centres: working position = (x + 0.5) * (sw / w) - 0.5, as cv2.resize maps them
    sx, sy = np.float32(sw / w), np.float32(sh / h)
    pts = (face.landmarks - np.array(origin, np.float32) + 0.5) * np.array([sx, sy], np.float32) - 0.5
    fw = face.width * scale
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    fh = float(hi[1] - lo[1])

    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb)
    prob = cv2.GaussianBlur(skin_probability(ycc, pts, fw), (0, 0), max(0.8, 0.01 * fw))

    # face region: oval minus eyes, brows, mouth
    region = np.zeros((sh, sw), np.float32)
    _poly(region, pts, lm.FACE_OVAL)
    holes = np.zeros((sh, sw), np.float32)
    for idx in (lm.LEFT_EYE, lm.RIGHT_EYE, lm.LEFT_BROW, lm.RIGHT_BROW, lm.LIPS_OUTER):
        _poly(holes, pts, idx)
    k = max(3, int(round(0.05 * fw)) | 1)
    holes = cv2.dilate(holes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    region = np.clip(region - holes, 0, 1)
    k = max(3, int(round(0.03 * fw)) | 1)
    region = cv2.erode(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    region = cv2.GaussianBlur(region, (0, 0), max(1.0, 0.025 * fw))
    open_sides = (False,) * 4
    if image_shape is not None:
        ih, iw = image_shape[:2]
        open_sides = (origin[0] == 0, origin[1] == 0, origin[0] + w >= iw, origin[1] + h >= ih)
    window = _border_window(sh, sw, 0.06 * fw, open_sides)
    skin = region * prob * window

    # whitening: all skin-coloured pixels of the ROI (face, ears, neck) under one broad window
    chroma_prob, grey = chromaticity_probability(small, pts, fw)
    if grey:
        # a black-and-white photo: hue tells nothing, so lightness like the face's, within a soft
        # ellipse over face and neck (not the whole ROI: the background is as grey as the skin)
        ell = np.zeros((sh, sw), np.float32)
        centre = (float((lo[0] + hi[0]) / 2), float(lo[1] + 0.62 * fh))
        cv2.ellipse(ell, (centre, (1.3 * fw, 1.5 * fh), 0.0), 1.0, -1, cv2.LINE_AA)
        ell = cv2.GaussianBlur(ell, (0, 0), max(1.0, 0.08 * fw))
        chroma_prob = skin_probability(ycc, pts, fw, luma_weight=2.5) * ell
    chroma_prob = cv2.GaussianBlur(chroma_prob, (0, 0), max(1.0, 0.03 * fw))
    broad = _border_window(sh, sw, 0.18 * fw, open_sides)
    chin_y = float(pts[lm.CHIN, 1])
    ys = np.arange(sh, dtype=np.float32)[:, None]
    t = np.clip((ys - (chin_y + 0.35 * fh)) / max(1.0, 0.35 * fh), 0, 1)
    down = 1.0 - t * t * (3 - 2 * t)  # fades down the neck, well below the chin
    keep_off = cv2.GaussianBlur(np.clip(holes, 0, 1), (0, 0), max(1.0, 0.02 * fw))
    whiten = chroma_prob * broad * down * (1.0 - keep_off) * _face_and_neck(pts, fw, fh, sh, sw)

    return Work(small=small, skin=skin, whiten=whiten.astype(np.float32), scale=scale,
                face_width=fw, pts=pts)


def build_masks(roi_rgb, face, origin):
    """The masks only (kept for callers that want them): a :class:`Work`."""
    return build(roi_rgb, face, origin)


def upscale(mask, shape):
    """Resize a working-scale mask to ``shape`` (h, w), keeping exact zeros at the ROI border."""
    import cv2

    h, w = shape[:2]
    if mask.shape[:2] == (h, w):
        return mask
    up = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
    up[0, :] = 0
    up[-1, :] = 0
    up[:, 0] = 0
    up[:, -1] = 0
    return up
