"""Geometry: mild face slimming and eye enlarging, all applied in ONE ``cv2.remap`` of the face ROI.

Each effect is a local displacement with the smooth fall-off ``k = (1 - d^2/r^2)^2`` (zero value
and zero slope at the rim, so nothing tears there):

* slimming: one translation per side, centred on the lower jaw, toward the nose-chin midpoint.
  (Several overlapping per-point warps shred the cheeks; one move per side does not.)
* eyes: a local magnification around each eye's centre.

The displacement field is built at a reduced scale (it is smooth) and upsampled; it is exactly
zero outside the circles, and the circles are kept inside the ROI, so the remap changes nothing
else (an integer sample position returns the source pixel exactly).
"""

import numpy as np

from . import landmarks as lm

#: long side of the grid the displacement field is computed on
FIELD_SIZE = 256
SLIM = 0.045  # translation per side at level 1, as a fraction of face width
EYES = 0.10  # centre magnification at level 1 (1 / (1 - EYES))


def _falloff(d2, r):
    x = np.clip(1.0 - d2 / (r * r), 0.0, 1.0)
    return x * x


def warp_face(roi, face, roi_origin, level):
    """Return ``roi`` (float32 or uint8, HxWx3) slimmed and with enlarged eyes; same dtype and size."""
    import cv2

    if level <= 0:
        return roi
    h, w = roi.shape[:2]
    pts = face.landmarks - np.array(roi_origin, np.float32)
    fw = face.width

    s = min(1.0, FIELD_SIZE / float(max(h, w)))
    gw, gh = max(2, int(round(w * s))), max(2, int(round(h * s)))
    # grid positions in ROI pixel coordinates
    gx = (np.arange(gw, dtype=np.float32) + 0.5) / s - 0.5
    gy = (np.arange(gh, dtype=np.float32) + 0.5) / s - 0.5
    X, Y = np.meshgrid(gx, gy)
    dx = np.zeros_like(X)
    dy = np.zeros_like(Y)

    def room(c):
        # largest radius keeping the circle (plus a pixel) inside the ROI
        return float(min(c[0], c[1], w - 1 - c[0], h - 1 - c[1])) - 2.0

    # slimming: one smooth translation per side
    mid = (pts[lm.NOSE_TIP] + pts[lm.CHIN]) / 2.0
    for idx in (lm.RIGHT_JAW, lm.LEFT_JAW):
        c = pts[list(idx)].mean(axis=0)
        r = min(0.4 * fw, room(c))
        if r < 4:
            continue
        v = mid - c
        v = v / max(1e-6, float(np.hypot(*v))) * (SLIM * level * fw)
        k = _falloff((X - c[0]) ** 2 + (Y - c[1]) ** 2, r)
        # backward map: a destination pixel samples from where the content moved from
        dx -= k * v[0]
        dy -= k * v[1]

    # eyes: local magnification
    for contour, (c0, c1) in ((lm.RIGHT_EYE, (33, 133)), (lm.LEFT_EYE, (263, 362))):
        c = pts[list(contour)].mean(axis=0)
        eye_w = float(np.hypot(*(pts[c0] - pts[c1])))
        r = min(1.1 * eye_w, room(c))
        if r < 4:
            continue
        k = _falloff((X - c[0]) ** 2 + (Y - c[1]) ** 2, r)
        a = EYES * level * k
        dx -= a * (X - c[0])
        dy -= a * (Y - c[1])

    if s < 1.0:
        dx = cv2.resize(dx, (w, h), interpolation=cv2.INTER_LINEAR)
        dy = cv2.resize(dy, (w, h), interpolation=cv2.INTER_LINEAR)
    # tiny residues of the upsampling far from the circles would still resample: cut them
    dx[np.abs(dx) < 1e-3] = 0.0
    dy[np.abs(dy) < 1e-3] = 0.0
    map_x = np.arange(w, dtype=np.float32)[None, :] + dx
    map_y = np.arange(h, dtype=np.float32)[:, None] + dy
    return cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
