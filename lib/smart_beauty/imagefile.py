"""Image files by their bytes: format sniffing, dimensions from headers, and the service limits.

Pure standard library (GIMP 2.10 has no Pillow): only the headers are read, never the pixels.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno
import math
import os
import struct

from . import errors, protocol

EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "bmp": ".bmp", "webp": ".webp", "gif": ".gif", "tiff": ".tif"}
MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp", "webp": "image/webp",
              "gif": "image/gif", "tiff": "image/tiff"}
# Larger images are refused from their header, before a pixel is decoded (a 400 MP RGB image is
# 1.2 GB in memory before any work): far above any camera, below what would exhaust a laptop.
MAX_PIXELS = 200 * 1000 * 1000


def sniff(head):
    """The format of an image from its first bytes, or None: jpeg, png, bmp, webp, gif, tiff."""
    head = bytes(head[:16])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"GIF87a") or head.startswith(b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\0", b"MM\0*"):
        return "tiff"
    return None


def looks_complete(fmt, tail):
    """Whether the last bytes of a file end the way a whole image of ``fmt`` must end.

    Catches truncated downloads that arrive without a Content-Length to compare against.
    """
    tail = bytes(tail)
    if fmt == "png":
        return tail.endswith(b"IEND\xaeB`\x82")
    if fmt == "jpeg":
        # JPEG ends with the EOI marker; some encoders pad with zeros or a newline after it.
        return b"\xff\xd9" in tail[-32:]
    return True


class ImageInfo(object):
    __slots__ = ("path", "format", "width", "height", "size_bytes")

    def __init__(self, path, fmt, width, height, size_bytes):
        self.path, self.format, self.width, self.height, self.size_bytes = path, fmt, width, height, size_bytes

    def __repr__(self):
        return "ImageInfo(%r, %dx%d, %d bytes)" % (self.format, self.width or 0, self.height or 0,
                                                    self.size_bytes)


def read_info(path):
    """Format, width, height and size of the image file at ``path`` (headers only)."""
    try:
        if os.path.isdir(path):
            raise errors.BadInputError("%s is a folder, not an image file; name the image files in it "
                                       "('smart-beauty retouch' also takes a whole folder)." % path)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except (IOError, OSError) as e:
        raise errors.BadInputError(unreadable(path, e))
    fmt = sniff(head)
    if fmt is None:
        raise errors.BadInputError("%s is not a JPEG, PNG, TIFF, BMP, WebP or GIF image; export it as PNG or "
                                   "JPEG and try again." % os.path.basename(path))
    width, height = _dimensions(fmt, head, path)
    return ImageInfo(path, fmt, width, height, size)


def unreadable(path, exc):
    """One sentence for an input file that cannot be opened."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        return "%s does not exist; check the name and the folder." % path
    if code in (errno.EACCES, errno.EPERM):
        return "%s cannot be read (permission denied); check its permissions (chmod u+r)." % path
    if code == errno.EISDIR:
        return "%s is a folder, not an image file." % path
    return "%s cannot be read (%s); check the file." % (path, getattr(exc, "strerror", None) or exc)


class LimitReport(object):
    """What stands between an image and the service, and what to do about it.

    ``scale`` is the factor (<= 1) that brings both sides under the resolution limit;
    ``reencode`` is True when the format is not accepted or the file is too big as it is.
    """

    def __init__(self, info):
        self.info = info
        self.problems = []
        self.scale = 1.0
        self.reencode = False
        longest = max(info.width, info.height)
        if longest >= protocol.MAX_SIDE_EXCLUSIVE:
            self.scale = fit_scale(info.width, info.height)
            self.problems.append("it is %dx%d px (the service takes less than %dx%d)"
                                 % (info.width, info.height, protocol.MAX_SIDE_EXCLUSIVE,
                                    protocol.MAX_SIDE_EXCLUSIVE))
        if info.format not in protocol.UPLOAD_FORMATS:
            self.reencode = True
            self.problems.append("%s files are not accepted (JPEG, PNG or BMP only)" % info.format.upper())
        if info.size_bytes > protocol.MAX_UPLOAD_BYTES:
            self.reencode = True
            self.problems.append("it is %.1f MB (the service takes at most 5 MB)" % (info.size_bytes / 1048576.0))

    @property
    def ok(self):
        return not self.problems

    def advice(self):
        if self.ok:
            return "The image meets the service limits."
        steps = []
        if self.scale < 1.0:
            steps.append("scale it by %.3f to %dx%d" % ((self.scale,) + scaled_size(
                self.info.width, self.info.height, self.scale)))
        if self.reencode:
            steps.append("save it as PNG, or as high-quality JPEG if the PNG is over 5 MB")
        return "The image cannot be sent as it is: %s; %s." % ("; ".join(self.problems), " and ".join(steps))


