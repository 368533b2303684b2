# -*- coding: utf-8 -*-
"""Stand-in for GIMP 2.10's ``gimp`` module (pygimp), over the model in :mod:`fakecore`.

Follows GIMP 2.10.34's pygimp (pygimp-image.c, pygimp-drawable.c, checked on a real GIMP 2.10 in
tests/hosts): the object attributes and methods of pygimp, and the PDB called by name with pygimp's
calling convention (pygimp-pdb.c):

* ``pdb.gimp_image_insert_layer(...)`` or ``pdb["gimp-image-insert-layer"](...)``; ``_`` -> ``-``;
  an unknown attribute raises ``gimp.error("procedure not found")``, an unknown key ``KeyError``;
* a first parameter named ``run-mode`` is never passed positionally: only as ``run_mode=`` (default
  RUN_NONINTERACTIVE); a wrong count -> ``TypeError("wrong number of parameters")``; another keyword
  -> ``TypeError("only 'run_mode' keyword argument accepted")``;
* INT via int(), FLOAT via float(), STRING via str() (None allowed); IMAGE/LAYER/... must be the
  matching gimp object or None (-1); a plain int -> ``TypeError("wrong parameter type")``;
* returns: nothing -> None, one value -> the bare value, more -> a tuple; invalid IDs -> None;
* a failing procedure -> ``RuntimeError(<GIMP's message>)``.

Every procedure here carries its real GIMP 2.10.34 signature (parameter types and names, return
values); tests/stubs/test_pdb_signatures.py compares each with the real PDB dump. The object
methods call these procedures, as pygimp's do. Single source for Python 2.7 and 3.
"""
from __future__ import absolute_import, division, print_function

import os
import sys
import tempfile

import numpy as np

import fakecore as core

version = (2, 10, 34)
directory = ""
data_directory = "/usr/share/gimp/2.0"
plug_in_directory = "/usr/lib/gimp/2.0"
sysconf_directory = "/etc/gimp/2.0"
locale_directory = "/usr/share/locale"


class error(RuntimeError):  # noqa: N801 - pygimp's name
    """gimp.error"""


_session = [None]


def _reset(dirpath=None, tempdir=None):
    """Start a fresh GIMP session (tests). Returns the fakecore.Session."""
    global directory
    if dirpath is None:
        dirpath = tempfile.mkdtemp(prefix="gimp-profile-")
    if tempdir is None:
        tempdir = os.path.join(dirpath, "tmp")
    _session[0] = core.Session(dirpath, tempdir)
    directory = dirpath
    _wrappers.clear()
    return _session[0]


def _s():
    if _session[0] is None:
        _reset()
    return _session[0]


# ------------------------------------------------------------------------------------------
# object wrappers (pygimp types)

_wrappers = {}


def _wrap(model):
    if model is None or model.deleted:
        return None
    w = _wrappers.get(model.id)
    if w is not None:
        return w
    if isinstance(model, core.ImageModel):
        w = Image.__new__(Image)
    elif isinstance(model, core.GroupModel):
        w = GroupLayer.__new__(GroupLayer)
    elif isinstance(model, core.LayerModel):
        w = Layer.__new__(Layer)
    elif isinstance(model, core.MaskModel):
        w = Channel.__new__(Channel)
    else:  # pragma: no cover
        raise TypeError(model)
    w._m = model
    _wrappers[model.id] = w
    return w


class Image(object):
    def __init__(self, width, height, type=core.RGB):  # noqa: A002 - pygimp's keyword
        m = pdb.gimp_image_new(width, height, type)._m
        self._m = m
        _wrappers[m.id] = self

    def __eq__(self, other):
        return isinstance(other, Image) and other._m is self._m

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._m.id)

    def __repr__(self):
        return "<gimp.Image '%s'>" % (os.path.basename(self._m.filename or "Untitled"),)

    def __reduce__(self):  # pygimp pickles images by ID (img_reduce -> gimp._id2image)
        return (_id2image, (self._m.id,))

    ID = property(lambda self: self._m.id)
    width = property(lambda self: pdb.gimp_image_width(self))
    height = property(lambda self: pdb.gimp_image_height(self))
    base_type = property(lambda self: pdb.gimp_image_base_type(self))
    filename = property(lambda self: pdb.gimp_image_get_filename(self))
    layers = property(lambda self: [_wrap(lm) for lm in self._m.layers])
    selection = property(lambda self: pdb.gimp_image_get_selection(self))
    dirty = property(lambda self: bool(self._m.dirty))
    name = property(lambda self: os.path.basename(self._m.filename or "Untitled"))

    @property
    def active_layer(self):
        return pdb.gimp_image_get_active_layer(self)

    @active_layer.setter
    def active_layer(self, layer):
        pdb.gimp_image_set_active_layer(self, layer)

    @property
    def active_drawable(self):
        return pdb.gimp_image_get_active_drawable(self)

    def insert_layer(self, layer, parent=None, position=-1):
        pdb.gimp_image_insert_layer(self, layer, parent, position)

    def add_layer(self, layer, position=-1):
        pdb.gimp_image_insert_layer(self, layer, None, position)

    def remove_layer(self, layer):
        pdb.gimp_image_remove_layer(self, layer)

    def undo_group_start(self):
        pdb.gimp_image_undo_group_start(self)

    def undo_group_end(self):
        pdb.gimp_image_undo_group_end(self)

    def duplicate(self):
        return pdb.gimp_image_duplicate(self)

    def scale(self, width, height):
        pdb.gimp_image_scale(self, width, height)


