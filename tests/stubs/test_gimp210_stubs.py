"""The GIMP 2.10 stand-ins behave as GIMP 2.10's gimpfu/pygimp source says GIMP does (and a real GIMP
2.10 does, tests/hosts).
Single source for Python 2.7 and 3."""

import os
import warnings

import numpy as np
import pytest

import fakecore as core
from scenes import portrait


@pytest.fixture
def g(tmpdir):
    import gimp
    import gimpfu
    gimp._reset(str(tmpdir.join("profile")), str(tmpdir.join("gimp-tmp")))
    gimpfu._registered_plugins_.clear()
    yield gimp
    gimpfu._registered_plugins_.clear()


def rgb_image(g, w=20, h=10):
    pdb = g.pdb
    img = pdb.gimp_image_new(w, h, core.RGB)
    layer = pdb.gimp_layer_new(img, w, h, core.RGB_IMAGE, "bg", 100.0, 28)
    layer._m.pixels[...] = portrait(h, w, 1)
    pdb.gimp_image_insert_layer(img, layer, None, 0)
    return img, layer


# -- the pdb calling convention (pygimp-pdb.c) ---------------------------------------------------

def test_run_mode_is_omitted_positionally_and_only_a_keyword(g, tmpdir):
    img, layer = rgb_image(g)
    path = str(tmpdir.join("x.png"))
    g.pdb.file_png_save2(img, layer, path, path, 0, 9, 0, 0, 0, 0, 0, 0, 0)
    assert os.path.exists(path)
    loaded = g.pdb.gimp_file_load_layer(img, path, run_mode=1)
    assert loaded.name == "x.png" and loaded.parent is None and loaded not in img.layers
    with pytest.raises(TypeError) as e:
        g.pdb.gimp_file_load_layer(1, img, path)
    assert "wrong number of parameters" in str(e.value)
    with pytest.raises(TypeError) as e:
        g.pdb.gimp_file_load_layer(img, path, image=img)
    assert "only 'run_mode' keyword argument accepted" in str(e.value)
    with pytest.raises(TypeError):
        g.pdb.gimp_image_delete(image=img)


def test_names_objects_and_returns(g):
    img, layer = rgb_image(g)
    assert g.pdb["gimp-image-width"](img) == 20
    assert g.pdb.gimp_image_width(img) == 20                      # _ -> -
    with pytest.raises(g.error) as e:
        g.pdb.gimp_no_such_procedure(img)
    assert "procedure not found" in str(e.value)
    with pytest.raises(KeyError):
        g.pdb["gimp-no-such-procedure"]
    with pytest.raises(TypeError) as e:
        g.pdb.gimp_image_width(img.ID)                            # a plain int is not an image
    assert "wrong parameter type" in str(e.value)
    assert g.pdb.gimp_drawable_offsets(layer) == (0, 0)           # several values -> tuple
    assert g.pdb.gimp_item_get_parent(layer) is None              # top level: -1 -> None
    assert g.pdb.gimp_image_get_layers(img) == (1, (layer.ID,))
    assert g.pdb.gimp_drawable_has_alpha(layer) == 0              # INT32 -> int
    assert g.pdb.gimp_image_undo_group_start(img) is None         # nothing -> None
    g.pdb.gimp_image_undo_group_end(img)


def test_failing_procedures_raise_runtime_error(g):
    img, layer = rgb_image(g)
    with pytest.raises(RuntimeError):
        g.pdb.gimp_image_insert_layer(img, layer, None, 0)        # already added
    with pytest.raises(RuntimeError):
        g.pdb.gimp_image_undo_group_end(img)                      # no group open
    with pytest.raises(RuntimeError):
        g.pdb.gimp_file_load_layer(img, "/nonexistent/x.png")


def test_undo_groups_nest_and_count(g):
    img, layer = rgb_image(g)
    g.pdb.gimp_image_undo_group_start(img)
    img.undo_group_start()
    assert img._m.undo_depth == 2
    img.undo_group_end()
    g.pdb.gimp_image_undo_group_end(img)
    assert (img._m.undo_depth, img._m.undo_starts, img._m.undo_ends, img._m.undo_groups) == (0, 2, 2, 1)


