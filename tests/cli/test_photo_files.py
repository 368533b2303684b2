"""Issue 13, part 1: a photographer's file comes back as it went in, retouched.

Real files made here with Pillow/ImageCms (profiles from ``photofiles``): an Adobe RGB-like JPEG
with EXIF rotation and XMP, a CMYK JPEG with its profile, 16-bit grayscale PNG and TIFF, 16-bit
RGB and RGBA PNG and TIFF with a profile and EXIF, an ICC-tagged 8-bit TIFF, an animated GIF. They
go through the CLI's own batch steps to a local AILab server over real HTTP whose engine changes one
box only and remembers what it was given, so "untouched pixels identical" and "sent in sRGB,
converted with the profile" are checked exactly.
"""
import io
import json
import os

import numpy as np
import pytest
from PIL import Image, ImageCms

import photofiles
from smart_beauty import Client, batch, errors
from smart_beauty_cli import cli, imaging
from smart_beauty_server import LocalAilab

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
ADOBE = photofiles.adobe_rgb_like()
CMYK = photofiles.cmyk_profile()
W, H = 96, 64


def box(shape):
    """The only area the test engine changes (plus a margin for the resampling kernels)."""
    h, w = shape[:2]
    return slice(h // 4, h // 2), slice(w // 4, w // 2)


class BoxEngine:
    def __init__(self):
        self.seen = []

    def __call__(self, rgb, level, multi_face):
        self.seen.append(rgb.copy())
        out = rgb.copy()
        ys, xs = box(rgb.shape)
        out[ys, xs] = np.clip(out[ys, xs].astype(int) + 40, 0, 255).astype(np.uint8)
        return out


@pytest.fixture
def service():
    engine = BoxEngine()
    srv = LocalAilab(port=0, engine=engine, job_seconds=0.0).start()
    client = Client(srv.valid_key, srv.url)
    try:
        yield client, engine
    finally:
        client.close()
        srv.stop()


def retouch(service, src, tmp_path, out_format="png", strip=False):
    client, engine = service
    dest = cli.output_path(str(src), str(tmp_path / "out"), out_format)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    run = cli.make_batch(client, [(str(src), dest)], 0.8, False, out_format=out_format, strip_metadata=strip)
    run.run_all(tick=0.05)
    item = run.items[0]
    assert item.status == batch.DONE, item.message
    return dest, item


def untouched(shape):
    mask = np.ones(shape[:2], bool)
    ys, xs = box(shape)
    mask[max(0, ys.start - 3):ys.stop + 3, max(0, xs.start - 3):xs.stop + 3] = False
    return mask


def exif_with(orientation=None):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"            # Make
    exif[0x0110] = "Model 1"            # Model
    exif[0x0132] = "2026:11:30 10:00:00"
    if orientation:
        exif[0x0112] = orientation
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'tiff:Orientation="6" dc:creator="Ann Photographer"/></rdf:RDF></x:xmpmeta>')


