# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function, unicode_literals

import struct

import pytest

from smart_beauty import errors, imagefile

import pngutil


def test_sniff_by_magic_bytes():
    assert imagefile.sniff(b"\xff\xd8\xff\xe0....") == "jpeg"
    assert imagefile.sniff(b"\x89PNG\r\n\x1a\n....") == "png"
    assert imagefile.sniff(b"BM" + b"\0" * 20) == "bmp"
    assert imagefile.sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert imagefile.sniff(b"<html>") is None


def test_png_info_and_limits(tmpdir):
    path = pngutil.write_png(str(tmpdir.join("a.png")), 40, 30)
    info = imagefile.read_info(path)
    assert (info.format, info.width, info.height) == ("png", 40, 30)
    assert imagefile.check_limits(path).ok


def _bmp(width, height):
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    dib = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return header + dib


def test_oversized_image_gets_a_scale_factor(tmpdir):
    path = str(tmpdir.join("big.bmp"))
    with open(path, "wb") as f:
        f.write(_bmp(6000, 4000))
    report = imagefile.check_limits(path)
    assert not report.ok
    assert report.scale == pytest.approx(4095 / 6000.0)
    assert imagefile.scaled_size(6000, 4000, report.scale) == (4095, 2730)
    assert "6000x4000" in report.advice() and "scale it by 0.682" in report.advice()


def test_too_many_bytes_asks_for_reencoding(tmpdir):
    path = str(tmpdir.join("fat.png"))
    data = pngutil.png_bytes(8, 8, pngutil.gradient)
    with open(path, "wb") as f:
        f.write(data[:-12] + b"\0" * (5 * 1024 * 1024) + data[-12:])
    report = imagefile.check_limits(path)
    assert report.reencode and not report.ok and "5 MB" in report.advice()


def test_not_an_image_is_bad_input(tmpdir):
    path = str(tmpdir.join("x.png"))
    with open(path, "wb") as f:
        f.write(b"<html>nope</html>")
    with pytest.raises(errors.BadInputError):
        imagefile.read_info(path)


def test_jpeg_size_from_frame_header(tmpdir):
    # SOI, an APP0 segment, SOF0 with height 20 width 30, EOI
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 20, 30, 1) + b"\x01\x11\x00"
    data = b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", 6) + b"JFIF" + sof + b"\xff\xd9"
    path = str(tmpdir.join("a.jpg"))
    with open(path, "wb") as f:
        f.write(data)
    info = imagefile.read_info(path)
    assert (info.format, info.width, info.height) == ("jpeg", 30, 20)


def test_completeness_check():
    png = pngutil.png_bytes(4, 4, pngutil.gradient)
    assert imagefile.looks_complete("png", png[-64:])
    assert not imagefile.looks_complete("png", png[:-5][-64:])


def _tiff(width, height, endian="<"):
    """A classic TIFF header with one IFD holding ImageWidth (SHORT) and ImageLength (LONG)."""
    order = b"II" if endian == "<" else b"MM"
    ifd = struct.pack(endian + "H", 2)
    ifd += struct.pack(endian + "HHIHH", 256, 3, 1, width, 0)
    ifd += struct.pack(endian + "HHII", 257, 4, 1, height)
    return order + struct.pack(endian + "HI", 42, 8) + ifd + struct.pack(endian + "I", 0)


@pytest.mark.parametrize("endian", ["<", ">"])
def test_tiff_dimensions_from_the_header(tmpdir, endian):
    path = str(tmpdir.join("a.tif"))
    with open(path, "wb") as f:
        f.write(_tiff(6000, 4000, endian))
    info = imagefile.read_info(path)
    assert (info.format, info.width, info.height) == ("tiff", 6000, 4000)
    report = imagefile.check_limits(path)
    assert not report.ok and report.reencode and report.scale < 1.0


def test_more_than_200_megapixels_is_refused_from_the_header(tmpdir):
    path = str(tmpdir.join("huge.tif"))
    with open(path, "wb") as f:
        f.write(_tiff(20000, 10001))
    with pytest.raises(errors.BadInputError) as info:
        imagefile.check_limits(path)
    assert "at most 200 MP" in str(info.value) and "nothing was sent" in str(info.value)


def test_missing_folder_and_unknown_files_are_one_sentence(tmpdir):
    with pytest.raises(errors.BadInputError) as info:
        imagefile.read_info(str(tmpdir.join("nope.png")))
    assert "does not exist" in str(info.value)
    with pytest.raises(errors.BadInputError) as info:
        imagefile.read_info(str(tmpdir))
    assert "is a folder" in str(info.value)
    path = str(tmpdir.join("notes.png"))
    with open(path, "wb") as f:
        f.write(b"just text")
    with pytest.raises(errors.BadInputError) as info:
        imagefile.read_info(path)
    assert "notes.png is not a JPEG, PNG, TIFF" in str(info.value)
    assert "permission denied" in imagefile.unreadable("x.png", IOError(13, "Permission denied"))
