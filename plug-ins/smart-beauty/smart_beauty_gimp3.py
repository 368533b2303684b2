"""Smart Beauty for GIMP 3: the host class and the procedures behind ``smart-beauty.py``.

GIMP runs ``smart-beauty.py`` (the entry script: the library's path, then ``Gimp.main``); this module
is importable without running anything. It translates to libgimp 3 only: the workflow (export,
limits, the AILab job, inserting the result) lives in ``smart_beauty.layerjob`` and
``smart_beauty.gimpbatch``; :class:`GimpHost` fills in their host interface (``smart_beauty.host``)
and :class:`SmartBeauty` declares the procedures:

* ``python-fu-smart-beauty`` (run-mode, image, drawables, beauty-level 0..1, multi-face, ..., layer-mask)
* ``python-fu-smart-beauty-batch`` (run-mode, input, output-folder, beauty-level, multi-face)
* ``python-fu-smart-beauty-settings`` (run-mode) -- stores the API key typed into a password field
  (interactive only; never a procedure argument, so never in GIMP's saved settings) and tests it.
* ``python-fu-smart-beauty-check`` (run-mode) -- Check Setup.

The API key comes from AILAB_API_KEY or the Smart Beauty config folder; the service address from
AILAB_API_BASE or the config file. GIMP ends a plug-in whose progress bar is cancelled, so the host
has nothing to poll for a cancel; the image is only changed at the very end, in one undo group.
"""
import os
import sys

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402
from gi.repository import Gio, GLib, GObject  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRY = os.path.join(HERE, "smart-beauty.py")   # the file GIMP runs (Check Setup names it)

INSTALL_FIX = ("run %s again from the Smart Beauty folder you downloaded (it puts lib/ and, if "
               "needed, vendor/ with requests beside this plug-in), then restart GIMP" %
               ("py install.py" if os.name == "nt" else "./install.sh"))


def _missing(exc):
    """The one sentence for a plug-in whose library (lib/) or one of its packages cannot be imported."""
    name = getattr(exc, "name", None) or str(exc)
    if name.split(".")[0] == "smart_beauty":
        what = "its library (smart_beauty) is not in %s" % os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                        "lib")
    else:
        what = "the Python package '%s' it needs cannot be imported (%s)" % (name.split(".")[0], exc)
    return "Smart Beauty cannot start: %s. To fix it, %s." % (what, INSTALL_FIX)


# Registration needs only the standard library and libgimp: when lib/ or requests is missing, every
# procedure is still registered (Check Setup too) and answers with what is missing and the fix.
try:
    from smart_beauty import doctor, effects, errors, gimpbatch, layerjob, localserver
    from smart_beauty import host as sb_host
    from smart_beauty import settings as sb_settings
    MISSING = None
except ImportError as _e:
    doctor = effects = errors = gimpbatch = sb_host = layerjob = localserver = sb_settings = None
    MISSING = _missing(_e)

PROC = "python-fu-smart-beauty"
PROC_BATCH = "python-fu-smart-beauty-batch"
PROC_SETTINGS = "python-fu-smart-beauty-settings"
PROC_CHECK = "python-fu-smart-beauty-check"
CHECK_MENU = "<Image>/Filters/Enhance/Smart Beauty"
#: the per-effect arguments, named as smart_beauty.effects names the strengths (a test keeps them equal):
#: spelled out here because the procedures register even when the library cannot be imported
EFFECT_ARGS = ("smooth", "tone", "slim", "eyes", "lips", "texture")
BACKEND_LABELS = (("auto", "Automatic (cloud if a key is set, else offline)"),
                  ("cloud", "AILab cloud service"), ("local", "Offline engine on this computer"))
MENU = "<Image>/Filters/Enhance"
RW = GObject.ParamFlags.READWRITE
NONINTERACTIVE = Gimp.RunMode.NONINTERACTIVE
# The legacy grain modes: exactly lower -/+ upper around 128 on the stored values (see layerjob).
LAYER_MODES = {} if MISSING else {sb_host.MODE_NORMAL: Gimp.LayerMode.NORMAL,
                                  sb_host.MODE_GRAIN_EXTRACT: Gimp.LayerMode.GRAIN_EXTRACT_LEGACY,
                                  sb_host.MODE_GRAIN_MERGE: Gimp.LayerMode.GRAIN_MERGE_LEGACY,
                                  sb_host.MODE_DIFFERENCE: Gimp.LayerMode.DIFFERENCE_LEGACY}