def test_adobe_rgb_jpeg_is_sent_in_srgb_and_comes_back_tagged_with_untouched_pixels_identical(service, tmp_path):
    src = tmp_path / "adobe.jpg"
    Image.fromarray(photofiles.portrait(W, H)).save(src, "JPEG", quality=95, subsampling=0, icc_profile=ADOBE,
                                                    exif=exif_with(orientation=6), xmp=XMP)
    with Image.open(src) as im:
        original = np.asarray(im.transpose(Image.Transpose.ROTATE_270))   # orientation 6, applied once
        sent_expected = np.asarray(ImageCms.profileToProfile(
            im.transpose(Image.Transpose.ROTATE_270), ImageCms.ImageCmsProfile(io.BytesIO(ADOBE)), SRGB,
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"))
    dest, item = retouch(service, src, tmp_path)
    sent = service[1].seen[0]
    assert sent.shape == (W, H, 3)                                  # rotated before sending
    assert np.array_equal(sent, sent_expected)                      # converted with the embedded profile
    assert np.abs(sent.astype(int) - original.astype(int)).mean() > 3   # which is not the same as ignoring it
    with Image.open(dest) as out:
        assert out.info.get("icc_profile") == ADOBE                 # back in the original's colour space
        pixels = np.asarray(out)
        exif = out.getexif()
        xmp = out.info.get("XML:com.adobe.xmp", "")
    assert pixels.shape == original.shape
    keep = untouched(original.shape)
    assert np.array_equal(pixels[keep], original[keep])             # untouched: the original's own values
    ys, xs = box(original.shape)
    assert np.abs(pixels[ys, xs].astype(int) - original[ys, xs].astype(int)).mean() > 10
    assert exif[0x010F] == "TestCam" and exif[0x0132] == "2026:11:30 10:00:00" and exif.get(0x0112) == 1
    assert "Ann Photographer" in xmp and 'tiff:Orientation="1"' in xmp
    assert "colour profile kept" in item.context["format"] and "metadata kept" in item.context["format"]


def test_strip_metadata_drops_exif_and_xmp_but_keeps_the_profile(service, tmp_path):
    src = tmp_path / "adobe.jpg"
    Image.fromarray(photofiles.portrait(W, H)).save(src, "JPEG", quality=95, icc_profile=ADOBE,
                                                    exif=exif_with(), xmp=XMP)
    dest, _ = retouch(service, src, tmp_path, strip=True)
    with Image.open(dest) as out:
        assert len(out.getexif()) == 0 and "XML:com.adobe.xmp" not in out.info
        assert out.info.get("icc_profile") == ADOBE


def _cmyk_jpeg(tmp_path):
    src = tmp_path / "press.jpg"
    rgb = Image.fromarray(photofiles.portrait(W, H, seed=3))
    cmyk = ImageCms.profileToProfile(rgb, SRGB, ImageCms.ImageCmsProfile(io.BytesIO(CMYK)), outputMode="CMYK")
    cmyk.save(src, "JPEG", quality=95, icc_profile=CMYK)
    with Image.open(src) as im:
        decoded = im.copy()
    return src, decoded


def test_cmyk_jpeg_with_profile_is_converted_with_it(service, tmp_path):
    src, decoded = _cmyk_jpeg(tmp_path)
    profile = ImageCms.ImageCmsProfile(io.BytesIO(CMYK))
    as_srgb = np.asarray(ImageCms.profileToProfile(decoded, profile, SRGB, outputMode="RGB",
                                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC))
    dest, item = retouch(service, src, tmp_path)
    assert np.array_equal(service[1].seen[0], as_srgb)
    naive = np.asarray(decoded.convert("RGB"))
    assert np.abs(naive.astype(int) - as_srgb.astype(int)).mean() > 5   # ignoring the profile would show
    with Image.open(dest) as out:                                      # PNG has no CMYK: sRGB, tagged so
        assert out.mode == "RGB" and ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(io.BytesIO(out.info["icc_profile"]))).strip().startswith("sRGB")
        pixels = np.asarray(out)
    keep = untouched(pixels.shape)
    assert np.array_equal(pixels[keep], as_srgb[keep])
    assert "CMYK converted to sRGB" in item.context["format"]


def test_cmyk_jpeg_format_same_stays_cmyk_with_its_profile(service, tmp_path):
    src, decoded = _cmyk_jpeg(tmp_path)
    dest, item = retouch(service, src, tmp_path, out_format="same")
    assert dest.endswith(".beauty.jpg")
    with Image.open(dest) as out:
        assert out.mode == "CMYK" and out.info.get("icc_profile") == CMYK
        pixels = np.asarray(out).astype(int)
    keep = untouched(pixels.shape)
    assert np.abs(pixels[keep] - np.asarray(decoded).astype(int)[keep]).mean() < 2.0   # JPEG q95 again
    assert item.context["format"].startswith("jpeg 8-bit CMYK")


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_grayscale_keeps_its_depth_and_is_not_clipped_to_white(service, tmp_path, fmt):
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:H, 0:W]
    gray = (20000 + x * 400 + y * 150 + rng.integers(0, 64, size=(H, W))).astype(np.uint16)
    src = tmp_path / ("gray16." + fmt.lower())
    Image.fromarray(gray).save(src, fmt)
    with Image.open(src) as check:
        assert check.mode == "I;16"
    dest, item = retouch(service, src, tmp_path, out_format="same")
    sent = service[1].seen[0]
    assert abs(sent.mean() - gray.mean() / 257) < 1 and (sent == 255).mean() < 0.05   # not clipped to white
    with Image.open(dest) as out:
        assert out.mode == "I;16" and out.format == fmt
        pixels = np.asarray(out)
    keep = untouched(gray.shape)
    assert np.array_equal(pixels[keep], gray[keep])                  # every 16-bit value kept
    ys, xs = box(gray.shape)
    assert (pixels[ys, xs].astype(int) - gray[ys, xs]).mean() > 30 * 257   # the change, at 16 bits
    assert item.context["format"].startswith("%s 16-bit" % fmt.lower())


