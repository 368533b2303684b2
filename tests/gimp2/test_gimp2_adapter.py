# -*- coding: utf-8 -*-
"""End to end: GIMP 2.10 adapter -> gimpfu stand-ins -> library -> local AILab server (real HTTP).

Single source for Python 2.7 and 3 (the real-Python-2.7 tier runs this file too)."""
from __future__ import absolute_import, division, print_function

import json
import os
import stat

import numpy as np
import pytest

import fakecore as core
from scenes import ADAPTER_FAULT_IDS, ADAPTER_FAULTS, expected_rgb, portrait, simple_engine, undo_balanced
from smart_beauty.batch import LEDGER

LEVEL = 0.8
NAME = "Smart Beauty (level 0.80)"


def new_image(g2, w, h, base=core.RGB):
    return g2.pdb.gimp_image_new(w, h, base)


def add_layer(g2, img, name, w, h, ltype, pixels=None, parent=None, position=0, offsets=(0, 0)):
    layer = g2.pdb.gimp_layer_new(img, w, h, ltype, name, 100.0, 28)
    if pixels is not None:
        layer._m.pixels[...] = pixels
    g2.pdb.gimp_image_insert_layer(img, layer, parent, position)
    g2.pdb.gimp_layer_set_offsets(layer, offsets[0], offsets[1])
    return layer


def portrait_scene(g2):
    """64x48 RGB image: background, and a group holding 'face' (40x30 at 7,5) above 'under'."""
    img = new_image(g2, 64, 48)
    add_layer(g2, img, "Background", 64, 48, core.RGB_IMAGE, portrait(48, 64, 2))
    group = g2.pdb.gimp_layer_group_new(img)
    g2.pdb.gimp_image_insert_layer(img, group, None, 0)
    add_layer(g2, img, "under", 20, 20, core.RGB_IMAGE, portrait(20, 20, 3), parent=group)
    face = add_layer(g2, img, "face", 40, 30, core.RGB_IMAGE, portrait(30, 40, 4), parent=group,
                     offsets=(7, 5))
    return img, group, face


def settle(img):
    """Forget set-up undo steps: a test only sees what the plug-in does."""
    img._m.undo_steps = 0


def test_procedures_are_registered_with_the_contract_signatures(g2):
    procs = g2.gimp._PROCS
    assert procs["python-fu-smart-beauty"].params == [
        ("INT32", "run-mode"), ("IMAGE", "image"), ("DRAWABLE", "drawable"), ("FLOAT", "beauty_level"),
        ("INT32", "multi_face")]
    assert [p[1] for p in procs["python-fu-smart-beauty-batch"].params] == [
        "run-mode", "input", "output_folder", "beauty_level", "multi_face"]
    assert procs["python-fu-smart-beauty-settings"].params == [("INT32", "run-mode")]
    info = g2.gimpfu._registered_plugins_["python_fu_smart_beauty"]
    assert info[5] == "Smart _Beauty..." and info[11] == "<Image>/Filters/Enhance"
    # the API key is no argument of any procedure
    for name in ("python-fu-smart-beauty", "python-fu-smart-beauty-batch", "python-fu-smart-beauty-settings"):
        assert not [p for p in procs[name].params if "key" in p[1].lower()]


@pytest.mark.parametrize("blocked", ["requests", "smart_beauty"])
def test_without_its_library_every_procedure_registers_and_says_the_fix(g2, blocked):
    """lib/ or requests missing beside the plug-in: registration needs only the standard library and
    gimpfu, so the four procedures (Check Setup too) are there, with the same signatures, and each
    answers with what is missing and the command that fixes it, once, and an error status."""
    import sys
    for name in [m for m in list(sys.modules) if m == "smart_beauty" or m.startswith("smart_beauty.")]:
        g2.monkeypatch.delitem(sys.modules, name)
    g2.monkeypatch.setitem(sys.modules, blocked, None)      # "import X" now raises ImportError
    plugin = g2.reload()
    assert plugin.MISSING.startswith("Smart Beauty cannot start: ") and "./install.sh" in plugin.MISSING
    assert ("'requests'" in plugin.MISSING) if blocked == "requests" else ("smart_beauty" in plugin.MISSING)
    procs = g2.gimp._PROCS
    assert [p[1] for p in procs["python-fu-smart-beauty"].params] == [
        "run-mode", "image", "drawable", "beauty_level", "multi_face"]
    img, group, face = portrait_scene(g2)
    before = core.snapshot(img._m)
    for name, args in (("python_fu_smart_beauty", (img, face, LEVEL, 0)),
                       ("python_fu_smart_beauty_batch", ("/nowhere", "/nowhere", LEVEL, 0)),
                       ("python_fu_smart_beauty_settings", ()), ("python_fu_smart_beauty_check", ())):
        del g2.session.messages[:]
        g2.fails(name, *args)
        assert g2.session.messages == [plugin.MISSING], name
    assert core.snapshot(img._m) == before


