"""``SimpleEngine``: a deterministic, clearly visible stand-in retouch for tests.

Not a beauty filter. It brightens every pixel towards white by a quarter of ``level``::

    m   = round(level * 1000)                       # level quantised to 1/1000
    out = in + (((255 - in) * m + 2000) // 4000)    # = in + round_half_up((255 - in) * level / 4)

computed in integers, so tests can predict every output pixel exactly (e.g. level 1: 0 -> 64,
100 -> 139, 255 -> 255; level 0 returns the input unchanged).

"No face" rule (so tests can trigger the service's no-face path with a real image): an image whose
pixel standard deviation over all channels is below ``NO_FACE_STD`` (2.0), i.e. a flat, almost
single-colour picture, has no face and raises ``NoFaceFound``. ``multi_face`` does not change the
pixels (there are no faces to choose between), nor do per-effect strengths (``effects=``, accepted
and ignored: there are no separate effects); the server records both per task instead.
"""

import numpy as np

NO_FACE_STD = 2.0


class SimpleEngine:
    """Callable engine: ``SimpleEngine()(rgb, level, multi_face) -> rgb``."""

    name = "simple"

    def __call__(self, rgb, level, multi_face=False, effects=None):
        from smart_beauty_engine import NoFaceFound

        arr = np.asarray(rgb)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
            raise ValueError("expected a uint8 HxWx3 array, got %s %r" % (arr.dtype, arr.shape))
        if float(level) < 0.0 or float(level) > 1.0:
            raise ValueError("level must be in [0, 1]")
        if arr.size == 0 or float(arr.std()) < NO_FACE_STD:
            raise NoFaceFound("flat image (pixel std-dev < %s): no face" % NO_FACE_STD)
        milli = int(round(float(level) * 1000))
        wide = arr.astype(np.int32)
        out = wide + (((255 - wide) * milli + 2000) // 4000)
        return out.astype(np.uint8)

    def __repr__(self):
        return "SimpleEngine()"