class Item(object):
    def __eq__(self, other):
        return isinstance(other, Item) and other._m is self._m

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._m.id)

    def __repr__(self):
        return "<gimp.%s '%s'>" % (type(self).__name__, self._m.name)

    def __reduce__(self):  # pygimp pickles drawables by ID (-> gimp._id2drawable)
        return (_id2drawable, (self._m.id,))

    ID = property(lambda self: self._m.id)
    image = property(lambda self: pdb.gimp_item_get_image(self))
    parent = property(lambda self: pdb.gimp_item_get_parent(self))

    @property
    def name(self):
        return pdb.gimp_item_get_name(self)

    @name.setter
    def name(self, value):
        pdb.gimp_item_set_name(self, value)

    @property
    def visible(self):
        return bool(pdb.gimp_item_get_visible(self))

    @visible.setter
    def visible(self, value):
        pdb.gimp_item_set_visible(self, value)


class Drawable(Item):
    width = property(lambda self: pdb.gimp_drawable_width(self))
    height = property(lambda self: pdb.gimp_drawable_height(self))
    offsets = property(lambda self: pdb.gimp_drawable_offsets(self))
    has_alpha = property(lambda self: bool(pdb.gimp_drawable_has_alpha(self)))
    type = property(lambda self: pdb.gimp_drawable_type(self))
    is_rgb = property(lambda self: bool(pdb.gimp_drawable_is_rgb(self)))
    is_gray = property(lambda self: bool(pdb.gimp_drawable_is_gray(self)))
    is_grey = is_gray
    is_indexed = property(lambda self: bool(pdb.gimp_drawable_is_indexed(self)))
    is_layer_mask = property(lambda self: bool(pdb.gimp_item_is_layer_mask(self)))
    bpp = property(lambda self: core.CHANNELS[self._m.type])


class Layer(Drawable):
    def __init__(self, image, name, width, height, type=core.RGB_IMAGE, opacity=100.0,  # noqa: A002
                 mode=core.LAYER_MODE_NORMAL):
        m = pdb.gimp_layer_new(image, width, height, type, name, opacity, mode)._m
        self._m = m
        _wrappers[m.id] = self

    @property
    def opacity(self):
        return pdb.gimp_layer_get_opacity(self)

    @opacity.setter
    def opacity(self, value):
        pdb.gimp_layer_set_opacity(self, value)

    mask = property(lambda self: pdb.gimp_layer_get_mask(self))
    children = property(lambda self: [_wrap(c) for c in getattr(self._m, "children", [])])

    def copy(self, add_alpha=False):
        return pdb.gimp_layer_copy(self, add_alpha)

    def add_alpha(self):
        pdb.gimp_layer_add_alpha(self)

    def create_mask(self, type):  # noqa: A002
        return pdb.gimp_layer_create_mask(self, type)

    def add_mask(self, mask):
        pdb.gimp_layer_add_mask(self, mask)

    def remove_mask(self, mode):
        pdb.gimp_layer_remove_mask(self, mode)

    def scale(self, width, height, local_origin=True, interpolation=None):
        pdb.gimp_layer_scale(self, width, height, local_origin)

    def set_offsets(self, x, y):
        pdb.gimp_layer_set_offsets(self, x, y)

    def translate(self, dx, dy):
        x, y = self.offsets
        pdb.gimp_layer_set_offsets(self, x + dx, y + dy)


class GroupLayer(Layer):
    def __init__(self, image, name="Layer Group"):
        m = pdb.gimp_layer_group_new(image)._m
        m.name = name
        self._m = m
        _wrappers[m.id] = self

    layers = property(lambda self: [_wrap(c) for c in self._m.children])


class Channel(Drawable):
    pass


class Display(object):
    pass


