"""The gi.repository.Gimp stand-in behaves as a real GIMP 3.0.4 does (measured headless; the real tier
is tests/hosts)."""
import os

import fakecore as core
import numpy as np
import pytest
from scenes import portrait


@pytest.fixture
def G(tmp_path):
    from gi.repository import Gimp
    Gimp._reset(str(tmp_path / "profile"), str(tmp_path / "gimp-tmp"))
    return Gimp


def test_require_version_and_imports():
    import gi
    gi.require_version("Gimp", "3.0")
    with pytest.raises(ValueError):
        gi.require_version("Gimp", "2.0")
    from gi.repository import Gegl, Gio, GLib, GObject  # noqa: F401


def test_images_layers_offsets_and_positions(G):
    img = G.Image.new(40, 30, G.ImageBaseType.RGB)
    bg = G.Layer.new(img, "bg", 40, 30, G.ImageType.RGB_IMAGE, 100.0, G.LayerMode.NORMAL)
    assert img.insert_layer(bg, None, 0) is True
    group = G.GroupLayer.new(img, "g")
    img.insert_layer(group, None, 0)
    child = G.Layer.new(img, "c", 5, 5, G.ImageType.RGBA_IMAGE, 100.0, G.LayerMode.NORMAL)
    img.insert_layer(child, group, 0)
    child.set_offsets(3, -2)
    assert tuple(child.get_offsets()) == (True, 3, -2)          # gboolean + 2 out arguments
    assert child.get_parent() == group and bg.get_parent() is None
    assert img.get_item_position(group) == 0 and img.get_item_position(bg) == 1
    assert [lay.get_name() for lay in img.get_layers()] == ["g", "bg"]
    assert group.is_group() and not child.is_group() and child.has_alpha() and not bg.has_alpha()
    assert img.get_selected_layers() == [child]
    text = G.TextLayer.new(img, "Hi", None, 12.0, 0)
    img.insert_layer(text, None, 0)
    assert text.is_text_layer() and not bg.is_text_layer()


def test_failures_return_false_and_set_the_last_error(G):
    from gi.repository import Gio
    img = G.Image.new(10, 10, G.ImageBaseType.RGB)
    layer = G.Layer.new(img, "l", 10, 10, G.ImageType.RGB_IMAGE, 100.0, G.LayerMode.NORMAL)
    img.insert_layer(layer, None, 0)
    assert img.insert_layer(layer, None, 0) is False              # already added: no exception
    assert "gimp-image-insert-layer" in G.get_pdb().get_last_error()
    assert img.undo_group_end() is False                          # no group open
    missing = Gio.File.new_for_path("/nonexistent.png")
    assert G.file_load_layer(G.RunMode.NONINTERACTIVE, img, missing) is None


def test_files_temp_and_composite_export(G, tmp_path):
    from gi.repository import Gio
    from PIL import Image as PILImage
    img = G.Image.new(8, 6, G.ImageBaseType.RGB)
    bg = G.Layer.new(img, "bg", 8, 6, G.ImageType.RGB_IMAGE, 100.0, G.LayerMode.NORMAL)
    bg._m.pixels[...] = 10
    img.insert_layer(bg, None, 0)
    top = G.Layer.new(img, "top", 2, 2, G.ImageType.RGB_IMAGE, 100.0, G.LayerMode.NORMAL)
    top._m.pixels[...] = 200
    img.insert_layer(top, None, 0)
    top.set_offsets(1, 1)
    out = tmp_path / "out.png"
    assert G.file_save(G.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(str(out)), None) is True
    arr = np.asarray(PILImage.open(str(out)))
    assert arr.shape == (6, 8, 3) and arr[1, 1, 0] == 200 and arr[0, 0, 0] == 10
    loaded = G.file_load(G.RunMode.NONINTERACTIVE, Gio.File.new_for_path(str(out)))
    assert (loaded.get_width(), loaded.get_height()) == (8, 6)
    layer = G.file_load_layer(G.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(str(out)))
    assert layer.get_parent() is None and layer not in img.get_layers()   # not inserted
    t = G.temp_file("png")
    assert t.get_path().endswith(".png") and not os.path.exists(t.get_path())