CHANNEL_OPS = {} if MISSING else {sb_host.SELECT_ADD: Gimp.ChannelOps.ADD,
                                  sb_host.SELECT_REPLACE: Gimp.ChannelOps.REPLACE,
                                  sb_host.SELECT_INTERSECT: Gimp.ChannelOps.INTERSECT}


def _check(result, what):
    """libgimp reports a failed PDB call by returning FALSE/None, not by raising."""
    if result is False or result is None:
        raise RuntimeError("%s: %s" % (what, Gimp.get_pdb().get_last_error()))
    return result


class GimpHost(object if MISSING else sb_host.Host):
    """layerjob's host interface with libgimp 3 calls."""

    def __init__(self, image=None):
        self.image = image
        self._text = None
        self.failures = []   # handed back with EXECUTION_ERROR: GIMP shows them, once

    # -- the layer
    def describe(self, layer):
        if self.image is None or layer is None:
            return None
        if layer.is_layer_mask():
            kind = sb_host.KIND_MASK
        elif not layer.is_layer():
            kind = sb_host.KIND_OTHER
        elif layer.is_group():
            kind = sb_host.KIND_GROUP
        elif layer.is_text_layer():
            kind = sb_host.KIND_TEXT
        else:
            kind = sb_host.KIND_LAYER
        offsets = tuple(layer.get_offsets())[-2:]  # (success, x, y)
        base = "gray" if layer.is_gray() else ("indexed" if layer.is_indexed() else "rgb")
        return sb_host.LayerInfo(kind, layer.get_width(), layer.get_height(), offsets, layer.has_alpha(), base)

    def export_png(self, layer, path, width, height):
        # A copy in a temporary RGB image: gray/indexed become RGB there, the user's image is untouched.
        tmp = _check(Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB),
                     "new image")
        try:
            copy = _check(Gimp.Layer.new_from_drawable(layer, tmp), "copy the layer")
            _check(tmp.insert_layer(copy, None, 0), "insert the copy")
            if copy.get_mask() is not None:
                copy.remove_mask(Gimp.MaskApplyMode.DISCARD)
            copy.set_offsets(0, 0)
            if (width, height) != (copy.get_width(), copy.get_height()):
                _check(tmp.scale(width, height), "scale the copy")
            _check(Gimp.file_save(NONINTERACTIVE, tmp, Gio.File.new_for_path(path), None), "export PNG")
        finally:
            tmp.delete()

    # -- the new layer
    def begin_undo(self, layer):
        self.image.undo_group_start()

    def end_undo(self, layer):
        self.image.undo_group_end()

    def insert_result(self, source, path, name):
        new = _check(Gimp.file_load_layer(NONINTERACTIVE, self.image, Gio.File.new_for_path(path)),
                     "load the result")
        new.set_name(name)
        parent = source.get_parent()
        position = self.image.get_item_position(source)
        _check(self.image.insert_layer(new, parent, position), "insert the new layer")
        return new

    def place(self, new, x, y, width, height):
        if (new.get_width(), new.get_height()) != (width, height):
            _check(new.scale(width, height, False), "scale the result")
        _check(new.set_offsets(x, y), "move the result")

    def restore_alpha(self, source, new):
        alpha = _check(source.create_mask(Gimp.AddMaskType.ALPHA), "read the alpha channel")
        _check(new.add_alpha(), "add an alpha channel")
        _check(new.add_mask(alpha), "add the alpha mask")
        _check(new.remove_mask(Gimp.MaskApplyMode.APPLY), "apply the alpha mask")

    def selection_to_mask(self, new):
        if Gimp.Selection.is_empty(self.image):
            return False
        mask = _check(new.create_mask(Gimp.AddMaskType.SELECTION), "make the selection mask")
        _check(new.add_mask(mask), "add the selection mask")
        return True

    def remove_layer(self, new):
        self.image.remove_layer(new)

    # -- full-size composition of a result computed on a reduced copy (layerjob.compose_detail)
    def insert_copy(self, source, above):
        copy = _check(source.copy(), "copy the layer")
        _check(self.image.insert_layer(copy, above.get_parent(), self.image.get_item_position(above)),
               "insert the copy")
        if copy.get_mask() is not None:
            copy.remove_mask(Gimp.MaskApplyMode.DISCARD)
        return copy

    def set_mode(self, layer, mode):
        _check(layer.set_mode(LAYER_MODES[mode]), "set the layer mode")

    def merge_down(self, layer):
        return _check(self.image.merge_down(layer, Gimp.MergeType.CLIP_TO_BOTTOM_LAYER), "merge the layers")

    def set_name(self, layer, name):
        layer.set_name(name)

    # -- the change mask (layerjob.add_change_mask)
    def binarize(self, layer, threshold):
        _check(layer.desaturate(Gimp.DesaturateMode.VALUE), "desaturate the difference")
        _check(layer.threshold(Gimp.HistogramChannel.VALUE, threshold, 1.0), "threshold the difference")

    def save_selection(self):
        if Gimp.Selection.is_empty(self.image):
            return None
        return _check(Gimp.Selection.save(self.image), "save the selection")

    def restore_selection(self, saved):
        if saved is None:
            _check(Gimp.Selection.none(self.image), "select nothing")
            return
        _check(self.image.select_item(Gimp.ChannelOps.REPLACE, saved), "restore the selection")
        self.image.remove_channel(saved)

    def select_values(self, item, operation):
        if item.is_layer():
            if item.get_mask() is None:
                _check(item.add_mask(_check(item.create_mask(Gimp.AddMaskType.COPY), "copy the difference")),
                       "add the difference mask")
            item = item.get_mask()
        _check(self.image.select_item(CHANNEL_OPS[operation], item), "select the changed pixels")

    def grow_selection(self, pixels):
        _check(Gimp.Selection.grow(self.image, int(pixels)), "grow the selection")

    def feather_selection(self, pixels):
        _check(Gimp.Selection.feather(self.image, float(pixels)), "feather the selection")

    def mask_from_selection(self, new):
        mask = _check(new.create_mask(Gimp.AddMaskType.SELECTION), "make the mask")
        _check(new.add_mask(mask), "add the mask")

    # -- feedback
    def progress_start(self, text):
        self._text = text
        Gimp.progress_init(text)

    def progress(self, fraction, text):
        if text != self._text:
            self._text = text
            Gimp.progress_set_text(text)
        Gimp.progress_update(fraction)

    def progress_end(self):
        Gimp.progress_end()

    def message(self, text):
        Gimp.message(text)

    def failure(self, text):
        if text not in self.failures:
            self.failures.append(text)

    # -- batch
    def open_image(self, path):
        self.image = _check(Gimp.file_load(NONINTERACTIVE, Gio.File.new_for_path(path)), "open " + path)
        return self.image

    def batch_layer(self, image):
        layers = image.get_selected_layers() or image.get_layers()
        return layers[0] if layers else None

    def save_image(self, image, path):
        _check(Gimp.file_save(NONINTERACTIVE, image, Gio.File.new_for_path(path), None), "export " + path)

    def close_image(self, image):
        image.delete()
        self.image = None


