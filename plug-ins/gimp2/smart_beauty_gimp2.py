# -*- coding: utf-8 -*-
"""Smart Beauty for GIMP 2.10 (gimpfu, Python 2.7): the host class and the procedures behind
``smart_beauty.py``.

GIMP runs ``smart_beauty.py`` (the entry script: the library's path, :func:`register_procedures`,
gimpfu's ``main()``); this module is importable without running anything. It translates to GIMP 2.10's
PDB only: the workflow (export, limits, the AILab job, inserting the result) lives in
``smart_beauty.layerjob`` and ``smart_beauty.gimpbatch``; :class:`GimpHost` fills in their host
interface (``smart_beauty.host``). The procedures:

* ``python-fu-smart-beauty (image, drawable, beauty_level, multi_face)``
* ``python-fu-smart-beauty-masked (image, drawable, beauty_level, multi_face)`` -- the same, the new
  layer's mask where the retouch changed the layer (GIMP 3: the ``layer-mask`` argument; here a
  procedure of its own, because a fifth argument would break every existing 4-argument call)
* ``python-fu-smart-beauty-batch (input, output_folder, beauty_level, multi_face)``
* ``python-fu-smart-beauty-settings ()`` -- stores the API key (asked in a password dialog, never
  a procedure argument) and tests it.
* ``python-fu-smart-beauty-check ()`` -- Check Setup.

The API key comes from AILAB_API_KEY or the Smart Beauty config folder, never from arguments. GIMP
2.10 ends a plug-in whose progress bar is cancelled, so the host has nothing to poll for a cancel;
the image is only changed at the very end, in one undo group.
"""
from __future__ import absolute_import, division, print_function

import os
import sys

import gimp
import gimpfu
from gimpfu import PF_DIRNAME, PF_DRAWABLE, PF_IMAGE, PF_SLIDER, PF_STRING, PF_TOGGLE, pdb, register

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRY = os.path.join(HERE, "smart_beauty.py")   # the file GIMP runs (Check Setup names it)

INSTALL_FIX = ("run %s again from the Smart Beauty folder you downloaded (it puts lib/ and vendor/ "
               "with requests beside this plug-in), then restart GIMP" %
               ("py install.py" if os.name == "nt" else "./install.sh"))


def _missing(exc):
    """The one sentence for a plug-in whose library (lib/) or one of its packages cannot be imported."""
    text = str(exc)
    name = getattr(exc, "name", None) or (text.split()[-1].strip("'\"") if text.startswith("No module named")
                                          else text)
    if name.split(".")[0] == "smart_beauty":
        what = "its library (smart_beauty) is not in %s" % os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                        "lib")
    else:
        what = "the Python package '%s' it needs cannot be imported (%s)" % (name.split(".")[0], text)
    return "Smart Beauty cannot start: %s. To fix it, %s." % (what, INSTALL_FIX)


# Registration needs only the standard library and gimpfu: when lib/ or requests is missing, every
# procedure is still registered (Check Setup too) and answers with what is missing and the fix.
try:
    from smart_beauty import doctor, errors, gimpbatch, layerjob, localserver
    from smart_beauty import host as sb_host
    from smart_beauty import settings as sb_settings
    MISSING = None
except ImportError as _e:
    doctor = errors = gimpbatch = sb_host = layerjob = localserver = sb_settings = None
    MISSING = _missing(_e)

PNG_COMPRESSION = 6  # lossless at any level; 6 keeps big layers quick


def _enum(name, value):
    # gimpfu re-exports gimpenums; the GIMP 2.10 values are the fallback so that a missing alias
    # can never stop the plug-in from registering.
    return getattr(gimpfu, name, value)


