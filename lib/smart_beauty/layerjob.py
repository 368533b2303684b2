"""The layer workflow shared by the GIMP 2.10 and GIMP 3 plug-ins, behind a small host interface.

``retouch_layer(host, layer, level, multi_face)``: check the layer, export it (losslessly, PNG) to
a private temp folder, make the file fit the service limits (a scaled-down export when needed),
run a :class:`~smart_beauty.jobs.RetouchJob` in the background while the host's progress bar
follows it and the host's cancel is polled, then insert the result as a new layer directly above
the source, in the same parent, at the source's offsets and full size, with the source's alpha,
and the selection as its mask -- all in one undo group. Every failure becomes one message through
the host and leaves the image as it was; the temp folder is always removed.

``run_batch(host, spec, output_dir, level, multi_face)``: the same for each image file matched by
``spec`` (a folder or a glob pattern), writing ``NAME.beauty.png`` files, continuing past failures,
with several images at the service at once (:mod:`smart_beauty.batch`; GIMP calls stay on the
plug-in's thread). It resumes by the same rule as the CLI (the batch's ledger): an existing output is
skipped only when it was made from the same file with the same options, redone when that file or
the options changed (or the CLI made it), and refused, unsent, when it was made from another file or
there is no record of making it.

Layers over the service limits are sent reduced and the result is composed at full size with the
change the service made (:func:`compose_detail`), so untouched areas keep the original's detail.

The adapters implement :class:`Host` with their GIMP's API; nothing here imports GIMP.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno
import glob
import math
import os
import shutil
import tempfile
import traceback

from . import batch, errors, imagefile, localserver, protocol
from .compat import text_type
from .jobs import DEFAULT_DEADLINE, RetouchJob
from .settings import deadline_from_env

LAYER_NAME = "Smart Beauty (level %.2f)"
MIN_SIDE = 2
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".xcf")
OUTPUT_SUFFIX = ".beauty.png"
ENV_JOBS = "SMART_BEAUTY_JOBS"
# Lossless PNGs over 5 MB are exported again, smaller; a little headroom for the next try.
SIZE_HEADROOM = 0.9
MAX_EXPORT_TRIES = 4

KIND_LAYER, KIND_GROUP, KIND_TEXT, KIND_MASK, KIND_OTHER = "layer", "group", "text", "mask", "other"
MODE_NORMAL, MODE_GRAIN_EXTRACT, MODE_GRAIN_MERGE = "normal", "grain-extract", "grain-merge"


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
    """

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
        """Set the layer mode: MODE_NORMAL, MODE_GRAIN_EXTRACT or MODE_GRAIN_MERGE (GIMP's legacy
        grain modes: lower - upper + 128 and lower + upper - 128 on the stored 8-bit values)."""
        raise NotImplementedError

    def merge_down(self, layer):
        """Merge ``layer`` onto the layer below it (clipped to that layer); returns the merged layer,
        which keeps the lower layer's name and mode."""
        raise NotImplementedError

    def set_name(self, layer, name):
        raise NotImplementedError

    def progress_start(self, text):
        pass

    def progress(self, fraction, text):
        pass

    def progress_end(self):
        pass

    def cancelled(self):
        """True once the user asked to stop (polled while the service works)."""
        return False

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


class HostError(errors.SmartBeautyError):
    """GIMP itself refused a step (export, load, insert)."""

    default_message = "GIMP could not complete a step of Smart Beauty; the image was left unchanged."


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


def _starting(host):
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


WORKDIR_PREFIX = "smart-beauty-gimp-"
STALE_WORKDIR_SECONDS = 3600.0


def new_workdir():
    """A private temp folder for one plug-in run, named after this process (``smart-beauty-gimp-PID-*``)
    so that a later run can tell when its owner is gone. Stale folders are swept first."""
    sweep_stale_workdirs()
    return tempfile.mkdtemp(prefix="%s%d-" % (WORKDIR_PREFIX, os.getpid()))


def _owner_gone(name):
    """True when the folder's name carries a process id and (POSIX) no such process exists. On
    Windows os.kill would end the process, so only the age rule applies there."""
    pid = name[len(WORKDIR_PREFIX):].split("-", 1)[0]
    if os.name != "posix" or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except OSError as e:
        return e.errno == errno.ESRCH
    return False


