"""Pixel work outside GIMP (Python 3, Pillow + numpy): fitting an image to the service limits and
bringing a retouched reduced copy back to full size without losing the original's detail.

Recomposition: the service only *changes* some pixels (skin, face shape); instead of upscaling its
reduced result, we upscale the *change* it made (result - what we sent) and add it to the
full-resolution original. Untouched regions keep the original pixels exactly; retouched regions get
the retouch at the reduced resolution plus the original's fine detail.
"""
from __future__ import annotations

import io
import os
import re
import struct
import tempfile
import warnings
import zlib
from typing import TYPE_CHECKING

from PIL import Image, ImageCms, ImageFilter, ImageOps, PngImagePlugin, TiffImagePlugin, TiffTags

from smart_beauty import changemask, errors, imagefile, protocol

if TYPE_CHECKING:
    import numpy as np
else:
    class _Numpy:
        """numpy, imported when first used: a file sent as it is (the usual JPEG) comes back through
        Pillow alone, and importing numpy costs the command about 0.1 s (issue #12, whole-process speed)."""

        def __getattr__(self, name):
            import numpy

            globals()["np"] = numpy
            return getattr(numpy, name)

    np = _Numpy()

Image.MAX_IMAGE_PIXELS = 200_000_000  # 200 MP: photographers' files, still refusing absurd bombs
JPEG_QUALITIES = (95, 92, 88, 85, 80)


class Prepared:
    """What was uploaded and how to map the result back.

    ``path``: the file to upload (the original itself when it already meets the limits);
    ``scale``: factor applied (1.0 = full size); ``encoding``: "original", "png" or "jpeg qNN 4:4:4";
    ``owned``: whether ``path`` is a temp file to delete.
    """

    def __init__(self, path, scale, encoding, size, full_size, owned):
        self.path, self.scale, self.encoding = path, scale, encoding
        self.size, self.full_size, self.owned = size, full_size, owned

    def cleanup(self):
        if self.owned and os.path.exists(self.path):
            os.remove(self.path)


def open_rgb(path):
    """Open an image as (RGB uint8 array, alpha uint8 array or None), honouring EXIF rotation."""
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            alpha = None
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                alpha = np.asarray(rgba)[:, :, 3].copy()
                rgb = np.asarray(rgba.convert("RGB"))
            else:
                rgb = np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise errors.BadInputError("%s cannot be read as an image (%s); check the file."
                                   % (os.path.basename(path), e.__class__.__name__)) from e
    return rgb, alpha


def open_pil_rgb(path):
    """Open an image as (PIL RGB image, PIL "L" alpha or None), honouring EXIF rotation."""
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            alpha = None
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                alpha = im.getchannel("A")
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            del im
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise errors.BadInputError("%s cannot be read as an image (%s); check the file."
                                   % (os.path.basename(path), e.__class__.__name__)) from e
    return rgb, alpha


def prepare_upload(path, workdir=None):
    """The :class:`Prepared` upload for the file at ``path``: what the CLI sends for it
    (:func:`prepare_original` of its :class:`Original`)."""
    return prepare_original(Original(path, pixels=False), workdir)


def encode_to_fit(image, limit=protocol.MAX_UPLOAD_BYTES):
    """Encode an RGB PIL image as PNG if that fits ``limit``, else as the best JPEG that fits."""
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=False, compress_level=6)
    if buf.tell() <= limit:
        return buf.getvalue(), "png"
    for quality in JPEG_QUALITIES:
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality, subsampling=0)
        if buf.tell() <= limit:
            return buf.getvalue(), "jpeg q%d 4:4:4" % quality
    raise errors.BadInputError("The image cannot be made small enough for the service (5 MB) even as JPEG; "
                               "crop or scale it down and try again.")


