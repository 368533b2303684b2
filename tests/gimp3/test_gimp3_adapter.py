"""End to end: GIMP 3 adapter -> gi.repository.Gimp stand-ins -> library -> local AILab server."""
import os
import stat

import fakecore as core
import numpy as np
import pytest
from scenes import ADAPTER_FAULT_IDS, ADAPTER_FAULTS, expected_rgb, portrait, simple_engine, undo_balanced
from smart_beauty import effects
from smart_beauty.batch import LEDGER

LEVEL = 0.8
NAME = "Smart Beauty (level 0.80)"
SUCCESS = 3


def add_layer(g3, img, name, w, h, ltype, pixels=None, parent=None, position=0, offsets=(0, 0)):
    Gimp = g3.Gimp
    layer = Gimp.Layer.new(img, name, w, h, ltype, 100.0, Gimp.LayerMode.NORMAL)
    if pixels is not None:
        layer._m.pixels[...] = pixels
    img.insert_layer(layer, parent, position)
    layer.set_offsets(*offsets)
    return layer


def portrait_scene(g3):
    Gimp = g3.Gimp
    img = Gimp.Image.new(64, 48, Gimp.ImageBaseType.RGB)
    add_layer(g3, img, "Background", 64, 48, Gimp.ImageType.RGB_IMAGE, portrait(48, 64, 2))
    group = Gimp.GroupLayer.new(img, "group")
    img.insert_layer(group, None, 0)
    add_layer(g3, img, "under", 20, 20, Gimp.ImageType.RGB_IMAGE, portrait(20, 20, 3), parent=group)
    face = add_layer(g3, img, "face", 40, 30, Gimp.ImageType.RGB_IMAGE, portrait(30, 40, 4), parent=group,
                     offsets=(7, 5))
    return img, group, face


def status(result):
    return int(result.index(0))


def test_procedures_declare_the_contract_arguments(g3):
    proc = g3.pdb.lookup_procedure("python-fu-smart-beauty")
    strengths = list(effects.Effects.__slots__)
    assert [a.name for a in proc.get_arguments()] == ["run-mode", "image", "drawables", "beauty-level",
                                                      "multi-face", "backend", "preset"] + strengths + ["layer-mask"]
    mask = proc.get_arguments()[-1]
    assert (mask.value_type, mask.default_value) == ("boolean", False)
    for arg in proc.get_arguments()[7:-1]:      # optional: -1 = from the preset or the level
        assert (arg.value_type, arg.minimum, arg.maximum, arg.default_value) == ("double", -1.0, 1.0, -1.0)
    level = proc.get_arguments()[3]
    assert (level.value_type, level.minimum, level.maximum, level.default_value) == ("double", 0.0, 1.0, 0.8)
    assert proc.get_arguments()[4].value_type == "boolean"
    assert proc.menu_label == "Smart _Beauty..." and proc.menu_paths == ["<Image>/Filters/Enhance"]
    batch = g3.pdb.lookup_procedure("python-fu-smart-beauty-batch")
    assert [a.name for a in batch.get_arguments()] == ["run-mode", "input", "output-folder", "beauty-level",
                                                       "multi-face", "backend", "preset"] + strengths
    settings = g3.pdb.lookup_procedure("python-fu-smart-beauty-settings")
    assert [a.name for a in settings.get_arguments()] == ["run-mode"]
    for p in (proc, batch, settings):
        assert not [a for a in p.get_arguments() if "key" in a.name]


def test_success_new_layer_above_source_in_its_group(g3):
    img, group, face = portrait_scene(g3)
    before = core.snapshot(img._m)
    src = face._m.pixels.copy()
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=LEVEL)
    assert status(result) == SUCCESS, result.index(1)
    assert g3.session.seen == []
    children = group.get_children()
    assert [c.get_name() for c in children] == [NAME, "face", "under"]
    new = children[0]
    assert new.get_parent() == group
    assert tuple(new.get_offsets()) == (True, 7, 5)
    assert (new.get_width(), new.get_height()) == (40, 30)
    assert np.array_equal(new._m.rgba()[..., :3], simple_engine(src, LEVEL))
    assert np.array_equal(face._m.pixels, src)
    after = core.snapshot(img._m)
    assert after["layers"][1:] == before["layers"][1:]
    assert after["layers"][0]["children"][1:] == before["layers"][0]["children"]
    assert undo_balanced(img._m) and img._m.undo_starts == 1
    texts = [p[1] for p in g3.session.progress if p[0] == "text"]
    assert any("Uploading" in t for t in texts) and any("Retouching" in t or "queue" in t for t in texts)
    assert g3.session.flushes >= 1
    assert g3.leftovers() == []
    assert g3.session.pdb_errors == []