RGB = _enum("RGB", 0)
ADD_MASK_ALPHA = _enum("ADD_MASK_ALPHA", 2)
ADD_MASK_SELECTION = _enum("ADD_MASK_SELECTION", 4)
MASK_APPLY = _enum("MASK_APPLY", 0)
CLIP_TO_IMAGE = _enum("CLIP_TO_IMAGE", 1)
CLIP_TO_BOTTOM_LAYER = _enum("CLIP_TO_BOTTOM_LAYER", 2)
MASK_DISCARD = _enum("MASK_DISCARD", 1)
ADD_MASK_COPY = _enum("ADD_MASK_COPY", 5)
DESATURATE_VALUE = _enum("DESATURATE_VALUE", 4)
HISTOGRAM_VALUE = _enum("HISTOGRAM_VALUE", 0)
# The legacy grain modes: exactly lower -/+ upper around 128 on the stored values (see layerjob).
LAYER_MODES = {} if MISSING else {sb_host.MODE_NORMAL: _enum("LAYER_MODE_NORMAL", 28),
                                  sb_host.MODE_GRAIN_EXTRACT: _enum("LAYER_MODE_GRAIN_EXTRACT_LEGACY", 20),
                                  sb_host.MODE_GRAIN_MERGE: _enum("LAYER_MODE_GRAIN_MERGE_LEGACY", 21),
                                  sb_host.MODE_DIFFERENCE: _enum("LAYER_MODE_DIFFERENCE_LEGACY", 6)}
CHANNEL_OPS = {} if MISSING else {sb_host.SELECT_ADD: _enum("CHANNEL_OP_ADD", 0),
                                  sb_host.SELECT_REPLACE: _enum("CHANNEL_OP_REPLACE", 2),
                                  sb_host.SELECT_INTERSECT: _enum("CHANNEL_OP_INTERSECT", 3)}


def _native(text):
    """pygimp takes byte strings on Python 2."""
    if sys.version_info[0] < 3 and not isinstance(text, str):
        return text.encode("utf-8")
    return text


def _remembered():
    try:
        return sb_settings.Settings.load().remembered
    except errors.SmartBeautyError:
        return {}


def _remember(level, multi_face):
    """gimpfu's shelf lasts one GIMP session: keep the dialog values in settings.json too."""
    values = {"beauty_level": float(level), "multi_face": bool(multi_face)}
    try:
        sb_settings.Settings.load().remember(**values)
    except (errors.SmartBeautyError, IOError, OSError, ValueError):
        pass


# The choices of the Settings dialog's "Where to retouch" list, in localserver.BACKENDS order.
BACKEND_LABELS = ("Automatic (cloud if a key is set, else offline)", "AILab cloud service",
                  "Offline engine on this computer")


ENV_BACKEND = "SMART_BEAUTY_BACKEND"


def _last_backend():
    name = _remembered().get("backend", "auto")
    return localserver.BACKENDS.index(name) if name in localserver.BACKENDS else 0