def recompose(original, sent, result, strip_rows=512):
    """Full-size retouch from the full-size ``original`` and the reduced ``sent``/``result`` pair.

    All three are RGB uint8 arrays; ``sent`` and ``result`` have the same (reduced) size. The change
    ``result - sent`` is upscaled (bicubic) and added to ``original``, one strip of rows at a time so
    that memory stays near the size of the original itself.
    """
    if result.shape != sent.shape:
        result = np.asarray(Image.fromarray(result).resize((sent.shape[1], sent.shape[0]), Image.Resampling.LANCZOS))
    if sent.shape == original.shape:
        return result.copy()
    height, width = original.shape[:2]
    diff = result.astype(np.float32) - sent.astype(np.float32)
    planes = [Image.fromarray(np.ascontiguousarray(diff[:, :, c]), mode="F") for c in range(3)]
    out = np.empty_like(original)
    sy = diff.shape[0] / float(height)
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        # The source box for these rows, in reduced-image coordinates (PIL resamples the box).
        box = (0.0, top * sy, float(diff.shape[1]), bottom * sy)
        strip = np.empty((bottom - top, width, 3), np.float32)
        for c, plane in enumerate(planes):
            strip[:, :, c] = np.asarray(plane.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box))
        strip += original[top:bottom]
        np.clip(strip, 0, 255, out=strip)
        out[top:bottom] = (strip + 0.5).astype(np.uint8)
    return out


def recompose_to_png(src_path, sent_path, result_path, dest, strip_rows=256):
    """:func:`recompose` for files, with little memory: the full-size original is the only full-size
    image held (as PIL stores it); the change is upscaled from the reduced ``sent``/``result`` pair
    one strip of rows at a time, added in place, and the image is written as PNG to ``dest``.

    up(result) - up(sent) is computed on the two 8-bit upscales (bicubic is linear, so it equals
    up(result - sent) up to rounding): where the service changed nothing they are identical and the
    original pixels come back exactly. Peak memory ~ 1.4x the original's RGB size at 48 MP.
    """
    full, alpha = open_pil_rgb(src_path)
    sent, _ = open_pil_rgb(sent_path)
    result, _ = open_pil_rgb(result_path)
    if result.size != sent.size:
        result = result.resize(sent.size, Image.Resampling.LANCZOS)
    width, height = full.size
    sy = sent.size[1] / float(height)
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        box = (0.0, top * sy, float(sent.size[0]), bottom * sy)
        strip = np.asarray(full.crop((0, top, width, bottom)), dtype=np.int16)
        strip += np.asarray(result.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box), dtype=np.int16)
        strip -= np.asarray(sent.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box), dtype=np.int16)
        np.clip(strip, 0, 255, out=strip)
        full.paste(Image.fromarray(strip.astype(np.uint8)), (0, top))
    del sent, result
    if alpha is not None:
        full.putalpha(alpha)
    full.save(dest, "PNG")


def _png_image(rgb, alpha):
    image = Image.fromarray(rgb)
    if alpha is not None:
        image = image.convert("RGBA")
        image.putalpha(Image.fromarray(alpha))
    return image


def save_png(rgb, alpha, path):
    """Write RGB (+ alpha) to ``path`` as PNG (the batch machinery renames it into place)."""
    _png_image(rgb, alpha).save(path, "PNG")


# -- photographers' files: colour profile, bit depth, metadata, output format ----------------------------

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_ICC = SRGB_PROFILE.tobytes()
INTENT = ImageCms.Intent.RELATIVE_COLORIMETRIC   # in-gamut colours exactly as they are
OUTPUT_FORMATS = ("png", "jpeg", "tiff", "same")
EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "tiff": ".tif"}
# Tags of a TIFF's first directory that describe the file itself (size, samples, compression, strips,
# tiles, resolution) or are kept apart (XMP 700, ICC 34675): never copied as EXIF.
_TIFF_LAYOUT = {254, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 280, 281, 282, 283, 284, 296, 317, 320, 332,
                322, 323, 324, 325, 338, 339, 530, 531, 532, 700, 34675}
#: zlib level of written PNGs: 3 is 2.5x faster than 6 for files ~4 % larger (G'MIC writes ~level 1 sizes)
PNG_LEVEL = 3
_SAME = {"JPEG": "jpeg", "PNG": "png", "TIFF": "tiff", "MPO": "jpeg"}   # anything else: PNG
_XMP_ORIENTATION = re.compile(rb'(tiff:Orientation(?:="|>))\d')


def output_format(choice: str, source_format: str | None) -> str:
    """png, jpeg or tiff for ``--format`` ``choice`` (``same``: the input's own, PNG for others)."""
    if choice == "same":
        return _SAME.get(source_format or "", "png")
    return choice