# ------------------------------------------------------------------------------------------
# procedures


def _gimp_prints_batch_errors():
    """Does this GIMP print the message of a procedure that fails when a script or another plug-in
    called it? GIMP 3.0 does ("GIMP-Error: Calling error for procedure '...': <message>", measured on
    3.0.4); GIMP 3.2 no longer does (measured on 3.2.6: nothing is printed, the caller only gets the
    status and message back). The 3.1 development series became 3.2."""
    try:
        major, minor = [int(part) for part in Gimp.version().split(".")[:2]]
    except (TypeError, ValueError):
        return False
    return (major, minor) < (3, 1)


def _status(procedure, failures, run_mode=None):
    """SUCCESS, or EXECUTION_ERROR carrying the failure sentences. After a menu run GIMP shows that
    message itself (an error dialog), so a failure is never also sent through Gimp.message: the user
    reads it once. In a non-interactive run the sentence must reach the console once too: GIMP 3.0
    prints it there itself, GIMP 3.2 does not, so there the plug-in prints it on stderr."""
    if failures:
        text = "\n".join(failures)
        if run_mode == NONINTERACTIVE and not _gimp_prints_batch_errors():
            sys.stderr.write("%s: %s\n" % (procedure.get_name(), text))
            sys.stderr.flush()
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, GLib.Error(text))
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _dialog(procedure, config, title, properties=None):
    """GimpUi.ProcedureDialog built from the declared arguments; True for OK. GimpUi (and GTK) are
    imported here only: batch runs have no display.

    The backend choice is asked for as a combo box, as GIMP 3.0 shows it: GIMP 3.2 makes a short
    Gimp.Choice a radio frame by default, whose title is no mnemonic label ("Procedure
    'python-fu-smart-beauty': no mnemonic for property backend" on 3.2.6). Every label's mnemonic is
    unique and differs from the dialog's own _Reset, _Cancel, _OK, _Load/_Save Settings."""
    gi.require_version("GimpUi", "3.0")
    gi.require_version("Gtk", "3.0")
    from gi.repository import GimpUi, Gtk
    GimpUi.init("smart-beauty")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    dialog.get_widget("backend", Gtk.ComboBox)    # libgimp accepts GtkComboBox or GimpIntRadioFrame here
    dialog.fill(properties)
    try:
        return dialog.run()
    finally:
        dialog.destroy()


