"""The host interface: what the layer workflow (:mod:`smart_beauty.layerjob`) and the GIMP batch
(:mod:`smart_beauty.gimpbatch`) need from GIMP. Each GIMP's host module (``plug-ins/*/``) fills in
:class:`Host` with that GIMP's calls; nothing here imports GIMP.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from . import errors
from .clock import SYSTEM

KIND_LAYER, KIND_GROUP, KIND_TEXT, KIND_MASK, KIND_OTHER = "layer", "group", "text", "mask", "other"
MODE_NORMAL, MODE_GRAIN_EXTRACT, MODE_GRAIN_MERGE = "normal", "grain-extract", "grain-merge"
MODE_DIFFERENCE = "difference"
SELECT_REPLACE, SELECT_ADD, SELECT_INTERSECT = "replace", "add", "intersect"


class LayerInfo(object):
    """What the host tells about a layer: ``kind`` (KIND_*), size, offsets, alpha, base type name."""

    def __init__(self, kind, width, height, offsets=(0, 0), has_alpha=False, base="rgb"):
        self.kind = kind
        self.width = int(width)
        self.height = int(height)
        self.offsets = (int(offsets[0]), int(offsets[1]))
        self.has_alpha = bool(has_alpha)
        self.base = base

    def __repr__(self):
        return "LayerInfo(%s, %dx%d at %r, alpha=%r, %s)" % (self.kind, self.width, self.height, self.offsets,
                                                             self.has_alpha, self.base)


class Host(object):
    """What the workflow needs from GIMP. Each adapter fills this in with its GIMP's calls.

    Layer/image arguments are the host's own objects; layerjob never looks inside them.
    ``clock`` is the time the host's jobs run on (:mod:`smart_beauty.clock`): the real one, unless a
    test gives its host a virtual one. There is no cancel to ask for: GIMP ends a plug-in whose
    progress bar is cancelled (the next run sweeps its temp folder, :mod:`smart_beauty.workdir`).
    """

    clock = SYSTEM

    def describe(self, layer):
        """LayerInfo for ``layer``, or None when there is no image/layer to work on."""
        raise NotImplementedError

    def export_png(self, layer, path, width, height):
        """Write the layer's pixels to ``path`` as a lossless PNG of ``width`` x ``height`` (a
        scaled copy when that differs from the layer's size), RGB(A) even for gray/indexed layers.
        Must not change the user's image (work on a temporary copy)."""
        raise NotImplementedError

    def begin_undo(self, layer):
        raise NotImplementedError

    def end_undo(self, layer):
        raise NotImplementedError

    def insert_result(self, source, path, name):
        """Load ``path`` as a new layer called ``name`` and insert it directly above ``source``
        in the same parent. Returns the new layer."""
        raise NotImplementedError

    def place(self, new, x, y, width, height):
        """Scale ``new`` to ``width`` x ``height`` if it differs, and move it to offsets (x, y)."""
        raise NotImplementedError

    def restore_alpha(self, source, new):
        """Give ``new`` the alpha channel of ``source`` (same size and offsets)."""
        raise NotImplementedError

    def selection_to_mask(self, new):
        """If the image has a selection, add it as ``new``'s layer mask. Returns True if it did."""
        raise NotImplementedError

    def remove_layer(self, new):
        raise NotImplementedError

    # detail-preserving composition of a result that was computed on a reduced copy
    def insert_copy(self, source, above):
        """A copy of ``source`` (its pixels and offsets, no layer mask) inserted directly above
        ``above`` in the same parent. Returns the copy."""
        raise NotImplementedError

    def set_mode(self, layer, mode):
        """Set the layer mode: MODE_NORMAL, MODE_GRAIN_EXTRACT, MODE_GRAIN_MERGE or MODE_DIFFERENCE
        (GIMP's legacy modes: lower - upper + 128, lower + upper - 128 and |lower - upper| on the
        stored 8-bit values)."""
        raise NotImplementedError

    def merge_down(self, layer):
        """Merge ``layer`` onto the layer below it (clipped to that layer); returns the merged layer,
        which keeps the lower layer's name and mode."""
        raise NotImplementedError

    def set_name(self, layer, name):
        raise NotImplementedError

    # the change mask (layerjob.add_change_mask; the rule is smart_beauty.changemask)
    def binarize(self, layer, threshold):
        """Make ``layer`` white where its brightest channel is at least ``threshold`` (a fraction of
        full scale, on the stored values), black elsewhere."""
        raise NotImplementedError

    def save_selection(self):
        """A saved copy of the image's selection (a channel), or None when nothing is selected."""
        raise NotImplementedError

    def restore_selection(self, saved):
        """Make ``saved`` (from :meth:`save_selection`) the selection again and drop the copy; None:
        select nothing."""
        raise NotImplementedError

    def select_values(self, item, operation):
        """Combine the selection (SELECT_REPLACE, SELECT_ADD, SELECT_INTERSECT) with ``item``'s gray
        values: a layer (through a grayscale copy of it as its layer mask) or a saved selection."""
        raise NotImplementedError

    def grow_selection(self, pixels):
        raise NotImplementedError

    def feather_selection(self, pixels):
        raise NotImplementedError

    def mask_from_selection(self, new):
        """Add the selection as ``new``'s layer mask (all black when nothing is selected)."""
        raise NotImplementedError

    def progress_start(self, text):
        pass

    def progress(self, fraction, text):
        pass

    def progress_end(self):
        pass

    def message(self, text):
        """Tell the user something (a batch summary, say)."""
        raise NotImplementedError

    def failure(self, text):
        """Tell the user why the procedure failed: one sentence. A host whose procedure hands the
        sentence back to GIMP with its error status (GIMP 3 shows it) collects it here instead."""
        self.message(text)

    # batch only
    def open_image(self, path):
        raise NotImplementedError

    def batch_layer(self, image):
        """The layer of a freshly opened image that a batch run retouches."""
        raise NotImplementedError

    def save_image(self, image, path):
        """Export the whole image (composite) to ``path`` (PNG)."""
        raise NotImplementedError

    def close_image(self, image):
        raise NotImplementedError


class HostError(errors.SmartBeautyError):
    """GIMP itself refused a step (export, load, insert)."""

    default_message = "GIMP could not complete a step of Smart Beauty; the image was left unchanged."