def test_each_selected_layer_gets_its_own_result(g3):
    Gimp = g3.Gimp
    img = Gimp.Image.new(40, 40, Gimp.ImageBaseType.RGB)
    a = add_layer(g3, img, "a", 20, 20, Gimp.ImageType.RGB_IMAGE, portrait(20, 20, 21))
    b = add_layer(g3, img, "b", 16, 16, Gimp.ImageType.RGB_IMAGE, portrait(16, 16, 22), offsets=(4, 4))
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[a, b], beauty_level=0.25)
    assert status(result) == SUCCESS
    # GIMP keeps layer names unique in an image: the second result is "... #1" (real GIMP 3.0.4)
    assert [lay.get_name() for lay in img.get_layers()] == [
        "Smart Beauty (level 0.25) #1", "b", "Smart Beauty (level 0.25)", "a"]


def test_alpha_restored_and_selection_mask(g3):
    Gimp = g3.Gimp
    img = Gimp.Image.new(50, 40, Gimp.ImageBaseType.RGB)
    add_layer(g3, img, "Background", 50, 40, Gimp.ImageType.RGB_IMAGE, portrait(40, 50, 5))
    rgba = portrait(30, 30, 6, channels=4)
    rgba[..., 3] = np.linspace(0, 255, 30).astype(np.uint8)[None, :]
    layer = add_layer(g3, img, "cutout", 30, 30, Gimp.ImageType.RGBA_IMAGE, rgba, offsets=(-5, 12))
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 20, 10, 10)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=0.5, multi_face=True)
    assert status(result) == SUCCESS, result.index(1)
    new = img.get_layers()[0]
    assert new.get_name() == "Smart Beauty (level 0.50)" and new.get_parent() is None
    assert tuple(new.get_offsets())[1:] == (-5, 12) and new.has_alpha()
    assert np.array_equal(new._m.pixels[..., 3], rgba[..., 3])
    # GIMP 3 exports the composite: fully transparent pixels carry no colour; compare the visible ones
    visible = rgba[..., 3] > 0
    diff = np.abs(new._m.pixels[..., :3].astype(int) - simple_engine(rgba[..., :3], 0.5).astype(int))
    assert diff[visible].max() <= 1
    expected_mask = np.zeros((30, 30), np.uint8)
    expected_mask[8:18, 5:15] = 255       # selection (0..10, 20..30) seen from offsets (-5, 12)
    assert np.array_equal(new.get_mask()._m.pixels, expected_mask)
    assert np.array_equal(layer._m.pixels, rgba) and layer.get_mask() is None
    assert undo_balanced(img._m)
    assert g3.leftovers() == []


@pytest.mark.parametrize("base,ltype", [("GRAY", "GRAY_IMAGE"), ("GRAY", "GRAYA_IMAGE"),
                                        ("INDEXED", "INDEXED_IMAGE")])
def test_gray_and_indexed_layers(g3, base, ltype):
    Gimp = g3.Gimp
    img = Gimp.Image.new(32, 24, Gimp.ImageBaseType.RGB)
    ltype_rgb = Gimp.ImageType.RGBA_IMAGE if ltype.endswith("A_IMAGE") else Gimp.ImageType.RGB_IMAGE
    layer = add_layer(g3, img, "l", 32, 24, ltype_rgb, portrait(24, 32, 7, channels=4 if "A_" in ltype else 3))
    if base == "GRAY":
        img.convert_grayscale()
    else:
        img.convert_indexed(0, 0, 32, False, False, "")
    src = layer._m.pixels.copy()
    expected = expected_rgb(layer._m, LEVEL)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=LEVEL)
    assert status(result) == SUCCESS, result.index(1)
    new = img.get_layers()[0]
    assert img.get_base_type() == getattr(Gimp.ImageBaseType, base)
    assert new.type() == getattr(Gimp.ImageType, ltype)
    assert np.array_equal(layer._m.pixels, src)
    if base == "GRAY":
        diff = np.abs(new._m.pixels[..., 0].astype(int) - core.luminance(expected).astype(int))
        visible = src[..., -1] > 0 if "A_" in ltype else np.ones(src.shape[:2], bool)
        assert diff[visible].max() <= 1
    else:
        assert np.array_equal(new._m.pixels[..., 0], core.nearest_index(expected, img._m.colormap))


