"""The layer workflow shared by the GIMP 2.10 and GIMP 3 plug-ins, behind a small host interface.

``retouch_layer(host, layer, level, multi_face)``: check the layer, export it (losslessly, PNG) to
a private temp folder, make the file fit the service limits (a scaled-down export when needed),
run a :class:`~smart_beauty.jobs.RetouchJob` in the background while the host's progress bar
follows it, then insert the result as a new layer directly above
the source, in the same parent, at the source's offsets and full size, with the source's alpha,
and the selection as its mask -- all in one undo group. With ``layer_mask`` its mask is where the
retouch changed the layer (:func:`add_change_mask`), within the selection if there is one. Every
failure becomes one message through the host and leaves the image as it was; the temp folder is
always removed.

Layers over the service limits are sent reduced and the result is composed at full size with the
change the service made (:func:`compose_detail`), so untouched areas keep the original's detail.

The hosts implement :class:`smart_beauty.host.Host` with their GIMP's API; nothing here imports GIMP.
The GIMP batch (:mod:`smart_beauty.gimpbatch`) retouches each image with the same steps.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import math
import os
import shutil
import traceback

from . import client as _client  # noqa: F401  (requests: a missing one is said when the plug-ins load)
from . import changemask, errors, imagefile, localserver, protocol
from .compat import text_type
from .host import KIND_GROUP, KIND_LAYER, KIND_MASK, KIND_TEXT, MODE_DIFFERENCE, MODE_GRAIN_EXTRACT, MODE_GRAIN_MERGE
from .host import MODE_NORMAL, SELECT_ADD, SELECT_INTERSECT, SELECT_REPLACE
from .host import HostError
from .jobs import DEFAULT_DEADLINE, RetouchJob
from .settings import deadline_from_env
from .workdir import new_workdir

LAYER_NAME = "Smart Beauty (level %.2f)"
MIN_SIDE = 2
# Lossless PNGs over 5 MB are exported again, smaller; a little headroom for the next try.
SIZE_HEADROOM = 0.9
MAX_EXPORT_TRIES = 4
NOT_SAVED = object()   # add_result: the user's selection was not saved (so there is nothing to restore)


class Outcome(object):
    """What one run did: ``layer`` (the new layer) or ``error`` (a SmartBeautyError), and the
    ``scale`` the layer was sent at (1.0 = full size)."""

    def __init__(self, layer=None, error=None, scale=1.0):
        self.layer = layer
        self.error = error
        self.scale = scale

    @property
    def ok(self):
        return self.error is None

    def __repr__(self):
        return "Outcome(layer=%r, error=%r, scale=%r)" % (self.layer, self.error, self.scale)


def layer_name(level):
    return LAYER_NAME % level


def check_level(level):
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise errors.BadInputError("The beauty level must be a number between 0 and 1.")
    if math.isnan(level) or not 0.0 <= level <= 1.0:
        raise errors.BadInputError("The beauty level must be between 0 and 1 (got %s)." % (level,))
    return level


def check_layer(info):
    """Raise BadInputError with what to do when the layer cannot be retouched."""
    if info is None:
        raise errors.BadInputError("Open an image and select the layer with the portrait first.")
    if info.kind == KIND_GROUP:
        raise errors.BadInputError("Smart Beauty works on one layer, not on a layer group; select a layer "
                                   "inside the group and try again.")
    if info.kind == KIND_TEXT:
        raise errors.BadInputError("This is a text layer; select the layer with the portrait photo and try again.")
    if info.kind == KIND_MASK:
        raise errors.BadInputError("A layer mask is selected; click the layer's thumbnail (not its mask) "
                                   "and try again.")
    if info.kind != KIND_LAYER:
        raise errors.BadInputError("Smart Beauty works on image layers; select the layer with the portrait "
                                   "and try again.")
    if info.width < MIN_SIDE or info.height < MIN_SIDE:
        raise errors.BadInputError("The layer is only %dx%d px; select the layer with the portrait and try "
                                   "again." % (info.width, info.height))


def client_from_settings(settings=None):
    """A Client for the configured key and service address (raises ConfigError)."""
    return localserver.open_client("cloud", settings)


def _host_error(step, exc):
    detail = text_type(exc).strip().splitlines()[0] if text_type(exc).strip() else type(exc).__name__
    return HostError("GIMP could not %s (%s); the image was left unchanged." % (step, detail[:200]))


def starting(host):
    """on_wait for localserver.open_client: the progress text while the offline engine starts."""
    def tick(elapsed):
        host.progress(0.0, "Smart Beauty: starting the offline engine (%d s)" % int(elapsed))
    return tick


def export_within_limits(host, layer, info, directory):
    """Export the layer as PNG into ``directory``, scaled down until the file meets the service
    limits. Returns (path, scale)."""
    scale = imagefile.fit_scale(info.width, info.height)
    path = os.path.join(directory, "layer.png")
    for _ in range(MAX_EXPORT_TRIES):
        w, h = imagefile.scaled_size(info.width, info.height, scale) if scale < 1.0 else (info.width,
                                                                                        info.height)
        try:
            host.export_png(layer, path, w, h)
        except errors.SmartBeautyError:
            raise
        except Exception as e:  # noqa: BLE001 - a GIMP failure, reported as one sentence
            raise _host_error("export the layer", e)
        size = os.path.getsize(path)
        if size <= protocol.MAX_UPLOAD_BYTES:
            return path, scale
        # PNG size grows about with the pixel count: shrink the area in proportion.
        scale *= math.sqrt(protocol.MAX_UPLOAD_BYTES * SIZE_HEADROOM / float(size))
    raise errors.BadInputError("The layer is too detailed to send even when scaled down; crop it to the "
                               "face and try again.")


def retouch_layer(host, layer, level, multi_face=False, client=None, settings=None,
                  deadline=None, tick=0.1, policy=None, backend="auto", effects=None, layer_mask=False):
    """Retouch ``layer`` into a new layer above it. Returns an :class:`Outcome`; on failure the
    host has shown one message and the image is unchanged. ``effects``: strengths per effect
    (:class:`~smart_beauty.effects.Effects`) for the job (see :class:`RetouchJob`). ``layer_mask``:
    the new layer's mask is where the retouch changed the layer (:func:`add_change_mask`)."""
    own_client = client is None
    workdir = None
    job = None
    outcome = Outcome()
    host.progress_start("Smart Beauty")
    try:
        level = check_level(level)
        info = host.describe(layer)
        check_layer(info)
        if client is None:
            client = localserver.open_client(backend, settings, on_wait=starting(host), clock=host.clock)
        workdir = new_workdir()
        host.progress(0.01, "Smart Beauty: exporting the layer")
        path, outcome.scale = export_within_limits(host, layer, info, workdir)
        job = RetouchJob(client, path, level=level, multi_face=multi_face,
                         deadline=deadline or deadline_from_env(default=DEFAULT_DEADLINE),
                         policy=policy, result_dir=workdir, effects=effects)
        for event in job.run_in_background(tick=tick):
            host.progress(event.fraction, "Smart Beauty: " + event.text)
        result = job.result_path
        host.progress(0.97, "Smart Beauty: adding the new layer")
        outcome.layer = add_result(host, layer, info, result, layer_name(level), outcome.scale,
                                   layer_mask=layer_mask)
        host.progress(1.0, "Smart Beauty: done")
    except errors.SmartBeautyError as e:
        outcome.error = e
    except Exception as e:  # noqa: BLE001 - never leave the user with a traceback only
        traceback.print_exc()  # to GIMP's terminal / error console, for a bug report
        outcome.error = errors.SmartBeautyError("Smart Beauty failed unexpectedly (%s: %s); please report this."
                                                % (type(e).__name__, text_type(e)[:200]))
    finally:
        if job is not None:
            job.cleanup()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if own_client and client is not None:
            client.close()
        host.progress_end()
    if outcome.error is not None:
        host.failure(text_type(outcome.error))
    return outcome