def check_limits(path):
    info = read_info(path)
    if info.width * info.height > MAX_PIXELS:
        raise errors.BadInputError("%s is %dx%d px (%.0f MP); Smart Beauty takes at most %d MP: scale it down "
                                   "first (nothing was sent)." % (os.path.basename(path), info.width, info.height,
                                                                 info.width * info.height / 1e6,
                                                                 MAX_PIXELS // 1000000))
    if info.width < 1 or info.height < 1:
        raise errors.BadInputError("%s has no pixels (%dx%d); export it again." % (os.path.basename(path),
                                                                                 info.width, info.height))
    return LimitReport(info)


def fit_scale(width, height, limit=protocol.MAX_SIDE_EXCLUSIVE - 1):
    """The largest factor <= 1 that makes both sides at most ``limit`` pixels."""
    longest = max(width, height)
    if longest <= limit:
        return 1.0
    return limit / float(longest)


def scaled_size(width, height, scale):
    """Integer size after scaling, never 0 and never over the limit because of rounding."""
    w = max(1, int(math.floor(width * scale + 0.5)))
    h = max(1, int(math.floor(height * scale + 0.5)))
    limit = protocol.MAX_SIDE_EXCLUSIVE - 1
    return min(w, limit), min(h, limit)


def _dimensions(fmt, head, path):
    try:
        if fmt == "png":
            if head[12:16] != b"IHDR":
                raise ValueError("no IHDR")
            return struct.unpack(">II", head[16:24])
        if fmt == "bmp":
            header_size = struct.unpack("<I", head[14:18])[0]
            if header_size == 12:
                w, h = struct.unpack("<HH", head[18:22])
            else:
                w, h = struct.unpack("<ii", head[18:26])
            return abs(w), abs(h)
        if fmt == "gif":
            return struct.unpack("<HH", head[6:10])
        if fmt == "webp":
            return _webp_size(head)
        if fmt == "jpeg":
            return _jpeg_size(path)
        if fmt == "tiff":
            return _tiff_size(path)
    except (struct.error, ValueError, IndexError):
        pass
    raise errors.BadInputError("The %s file is damaged (its header cannot be read); export it again and retry."
                               % fmt.upper())


def _webp_size(head):
    chunk = head[12:16]
    if chunk == b"VP8X":
        b = bytearray(head[24:30])
        return 1 + (b[0] | b[1] << 8 | b[2] << 16), 1 + (b[3] | b[4] << 8 | b[5] << 16)
    if chunk == b"VP8L":
        b = bytearray(head[21:25])
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0x0F) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return w, h
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", head[26:30])
        return w & 0x3FFF, h & 0x3FFF
    raise ValueError("unknown WebP chunk")


_SOF_MARKERS = frozenset([0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])


def _jpeg_size(path):
    """Walk the JPEG markers to the first start-of-frame (EXIF blocks can be large: read the file)."""
    with open(path, "rb") as f:
        f.read(2)
        while True:
            byte = f.read(1)
            while byte and byte != b"\xff":
                byte = f.read(1)
            while byte == b"\xff":
                byte = f.read(1)
            if not byte:
                raise ValueError("no frame header")
            marker = ord(byte)
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                continue
            length_bytes = f.read(2)
            if len(length_bytes) < 2:
                raise ValueError("truncated")
            length = struct.unpack(">H", length_bytes)[0]
            if marker in _SOF_MARKERS:
                data = f.read(5)
                h, w = struct.unpack(">HH", data[1:5])
                return w, h
            f.seek(length - 2, 1)


def _tiff_size(path):
    """ImageWidth (256) and ImageLength (257) of the first IFD (classic TIFF; BigTIFF is refused)."""
    with open(path, "rb") as f:
        order = f.read(2)
        endian = "<" if order == b"II" else ">"
        magic, offset = struct.unpack(endian + "HI", f.read(6))
        if magic != 42:
            raise ValueError("not a classic TIFF")
        f.seek(offset)
        count = struct.unpack(endian + "H", f.read(2))[0]
        found = {}
        for _ in range(count):
            tag, kind, _n, value = struct.unpack(endian + "HHI4s", f.read(12))
            if tag in (256, 257):
                found[tag] = struct.unpack(endian + ("H" if kind == 3 else "I"), value[:2 if kind == 3 else 4])[0]
        return found[256], found[257]