def test_success_new_layer_above_source_in_its_group(g2):
    img, group, face = portrait_scene(g2)
    before = core.snapshot(img._m)
    source_pixels = face._m.pixels.copy()
    settle(img)
    g2.pdb.python_fu_smart_beauty(img, face, LEVEL, 0)

    assert g2.session.messages == []
    children = group.layers
    assert [lay.name for lay in children] == [NAME, "face", "under"]
    new = children[0]
    assert new.parent == group
    assert new.offsets == (7, 5) and (new.width, new.height) == (40, 30)
    assert np.array_equal(new._m.rgba()[..., :3], simple_engine(source_pixels, LEVEL))
    assert (new._m.rgba()[..., 3] == 255).all()
    # source and everything else unchanged
    assert np.array_equal(face._m.pixels, source_pixels)
    after = core.snapshot(img._m)
    assert after["layers"][1:] == before["layers"][1:]
    assert after["layers"][0]["children"][1:] == before["layers"][0]["children"]
    # one undo group, balanced; progress followed the job; nothing left behind
    assert undo_balanced(img._m) and img._m.undo_starts == 1
    texts = [p[1] for p in g2.session.progress if p[0] == "text"]
    assert any("Uploading" in t for t in texts) and any("Downloading" in t for t in texts)
    assert g2.session.progress[0][0] == "init" and g2.session.progress[-1] == ("end",)
    assert g2.leftovers() == []
    assert img._m.active == [new._m]


def test_top_level_layer_and_alpha_restored(g2):
    img = new_image(g2, 50, 40)
    add_layer(g2, img, "Background", 50, 40, core.RGB_IMAGE, portrait(40, 50, 5))
    rgba = portrait(30, 30, 6, channels=4)
    rgba[..., 3] = np.linspace(0, 255, 30).astype(np.uint8)[None, :]
    layer = add_layer(g2, img, "cutout", 30, 30, core.RGBA_IMAGE, rgba, offsets=(-5, 12))
    g2.pdb.python_fu_smart_beauty(img, layer, 0.5, 1)
    assert g2.session.messages == []
    new = img.layers[0]
    assert [lay.name for lay in img.layers] == ["Smart Beauty (level 0.50)", "cutout", "Background"]
    assert new.parent is None and new.offsets == (-5, 12)
    assert new.has_alpha
    assert np.array_equal(new._m.pixels[..., 3], rgba[..., 3])
    assert np.array_equal(new._m.pixels[..., :3], simple_engine(rgba[..., :3], 0.5))
    assert np.array_equal(layer._m.pixels, rgba)
    assert undo_balanced(img._m)
    assert g2.leftovers() == []


def test_selection_becomes_the_layer_mask(g2):
    img, group, face = portrait_scene(g2)
    g2.pdb.gimp_image_select_rectangle(img, core.CHANNEL_OP_REPLACE, 10, 10, 20, 15)
    g2.pdb.python_fu_smart_beauty(img, face, LEVEL, 0)
    new = group.layers[0]
    mask = new.mask
    assert mask is not None
    expected = np.zeros((30, 40), np.uint8)
    expected[5:20, 3:23] = 255            # selection (10..30, 10..25) seen from offsets (7, 5)
    assert np.array_equal(mask._m.pixels, expected)
    assert face.mask is None
    assert undo_balanced(img._m) and img._m.undo_starts == 1


