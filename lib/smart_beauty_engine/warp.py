"""Geometry: mild jaw slimming and eye enlarging, one displacement field, remapped where it is non-zero.

* slimming moves the lower face contour (ear level to chin) toward the face's centre line, along
  the eye axis (so a tilted or down-looking face is slimmed across, never up or down), most at the
  middle of the jaw, nothing at the ear and at the chin. The move lives in a narrow band around the
  contour (Gaussian, cut to exactly 0 at ~2.4 sigma = 10 % of the face width), so hair, collars,
  earrings and background beside the jaw stay where they are, and it is held off the nose and
  mouth. A side of a turned face gets less, in proportion to how much of it shows.
* eyes: a local magnification around each eye's centre, fall-off ``(1 - d^2/r^2)^2``.

The field is computed on a grid of at most FIELD_SIZE px (it is smooth; an integer factor below
the ROI), sampled back only in the blocks where it is non-zero, and those blocks alone are remapped
(at 12 MP the rest of the ROI costs nothing), bicubic on faces under CUBIC_BELOW px, bilinear above.
Where the field is 0 the remap returns the source pixel exactly.
"""

import numpy as np

from . import landmarks as lm

#: long side of the grid the displacement field is computed on
FIELD_SIZE = 256
SLIM = 0.035  # inward move of the mid-jaw contour at level 1, as a fraction of face width
EYES = 0.08  # centre magnification at level 1 (1 / (1 - EYES))
BAND = 0.04  # sigma of the slimming band around the contour, as a fraction of face width
_CUT = 0.06  # band weight below which the move is exactly 0 (exp(-d^2/2s^2) = 0.06 at d = 2.4 s)


def _falloff(d2, r):
    x = np.clip(1.0 - d2 / (r * r), 0.0, 1.0)
    return x * x


def _side(indices_from_ear_to_chin, pts):
    """Points of one side of the lower contour and a profile 0 (ear) .. 1 (mid) .. 0 (chin)."""
    p = pts[list(indices_from_ear_to_chin)]
    seg = np.hypot(*np.diff(p, axis=0).T)
    t = np.concatenate([[0.0], np.cumsum(seg)]) / max(1e-6, float(seg.sum()))
    return p, np.sin(np.pi * t)


def _lower_contour():
    oval = list(lm.FACE_OVAL)
    i454, i152, i234 = oval.index(454), oval.index(lm.CHIN), oval.index(234)
    left = oval[i454:i152 + 1]  # subject's left side (image right), ear -> chin
    right = oval[i152:i234 + 1][::-1]  # subject's right side, ear -> chin
    return right, left


RIGHT_CONTOUR, LEFT_CONTOUR = _lower_contour()


