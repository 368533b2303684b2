# -*- coding: utf-8 -*-
"""Which files a batch takes and where outputs go: the one rule of the CLI and the GIMP batch.
Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from smart_beauty import batchfiles
from smart_beauty.batchfiles import GIMP_EXTENSIONS, expand_inputs, output_path


def names(paths):
    return [os.path.basename(p) for p in paths]


@pytest.fixture
def photos(tmpdir):
    for name in ("b.png", "a.JPG", "c.txt", "a.beauty.png", "a.beauty.jpg", "h.beauty.tif", ".hidden.png",
                 "e.tiff", "f.xcf", "g.gif"):
        tmpdir.join(name).write("x")
    tmpdir.mkdir("sub").join("d.png").write("x")
    tmpdir.mkdir("folder.png")
    return str(tmpdir)


def test_a_folder_gives_its_image_files_sorted_without_outputs_dot_files_or_subfolders(photos):
    assert names(expand_inputs(photos)) == ["a.JPG", "b.png", "e.tiff"]
    assert names(expand_inputs([photos])) == ["a.JPG", "b.png", "e.tiff"]


def test_gimp_also_takes_its_own_xcf(photos):
    assert names(expand_inputs(photos, GIMP_EXTENSIONS)) == ["a.JPG", "b.png", "e.tiff", "f.xcf"]


def test_a_pattern_is_scanned_by_the_same_rule(photos):
    assert names(expand_inputs(os.path.join(photos, "*.png"))) == ["b.png"]
    assert names(expand_inputs(os.path.join(photos, "*"))) == ["a.JPG", "b.png", "e.tiff"]
    assert expand_inputs(os.path.join(photos, "nothing*")) == []


def test_a_named_file_is_taken_as_given_even_when_the_scan_would_leave_it_out(photos):
    gif, missing = os.path.join(photos, "g.gif"), os.path.join(photos, "missing.png")
    assert expand_inputs([gif, missing]) == [gif, missing]   # the batch reports the missing one


def test_several_specs_keep_their_order_and_path_separator_lists_are_split(photos):
    sub = os.path.join(photos, "sub")
    assert names(expand_inputs([sub, photos])) == ["d.png", "a.JPG", "b.png", "e.tiff"]
    both = os.path.join(photos, "b.png") + os.pathsep + sub
    assert names(expand_inputs(both)) == ["b.png", "d.png"]
    assert names(expand_inputs([both])) == ["b.png", "d.png"]


def test_a_name_that_exists_is_never_split(tmpdir):
    odd = tmpdir.join("x%sy.png" % os.pathsep)
    odd.write("x")
    assert expand_inputs(str(odd)) == [str(odd)]


def test_the_same_file_twice_is_taken_once_by_its_real_path(photos):
    b = os.path.join(photos, "b.png")
    again = os.path.join(photos, "sub", os.pardir, "b.png")
    assert expand_inputs([b, again, photos]) == [b, os.path.join(photos, "a.JPG"), os.path.join(photos, "e.tiff")]
    if hasattr(os, "symlink"):
        link = os.path.join(photos, "sub", "link.png")
        os.symlink(b, link)
        assert expand_inputs([link, b]) == [link]


def test_outputs_go_beside_the_input_or_into_the_output_folder():
    assert output_path("/in/x.y.png", "/out") == os.path.join("/out", "x.y.beauty.png")
    assert output_path("/in/x.jpg", None, ".jpg") == os.path.join("/in", "x.beauty.jpg")
    assert batchfiles.is_output("x.y.BEAUTY.tif") and not batchfiles.is_output("beauty.png")