# -- objects (pygimp) --------------------------------------------------------------------------

def test_pygimp_objects(g):
    img = g.Image(30, 20, core.RGB)
    layer = g.Layer(img, "named", 10, 5, core.RGBA_IMAGE, 50.0, 28)   # gimp.Layer: name before size
    pdb_layer = g.pdb.gimp_layer_new(img, 10, 5, core.RGBA_IMAGE, "pdb", 100.0, 28)  # pdb: size first
    img.insert_layer(layer)
    img.add_layer(pdb_layer, 0)
    assert [lay.name for lay in img.layers] == ["pdb", "named"]
    assert layer.has_alpha is True and layer.opacity == 50.0 and layer.offsets == (0, 0)
    with pytest.raises(AttributeError):
        layer.offsets = (1, 1)                                     # read-only
    layer.set_offsets(3, 4)
    assert layer.offsets == (3, 4)
    assert img.active_layer == pdb_layer
    group = g.GroupLayer(img, "grp")
    img.insert_layer(group, None, 0)
    child = g.Layer(img, "child", 4, 4, core.RGB_IMAGE)
    img.insert_layer(child, group, 0)
    assert child.parent == group and group.children == [child]
    assert g.pdb.gimp_image_get_item_position(img, group) == 0
    assert g.pdb.gimp_item_is_group(group) == 1 and g.pdb.gimp_item_is_group(child) == 0


def test_insert_position_minus_one_is_above_the_active_layer(g):
    img, bg = rgb_image(g)
    a = g.pdb.gimp_layer_new(img, 5, 5, core.RGB_IMAGE, "a", 100.0, 28)
    g.pdb.gimp_image_insert_layer(img, a, None, 0)
    g.pdb.gimp_image_set_active_layer(img, bg)
    b = g.pdb.gimp_layer_new(img, 5, 5, core.RGB_IMAGE, "b", 100.0, 28)
    g.pdb.gimp_image_insert_layer(img, b, None, -1)
    assert [lay.name for lay in img.layers] == ["a", "b", "bg"]


def test_layer_types_must_match_the_image(g):
    img = g.pdb.gimp_image_new(8, 8, core.GRAY)
    rgb = g.pdb.gimp_layer_new(img, 8, 8, core.RGB_IMAGE, "rgb", 100.0, 28)
    with pytest.raises(RuntimeError):
        g.pdb.gimp_image_insert_layer(img, rgb, None, 0)


def test_conversions_between_images(g, tmpdir):
    gray = g.pdb.gimp_image_new(6, 4, core.GRAY)
    gl = g.pdb.gimp_layer_new(gray, 6, 4, core.GRAYA_IMAGE, "g", 100.0, 28)
    gl._m.pixels[...] = portrait(4, 6, 3, channels=2)
    g.pdb.gimp_image_insert_layer(gray, gl, None, 0)
    rgb = g.pdb.gimp_image_new(6, 4, core.RGB)
    copy = g.pdb.gimp_layer_new_from_drawable(gl, rgb)
    assert copy.type == core.RGBA_IMAGE
    assert np.array_equal(copy._m.pixels[..., 0], gl._m.pixels[..., 0])
    assert np.array_equal(copy._m.pixels[..., 3], gl._m.pixels[..., 1])
    assert gl._m.type == core.GRAYA_IMAGE                          # the source is untouched
    # a colour file loaded into a gray image becomes gray
    img, layer = rgb_image(g, 6, 4)
    path = str(tmpdir.join("c.png"))
    g.pdb.file_png_save_defaults(img, layer, path, path)
    loaded = g.pdb.gimp_file_load_layer(gray, path)
    assert loaded.type == core.GRAY_IMAGE
    # indexed
    g.pdb.gimp_image_convert_indexed(img, 0, 0, 8, 0, 0, "")
    assert img.base_type == core.INDEXED and layer.type == core.INDEXED_IMAGE
    n, cmap = g.pdb.gimp_image_get_colormap(img)
    assert n % 3 == 0 and 0 < n <= 24