def _backend(config):
    return localserver.backend_name(config.get_property("backend") or "auto")


def _preflight(procedure, backend, before_dialog=False):
    """First run / a key that does not work: one message saying what to do, before anything is
    exported or sent. Before the dialog only the no-key-and-no-engine case is checked (no network)."""
    if before_dialog:
        problem = doctor.first_run_problem()
    else:   # asks the service: on a worker thread, the progress bar pulsing
        problem = doctor.in_background(doctor.preflight, 0.1, lambda elapsed: Gimp.progress_pulse(), backend)
    if problem is None:
        return None
    return _status(procedure, [problem])


def run_smart_beauty(procedure, run_mode, image, drawables, config, run_data):
    if run_mode == Gimp.RunMode.INTERACTIVE:
        stop = _preflight(procedure, _backend(config), before_dialog=True)
        if stop is not None:
            return stop
        if not _dialog(procedure, config, "Smart Beauty", ["beauty-level", "multi-face", "backend", "layer-mask"]):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        stop = _preflight(procedure, _backend(config))
        if stop is not None:
            return stop
    try:
        level, strengths = _strengths(config)
    except errors.BadInputError as e:
        return _status(procedure, [e.user_message], run_mode)
    multi_face = config.get_property("multi-face")
    host = GimpHost(image)
    for drawable in list(drawables) or [None]:
        layerjob.retouch_layer(host, drawable, level, multi_face, backend=_backend(config), effects=strengths,
                               layer_mask=config.get_property("layer-mask"))
    Gimp.displays_flush()
    return _status(procedure, host.failures, run_mode)


def _strengths(config):
    """``(level, effects)`` from the procedure's arguments by the core's rule (effects.choose): the
    beauty level, or the ``preset``, and the per-effect arguments that are not -1 (not given)."""
    overrides = dict((name, config.get_property(name)) for name in EFFECT_ARGS)
    level, strengths, _label = effects.choose(
        config.get_property("beauty-level"), config.get_property("preset") or None,
        dict((name, value) for name, value in overrides.items() if value >= 0))
    return level, strengths


def run_batch(procedure, config, run_data):
    if config.get_property("run-mode") == Gimp.RunMode.INTERACTIVE:
        if not _dialog(procedure, config, "Smart Beauty Batch",
                       ["input", "output-folder", "beauty-level", "multi-face", "backend"]):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    try:
        level, strengths = _strengths(config)
    except errors.BadInputError as e:
        return _status(procedure, [e.user_message], config.get_property("run-mode"))
    host = GimpHost()
    gimpbatch.run_batch(host, config.get_property("input"), config.get_property("output-folder"),
                        level, config.get_property("multi-face"), backend=_backend(config), effects=strengths)
    return _status(procedure, host.failures, config.get_property("run-mode"))