def test_big_layer_scaled_for_the_service_and_back(g3):
    Gimp = g3.Gimp
    img = Gimp.Image.new(80, 4200, Gimp.ImageBaseType.RGB)
    src = portrait(4200, 80, 9)
    layer = add_layer(g3, img, "tall", 80, 4200, Gimp.ImageType.RGB_IMAGE, src, offsets=(0, 2))
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[layer], beauty_level=LEVEL)
    assert status(result) == SUCCESS, result.index(1)
    new = img.get_layers()[0]
    assert (new.get_width(), new.get_height()) == (80, 4200) and tuple(new.get_offsets())[1:] == (0, 2)
    # < 6: GIMP resamples in linear light; on uniform noise the composed change is a few levels short
    assert abs(new._m.pixels[..., :3].astype(int).mean() - simple_engine(src, LEVEL).astype(int).mean()) < 6
    assert g3.leftovers() == []


def test_refusals_return_an_error_status_and_one_message(g3):
    Gimp = g3.Gimp
    img, group, face = portrait_scene(g3)
    text = Gimp.TextLayer.new(img, "Hello", None, 12.0, 0)
    img.insert_layer(text, None, 0)
    dot = add_layer(g3, img, "dot", 1, 1, Gimp.ImageType.RGB_IMAGE)
    for drawables, words in (([group], "layer group"), ([text], "text layer"), ([dot], "1x1"),
                             ([], "Open an image")):
        del g3.session.messages[:], g3.session.shown_errors[:]
        before = core.snapshot(img._m)
        result = g3.run("python-fu-smart-beauty", image=img, drawables=drawables, beauty_level=LEVEL)
        assert status(result) == int(Gimp.PDBStatusType.EXECUTION_ERROR)
        assert len(g3.session.seen) == 1 and words in g3.session.seen[0]
        assert result.index(1).message == g3.session.seen[0]
        assert core.snapshot(img._m) == before


@pytest.mark.parametrize("gimp_version", ["3.0.4", "3.2.6"])
def test_a_failure_reaches_the_console_once_in_each_gimp(g3, capfd, gimp_version):
    """A script calling the procedure non-interactively: GIMP 3.0 prints the returned error itself,
    3.2 prints nothing, so there the plug-in writes the sentence on stderr. Either way: once. After a
    menu run (here Repeat, no dialog) GIMP shows the error itself and the plug-in prints nothing."""
    Gimp = g3.Gimp
    g3.session.gimp_version = gimp_version
    img, group, face = portrait_scene(g3)
    for run_mode in (Gimp.RunMode.NONINTERACTIVE, Gimp.RunMode.WITH_LAST_VALS):
        del g3.session.messages[:], g3.session.shown_errors[:]
        capfd.readouterr()
        result = g3.run("python-fu-smart-beauty", run_mode=run_mode, image=img, drawables=[],
                        beauty_level=LEVEL)
        assert status(result) == int(Gimp.PDBStatusType.EXECUTION_ERROR)
        sentence = result.index(1).message
        assert "Open an image" in sentence
        err = capfd.readouterr().err
        printed = [ln for ln in err.splitlines() if sentence in ln]
        assert g3.session.messages == []
        assert len(printed) + len(g3.session.shown_errors) == 1, (gimp_version, run_mode, err,
                                                                   g3.session.shown_errors)
        if run_mode == Gimp.RunMode.NONINTERACTIVE and gimp_version.startswith("3.2"):
            assert printed == ["python-fu-smart-beauty: " + sentence], err
        else:
            assert printed == [] and g3.session.shown_errors == [sentence]


def test_out_of_range_level_is_kept_out_by_the_config(g3):
    img, group, face = portrait_scene(g3)
    g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=1.5)
    assert g3.Gimp.warnings and group.get_children()[0].get_name() == NAME   # default 0.8 used