def test_png_save_writes_the_drawable_at_its_own_size(g, tmpdir):
    from PIL import Image as PILImage
    img, bg = rgb_image(g, 20, 10)
    small = g.pdb.gimp_layer_new(img, 4, 3, core.RGBA_IMAGE, "s", 100.0, 28)
    g.pdb.gimp_image_insert_layer(img, small, None, 0)
    g.pdb.gimp_layer_set_offsets(small, 5, 5)
    path = str(tmpdir.join("s.png"))
    g.pdb.file_png_save2(img, small, path, path, 0, 9, 0, 0, 0, 0, 0, 0, 1)
    assert PILImage.open(path).size == (4, 3) and PILImage.open(path).mode == "RGBA"


def test_masks_selection_and_alpha(g):
    img, bg = rgb_image(g, 10, 10)
    layer = g.pdb.gimp_layer_new(img, 4, 4, core.RGBA_IMAGE, "l", 100.0, 28)
    layer._m.pixels[..., 3] = 77
    g.pdb.gimp_image_insert_layer(img, layer, None, 0)
    g.pdb.gimp_layer_set_offsets(layer, 2, 2)
    assert g.pdb.gimp_selection_is_empty(img) == 1
    g.pdb.gimp_image_select_rectangle(img, core.CHANNEL_OP_REPLACE, 0, 0, 3, 10)
    assert g.pdb.gimp_selection_is_empty(img) == 0
    assert g.pdb.gimp_selection_bounds(img) == (1, 0, 0, 3, 10)
    mask = g.pdb.gimp_layer_create_mask(layer, core.ADD_MASK_SELECTION)
    assert mask._m.pixels[:, 0].tolist() == [255] * 4 and mask._m.pixels[:, 1:].max() == 0
    g.pdb.gimp_layer_add_mask(layer, mask)
    with pytest.raises(RuntimeError):
        g.pdb.gimp_layer_add_mask(layer, g.pdb.gimp_layer_create_mask(layer, core.ADD_MASK_WHITE))
    g.pdb.gimp_layer_remove_mask(layer, core.MASK_APPLY)
    assert layer._m.pixels[:, 0, 3].tolist() == [77] * 4 and layer._m.pixels[:, 1:, 3].max() == 0
    alpha = g.pdb.gimp_layer_create_mask(layer, core.ADD_MASK_ALPHA)
    assert alpha._m.pixels[0, 0] == 77
    wrong = g.pdb.gimp_layer_create_mask(bg, core.ADD_MASK_WHITE)
    with pytest.raises(RuntimeError):
        g.pdb.gimp_layer_add_mask(layer, wrong)                    # different dimensions


def test_text_layers_and_session(g):
    img, bg = rgb_image(g)
    text = g.pdb.gimp_text_layer_new(img, "Hi", "Sans", 10.0, 0)
    g.pdb.gimp_image_insert_layer(img, text, None, 0)
    assert g.pdb.gimp_item_is_text_layer(text) == 1 and g.pdb.gimp_item_is_text_layer(bg) == 0
    g.message("hello")
    g.progress_init("work")
    g.progress_update(0.5)
    g.pdb.gimp_progress_end()
    session = g._session[0]
    assert session.messages == ["hello"]
    assert session.progress == [("init", "work"), ("update", 0.5), ("end",)]
    t = g.pdb.gimp_temp_name("png")
    assert t.endswith(".png") and t.startswith(session.tempdir)
    assert g.directory == session.directory


# -- gimpfu -------------------------------------------------------------------------------------

