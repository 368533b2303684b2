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
import tempfile
import warnings

import numpy as np
from PIL import Image, ImageCms, ImageOps, PngImagePlugin, TiffImagePlugin, TiffTags

from smart_beauty import errors, imagefile, protocol

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
                                   % (os.path.basename(path), e.__class__.__name__))
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
                                   % (os.path.basename(path), e.__class__.__name__))
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
        result = np.asarray(Image.fromarray(result).resize((sent.shape[1], sent.shape[0]), Image.LANCZOS))
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
            strip[:, :, c] = np.asarray(plane.resize((width, bottom - top), Image.BICUBIC, box=box))
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
        result = result.resize(sent.size, Image.LANCZOS)
    width, height = full.size
    sy = sent.size[1] / float(height)
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        box = (0.0, top * sy, float(sent.size[0]), bottom * sy)
        strip = np.asarray(full.crop((0, top, width, bottom)), dtype=np.int16)
        strip += np.asarray(result.resize((width, bottom - top), Image.BICUBIC, box=box), dtype=np.int16)
        strip -= np.asarray(sent.resize((width, bottom - top), Image.BICUBIC, box=box), dtype=np.int16)
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
    ``colour``: "RGB", "L" or "CMYK"; ``bits``: 8 or 16; ``alpha``: a PIL "L" image or None;
    ``notes``: what could not be kept, one phrase each (e.g. 16-bit RGB read as 8-bit).
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
                    if _is_16bit_colour(im):
                        self.notes.append("16-bit colour was read as 8-bit (Pillow cannot hold 16-bit RGB)")
                    self.colour, self.bits, self.has_alpha = _work_mode(im)
                    if pixels:
                        im.load()
                    exif = im.getexif()
                    self.rotated = rotated = exif.get(0x0112, 1) not in (1, None)
                    image = None
                    if pixels:
                        image = ImageOps.exif_transpose(im) if rotated else im   # loaded: stays valid
                    else:
                        self.dpi = im.info.get("dpi")
        except errors.SmartBeautyError:
            raise
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise errors.BadInputError("%s cannot be read as an image (%s); check the file." % (
                name, e.__class__.__name__))
        if 0x0112 in exif or rotated:
            exif[0x0112] = 1     # applied once, here: no viewer must turn it again
        if self.xmp and rotated:
            self.xmp = _XMP_ORIENTATION.sub(rb"\g<1>1", self.xmp)
        self.exif = exif.tobytes() if len(exif) else None
        if strip_metadata:
            self.exif = self.xmp = None
        self.image = self.alpha = None
        if image is not None:
            self.dpi = image.info.get("dpi")
            self._split(image)
            del image
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
        if self.image is None:
            return None
        data = np.asarray(self.image)
        return data.reshape(data.shape[0], data.shape[1], -1)

    def load(self) -> Original:
        """This original with its pixels (itself when they are loaded)."""
        if self.image is not None:
            return self
        return Original(self.path, strip_metadata=self.strip_metadata)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size

    def _image8(self):
        """The colour channels as an 8-bit PIL image in the original colour space."""
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
        image = image.resize(size, Image.LANCZOS)
    data, encoding = encode_to_fit(image)
    del image
    fd, tmp = tempfile.mkstemp(prefix="smart-beauty-upload-", suffix=".png" if encoding == "png" else ".jpg",
                               dir=workdir)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Prepared(tmp, size[0] / float(full[0]), encoding, size, full, owned=True)


def write_retouched(original: Original, sent_path: str, result_path: str, out, fmt: str,
                    strip_rows: int = 256) -> str:
    """Write the retouched ``original`` to the file object ``out`` as ``fmt`` (png, jpeg, tiff);
    returns what was written, e.g. "png 16-bit, ICC profile kept".

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
        return save_as(original, result, out, fmt)
    original = original.load()
    with Image.open(sent_path) as f:
        sent = f.convert("RGB")
    if result.size != sent.size:
        result = result.resize(sent.size, Image.LANCZOS)
    sent_o, result_o = original.from_srgb(sent), original.from_srgb(result)
    del sent, result
    image = original.image    # changed in place, strip by strip: the only full-size copy held
    width, height = image.size
    gain, top_value = (257, 65535) if original.bits == 16 else (1, 255)
    dtype = np.uint16 if original.bits == 16 else np.uint8
    same_size = sent_o.size == (width, height)
    sy = sent_o.size[1] / float(height)
    work = np.int32 if original.bits == 16 else np.int16   # wide enough, and half the memory for 8 bits
    for top in range(0, height, strip_rows):
        bottom = min(height, top + strip_rows)
        if same_size:
            up_r = np.asarray(result_o.crop((0, top, width, bottom)), dtype=work)
            up_s = np.asarray(sent_o.crop((0, top, width, bottom)), dtype=work)
        else:
            box = (0.0, top * sy, float(sent_o.size[0]), bottom * sy)
            up_r = np.asarray(result_o.resize((width, bottom - top), Image.BICUBIC, box=box), dtype=work)
            up_s = np.asarray(sent_o.resize((width, bottom - top), Image.BICUBIC, box=box), dtype=work)
        up_r -= up_s        # the change, in place: no full-strip temporaries
        del up_s
        if gain != 1:
            up_r *= gain
        strip = np.asarray(image.crop((0, top, width, bottom)), dtype=work)
        strip += up_r.reshape(strip.shape)
        del up_r
        np.clip(strip, 0, top_value, out=strip)
        strip = strip.astype(dtype)
        image.paste(Image.fromarray(strip) if original.bits == 16 or strip.ndim == 2
                    else Image.fromarray(strip, original.colour), (0, top))
    del sent_o, result_o
    return save_as(original, image, out, fmt)


def _header_size(path: str) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def save_as(original: Original, image, out, fmt: str) -> str:
    """Encode ``image`` (PIL, the original's colour space and depth) plus the original's alpha,
    profile and metadata as ``fmt``; returns the description for the report."""
    colour, bits, alpha, icc = original.colour, original.bits, original.alpha, original.icc
    notes = list(original.notes)
    if bits == 16 and fmt == "jpeg":
        data = np.asarray(image).astype(np.uint32)
        image = Image.fromarray(((data + 128) // 257).astype(np.uint8), "L")
        bits = 8
        notes.append("8-bit (JPEG has no 16-bit)")
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
        if original.xmp:
            info = TiffImagePlugin.ImageFileDirectory_v2()
            info[700] = original.xmp
            info.tagtype[700] = TiffTags.BYTE
            params["tiffinfo"] = info
        image.save(out, "TIFF", compression="tiff_adobe_deflate", **params)
    else:
        raise ValueError("unknown output format %r" % fmt)
    words = ["%s %d-bit%s" % (fmt, bits, " CMYK" if image.mode == "CMYK" else "")]
    if icc:
        words.append("sRGB profile" if icc == SRGB_ICC else "colour profile kept")
    if original.exif or original.xmp:
        words.append("metadata kept")
    return ", ".join(words + notes)
