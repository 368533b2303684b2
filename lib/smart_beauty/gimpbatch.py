"""The GIMP batch procedures' workflow, behind the host interface (:mod:`smart_beauty.host`).

``run_batch(host, spec, output_dir, level, multi_face)``: retouch each image file matched by ``spec``
(:mod:`smart_beauty.batchfiles`: the CLI's rule, plus GIMP's own ``.xcf``) as the single-layer
procedure retouches a layer (:mod:`smart_beauty.layerjob`), writing ``NAME.beauty.png`` files,
continuing past failures, with several images at the service at once (:mod:`smart_beauty.batch`;
GIMP calls stay on the plug-in's thread). It resumes by the same rule as the CLI (the batch's
ledger): an existing output is skipped only when it was made from the same file with the same
options, redone when that file or the options changed (or the CLI made it), and refused, unsent,
when it was made from another file or there is no record of making it.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import shutil

from . import batch, batchfiles, errors, localserver
from .compat import text_type
from .host import HostError
from .jobs import DEFAULT_DEADLINE
from .layerjob import add_result, check_layer, check_level, export_within_limits, layer_name, starting
from .settings import deadline_from_env
from .workdir import new_workdir

ENV_JOBS = "SMART_BEAUTY_JOBS"


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
        inputs = batchfiles.expand_inputs(spec, batchfiles.GIMP_EXTENSIONS)
        if inputs and client is None:
            client = localserver.open_client(backend, settings, on_wait=starting(host), clock=host.clock)
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
    run = batch.Batch(client, [(p, batchfiles.output_path(p, output_dir)) for p in inputs], steps.prepare, steps.finish,
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
        if not os.path.isfile(item.source):
            raise errors.BadInputError("%s does not exist or is not a file." % item.source)
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
        add_result(self.host, layer, info, result_path, layer_name(self.level), item.scale or 1.0)
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