def sweep_stale_workdirs(directory=None, max_age=STALE_WORKDIR_SECONDS, now=None):
    """Remove this user's work folders whose process has ended, or older than ``max_age`` seconds.

    When the user cancels GIMP's progress bar, GIMP ends the plug-in process at once: no ``finally``
    runs, so that run's temp folder stays behind. The next run removes it: at once when the folder's
    process id is no longer running (POSIX), else once it is older than any live run's could be (one
    job is limited to a few minutes; a reused process id only delays it). Returns the folders removed.
    """
    import time

    directory = directory or tempfile.gettempdir()
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        if not name.startswith(WORKDIR_PREFIX) or not os.path.isdir(path) or os.path.islink(path):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            continue
        if _owner_gone(name) or now - st.st_mtime > max_age:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def retouch_layer(host, layer, level, multi_face=False, client=None, settings=None,
                  deadline=None, tick=0.1, policy=None, backend="auto", effects=None):
    """Retouch ``layer`` into a new layer above it. Returns an :class:`Outcome`; on failure the
    host has shown one message and the image is unchanged. ``effects``: strengths per effect
    (:class:`~smart_beauty.effects.Effects`) for the job (see :class:`RetouchJob`)."""
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
            client = localserver.open_client(backend, settings, on_wait=_starting(host))
        workdir = new_workdir()
        host.progress(0.01, "Smart Beauty: exporting the layer")
        path, outcome.scale = export_within_limits(host, layer, info, workdir)
        if host.cancelled():
            raise errors.CancelledError()
        job = RetouchJob(client, path, level=level, multi_face=multi_face,
                         deadline=deadline or deadline_from_env(default=DEFAULT_DEADLINE),
                         policy=policy, result_dir=workdir, effects=effects)
        for event in job.run_in_background(tick=tick):
            host.progress(event.fraction, "Smart Beauty: " + event.text)
            if host.cancelled() and not job.cancelled:
                job.cancel()
        result = job.result_path
        host.progress(0.97, "Smart Beauty: adding the new layer")
        outcome.layer = _insert(host, layer, info, result, layer_name(level), outcome.scale)
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


def _insert(host, source, info, result_path, name, scale=1.0):
    """All image changes, in one undo group; on failure the new layers are taken out again.

    A result computed on a reduced copy (``scale`` < 1) is composed at full size so that the
    original's detail survives (see :func:`compose_detail`); layers with transparency are scaled up
    as they are (the grain modes would mix their alpha into the colours)."""
    created = []
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
        host.selection_to_mask(new)
        return new
    except Exception as e:
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


# ------------------------------------------------------------------------------------------
# batch


def expand_inputs(spec):
    """Files named by ``spec``: a folder (its image files), a glob pattern, or one file; several
    may be separated by os.pathsep. Sorted, without duplicates."""
    found = []
    for part in [p for p in text_type(spec or "").split(os.pathsep) if p.strip()]:
        part = os.path.expanduser(part.strip())
        if os.path.isdir(part):
            names = [os.path.join(part, n) for n in os.listdir(part)]
            found.extend(n for n in names if os.path.isfile(n) and n.lower().endswith(IMAGE_EXTENSIONS)
                         and not n.lower().endswith(OUTPUT_SUFFIX))
        else:
            found.extend(p for p in glob.glob(part) if os.path.isfile(p))
    seen, out = set(), []
    for p in sorted(found):
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def output_path(output_dir, input_path):
    stem = os.path.splitext(os.path.basename(input_path))[0]
    return os.path.join(output_dir, stem + OUTPUT_SUFFIX)


class BatchReport(object):
    def __init__(self):
        self.done = []      # (input, output)
        self.failed = []    # (input, message)
        self.skipped = []   # (input, output) already there from an earlier run
        self.not_sent = []  # inputs left out after a failure that stops the batch (batch.STOPS_THE_BATCH)
        self.items = []     # smart_beauty.batch.BatchItem per input (status, seconds, request_id...)

    @property
    def ok(self):
        return not self.failed and not self.not_sent and bool(self.done or self.skipped)

    def summary(self):
        total = len(self.done) + len(self.failed) + len(self.skipped) + len(self.not_sent)
        if total == 0:
            return "Smart Beauty batch: no image files matched; check the input folder or pattern."
        text = "Smart Beauty batch: %d of %d images retouched" % (len(self.done) + len(self.skipped), total)
        if self.skipped:
            text += " (%d already done earlier)" % len(self.skipped)
        if self.failed:
            text += "; failed: " + "; ".join("%s (%s)" % (os.path.basename(p), m) for p, m in self.failed)
        if self.not_sent:
            text += "; %d not sent: the batch stopped there, as every image would fail the same way" % len(
                self.not_sent)
        return text + "."


# What a GIMP batch's outputs are, for the resume ledger (smart_beauty.batch.recipe): the image as GIMP
# exports it to PNG with the new layer on top. The CLI's results are made otherwise, so an output the
# CLI made from the same file is redone here, not skipped.
BATCH_RECIPE = {"format": "png", "writer": "gimp"}


def jobs_from_env(env=None, default=batch.DEFAULT_JOBS):
    """Images in flight at once for the GIMP batch procedures: SMART_BEAUTY_JOBS, else 3."""
    env = os.environ if env is None else env
    try:
        value = int(env.get(ENV_JOBS) or default)
    except ValueError:
        return default
    return max(1, min(batch.MAX_JOBS, value))