def test_register_prefixes_and_canonicalises_names(g):
    import gimpfu

    def fn(image, drawable, amount):
        return None
    gimpfu.register("my_probe", "b", "h", "a", "c", "2026", "Probe _Label...", "*",
                    [(gimpfu.PF_IMAGE, "image", "Input image", None),
                     (gimpfu.PF_DRAWABLE, "drawable", "Input drawable", None),
                     (gimpfu.PF_SLIDER, "amount", "Amount", 0.5, (0.0, 1.0, 0.1))], [], fn,
                    menu="<Image>/Filters/Enhance")
    gimpfu.main()
    assert "python-fu-my-probe" in g._PROCS
    assert g._PROCS["python-fu-my-probe"].params == [("INT32", "run-mode"), ("IMAGE", "image"),
                                                     ("DRAWABLE", "drawable"), ("FLOAT", "amount")]
    assert g.pdb.gimp_procedural_db_proc_exists("python_fu_my_probe") == 1


def test_old_style_label_adds_image_params_twice_when_listed(g):
    import gimpfu
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        gimpfu.register("python_fu_old", "b", "h", "a", "c", "2026", "<Image>/Filters/Old...", "*",
                        [(gimpfu.PF_IMAGE, "image", "Input image", None),
                         (gimpfu.PF_DRAWABLE, "drawable", "Input drawable", None)], [], lambda *a: None)
    gimpfu.main()
    assert len(g._PROCS["python-fu-old"].params) == 5            # run-mode + 2 auto + 2 listed


def test_register_rejects_bad_definitions(g):
    import gimpfu
    with pytest.raises(gimpfu.error):
        gimpfu.register("bad name", "b", "h", "a", "c", "d", "L", "*", [], [], lambda: None)
    with pytest.raises(gimpfu.error):
        gimpfu.register("ok", "b", "h", "a", "c", "d", "L", "*", [(gimpfu.PF_INT, "x", "X")], [], lambda x: x)


def test_run_modes_shelf_and_errors(g, tmpdir):
    import gimpfu
    seen = []

    def fn(image, drawable, level, flag):
        seen.append((level, flag))

    def boom(image, drawable, level, flag):
        raise ValueError("boom")
    for name, f in (("python_fu_t", fn), ("python_fu_boom", boom)):
        gimpfu.register(name, "b", "h", "a", "c", "d", "T...", "*",
                        [(gimpfu.PF_IMAGE, "image", "Input image", None),
                         (gimpfu.PF_DRAWABLE, "drawable", "Input drawable", None),
                         (gimpfu.PF_SLIDER, "level", "Level", 0.8, (0.0, 1.0, 0.1)),
                         (gimpfu.PF_TOGGLE, "flag", "Flag", False)], [], f, menu="<Image>/Filters")
    gimpfu.main()
    img, layer = rgb_image(g)
    from gimpshelf import shelf
    g.pdb.python_fu_t(img, layer, 0.3, 1)                          # non-interactive: no shelf
    assert seen[-1] == (0.3, 1) and not shelf.has_key("python-fu-save--python_fu_t")
    gimpfu.DIALOG = lambda name, params, defaults: [0.6, True]
    try:
        gimpfu.run_from_menu("python-fu-t", img, layer)             # interactive: dialog, then shelf
    finally:
        gimpfu.DIALOG = gimpfu._default_dialog
    assert seen[-1] == (0.6, True)
    assert shelf["python-fu-save--python_fu_t"][2:] == (0.6, True)
    g.pdb.python_fu_t(img, layer, 0.0, False, run_mode=gimpfu.RUN_WITH_LAST_VALS)
    # through the PDB a toggle arrives as INT32 (int 0), which gimpfu's type count does not take for
    # a bool: the toggle comes from the shelf
    assert seen[-1] == (0.0, True)
    gimpfu._run("python_fu_t", (gimpfu.RUN_WITH_LAST_VALS, img, layer, 0.0, False))
    assert seen[-1] == (0.0, False)                                 # all given (right types): as given
    gimpfu._run("python_fu_t", (gimpfu.RUN_WITH_LAST_VALS, img, layer))
    assert seen[-1] == (0.0, False)                                 # last values from the shelf
    with pytest.raises(RuntimeError) as e:
        g.pdb.python_fu_boom(img, layer, 0.5, 0)
    assert str(e.value) == "execution error"
    g._reset(str(tmpdir.join("p2")), str(tmpdir.join("t2")))       # a new GIMP session
    assert not shelf.has_key("python-fu-save--python_fu_t")
