"""The offline Smart Beauty engine: portrait retouching on this computer, no account, no network.

Contract (docs/design.md)::

    engine(rgb, level, multi_face) -> numpy.ndarray

``rgb`` is a ``uint8`` array of shape ``(H, W, 3)``; ``level`` a float in [0, 1]; ``multi_face`` a bool
(True = retouch every face, False = only the largest). The result has the same shape and dtype. An
engine that finds no face raises :class:`NoFaceFound`; the local server turns that into the service's
``422 ERROR_NO_FACE_IN_FILE``.

Install extra ``engine`` (OpenCV contrib headless + numpy); the face models ship in ``models/``.
This ``__init__`` imports nothing heavy: the engine itself is :mod:`smart_beauty_engine.offline`.
"""


class NoFaceFound(Exception):
    """The engine found no face to retouch (maps to AILab 422 ``ERROR_NO_FACE_IN_FILE``)."""


__all__ = ["NoFaceFound"]