class Original:
    """An input file as its author made it: pixels in its own colour space and bit depth (EXIF
    rotation applied once), its ICC profile, EXIF and XMP (orientation reset), its format.

    ``image``: the colour channels as a PIL image (mode RGB, L, CMYK, or I;16 for 16-bit grey);
    16-bit RGB, which Pillow cannot hold, is ``deep`` instead (H x W x 3 uint16, read by OpenCV) with
    ``deep_alpha`` (H x W uint16 or None), and ``image`` is None;
    ``colour``: "RGB", "L" or "CMYK"; ``bits``: 8 or 16; ``alpha``: a PIL "L" image or None;
    ``notes``: what could not be kept, one phrase each (e.g. 16-bit CMYK read as 8-bit).
    """

    def __init__(self, path: str, strip_metadata: bool = False, pixels: bool = True):
        """``pixels=False``: read the headers only (format, profile, depth, metadata); ``pixels`` is
        then None -- enough to decide whether the file itself can be sent."""
        self.path = path
        self.strip_metadata = strip_metadata
        self.notes: list[str] = []
        name = os.path.basename(path)
        imagefile.check_limits(path)   # a huge image is refused from its header, before any decoding
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    frames = getattr(im, "n_frames", 1)
                    if frames > 1:
                        raise errors.BadInputError(
                            "%s has %d frames (an animation or a multi-page file); Smart Beauty retouches one "
                            "picture: export the frame you want as PNG or JPEG and retouch that." % (name, frames))
                    self.format = im.format
                    self.icc = im.info.get("icc_profile") or None
                    self.xmp = _xmp_of(im)
                    deep = _is_16bit_colour(im)
                    self.colour, self.bits, self.has_alpha = _work_mode(im)
                    rgb16 = deep and self.colour == "RGB"
                    if rgb16:
                        self.bits = 16     # read by OpenCV below: Pillow has no 16-bit RGB mode
                    elif deep:
                        self.notes.append("16-bit CMYK was read as 8-bit")
                    if pixels and not rgb16:
                        im.load()
                    exif = im.getexif()
                    for pointer in (0x8769, 0x8825):   # read the Exif/GPS sub-IFDs while the file is open
                        if pointer in exif:
                            exif.get_ifd(pointer)
                    orientation = exif.get(0x0112, 1)
                    self.rotated = rotated = orientation not in (1, None)
                    image = None
                    if pixels and rgb16:
                        self.dpi = im.info.get("dpi")
                    elif pixels:
                        image = ImageOps.exif_transpose(im) if rotated else im   # loaded: stays valid
                    else:
                        self.dpi = im.info.get("dpi")
        except errors.SmartBeautyError:
            raise
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise errors.BadInputError("%s cannot be read as an image (%s); check the file." % (
                name, e.__class__.__name__)) from e
        if self.format == "TIFF":   # a TIFF's first directory also describes its own layout: not metadata
            for tag in [t for t in exif if t in _TIFF_LAYOUT]:
                del exif[tag]
        if 0x0112 in exif or rotated:
            exif[0x0112] = 1     # applied once, here: no viewer must turn it again
        if self.xmp and rotated:
            self.xmp = _XMP_ORIENTATION.sub(rb"\g<1>1", self.xmp)
        self.exif = exif.tobytes() if len(exif) else None
        if strip_metadata:
            self.exif = self.xmp = None
        self.image = self.alpha = self.deep = self.deep_alpha = None
        if image is not None:
            self.dpi = image.info.get("dpi")
            self._split(image)
            del image
        elif pixels and rgb16:
            self.deep, self.deep_alpha = read_rgb16(path)
            if rotated and self.format != "TIFF":   # OpenCV's TIFF decoder has already turned a TIFF
                self.deep = _oriented(self.deep, orientation)
                self.deep_alpha = None if self.deep_alpha is None else _oriented(self.deep_alpha, orientation)
        try:
            self.profile = ImageCms.ImageCmsProfile(io.BytesIO(self.icc)) if self.icc else None
        except (OSError, ImageCms.PyCMSError):
            self.notes.append("its colour profile is damaged and was ignored")
            self.icc = self.profile = None
        if self.profile is not None and self.colour != _profile_space(self.profile):
            self.notes.append("its colour profile does not fit its pixels and was ignored")
            self.icc = self.profile = None

    def _split(self, image):
        mode = image.mode
        if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
            if mode != "I;16":
                image = Image.fromarray(np.clip(np.asarray(image), 0, 65535).astype(np.uint16))
            self.colour, self.bits, self.image = "L", 16, image
            return
        if mode in ("P", "PA"):
            image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
        elif mode in ("1", "F"):
            image = image.convert("L")
        elif mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
            image = image.convert("RGBA" if "A" in mode or "a" in mode else "RGB")
        if image.mode in ("RGBA", "LA"):
            self.alpha = image.getchannel("A")
            image = image.convert(image.mode[:-1])
        self.colour, self.bits, self.image = image.mode, 8, image

    @property
    def pixels(self):
        """The colour channels as an H x W x C array (uint8, or uint16 for 16 bits); None if not loaded."""
        if self.deep is not None:
            return self.deep
        if self.image is None:
            return None
        data = np.asarray(self.image)
        return data.reshape(data.shape[0], data.shape[1], -1)

    def load(self) -> Original:
        """This original with its pixels (itself when they are loaded)."""
        if self.image is not None or self.deep is not None:
            return self
        return Original(self.path, strip_metadata=self.strip_metadata)

    @property
    def size(self) -> tuple[int, int]:
        if self.deep is not None:
            return self.deep.shape[1], self.deep.shape[0]
        if self.image is None:
            raise ValueError("%s: only the headers were read (pixels=False)" % self.path)
        return self.image.size

    def _image8(self):
        """The colour channels as an 8-bit PIL image in the original colour space."""
        if self.deep is not None:
            return Image.fromarray(to8(self.deep), "RGB")
        if self.bits == 16:
            data = np.asarray(self.image).astype(np.uint32)
            return Image.fromarray(((data + 128) // 257).astype(np.uint8), "L")
        return self.image

    def srgb8(self):
        """What the service is given: 8-bit sRGB, converted with the embedded profile."""
        image = self._image8()
        if self.profile is not None:
            return ImageCms.profileToProfile(image, self.profile, SRGB_PROFILE, renderingIntent=INTENT,
                                             outputMode="RGB")
        return image.convert("RGB")

    def from_srgb(self, rgb):
        """An 8-bit sRGB image (the service's) in this original's colour space (8-bit)."""
        if self.profile is not None:
            return ImageCms.profileToProfile(rgb, SRGB_PROFILE, self.profile, renderingIntent=INTENT,
                                             outputMode=self.colour)
        return rgb if rgb.mode == self.colour else rgb.convert(self.colour)

    @property
    def needs_conversion(self) -> bool:
        """Whether the file itself is not what the service would see (profile, depth, CMYK...).
        An sRGB profile (what most cameras embed) is what the service assumes anyway."""
        srgb = self.profile is not None and self.colour == "RGB" and ImageCms.getProfileDescription(
            self.profile).strip().lower().startswith("srgb")
        return (self.profile is not None and not srgb) or self.bits != 8 or self.colour == "CMYK"


def to8(data, rows=256):
    """16-bit samples as 8-bit (rounded: 65535 -> 255, 257 * v -> v), a few rows at a time so that
    the wide intermediate stays small whatever the image size."""
    out = np.empty(data.shape, np.uint8)
    for top in range(0, data.shape[0], rows):
        out[top:top + rows] = (data[top:top + rows].astype(np.uint32) + 128) // 257
    return out


def _cv2():
    try:
        import cv2
    except ImportError as e:
        from smart_beauty.localserver import installer_command
        raise errors.BadInputError("16-bit colour files need OpenCV, which is missing; run '%s' in the Smart "
                                   "Beauty folder (it installs the command with its cli extra)."
                                   % installer_command()) from e
    # OpenCV's own "[ WARN:0@0.9] global grfmt_png.cpp ..." lines would land in the user's terminal
    # beside our one sentence about the same file: keep only its errors.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    return cv2


def read_rgb16(path: str):
    """(H x W x 3 uint16 RGB, H x W uint16 alpha or None) of a 16-bit RGB(A) PNG or TIFF, read by
    OpenCV (Pillow has no 16-bit RGB mode). A PNG's EXIF orientation is not applied here; a TIFF's
    Orientation tag is: OpenCV's TIFF decoder applies it itself, whatever the flags."""
    cv2 = _cv2()
    try:
        data = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)   # fromfile: any file name
    except (OSError, cv2.error) as e:
        raise errors.BadInputError("%s cannot be read as an image (%s); check the file."
                                   % (os.path.basename(path), e.__class__.__name__)) from e
    if data is None or data.dtype != np.uint16 or data.ndim != 3 or data.shape[2] not in (3, 4):
        raise errors.BadInputError("%s cannot be read as a 16-bit colour image; check the file."
                                   % os.path.basename(path))
    if data.shape[2] == 3:
        return cv2.cvtColor(data, cv2.COLOR_BGR2RGB, dst=data), None     # in place: no second copy
    return np.ascontiguousarray(data[:, :, 2::-1]), np.ascontiguousarray(data[:, :, 3])


_ORIENT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
           5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
           8: lambda a: np.rot90(a, 1)}


