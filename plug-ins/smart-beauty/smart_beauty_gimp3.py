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
import time

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
    from smart_beauty import doctor, effects, errors, gimpbatch, layerjob, localserver, preview
    from smart_beauty import host as sb_host
    from smart_beauty import settings as sb_settings
    MISSING = None
except ImportError as _e:
    doctor = effects = errors = gimpbatch = sb_host = layerjob = localserver = preview = sb_settings = None
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
preview_clock = time.monotonic
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


def _dialog(procedure, config, title, properties=None, panel=None):
    """GimpUi.ProcedureDialog built from the declared arguments; True for OK. GimpUi (and GTK) are
    imported here only: batch runs have no display. ``panel``: ``(image, layer)`` for the retouch
    dialog's own part below the arguments (:class:`_Panel`: presets, strengths, preview); ``(None,
    None)`` for the batch dialog's (presets and strengths, no preview: there is no layer to show).

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
    extra = _Panel.attach(dialog, config, *panel) if panel is not None else None
    try:
        return dialog.run()
    finally:
        if extra is not None:
            extra.close()
        dialog.destroy()


class _Panel:
    """The retouch dialog's own part, below the procedure's arguments: the preset chooser, one slider
    per effect, "Save as preset...", and the Preview toggle with its pane.

    What the controls mean is decided in ``smart_beauty.preview`` (tested without GTK); this class
    only shows it. The controls write the procedure's own ``preset`` and strength arguments, so GIMP
    remembers them with the dialog's other settings. The preview never touches the image (nothing to
    undo after Cancel): a reduced copy of the layer (GEGL gives it at a scale) is read once, each
    change sends it to the offline engine's server on a worker thread (:class:`preview.Latest`: stale
    requests are dropped), and the result comes back through GLib.idle_add into the pane, mixed with
    the original by the selection and shown with the layer's own transparency.

    Why a pane and not a preview layer on the canvas: measured in the real GIMP 3.0.4 / 3.2.6 on a
    12 MP layer, putting a reduced result on the canvas costs 245 / 579 ms per update (scaling the
    layer up without interpolation; 493 / 979 ms with linear) before the engine has done anything, and
    at 100 % zoom shows an upscaled blur, where the pane costs 4 / 7 ms (GdkPixbuf) and shows the real
    pixels of the reduced copy. See docs/gimp-plugins.md."""

    #: each with a mnemonic of its own (Alt+key focuses the slider; Home/End: 0/1), none taken by the
    #: dialogs' fields (b, a, w; the batch's n, u), their buttons (r, c, o, l, s, h) or the panel's p, e, v
    LABELS = (("smooth", "S_kin smoothing"), ("tone", "Skin _tone"), ("slim", "_Face slimming"),
              ("eyes", "Larger e_yes"), ("lips", "L_ips"), ("texture", "Te_xture kept"))

    @classmethod
    def attach(cls, dialog, config, image, layer):
        try:
            gi.require_version("GdkPixbuf", "2.0")
            gi.require_version("Gegl", "0.4")
            from gi.repository import GdkPixbuf, Gegl, Gtk
        except (ImportError, ValueError) as e:   # the stand-in GTK of the tests has no widgets
            sys.stderr.write("Smart Beauty: no preview or per-effect controls (%s)\n" % e)
            return None
        return cls(Gtk, GdkPixbuf, Gegl, dialog, config, image, layer)

    def __init__(self, Gtk, GdkPixbuf, Gegl, dialog, config, image, layer):
        self.Gtk, self.GdkPixbuf, self.Gegl = Gtk, GdkPixbuf, Gegl
        self.dialog, self.config, self.image, self.layer = dialog, config, image, layer
        self.choice = preview.Choice.from_arguments(
            config.get_property("beauty-level"), config.get_property("preset"),
            dict((name, config.get_property(name)) for name in EFFECT_ARGS))
        self.syncing = False
        self.dragging = False     # a slider held with the mouse: its preview comes on release
        self.unusable = None      # why this layer cannot be retouched (then no preview either)
        self.closed = False
        self.latest = None
        self.client = None
        self.copy = None
        self.backend = None
        self.plan = preview.Plan(False, None)
        self.engine = None
        self._build()
        self._store()
        self.handlers = [config.connect("notify::beauty-level", self._level_changed),
                         config.connect("notify::backend", self._backend_changed),
                         config.connect("notify::multi-face", lambda *args: self._changed())]
        self._backend_changed()
        self._sync()
        if layer is None:     # the batch dialog: presets and strengths only
            return
        try:
            layerjob.check_layer(GimpHost(image).describe(layer))   # OK would refuse it: say so now
            self.copy = self._read_copy()     # the pane shows the layer until Preview is on
        except errors.SmartBeautyError as e:
            self.unusable = e.user_message
            self.toggle.set_sensitive(False)
            self.note.set_text(e.user_message)
        except Exception as e:  # noqa: BLE001 - one line in the dialog, never a traceback only
            self.note.set_text(preview.error_line(e))

    # -- building
    def _build(self):
        Gtk = self.Gtk
        outer = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
        outer.set_border_width(6)
        left = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=6)
        label = Gtk.Label.new_with_mnemonic("_Preset")
        row.pack_start(label, False, False, 0)
        self.presets = Gtk.ComboBoxText()
        label.set_mnemonic_widget(self.presets)
        self.presets.set_tooltip_text("A preset sets every strength; built in, or saved by you here or with "
                                      "'smart-beauty presets save'")
        self._fill_presets()
        self.presets.connect("changed", self._preset_changed)
        row.pack_start(self.presets, True, True, 0)
        left.pack_start(row, False, False, 0)
        grid = Gtk.Grid(column_spacing=8, row_spacing=0)
        self.scales, self.labels = {}, {}
        for i, (name, text) in enumerate(self.LABELS):
            label = Gtk.Label.new_with_mnemonic(text)
            label.set_xalign(0.0)
            label.set_tooltip_text(effects.DESCRIPTIONS[name].capitalize())
            adjustment = Gtk.Adjustment(value=0.0, lower=0.0, upper=1.0, step_increment=0.01, page_increment=0.1,
                                        page_size=0.0)
            scale = Gtk.Scale(orientation=Gtk.Orientation.HORIZONTAL, adjustment=adjustment)
            scale.set_digits(2)
            scale.set_hexpand(True)
            scale.set_size_request(200, -1)
            scale.connect("value-changed", self._strength_changed, name)
            scale.connect("button-press-event", self._pressed)
            scale.connect("button-release-event", self._released)
            label.set_mnemonic_widget(scale)
            grid.attach(label, 0, i, 1, 1)
            grid.attach(scale, 1, i, 1, 1)
            self.scales[name], self.labels[name] = scale, label
        left.pack_start(grid, False, False, 0)
        self.save = Gtk.Button.new_with_mnemonic("Save as pr_eset...")
        self.save.set_halign(Gtk.Align.START)
        self.save.connect("clicked", self._save_preset)
        left.pack_start(self.save, False, False, 0)
        self.reason = Gtk.Label(label="", xalign=0.0)
        self.reason.set_line_wrap(True)
        self.reason.set_max_width_chars(40)
        left.pack_start(self.reason, False, False, 0)
        outer.pack_start(left, False, False, 0)
        self.toggle = self.note = self.picture = None
        if self.layer is None:
            self.dialog.get_content_area().pack_start(outer, True, True, 0)
            outer.show_all()
            return
        right = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.toggle = Gtk.CheckButton.new_with_mnemonic("Pre_view")
        self.toggle.connect("toggled", self._toggled)
        right.pack_start(self.toggle, False, False, 0)
        frame = Gtk.Frame()
        w, h = preview.PREVIEW_BOX
        frame.set_size_request(w + 4, h + 4)
        self.picture = Gtk.Image()
        frame.add(self.picture)
        right.pack_start(frame, True, True, 0)
        self.note = Gtk.Label(label="", xalign=0.0)
        self.note.set_line_wrap(True)
        self.note.set_max_width_chars(60)
        right.pack_start(self.note, False, False, 0)
        outer.pack_start(right, True, True, 0)
        self.dialog.get_content_area().pack_start(outer, True, True, 0)
        outer.show_all()

    def _fill_presets(self, active=None):
        self.syncing = True
        try:
            self.presets.remove_all()
            for name, label in preview.preset_entries():
                self.presets.append(name, label)
            self.presets.set_active_id(self.choice.preset or "")
        finally:
            self.syncing = False

    # -- the controls
    def _store(self):
        """The choice into the procedure's arguments (remembered by GIMP with the dialog's settings)."""
        preset, strengths = self.choice.arguments()
        self.config.set_property("preset", preset)
        for name, value in strengths.items():
            self.config.set_property(name, value)

    def _sync(self):
        """The sliders show what the choice means; a strength set by hand has its label in bold."""
        self.syncing = True
        try:
            for name, value in self.choice.shown().items():
                self.scales[name].set_value(value)
                text = dict(self.LABELS)[name]
                self.labels[name].set_markup_with_mnemonic("<b>%s</b>" % text if name in self.choice.overrides
                                                           else text)
            self.presets.set_active_id(self.choice.preset or "")
        finally:
            self.syncing = False

    def _preset_changed(self, combo):
        if self.syncing:
            return
        self.choice.choose_preset(combo.get_active_id() or None)
        self._store()
        self._sync()
        self._changed()

    def _strength_changed(self, scale, name):
        if self.syncing:
            return
        self.choice.set_strength(name, round(scale.get_value(), 2))
        self._store()
        self._sync()
        if not self.dragging:     # keys and clicks at once; a drag when released
            self._changed()

    def _pressed(self, *args):
        self.dragging = True
        return False

    def _released(self, *args):
        self.dragging = False
        self._changed()
        return False

    def _level_changed(self, *args):
        self.choice.set_level(self.config.get_property("beauty-level"))
        self._sync()
        self._changed()

    def _backend_changed(self, *args):
        self.backend = _resolved(self.config)
        enabled, reason = preview.effect_controls(self.backend)
        for widget in [self.presets, self.save] + list(self.scales.values()):
            widget.set_sensitive(enabled)
        self.reason.set_text(reason or "")
        if self.toggle is None:
            return
        if self.engine is None:
            self.engine = localserver.find_engine() is not None
        self.plan = preview.preview_plan(self.backend, self.engine)
        if self.unusable:
            self.plan = preview.Plan(False, self.unusable)
        self.toggle.set_sensitive(self.plan.enabled)
        if not self.plan.enabled and self.toggle.get_active():
            self.toggle.set_active(False)
        self.note.set_text(self.plan.note or "")
        self._changed()

    def _save_preset(self, button):
        Gtk = self.Gtk
        ask = Gtk.Dialog(title="Save as preset", transient_for=self.dialog, modal=True)
        ask.add_button("Cancel", Gtk.ResponseType.CANCEL)
        ask.add_button("Save", Gtk.ResponseType.OK)
        ask.set_default_response(Gtk.ResponseType.OK)
        entry = Gtk.Entry()
        entry.set_activates_default(True)
        box = ask.get_content_area()
        box.pack_start(Gtk.Label(label="Name of your preset (also for 'smart-beauty retouch --preset NAME'):",
                                 xalign=0.0), False, False, 6)
        box.pack_start(entry, False, False, 6)
        ask.show_all()
        try:
            answer, name = ask.run(), entry.get_text()
        finally:
            ask.destroy()
        if answer != Gtk.ResponseType.OK:
            return
        try:
            key = effects.save_preset(name, self.choice.strengths())
        except errors.SmartBeautyError as e:
            self.reason.set_text(e.user_message)
            return
        self.choice.choose_preset(key)
        self._fill_presets()
        self._store()
        self._sync()
        self.reason.set_text("Saved as your preset '%s'." % key)

    # -- the preview
    def _toggled(self, button):
        if not button.get_active():
            if self.latest is not None:
                self.latest.cancel()
            if self.copy is not None:
                self._show_pixbuf(self.copy["original"])
            self.note.set_text(self.plan.note or "")
            return
        if self.copy is None:
            try:
                self.copy = self._read_copy()
            except Exception as e:  # noqa: BLE001 - one line in the dialog, never a traceback only
                self.note.set_text(preview.error_line(e))
                button.set_active(False)
                return
        if self.latest is None:
            self.latest = preview.Latest(self._render, self._deliver)
        self._changed()

    def _read_copy(self):
        """The reduced copy, once per dialog: its PNG for the engine, the original as a pixbuf, its
        alpha, and the selection over it (None: no selection)."""
        Gegl, GdkPixbuf = self.Gegl, self.GdkPixbuf
        layer = self.layer
        w, h, scale = preview.preview_size(layer.get_width(), layer.get_height())
        rgba = bytes(layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), scale, "R'G'B'A u8",
                                            Gegl.AbyssPolicy.CLAMP))
        mask = None
        if not Gimp.Selection.is_empty(self.image):
            x, y = tuple(layer.get_offsets())[-2:]
            rect = Gegl.Rectangle.new(int(round(x * scale)), int(round(y * scale)), w, h)
            mask = bytes(self.image.get_selection().get_buffer().get(rect, scale, "Y u8", Gegl.AbyssPolicy.NONE))
        original = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(rgba), GdkPixbuf.Colorspace.RGB, True, 8, w, h,
                                                   w * 4)
        _ok, png = original.save_to_bufferv("png", ["compression"], ["1"])   # the engine reads RGB of it
        copy = {"size": (w, h), "png": png, "original": original,
                "alpha": rgba[3::4], "mask": mask, "scale": scale}
        self._show_pixbuf(original)
        return copy

    def _changed(self):
        if self.closed or self.latest is None or not self.toggle.get_active() or not self.plan.enabled:
            return
        level, strengths = self.choice.request(self.backend)
        self.latest.request((preview_clock(), level, self.config.get_property("multi-face"), strengths))
        if self.client is None:
            self.note.set_text("preview: starting the offline engine...")

    def _render(self, request):
        """On the worker thread: the offline engine's result for the reduced copy (PNG bytes)."""
        t0, level, multi_face, strengths = request
        if self.client is None:
            self.client = localserver.open_client("local")
        return preview.render(self.client, self.copy["png"], level, multi_face, strengths), preview_clock()

    def _deliver(self, number, request, result, error):
        GLib.idle_add(self._show, number, request, result, error)

    def _show(self, number, request, result, error):
        """On GTK's main thread: the newest preview into the pane."""
        if self.closed or self.latest is None or not self.latest.is_newest(number) or not self.toggle.get_active():
            return False
        if error is not None:
            self.note.set_text(preview.error_line(error))
            return False
        png, ready = result
        try:
            self._show_pixbuf(self._compose(png))
        except Exception as e:  # noqa: BLE001
            self.note.set_text(preview.error_line(e))
            return False
        w, h = self.copy["size"]
        took = int(round((preview_clock() - request[0]) * 1000))
        what = "preview of a %dx%d copy (OK retouches the full layer), %d ms" % (w, h, took)
        self.note.set_text("%s; %s" % (self.plan.note, what) if self.plan.note else what)
        return False

    def _compose(self, png):
        """The engine's result mixed with the original by the selection, with the layer's alpha."""
        GdkPixbuf = self.GdkPixbuf
        w, h = self.copy["size"]
        loader = GdkPixbuf.PixbufLoader.new_with_type("png")
        loader.write(png)
        loader.close()
        result = loader.get_pixbuf()
        if (result.get_width(), result.get_height()) != (w, h):
            result = result.scale_simple(w, h, GdkPixbuf.InterpType.BILINEAR)
        channels, stride, data = result.get_n_channels(), result.get_rowstride(), result.get_pixels()
        if stride != w * channels:     # rows padded to 4 bytes
            data = b"".join(data[y * stride:y * stride + w * channels] for y in range(h))
        pixels = bytearray(w * h * 4)
        for i in range(channels):
            pixels[i::4] = data[i::channels]
        if self.copy["mask"] is not None:
            pixels[3::4] = self.copy["mask"]
            top = self._pixbuf(pixels)
            mixed = self.copy["original"].copy()
            top.composite(mixed, 0, 0, w, h, 0, 0, 1.0, 1.0, GdkPixbuf.InterpType.NEAREST, 255)
            pixels = bytearray(mixed.get_pixels())
        pixels[3::4] = self.copy["alpha"]
        return self._pixbuf(pixels)

    def _pixbuf(self, rgba):
        w, h = self.copy["size"]
        return self.GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(bytes(rgba)), self.GdkPixbuf.Colorspace.RGB,
                                                    True, 8, w, h, w * 4)

    def _show_pixbuf(self, pixbuf):
        """On a checkerboard, as GIMP shows transparency."""
        w, h = pixbuf.get_width(), pixbuf.get_height()
        self.picture.set_from_pixbuf(pixbuf.composite_color_simple(w, h, self.GdkPixbuf.InterpType.NEAREST, 255,
                                                                    8, 0x999999, 0x666666))

    def close(self):
        self.closed = True
        for handler in self.handlers:
            self.config.disconnect(handler)
        if self.latest is not None:
            self.latest.close(wait=5.0)
        if self.client is not None:
            self.client.close()


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
    chosen_on = None    # the backend the dialog's controls were set for
    if run_mode == Gimp.RunMode.INTERACTIVE:
        stop = _preflight(procedure, _backend(config), before_dialog=True)
        if stop is not None:
            return stop
        layer = next(iter(drawables), None) if drawables else None
        if not _dialog(procedure, config, "Smart Beauty", ["beauty-level", "multi-face", "backend", "layer-mask"],
                       panel=(image, layer)):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        stop = _preflight(procedure, _backend(config))
        if stop is not None:
            return stop
        chosen_on = _resolved(config)
    try:
        level, strengths = _strengths(config, chosen_on)
    except errors.BadInputError as e:
        return _status(procedure, [e.user_message], run_mode)
    multi_face = config.get_property("multi-face")
    host = GimpHost(image)
    for drawable in list(drawables) or [None]:
        layerjob.retouch_layer(host, drawable, level, multi_face, backend=_backend(config), effects=strengths,
                               layer_mask=config.get_property("layer-mask"))
    Gimp.displays_flush()
    return _status(procedure, host.failures, run_mode)