class GimpHost(object if MISSING else sb_host.Host):
    """layerjob's host interface with GIMP 2.10 PDB calls."""

    def __init__(self, image=None):
        self.image = image
        self._text = None
        self.failures = []

    # -- the layer
    def describe(self, layer):
        if self.image is None or layer is None or not pdb.gimp_item_is_valid(layer):
            return None
        if pdb.gimp_item_is_layer_mask(layer):
            kind = sb_host.KIND_MASK
        elif not pdb.gimp_item_is_layer(layer):
            kind = sb_host.KIND_OTHER
        elif pdb.gimp_item_is_group(layer):
            kind = sb_host.KIND_GROUP
        elif pdb.gimp_item_is_text_layer(layer):
            kind = sb_host.KIND_TEXT
        else:
            kind = sb_host.KIND_LAYER
        base = "gray" if pdb.gimp_drawable_is_gray(layer) else (
            "indexed" if pdb.gimp_drawable_is_indexed(layer) else "rgb")
        return sb_host.LayerInfo(kind, pdb.gimp_drawable_width(layer), pdb.gimp_drawable_height(layer),
                                  pdb.gimp_drawable_offsets(layer), pdb.gimp_drawable_has_alpha(layer), base)

    def export_png(self, layer, path, width, height):
        # A copy in a temporary RGB image: gray/indexed become RGB there, the user's image is untouched.
        tmp = pdb.gimp_image_new(pdb.gimp_drawable_width(layer), pdb.gimp_drawable_height(layer), RGB)
        try:
            copy = pdb.gimp_layer_new_from_drawable(layer, tmp)
            pdb.gimp_image_insert_layer(tmp, copy, None, 0)
            pdb.gimp_layer_set_offsets(copy, 0, 0)
            if (width, height) != (pdb.gimp_drawable_width(copy), pdb.gimp_drawable_height(copy)):
                pdb.gimp_image_scale(tmp, width, height)
            # interlace, compression, bkgd, gama, offs, phys, time, comment, svtrans
            pdb.file_png_save2(tmp, copy, path, path, 0, PNG_COMPRESSION, 0, 0, 0, 0, 0, 0, 1)
        finally:
            pdb.gimp_image_delete(tmp)

    # -- the new layer
    def begin_undo(self, layer):
        pdb.gimp_image_undo_group_start(self.image)

    def end_undo(self, layer):
        pdb.gimp_image_undo_group_end(self.image)

    def insert_result(self, source, path, name):
        new = pdb.gimp_file_load_layer(self.image, path)
        pdb.gimp_item_set_name(new, name)
        parent = pdb.gimp_item_get_parent(source)
        position = pdb.gimp_image_get_item_position(self.image, source)
        pdb.gimp_image_insert_layer(self.image, new, parent, position)
        return new

    def place(self, new, x, y, width, height):
        if (pdb.gimp_drawable_width(new), pdb.gimp_drawable_height(new)) != (width, height):
            pdb.gimp_layer_scale(new, width, height, 0)
        pdb.gimp_layer_set_offsets(new, x, y)

    def restore_alpha(self, source, new):
        alpha = pdb.gimp_layer_create_mask(source, ADD_MASK_ALPHA)
        pdb.gimp_layer_add_alpha(new)
        pdb.gimp_layer_add_mask(new, alpha)
        pdb.gimp_layer_remove_mask(new, MASK_APPLY)

    def selection_to_mask(self, new):
        if pdb.gimp_selection_is_empty(self.image):
            return False
        pdb.gimp_layer_add_mask(new, pdb.gimp_layer_create_mask(new, ADD_MASK_SELECTION))
        return True

    def remove_layer(self, new):
        pdb.gimp_image_remove_layer(self.image, new)

    # -- full-size composition of a result computed on a reduced copy (layerjob.compose_detail)
    def insert_copy(self, source, above):
        copy = pdb.gimp_layer_copy(source, 0)
        parent = pdb.gimp_item_get_parent(above)
        pdb.gimp_image_insert_layer(self.image, copy, parent, pdb.gimp_image_get_item_position(self.image, above))
        if pdb.gimp_layer_get_mask(copy) is not None:
            pdb.gimp_layer_remove_mask(copy, MASK_DISCARD)
        return copy

    def set_mode(self, layer, mode):
        pdb.gimp_layer_set_mode(layer, LAYER_MODES[mode])

    def merge_down(self, layer):
        return pdb.gimp_image_merge_down(self.image, layer, CLIP_TO_BOTTOM_LAYER)

    def set_name(self, layer, name):
        pdb.gimp_item_set_name(layer, _native(name))

    # -- the change mask (layerjob.add_change_mask)
    def binarize(self, layer, threshold):
        pdb.gimp_drawable_desaturate(layer, DESATURATE_VALUE)
        pdb.gimp_drawable_threshold(layer, HISTOGRAM_VALUE, threshold, 1.0)

    def save_selection(self):
        if pdb.gimp_selection_is_empty(self.image):
            return None
        return pdb.gimp_selection_save(self.image)

    def restore_selection(self, saved):
        if saved is None:
            pdb.gimp_selection_none(self.image)
            return
        pdb.gimp_image_select_item(self.image, CHANNEL_OPS[sb_host.SELECT_REPLACE], saved)
        pdb.gimp_image_remove_channel(self.image, saved)

    def select_values(self, item, operation):
        if pdb.gimp_item_is_layer(item):
            if pdb.gimp_layer_get_mask(item) is None:
                pdb.gimp_layer_add_mask(item, pdb.gimp_layer_create_mask(item, ADD_MASK_COPY))
            item = pdb.gimp_layer_get_mask(item)
        pdb.gimp_image_select_item(self.image, CHANNEL_OPS[operation], item)

    def grow_selection(self, pixels):
        pdb.gimp_selection_grow(self.image, int(pixels))

    def feather_selection(self, pixels):
        pdb.gimp_selection_feather(self.image, float(pixels))

    def mask_from_selection(self, new):
        pdb.gimp_layer_add_mask(new, pdb.gimp_layer_create_mask(new, ADD_MASK_SELECTION))

    # -- feedback
    def progress_start(self, text):
        self._text = text
        gimp.progress_init(text)

    def progress(self, fraction, text):
        if text != self._text:
            self._text = text
            pdb.gimp_progress_set_text(text)
        gimp.progress_update(fraction)

    def progress_end(self):
        pdb.gimp_progress_end()

    def message(self, text):
        gimp.message(_native(text))

    def failure(self, text):
        self.message(text)
        self.failures.append(text)

    # -- batch
    def open_image(self, path):
        self.image = pdb.gimp_file_load(path, path)
        return self.image

    def batch_layer(self, image):
        return pdb.gimp_image_get_active_layer(image)

    def save_image(self, image, path):
        dup = pdb.gimp_image_duplicate(image)
        try:
            flat = pdb.gimp_image_merge_visible_layers(dup, CLIP_TO_IMAGE)
            pdb.file_png_save2(dup, flat, path, path, 0, PNG_COMPRESSION, 0, 0, 0, 0, 0, 0, 1)
        finally:
            pdb.gimp_image_delete(dup)

    def close_image(self, image):
        pdb.gimp_image_delete(image)
        self.image = None