def _oriented(data, orientation):
    """``data`` (H x W [x C]) turned upright for EXIF ``orientation``, as ImageOps.exif_transpose does."""
    turn = _ORIENT.get(orientation)
    return data if turn is None else np.ascontiguousarray(turn(data))


def _work_mode(im) -> tuple[str, int, bool]:
    """(colour, bits, has alpha) that :meth:`Original._split` will give, from the header alone."""
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        return "L", 16, False
    alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info)
    if mode in ("L", "LA", "1", "F", "La"):
        return "L", 8, alpha
    if mode == "CMYK":
        return "CMYK", 8, False
    return "RGB", 8, alpha


def _is_16bit_colour(im) -> bool:
    """16 bits per colour sample in the file, which Pillow reads as 8 (it has no 16-bit RGB mode)."""
    if im.mode not in ("RGB", "RGBA", "CMYK"):
        return False
    if im.format == "PNG":
        im.fp.seek(24)
        return im.fp.read(1) == b"\x10"     # IHDR bit depth
    if im.format == "TIFF":
        bits = im.tag_v2.get(258) or (8,)
        return max(bits if isinstance(bits, tuple) else (bits,)) > 8
    return False


def _profile_space(profile) -> str:
    space = profile.profile.xcolor_space.strip()
    return {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(space, space)


def _xmp_of(im) -> bytes | None:
    xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    if xmp is None and im.format == "TIFF":
        xmp = im.tag_v2.get(700)
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return bytes(xmp) if xmp else None


def prepare_original(original: Original, workdir=None) -> Prepared:
    """The upload for an :class:`Original`: the file itself when the service would see it exactly as
    it is (8-bit, no profile, no rotation, a format and size the service takes), else its sRGB 8-bit
    rendering, reduced to fit the limits when needed."""
    path = original.path
    report = imagefile.check_limits(path)
    if (report.ok and not original.rotated and report.info.format in protocol.UPLOAD_FORMATS
            and not original.needs_conversion):
        full = (report.info.width, report.info.height)
        return Prepared(path, 1.0, "original", full, full, owned=False)
    original = original.load()
    full = original.size
    image = original.srgb8()
    scale = imagefile.fit_scale(*full)
    size = imagefile.scaled_size(full[0], full[1], scale) if scale < 1.0 else full
    if size != full:
        image = image.resize(size, Image.Resampling.LANCZOS)
    data, encoding = encode_to_fit(image)
    del image
    fd, tmp = tempfile.mkstemp(prefix="smart-beauty-upload-", suffix=".png" if encoding == "png" else ".jpg",
                               dir=workdir)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Prepared(tmp, size[0] / float(full[0]), encoding, size, full, owned=True)


def write_retouched(original: Original, sent_path: str, result_path: str, out, fmt: str,
                    strip_rows: int = 256, changed: list | None = None) -> str:
    """Write the retouched ``original`` to the file object ``out`` as ``fmt`` (png, jpeg, tiff);
    returns what was written, e.g. "png 16-bit, ICC profile kept". ``changed`` (``--mask``): a list
    that gets the H x W bool array of the pixels whose stored value moved by more than
    ``changemask.CHANGED_ABOVE`` levels (of 255) in a channel, before the file is encoded.

    The *change* the service made (its result minus what it was sent, both brought into the
    original's colour space with its profile) is upscaled strip by strip and added to the original
    pixels at their own bit depth: where the service changed nothing the original comes back
    exactly, whatever its profile, depth or size.
    """
    with Image.open(result_path) as f:
        result = f.convert("RGB")
    if (sent_path == original.path and original.colour == "RGB" and original.bits == 8 and original.profile is None
            and not original.has_alpha and not original.rotated and result.size == _header_size(original.path)):
        # The file itself was sent and the service saw exactly its pixels: original + (result - sent)
        # is the result itself, so the original need not be decoded again.
        if changed is not None:
            with Image.open(sent_path) as f:
                sent8 = np.asarray(f.convert("RGB"), dtype=np.int16)
            changed.append(np.abs(np.asarray(result, dtype=np.int16) - sent8).max(axis=-1) > changemask.CHANGED_ABOVE)
            del sent8
        return save_as(original, result, out, fmt)
    original = original.load()
    with Image.open(sent_path) as f:
        sent = f.convert("RGB")
    if result.size != sent.size:
        result = result.resize(sent.size, Image.Resampling.LANCZOS)
    sent_o, result_o = original.from_srgb(sent), original.from_srgb(result)
    del sent, result
    image = original.image    # changed in place, strip by strip: the only full-size copy held
    deep = original.deep      # (16-bit RGB: the array is changed in place instead)
    width, height = original.size
    gain, top_value = (257, 65535) if original.bits == 16 else (1, 255)
    dtype = np.uint16 if original.bits == 16 else np.uint8
    same_size = sent_o.size == (width, height)
    sy = sent_o.size[1] / float(height)
    work = np.int32 if original.bits == 16 else np.int16   # wide enough, and half the memory for 8 bits
    moved = np.zeros((height, width), bool) if changed is not None else None
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        if same_size:
            up_r = np.asarray(result_o.crop((0, top, width, bottom)), dtype=work)
            up_s = np.asarray(sent_o.crop((0, top, width, bottom)), dtype=work)
        else:
            box = (0.0, top * sy, float(sent_o.size[0]), bottom * sy)
            up_r = np.asarray(result_o.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box), dtype=work)
            up_s = np.asarray(sent_o.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box), dtype=work)
        np.subtract(up_r, up_s, out=up_r)        # the change, in place: no full-strip temporaries
        del up_s
        if gain != 1:
            np.multiply(up_r, gain, out=up_r)
        if deep is not None:
            strip = deep[top:bottom].astype(work)
        else:
            if image is None:                       # 8-bit and 16-bit grey: Pillow holds the pixels
                raise ValueError("no pixels to write")
            strip = np.asarray(image.crop((0, top, width, bottom)), dtype=work)
        before = strip.copy() if moved is not None else None
        strip += up_r.reshape(strip.shape)
        del up_r
        np.clip(strip, 0, top_value, out=strip)
        if moved is not None:
            step = np.abs(strip - before)
            moved[top:bottom] = (step.max(axis=-1) if step.ndim == 3 else step) > changemask.CHANGED_ABOVE * gain
            del step, before
        strip = strip.astype(dtype)
        if deep is not None:
            deep[top:bottom] = strip
        else:
            if image is None:
                raise ValueError("no pixels to write")
            image.paste(Image.fromarray(strip) if original.bits == 16 or strip.ndim == 2
                        else Image.fromarray(strip, original.colour), (0, top))
    del sent_o, result_o
    if changed is not None:
        changed.append(moved)
    if deep is not None:
        return save_rgb16(original, out, fmt)
    return save_as(original, image, out, fmt)


