"""Colour and texture stages of one face: skin smoothing, whitening and lips, all low-frequency
offsets computed on the working copy, then applied to the full-resolution ROI in one step.

* ``smoothing_change`` / ``whitening_change`` return float32 offsets at working scale (0 exactly
  where their mask is 0);
* ``lips_change`` likewise, on the lips' box of the working copy;
* ``apply_change`` upscales the summed offset once and adds it to the uint8 ROI.
"""

import numpy as np

from smart_beauty.effects import TEXTURE_DEFAULT

from . import colour
from . import landmarks as lm

#: share of the finest detail (under ~1 px of the working copy: pores, freckles, fine hair) kept
#: unless the caller says otherwise (``texture``)
FINE_DETAIL_KEPT = TEXTURE_DEFAULT
#: whitening strength: L* curve ``beta = 1 + WHITEN * level`` (about +5 L* on mid-tones at level 0.8)
WHITEN = 0.7
#: chroma gain of the lips at level 1 (relative to their own chroma), its cap in C* units per unit of
#: level, and a cap at any level: the issue's bound is a mean gain <= 4 C*, and saturated lips (smiling
#: dark-skinned faces of the family photo) reached 4.6-4.8 at level 1 under the per-level cap alone
LIP_GAIN = 0.18
LIP_CAP = 5.0
LIP_MAX = 3.6


def size_factor(face_width):
    """How much smoothing a face of ``face_width`` image pixels gets: 1 from 90 px, 0.375 at 40 px.

    On small faces freckles and fine hair are a pixel or two wide: melting them reads as soft focus.
    """
    return float(np.clip((face_width - 10.0) / 80.0, 0.3, 1.0))