def test_masks_and_selection(G):
    img = G.Image.new(10, 10, G.ImageBaseType.RGB)
    layer = G.Layer.new(img, "l", 4, 4, G.ImageType.RGBA_IMAGE, 100.0, G.LayerMode.NORMAL)
    layer._m.pixels[..., 3] = 99
    img.insert_layer(layer, None, 0)
    layer.set_offsets(2, 2)
    assert G.Selection.is_empty(img)
    img.select_rectangle(G.ChannelOps.REPLACE, 0, 0, 3, 10)
    assert not G.Selection.is_empty(img)
    mask = layer.create_mask(G.AddMaskType.SELECTION)
    assert mask.is_layer_mask() and not layer.is_layer_mask()
    assert layer.add_mask(mask) is True and layer.get_mask() == mask
    assert layer.remove_mask(G.MaskApplyMode.APPLY) is True
    assert layer._m.pixels[:, 0, 3].tolist() == [99] * 4 and layer._m.pixels[:, 1:, 3].max() == 0


def test_conversion_to_rgb_copy_keeps_the_source(G):
    img = G.Image.new(6, 4, G.ImageBaseType.RGB)
    layer = G.Layer.new(img, "l", 6, 4, G.ImageType.RGB_IMAGE, 100.0, G.LayerMode.NORMAL)
    layer._m.pixels[...] = portrait(4, 6, 1)
    img.insert_layer(layer, None, 0)
    img.convert_indexed(0, 0, 16, False, False, "")
    assert layer.type() == G.ImageType.INDEXED_IMAGE and img.get_base_type() == G.ImageBaseType.INDEXED
    tmp = G.Image.new(6, 4, G.ImageBaseType.RGB)
    copy = G.Layer.new_from_drawable(layer, tmp)
    assert copy.type() == G.ImageType.RGB_IMAGE
    assert np.array_equal(copy._m.pixels, img._m.colormap[layer._m.pixels[..., 0]])
    assert layer.type() == G.ImageType.INDEXED_IMAGE


def test_procedures_config_and_main(G):
    from gi.repository import GLib, GObject
    calls = []

    def run(procedure, run_mode, image, drawables, config, data):
        calls.append((run_mode, image, drawables, config.get_property("amount")))
        return procedure.new_return_values(G.PDBStatusType.SUCCESS, GLib.Error())

    class P(G.PlugIn):
        def do_query_procedures(self):
            return ["python-fu-probe"]

        def do_create_procedure(self, name):
            proc = G.ImageProcedure.new(self, name, G.PDBProcType.PLUGIN, run, None)
            proc.add_double_argument("amount", "_Amount", "a", 0.0, 1.0, 0.5, GObject.ParamFlags.READWRITE)
            return proc

    G.main(P.__gtype__, [])
    proc = G.get_pdb().lookup_procedure("python-fu-probe")
    assert [a.name for a in proc.get_arguments()] == ["run-mode", "image", "drawables", "amount"]
    img = G.Image.new(4, 4, G.ImageBaseType.RGB)
    config = proc.create_config()
    config.set_property("run-mode", G.RunMode.NONINTERACTIVE)
    config.set_property("image", img)
    config.set_core_object_array("drawables", [])
    config.set_property("amount", 2.0)                            # out of range: warned, ignored
    assert G.warnings and config.get_property("amount") == 0.5
    with pytest.raises(TypeError):
        config.set_property("no-such", 1)
    result = proc.run(config)
    assert result.index(0) == G.PDBStatusType.SUCCESS and calls == [(G.RunMode.NONINTERACTIVE, img, [], 0.5)]
    config.set_property("image", None)
    assert proc.run(config).index(0) == G.PDBStatusType.CALLING_ERROR


def test_progress_and_messages(G):
    G.progress_init("x")
    G.progress_set_text("y")
    G.progress_update(0.25)
    G.progress_end()
    G.message("hello")
    s = G._session[0]
    assert s.progress == [("init", "x"), ("text", "y"), ("update", 0.25), ("end",)] and s.messages == ["hello"]
    assert G.directory() == s.directory
    assert core.RGB == int(G.ImageBaseType.RGB)