def _ask_key(current_masked):
    """A password field (interactive GIMP only). Returns the key typed, or None (cancelled)."""
    gi.require_version("GimpUi", "3.0")
    gi.require_version("Gtk", "3.0")
    from gi.repository import GimpUi, Gtk
    GimpUi.init("smart-beauty")
    dialog = GimpUi.Dialog(title="Smart Beauty Settings", role="smart-beauty-settings")
    dialog.add_button("_Cancel", Gtk.ResponseType.CANCEL)
    dialog.add_button("_OK", Gtk.ResponseType.OK)
    dialog.set_default_response(Gtk.ResponseType.OK)
    box = dialog.get_content_area()
    label = Gtk.Label(label="AILab API key (stored only in your user config folder, readable by you only).\n"
                            "Current key: %s" % current_masked)
    entry = Gtk.Entry()
    entry.set_visibility(False)
    entry.set_activates_default(True)
    status = Gtk.Label(label="")
    status.set_line_wrap(True)
    dialog.add_button("_Test key", TEST_RESPONSE)
    box.pack_start(label, False, False, 6)
    box.pack_start(entry, False, False, 6)
    box.pack_start(status, False, False, 6)
    dialog.show_all()
    try:
        while True:
            response = dialog.run()
            if response != TEST_RESPONSE:
                break
            status.set_text("Testing the key with the service...")
            status.set_text(_test_key_keeping_ui_alive(entry.get_text().strip() or None, Gtk))
        if response != Gtk.ResponseType.OK:
            return None
        return entry.get_text().strip() or None
    finally:
        dialog.destroy()


TEST_RESPONSE = 1


def _test_key_keeping_ui_alive(key, Gtk):
    """Test the typed key (or the stored one) on a worker thread; the dialog keeps redrawing."""
    def pump(elapsed):
        while Gtk.events_pending():
            Gtk.main_iteration()
    return doctor.in_background(doctor.test_key, 0.05, pump, key)


def run_settings(procedure, config, run_data):
    try:
        if config.get_property("run-mode") == Gimp.RunMode.INTERACTIVE:
            key = _ask_key(sb_settings.Settings.load().masked_key())
            if key is None:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
            sb_settings.save_api_key(key)
        with layerjob.client_from_settings() as client:
            client.credits()
    except errors.SmartBeautyError as e:
        return _status(procedure, [str(e)], config.get_property("run-mode"))
    Gimp.message("Smart Beauty: your AILab API key works.")
    return _status(procedure, [])


def run_check(procedure, config, run_data):
    """Check Setup: every finding with its fix, as one message; SUCCESS only when a retouch would work."""
    Gimp.progress_init("Smart Beauty: checking the setup")

    def tick(elapsed):
        Gimp.progress_pulse()
    try:
        report = doctor.in_background(doctor.run, 0.1, tick, gimp_version=Gimp.version(), plugin_path=ENTRY)
    finally:
        Gimp.progress_end()
    Gimp.message("Smart Beauty - Check Setup\n" + report.text())
    # From the menu the report above is the answer; an error status would add a second dialog.
    # Scripts get SUCCESS only when a retouch would work.
    if config.get_property("run-mode") == Gimp.RunMode.INTERACTIVE or report.ready:
        return _status(procedure, [])
    return _status(procedure, [report.summary()], config.get_property("run-mode"))


def _needs_library(run):
    """Every procedure's run function: without the library, the sentence saying what is missing (a
    menu run shows it as GIMP's error message; a script gets it with EXECUTION_ERROR and on stderr)."""
    def guarded(procedure, *args):
        if MISSING is None:
            return run(procedure, *args)
        return _status(procedure, [MISSING], args[-2].get_property("run-mode"))
    return guarded


