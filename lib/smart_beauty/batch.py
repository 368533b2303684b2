"""Many retouch jobs at once: N in flight, one shared backoff, per-item results, cancel, resume.

The caller's thread *drives* a batch (:meth:`Batch.run` is a generator): it prepares each input
(``prepare``), and writes each result (``finish``), so every host call stays on that thread -- which
GIMP requires of a plug-in's main thread. Only the network work (submit -> poll -> download of a
:class:`~smart_beauty.jobs.RetouchJob`) runs on worker threads, up to ``jobs`` at a time, and hands
finished jobs back through a queue of ready results::

    batch = Batch(client, [(src, dest), ...], prepare, finish, level=0.8, jobs=3)
    for event in batch.run(tick=0.1):         # yields at least every `tick` seconds
        show(event.done, event.failed, event.total)
        if user_wants_to_stop:
            batch.cancel()                     # stop submitting; in-flight jobs still finish
    batch.items                                # BatchItem per input: status, seconds, request_id, error

``prepare(item, workdir) -> path`` returns a file that meets the service limits (it may set
``item.encoding`` / ``item.scale`` and keep anything in ``item.context``). ``finish(item, result_path,
temp_output)`` writes the output to ``temp_output``; the batch renames it to ``item.output`` only
when it is complete, so an interrupted run never leaves a half-written output. ``release(item)``
(optional) is called once per prepared item, whatever happened (close an image...).

Resume: an item whose output already exists is ``skipped`` unless ``force``. Rate limits: every job
shares the client's pause (:meth:`Client._pause_all`): after a 429/503 with ``Retry-After`` no job of
this client sends anything before the pause ends; a job refused for rate limiting after the client's
own retries is put back in the queue (nothing was processed or billed) and the batch keeps one job
fewer in flight from then on.

Stop: a refused key, an account out of credits or a missing key fails every image the same way, so
the first such failure stops the batch (:attr:`Batch.stopped`): jobs in flight finish, the rest are
not sent (status ``cancelled``, with a message saying why).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import logging
import os
import shutil
import tempfile
import threading
from collections import deque, namedtuple

from . import errors
from .compat import monotonic, queue, replace_file, text_type
from .jobs import DEFAULT_DEADLINE, RetouchJob

DEFAULT_JOBS = 3   # the vendor suggests starting at about 3 concurrent requests
MAX_JOBS = 16      # the client's connection pool size

PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED = ("pending", "running", "done", "failed", "skipped",
                                                      "cancelled")
RATE_LIMIT_REQUEUES = 3
# Failures that every further image would meet too: the batch stops at the first one.
STOPS_THE_BATCH = (errors.AuthError, errors.NoCreditsError, errors.ConfigError)

log = logging.getLogger("smart_beauty")


class BatchItem(object):
    """One input of a batch and what became of it (also the row of a report)."""

    FIELDS = ("file", "output", "status", "seconds", "request_id", "task_id", "encoding", "scale", "error")

    def __init__(self, source, output):
        self.source = source
        self.output = output
        self.status = PENDING
        self.seconds = None      # from the start of its preparation to its output written (or failure)
        self.request_id = None
        self.task_id = None
        self.encoding = None     # how it was uploaded: "original", "png", "jpeg q95 4:4:4"...
        self.scale = None        # 1.0 = full size
        self.error = None        # the SmartBeautyError (None when done/skipped)
        self.state = None        # the job's current Progress while running
        self.context = {}        # the caller's own data (a Prepared upload, a GIMP image...)
        self.requeues = 0
        self._started = None

    @property
    def message(self):
        return None if self.error is None else text_type(self.error)

    def as_row(self):
        return {"file": self.source, "output": self.output, "status": self.status,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "request_id": self.request_id, "task_id": self.task_id, "encoding": self.encoding,
                "scale": None if self.scale is None else round(self.scale, 5), "error": self.message}

    def __repr__(self):
        return "BatchItem(%r, %s)" % (self.source, self.status)


class BatchEvent(namedtuple("BatchEvent", "kind item done failed skipped total running")):
    """``kind``: started, done, failed, skipped, cancelled, requeued or tick (``item`` None)."""


class Batch(object):
    """See the module documentation."""

    def __init__(self, client, pairs, prepare, finish, level=1.0, multi_face=False, jobs=DEFAULT_JOBS,
                 force=False, deadline=DEFAULT_DEADLINE, policy=None, release=None, workdir=None):
        self.client = client
        self.items = [BatchItem(src, dest) for src, dest in pairs]
        self.prepare = prepare
        self.finish = finish
        self.release = release
        self.level = level
        self.multi_face = bool(multi_face)
        self.jobs = max(1, min(MAX_JOBS, int(jobs)))
        self.limit = self.jobs       # in-flight limit now (lowered after rate limiting)
        self.force = force
        self.deadline = deadline
        self.policy = policy
        self.workdir = workdir
        self.started = None
        self.elapsed = 0.0
        self._cancel = threading.Event()
        self._abandon = threading.Event()
        self._ready = queue.Queue()
        self._running = {}           # item -> (job, thread, item workdir)
        self._counts = {DONE: 0, FAILED: 0, SKIPPED: 0, CANCELLED: 0}
        self.stopped = None          # (item, error) that stopped the batch (see STOPS_THE_BATCH)

    # -- control -------------------------------------------------------------------------------

    def cancel(self, abandon=False):
        """Stop submitting. Jobs in flight still finish and are written, unless ``abandon``: then
        they are cancelled and their temp files removed. Thread-safe (e.g. from a signal handler)."""
        self._cancel.set()
        if abandon:
            self._abandon.set()
            for job, _thread, _dir in list(self._running.values()):
                job.cancel()

    @property
    def cancelled(self):
        return self._cancel.is_set()

    def count(self, status):
        return self._counts.get(status, 0)

    @property
    def ok(self):
        return not self._counts[FAILED] and not self._counts[CANCELLED]

    def throughput(self):
        """Images written per second of batch time."""
        return self._counts[DONE] / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self):
        total = len(self.items)
        parts = ["%d done" % self._counts[DONE]]
        if self._counts[SKIPPED]:
            parts.append("%d skipped (already done)" % self._counts[SKIPPED])
        if self._counts[FAILED]:
            parts.append("%d failed" % self._counts[FAILED])
        if self._counts[CANCELLED]:
            parts.append("%d not retouched (%s)" % (self._counts[CANCELLED], "not sent: the batch stopped at "
                                                    + os.path.basename(self.stopped[0].source)
                                                    if self.stopped else "cancelled"))
        return "%d image(s): %s, in %.1f s." % (total, ", ".join(parts), self.elapsed)

    # -- the loop (caller's thread) ------------------------------------------------------------

    def run(self, tick=0.1):
        """Drive the batch; yields a :class:`BatchEvent` per change and at least every ``tick`` s.
        Closing the generator early abandons the jobs in flight."""
        self.started = monotonic()
        own_workdir = self.workdir is None
        workdir = tempfile.mkdtemp(prefix="smart-beauty-batch-") if own_workdir else self.workdir
        pending = deque()
        try:
            for item in self.items:
                if not self.force and item.output and os.path.exists(item.output):
                    item.status = SKIPPED
                    self._counts[SKIPPED] += 1
                    yield self._event("skipped", item)
                else:
                    pending.append(item)
            while pending or self._running:
                # 1. write what is ready (main thread)
                for event in self._drain(pending, block=False):
                    yield event
                # 2. keep `limit` jobs in flight
                while pending and not self._cancel.is_set() and len(self._running) < self.limit:
                    item = pending.popleft()
                    event = self._start(item, workdir)
                    if event is not None:
                        yield event
                    for event in self._drain(pending, block=False):
                        yield event
                if self._cancel.is_set():
                    while pending:
                        item = pending.popleft()
                        self._end(item, CANCELLED, self._not_sent())
                        yield self._event("cancelled", item)
                if not self._running:
                    continue
                # 3. wait for the next ready job (or a tick)
                produced = False
                for event in self._drain(pending, block=True, timeout=tick):
                    produced = True
                    yield event
                if not produced:
                    yield self._event("tick", None)
        finally:
            if self._running:  # the generator was closed early, or the host raised
                self.cancel(abandon=True)
                for _event in self._drain(pending, block=True, timeout=None, until_empty=True):
                    pass
            self.elapsed = monotonic() - self.started
            if own_workdir:
                shutil.rmtree(workdir, ignore_errors=True)

    def run_all(self, tick=0.1):
        """Run to the end without looking at events; returns the items."""
        for _ in self.run(tick):
            pass
        return self.items

    # -- steps ---------------------------------------------------------------------------------

    def _event(self, kind, item):
        return BatchEvent(kind, item, self._counts[DONE], self._counts[FAILED], self._counts[SKIPPED],
                          len(self.items), len(self._running))

    def _start(self, item, workdir):
        if item._started is None:
            item._started = monotonic()
        item.status = RUNNING
        item_dir = tempfile.mkdtemp(prefix="item-", dir=workdir)
        prepared = False
        try:
            if item.output:
                _remove_stale_temps(item.output)
            path = self.prepare(item, item_dir)
            prepared = True
            job = RetouchJob(self.client, path, level=self.level, multi_face=self.multi_face,
                             deadline=self.deadline, policy=self.policy, result_dir=item_dir)
        except Exception as e:  # noqa: BLE001 - reported per item, the batch goes on
            if prepared or item.context:
                self._release(item)
            shutil.rmtree(item_dir, ignore_errors=True)
            self._end(item, FAILED, _as_error(e, "prepare"))
            return self._event("failed", item)
        thread = threading.Thread(target=self._work, args=(item, job), name="smart-beauty-batch")
        thread.daemon = True
        self._running[item] = (job, thread, item_dir)
        thread.start()
        return self._event("started", item)

    def _work(self, item, job):
        """Worker thread: the network part only."""
        def progress(event):
            item.state = event
        try:
            job.run(progress)
        except errors.SmartBeautyError:
            pass  # kept by the job
        except Exception:  # noqa: BLE001 - job.run already turns bugs into SmartBeautyError
            log.exception("unexpected error in a batch worker")
        finally:
            self._ready.put(item)

    def _drain(self, pending, block, timeout=None, until_empty=False):
        """Finish ready items on this thread; yields their events."""
        while True:
            if until_empty and not self._running:
                return
            try:
                item = self._ready.get(block=block, timeout=timeout) if block else self._ready.get_nowait()
            except queue.Empty:
                return
            block = until_empty  # after the first, only take what is already there
            for event in self._complete(item, pending):  # noqa: UP028 - Python 2.7 has no "yield from"
                yield event

    def _complete(self, item, pending):
        job, thread, item_dir = self._running.pop(item)
        thread.join()
        item.task_id = job.task_id
        item.request_id = job.request_id
        try:
            try:
                result = job.result_path
            except errors.RateLimitError as e:
                item.request_id = e.request_id or item.request_id
                if item.requeues < RATE_LIMIT_REQUEUES and not self._cancel.is_set():
                    # Refused before processing (not billed): try again later, with fewer in flight.
                    item.requeues += 1
                    item.status = PENDING
                    self.limit = max(1, min(self.limit, len(self._running) + 1) - 1)
                    pending.appendleft(item)
                    yield self._event("requeued", item)
                    return
                raise
            if self._abandon.is_set():
                raise errors.CancelledError()
            temp = _temp_output(item.output)
            try:
                self.finish(item, result, temp)
                if not os.path.exists(temp):
                    raise errors.SmartBeautyError("The result of %s was not written; please report this."
                                                  % os.path.basename(item.source))
                replace_file(temp, item.output)
            finally:
                if os.path.exists(temp):
                    os.remove(temp)
            self._end(item, DONE, None)
            yield self._event("done", item)
        except Exception as e:  # noqa: BLE001
            error = _as_error(e, "write the result")
            if item.request_id is None:
                item.request_id = getattr(error, "request_id", None)
            status = CANCELLED if isinstance(error, errors.CancelledError) else FAILED
            if isinstance(error, STOPS_THE_BATCH) and self.stopped is None:
                self.stopped = (item, error)
                self._cancel.set()
            self._end(item, status, error)
            yield self._event("cancelled" if status == CANCELLED else "failed", item)
        finally:
            job.cleanup()
            if item.status != PENDING:
                self._release(item)
            shutil.rmtree(item_dir, ignore_errors=True)

    def _not_sent(self):
        if self.stopped is None:
            return errors.CancelledError()
        return errors.CancelledError("Not sent: the batch stopped at %s, and this image would fail the same way."
                                     % os.path.basename(self.stopped[0].source))

    def _release(self, item):
        if self.release is not None:
            try:
                self.release(item)
            except Exception:  # noqa: BLE001 - clean-up must not hide the item's result
                log.exception("batch release step failed")

    def _end(self, item, status, error):
        item.status = status
        item.error = error
        item.state = None
        if item._started is not None:
            item.seconds = monotonic() - item._started
        self._counts[status] += 1


def _temp_suffix(output):
    # ends like the output, so writers that choose the format by extension (GIMP) still do
    return ".part" + os.path.splitext(output)[1]


def _temp_output(output):
    directory = os.path.dirname(os.path.abspath(output))
    fd, path = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", suffix=_temp_suffix(output),
                                dir=directory)
    os.close(fd)
    os.remove(path)  # the writer creates it; only the unique name is wanted
    return path


def _remove_stale_temps(output):
    """Temp files of this output left by a crashed run (a clean run never leaves any)."""
    directory = os.path.dirname(os.path.abspath(output))
    prefix = "." + os.path.basename(output) + "."
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(_temp_suffix(output)):
            try:
                os.remove(os.path.join(directory, name))
            except OSError:
                pass


def _as_error(exc, step):
    if isinstance(exc, errors.SmartBeautyError):
        return exc
    if isinstance(exc, (IOError, OSError)):
        return errors.SmartBeautyError("Could not %s (%s)." % (step, getattr(exc, "strerror", None) or exc))
    log.exception("unexpected error in a batch step")
    return errors.SmartBeautyError("Smart Beauty failed unexpectedly (%s: %s); please report this."
                                   % (type(exc).__name__, text_type(exc)[:200]))