class Vectors(Item):
    pass


# ------------------------------------------------------------------------------------------
# the PDB

_PROCS = {}

_OBJ_TYPES = {"IMAGE": Image, "LAYER": Layer, "CHANNEL": Channel, "DRAWABLE": Drawable, "ITEM": Item,
              "SELECTION": Channel, "DISPLAY": Display, "VECTORS": Vectors}


class _Proc(object):
    def __init__(self, name, params, returns, fn, proc_type="Internal GIMP procedure"):
        self.name = name
        self.params = [tuple(p.split(":")) if isinstance(p, str) else tuple(p) for p in params]
        self.returns = [tuple(p.split(":")) if isinstance(p, str) else tuple(p) for p in returns]
        self.fn = fn
        self.proc_type = proc_type

    @property
    def signature(self):
        """[[GIMP_PDB_TYPE, name], ...] as in the parsed PDB dump."""
        return ([["GIMP_PDB_" + t, n] for t, n in self.params],
                [["GIMP_PDB_" + t, n] for t, n in self.returns])

    def __call__(self, *args, **kwargs):
        params = self.params
        run_mode = None
        if params and params[0][1] == "run-mode":
            for k in kwargs:
                if k != "run_mode":
                    raise TypeError("only 'run_mode' keyword argument accepted")
            run_mode = int(kwargs.get("run_mode", 1))
            params = params[1:]
        elif kwargs:
            raise TypeError("only 'run_mode' keyword argument accepted")
        if len(args) != len(params):
            raise TypeError("wrong number of parameters")
        conv = [_convert_in(t, a) for (t, _), a in zip(params, args)]
        if run_mode is not None:
            conv.insert(0, run_mode)
        _s().calls.append(self.name)
        try:
            result = self.fn(*conv)
        except core.ProcedureError as e:
            raise RuntimeError(str(e))
        if not self.returns:
            return None
        if len(self.returns) == 1:
            result = (result,)
        out = tuple(_convert_out(t, v) for (t, _), v in zip(self.returns, result))
        return out[0] if len(out) == 1 else out


def _convert_in(t, a):
    if t in ("INT32", "INT16", "INT8"):
        return int(a)
    if t == "FLOAT":
        return float(a)
    if t == "STRING":
        return None if a is None else str(a)
    if t in _OBJ_TYPES:
        if a is None:
            return None
        if not isinstance(a, _OBJ_TYPES[t]):
            raise TypeError("wrong parameter type")
        return a._m
    if t in ("INT32ARRAY", "INT8ARRAY", "FLOATARRAY", "STRINGARRAY"):
        return list(a)
    return a


def _convert_out(t, v):
    if t in _OBJ_TYPES:
        return _wrap(v)
    if t.endswith("ARRAY"):
        return tuple(v)
    return v


def proc(name, params, returns=(), proc_type="Internal GIMP procedure"):
    def deco(fn):
        _PROCS[name] = _Proc(name, params, returns, fn, proc_type)
        return fn
    return deco


class _PDB(object):
    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        p = _PROCS.get(attr.replace("_", "-"))
        if p is None:
            raise error("procedure not found")
        return p

    def __getitem__(self, key):
        p = _PROCS.get(key.replace("_", "-"))
        if p is None:
            raise KeyError(key)
        return p

    def __contains__(self, key):
        return key.replace("_", "-") in _PROCS

    def query(self, *args):
        return sorted(_PROCS)


pdb = _PDB()


def _layer(m, what="layer"):
    if m is None:
        raise core.ProcedureError("Invalid value for argument '%s'" % what)
    return m


# images ----------------------------------------------------------------------------------
@proc("gimp-image-new", ["INT32:width", "INT32:height", "INT32:type"], ["IMAGE:image"])
def _image_new(w, h, t):
    return core.ImageModel(_s(), w, h, t)


@proc("gimp-image-delete", ["IMAGE:image"])
def _image_delete(img):
    img.deleted = True


@proc("gimp-image-list", [], ["INT32:num-images", "INT32ARRAY:image-ids"])
def _image_list():
    ids = _s().live_images()
    return len(ids), ids


@proc("gimp-image-width", ["IMAGE:image"], ["INT32:width"])
def _image_width(img):
    return img.width


@proc("gimp-image-height", ["IMAGE:image"], ["INT32:height"])
def _image_height(img):
    return img.height


@proc("gimp-image-base-type", ["IMAGE:image"], ["INT32:base-type"])
def _image_base_type(img):
    return img.base


@proc("gimp-image-get-filename", ["IMAGE:image"], ["STRING:filename"])
def _image_filename(img):
    return img.filename


