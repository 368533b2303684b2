# -*- coding: utf-8 -*-
"""layerjob's own rules with a recording host (no server needed). Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from smart_beauty import errors, layerjob, protocol
from smart_beauty.layerjob import LayerInfo


class SizedHost(layerjob.Host):
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


def test_expand_inputs(tmpdir):
    for name in ("b.png", "a.JPG", "c.txt", "a.beauty.png"):
        tmpdir.join(name).write("x")
    tmpdir.mkdir("sub").join("d.png").write("x")
    d = str(tmpdir)
    assert [os.path.basename(p) for p in layerjob.expand_inputs(d)] == ["a.JPG", "b.png"]
    assert [os.path.basename(p) for p in layerjob.expand_inputs(os.path.join(d, "*.png"))] == ["a.beauty.png",
                                                                                               "b.png"]
    both = os.path.join(d, "b.png") + os.pathsep + os.path.join(d, "sub")
    assert [os.path.basename(p) for p in layerjob.expand_inputs(both)] == ["b.png", "d.png"]
    assert layerjob.expand_inputs(os.path.join(d, "nothing*")) == []
    assert layerjob.output_path("/out", "/in/x.y.png") == os.path.join("/out", "x.y.beauty.png")


class FailingInsertHost(layerjob.Host):
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
    with pytest.raises(layerjob.HostError) as e:
        layerjob._insert(host, "SRC", LayerInfo("layer", 4, 4), "/x.png", "n")
    assert host.log == ["begin", "insert", "remove NEW", "end"]
    assert "gimp-layer-scale" in str(e.value) and "unchanged" in str(e.value)


def test_stale_work_folders_of_killed_runs_are_swept(tmpdir):
    """GIMP ends a plug-in whose progress bar is cancelled: its temp folder stays; the next run
    removes it (only this user's, only old ones, only ours)."""
    import time
    root = str(tmpdir)
    old = os.path.join(root, layerjob.WORKDIR_PREFIX + "old")
    fresh = os.path.join(root, layerjob.WORKDIR_PREFIX + "fresh")
    other = os.path.join(root, "someone-else-old")
    for d in (old, fresh, other):
        os.makedirs(d)
        with open(os.path.join(d, "layer.png"), "wb") as f:
            f.write(b"x")
    past = time.time() - 2 * layerjob.STALE_WORKDIR_SECONDS
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert layerjob.sweep_stale_workdirs(root) == [old]
    assert not os.path.exists(old) and os.path.exists(fresh) and os.path.exists(other)


@pytest.mark.skipif(os.name != "posix", reason="process ids are only checked on POSIX")
def test_work_folders_of_ended_processes_are_swept_at_once(tmpdir):
    """A folder named after a process that is gone goes on the next run, however fresh; one of a running
    process (this one, another) stays until it is old."""
    import subprocess
    import sys
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        root = str(tmpdir)
        dead = os.path.join(root, "%s%d-abc" % (layerjob.WORKDIR_PREFIX, ended.pid))
        live = os.path.join(root, "%s%d-abc" % (layerjob.WORKDIR_PREFIX, alive.pid))
        mine = os.path.join(root, "%s%d-abc" % (layerjob.WORKDIR_PREFIX, os.getpid()))
        for d in (dead, live, mine):
            os.makedirs(d)
        assert layerjob.sweep_stale_workdirs(root) == [dead]
        assert os.path.exists(live) and os.path.exists(mine)
    finally:
        alive.kill()
        alive.wait()


def test_new_workdir_carries_the_process_id(tmpdir, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    path = layerjob.new_workdir()
    assert os.path.basename(path).startswith("%s%d-" % (layerjob.WORKDIR_PREFIX, os.getpid()))
    assert os.path.dirname(path) == str(tmpdir)