@pytest.mark.parametrize("fault,params", ADAPTER_FAULTS, ids=ADAPTER_FAULT_IDS)
def test_faults_leave_the_image_unchanged(g3, fault, params):
    g3.monkeypatch.setenv("SMART_BEAUTY_DEADLINE", "1")  # the slow faults end at this limit
    img, group, face = portrait_scene(g3)
    g3.ailab.inject(fault, **params)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=LEVEL)
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert len(g3.session.seen) == 1
    assert g3.ailab.valid_key not in g3.session.seen[0]
    assert core.snapshot(img._m) == before and undo_balanced(img._m)
    assert g3.leftovers() == []


def test_interactive_dialog_ok_and_cancel(g3):
    img, group, face = portrait_scene(g3)

    def ok(dialog):
        assert dialog.filled == ["beauty-level", "multi-face", "backend", "layer-mask"]
        dialog.config.set_property("beauty-level", 0.4)
        return True
    g3.monkeypatch.setattr(g3.GimpUi, "RESPONDER", ok)
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[face])
    assert status(result) == SUCCESS
    assert group.get_children()[0].get_name() == "Smart Beauty (level 0.40)"
    assert g3.GimpUi.dialogs[-1].destroyed
    g3.monkeypatch.setattr(g3.GimpUi, "RESPONDER", lambda dialog: False)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[face])
    assert status(result) == int(g3.Gimp.PDBStatusType.CANCEL)
    assert core.snapshot(img._m) == before


def test_dialog_on_the_cloud_asks_for_the_level_only_and_keeps_the_strengths_for_later(g3):
    """The dialog shows the preset and strengths disabled on the cloud (with the reason): OK then
    retouches with the beauty level alone -- not refused as a script passing strengths would be -- and
    the strengths stay in the arguments GIMP remembers."""
    img, group, face = portrait_scene(g3)

    def ok(dialog):
        dialog.config.set_property("beauty-level", 0.5)
        dialog.config.set_property("preset", "natural")       # what the disabled controls still hold
        dialog.config.set_property("slim", 0.0)
        seen["config"] = dialog.config
        return True
    seen = {}
    g3.monkeypatch.setattr(g3.GimpUi, "RESPONDER", ok)
    result = g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[face])
    assert status(result) == SUCCESS
    assert group.get_children()[0].get_name() == "Smart Beauty (level 0.50)"
    tasks = list(g3.ailab.stats()["tasks"].values())
    assert len(tasks) == 1 and tasks[0]["level"] == 0.5 and tasks[0]["effects"] is None
    assert seen["config"].get_property("preset") == "natural" and seen["config"].get_property("slim") == 0.0
    # the same arguments from a script: refused, nothing sent
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=0.5, preset="natural")
    assert status(result) != SUCCESS and len(g3.ailab.stats()["tasks"]) == 1


@pytest.mark.parametrize("gimp_version", ["3.0.4", "3.2.6"])
def test_dialogs_give_every_field_its_own_mnemonic(g3, gimp_version):
    """GIMP checks each dialog label's mnemonic (printed as "Procedure '...': no mnemonic for property
    backend" / "duplicate mnemonic l ... and dialog button load-defaults" by the real 3.2.6 / 3.0.4):
    both dialogs come out clean in both versions."""
    GimpUi = g3.GimpUi
    g3.session.gimp_version = gimp_version
    g3.monkeypatch.setattr(GimpUi, "mnemonic_warnings", [])
    g3.monkeypatch.setattr(GimpUi, "RESPONDER", lambda dialog: False)
    img, group, face = portrait_scene(g3)
    g3.run("python-fu-smart-beauty", run_mode=g3.Gimp.RunMode.INTERACTIVE, image=img, drawables=[face])
    g3.run("python-fu-smart-beauty-batch", run_mode=g3.Gimp.RunMode.INTERACTIVE)
    assert [d.procedure.get_name() for d in GimpUi.dialogs] == ["python-fu-smart-beauty",
                                                               "python-fu-smart-beauty-batch"]
    assert GimpUi.mnemonic_warnings == []
    # the model does flag what GIMP flags: 3.2's default radio frame for a choice has no mnemonic
    proc = g3.pdb.lookup_procedure("python-fu-smart-beauty")
    GimpUi.ProcedureDialog.new(proc, proc.create_config(), "t").fill(["beauty-level", "backend"])
    assert GimpUi.mnemonic_warnings == ([] if gimp_version == "3.0.4" else
                                        ["Procedure 'python-fu-smart-beauty': no mnemonic for property backend"])