@proc("gimp-image-get-layers", ["IMAGE:image"], ["INT32:num-layers", "INT32ARRAY:layer-ids"])
def _image_get_layers(img):
    return len(img.layers), [lm.id for lm in img.layers]


@proc("gimp-image-get-active-layer", ["IMAGE:image"], ["LAYER:active-layer"])
def _image_active_layer(img):
    return img.active[0] if img.active and img.active[0].kind != "mask" else None


@proc("gimp-image-set-active-layer", ["IMAGE:image", "LAYER:active-layer"])
def _image_set_active_layer(img, layer):
    img.active = [_layer(layer, "active-layer")]


@proc("gimp-image-get-active-drawable", ["IMAGE:image"], ["DRAWABLE:drawable"])
def _image_active_drawable(img):
    return img.active[0] if img.active else None


@proc("gimp-image-insert-layer", ["IMAGE:image", "LAYER:layer", "LAYER:parent", "INT32:position"])
def _image_insert_layer(img, layer, parent, position):
    img.insert_layer(_layer(layer), parent, position)


@proc("gimp-image-remove-layer", ["IMAGE:image", "LAYER:layer"])
def _image_remove_layer(img, layer):
    img.remove_layer(_layer(layer))


@proc("gimp-image-get-item-position", ["IMAGE:image", "ITEM:item"], ["INT32:position"])
def _image_item_position(img, item):
    return img.position_of(_layer(item, "item"))


@proc("gimp-image-undo-group-start", ["IMAGE:image"])
def _undo_start(img):
    img.undo_group_start()


@proc("gimp-image-undo-group-end", ["IMAGE:image"])
def _undo_end(img):
    img.undo_group_end()


@proc("gimp-image-duplicate", ["IMAGE:image"], ["IMAGE:new-image"])
def _image_duplicate(img):
    new = core.ImageModel(_s(), img.width, img.height, img.base)
    new.colormap = None if img.colormap is None else img.colormap.copy()
    for lm in reversed(img.layers):
        if lm.kind == "group":
            raise core.ProcedureError("stand-in: duplicating layer groups is not modelled")
        copy = core.layer_from_drawable(lm, new)
        copy.name = lm.name
        new.insert_layer(copy, None, 0)
    new.selection = img.selection.copy()
    return new


@proc("gimp-image-scale", ["IMAGE:image", "INT32:new-width", "INT32:new-height"])
def _image_scale(img, w, h):
    img.scale(w, h)


@proc("gimp-image-get-selection", ["IMAGE:image"], ["SELECTION:selection"])
def _image_selection(img):
    m = _s().items.get(img.selection_id)
    if m is None:
        m = core.MaskModel.__new__(core.MaskModel)
        core.ItemModel.__init__(m, img, "Selection Mask")
        _s().items.pop(m.id)
        m.id = img.selection_id
        _s().items[m.id] = m
        m.attached = True
    m.pixels = img.selection
    return m


@proc("gimp-image-select-rectangle", ["IMAGE:image", "INT32:operation", "FLOAT:x", "FLOAT:y",
                                      "FLOAT:width", "FLOAT:height"])
def _select_rectangle(img, op, x, y, w, h):
    img.select_rectangle(op, x, y, w, h)


@proc("gimp-selection-is-empty", ["IMAGE:image"], ["INT32:is-empty"])
def _selection_is_empty(img):
    return 1 if img.selection_is_empty() else 0


@proc("gimp-selection-none", ["IMAGE:image"])
def _selection_none(img):
    img.selection = np.zeros_like(img.selection)
    img.push_undo()


@proc("gimp-image-select-item", ["IMAGE:image", "INT32:operation", "ITEM:item"])
def _select_item(img, op, item):
    img.select_item(op, _layer(item, "item"))


@proc("gimp-selection-save", ["IMAGE:image"], ["CHANNEL:channel"])
def _selection_save(img):
    return img.save_selection()


@proc("gimp-image-remove-channel", ["IMAGE:image", "CHANNEL:channel"])
def _image_remove_channel(img, channel):
    img.remove_channel(_layer(channel, "channel"))


@proc("gimp-selection-grow", ["IMAGE:image", "INT32:steps"])
def _selection_grow(img, steps):
    img.grow_selection(steps)


@proc("gimp-selection-feather", ["IMAGE:image", "FLOAT:radius"])
def _selection_feather(img, radius):
    img.feather_selection(radius)


@proc("gimp-drawable-desaturate", ["DRAWABLE:drawable", "INT32:desaturate-mode"])
def _drawable_desaturate(d, mode):
    _layer(d, "drawable").desaturate(mode)


