"""GIMP 3 stand-ins: python-fu-smart-beauty with layer-mask (the rule: smart_beauty.changemask; the steps:
layerjob.add_change_mask). The layer with its mask over the source composites to the plain result
(within a level), untouched areas are masked out, the user's selection is kept (and bounds the mask),
nothing is left behind, one undo group."""
import fakecore as core
import numpy as np
from scenes import composite_without_mask, face_on_white, undo_balanced
from smart_beauty import changemask

LEVEL = 0.8
SUCCESS = 3
BOX = (30, 20, 60, 50)         # the "face" in a 90 x 70 layer


def scene(g3, offsets=(5, 4)):
    Gimp = g3.Gimp
    img = Gimp.Image.new(100, 80, Gimp.ImageBaseType.RGB)
    layer = Gimp.Layer.new(img, "face", 90, 70, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    layer._m.pixels[:] = face_on_white(70, 90, BOX)
    layer.set_offsets(*offsets)
    return img, layer


def seen(img):
    """What the user sees of the image (the undo steps inside the failed group aside)."""
    state = core.snapshot(img._m)
    state.pop("undo_steps")
    return state


def run(g3, img, layer, **extra):
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=LEVEL, **extra)
    assert int(result.index(0)) == SUCCESS, result.index(1)
    return img.get_layers()[0]


def test_the_new_layer_is_masked_to_where_the_retouch_changed_it(g3):
    img, layer = scene(g3)
    source = layer._m.pixels.copy()
    new = run(g3, img, layer, layer_mask=True)
    assert [lay.get_name() for lay in img.get_layers()] == ["Smart Beauty (level 0.80)", "face"]
    mask = new.get_mask()
    assert mask is not None
    m = mask._m.pixels
    changed = np.abs(new._m.rgba()[..., :3].astype(int) - source.astype(int)).max(axis=-1) > changemask.CHANGED_ABOVE
    assert changed[BOX[1]:BOX[3], BOX[0]:BOX[2]].mean() > 0.9 and not changed[:10].any()
    assert (m[changed] == 255).all()                          # fully opaque where the retouch changed it
    grow, feather = changemask.radii(90, 70)
    far = np.ones_like(changed)
    far[max(0, BOX[1] - grow - 2 * feather):BOX[3] + grow + 2 * feather,
        max(0, BOX[0] - grow - 2 * feather):BOX[2] + grow + 2 * feather] = False
    assert far.any() and (m[far] == 0).all()                  # untouched areas masked out
    edge = m[BOX[1] - 2 * feather - grow:BOX[1], (BOX[0] + BOX[2]) // 2]
    assert list(edge) == sorted(edge) and 0 < edge[-1] < 255 and edge[0] == 0 and len(set(edge)) >= 3, edge  # soft
    composite = img._m.composite()
    plain = composite_without_mask(img._m, new._m)
    assert np.abs(composite.astype(int) - plain.astype(int)).max() <= 1   # source + masked layer == result
    # nothing left behind: no helper layers or channels, the (empty) selection as it was, one undo group
    assert len(img.get_layers()) == 2 and img._m.channels == []
    assert img._m.selection_is_empty()
    assert undo_balanced(img._m) and img._m.undo_starts == 1
    assert np.array_equal(layer._m.pixels, source)
    assert g3.leftovers() == [] and g3.session.pdb_errors == []


def test_without_the_option_there_is_no_mask(g3):
    img, layer = scene(g3)
    new = run(g3, img, layer)
    assert new.get_mask() is None


def test_the_mask_stays_within_the_selection_and_the_selection_is_kept(g3):
    Gimp = g3.Gimp
    img, layer = scene(g3, offsets=(0, 0))
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 45, 80)     # the left half of the face
    before = img._m.selection.copy()
    new = run(g3, img, layer, layer_mask=True)
    m = new.get_mask()._m.pixels
    assert (m[:, 45:] == 0).all() and (m[BOX[1]:BOX[3], BOX[0]:45] == 255).all()
    assert np.array_equal(img._m.selection, before) and img._m.channels == []
    assert undo_balanced(img._m)


def test_a_failing_step_leaves_the_image_and_the_selection_as_they_were(g3):
    Gimp = g3.Gimp
    img, layer = scene(g3, offsets=(0, 0))
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 10, 10, 50, 50)
    before, snapshot = img._m.selection.copy(), seen(img)

    def broken(self, pixels):
        raise RuntimeError("feather the selection: simulated failure")
    g3.monkeypatch.setattr(g3.plugin.GimpHost, "feather_selection", broken)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=LEVEL, layer_mask=True)
    assert int(result.index(0)) != SUCCESS
    assert "could not add the result as a new layer" in str(result.index(1))
    assert seen(img) == snapshot and np.array_equal(img._m.selection, before)
    assert img._m.channels == [] and undo_balanced(img._m)


def test_a_reduced_copy_and_a_transparent_layer_get_the_mask_too(g3, monkeypatch):
    """Layers over the service limits are composed at full size (compose_detail) before the mask is made;
    a layer with alpha keeps its alpha and gets the mask."""
    from smart_beauty import imagefile
    monkeypatch.setattr(imagefile, "fit_scale", lambda w, h: 0.5)
    img, layer = scene(g3, offsets=(0, 0))
    source = layer._m.pixels.copy()
    new = run(g3, img, layer, layer_mask=True)
    m = new.get_mask()._m.pixels
    changed = np.abs(new._m.rgba()[..., :3].astype(int) - source.astype(int)).max(axis=-1) > 1
    assert changed.any() and (m[changed] == 255).all() and m[:3, :3].max() == 0
    assert np.abs(img._m.composite().astype(int) - composite_without_mask(img._m, new._m).astype(int)).max() <= 1

    img2, layer2 = scene(g3, offsets=(0, 0))
    layer2.add_alpha()
    layer2._m.pixels[:5, :, 3] = 0
    new2 = run(g3, img2, layer2, layer_mask=True)
    assert new2.has_alpha() and (new2._m.pixels[:5, :, 3] == 0).all() and new2.get_mask() is not None
    assert np.abs(img2._m.composite().astype(int) - composite_without_mask(img2._m, new2._m).astype(int)).max() <= 1


def test_the_dialog_has_the_checkbox_and_it_is_remembered_by_the_config(g3):
    img, layer = scene(g3)

    def tick(dialog):
        assert "layer-mask" in dialog.filled
        assert dialog.config.get_property("layer-mask") is False      # off by default
        dialog.config.set_property("layer-mask", True)
        return True
    g3.monkeypatch.setattr(g3.GimpUi, "RESPONDER", tick)
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[layer])
    assert int(result.index(0)) == SUCCESS
    assert img.get_layers()[0].get_mask() is not None


def test_the_batch_procedure_has_no_layer_mask_argument(g3):
    """Its outputs are flattened PNGs, where a layer mask cannot live (the CLI's --mask writes the mask)."""
    batch = g3.pdb.lookup_procedure("python-fu-smart-beauty-batch")
    assert "layer-mask" not in [a.name for a in batch.get_arguments()]