@pytest.mark.parametrize("base,ltype", [(core.GRAY, core.GRAY_IMAGE), (core.GRAY, core.GRAYA_IMAGE)])
def test_gray_layers(g2, base, ltype):
    img = new_image(g2, 40, 30, base)
    pixels = portrait(30, 40, 7, channels=core.CHANNELS[ltype])
    layer = add_layer(g2, img, "gray", 40, 30, ltype, pixels)
    expected = expected_rgb(layer._m, LEVEL)
    g2.pdb.python_fu_smart_beauty(img, layer, LEVEL, 0)
    assert g2.session.messages == []
    new = img.layers[0]
    assert img.base_type == core.GRAY                      # the user's image was not converted
    assert new.type == ltype                               # alpha kept, gray like the image
    diff = np.abs(new._m.pixels[..., 0].astype(int) - core.luminance(expected).astype(int))
    assert diff.max() <= 1
    assert np.array_equal(layer._m.pixels, pixels)
    if core.has_alpha_type(ltype):
        assert np.array_equal(new._m.pixels[..., 1], pixels[..., 1])
    assert g2.leftovers() == []


def test_indexed_layer(g2):
    img = new_image(g2, 32, 32, core.RGB)
    layer = add_layer(g2, img, "pal", 32, 32, core.RGB_IMAGE, portrait(32, 32, 8))
    g2.pdb.gimp_image_convert_indexed(img, 0, 0, 64, 0, 0, "")
    source = layer._m.pixels.copy()
    colormap = img._m.colormap.copy()
    g2.pdb.python_fu_smart_beauty(img, layer, LEVEL, 0)
    assert g2.session.messages == []
    new = img.layers[0]
    assert img.base_type == core.INDEXED and new.type == core.INDEXED_IMAGE
    assert np.array_equal(img._m.colormap, colormap)
    assert np.array_equal(layer._m.pixels, source)
    exp = simple_engine(colormap[source[..., 0]], LEVEL)
    assert np.array_equal(new._m.pixels[..., 0], core.nearest_index(exp, colormap))


def test_big_layer_is_scaled_down_for_the_service_and_back_up(g2):
    img = new_image(g2, 4300, 64)
    src = portrait(64, 4300, 9)
    layer = add_layer(g2, img, "wide", 4300, 64, core.RGB_IMAGE, src, offsets=(3, 0))
    g2.pdb.python_fu_smart_beauty(img, layer, LEVEL, 0)
    assert g2.session.messages == []
    new = img.layers[0]
    assert (new.width, new.height) == (4300, 64) and new.offsets == (3, 0)
    got = new._m.pixels[..., :3].astype(int).mean()   # real GIMP: the merged layer has alpha
    # < 6, not < 3: GIMP resamples in linear light, so on this uniform noise up(R) - up(s) carries a few
    # levels less of the change than the engine at full size (real GIMP and the stand-in alike)
    assert abs(got - simple_engine(src, LEVEL).astype(int).mean()) < 6
    assert np.array_equal(layer._m.pixels, src)
    assert g2.leftovers() == []


def _assert_refused(g2, img, drawable, words, level=LEVEL):
    before = core.snapshot(img._m) if img is not None else None
    g2.fails("python_fu_smart_beauty", img, drawable, level, 0)
    assert len(g2.session.messages) == 1, g2.session.messages
    msg = g2.session.messages[0]
    assert any(w in msg for w in words), msg
    if img is not None:
        assert core.snapshot(img._m) == before
    assert g2.leftovers() == []
    return msg


def test_refusals(g2):
    img, group, face = portrait_scene(g2)
    _assert_refused(g2, img, group, ["layer group"])
    del g2.session.messages[:]
    text = g2.pdb.gimp_text_layer_new(img, "Hello", "Sans", 12.0, 0)
    g2.pdb.gimp_image_insert_layer(img, text, None, 0)
    _assert_refused(g2, img, text, ["text layer"])
    del g2.session.messages[:]
    dot = add_layer(g2, img, "dot", 1, 1, core.RGB_IMAGE)
    _assert_refused(g2, img, dot, ["1x1"])
    del g2.session.messages[:]
    _assert_refused(g2, None, None, ["Open an image"])
    del g2.session.messages[:]
    face.add_mask(face.create_mask(core.ADD_MASK_WHITE))
    _assert_refused(g2, img, face.mask, ["mask"])