@proc("gimp-drawable-threshold", ["DRAWABLE:drawable", "INT32:channel", "FLOAT:low-threshold",
                                  "FLOAT:high-threshold"])
def _drawable_threshold(d, channel, low, high):
    _layer(d, "drawable").threshold(channel, low, high)


@proc("gimp-selection-bounds", ["IMAGE:image"],
      ["INT32:non-empty", "INT32:x1", "INT32:y1", "INT32:x2", "INT32:y2"])
def _selection_bounds(img):
    ne, x1, y1, x2, y2 = img.selection_bounds()
    return int(ne), x1, y1, x2, y2


@proc("gimp-image-convert-rgb", ["IMAGE:image"])
def _convert_rgb(img):
    _convert(img, core.RGB)


@proc("gimp-image-convert-grayscale", ["IMAGE:image"])
def _convert_gray(img):
    _convert(img, core.GRAY)


@proc("gimp-image-convert-indexed", ["IMAGE:image", "INT32:dither-type", "INT32:palette-type",
                                     "INT32:num-cols", "INT32:alpha-dither", "INT32:remove-unused",
                                     "STRING:palette"])
def _convert_indexed(img, dither, ptype, ncols, adither, remove_unused, palette):
    # GENERATE palette: the most common colours (a median cut in GIMP; close enough here)
    cols = []
    for lm in img.all_layers():
        if lm.kind != "group":
            cols.append(lm.rgba()[..., :3].reshape(-1, 3))
    allc = np.concatenate(cols) if cols else np.zeros((1, 3), np.uint8)
    uniq, counts = np.unique(allc.view([("", allc.dtype)] * 3), return_counts=True)
    order = np.argsort(-counts)[:max(1, min(256, ncols))]
    cm = uniq[order].view(allc.dtype).reshape(-1, 3)
    _convert(img, core.INDEXED, np.ascontiguousarray(cm))


def _convert(img, base, colormap=None):
    if img.base == base:
        raise core.ProcedureError("Image is already of the requested type")
    old_cm = img.colormap
    for lm in img.all_layers():
        if lm.kind == "group":
            lm.type = core.type_for(base, True)
            continue
        rgba = core.to_rgba(lm.pixels, lm.type, old_cm)
        lm.pixels = core.from_rgba(rgba, base, lm.has_alpha, colormap)
        lm.type = core.type_for(base, lm.has_alpha)
    img.base = base
    img.colormap = colormap
    img.push_undo()


@proc("gimp-image-get-colormap", ["IMAGE:image"], ["INT32:num-bytes", "INT8ARRAY:colormap"])
def _get_colormap(img):
    if img.colormap is None:
        return 0, []
    flat = img.colormap.reshape(-1).tolist()
    return len(flat), flat


@proc("gimp-image-set-colormap", ["IMAGE:image", "INT32:num-bytes", "INT8ARRAY:colormap"])
def _set_colormap(img, n, cm):
    img.colormap = np.array(cm[:n], np.uint8).reshape(-1, 3)
    img.push_undo()


@proc("gimp-image-is-dirty", ["IMAGE:image"], ["INT32:dirty"])
def _is_dirty(img):
    return 1 if img.dirty else 0


@proc("gimp-image-clean-all", ["IMAGE:image"])
def _clean_all(img):
    img.dirty = 0


# items / drawables / layers -------------------------------------------------------------
@proc("gimp-item-is-valid", ["ITEM:item"], ["INT32:valid"])
def _item_valid(item):
    return 0 if item is None or item.deleted else 1


@proc("gimp-item-get-image", ["ITEM:item"], ["IMAGE:image"])
def _item_image(item):
    return _layer(item, "item").image if item.attached else None


@proc("gimp-item-get-parent", ["ITEM:item"], ["ITEM:parent"])
def _item_parent(item):
    return _layer(item, "item").parent


@proc("gimp-item-get-children", ["ITEM:item"], ["INT32:num-children", "INT32ARRAY:child-ids"])
def _item_children(item):
    if _layer(item, "item").kind != "group":
        raise core.ProcedureError("Item '%s' (%d) cannot be used because it is not a group item"
                                  % (item.name, item.id))
    return len(item.children), [c.id for c in item.children]


@proc("gimp-item-is-group", ["ITEM:item"], ["INT32:group"])
def _item_is_group(item):
    return 1 if _layer(item, "item").kind == "group" else 0


@proc("gimp-item-is-text-layer", ["ITEM:item"], ["INT32:text-layer"])
def _item_is_text(item):
    return 1 if _layer(item, "item").kind == "text" else 0


@proc("gimp-item-is-layer", ["ITEM:item"], ["INT32:layer"])
def _item_is_layer(item):
    return 1 if _layer(item, "item").kind in ("layer", "group", "text") else 0


