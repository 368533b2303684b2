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
