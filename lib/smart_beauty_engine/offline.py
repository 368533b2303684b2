"""The offline Smart Beauty engine: mediapipe's face models run by OpenCV's DNN module + OpenCV retouching.

Needs OpenCV (contrib, headless) and numpy only; the two model files ship in ``models/``; no network.

Usage::

    from smart_beauty_engine.offline import OfflineEngine, available
    ok, reason = available()          # (False, "the local engine is not installed: ...") if missing
    out = OfflineEngine()(rgb, level=0.7, multi_face=False)

Per face, on a box around it only (cost follows face area, not photo size):
landmarks -> masks -> smoothing -> whitening -> lip tint -> slimming + eye enlarging (one remap).
"""

import sys
import threading
import time
from contextlib import contextmanager

import numpy as np

INSTALL_HINT = "run %s --with-engine" % ("py install.py" if sys.platform.startswith("win") else "./install.sh")
#: the oldest OpenCV whose DNN module reads the TFLite models
MIN_OPENCV = (4, 8)
_available = None


def available():
    """``(True, description)`` if the local engine can run here, else ``(False, reason sentence)``.

    Imports cv2 and checks the model files' sha256 (a few tenths of a second); the answer is cached.
    """
    global _available
    if _available is None:
        _available = _probe()
    return _available


def _probe():
    try:
        import cv2
    except ImportError as e:
        return False, "The local engine is not installed: OpenCV is missing (%s); %s." % (e, INSTALL_HINT)
    if not hasattr(cv2, "ximgproc"):
        return False, ("The local engine is not installed: OpenCV lacks the contrib modules "
                       "(need opencv-contrib-python-headless); %s." % INSTALL_HINT)
    version = tuple(int(p) for p in cv2.__version__.split(".")[:2] if p.isdigit())
    if version < MIN_OPENCV or not hasattr(cv2.dnn, "readNetFromTFLite"):
        return False, ("The local engine is not installed: OpenCV %s is too old (need %d.%d or newer); %s."
                       % (cv2.__version__, MIN_OPENCV[0], MIN_OPENCV[1], INSTALL_HINT))
    try:
        from .faces import MODEL_SHA256, ModelError, model_path

        for name in MODEL_SHA256:
            model_path(name)
    except ModelError as e:
        return False, "The local engine cannot start: %s." % e
    return True, "The local engine is installed (OpenCV %s)." % cv2.__version__


def _no_face_error():
    from . import NoFaceFound  # defined in the package __init__ (the local server maps it to a 422)

    return NoFaceFound("no face found in the image")


class OfflineEngine:
    """Callable engine: ``engine(rgb, level, multi_face) -> rgb`` (numpy uint8 HxWx3, same shape).

    * ``multi_face=False`` retouches only the largest face; no face raises ``NoFaceFound``.
    * ``level`` in [0, 1]; 0 returns an unchanged copy; every effect grows smoothly with it.
    * Only pixels inside each face's ROI (see :meth:`face_regions`) can change.

    Pass a dict as ``timings`` to get seconds per stage added to it (used by the benchmark).
    Instances are reusable and thread-safe (network calls are serialised).
    """

    def __init__(self, preload=True):
        """``preload``: load the face networks on a background thread now (about 0.1 s), so a first
        retouch does not wait for them when the caller has other work first (decoding, uploading)."""
        self._finder = None
        self._loading = threading.Lock()
        if preload:
            # not a daemon (said outright: a thread made by a daemon thread, such as the command's head
            # start, would be one too): a process that ends while OpenCV is still loading would abort in
            # C++ ("terminate called without an active exception"); Python waits for it (~0.1 s) instead
            threading.Thread(target=self._faces, name="smart-beauty-engine-load", daemon=False).start()

    def _faces(self):
        with self._loading:
            if self._finder is None:
                # imports the first retouch would otherwise pay (~15 ms): the effect modules, and numpy.ma,
                # which np.median imports on first use
                import numpy.ma  # noqa: F401

                from . import masks, retouch, warp  # noqa: F401
                from .faces import FaceFinder

                finder = FaceFinder()
                finder.warm_up()
                self._finder = finder
            return self._finder

    def close(self):
        """Release the face networks (the engine reloads them if called again)."""
        with self._loading:
            if self._finder is not None:
                self._finder.close()
                self._finder = None

    def find_faces(self, rgb, timings=None, every_face=True):
        """Faces in ``rgb``, largest first (:class:`~.faces.Face` with landmarks).

        ``every_face=False`` allows skipping the small-face search when the largest face is all that is wanted.
        """
        return self._faces().find(rgb, every_face, lambda stage: _timed(timings, stage))

    def face_regions(self, rgb, multi_face=True):
        """ROIs ``(x0, y0, x1, y1)`` the engine would touch: all faces, or only the largest one."""
        from .masks import face_roi

        faces = self.find_faces(rgb, every_face=multi_face)
        if not multi_face:
            faces = faces[:1]
        return [face_roi(f, rgb.shape) for f in faces]

    def __call__(self, rgb, level, multi_face=False, timings=None, effects=None):
        """``effects`` (:class:`smart_beauty.effects.Effects`): a strength per effect; without it,
        every effect at ``level`` (``Effects.from_level``)."""
        from smart_beauty.effects import EFFECTS, Effects

        rgb = _check_image(rgb)
        level = float(level)
        if not 0.0 <= level <= 1.0:  # also rejects NaN
            raise ValueError("level must be within [0, 1], got %r" % level)
        effects = Effects.from_level(level) if effects is None else effects
        faces = self.find_faces(rgb, timings, every_face=multi_face)
        if not faces:
            raise _no_face_error()
        if not any(getattr(effects, name) for name in EFFECTS):
            return rgb.copy()
        if not multi_face:
            faces = faces[:1]
        out = rgb.copy()
        for face in faces:
            retouch_face(out, face, effects, timings)
        return out


def retouch_face(img, face, effects, timings=None):
    """Retouch one face of ``img`` (uint8 HxWx3) in place, inside the face's ROI only, with the
    strengths ``effects`` (:class:`smart_beauty.effects.Effects`).

    Low-frequency work (masks, smoothing base, whitening, lips) on a working copy where the face is
    ~224 px wide; its change is upscaled once and added to the full-resolution ROI; then the warp
    (only where it moves anything).
    """
    from . import masks, retouch
    from .warp import warp_face

    x0, y0, x1, y1 = masks.face_roi(face, img.shape)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return
    crop = img[y0:y1, x0:x1]
    with _timed(timings, "masks"):
        work = masks.build(crop, face, (x0, y0), img.shape)
    with _timed(timings, "smoothing"):
        change = retouch.smoothing_change(work, face.width, effects.smooth, effects.texture)
    with _timed(timings, "whitening"):
        change += retouch.whitening_change(work, work.small + change, effects.tone)
    with _timed(timings, "lips"):
        change += retouch.lips_change(work, work.small + change, effects.lips)
    with _timed(timings, "apply"):
        result = retouch.apply_change(crop, change)
    with _timed(timings, "warp"):
        dest = img[y0:y1, x0:x1]
        dest[...] = result
        warp_face(result, face, (x0, y0), effects.slim, effects.eyes, out=dest)


def _check_image(rgb):
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected a uint8 HxWx3 RGB array, got %s %s" % (rgb.dtype, rgb.shape))
    return np.ascontiguousarray(rgb)


@contextmanager
def _timed(timings, stage):
    if timings is None:
        yield
        return
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - t