def smoothing_change(work, face_width, level, texture=FINE_DETAIL_KEPT):
    """Frequency-separation smoothing on the working copy, as an offset (float32 HxWx3).

    Base layer = edge-preserving (guided) filter of the working copy (face ~224 px wide): blemishes,
    blotches and uneven patches melt while the features' edges stay. The finest detail of the
    working copy is partly put back (the share ``texture``, 0..1), and everything finer than the
    working scale is never touched (the offset is upscaled), so the skin keeps its texture. Weight
    ``0.9 * level * size * skin``.
    """
    import cv2

    small = work.small
    if level <= 0:
        return np.zeros_like(small)
    fw = work.face_width
    radius = max(2, int(round(0.06 * fw)))
    eps = (0.14 * 255) ** 2
    base = cv2.ximgproc.guidedFilter(small, small, radius, eps)
    base = cv2.ximgproc.guidedFilter(small, base, max(1, radius // 2), eps * 0.5)
    fine = small - cv2.GaussianBlur(small, (0, 0), 0.8)
    alpha = (0.9 * level * size_factor(face_width)) * work.skin
    return alpha[..., None] * ((base - small) + np.float32(texture) * fine)


def whitening_change(work, smoothed, level):
    """Brighten and slightly de-yellow skin in Lab, as an offset to ``smoothed`` (working scale).

    One lift of L* for the whole face, ``dL = curve(Lref) - Lref`` where ``Lref`` is the median L*
    of its skin and ``curve(L) = 100 * log(1 + (L/100)(beta-1)) / log(beta)``, ``beta = 1 + WHITEN *
    level`` (about +5 L* at level 0.8): added alike to lit cheeks and to a neck in shadow, so the
    two stay continuous, and texture is kept. It fades out on dark pixels (below half of ``Lref``:
    nostrils, stubble, hair) and on highlights (toward L* 100, so nothing clips). b* is scaled by
    ``1 - 0.05 * level`` (a hint less yellow; more turns skin pink). Weighted by the whitening mask.
    """
    if level <= 0:
        return np.zeros_like(smoothed)
    m = work.whiten
    lab = colour.rgb_to_lab(smoothed * np.float32(1 / 255.0))
    L = lab[..., 0]
    skin = work.skin > 0.5
    ref = float(np.median(L[skin])) if skin.any() else float(np.median(L[m > 0.5])) if (m > 0.5).any() else 50.0
    beta = 1.0 + WHITEN * level
    lift = (100.0 / np.log(beta)) * np.log1p(ref * (beta - 1.0) / 100.0) - ref
    shadows = np.clip(L / max(1.0, 0.5 * ref), 0.0, 1.0)
    highlights = np.clip((100.0 - L) / max(1.0, 100.0 - ref), 0.0, 1.0)
    lab[..., 0] = L + (lift * m) * shadows * highlights
    lab[..., 2] *= 1.0 - (0.05 * level) * m
    rgb = colour.lab_to_rgb(lab) * np.float32(255.0)
    return np.where((m > 0)[..., None], rgb - smoothed, np.float32(0.0))


def apply_change(crop, change):
    """``crop`` (uint8 HxWx3) plus ``change`` (float32, working scale) upscaled to it; uint8 out."""
    import cv2

    h, w = crop.shape[:2]
    if change.shape[:2] != (h, w):
        change = cv2.resize(change, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(crop, change, dtype=cv2.CV_8U)


def _own_colour(work, current, lips_lab, lips_mask):
    """0..1: how much the lips have a hue of their own, apart from the skin's (1 from 8 degrees apart).

    In a colour photo lips are redder than the skin around them (12-30 degrees of hue angle measured on
    the sample photos); in a sepia or toned black-and-white photo everything shares one hue, and
    raising the lips' chroma there would paint them.
    """
    core = lips_mask > 0.5
    skin = work.skin > 0.5
    if not core.any() or not skin.any():
        return 0.0
    ys, xs = np.nonzero(skin)
    skin_lab = colour.rgb_to_lab(current[ys, xs][None] * np.float32(1 / 255.0))[0]
    h_lips = np.arctan2(np.median(lips_lab[..., 2][core]), np.median(lips_lab[..., 1][core]))
    h_skin = np.arctan2(np.median(skin_lab[:, 2]), np.median(skin_lab[:, 1]))
    apart = np.degrees(abs(np.angle(np.exp(1j * (h_lips - h_skin)))))
    return float(np.clip((apart - 2.0) / 6.0, 0.0, 1.0))


def lips_change(work, current, level):
    """Raise the lips' own chroma (a*, b* scaled, hue and lightness kept), as an offset to ``current``.

    Gain ``LIP_GAIN * level`` of their chroma, at most ``LIP_CAP * level`` and never more than
    ``LIP_MAX`` C* units: pale lips get a little more of their own colour, grey lips (a black-and-white
    photo) stay grey, nobody gets lipstick; lips whose hue is the skin's (a sepia or toned photo) get
    nothing either. Works on the lips' box of the working copy (a chroma gain is low-frequency).
    """
    import cv2

    out = np.zeros_like(current)
    if level <= 0:
        return out
    h, w = current.shape[:2]
    pts = work.pts
    sigma = max(0.7, 0.012 * work.face_width)
    pad = int(np.ceil(3 * sigma)) + 2
    outer = pts[list(lm.LIPS_OUTER)]
    x0, y0 = np.floor(outer.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(outer.max(axis=0)).astype(int) + pad + 1
    x0, y0, x1, y1 = max(1, x0), max(1, y0), min(w - 1, x1), min(h - 1, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return out
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    off = np.array([x0, y0], np.float32)
    for idx, value in ((lm.LIPS_OUTER, 1.0), (lm.LIPS_INNER, 0.0)):
        poly = np.round((pts[list(idx)] - off) * 16).astype(np.int32)
        cv2.fillPoly(mask, [poly], value, cv2.LINE_AA, 4)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    part = current[y0:y1, x0:x1]
    lab = colour.rgb_to_lab(part * np.float32(1 / 255.0))
    c = np.hypot(lab[..., 1], lab[..., 2])
    own = _own_colour(work, current, lab, mask)
    gain = np.minimum((LIP_GAIN * level) * c, min(LIP_CAP * level, LIP_MAX)) * (mask * own)
    factor = (c + gain) / np.maximum(c, 1e-3)
    lab[..., 1] *= factor
    lab[..., 2] *= factor
    rgb = colour.lab_to_rgb(lab) * np.float32(255.0)
    out[y0:y1, x0:x1] = np.where((mask > 1e-3)[..., None], rgb - part, np.float32(0.0))
    return out
