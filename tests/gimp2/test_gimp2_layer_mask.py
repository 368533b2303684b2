# -*- coding: utf-8 -*-
"""GIMP 2.10 stand-ins: python-fu-smart-beauty-masked (a procedure of its own: a fifth argument would break
every existing 4-argument call of python-fu-smart-beauty). The layer with its mask over the source composites
to the plain result (within a level), untouched areas are masked out, the selection is kept.

Single source for Python 2.7 and 3 (the real-Python-2.7 tier runs this file too)."""
from __future__ import absolute_import, division, print_function

import numpy as np

import fakecore as core
from scenes import composite_without_mask, face_on_white, undo_balanced
from smart_beauty import changemask

LEVEL = 0.8
BOX = (30, 20, 60, 50)


def scene(g2, offsets=(5, 4)):
    img = g2.pdb.gimp_image_new(100, 80, core.RGB)
    layer = g2.pdb.gimp_layer_new(img, 90, 70, core.RGB_IMAGE, "face", 100.0, 28)
    layer._m.pixels[...] = face_on_white(70, 90, BOX)
    g2.pdb.gimp_image_insert_layer(img, layer, None, 0)
    g2.pdb.gimp_layer_set_offsets(layer, offsets[0], offsets[1])
    return img, layer


def test_the_masked_procedure_has_the_contract_arguments_and_its_own_menu_entry(g2):
    procs = g2.gimp._PROCS
    assert procs["python-fu-smart-beauty-masked"].params == procs["python-fu-smart-beauty"].params
    info = g2.gimpfu._registered_plugins_["python_fu_smart_beauty_masked"]
    assert "Masked" in str(info)


def test_the_new_layer_is_masked_to_where_the_retouch_changed_it(g2):
    img, layer = scene(g2)
    source = layer._m.pixels.copy()
    g2.pdb.python_fu_smart_beauty_masked(img, layer, LEVEL, 0)
    assert g2.session.messages == []
    new = img.layers[0]
    assert [lay.name for lay in img.layers] == ["Smart Beauty (level 0.80)", "face"]
    mask = g2.pdb.gimp_layer_get_mask(new)
    assert mask is not None
    m = mask._m.pixels
    changed = np.abs(new._m.rgba()[..., :3].astype(int) - source.astype(int)).max(axis=-1) > changemask.CHANGED_ABOVE
    assert changed.any() and (m[changed] == 255).all()
    assert m[:5].max() == 0 and m[:, :5].max() == 0 and m[-5:].max() == 0        # far from the face: 0
    assert np.abs(img._m.composite().astype(int) - composite_without_mask(img._m, new._m).astype(int)).max() <= 1
    assert img._m.selection_is_empty() and img._m.channels == [] and undo_balanced(img._m)
    assert np.array_equal(layer._m.pixels, source) and g2.leftovers() == []


def test_the_plain_procedure_adds_no_mask_and_the_selection_bounds_the_mask(g2):
    img, layer = scene(g2, offsets=(0, 0))
    g2.pdb.python_fu_smart_beauty(img, layer, LEVEL, 0)
    assert g2.pdb.gimp_layer_get_mask(img.layers[0]) is None
    g2.pdb.gimp_image_select_rectangle(img, core.CHANNEL_OP_REPLACE, 0, 0, 45, 80)
    before = img._m.selection.copy()
    g2.pdb.python_fu_smart_beauty_masked(img, layer, LEVEL, 0)
    m = g2.pdb.gimp_layer_get_mask(img.layers[1])._m.pixels     # directly above the source
    assert (m[:, 45:] == 0).all() and (m[BOX[1]:BOX[3], BOX[0]:45] == 255).all()
    assert np.array_equal(img._m.selection, before) and img._m.channels == []