def test_level_out_of_range_is_refused(g2):
    img, group, face = portrait_scene(g2)
    _assert_refused(g2, img, face, ["between 0 and 1"], level=1.5)




@pytest.mark.parametrize("fault,params", ADAPTER_FAULTS, ids=ADAPTER_FAULT_IDS)
def test_every_fault_leaves_the_image_unchanged_with_one_message(g2, fault, params):
    g2.monkeypatch.setenv("SMART_BEAUTY_DEADLINE", "1")  # the slow faults end at this limit
    img, group, face = portrait_scene(g2)
    g2.ailab.inject(fault, **params)
    before = core.snapshot(img._m)
    g2.fails("python_fu_smart_beauty", img, face, LEVEL, 0)
    assert len(g2.session.messages) == 1, g2.session.messages
    msg = g2.session.messages[0]
    assert g2.ailab.valid_key not in msg and "Traceback" not in msg
    assert msg.endswith(".") or msg.endswith(")")
    assert core.snapshot(img._m) == before
    assert undo_balanced(img._m)
    assert g2.leftovers() == []
    assert g2.session.progress[-1] == ("end",)


def test_a_failure_from_the_menu_is_our_message_only(g2):
    """From the menu (gimpfu's dialog, then OK) a failure returns after its message: raising there would
    add gimpfu's traceback dialog. Filters > Repeat (RUN_WITH_LAST_VALS, no dialog) raises like batch
    mode; GIMP shows nothing more for it, pygimp sends no error text."""
    img, group, face = portrait_scene(g2)
    before = core.snapshot(img._m)
    g2.ailab.inject("task_failed")
    g2.gimpfu.run_from_menu("python-fu-smart-beauty", img, face)
    assert g2.gimpfu.ERROR_DIALOGS == []
    assert len(g2.session.messages) == 1 and "No face" in g2.session.messages[0]
    assert core.snapshot(img._m) == before
    del g2.session.messages[:]
    g2.reload()
    g2.ailab.inject("task_failed")
    with pytest.raises(RuntimeError, match="execution error"):
        g2.gimpfu.repeat_from_menu("python-fu-smart-beauty", img, face)
    assert g2.gimpfu.ERROR_DIALOGS == []
    assert len(g2.session.messages) == 1 and "No face" in g2.session.messages[0]
    assert core.snapshot(img._m) == before
    assert g2.leftovers() == []


def test_missing_key_is_one_clear_message(g2_offline):
    g2 = g2_offline
    img = new_image(g2, 20, 20)
    layer = add_layer(g2, img, "x", 20, 20, core.RGB_IMAGE, portrait(20, 20, 1))
    before = core.snapshot(img._m)
    g2.fails("python_fu_smart_beauty", img, layer, LEVEL, 0)
    assert len(g2.session.messages) == 1 and "Settings" in g2.session.messages[0]
    assert core.snapshot(img._m) == before
    assert g2.leftovers() == []


def _write_png(path, rgb):
    from PIL import Image as PILImage
    PILImage.fromarray(rgb).save(path)


def test_batch_noninteractive_continues_past_failures(g2):
    src = os.path.join(g2.root, "in")
    out = os.path.join(g2.root, "out")
    os.makedirs(src)
    a, b = portrait(24, 32, 11), portrait(20, 20, 12)
    _write_png(os.path.join(src, "a.png"), a)
    _write_png(os.path.join(src, "b.png"), b)
    _write_png(os.path.join(src, "flat.png"), np.full((16, 16, 3), 128, np.uint8))   # no face
    with open(os.path.join(src, "notes.txt"), "w") as f:
        f.write("not an image")
    g2.fails("python_fu_smart_beauty_batch", src, out, LEVEL, 0, run_mode=g2.gimpfu.RUN_NONINTERACTIVE)
    assert sorted(os.listdir(out)) == [LEDGER, "a.beauty.png", "b.beauty.png"]   # + what each was made from
    from PIL import Image as PILImage
    got = np.asarray(PILImage.open(os.path.join(out, "a.beauty.png")).convert("RGB"))
    assert np.array_equal(got, simple_engine(a, LEVEL))
    summary = g2.session.messages[-1]
    assert "2 of 3" in summary and "flat.png" in summary
    assert g2.session.live_images() == []
    assert g2.leftovers() == []