def rgb16_source(tmp_path, fmt, alpha):
    """A 16-bit RGB(A) PNG or TIFF with the Adobe RGB-like profile and EXIF (first IFD + Exif sub-IFD),
    with values no 8-bit file can hold (v % 257 != 0); returns (path, rgb, alpha)."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([9000 + x * 500, 12000 + y * 600, 30000 - x * 200 - y * 100], -1)
    rgb = (rgb + rng.integers(0, 200, size=rgb.shape)).astype(np.uint16)
    a = (40000 + x * 100 + y * 7).astype(np.uint16) if alpha else None
    exif = exif_with()
    exif.get_ifd(0x8769)[0x9003] = "2026:11:29 09:30:00"      # DateTimeOriginal, in the Exif sub-IFD
    src = tmp_path / ("rgb16%s.%s" % ("a" if alpha else "", "png" if fmt == "PNG" else "tif"))
    (photofiles.png16 if fmt == "PNG" else photofiles.tiff_rgb)(str(src), rgb, a, icc=ADOBE, exif=exif)
    return src, rgb, a


def read16(path):
    """(RGB, alpha or None) of a 16-bit file, read by OpenCV (Pillow reads 16-bit RGB as 8-bit)."""
    import cv2
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert data is not None and data.dtype == np.uint16, (path, None if data is None else data.dtype)
    return data[:, :, 2::-1], (data[:, :, 3] if data.shape[2] == 4 else None)


@pytest.mark.parametrize("alpha", [False, True], ids=["rgb", "rgba"])
@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_rgb_keeps_its_depth_profile_and_exif_and_untouched_pixels_at_16_bits(service, tmp_path, fmt,
                                                                                      alpha):
    src, rgb, a = rgb16_source(tmp_path, fmt, alpha)
    original = imaging.Original(str(src))
    assert original.bits == 16 and np.array_equal(original.pixels, rgb)     # not Pillow's 8-bit reading
    dest, item = retouch(service, src, tmp_path, out_format="same")
    sent = service[1].seen[0]                                             # the service got 8-bit sRGB
    eight = Image.fromarray(((rgb.astype(np.uint32) + 128) // 257).astype(np.uint8), "RGB")
    assert np.array_equal(sent, np.asarray(ImageCms.profileToProfile(
        eight, ImageCms.ImageCmsProfile(io.BytesIO(ADOBE)), SRGB,
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB")))
    out_rgb, out_a = read16(dest)                                          # 16-bit in, 16-bit out
    keep = untouched(rgb.shape)
    assert np.array_equal(out_rgb[keep], rgb[keep])                        # every 16-bit value kept
    assert (rgb[keep] % 257 != 0).mean() > 0.9                             # (values 8 bits cannot hold)
    ys, xs = box(rgb.shape)
    assert (out_rgb[ys, xs].astype(int) - rgb[ys, xs]).mean() > 20 * 257    # retouched...
    assert (out_rgb[ys, xs] % 257 != 0).mean() > 0.9                       # ...at 16 bits: not 8-bit values
    if alpha:
        assert np.array_equal(out_a, a)
    else:
        assert out_a is None
    with Image.open(dest) as out:
        assert out.format == fmt and out.info.get("icc_profile") == ADOBE
        exif = out.getexif()
        assert exif.get(0x010F) == "TestCam" and exif.get(0x0132) == "2026:11:30 10:00:00"
        assert exif.get_ifd(0x8769).get(0x9003) == "2026:11:29 09:30:00"
    assert item.context["format"] == "%s 16-bit, colour profile kept, metadata kept" % fmt.lower()


def test_16bit_rgb_to_jpeg_says_it_was_reduced_to_8_bits(cli_env, ailab):
    src, rgb, _a = rgb16_source(cli_env, "PNG", alpha=False)
    report = cli_env / "r.json"
    assert cli.main(["retouch", str(src), "-o", str(cli_env / "o"), "--format", "jpeg", "--report", str(report),
                     "--quiet"]) == 0
    with Image.open(cli_env / "o" / "rgb16.beauty.jpg") as out:
        assert out.format == "JPEG" and out.mode == "RGB" and out.info.get("icc_profile") == ADOBE
        assert out.getexif().get(0x010F) == "TestCam"
    row = json.loads(report.read_text())[0]
    assert row["format"].startswith("jpeg 8-bit") and "reduced from 16 to 8 bits" in row["format"], row


def test_tiff_with_profile_round_trips_as_tiff(service, tmp_path):
    src = tmp_path / "shot.tif"
    pixels = photofiles.portrait(W, H, seed=7)
    Image.fromarray(pixels).save(src, "TIFF", icc_profile=ADOBE, compression="tiff_lzw", exif=exif_with())
    dest, item = retouch(service, src, tmp_path, out_format="same")
    assert dest.endswith(".beauty.tif")
    with Image.open(dest) as out:
        assert out.format == "TIFF" and out.info.get("icc_profile") == ADOBE
        assert out.getexif().get(0x010F) == "TestCam"
        result = np.asarray(out)
    keep = untouched(pixels.shape)
    assert np.array_equal(result[keep], pixels[keep])


def test_animated_gif_is_refused_with_one_sentence_and_nothing_sent(service, tmp_path):
    src = tmp_path / "anim.gif"
    frames = [Image.fromarray(photofiles.portrait(32, 32, seed=i)).convert("P") for i in range(3)]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    client, engine = service
    run = cli.make_batch(client, [(str(src), str(tmp_path / "anim.beauty.png"))], 0.8, False)
    run.run_all(tick=0.05)
    assert run.items[0].status == batch.FAILED and engine.seen == []
    assert "has 3 frames" in run.items[0].message and "export the frame you want" in run.items[0].message


@pytest.fixture
def cli_env(service_env):
    return service_env


def test_format_option_names_the_output_and_the_report_says_which(cli_env, ailab):
    src = cli_env / "a.png"
    Image.fromarray(photofiles.portrait(40, 30)).save(src)
    report = cli_env / "r.json"
    assert cli.main(["retouch", str(src), "-o", str(cli_env / "o"), "--format", "jpeg", "--report", str(report),
                     "--quiet"]) == 0
    with Image.open(cli_env / "o" / "a.beauty.jpg") as out:
        assert out.format == "JPEG"
        assert all(layer[1:3] == (1, 1) for layer in out.layer)   # no chroma subsampling
    row = json.loads(report.read_text())[0]
    assert row["format"].startswith("jpeg 8-bit") and row["output"].endswith("a.beauty.jpg")


def test_check_and_retouch_accept_tiff(cli_env, ailab, capsys):
    src = cli_env / "t.tiff"
    Image.fromarray(photofiles.portrait(40, 30)).save(src, "TIFF")
    assert cli.main(["check", str(src)]) == 1   # TIFF is not sent as it is: it is converted first
    out = capsys.readouterr().out
    assert "TIFF 40x30" in out and "save it as PNG" in out
    assert cli.main(["retouch", str(src), "--quiet"]) == 0
    assert (cli_env / "t.beauty.png").exists()


def test_output_format_same_maps_the_input(tmp_path):
    assert imaging.output_format("same", "JPEG") == "jpeg"
    assert imaging.output_format("same", "TIFF") == "tiff"
    assert imaging.output_format("same", "WEBP") == "png"
    assert imaging.output_format("tiff", "JPEG") == "tiff"


def test_an_srgb_tagged_photo_is_sent_as_it_is_and_comes_back_tagged(service, tmp_path):
    src = tmp_path / "camera.jpg"
    pixels = photofiles.portrait(W, H, seed=11)
    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(src, "JPEG", quality=95, icc_profile=srgb_icc)
    dest, item = retouch(service, src, tmp_path)
    assert item.encoding == "original"            # byte for byte: the service assumes sRGB anyway
    with Image.open(src) as im:
        decoded = np.asarray(im.convert("RGB"))
    assert np.array_equal(service[1].seen[0], decoded)
    with Image.open(dest) as out:
        assert out.info.get("icc_profile") == srgb_icc
        result = np.asarray(out)
    keep = untouched(result.shape)
    assert np.array_equal(result[keep], decoded[keep])


def test_16bit_orientation_turns_the_array_as_pillow_turns_images():
    from PIL import ImageOps
    data = np.random.default_rng(2).integers(0, 255, size=(3, 5, 3)).astype(np.uint8)
    for orientation in range(1, 9):
        image = Image.fromarray(data)
        exif = image.getexif()
        exif[0x0112] = orientation
        image.info["exif"] = exif.tobytes()
        turned = np.asarray(ImageOps.exif_transpose(image))
        assert np.array_equal(imaging._oriented(data, orientation), turned), orientation


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_rgb_stored_turned_comes_back_upright_turned_once(service, tmp_path, fmt):
    """Every EXIF/TIFF orientation of a 16-bit RGBA file: the result is upright (turned once, tag 1).
    OpenCV's TIFF decoder applies a TIFF's Orientation tag itself (whatever the flags); its PNG decoder
    does not."""
    rng = np.random.default_rng(5)
    stored = rng.integers(30000, 65535, size=(H, W, 4)).astype(np.uint16)
    for orientation in range(1, 9):
        src = tmp_path / ("o%d.%s" % (orientation, "png" if fmt == "PNG" else "tif"))
        (photofiles.png16 if fmt == "PNG" else photofiles.tiff_rgb)(str(src), stored[..., :3], stored[..., 3],
                                                                    exif=exif_with(orientation))
        upright = imaging._oriented(stored, orientation)
        dest, _item = retouch(service, src, tmp_path, out_format="same")
        out_rgb, out_a = read16(dest)
        assert out_rgb.shape == upright[..., :3].shape, orientation
        keep = untouched(upright.shape)
        assert np.array_equal(out_rgb[keep], upright[..., :3][keep]), orientation
        assert np.array_equal(out_a, upright[..., 3]), orientation
        with Image.open(dest) as out:
            assert out.getexif().get(0x0112) == 1, orientation


def test_a_damaged_16bit_png_fails_with_one_sentence_and_nothing_sent(service, tmp_path, capfd):
    src, _rgb, _a = rgb16_source(tmp_path, "PNG", alpha=False)
    data = src.read_bytes()
    idat = data.index(b"IDAT")
    src.write_bytes(data[:idat + 40] + data[-12:])      # the pixel data cut short, IEND kept
    client, engine = service
    run = cli.make_batch(client, [(str(src), str(tmp_path / "o.beauty.png"))], 0.8, False)
    run.run_all(tick=0.05)
    assert run.items[0].status == batch.FAILED and engine.seen == []
    assert "cannot be read" in run.items[0].message and "\n" not in run.items[0].message
    assert not (tmp_path / "o.beauty.png").exists()
    assert "WARN" not in capfd.readouterr().err     # only our sentence, not OpenCV's own log line


def test_a_tiffs_own_layout_tags_are_not_carried_as_metadata(service, tmp_path):
    """A TIFF's first directory also holds its size, strips, compression...: not EXIF. A 16-bit TIFF
    with nothing else (as OpenCV writes one) comes back without 'metadata kept', and an 8-bit
    TIFF's camera tags reach a PNG without the source's strip offsets."""
    import cv2
    rgb = rgb16_source(tmp_path, "TIFF", alpha=False)[1]
    plain = tmp_path / "plain.tif"
    assert cv2.imwrite(str(plain), np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_TIFF_COMPRESSION, 5])   # LZW
    _dest, item = retouch(service, plain, tmp_path, out_format="same")
    assert item.context["format"] == "tiff 16-bit"
    shot = tmp_path / "shot8.tif"
    Image.fromarray(photofiles.portrait(W, H, seed=7)).save(shot, "TIFF", compression="tiff_lzw", exif=exif_with())
    dest, item = retouch(service, shot, tmp_path)
    with Image.open(dest) as out:
        exif = out.getexif()
    assert exif.get(0x010F) == "TestCam" and not {256, 257, 259, 273, 279} & set(exif)


@pytest.mark.parametrize("source", ["jpg", "tif"])
def test_a_camera_file_with_exif_and_gps_sub_ifds_becomes_a_tiff_that_keeps_them(service, tmp_path, source):
    """Every camera JPEG has an Exif sub-IFD; Pillow's TIFF writer failed on it ("Error setting from
    dictionary", reported as 'failed unexpectedly') or dropped it."""
    exif = exif_with()
    exif.get_ifd(0x8769)[0xA434] = "NIKKOR Z 85mm f/1.8 S"       # LensModel, in the Exif sub-IFD
    exif.get_ifd(0x8825)[1] = "N"                                  # GPSLatitudeRef, in the GPS sub-IFD
    pixels = photofiles.portrait(W, H, seed=4)
    if source == "jpg":
        src = tmp_path / "camera.jpg"
        Image.fromarray(pixels).save(src, "JPEG", quality=95, icc_profile=ADOBE, exif=exif)
        fmt = "tiff"
    else:
        src = tmp_path / "camera.tif"
        photofiles.tiff_rgb(str(src), pixels, icc=ADOBE, exif=exif)                # 8-bit
        fmt = "same"
    dest, item = retouch(service, src, tmp_path, out_format=fmt)
    with Image.open(dest) as out:
        assert out.format == "TIFF" and out.info.get("icc_profile") == ADOBE
        got = out.getexif()
        assert got.get(0x010F) == "TestCam" and got.get_ifd(0x8769).get(0xA434) == "NIKKOR Z 85mm f/1.8 S"
        assert got.get_ifd(0x8825).get(1) == "N"
    assert "metadata kept" in item.context["format"]