@proc("gimp-item-is-layer-mask", ["ITEM:item"], ["INT32:layer-mask"])
def _item_is_mask(item):
    return 1 if _layer(item, "item").kind == "mask" and getattr(item, "layer", None) is not None else 0


@proc("gimp-item-get-name", ["ITEM:item"], ["STRING:name"])
def _item_name(item):
    return _layer(item, "item").name


@proc("gimp-item-set-name", ["ITEM:item", "STRING:name"])
def _item_set_name(item, name):
    _layer(item, "item")
    item.name = item.image.unique_name(item, name) if item.attached and item.kind != "mask" else name


@proc("gimp-item-get-visible", ["ITEM:item"], ["INT32:visible"])
def _item_visible(item):
    return 1 if _layer(item, "item").visible else 0


@proc("gimp-item-set-visible", ["ITEM:item", "INT32:visible"])
def _item_set_visible(item, v):
    _layer(item, "item").visible = bool(v)


@proc("gimp-drawable-width", ["DRAWABLE:drawable"], ["INT32:width"])
def _drawable_width(d):
    return _layer(d, "drawable").width


@proc("gimp-drawable-height", ["DRAWABLE:drawable"], ["INT32:height"])
def _drawable_height(d):
    return _layer(d, "drawable").height


@proc("gimp-drawable-offsets", ["DRAWABLE:drawable"], ["INT32:offset-x", "INT32:offset-y"])
def _drawable_offsets(d):
    if _layer(d, "drawable").kind == "mask":
        return tuple(d.layer.offsets) if d.layer is not None else (0, 0)
    return tuple(d.offsets)


@proc("gimp-drawable-has-alpha", ["DRAWABLE:drawable"], ["INT32:has-alpha"])
def _drawable_has_alpha(d):
    return 1 if _layer(d, "drawable").kind != "mask" and d.has_alpha else 0


@proc("gimp-drawable-type", ["DRAWABLE:drawable"], ["INT32:type"])
def _drawable_type(d):
    return core.GRAY_IMAGE if _layer(d, "drawable").kind == "mask" else d.type


@proc("gimp-drawable-is-rgb", ["DRAWABLE:drawable"], ["INT32:is-rgb"])
def _drawable_is_rgb(d):
    return 1 if _drawable_type(d) in (core.RGB_IMAGE, core.RGBA_IMAGE) else 0


@proc("gimp-drawable-is-gray", ["DRAWABLE:drawable"], ["INT32:is-gray"])
def _drawable_is_gray(d):
    return 1 if _drawable_type(d) in (core.GRAY_IMAGE, core.GRAYA_IMAGE) else 0


@proc("gimp-drawable-is-indexed", ["DRAWABLE:drawable"], ["INT32:is-indexed"])
def _drawable_is_indexed(d):
    return 1 if _drawable_type(d) in (core.INDEXED_IMAGE, core.INDEXEDA_IMAGE) else 0


@proc("gimp-layer-new", ["IMAGE:image", "INT32:width", "INT32:height", "INT32:type", "STRING:name",
                         "FLOAT:opacity", "INT32:mode"], ["LAYER:layer"])
def _layer_new(img, w, h, t, name, opacity, mode):
    if core.BASE_OF_TYPE.get(t) is None:
        raise core.ProcedureError("Invalid layer type %r" % (t,))
    return core.LayerModel(img, name, w, h, t, opacity, mode)


@proc("gimp-layer-group-new", ["IMAGE:image"], ["LAYER:layer-group"])
def _layer_group_new(img):
    return core.GroupModel(img)


@proc("gimp-layer-new-from-drawable", ["DRAWABLE:drawable", "IMAGE:dest-image"], ["LAYER:layer-copy"])
def _layer_from_drawable(d, dest):
    return core.layer_from_drawable(_layer(d, "drawable"), dest)


@proc("gimp-layer-copy", ["LAYER:layer", "INT32:add-alpha"], ["LAYER:layer-copy"])
def _layer_copy(layer, add_alpha):
    copy = core.layer_from_drawable(_layer(layer), layer.image)
    if add_alpha:
        copy.add_alpha()
    return copy


@proc("gimp-layer-set-offsets", ["LAYER:layer", "INT32:offx", "INT32:offy"])
def _layer_set_offsets(layer, x, y):
    _layer(layer).set_offsets(x, y)


@proc("gimp-layer-scale", ["LAYER:layer", "INT32:new-width", "INT32:new-height", "INT32:local-origin"])
def _layer_scale(layer, w, h, local_origin):
    _layer(layer).scale(w, h, bool(local_origin))


