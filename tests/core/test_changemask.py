# -*- coding: utf-8 -*-
"""The mask rule's numbers (smart_beauty.changemask), shared by the GIMP layer mask and the CLI's --mask.
Single source: also runs under a real Python 2.7."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os

from smart_beauty import changemask


def test_radii_grow_with_the_shorter_side_and_never_vanish():
    assert changemask.radii(1000, 1500) == (10, 20)
    assert changemask.radii(4000, 3000) == (30, 60)         # 12 MP
    assert changemask.radii(20, 10) == (1, 2)
    assert changemask.radii(2, 2) == (1, 2)


def test_the_threshold_sits_between_a_rounding_step_and_a_change():
    # stored 8-bit differences: 1 is a rounding step (unchanged), 2 is a change
    assert 1 / 255.0 < changemask.threshold() < 2 / 255.0
    assert changemask.CHANGED_ABOVE == 1


def test_the_mask_file_sits_beside_its_output():
    out = os.path.join("out", "portrait.beauty.jpg")
    assert changemask.mask_path(out) == os.path.join("out", "portrait.beauty-mask.png")
