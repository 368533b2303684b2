# -*- coding: utf-8 -*-
"""Stand-in for GIMP 2.10.34's ``gimpfu`` (plug-ins/pygimp/gimpfu.py), as that source reads (and a real
GIMP 2.10 behaves, tests/hosts):

* ``register()`` with the same checks (name characters, tuple lengths), the ``python-fu-`` name
  prefixing, GIMP's canonicalisation (``_`` -> ``-``), new-style menus (``label`` + ``menu``) and the
  old style (path in ``label``, which auto-inserts image/drawable params for ``<Image>``);
* ``main()`` installs each registered procedure in the stub PDB with ``run-mode`` prepended, so
  ``pdb.python_fu_smart_beauty(img, drw, 0.8, 0)`` runs it like GIMP would;
* ``_run`` semantics: RUN_NONINTERACTIVE calls the function directly (no shelf, no flush);
  otherwise the missing params come from the dialog (RUN_INTERACTIVE, see :data:`DIALOG`) or the
  shelf / defaults (RUN_WITH_LAST_VALS); the shelf key ``python-fu-save--<name>`` is written before
  the function runs; then ``gimp.displays_flush()``;
* an exception in the function: the traceback goes to stderr and the caller sees
  ``RuntimeError("execution error")`` (pygimp_run_proc returns EXECUTION_ERROR without a message).

Single source for Python 2.7 and 3.
"""
from __future__ import absolute_import, print_function

import re
import sys
import traceback
import warnings

import gimp
from gimpenums import *  # noqa: F401,F403
from gimpenums import RUN_INTERACTIVE, RUN_NONINTERACTIVE, RUN_WITH_LAST_VALS
from gimpshelf import shelf

pdb = gimp.pdb


class error(RuntimeError):  # noqa: N801
    pass


class CancelError(RuntimeError):
    pass


PF_INT8, PF_INT16, PF_INT32 = PDB_INT8, PDB_INT16, PDB_INT32  # noqa: F405
PF_INT = PF_INT32
PF_FLOAT = PDB_FLOAT  # noqa: F405
PF_STRING = PDB_STRING  # noqa: F405
PF_VALUE = PF_STRING
PF_COLOR = PF_COLOUR = PDB_COLOR  # noqa: F405
PF_ITEM = PDB_ITEM  # noqa: F405
PF_DISPLAY = PDB_DISPLAY  # noqa: F405
PF_IMAGE = PDB_IMAGE  # noqa: F405
PF_LAYER = PDB_LAYER  # noqa: F405
PF_CHANNEL = PDB_CHANNEL  # noqa: F405
PF_DRAWABLE = PDB_DRAWABLE  # noqa: F405
PF_VECTORS = PDB_VECTORS  # noqa: F405
PF_TOGGLE = 1000
PF_BOOL = PF_TOGGLE
PF_SLIDER = 1001
PF_SPINNER = 1002
PF_ADJUSTMENT = PF_SPINNER
PF_FONT = 1003
PF_FILE = 1004
PF_BRUSH = 1005
PF_PATTERN = 1006
PF_GRADIENT = 1007
PF_RADIO = 1008
PF_TEXT = 1009
PF_PALETTE = 1010
PF_FILENAME = 1011
PF_DIRNAME = 1012
PF_OPTION = 1013

# PF type -> PDB type (what the procedure is installed with)
_type_mapping = {
    PF_INT8: "INT8", PF_INT16: "INT16", PF_INT32: "INT32", PF_FLOAT: "FLOAT", PF_STRING: "STRING",
    PF_COLOR: "COLOR", PF_ITEM: "ITEM", PF_DISPLAY: "DISPLAY", PF_IMAGE: "IMAGE", PF_LAYER: "LAYER",
    PF_CHANNEL: "CHANNEL", PF_DRAWABLE: "DRAWABLE", PF_VECTORS: "VECTORS",
    PF_TOGGLE: "INT32", PF_SLIDER: "FLOAT", PF_SPINNER: "INT32", PF_FONT: "STRING", PF_FILE: "STRING",
    PF_BRUSH: "STRING", PF_PATTERN: "STRING", PF_GRADIENT: "STRING", PF_RADIO: "STRING", PF_TEXT: "STRING",
    PF_PALETTE: "STRING", PF_FILENAME: "STRING", PF_DIRNAME: "STRING", PF_OPTION: "INT32",
}