def add_result(host, source, info, result_path, name, scale=1.0, layer_mask=False):
    """All image changes, in one undo group; on failure the new layers are taken out again.

    A result computed on a reduced copy (``scale`` < 1) is composed at full size so that the
    original's detail survives (see :func:`compose_detail`); layers with transparency are scaled up
    as they are (the grain modes would mix their alpha into the colours). The new layer's mask is
    the selection, or with ``layer_mask`` where the retouch changed the layer (within the selection)."""
    created = []
    saved = NOT_SAVED
    host.begin_undo(source)
    try:
        if scale < 1.0 and not info.has_alpha:
            new = compose_detail(host, source, info, result_path, name, scale, created)
        else:
            new = host.insert_result(source, result_path, name)
            created.append(new)
            host.place(new, info.offsets[0], info.offsets[1], info.width, info.height)
        if info.has_alpha:
            host.restore_alpha(source, new)
        if layer_mask:
            saved = host.save_selection()
            add_change_mask(host, source, new, info, saved, created)
            saved, unsaved = NOT_SAVED, saved
            host.restore_selection(unsaved)      # the user's selection, as it was
        else:
            host.selection_to_mask(new)
        return new
    except Exception as e:
        if saved is not NOT_SAVED:
            try:
                host.restore_selection(saved)
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
        for layer in reversed(created):
            try:
                host.remove_layer(layer)
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
        if isinstance(e, errors.SmartBeautyError):
            raise
        raise _host_error("add the result as a new layer", e)
    finally:
        host.end_undo(source)