# ------------------------------------------------------------------------------------------
# procedures


# gimpfu calls a procedure's on_run hook only when it is about to show its dialog (gimpfu.py
# _interact), i.e. for a menu run; the function itself is not told its run mode.
_DIALOG_SHOWN = []


def _dialog_shown():
    _DIALOG_SHOWN.append(True)


def _from_dialog():
    """True when this call comes from gimpfu's dialog (read once per call)."""
    shown = bool(_DIALOG_SHOWN)
    del _DIALOG_SHOWN[:]
    return shown


FAILED_SEE_ABOVE = "Smart Beauty failed; the reason is in its message above."


def _fail(failures, from_dialog):
    """The end of a failed procedure, after its message was shown. From gimpfu's dialog, return:
    raising there adds gimpfu's traceback dialog to our sentence. Called any other way (batch mode,
    Script-Fu, another plug-in, Repeat), raise, so the caller gets EXECUTION_ERROR instead of a
    success that did nothing (GIMP shows no second message for it: pygimp sends no error text).
    pygimp prints the exception on stderr (a traceback ending in "gimpfu.error: <text>") and hands
    no text to the caller, so the text only points back at the message: in gimp-console the
    sentence is printed once (our "Smart Beauty-Warning: <sentence>"), not twice."""
    if failures and not from_dialog:
        raise gimpfu.error(FAILED_SEE_ABOVE)


def _backend(from_dialog):
    """Where to retouch. GIMP 2.10's procedures keep their contract arguments (image, drawable,
    beauty_level, multi_face): an extra PF_OPTION would break every existing 4-argument call, so the
    choice comes from SMART_BEAUTY_BACKEND, else from Smart Beauty Settings... (settings.json).
    A value that is not auto/cloud/local fails the procedure with a message."""
    try:
        return localserver.backend_name(os.environ.get(ENV_BACKEND) or _remembered().get("backend") or "auto")
    except errors.SmartBeautyError as e:
        text = "Smart Beauty: %s (%s or Smart Beauty Settings...)" % (e, ENV_BACKEND)
        gimp.message(_native(text))
        _fail([text], from_dialog)
        return None


def smart_beauty(image, drawable, beauty_level, multi_face, layer_mask=False):
    from_dialog = _from_dialog()
    name = _backend(from_dialog)
    if name is None:
        return
    _remember(beauty_level, multi_face)
    # First run (no key, no engine) and a key that does not work: say so before anything is sent.
    problem = doctor.in_background(doctor.preflight, 0.1, lambda elapsed: pdb.gimp_progress_pulse(), name)
    if problem is not None:
        gimp.message(_native(problem))
        _fail([problem], from_dialog)
        return
    host = GimpHost(image)
    layerjob.retouch_layer(host, drawable, beauty_level, bool(multi_face), backend=name, layer_mask=layer_mask)
    gimp.displays_flush()
    _fail(host.failures, from_dialog)