@proc("gimp-layer-add-alpha", ["LAYER:layer"])
def _layer_add_alpha(layer):
    _layer(layer).add_alpha()


@proc("gimp-layer-create-mask", ["LAYER:layer", "INT32:mask-type"], ["CHANNEL:mask"])
def _layer_create_mask(layer, mtype):
    return _layer(layer).create_mask(mtype)


@proc("gimp-layer-add-mask", ["LAYER:layer", "CHANNEL:mask"])
def _layer_add_mask(layer, mask):
    _layer(layer).add_mask(_layer(mask, "mask"))


@proc("gimp-layer-remove-mask", ["LAYER:layer", "INT32:mode"])
def _layer_remove_mask(layer, mode):
    _layer(layer).remove_mask(mode)


@proc("gimp-layer-get-mask", ["LAYER:layer"], ["CHANNEL:mask"])
def _layer_get_mask(layer):
    return _layer(layer).mask


@proc("gimp-layer-set-mode", ["LAYER:layer", "INT32:mode"])
def _layer_set_mode(layer, mode):
    if mode not in core.MODELLED_MODES:
        raise core.ProcedureError("stand-in: layer mode %r is not modelled" % (mode,))
    _layer(layer).mode = int(mode)


@proc("gimp-layer-get-mode", ["LAYER:layer"], ["INT32:mode"])
def _layer_get_mode(layer):
    return _layer(layer).mode


@proc("gimp-image-merge-down", ["IMAGE:image", "LAYER:merge-layer", "INT32:merge-type"], ["LAYER:layer"])
def _merge_down(img, layer, merge_type):
    return img.merge_down(_layer(layer), merge_type)


@proc("gimp-layer-get-opacity", ["LAYER:layer"], ["FLOAT:opacity"])
def _layer_get_opacity(layer):
    return _layer(layer).opacity


@proc("gimp-layer-set-opacity", ["LAYER:layer", "FLOAT:opacity"])
def _layer_set_opacity(layer, v):
    if not 0.0 <= v <= 100.0:
        raise core.ProcedureError("Invalid opacity %r" % v)
    _layer(layer).opacity = v


@proc("gimp-text-layer-new", ["IMAGE:image", "STRING:text", "STRING:fontname", "FLOAT:size", "INT32:unit"],
      ["LAYER:layer"])
def _text_layer_new(img, text, font, size, unit):
    return core.new_text_layer(img, text, size)


# files -----------------------------------------------------------------------------------
@proc("gimp-file-load", ["INT32:run-mode", "STRING:filename", "STRING:raw-filename"], ["IMAGE:image"])
def _file_load(run_mode, filename, raw):
    return core.load_image(_s(), filename)


@proc("gimp-file-load-layer", ["INT32:run-mode", "IMAGE:image", "STRING:filename"], ["LAYER:layer"])
def _file_load_layer(run_mode, img, filename):
    return core.load_layer(img, filename)


@proc("gimp-file-save", ["INT32:run-mode", "IMAGE:image", "DRAWABLE:drawable", "STRING:filename",
                         "STRING:raw-filename"])
def _file_save(run_mode, img, d, filename, raw):
    core.save_drawable_png(_layer(d, "drawable"), filename)


@proc("file-png-save2", ["INT32:run-mode", "IMAGE:image", "DRAWABLE:drawable", "STRING:filename",
                         "STRING:raw-filename", "INT32:interlace", "INT32:compression", "INT32:bkgd",
                         "INT32:gama", "INT32:offs", "INT32:phys", "INT32:time", "INT32:comment",
                         "INT32:svtrans"], proc_type="GIMP Plug-In")
def _png_save2(run_mode, img, d, filename, raw, *opts):
    if not 0 <= opts[1] <= 9:
        raise core.ProcedureError("Invalid compression level")
    core.save_drawable_png(_layer(d, "drawable"), filename)


@proc("file-png-save-defaults", ["INT32:run-mode", "IMAGE:image", "DRAWABLE:drawable", "STRING:filename",
                                 "STRING:raw-filename"], proc_type="GIMP Plug-In")
def _png_save_defaults(run_mode, img, d, filename, raw):
    core.save_drawable_png(_layer(d, "drawable"), filename)


@proc("gimp-temp-name", ["STRING:extension"], ["STRING:name"])
def _temp_name(ext):
    return _s().temp_name(ext)


# session -----------------------------------------------------------------------------------
@proc("gimp-message", ["STRING:message"])
def _message(text):
    _s().messages.append(text)
    sys.stderr.write("Smart Beauty-Warning: %s\n\n" % (text,))