@pytest.mark.parametrize("blocked", ["requests", "smart_beauty"])
def test_without_its_library_every_procedure_registers_and_says_the_fix(g3, capfd, blocked):
    """lib/ or requests missing beside the plug-in: registration needs only the standard library, so
    all four procedures (Check Setup too) are there and each answers with what is missing and the
    command that fixes it, once."""
    import sys
    Gimp = g3.Gimp
    for name in [m for m in sys.modules if m == "smart_beauty" or m.startswith("smart_beauty.")]:
        g3.monkeypatch.delitem(sys.modules, name)
    g3.monkeypatch.setitem(sys.modules, blocked, None)      # "import X" now raises ImportError
    g3.session.gimp_version = "3.2.6"                      # nobody else prints a batch error
    plugin = g3.reload()
    assert plugin.MISSING and plugin.MISSING.startswith("Smart Beauty cannot start: ")
    names = ["python-fu-smart-beauty", "python-fu-smart-beauty-batch", "python-fu-smart-beauty-settings",
             "python-fu-smart-beauty-check"]
    assert all(g3.pdb.lookup_procedure(n) is not None for n in names)
    img, group, face = portrait_scene(g3)
    before = core.snapshot(img._m)
    capfd.readouterr()
    for name in names:
        result = g3.run(name, image=img, drawables=[face]) if name == names[0] else g3.run(name)
        assert status(result) == int(Gimp.PDBStatusType.EXECUTION_ERROR), name
        sentence = result.index(1).message
        assert sentence == plugin.MISSING and "./install.sh" in sentence
        assert ("'requests'" in sentence) if blocked == "requests" else ("smart_beauty" in sentence), sentence
        err = capfd.readouterr().err
        assert err.count(sentence) == 1, err
    assert core.snapshot(img._m) == before


def test_missing_key(g3_offline):
    g3 = g3_offline
    img, group, face = portrait_scene(g3)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face])
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "Settings" in g3.session.seen[0]


def _write_png(path, rgb):
    from PIL import Image as PILImage
    PILImage.fromarray(rgb).save(path)


def test_batch_noninteractive(g3):
    src = os.path.join(g3.root, "in")
    out = os.path.join(g3.root, "out")
    os.makedirs(src)
    a = portrait(24, 32, 11)
    _write_png(os.path.join(src, "a.png"), a)
    _write_png(os.path.join(src, "b.png"), portrait(20, 20, 12))
    _write_png(os.path.join(src, "flat.png"), np.full((16, 16, 3), 128, np.uint8))
    result = g3.run("python-fu-smart-beauty-batch", input=src, output_folder=out, beauty_level=LEVEL)
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)      # one file failed
    assert "2 of 3" in result.index(1).message and "flat.png" in result.index(1).message
    assert sorted(os.listdir(out)) == [LEDGER, "a.beauty.png", "b.beauty.png"]   # + what each was made from
    from PIL import Image as PILImage
    got = np.asarray(PILImage.open(os.path.join(out, "a.beauty.png")).convert("RGB"))
    assert np.array_equal(got, simple_engine(a, LEVEL))
    assert g3.session.live_images() == []
    assert g3.leftovers() == []
    os.remove(os.path.join(src, "flat.png"))
    result = g3.run("python-fu-smart-beauty-batch", input=os.path.join(src, "*.png"), output_folder=out)
    assert status(result) == SUCCESS