def smart_beauty_masked(image, drawable, beauty_level, multi_face):
    smart_beauty(image, drawable, beauty_level, multi_face, layer_mask=True)


def smart_beauty_batch(input, output_folder, beauty_level, multi_face):  # noqa: A002 - PDB name
    from_dialog = _from_dialog()
    name = _backend(from_dialog)
    if name is not None:
        host = GimpHost()
        gimpbatch.run_batch(host, input, output_folder, beauty_level, bool(multi_face), backend=name)
        _fail(host.failures, from_dialog)


def smart_beauty_check():
    """Check Setup: every finding with its fix, in one message (network waits on a worker thread)."""
    gimp.progress_init(_native("Smart Beauty: checking the setup"))
    try:
        report = doctor.in_background(doctor.run, 0.1, lambda elapsed: pdb.gimp_progress_pulse(),
                                      gimp_version="%d.%d.%d" % tuple(gimp.version[:3]),
                                      plugin_path=ENTRY)
    finally:
        pdb.gimp_progress_end()
    gimp.message(_native("Smart Beauty - Check Setup\n" + report.text()))


def _ask_key(current_masked):
    """A password dialog (interactive GIMP only). Returns the new key, or None when there is no
    display (batch) or the user cancelled. gtk is imported here only: the batch path has none."""
    try:
        import gtk  # noqa: F401 - only in interactive GIMP 2.10
    except ImportError:
        return None
    if gtk.gdk.display_get_default() is None:
        return None
    dialog = gtk.Dialog("Smart Beauty Settings", None, gtk.DIALOG_MODAL,
                        (gtk.STOCK_CANCEL, gtk.RESPONSE_CANCEL, gtk.STOCK_OK, gtk.RESPONSE_OK))
    label = gtk.Label("AILab API key (stored only in your user config folder, readable by you only).\n"
                      "Current key: %s" % current_masked)
    entry = gtk.Entry()
    entry.set_visibility(False)
    entry.set_activates_default(True)
    status = gtk.Label("")
    status.set_line_wrap(True)
    where = gtk.combo_box_new_text()
    for text in BACKEND_LABELS:
        where.append_text(text)
    where.set_active(_last_backend())
    dialog.add_button("_Test key", TEST_RESPONSE)
    dialog.set_default_response(gtk.RESPONSE_OK)
    dialog.vbox.pack_start(label, False, False, 6)
    dialog.vbox.pack_start(entry, False, False, 6)
    dialog.vbox.pack_start(gtk.Label("Where to retouch:"), False, False, 2)
    dialog.vbox.pack_start(where, False, False, 6)
    dialog.vbox.pack_start(status, False, False, 6)
    dialog.show_all()

    def pump(elapsed):
        while gtk.events_pending():
            gtk.main_iteration()
    try:
        while True:
            response = dialog.run()
            if response != TEST_RESPONSE:
                break
            status.set_text("Testing the key with the service...")
            status.set_text(_native(doctor.in_background(doctor.test_key, 0.05, pump,
                                                         entry.get_text().strip() or None)))
        if response != gtk.RESPONSE_OK:
            return None
        _remember_backend(localserver.BACKENDS[max(0, where.get_active())])
        return entry.get_text().strip() or None
    finally:
        dialog.destroy()


def _remember_backend(name):
    try:
        sb_settings.Settings.load().remember(backend=name)
    except (errors.SmartBeautyError, IOError, OSError, ValueError):
        pass


TEST_RESPONSE = 1


def smart_beauty_settings():
    try:
        current = sb_settings.Settings.load()
        key = _ask_key(current.masked_key())
        if key:
            sb_settings.save_api_key(key)
        with layerjob.client_from_settings() as client:
            client.credits()
        gimp.message("Smart Beauty: your AILab API key works.")
    except errors.SmartBeautyError as e:
        gimp.message(_native(str(e)))
        # No arguments, so gimpfu never shows a dialog here: from the menu this raises too, and
        # the user still sees only the message above.
        _fail([str(e)], False)


