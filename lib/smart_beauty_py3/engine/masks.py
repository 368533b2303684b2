"""Soft masks for one face, built at a reduced working scale from its landmarks and its own colours.

* ``skin``: filled face oval minus eyes, brows and lips, feathered, times a skin-colour probability
  from a model sampled on this face's cheeks/forehead/nose bridge (keeps hair fringe, brows,
  beard shadow and glasses frames out, and adapts to any skin tone);
* ``whiten``: the skin mask widened by a soft ellipse reaching the neck (so face and neck brighten
  together and no edge shows at the jaw), also gated by skin colour;
* ``lips``: outer minus inner lip polygon, feathered.

All masks are float32 in [0, 1] and fall to exactly 0 at the border of the face's region of
interest, so nothing outside that box ever changes.
"""

from dataclasses import dataclass

import numpy as np

from . import landmarks as lm

#: face width (pixels) at which masks are built; the masks are upscaled to the ROI afterwards
MASK_FACE_WIDTH = 192


@dataclass
class FaceMasks:
    """Masks of one face at working scale (``scale`` = working pixels per image pixel)."""

    skin: np.ndarray
    whiten: np.ndarray
    lips: np.ndarray
    scale: float


def face_roi(face, shape):
    """Integer ROI ``(x0, y0, x1, y1)`` around a face: landmark box + margins (more below, for the neck)."""
    h, w = shape[:2]
    lo = face.landmarks.min(axis=0)
    hi = face.landmarks.max(axis=0)
    fw, fh = hi[0] - lo[0], hi[1] - lo[1]
    x0 = int(max(0, np.floor(lo[0] - 0.35 * fw)))
    x1 = int(min(w, np.ceil(hi[0] + 0.35 * fw)))
    y0 = int(max(0, np.floor(lo[1] - 0.25 * fh)))
    y1 = int(min(h, np.ceil(hi[1] + 0.45 * fh)))
    return x0, y0, x1, y1


def _poly(mask, pts, idx, value=1.0):
    import cv2

    cv2.fillPoly(mask, [np.round(pts[list(idx)] * 16).astype(np.int32)], value, cv2.LINE_AA, 4)


def _border_window(h, w, ramp):
    """1 inside, 0 on the outermost pixel row/column, smooth ramp of ``ramp`` pixels in between."""
    ramp = max(2.0, float(ramp))
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    xs = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    wy = np.clip(ys / ramp, 0, 1)
    wx = np.clip(xs / ramp, 0, 1)
    win = np.outer(wy, wx)
    return win * win * (3 - 2 * win)  # smoothstep


def skin_probability(ycc, pts, face_w):
    """Per-pixel probability that a pixel has this face's skin colour (YCrCb Mahalanobis distance).

    ``ycc`` is float32 YCrCb at working scale; ``pts`` the landmarks at working scale.
    """
    h, w = ycc.shape[:2]
    r = max(1, int(round(0.03 * face_w)))
    samples = []
    for i in lm.SKIN_SAMPLES:
        x, y = int(round(pts[i, 0])), int(round(pts[i, 1]))
        patch = ycc[max(0, y - r):min(h, y + r + 1), max(0, x - r):min(w, x + r + 1)]
        if patch.size:
            samples.append(patch.reshape(-1, 3))
    if not samples:
        return np.ones((h, w), np.float32)
    s = np.concatenate(samples).astype(np.float64)
    # robust centre: drop the 20 % of samples farthest from the median (specular spots, stray hair)
    med = np.median(s, axis=0)
    dist = np.abs(s - med).sum(axis=1)
    s = s[dist <= np.percentile(dist, 80)]
    mean = s.mean(axis=0)
    cov = np.cov(s.T) + np.diag([30.0, 4.0, 4.0])
    cov[0, :] *= 1.6  # lighting varies over a face: be a bit lenient on luma
    cov[:, 0] *= 1.6
    inv = np.linalg.inv(cov).astype(np.float32)
    d = ycc.reshape(-1, 3) - mean.astype(np.float32)
    d2 = np.einsum("ij,jk,ik->i", d, inv, d).reshape(h, w)
    dist = np.sqrt(d2)
    # 1 within 2.5 sigma, fading to 0 at 4.5 sigma
    return np.clip((4.5 - dist) / 2.0, 0.0, 1.0).astype(np.float32)


def build_masks(roi_rgb, face, roi):
    """Build :class:`FaceMasks` for ``face`` over ``roi_rgb`` (the uint8 ROI crop, origin ``roi[:2]``)."""
    import cv2

    h, w = roi_rgb.shape[:2]
    scale = min(1.0, MASK_FACE_WIDTH / max(1.0, face.width))
    sw, sh = max(2, int(round(w * scale))), max(2, int(round(h * scale)))
    small = roi_rgb if scale == 1.0 else cv2.resize(roi_rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    pts = (face.landmarks - np.array(roi[:2], np.float32)) * np.float32(scale)
    fw = face.width * scale

    ycc = cv2.cvtColor(small, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    prob = skin_probability(ycc, pts, fw)
    prob = cv2.GaussianBlur(prob, (0, 0), max(0.8, 0.01 * fw))

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
    window = _border_window(sh, sw, 0.06 * fw)
    skin = region * prob * window

    # whitening: the skin mask, widened below the brows by a soft ellipse over cheeks, jaw and neck;
    # faded out above the brows (hair) and down the neck, and kept off the eyes and the mouth
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    fh = hi[1] - lo[1]
    centre = (float((lo[0] + hi[0]) / 2), float(lo[1] + 0.6 * fh))
    axes = (float(0.6 * fw), float(0.75 * fh))
    ell = np.zeros((sh, sw), np.float32)
    cv2.ellipse(ell, (centre, (2 * axes[0], 2 * axes[1]), 0.0), 1.0, -1, cv2.LINE_AA)
    ell = cv2.GaussianBlur(ell, (0, 0), max(1.0, 0.06 * fw))
    brow_y = float(pts[list(lm.LEFT_BROW + lm.RIGHT_BROW), 1].mean())
    chin_y = float(pts[lm.CHIN, 1])
    ys = np.arange(sh, dtype=np.float32)[:, None]
    top = np.clip((ys - brow_y) / (0.15 * fh), 0, 1)
    bottom = np.clip(1.0 - (ys - chin_y) / (0.35 * fh), 0, 1)
    ell *= top * bottom * bottom
    keep_off = cv2.GaussianBlur(np.clip(holes, 0, 1), (0, 0), max(1.0, 0.02 * fw))
    whiten = np.maximum(skin, 0.8 * ell * prob * (1.0 - keep_off) * window)

    # lips: ring between the outer and inner contour
    lips = np.zeros((sh, sw), np.float32)
    _poly(lips, pts, lm.LIPS_OUTER)
    _poly(lips, pts, lm.LIPS_INNER, 0.0)
    lips = cv2.GaussianBlur(lips, (0, 0), max(0.7, 0.012 * fw)) * window

    return FaceMasks(skin=skin, whiten=whiten, lips=lips, scale=scale)


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
