"""Pixel work outside GIMP (Python 3, Pillow + numpy): fitting an image to the service limits and
bringing a retouched reduced copy back to full size without losing the original's detail.

Recomposition: the service only *changes* some pixels (skin, face shape); instead of upscaling its
reduced result, we upscale the *change* it made (result - what we sent) and add it to the
full-resolution original. Untouched regions keep the original pixels exactly; retouched regions get
the retouch at the reduced resolution plus the original's fine detail.
"""
import io
import os
import tempfile

import numpy as np
from PIL import Image, ImageOps

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
    """Return a :class:`Prepared` upload for ``path`` that meets the service limits.

    A file that already fits (JPEG/PNG/BMP, <= 5 MB, < 4096 px, no EXIF rotation) is sent as it is,
    byte for byte. Otherwise it is scaled to fit and encoded with the least loss that fits 5 MB:
    PNG when it fits, else JPEG at the highest quality that fits, without chroma subsampling.
    """
    report = imagefile.check_limits(path)
    with Image.open(path) as probe:
        rotated = probe.getexif().get(0x0112, 1) not in (1, None)
    full = (report.info.width, report.info.height)
    if report.ok and not rotated and report.info.format in protocol.UPLOAD_FORMATS:
        return Prepared(path, 1.0, "original", full, full, owned=False)
    image, _alpha = open_pil_rgb(path)  # PIL only: no numpy copy of a 48 MP photo
    full = image.size
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