def _without_library(*args):
    """Every procedure, when lib/ or requests is missing: the sentence saying what and the fix."""
    from_dialog = _from_dialog()
    gimp.message(_native(MISSING))
    _fail([MISSING], from_dialog)


if MISSING:
    smart_beauty = smart_beauty_masked = smart_beauty_batch = smart_beauty_settings = smart_beauty_check = \
        _without_library


def register_procedures():
    """Declare the procedures to gimpfu (the entry script calls this, then gimpfu's main())."""
    _last = {} if MISSING else _remembered()
    # Both retouch procedures' knobs, defaults from the last run (settings.json outlives gimpfu's shelf).
    _KNOBS = [
        (PF_SLIDER, "beauty_level", "Beauty _level", float(_last.get("beauty_level", 0.8)), (0.0, 1.0, 0.05)),
        (PF_TOGGLE, "multi_face", "Retouch _all faces", bool(_last.get("multi_face", False))),
    ]

    register(
        "python_fu_smart_beauty",
        "Retouch a portrait with AILabTools Smart Beauty, as a new layer",
        "Sends the active layer to the AILabTools Smart Beauty service and adds the retouched result as a new "
        "layer above it (same offsets and size, alpha kept, the selection as its mask), in one undo step. "
        "The API key comes from AILAB_API_KEY or Smart Beauty Settings..., never from the arguments.",
        "Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026",
        "Smart _Beauty...",
        "RGB*, GRAY*, INDEXED*",
        [
            (PF_IMAGE, "image", "Input image", None),
            (PF_DRAWABLE, "drawable", "Input drawable", None),
        ] + _KNOBS,
        [],
        smart_beauty,
        menu="<Image>/Filters/Enhance", on_run=_dialog_shown)

    register(
        "python_fu_smart_beauty_masked",
        "Retouch a portrait with AILabTools Smart Beauty, as a new layer masked to where it changed",
        "As Smart Beauty..., and the new layer's mask is where the retouch changed the layer (soft edged, within "
        "the selection), so you can paint the retouch out or in afterwards.",
        "Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026",
        "Smart Beauty as _Masked Layer...",
        "RGB*, GRAY*, INDEXED*",
        [
            (PF_IMAGE, "image", "Input image", None),
            (PF_DRAWABLE, "drawable", "Input drawable", None),
        ] + _KNOBS,
        [],
        smart_beauty_masked,
        menu="<Image>/Filters/Enhance", on_run=_dialog_shown)

    register(
        "python_fu_smart_beauty_batch",
        "Retouch many portrait files with AILabTools Smart Beauty",
        "Opens each image file matched by the input (a folder, a glob pattern, or several separated by the "
        "path separator), adds the Smart Beauty layer and writes NAME.beauty.png into the output folder. "
        "Files that fail are reported and skipped.",
        "Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026",
        "Smart Beauty _Batch...",
        "",
        [
            (PF_STRING, "input", "Input folder or pattern", ""),
            (PF_DIRNAME, "output_folder", "Output folder", ""),
        ] + _KNOBS,
        [],
        smart_beauty_batch,
        menu="<Image>/Filters/Enhance", on_run=_dialog_shown)

    register(
        "python_fu_smart_beauty_settings",
        "Store and test the AILabTools API key for Smart Beauty",
        "Asks for the API key in a password field (interactive only) and stores it in the Smart Beauty config "
        "folder (mode 0600), then tests it. Non-interactive: tests the configured key. The key is never an "
        "argument, so it never lands in GIMP's procedure history.",
        "Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026",
        "Smart Beauty _Settings...",
        "",
        [],
        [],
        smart_beauty_settings,
        menu="<Image>/Filters/Enhance")

    register(
        "python_fu_smart_beauty_check",
        "Check the Smart Beauty setup and say how to fix each problem",
        "Reports GIMP and Python versions, where the plug-in and its library were loaded from, the requests "
        "version and CA bundle, whether an API key is set (masked) and accepted, whether the offline engine is "
        "installed and starts, and the fix for each problem. Never shows the key.",
        "Smart Beauty for GIMP contributors", "GPL-3.0-or-later", "2026",
        "_Check Setup...",
        "",
        [],
        [],
        smart_beauty_check,
        menu="<Image>/Filters/Enhance/Smart Beauty")