def change_mask(changed) -> Image.Image:
    """The ``--mask`` picture (8-bit gray) for the H x W bool array of changed pixels, by the rule of
    :mod:`smart_beauty.changemask`: 255 on the changed pixels; around them grown by ``grow`` (a square
    here, GIMP's grow is round) and feathered by ``feather`` (a Gaussian of standard deviation
    feather / 3.5, as GIMP's selection feather); 0 beyond."""
    height, width = changed.shape
    grow, feather = changemask.radii(width, height)
    square = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    grown = _cv2().dilate(changed.astype(np.uint8), square)      # nothing grows in from beyond the edges
    soft = Image.fromarray(grown * 255, "L").filter(ImageFilter.GaussianBlur(feather / 3.5))
    del grown
    mask = np.array(soft)
    mask[changed] = 255
    return Image.fromarray(mask, "L")


def _header_size(path: str) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def save_as(original: Original, image, out, fmt: str) -> str:
    """Encode ``image`` (PIL, the original's colour space and depth) plus the original's alpha,
    profile and metadata as ``fmt``; returns the description for the report."""
    colour, bits, alpha, icc = original.colour, original.bits, original.alpha, original.icc
    notes = list(original.notes)
    if original.deep_alpha is not None:    # 16-bit RGBA written here only as JPEG: the alpha is dropped
        alpha = Image.fromarray(to8(original.deep_alpha), "L")
    if bits == 16 and fmt == "jpeg":
        image = Image.fromarray(to8(original.deep), "RGB") if original.deep is not None else Image.fromarray(
            to8(np.asarray(image)), "L")
        bits = 8
        notes.append("reduced from 16 to 8 bits (JPEG has no 16-bit)")
    if fmt == "png" and colour == "CMYK":   # PNG has no CMYK: sRGB, converted with the profile
        if original.profile is not None:
            image = ImageCms.profileToProfile(image, original.profile, SRGB_PROFILE, renderingIntent=INTENT,
                                              outputMode="RGB")
            icc = SRGB_ICC
        else:
            image = image.convert("RGB")
        notes.append("CMYK converted to sRGB (PNG has no CMYK)")
    if alpha is not None:
        if fmt == "jpeg":
            notes.append("transparency dropped (JPEG has none)")
        else:
            image = image.convert({"L": "LA", "RGB": "RGBA"}.get(image.mode, image.mode))
            if image.mode in ("LA", "RGBA"):
                image.putalpha(alpha)
    params = {}
    if icc:
        params["icc_profile"] = icc
    if original.exif:
        params["exif"] = original.exif
    if original.dpi:
        params["dpi"] = original.dpi
    if fmt == "png":
        info = PngImagePlugin.PngInfo()
        if original.xmp:
            info.add_itxt("XML:com.adobe.xmp", original.xmp.decode("utf-8", "replace"))
        image.save(out, "PNG", pnginfo=info, compress_level=PNG_LEVEL, **params)
    elif fmt == "jpeg":
        if original.xmp:
            params["xmp"] = original.xmp
        image.save(out, "JPEG", quality=95, subsampling=0, **params)
    elif fmt == "tiff":
        # Pillow's TIFF writer fails on EXIF with an Exif/GPS sub-IFD ("Error setting from dictionary":
        # every camera JPEG has one) and drops them without libtiff: it writes the samples, and the
        # metadata is laid out as for 16 bits.
        samples = io.BytesIO()
        image.save(samples, "TIFF", compression="tiff_adobe_deflate")
        out.write(_tiff_with_metadata(samples.getvalue(), original, alpha=image.mode in ("LA", "RGBA"), icc=icc))
    else:
        raise ValueError("unknown output format %r" % fmt)
    words = ["%s %d-bit%s" % (fmt, bits, " CMYK" if image.mode == "CMYK" else "")]
    if icc:
        words.append("sRGB profile" if icc == SRGB_ICC else "colour profile kept")
    if original.exif or original.xmp:
        words.append("metadata kept")
    return ", ".join(words + notes)