@proc("gimp-progress-init", ["STRING:message", "DISPLAY:gdisplay"])
def _progress_init(text, display):
    _s().progress.append(("init", text))


@proc("gimp-progress-update", ["FLOAT:percentage"])
def _progress_update(f):
    _s().progress.append(("update", f))


@proc("gimp-progress-set-text", ["STRING:message"])
def _progress_set_text(text):
    _s().progress.append(("text", text))


@proc("gimp-progress-pulse", [])
def _progress_pulse():
    _s().progress.append(("pulse",))


@proc("gimp-progress-end", [])
def _progress_end():
    _s().progress.append(("end",))


@proc("gimp-displays-flush", [])
def _displays_flush():
    _s().flushes += 1


@proc("gimp-context-push", [])
def _context_push():
    _s().context_depth += 1


@proc("gimp-context-pop", [])
def _context_pop():
    if _s().context_depth <= 0:
        raise core.ProcedureError("Plug-in 'smart-beauty' tried to pop a context but has none pushed")
    _s().context_depth -= 1


@proc("gimp-gimprc-query", ["STRING:token"], ["STRING:value"])
def _gimprc_query(token):
    if token == "temp-path":
        return _s().tempdir
    raise core.ProcedureError("Unknown gimprc token '%s'" % token)


@proc("gimp-procedural-db-proc-exists", ["STRING:procedure-name"], ["INT32:exists"])
def _proc_exists(name):
    return 1 if name.replace("_", "-") in _PROCS else 0


@proc("gimp-procedural-db-set-data", ["STRING:identifier", "INT32:bytes", "INT8ARRAY:data"])
def _set_data(ident, n, data):
    _s().data[ident] = bytes(bytearray(data[:n]))


@proc("gimp-procedural-db-get-data", ["STRING:identifier"], ["INT32:bytes", "INT8ARRAY:data"])
def _get_data(ident):
    if ident not in _s().data:
        raise core.ProcedureError("Procedure 'gimp-procedural-db-get-data' returned no data")
    b = bytearray(_s().data[ident])
    return len(b), list(b)


@proc("gimp-procedural-db-get-data-size", ["STRING:identifier"], ["INT32:bytes"])
def _get_data_size(ident):
    if ident not in _s().data:
        raise core.ProcedureError("no data")
    return len(_s().data[ident])


# ------------------------------------------------------------------------------------------
# module functions (gimpmodule.c)


def message(text):
    pdb.gimp_message(text)


def progress_init(msg=None):
    pdb.gimp_progress_init(msg, None)


def progress_update(fraction):
    pdb.gimp_progress_update(fraction)


def displays_flush():
    pdb.gimp_displays_flush()


def delete(obj):
    if isinstance(obj, Image):
        pdb.gimp_image_delete(obj)
    elif isinstance(obj, Item):
        obj._m.deleted = True


def image_list():
    n, ids = pdb.gimp_image_list()
    return [_wrap(_s().images[i]) for i in ids]


def set_data(key, data):
    b = bytearray(data)
    pdb.gimp_procedural_db_set_data(key, len(b), list(b))


def get_data(key):
    try:
        n, data = pdb.gimp_procedural_db_get_data(key)
    except RuntimeError:
        raise error("no data for id")
    return bytes(bytearray(data))


def context_push():
    pdb.gimp_context_push()


def context_pop():
    pdb.gimp_context_pop()


def parasite_find(name):
    return None


def install_procedure(*args):
    pass


def menu_register(*args):
    pass


def domain_register(*args):
    pass


def main(init, quit, query, run):  # noqa: A002 - pygimp's signature
    """The plug-in's process entry. The stand-in does not run a wire protocol: gimpfu.main()
    registers the procedure in the stub PDB instead (see gimpfu._register_in_pdb)."""
    query()


def _id2image(i):
    return _wrap(_s().images.get(i))


def _id2drawable(i):
    return _wrap(_s().items.get(i))


@proc("gimp-image-merge-visible-layers", ["IMAGE:image", "INT32:merge-type"], ["LAYER:layer"])
def _merge_visible(img, merge_type):
    if merge_type != 1:  # CLIP-TO-IMAGE
        raise core.ProcedureError("stand-in: only CLIP-TO-IMAGE merges are modelled")
    rgba = img.composite()
    base = img.base
    merged = core.LayerModel(img, img.layers[0].name if img.layers else "merged", img.width, img.height,
                             core.type_for(base, True),
                             pixels=core.from_rgba(rgba, base, True, img.colormap))
    for lm in list(img.layers):
        if lm.visible:
            img.remove_layer(lm)
    img.insert_layer(merged, None, 0)
    return merged