class SmartBeauty(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False

    def do_query_procedures(self):
        return [PROC, PROC_BATCH, PROC_SETTINGS, PROC_CHECK]

    def do_create_procedure(self, name):
        if name == PROC:
            procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, _needs_library(run_smart_beauty),
                                                None)
            procedure.set_image_types("*")
            procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE
                                           | Gimp.ProcedureSensitivityMask.DRAWABLES)
            procedure.set_menu_label("Smart _Beauty...")
            procedure.set_documentation(
                "Retouch a portrait with AILabTools Smart Beauty, as a new layer",
                "Sends each selected layer to the AILabTools Smart Beauty service and adds the retouched "
                "result as a new layer above it (same offsets and size, alpha kept, the selection as its "
                "mask; with layer-mask, a mask that is where the retouch changed it), in one undo step. The API "
                "key comes from AILAB_API_KEY or Smart Beauty Settings...",
                name)
        else:
            run = {PROC_BATCH: run_batch, PROC_SETTINGS: run_settings, PROC_CHECK: run_check}[name]
            procedure = Gimp.Procedure.new(self, name, Gimp.PDBProcType.PLUGIN, _needs_library(run), None)
            procedure.add_enum_argument("run-mode", "Run mode", "The run mode", Gimp.RunMode,
                                        Gimp.RunMode.NONINTERACTIVE, RW)
            procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.ALWAYS)
            # The label must be set before the menu path (libgimp asserts it).
            procedure.set_menu_label({PROC_BATCH: "Smart Beauty _Batch...", PROC_SETTINGS: "Smart Beauty _Settings...",
                                      PROC_CHECK: "_Check Setup..."}[name])
        procedure.add_menu_path(CHECK_MENU if name == PROC_CHECK else MENU)
        procedure.set_attribution("Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026")
        if name == PROC_BATCH:
            procedure.set_documentation(
                "Retouch many portrait files with AILabTools Smart Beauty",
                "Opens each image file matched by 'input' (a folder, a glob pattern, or several separated by "
                "the path separator), adds the Smart Beauty layer and writes NAME.beauty.png into "
                "'output-folder'. Files that fail are reported and skipped.", name)
            procedure.add_string_argument("input", "_Input folder or pattern", "Folder or glob pattern", "", RW)
            procedure.add_string_argument("output-folder", "Output _folder", "Where NAME.beauty.png goes", "",
                                          RW)
        elif name == PROC_SETTINGS:
            procedure.set_documentation(
                "Store and test the AILabTools API key for Smart Beauty",
                "Interactive: asks for the key in a password field and stores it in the Smart Beauty config "
                "folder (mode 0600). Then tests the configured key. The key is never a procedure argument.",
                name)
            return procedure
        elif name == PROC_CHECK:
            procedure.set_documentation(
                "Check the Smart Beauty setup and say how to fix each problem",
                "Reports GIMP and Python versions, where the plug-in and its library were loaded from, the "
                "requests version and CA bundle, whether an API key is set (masked) and accepted, whether the "
                "offline engine is installed and starts. Never shows the key. SUCCESS only when a retouch "
                "would work.", name)
            return procedure
        procedure.add_double_argument("beauty-level", "_Beauty level", "How strong the retouch is (0 to 1)",
                                      0.0, 1.0, 0.8, RW)
        procedure.add_boolean_argument("multi-face", "Retouch _all faces",
                                       "Retouch every face, not only the most prominent one", False, RW)
        choice = Gimp.Choice.new()
        for i, (nick, label) in enumerate(BACKEND_LABELS):
            choice.add(nick, i, label, label)
        procedure.add_choice_argument("backend", "_Where to retouch",
                                      "auto: the AILab cloud if an API key is set, else the offline engine; "
                                      "cloud; local (the offline engine, started on demand)", choice, "auto", RW)
        # per-effect strengths and presets (offline engine; the AILab service has one level): arguments for
        # scripts and batch mode; the dialogs do not show them yet
        procedure.add_string_argument("preset", "Preset",
                                      "A preset's name (built in: %s, or one saved with 'smart-beauty presets "
                                      "save'); it sets every strength instead of the beauty level; empty: none"
                                      % ", ".join(sorted(effects.BUILTIN)) if effects else "A preset's name",
                                      "", RW)
        for name in EFFECT_ARGS:
            what = effects.DESCRIPTIONS[name].capitalize() if effects else name
            procedure.add_double_argument(name, name.capitalize(), "%s, 0 to 1 (offline engine only); -1: from "
                                          "the preset or the beauty level" % what, -1.0, 1.0, -1.0, RW)
        if procedure.get_name() == PROC:
            # the batch writes flattened PNGs, where a layer mask cannot live (the CLI's --mask writes one)
            procedure.add_boolean_argument("layer-mask", "Add as a _masked layer",
                                           "Give the new layer a mask that is where the retouch changed it (soft "
                                           "edged; within the selection), to paint it out or in afterwards",
                                           False, RW)
        return procedure