# -- 16-bit RGB files: OpenCV encodes the samples, the metadata is added as Pillow would -------------



def save_rgb16(original: Original, out, fmt: str) -> str:
    """Write 16-bit RGB(A) ``original.deep`` (+ ``deep_alpha``) to the file object ``out`` as ``fmt``
    with the original's profile, EXIF, XMP and resolution; JPEG is written at 8 bits (it has no 16),
    and says so. Returns the description for the report."""
    if fmt == "jpeg":
        return save_as(original, None, out, fmt)
    if fmt not in ("png", "tiff"):
        raise ValueError("unknown output format %r" % fmt)
    cv2 = _cv2()
    if original.deep is None:                 # called for 16-bit RGB(A) only
        raise ValueError("%s has no 16-bit RGB pixels" % original.path)
    data = original.deep[:, :, ::-1]      # RGB -> OpenCV's BGR
    if original.deep_alpha is not None:
        data = np.dstack([data, original.deep_alpha])
    data = np.ascontiguousarray(data)
    if fmt == "png":
        kinds, blobs = [], []
        for kind, blob in ((cv2.IMAGE_METADATA_EXIF, _exif_tiff(original.exif)),
                           (cv2.IMAGE_METADATA_ICCP, original.icc), (cv2.IMAGE_METADATA_XMP, original.xmp)):
            if blob:
                kinds.append(kind)
                blobs.append(np.frombuffer(blob, np.uint8))
        params = [cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL]
        ok, encoded = (cv2.imencodeWithMetadata(".png", data, kinds, blobs, params) if kinds
                       else cv2.imencode(".png", data, params))
        if not ok:
            raise errors.SmartBeautyError("OpenCV could not encode the 16-bit PNG; please report this.")
        out.write(_png_with_dpi(encoded.tobytes(), original.dpi))
    else:
        ok, encoded = cv2.imencode(".tif", data, [cv2.IMWRITE_TIFF_COMPRESSION, 8])   # 8: Adobe deflate
        if not ok:
            raise errors.SmartBeautyError("OpenCV could not encode the 16-bit TIFF; please report this.")
        out.write(_tiff_with_metadata(encoded.tobytes(), original, alpha=original.deep_alpha is not None))
    words = ["%s 16-bit" % fmt]
    if original.icc:
        words.append("sRGB profile" if original.icc == SRGB_ICC else "colour profile kept")
    if original.exif or original.xmp:
        words.append("metadata kept")
    return ", ".join(words + list(original.notes))