def test_settings_noninteractive_and_interactive(g3, monkeypatch):
    result = g3.run("python-fu-smart-beauty-settings")
    assert status(result) == SUCCESS and g3.session.seen == ["Smart Beauty: your AILab API key works."]
    monkeypatch.delenv("AILAB_API_KEY")
    monkeypatch.setattr(g3.plugin, "_ask_key", lambda masked: g3.ailab.valid_key)
    result = g3.run("python-fu-smart-beauty-settings", run_mode=g3.Gimp.RunMode.INTERACTIVE)
    assert status(result) == SUCCESS
    key_file = os.path.join(g3.config, "api-key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    monkeypatch.setattr(g3.plugin, "_ask_key", lambda masked: None)
    result = g3.run("python-fu-smart-beauty-settings", run_mode=g3.Gimp.RunMode.INTERACTIVE)
    assert status(result) == int(g3.Gimp.PDBStatusType.CANCEL)
    monkeypatch.setenv("AILAB_API_KEY", "wrong-key-0000000000")
    del g3.session.messages[:], g3.session.shown_errors[:]
    result = g3.run("python-fu-smart-beauty-settings")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "wrong-key-0000000000" not in g3.session.seen[0]


def test_preset_and_strengths_reach_the_layer_job_by_the_core_rule(g3, monkeypatch):
    """The optional arguments (batch mode, scripts): a preset and the strengths that are not -1 become the
    job's Effects (effects.choose); -1 everywhere and no preset is the plain level, as before."""
    from smart_beauty import gimpbatch, layerjob

    seen = []
    monkeypatch.setattr(layerjob, "retouch_layer", lambda host, layer, level, multi_face, **kw: seen.append(
        (level, kw["effects"])))
    monkeypatch.setattr(gimpbatch, "run_batch", lambda host, src, out, level, multi_face, **kw: seen.append(
        (level, kw["effects"])))
    img, group, face = portrait_scene(g3)
    assert status(g3.run("python-fu-smart-beauty", image=img, drawables=[face], beauty_level=0.6)) == SUCCESS
    assert status(g3.run("python-fu-smart-beauty", image=img, drawables=[face], preset="No reshaping",
                         lips=0.0)) == SUCCESS
    assert status(g3.run("python-fu-smart-beauty-batch", input="x", output_folder="y", beauty_level=0.5,
                         slim=0.0, texture=0.9)) == SUCCESS
    assert seen == [(0.6, None),
                    (0.8, effects.BUILTIN["no-reshaping"].replace(lips=0.0)),
                    (0.5, effects.Effects.from_level(0.5).replace(slim=0.0, texture=0.9))]


def test_an_unknown_preset_is_one_sentence_and_nothing_is_sent(g3):
    img, group, face = portrait_scene(g3)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], preset="glamour")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "no preset called 'glamour'" in result.index(1).message and "natural" in result.index(1).message
    assert core.snapshot(img._m) == before and g3.ailab.stats()["counts"]["submit"] == 0


def test_strengths_on_the_cloud_are_refused_before_any_upload(g3):
    """The AILab service has one level: a preset there is refused in one sentence, never silently
    dropped, never paid for."""
    img, group, face = portrait_scene(g3)
    before = core.snapshot(img._m)
    result = g3.run("python-fu-smart-beauty", image=img, drawables=[face], backend="cloud", preset="natural")
    assert status(result) == int(g3.Gimp.PDBStatusType.EXECUTION_ERROR)
    assert "need the offline engine" in result.index(1).message
    assert core.snapshot(img._m) == before and g3.ailab.stats()["counts"]["submit"] == 0


def test_batch_dialog_on_the_cloud_asks_for_the_level_only_and_keeps_the_strengths_for_later(g3):
    """The batch dialog has the retouch dialog's presets and strengths (no preview); on the cloud they
    are shown disabled, so OK retouches every file with the level alone, where a script passing the
    same strengths is refused with nothing sent."""
    src = os.path.join(g3.root, "in")
    os.makedirs(src)
    _write_png(os.path.join(src, "a.png"), portrait(24, 32, 11))

    def ok(dialog):
        assert dialog.filled == ["input", "output-folder", "beauty-level", "multi-face", "backend"]
        dialog.config.set_property("input", src)
        dialog.config.set_property("output-folder", os.path.join(g3.root, "out"))
        dialog.config.set_property("beauty-level", 0.5)
        dialog.config.set_property("preset", "natural")
        dialog.config.set_property("slim", 0.0)
        return True
    g3.monkeypatch.setattr(g3.GimpUi, "RESPONDER", ok)
    result = g3.run("python-fu-smart-beauty-batch", run_mode=g3.Gimp.RunMode.INTERACTIVE)
    assert status(result) == SUCCESS
    tasks = list(g3.ailab.stats()["tasks"].values())
    assert len(tasks) == 1 and tasks[0]["level"] == 0.5 and tasks[0]["effects"] is None
    result = g3.run("python-fu-smart-beauty-batch", input=src, output_folder=os.path.join(g3.root, "out2"),
                    beauty_level=0.5, preset="natural")
    assert status(result) != SUCCESS and len(g3.ailab.stats()["tasks"]) == 1