def _resolved(config):
    """"cloud" or "local": what the backend argument means with the stored settings."""
    try:
        return localserver.resolve(_backend(config), sb_settings.Settings.load())
    except errors.SmartBeautyError:
        return "local"


def _strengths(config, chosen_on=None):
    """``(level, effects)`` from the procedure's arguments by the core's rule (effects.choose): the
    beauty level, or the ``preset``, and the per-effect arguments that are not -1 (not given).
    ``chosen_on``: the backend the dialog was showing ("cloud": its per-effect controls were shown
    disabled, with why, so only the level is asked for; the user's strengths stay stored for later)."""
    overrides = dict((name, config.get_property(name)) for name in EFFECT_ARGS)
    if chosen_on is not None:
        return preview.Choice.from_arguments(config.get_property("beauty-level"), config.get_property("preset"),
                                             overrides).request(chosen_on)
    level, strengths, _label = effects.choose(
        config.get_property("beauty-level"), config.get_property("preset") or None,
        dict((name, value) for name, value in overrides.items() if value >= 0))
    return level, strengths


def run_batch(procedure, config, run_data):
    if config.get_property("run-mode") == Gimp.RunMode.INTERACTIVE:
        if not _dialog(procedure, config, "Smart Beauty Batch",
                       ["input", "output-folder", "beauty-level", "multi-face", "backend"], panel=(None, None)):
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        chosen_on = _resolved(config)
    else:
        chosen_on = None
    try:
        level, strengths = _strengths(config, chosen_on)
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
            procedure.add_string_argument("input", "I_nput folder or pattern", "Folder or glob pattern", "", RW)
            procedure.add_string_argument("output-folder", "O_utput folder", "Where NAME.beauty.png goes", "",
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