# PF type -> Python type a present argument must have (gimpfu's _obj_mapping)
_obj_mapping = {
    PF_INT8: int, PF_INT16: int, PF_INT32: int, PF_FLOAT: float, PF_STRING: str, PF_ITEM: gimp.Item,
    PF_DISPLAY: gimp.Display, PF_IMAGE: gimp.Image, PF_LAYER: gimp.Layer, PF_CHANNEL: gimp.Channel,
    PF_DRAWABLE: gimp.Drawable, PF_VECTORS: gimp.Vectors, PF_TOGGLE: bool, PF_SLIDER: float,
    PF_SPINNER: int, PF_FONT: str, PF_FILE: str, PF_BRUSH: str, PF_PATTERN: str, PF_GRADIENT: str,
    PF_RADIO: str, PF_TEXT: str, PF_PALETTE: str, PF_FILENAME: str, PF_DIRNAME: str, PF_OPTION: int,
}

_registered_plugins_ = {}

# The interactive dialog. gimpfu builds a GTK dialog from the params; the stand-in calls this hook
# with (proc_name, params, defaults) and uses the list it returns; raising CancelError is "Cancel".
# Tests replace it; by default it accepts the defaults shown.


def _default_dialog(proc_name, params, defaults):
    return list(defaults)


DIALOG = _default_dialog

# What gimpfu's error_dialog would have shown: an exception escaping the function after its dialog
# (gimpfu.py _interact: "An error occurred running <proc>" + the traceback, then re-raised).
ERROR_DIALOGS = []

_ok_name = re.compile(r"^[A-Za-z0-9_\-]+$")


def register(proc_name, blurb, help, author, copyright, date, label, imagetypes, params, results,  # noqa: A002
             function, menu=None, domain=None, on_query=None, on_run=None, run_mode_param=True):
    if not _ok_name.match(proc_name):
        raise error("broken procedure name")
    params = list(params)
    results = list(results)
    for ent in params:
        if len(ent) < 4:
            raise error("parameter definition must contain at least 4 elements (%s given: %s)"
                        % (len(ent), ent))
        if not isinstance(ent[0], int):
            raise error("parameter types must be integers")
        if not _ok_name.match(ent[1]):
            raise error("parameter name contains illegal characters: " + ent[1])
    for ent in results:
        if len(ent) < 3:
            raise error("result definition must contain at least 3 elements (%s given: %s)"
                        % (len(ent), ent))
        if not isinstance(ent[0], int):
            raise error("result types must be integers")
        if not _ok_name.match(ent[1]):
            raise error("result name contains illegal characters: " + ent[1])

    plugin_type = PLUGIN  # noqa: F405
    need_prefix = not any(proc_name.startswith(p) for p in (
        "python-", "python_", "extension-", "extension_", "plug-in-", "plug_in_", "file-", "file_"))
    if need_prefix:
        proc_name = "python-fu-" + proc_name

    if menu is None and label and label.startswith("<"):
        # old style: the path is in the label
        warnings.warn("%s: passing the full menu path for the menu label is deprecated, "
                      "use the 'menu' parameter instead" % proc_name, DeprecationWarning, stacklevel=2)
        menu, label = label.rsplit("/", 1)
        if menu.startswith("<Image>") or menu.startswith("<Save>"):
            params[0:0] = [(PF_IMAGE, "image", "Input image", None),
                           (PF_DRAWABLE, "drawable", "Input drawable", None)]
            if menu.startswith("<Save>"):
                params[2:2] = [(PF_STRING, "filename", "The name of the file", ""),
                               (PF_STRING, "raw-filename", "The name of the file", "")]
        elif menu.startswith("<Load>"):
            params[0:0] = [(PF_STRING, "filename", "The name of the file", ""),
                           (PF_STRING, "raw-filename", "The name entered", "")]

    _registered_plugins_[proc_name] = (blurb, help, author, copyright, date, label, imagetypes,
                                       plugin_type, params, results, function, menu, domain,
                                       on_query, on_run, run_mode_param)