def add_change_mask(host, source, new, info, saved, created):
    """Give ``new`` (the retouch of ``source``, placed over it) a layer mask that is where the retouch
    changed the layer, by the rule of :mod:`smart_beauty.changemask`, with GIMP's own operations
    (the same for every backend: the service returns only an image). ``saved``: the user's selection
    (:meth:`Host.save_selection`), which the mask is kept within; the caller restores it after.

    A copy of the source in difference mode over a copy of the result, merged: |result - source| per
    channel. Binarized on its brightest channel: white where a channel moved by more than
    CHANGED_ABOVE. As the selection: grown, feathered, then the white pixels added again at full
    strength (the feather must not soften the changed pixels themselves: the composite through the
    mask must be the result there), then kept within the user's selection, and made ``new``'s mask.
    """
    grow, feather = changemask.radii(info.width, info.height)
    result = host.insert_copy(new, new)
    created.append(result)
    over = host.insert_copy(source, result)
    created.append(over)
    host.set_mode(over, MODE_DIFFERENCE)
    diff = host.merge_down(over)                                 # |result - source|
    created[-2:] = [diff]
    host.binarize(diff, changemask.threshold())                  # white: changed by more than a level
    host.select_values(diff, SELECT_REPLACE)
    host.grow_selection(grow)
    host.feather_selection(feather)
    host.select_values(diff, SELECT_ADD)                         # the changed pixels fully opaque
    if saved is not None:
        host.select_values(saved, SELECT_INTERSECT)
    host.remove_layer(diff)
    created.remove(diff)
    host.mask_from_selection(new)


def compose_detail(host, source, info, result_path, name, scale, created):
    """The full-size retouch of a layer whose reduced copy was retouched, with GIMP's own operations.

    With S the layer, s = S reduced (what was sent) and R the service's result for s, the new layer
    is S + up(R) - up(s): the *change* the service made, brought to full size, on top of the full-
    resolution original. Where the service changed nothing, R == s, so up(R) == up(s) and the
    original pixels come back exactly -- not the blurred upscale. In layers (top to bottom):
    up(s) in grain-extract mode over up(R) gives up(R) - up(s) + 128; that in grain-merge mode over
    a copy of S gives the result. ``created`` tracks the layers to remove if a step fails.
    """
    x, y = info.offsets
    w, h = imagefile.scaled_size(info.width, info.height, scale)
    base = host.insert_copy(source, source)                     # S, directly above the source
    created.append(base)
    retouched = host.insert_result(base, result_path, name)     # R
    created.append(retouched)
    host.place(retouched, x, y, info.width, info.height)         # up(R)
    reduced = host.insert_copy(source, retouched)               # S
    created.append(reduced)
    host.place(reduced, 0, 0, w, h)                              # s, scaled like the export
    host.place(reduced, x, y, info.width, info.height)           # up(s)
    host.set_mode(reduced, MODE_GRAIN_EXTRACT)
    change = host.merge_down(reduced)                            # up(R) - up(s) + 128
    del created[1:]
    created.append(change)
    host.set_mode(change, MODE_GRAIN_MERGE)
    new = host.merge_down(change)                                # S + up(R) - up(s)
    del created[:]
    created.append(new)
    host.set_mode(new, MODE_NORMAL)
    host.set_name(new, name)
    return new
