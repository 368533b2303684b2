# -*- coding: utf-8 -*-
"""Tiny pure-Python PNG writer/reader for test images (single source: Python 2.7 + 3).

Only what the core tests need: 8-bit RGB, non-interlaced, filter 0 on write; filters 0-4 on read.
Kept here so the core tests run under a bare Python 2.7 with only requests and pytest.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import struct
import zlib


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bytes(width, height, pixel):
    """PNG of ``width`` x ``height`` where ``pixel(x, y)`` returns an (r, g, b) tuple."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw.extend(bytearray(pixel(x, y)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(bytes(raw), 6))
            + _chunk(b"IEND", b""))


def gradient(x, y):
    return ((x * 7) % 256, (y * 5) % 256, ((x + y) * 3) % 256)


def write_png(path, width=48, height=32, pixel=gradient):
    with open(path, "wb") as f:
        f.write(png_bytes(width, height, pixel))
    return path


def read_png(path):
    """(width, height, channels, rows) where rows is a list of bytearrays, for 8-bit RGB/RGBA PNGs."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            channels = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = bytearray(zlib.decompress(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        out = bytearray(stride)
        for i in range(stride):
            a = out[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out[i] = (line[i] + pred) & 0xFF
        rows.append(out)
        prev = out
    return width, height, channels, rows


def simple_engine_value(value, level):
    """What the local server's SimpleEngine makes of one channel value (see engine/simple.py)."""
    milli = int(round(level * 1000))
    return value + (((255 - value) * milli + 2000) // 4000)