def test_batch_by_pattern(g2):
    src = os.path.join(g2.root, "in")
    os.makedirs(src)
    _write_png(os.path.join(src, "one.png"), portrait(16, 16, 13))
    _write_png(os.path.join(src, "two.jpg.png"), portrait(16, 16, 14))
    out = os.path.join(g2.root, "out2")
    g2.pdb.python_fu_smart_beauty_batch(os.path.join(src, "one*.png"), out, 0.3, 1)
    assert sorted(os.listdir(out)) == [LEDGER, "one.beauty.png"]


def test_interactive_dialog_values_are_remembered_across_sessions(g2):
    img, group, face = portrait_scene(g2)
    seen = []

    def dialog(proc_name, params, defaults):
        seen.append((proc_name, [p[1] for p in params], list(defaults)))
        return [0.35, True]
    g2.monkeypatch.setattr(g2.gimpfu, "DIALOG", dialog)
    g2.gimpfu.run_from_menu("python-fu-smart-beauty", img, face)
    assert seen == [("python_fu_smart_beauty", ["beauty_level", "multi_face"], [0.8, False])]
    assert group.layers[0].name == "Smart Beauty (level 0.35)"
    with open(os.path.join(g2.config, "settings.json")) as f:
        remembered = json.load(f)["remembered"]
    assert remembered == {"beauty_level": 0.35, "multi_face": True}
    assert "key" not in json.dumps(remembered).lower()
    # a new GIMP session: the shelf is gone, the settings file is not
    g2.session = g2.gimp._reset(os.path.join(g2.root, "profile2"), os.path.join(g2.root, "gimp-tmp2"))
    g2.reload()
    del seen[:]
    img2, group2, face2 = portrait_scene(g2)
    g2.gimpfu.run_from_menu("python-fu-smart-beauty", img2, face2)
    assert seen[0][2] == [0.35, True]


def test_settings_procedure_tests_the_key_noninteractively(g2):
    g2.pdb.python_fu_smart_beauty_settings()
    assert g2.session.messages == ["Smart Beauty: your AILab API key works."]


def test_settings_procedure_stores_the_key_from_the_password_dialog(g2, monkeypatch):
    monkeypatch.delenv("AILAB_API_KEY")
    monkeypatch.setattr(g2.plugin, "_ask_key", lambda masked: g2.ailab.valid_key)
    g2.pdb.python_fu_smart_beauty_settings(run_mode=g2.gimpfu.RUN_INTERACTIVE)
    assert g2.session.messages == ["Smart Beauty: your AILab API key works."]
    key_file = os.path.join(g2.config, "api-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # the key is in no procedure's saved values
    for key, blob in g2.session.data.items():
        assert g2.ailab.valid_key.encode("ascii") not in blob, key


def test_batch_stops_at_a_refused_key(g2, monkeypatch):
    src = os.path.join(g2.root, "in")
    out = os.path.join(g2.root, "out")
    os.makedirs(src)
    for i in range(5):
        _write_png(os.path.join(src, "p%d.png" % i), portrait(16, 16, 20 + i))
    monkeypatch.setenv("AILAB_API_KEY", "refused-key-5678")
    monkeypatch.setenv("SMART_BEAUTY_JOBS", "1")
    g2.fails("python_fu_smart_beauty_batch", src, out, LEVEL, 0)
    assert len(g2.session.messages) == 1
    summary = g2.session.messages[0]
    assert summary.count("API key was not accepted") == 1, summary      # said once, not once per file
    assert "4 not sent: the batch stopped there" in summary
    assert g2.ailab.stats()["counts"]["submit"] == 1 and os.listdir(out) == []
    assert g2.session.live_images() == [] and g2.leftovers() == []


def test_settings_procedure_reports_a_bad_key(g2, monkeypatch):
    monkeypatch.setenv("AILAB_API_KEY", "not-a-valid-key-123456")
    g2.fails("python_fu_smart_beauty_settings")
    assert len(g2.session.messages) == 1
    assert "not-a-valid-key-123456" not in g2.session.messages[0]
    assert "key" in g2.session.messages[0].lower()
