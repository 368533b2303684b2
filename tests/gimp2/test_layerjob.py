# -*- coding: utf-8 -*-
"""layerjob's own rules with a recording host (no server needed). Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from smart_beauty import errors, layerjob, protocol
from smart_beauty.host import Host, HostError, LayerInfo


class SizedHost(Host):
    """export_png writes a file whose size grows with the pixel count, like a real PNG."""

    def __init__(self, bytes_per_pixel):
        self.bpp = bytes_per_pixel
        self.exports = []

    def export_png(self, layer, path, width, height):
        self.exports.append((width, height))
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * min(int(width * height * self.bpp), 6 * 1024 * 1024))


def test_export_scales_for_the_resolution_limit(tmpdir):
    host = SizedHost(0.01)
    path, scale = layerjob.export_within_limits(host, None, LayerInfo("layer", 6000, 4000), str(tmpdir))
    assert host.exports == [(4095, 2730)]
    assert abs(scale - 4095 / 6000.0) < 1e-9 and os.path.exists(path)


def test_export_shrinks_until_the_file_fits(tmpdir):
    host = SizedHost(1.0)            # 3000x2000 -> 6 MB, over the 5 MB limit
    path, scale = layerjob.export_within_limits(host, None, LayerInfo("layer", 3000, 2000), str(tmpdir))
    assert host.exports[0] == (3000, 2000) and len(host.exports) == 2
    assert os.path.getsize(path) <= protocol.MAX_UPLOAD_BYTES and scale < 1.0


def test_export_gives_up_with_advice(tmpdir):
    host = SizedHost(10 ** 4)        # 6 MB at any size: never fits
    with pytest.raises(errors.BadInputError) as e:
        layerjob.export_within_limits(host, None, LayerInfo("layer", 100, 100), str(tmpdir))
    assert "crop" in str(e.value)


@pytest.mark.parametrize("info,words", [
    (None, "Open an image"), (LayerInfo("group", 10, 10), "layer group"), (LayerInfo("text", 10, 10), "text layer"),
    (LayerInfo("mask", 10, 10), "mask"), (LayerInfo("other", 10, 10), "image layers"),
    (LayerInfo("layer", 1, 1), "1x1"), (LayerInfo("layer", 1, 50), "1x50")])
def test_refusals(info, words):
    with pytest.raises(errors.BadInputError) as e:
        layerjob.check_layer(info)
    assert words in str(e.value)


@pytest.mark.parametrize("level", [-0.1, 1.01, float("nan"), "x", None])
def test_levels_out_of_range(level):
    with pytest.raises(errors.BadInputError):
        layerjob.check_level(level)


def test_layer_name():
    assert layerjob.layer_name(0.8) == "Smart Beauty (level 0.80)"
    assert layerjob.layer_name(1) == "Smart Beauty (level 1.00)"


class FailingInsertHost(Host):
    """Everything works until GIMP refuses to place the new layer: it must be taken out again."""

    def __init__(self):
        self.log = []

    def begin_undo(self, layer):
        self.log.append("begin")

    def end_undo(self, layer):
        self.log.append("end")

    def insert_result(self, source, path, name):
        self.log.append("insert")
        return "NEW"

    def place(self, new, x, y, width, height):
        raise RuntimeError("Procedure 'gimp-layer-scale' failed")

    def remove_layer(self, new):
        self.log.append("remove " + new)


def test_a_failed_insertion_is_rolled_back_inside_the_undo_group():
    host = FailingInsertHost()
    with pytest.raises(HostError) as e:
        layerjob.add_result(host, "SRC", LayerInfo("layer", 4, 4), "/x.png", "n")
    assert host.log == ["begin", "insert", "remove NEW", "end"]
    assert "gimp-layer-scale" in str(e.value) and "unchanged" in str(e.value)