def run_batch(host, spec, output_dir, level, multi_face=False, settings=None, client=None,
              deadline=None, tick=0.1, backend="auto", jobs=None, force=False, effects=None):
    """Retouch every file matched by ``spec`` into ``output_dir``; continue past failures.

    Up to ``jobs`` images are with the service at once (:mod:`smart_beauty.batch`); every GIMP call
    (open, export, insert, save) is made from this thread, between the waits. An output that already
    exists is skipped when the batch's ledger says it was made from the same file with the same
    options (a re-run resumes), redone when not, refused when another file made it -- unless
    ``force``. Returns a :class:`BatchReport`; its summary is also shown through the host.
    ``effects``: strengths per effect for every job (see :class:`~smart_beauty.batch.Batch`)."""
    report = BatchReport()
    own_client = client is None
    try:
        level = check_level(level)
        if not output_dir:
            raise errors.BadInputError("Choose an output folder for the batch.")
        if not os.path.isdir(output_dir):
            os.makedirs(output_dir)
        inputs = expand_inputs(spec)
        if inputs and client is None:
            client = localserver.open_client(backend, settings, on_wait=_starting(host))
    except errors.SmartBeautyError as e:
        host.failure(text_type(e))
        report.failed.append((text_type(spec), text_type(e)))
        return report
    except (IOError, OSError) as e:
        msg = "Cannot create the output folder %s (%s)." % (output_dir, e.strerror or e)
        host.failure(msg)
        report.failed.append((text_type(spec), msg))
        return report
    steps = _BatchSteps(host, level)
    workdir = new_workdir()   # swept by a later run if GIMP kills this one (cancel)
    run = batch.Batch(client, [(p, output_path(output_dir, p)) for p in inputs], steps.prepare, steps.finish,
                      level=level, multi_face=multi_face, jobs=jobs or jobs_from_env(), force=force,
                      deadline=deadline or deadline_from_env(default=DEFAULT_DEADLINE), release=steps.release,
                      workdir=workdir, recipe=batch.recipe(level, multi_face, effects, **BATCH_RECIPE),
                      effects=effects)
    host.progress_start("Smart Beauty batch")
    try:
        for event in run.run(tick=tick):
            finished = event.done + event.failed + event.skipped
            host.progress(finished / float(max(1, event.total)),
                          "Smart Beauty batch: %d of %d (%d in flight)" % (finished, event.total, event.running))
            if host.cancelled() and not run.cancelled:
                run.cancel()
    finally:
        host.progress_end()
        shutil.rmtree(workdir, ignore_errors=True)
        if own_client and client is not None:
            client.close()
    for item in run.items:
        report.items.append(item)
        if item.status == batch.DONE:
            report.done.append((item.source, item.output))
        elif item.status == batch.SKIPPED:
            report.skipped.append((item.source, item.output))
        elif item.status == batch.CANCELLED and run.stopped is not None and item.task_id is None:
            report.not_sent.append(item.source)
        else:
            report.failed.append((item.source, item.message or item.status))
    (host.message if report.ok else host.failure)(report.summary())
    return report


class _BatchSteps(object):
    """The GIMP side of a batch item, always on the plug-in's thread: export a copy that fits the
    service (the image is opened and closed again, so only images being written stay open), then
    open it again to insert the result exactly as the single-layer procedure does, and save.

    GIMP's exporters open files by name and would follow a link planted at that name, so they only
    ever write into the item's private work folder (made by mkdtemp, the user's alone); the file is
    then copied into the batch's exclusively created temp file beside the output
    (:func:`smart_beauty.batch.copy_to_temp_output`, which follows no link), and renamed into place."""

    def __init__(self, host, level):
        self.host = host
        self.level = level

    def _open(self, item):
        try:
            image = self.host.open_image(item.source)
        except Exception as e:  # noqa: BLE001
            raise HostError("GIMP could not open it: %s" % (text_type(e).splitlines() or ["?"])[0])
        item.context["image"] = image
        layer = self.host.batch_layer(image)
        info = self.host.describe(layer)
        check_layer(info)
        return layer, info

    def prepare(self, item, workdir):
        item.context["workdir"] = workdir
        layer, info = self._open(item)
        path, scale = export_within_limits(self.host, layer, info, workdir)
        item.scale, item.encoding = scale, "png"
        self.release(item)
        return path

    def finish(self, item, result_path, temp_output):
        layer, info = self._open(item)
        _insert(self.host, layer, info, result_path, layer_name(self.level), item.scale or 1.0)
        private = os.path.join(item.context["workdir"], "output" + os.path.splitext(item.output)[1])
        try:
            self.host.save_image(item.context["image"], private)
        except Exception as e:  # noqa: BLE001
            raise HostError("GIMP could not save the result: %s" % (text_type(e).splitlines() or ["?"])[0])
        batch.copy_to_temp_output(private, temp_output)

    def release(self, item):
        image = item.context.pop("image", None)
        if image is not None:
            try:
                self.host.close_image(image)
            except Exception:  # noqa: BLE001
                pass