def test_a_16bit_photo_over_the_limits_is_sent_reduced_and_its_change_added_at_full_size(service, tmp_path):
    rng = np.random.default_rng(8)
    y, x = np.mgrid[0:48, 0:4300]
    rgb = np.stack([5000 + x * 10, 9000 + y * 300, 40000 - x * 5], -1) + rng.integers(0, 200, size=(48, 4300, 3))
    rgb = rgb.astype(np.uint16)
    src = tmp_path / "wide16.png"
    photofiles.png16(str(src), rgb, icc=ADOBE)
    dest, item = retouch(service, src, tmp_path)
    assert item.scale < 1.0 and service[1].seen[0].shape[1] < 4300          # sent reduced
    out, _a = read16(dest)
    assert out.shape == rgb.shape                                           # written at full size, 16 bits
    keep = untouched(rgb.shape)
    keep[:, 4300 // 4 - 8:4300 // 2 + 8] = False                            # the upscaled change's reach
    assert np.array_equal(out[keep], rgb[keep])
    ys, xs = box(rgb.shape)
    assert (out[ys, xs].astype(int) - rgb[ys, xs]).mean() > 20 * 257


def test_16bit_colour_without_opencv_is_one_sentence_naming_the_fix(monkeypatch, tmp_path):
    import builtins
    src = rgb16_source(tmp_path, "PNG", alpha=False)[0]
    real_import = builtins.__import__

    def no_cv2(name, *args, **kwargs):
        if name == "cv2":
            raise ImportError("No module named 'cv2'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cv2)
    with pytest.raises(errors.BadInputError) as info:
        imaging.Original(str(src))
    assert "need OpenCV" in str(info.value) and "install" in str(info.value) and "\n" not in str(info.value)