def canonical(name):
    """GIMP's gimp_canonicalize_identifier: every char not [A-Za-z0-9-] becomes '-'."""
    return re.sub(r"[^A-Za-z0-9\-]", "-", name)


def _query():
    for plugin, info in _registered_plugins_.items():
        (blurb, help, author, copyright, date, label, imagetypes, plugin_type, params, results,  # noqa: A001
         function, menu, domain, on_query, on_run, run_mode_param) = info
        pdb_params = [(_type_mapping[p[0]], p[1]) for p in params]
        if run_mode_param:
            pdb_params.insert(0, ("INT32", "run-mode"))
        pdb_results = [(_type_mapping[r[0]], r[1]) for r in results]
        name = canonical(plugin)
        n_results = len(results)

        def make(plugin=plugin, n_results=n_results, types=tuple(t for t, _ in pdb_params[1:])):
            def call(run_mode, *args):
                # what GIMP hands the plug-in process: objects for IDs (None for -1)
                args = tuple(gimp._wrap(a) if t in gimp._OBJ_TYPES else a for t, a in zip(types, args))
                return _run(plugin, (run_mode,) + args, n_results)
            return call
        gimp.proc(name, pdb_params, pdb_results, proc_type="GIMP Plug-In")(make())
        gimp._PROCS[name].registered_by_gimpfu = True
        gimp.install_procedure(name)
        if menu:
            gimp.menu_register(name, menu)


def _get_defaults(proc_name):
    params = _registered_plugins_[proc_name][8]
    key = "python-fu-save--" + proc_name
    if shelf.has_key(key):  # noqa: W601 - gimpshelf API
        return shelf[key]
    return tuple(p[3] for p in params)


def _set_defaults(proc_name, defaults):
    shelf["python-fu-save--" + proc_name] = defaults


def _run(proc_name, params, n_results=0):
    run_mode = params[0]
    info = _registered_plugins_[proc_name]
    plugin_params = info[8]
    func = info[10]
    params = list(params[1:])
    try:
        if run_mode == RUN_NONINTERACTIVE:
            res = func(*params)
        else:
            # how many leading params are present with the right type
            nparams = len(params)
            for i, p in enumerate(plugin_params[:nparams]):
                if not isinstance(params[i], _obj_mapping[p[0]]):
                    nparams = i
                    break
            interactive = False
            if nparams < len(plugin_params):
                defaults = list(_get_defaults(proc_name))
                if run_mode == RUN_INTERACTIVE:
                    interactive = True
                    on_run = info[14]
                    if on_run:     # gimpfu's _interact calls it before building the dialog
                        on_run()
                    shown = DIALOG(proc_name, plugin_params[nparams:], defaults[nparams:])
                    params = list(params[:nparams]) + list(shown)
                elif run_mode == RUN_WITH_LAST_VALS:
                    params = list(params[:nparams]) + defaults[nparams:]
            _set_defaults(proc_name, tuple(params))
            try:
                res = func(*params)
            except Exception as e:
                if interactive:
                    ERROR_DIALOGS.append("An error occurred running %s: %s" % (proc_name, e))
                raise
            gimp.displays_flush()
    except CancelError:
        return None
    except Exception:
        traceback.print_exc(file=sys.stderr)
        raise RuntimeError("execution error")
    if n_results == 0:
        return None
    return res


def run_from_menu(proc_name, image, drawable):
    """What GIMP does when the user picks the menu entry: RUN_INTERACTIVE with only run-mode, image
    and drawable (app/actions/procedure-commands.c truncates the rest)."""
    name = [k for k in _registered_plugins_ if canonical(k) == canonical(proc_name)][0]
    return _run(name, (RUN_INTERACTIVE, image, drawable))


def repeat_from_menu(proc_name, image, drawable):
    """Filters > Repeat: RUN_WITH_LAST_VALS with only run-mode, image and drawable; no dialog."""
    name = [k for k in _registered_plugins_ if canonical(k) == canonical(proc_name)][0]
    return _run(name, (RUN_WITH_LAST_VALS, image, drawable))


def main():
    """Install the registered procedures (the stand-in's query); running is by PDB call."""
    _query()


def fail(msg):
    gimp.message(msg)
    raise error(msg)


def N_(message):  # noqa: N802
    return message


def gettext(message):
    return message