def displacement(face, roi_origin, shape, slim, eyes=None):
    """Backward displacement ``(dx, dy, s)`` on the field grid (grid px = ROI px * ``s``).

    A destination pixel at ROI position p samples the source at ``p + d(p)``. ``slim`` and ``eyes``
    are the strengths (0..1) of the slimming and of the eye enlarging (``eyes`` defaults to ``slim``).
    """
    import cv2

    h, w = shape[:2]
    f = _factor(h, w)
    s = 1.0 / f
    gw, gh = max(2, -(-w // f)), max(2, -(-h // f))
    pts = (face.landmarks - np.array(roi_origin, np.float32) + 0.5) * np.float32(s) - 0.5
    fw = face.width * s
    dx = np.zeros((gh, gw), np.float32)
    dy = np.zeros((gh, gw), np.float32)
    eyes = slim if eyes is None else eyes
    if (slim <= 0 and eyes <= 0) or fw < 4:
        return dx, dy, s

    # face frame: u along the eye axis (image right for an upright face)
    re = pts[list(lm.RIGHT_EYE)].mean(axis=0)
    le = pts[list(lm.LEFT_EYE)].mean(axis=0)
    u = le - re
    u = u / max(1e-6, float(np.hypot(*u)))
    nose = float(pts[lm.NOSE_TIP] @ u)
    half_r = nose - float(pts[234] @ u)
    half_l = float(pts[454] @ u) - nose
    mean_half = max(1e-6, (half_r + half_l) / 2)

    if slim > 0:  # slimming: values drawn along the contour, spread in a narrow Gaussian band
        ind = np.zeros((gh, gw), np.float32)
        vx = np.zeros((gh, gw), np.float32)
        vy = np.zeros((gh, gw), np.float32)
        for idx, sign, half in ((RIGHT_CONTOUR, 1.0, half_r), (LEFT_CONTOUR, -1.0, half_l)):
            p, prof = _side(idx, pts)
            amount = SLIM * slim * fw * float(np.clip(half / mean_half, 0.0, 1.0))
            for a, b, pa, pb in zip(p[:-1], p[1:], prof[:-1], prof[1:]):
                m = sign * amount * 0.5 * (pa + pb)
                a_i, b_i = tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b)
                cv2.line(ind, a_i, b_i, 1.0, 1, cv2.LINE_8)
                # backward map: the content moves by m*u, so a pixel samples from -m*u
                cv2.line(vx, a_i, b_i, float(-m * u[0]), 1, cv2.LINE_8)
                cv2.line(vy, a_i, b_i, float(-m * u[1]), 1, cv2.LINE_8)
        sigma = max(1.0, BAND * fw)
        g = cv2.GaussianBlur(ind, (0, 0), sigma)
        gx = cv2.GaussianBlur(vx, (0, 0), sigma)
        gy = cv2.GaussianBlur(vy, (0, 0), sigma)
        peak = 1.0 / (np.sqrt(2 * np.pi) * sigma)  # value of a blurred 1-px line on the line
        r = np.clip(g / peak, 0.0, 1.0)
        k = np.clip((r - _CUT) / (1.0 - _CUT), 0.0, 1.0)
        k = k * k * (3 - 2 * k)
        safe = np.maximum(g, 1e-12)
        # hold it off the nose and the mouth
        keep = np.zeros((gh, gw), np.float32)
        for idx in (lm.LIPS_OUTER, lm.NOSE_WINGS):
            hull = cv2.convexHull(np.round(pts[list(idx)] * 16).astype(np.int32))
            cv2.fillConvexPoly(keep, hull, 1.0, cv2.LINE_AA, 4)
        # grown by one blur sigma first, so that keep is 1 on the hulls' own corners too (the mouth
        # corners; on a 40-50 px face a corner got keep ~0.6 and moved 0.1 px)
        sig = max(1.0, 0.04 * fw)
        r = int(np.ceil(sig))
        keep = cv2.dilate(keep, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
        keep = cv2.GaussianBlur(keep, (0, 0), sig)
        keep = np.clip(keep * 2.0, 0.0, 1.0)
        wgt = k * (1.0 - keep) / safe
        dx += gx * wgt
        dy += gy * wgt

    def room(c):
        # largest radius keeping the circle (plus a pixel) inside the ROI grid
        return float(min(c[0], c[1], gw - 1 - c[0], gh - 1 - c[1])) - 2.0

    eye_contours = ((lm.RIGHT_EYE, (33, 133)), (lm.LEFT_EYE, (263, 362))) if eyes > 0 else ()
    X, Y = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    for contour, (c0, c1) in eye_contours:
        c = pts[list(contour)].mean(axis=0)
        eye_w = float(np.hypot(*(pts[c0] - pts[c1])))
        rad = min(1.0 * eye_w, room(c))
        if rad < 2:
            continue
        kk = _falloff((X - c[0]) ** 2 + (Y - c[1]) ** 2, rad)
        a = EYES * eyes * kk
        dx -= a * (X - c[0])
        dy -= a * (Y - c[1])

    # exactly 0 at the ROI border (and in the outermost grid cells)
    win = _window(gh, gw, max(2.0, 0.05 * fw))
    return dx * win / s, dy * win / s, s


def _window(h, w, ramp):
    ys = np.minimum(np.arange(h), np.arange(h)[::-1]).astype(np.float32)
    xs = np.minimum(np.arange(w), np.arange(w)[::-1]).astype(np.float32)
    wy = np.clip((ys - 1) / ramp, 0, 1)
    wx = np.clip((xs - 1) / ramp, 0, 1)
    win = np.outer(wy, wx)
    return win * win * (3 - 2 * win)


def _factor(h, w):
    """Integer downsampling factor of the field grid (grid position of pixel x = (x + 0.5) / f - 0.5)."""
    return max(1, -(-max(h, w) // FIELD_SIZE))


#: the field is sampled back and remapped in blocks of BLOCK x BLOCK grid cells, only where it moves
BLOCK = 8
#: faces narrower than this (image px) are remapped bicubic, wider ones bilinear. A bilinear sample
#: half-way between pixels halves the variance of 1-px detail: on a 50 px face that is its skin texture
#: (a 52 px face of samples/crowd.jpg kept 64 % of it under the warp alone at level 0.8, bicubic 80 %;
#: under all effects 43 %, bicubic 55 %); on a large face 1 px is far below anything visible, and
#: bicubic would cost ~3x the warp's time there (35 -> 119 ms at 12 MP, one run on a loaded machine).
CUBIC_BELOW = 400


def warp_face(roi, face, roi_origin, slim, eyes=None, out=None):
    """``roi`` (uint8 HxWx3) slimmed (strength ``slim``) and with enlarged eyes (strength ``eyes``,
    default ``slim``), written to ``out`` (default: a copy).

    ``out`` must hold ``roi``'s pixels and must not share memory with it: only the blocks that move
    are written.
    """
    import cv2

    if out is None:
        out = roi.copy()
    eyes = slim if eyes is None else eyes
    if slim <= 0 and eyes <= 0:
        return out
    h, w = roi.shape[:2]
    dx, dy, s = displacement(face, roi_origin, roi.shape, slim, eyes)
    interp = cv2.INTER_CUBIC if face.width < CUBIC_BELOW else cv2.INTER_LINEAR
    f = int(round(1.0 / s))
    gh, gw = dx.shape
    moving = ((dx != 0) | (dy != 0)).astype(np.uint8)
    if not moving.any():
        return out
    moving = cv2.dilate(moving, np.ones((3, 3), np.uint8))
    # absolute source coordinates on the grid (linear in the grid position, so a bilinear
    # upsampling gives exactly x + dx(x)); padded by one node so every block has neighbours
    gx = (np.arange(gw, dtype=np.float32) + 0.5) * f - 0.5
    gy = (np.arange(gh, dtype=np.float32) + 0.5) * f - 0.5
    absolute = np.dstack([gx[None, :] + dx, gy[:, None] + dy])
    pad_x = np.concatenate([[gx[0] - f], gx, [gx[-1] + f]]).astype(np.float32)
    pad_y = np.concatenate([[gy[0] - f], gy, [gy[-1] + f]]).astype(np.float32)
    padded = np.empty((gh + 2, gw + 2, 2), np.float32)
    padded[..., 0] = pad_x[None, :]
    padded[..., 1] = pad_y[:, None]
    padded[1:-1, 1:-1] = absolute
    nby, nbx = -(-gh // BLOCK), -(-gw // BLOCK)
    occ = np.zeros((nby * BLOCK, nbx * BLOCK), np.uint8)
    occ[:gh, :gw] = moving
    occ = occ.reshape(nby, BLOCK, nbx, BLOCK).max(axis=(1, 3))
    for by in range(nby):
        row = occ[by]
        bx = 0
        while bx < nbx:
            if not row[bx]:
                bx += 1
                continue
            start = bx
            while bx < nbx and row[bx]:
                bx += 1
            gx0, gx1 = start * BLOCK, min(gw, bx * BLOCK)
            gy0, gy1 = by * BLOCK, min(gh, (by + 1) * BLOCK)
            x0, y0 = gx0 * f, gy0 * f
            x1, y1 = min(w, gx1 * f), min(h, gy1 * f)
            if x1 <= x0 or y1 <= y0:
                continue
            sub = padded[gy0:gy1 + 2, gx0:gx1 + 2]
            if f > 1:
                sub = cv2.resize(sub, ((gx1 - gx0 + 2) * f, (gy1 - gy0 + 2) * f), interpolation=cv2.INTER_LINEAR)
                sub = sub[f:f + (y1 - y0), f:f + (x1 - x0)]
            else:
                sub = sub[1:1 + (y1 - y0), 1:1 + (x1 - x0)]
            out[y0:y1, x0:x1] = cv2.remap(roi, np.ascontiguousarray(sub), None, interp,
                                          borderMode=cv2.BORDER_REPLICATE)
    return out