def _exif_tiff(exif: bytes | None) -> bytes | None:
    """EXIF as a bare TIFF structure (a PNG eXIf chunk has no "Exif\\0\\0" header; Pillow's has)."""
    if exif and exif.startswith(b"Exif\x00\x00"):
        return exif[6:]
    return exif


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png_with_dpi(png: bytes, dpi) -> bytes:
    """``png`` with a pHYs chunk (pixels per metre) after its IHDR when ``dpi`` is known."""
    if not dpi:
        return png
    ppm = [max(1, int(round(float(d) / 0.0254))) for d in dpi[:2]]
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + _png_chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)) + png[ihdr_end:]


def _tiff_with_metadata(tiff: bytes, original: Original, alpha: bool, icc=None) -> bytes:
    """A one-image TIFF (OpenCV's or Pillow's) rebuilt with the original's ICC profile (or ``icc``),
    XMP, EXIF (first-IFD tags and the Exif/GPS sub-IFDs) and resolution, and alpha marked as
    unassociated (ExtraSamples), which OpenCV leaves out. The compressed strips are kept as they were
    written; Pillow lays out the tags (header, tags, then the strips, as its own TIFF writer does)."""
    icc = original.icc if icc is None else icc
    order = "<" if tiff[:2] == b"II" else ">"
    source = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    stream = io.BytesIO(tiff)
    stream.seek(struct.unpack(order + "L", tiff[4:8])[0])
    source.load(stream)
    offsets, counts = source[273], source[279]
    offsets = offsets if isinstance(offsets, tuple) else (offsets,)
    counts = counts if isinstance(counts, tuple) else (counts,)
    strips = b"".join(tiff[o:o + n] for o, n in zip(offsets, counts))
    ifd = TiffImagePlugin.ImageFileDirectory_v2(tiff[:8])
    if original.exif:
        exif = Image.Exif()
        exif.load(original.exif)
        for tag, value in exif.items():
            if tag in _TIFF_LAYOUT:
                continue
            if tag in (0x8769, 0x8825):      # Exif and GPS sub-IFDs, written as such
                value = dict(exif.get_ifd(tag))
                if not value:
                    continue
            ifd[tag] = value
            known = TiffTags.lookup(tag)
            if known.type:
                ifd.tagtype[tag] = known.type
    for tag in _TIFF_LAYOUT - {273, 282, 283, 296, 700, 34675}:     # the file's own layout, as written
        if tag in source:
            ifd[tag] = source[tag]
            ifd.tagtype[tag] = source.tagtype[tag]
    position, starts = 0, []
    for n in counts:                  # relative to the strips; Pillow adds where they start
        starts.append(position)
        position += n
    ifd[273] = tuple(starts)
    ifd.tagtype[273] = TiffTags.LONG
    if alpha and 338 not in ifd:
        ifd[338] = 2                 # unassociated alpha
        ifd.tagtype[338] = TiffTags.SHORT
    if original.dpi:
        ifd[282], ifd[283], ifd[296] = float(original.dpi[0]), float(original.dpi[1]), 2
    if icc:
        ifd[34675] = icc
        ifd.tagtype[34675] = TiffTags.UNDEFINED
    if original.xmp:
        ifd[700] = original.xmp
        ifd.tagtype[700] = TiffTags.BYTE
    return tiff[:4] + struct.pack(order + "L", 8) + ifd.tobytes(8) + strips
