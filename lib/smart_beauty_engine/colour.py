"""sRGB <-> CIE L*a*b* (D65) for float images, computed directly.

OpenCV's ``cvtColor(..., COLOR_RGB2Lab)`` on float images first builds interpolation tables for
both directions: about 0.2 s of CPU on its first call, in every process that starts the engine --
the longest single step of a cold ``smart-beauty retouch`` on a 2-core machine. The engine converts
only its working copy (a face ~224 px wide) and the lips' box, so the formulas themselves cost a
few milliseconds and nothing at start-up; they are also exact where OpenCV's tables are off by up
to 0.5 in a* and b*.

Same definitions as OpenCV's (sRGB companding, its RGB->XYZ matrix, D65 white): L* in [0, 100],
a* and b* about [-128, 127]; RGB outside [0, 1] and Lab outside the sRGB gamut are clipped, as OpenCV
does.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

_RGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                        [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]])
_WHITE = np.array([0.950456, 1.0, 1.088754])
#: linear RGB -> XYZ relative to the white point, and back (rows: outputs), for cv2.transform
_TO_XYZ_N = (_RGB_TO_XYZ / _WHITE[:, None]).astype(np.float32)
_FROM_XYZ_N = (np.linalg.inv(_RGB_TO_XYZ) * _WHITE[None, :]).astype(np.float32)
#: f(X), f(Y), f(Z) -> L*, a*, b* (affine: the last column is the offset), and back
_F_TO_LAB = np.array([[0, 116, 0, -16], [500, -500, 0, 0], [0, 200, -200, 0]], np.float32)
_LAB_TO_F = np.array([[1 / 116, 1 / 500, 0, 16 / 116],
                      [1 / 116, 0, 0, 16 / 116],
                      [1 / 116, 0, -1 / 200, 16 / 116]], np.float32)
_EPS = np.float32(0.008856)       # (6/29)**3: below it f(t) is linear
_F_EPS = np.float32(6 / 29)
_KAPPA = np.float32(7.787)        # slope of that linear part: f(t) = 7.787 t + 16/116
_F0 = np.float32(16 / 116)

Image = npt.NDArray[np.float32]


def rgb_to_lab(rgb: npt.ArrayLike) -> Image:
    """``rgb``: float sRGB in [0, 1] (values outside are clipped to it, as OpenCV does), shape (..., 3)
    -> float32 L*a*b*."""
    x = np.clip(np.asarray(rgb, np.float32), 0.0, 1.0)
    linear = ((x + np.float32(0.055)) * np.float32(1 / 1.055)) ** np.float32(2.4)
    _replace(linear, x <= np.float32(0.04045), x * np.float32(1 / 12.92))
    xyz = _transform(linear, _TO_XYZ_N)
    f = np.cbrt(xyz)
    _replace(f, xyz <= _EPS, _KAPPA * xyz + _F0)
    return _transform(f, _F_TO_LAB)


def lab_to_rgb(lab: npt.ArrayLike) -> Image:
    """float L*a*b*, shape (..., 3) -> float32 sRGB in [0, 1] (clipped to the gamut)."""
    f = _transform(np.asarray(lab, np.float32), _LAB_TO_F)
    xyz = f * f * f
    _replace(xyz, f <= _F_EPS, (f - _F0) / _KAPPA)
    linear = _transform(xyz, _FROM_XYZ_N)
    np.clip(linear, 0.0, 1.0, out=linear)
    out = linear ** np.float32(1 / 2.4) * np.float32(1.055) - np.float32(0.055)
    _replace(out, linear <= np.float32(0.0031308), linear * np.float32(12.92))
    return out


def _replace(out: Image, where: npt.NDArray[np.bool_], values: Image) -> None:
    """``out[where] = values[where]`` (the piecewise parts; usually few pixels)."""
    if where.any():
        out[where] = values[where]


def _transform(pixels: Image, matrix: npt.NDArray[np.float32]) -> Image:
    """Each pixel's 3 channels times ``matrix`` (3x3, or 3x4 with an offset column)."""
    import cv2

    flat = np.ascontiguousarray(pixels.reshape(-1, 1, 3))
    out: Image = np.asarray(cv2.transform(flat, matrix), np.float32)
    return out.reshape(pixels.shape)
