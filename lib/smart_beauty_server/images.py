"""Input checks and image (de)coding for the local server.

AILab docs: JPEG/JPG/BMP/PNG only, at most 5 MB, "less than 4096x4096px".
Our assumptions: 5 MB = 5 * 1024 * 1024 bytes; "less than 4096x4096" = width < 4096 *and*
height < 4096; the format is judged by the magic bytes (never by filename or Content-Type);
the resolution is checked from the header *before* any pixel is decoded, which also bounds the
memory a decompression bomb can take (at most 4095 x 4095 px get decoded); alpha is dropped
(the service returns an opaque RGB PNG here); EXIF orientation is not applied.
"""

from __future__ import annotations

import io
from typing import IO, Any

import numpy as np
from PIL import Image

from smart_beauty import protocol

#: the service's limits have one home, the core's protocol (what the client checks before an upload)
MAX_FILE_BYTES = protocol.MAX_UPLOAD_BYTES

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
)
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP"}


class ImageRejected(Exception):
    """An upload the service would refuse; carries the AILab ``(status, code, message)``."""

    def __init__(self, status, code, message):
        Exception.__init__(self, message)
        self.status, self.code, self.message = status, code, message


def sniff(data):
    """Return ``"jpeg"``, ``"png"``, ``"bmp"`` or None from the leading bytes."""
    for magic, name in _MAGIC:
        if data[: len(magic)] == magic:
            return name
    return None


def decode(data):
    """Validate ``data`` like the service and return an ``(H, W, 3) uint8`` RGB array.

    Order: size (413) -> format (415) -> header (422) -> resolution (413) -> pixels (422).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ImageRejected(413, "FILE_SIZE_EXCEEDS_LIMIT", "file is larger than 5 MB")
    kind = sniff(data)
    if kind is None:
        raise ImageRejected(415, "UNSUPPORTED_FILE_TYPES", "only JPEG, PNG and BMP are supported")
    try:
        img = Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[kind]])
        width, height = img.size
    except Image.DecompressionBombError as exc:  # Pillow's own guard (> 2 x MAX_IMAGE_PIXELS), raised on open
        raise ImageRejected(413, "FILE_RESOLUTION_EXCEEDS_LIMITS", "image header claims too many pixels") from exc
    except Exception as exc:  # any header failure is a decoding failure
        raise ImageRejected(422, "FILE_DECODING_FAILURE", "cannot decode image: %s" % type(exc).__name__) from exc
    if width >= protocol.MAX_SIDE_EXCLUSIVE or height >= protocol.MAX_SIDE_EXCLUSIVE:
        raise ImageRejected(
            413, "FILE_RESOLUTION_EXCEEDS_LIMITS", "%dx%d is not less than 4096x4096" % (width, height)
        )
    if width < 1 or height < 1:
        raise ImageRejected(422, "FILE_DECODING_FAILURE", "empty image")
    try:
        img.load()
        rgb = img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise ImageRejected(413, "FILE_RESOLUTION_EXCEEDS_LIMITS", "decompression bomb") from exc
    except Exception as exc:  # truncated or corrupt pixel data
        raise ImageRejected(422, "FILE_DECODING_FAILURE", "cannot decode image: %s" % type(exc).__name__) from exc
    return np.asarray(rgb, dtype=np.uint8).copy()


def save_png(rgb: np.ndarray, f: IO[bytes]) -> None:
    """Write an ``(H, W, 3) uint8`` array to the binary file ``f`` as an opaque RGB PNG."""
    _save(rgb, f, "PNG", compress_level=1)


def save_bmp(rgb: np.ndarray, f: IO[bytes]) -> None:
    """Write an ``(H, W, 3) uint8`` array to the binary file ``f`` as an uncompressed 24-bit BMP: ~1 ms where a
    PNG takes ~17 at 0.26 MP, for a result that never leaves this computer (the command's in-process engine)."""
    _save(rgb, f, "BMP")


def _save(rgb: np.ndarray, f: IO[bytes], fmt: str, **params: Any) -> None:
    """``rgb`` (an ``(H, W, 3) uint8`` array) in Pillow's format ``fmt``, saved with ``params``, into ``f``: a
    file of the disk's takes the pixels straight from Pillow's encoder, never all of them as bytes at once."""
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB").save(f, fmt, **params)
