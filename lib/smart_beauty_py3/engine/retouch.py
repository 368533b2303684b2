"""Colour and texture stages on one face's ROI: skin smoothing, whitening, lip tint.

Every function takes the ROI as float32 RGB in [0, 255] plus a mask (float32 [0, 1], same size)
and returns a new float32 ROI. Where the mask is 0 the pixel is returned bit-for-bit unchanged.
"""

import numpy as np

#: face width (pixels) at which the smooth base layer is computed
SMOOTH_FACE_WIDTH = 224
#: share of the detail finer than the working scale (pores) that is put back on big faces
FINE_DETAIL_KEPT = 0.55


def smooth_skin(roi, mask, face_width, level):
    """Frequency-separation smoothing.

    The base layer is an edge-preserving (guided) filter of the ROI at a reduced size where the face
    is ~SMOOTH_FACE_WIDTH px wide, so blemishes, blotches and freckles melt while the facial
    features' edges stay. On big faces the detail finer than that scale (pore texture) is partly
    added back, which keeps the skin from looking waxy. Blended with ``0.9 * level * mask``.
    """
    import cv2

    if level <= 0:
        return roi
    h, w = roi.shape[:2]
    s = min(1.0, SMOOTH_FACE_WIDTH / max(1.0, face_width))
    fw = face_width * s
    small = roi if s == 1.0 else cv2.resize(
        roi, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    radius = max(2, int(round(0.04 * fw)))
    eps = (0.09 * 255) ** 2
    base = cv2.ximgproc.guidedFilter(small, small, radius, eps)
    base = cv2.ximgproc.guidedFilter(small, base, max(1, radius // 2), eps * 0.5)
    if s == 1.0:
        delta = base - roi
    else:
        up_small = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        up_base = cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR)
        # result = up_base + k * (roi - up_small)  =>  delta = result - roi
        delta = (up_base - up_small) + (FINE_DETAIL_KEPT - 1.0) * (roi - up_small)
    alpha = (0.9 * level) * mask
    return roi + alpha[..., None] * delta


def _mask_bbox(mask, threshold=0.0):
    ys, xs = np.nonzero(mask > threshold)
    if ys.size == 0:
        return None
    return ys.min(), ys.max() + 1, xs.min(), xs.max() + 1


def whiten(roi, mask, level):
    """Brighten and slightly de-yellow skin in Lab: log curve on L*, b* pulled toward neutral.

    ``L' = 100 * log(1 + (L/100)(beta-1)) / log(beta)`` with ``beta = 1 + 1.2 * level`` lifts
    mid-tones most and keeps black and white fixed; b* is scaled by ``1 - 0.1 * level``.
    """
    import cv2

    box = _mask_bbox(mask)
    if level <= 0 or box is None:
        return roi
    y0, y1, x0, x1 = box
    part = roi[y0:y1, x0:x1]
    m = mask[y0:y1, x0:x1]
    lab = cv2.cvtColor(part * np.float32(1 / 255.0), cv2.COLOR_RGB2Lab)
    beta = 1.0 + 1.2 * level
    L = lab[..., 0]
    lifted = (100.0 / np.log(beta)) * np.log1p(L * ((beta - 1.0) / 100.0))
    lab[..., 0] = L + m * (lifted - L)
    lab[..., 2] *= 1.0 - (0.1 * level) * m
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * np.float32(255.0)
    out = roi.copy()
    out[y0:y1, x0:x1] = np.where((m > 0)[..., None], rgb, part)
    return out


#: rose lip colour (a*, b*) the chroma is pulled toward
LIP_TARGET = (42.0, 14.0)


def tint_lips(roi, mask, level):
    """Pull the lips' chroma (a*, b*) toward a rose tone with weight ``0.35 * level * mask``.

    Lightness is kept, so lip texture, highlights and teeth showing through stay as they were.
    """
    import cv2

    box = _mask_bbox(mask)
    if level <= 0 or box is None:
        return roi
    y0, y1, x0, x1 = box
    part = roi[y0:y1, x0:x1]
    m = (0.35 * level) * mask[y0:y1, x0:x1]
    lab = cv2.cvtColor(part * np.float32(1 / 255.0), cv2.COLOR_RGB2Lab)
    a, b = lab[..., 1], lab[..., 2]
    # only ever add colour: a pale lip gains chroma, an already strong one is left alone
    lab[..., 1] = a + m * np.maximum(0.0, LIP_TARGET[0] - a)
    lab[..., 2] = b + m * (LIP_TARGET[1] - b)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * np.float32(255.0)
    out = roi.copy()
    out[y0:y1, x0:x1] = np.where((m > 0)[..., None], rgb, part)
    return out
