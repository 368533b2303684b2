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

Outputs: before the first upload every output folder is tried (a file created and removed in it);
an item whose output cannot be written there fails at once, unsent (no credits spent for a result
that could not be kept). ``temp_output`` is a file the batch has already created exclusively (mode
0600, ``O_EXCL``) in the output's folder; writers should open it with :func:`open_temp_output`
(which refuses a link planted in its place); it is renamed into place, with the permissions the
umask gives an ordinary file, only once complete.

Writers that can only write by name (GIMP's exporters) write into the item's private work folder
and copy the file in with :func:`copy_to_temp_output` (the same :func:`open_temp_output`).

Companion outputs (``extras(output) -> [paths]``, e.g. the CLI's ``--mask`` file beside each output):
``finish`` writes each into ``item.temp_extras[path]`` (a temp file made like ``temp_output``); they
are renamed into place before the output itself, so an output on disk always has its companions.

Resume: an item whose output already exists is ``skipped`` unless ``force``. With a ``recipe`` (a
dict of the options that shape the result, made by :func:`recipe`; the CLI and the GIMP batches
both pass one), the batch keeps a ledger in each output folder (:data:`LEDGER`): what each output
was made from (source path, size, mtime, sha256, recipe). Then an existing output is skipped only
when its ledger entry matches the source and the recipe; it is redone when the same source changed
or the recipe differs, and refused (failed, unsent) when it was made from another file or by
something else. An output whose companions (``extras``) are missing is redone; companions the ledger
records for an output that is redone without them are removed (they would no longer match it).
``force_hint`` ends those refusals with how this host's user replaces it anyway. Rate limits: every job
shares the client's pause (:meth:`Client._pause_all`): after a 429/503 with ``Retry-After`` no job of
this client sends anything before the pause ends; a job refused for rate limiting after the client's
own retries is put back in the queue (nothing was processed or billed) and the batch keeps one job
fewer in flight from then on.

Stop: a refused key, an account out of credits or a missing key fails every image the same way, so
the first such failure stops the batch (:attr:`Batch.stopped`): jobs in flight finish, the rest are
not sent (status ``cancelled``, with a message saying why).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections import deque, namedtuple

from . import errors
from .clock import SYSTEM
from .compat import queue, replace_file, text_type, to_text
from .jobs import DEFAULT_DEADLINE, RetouchJob
from .workdir import BATCH_PREFIX, new_workdir

DEFAULT_JOBS = 3   # the vendor suggests starting at about 3 concurrent requests
MAX_JOBS = 16      # the client's connection pool size

PENDING, RUNNING, DONE, FAILED, SKIPPED, CANCELLED = ("pending", "running", "done", "failed", "skipped",
                                                      "cancelled")
RATE_LIMIT_REQUEUES = 3
# Failures that every further image would meet too: the batch stops at the first one.
STOPS_THE_BATCH = (errors.AuthError, errors.NoCreditsError, errors.ConfigError)

log = logging.getLogger("smart_beauty")
LEDGER = ".smart-beauty-outputs.json"


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
        self.extras = []         # companion outputs written beside ``output`` (Batch ``extras``)
        self.temp_extras = {}    # companion -> its temp file, while ``finish`` runs
        self.requeues = 0
        self._started = None

    @property
    def written(self):
        """Every file this item writes: its output and the output's companions (none without an output)."""
        return [self.output] + self.extras if self.output else []

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
                 force=False, deadline=DEFAULT_DEADLINE, policy=None, release=None, workdir=None, recipe=None,
                 force_hint=None, clock=None, effects=None, extras=None):
        self.client = client
        self.clock = clock or getattr(client, "clock", None) or SYSTEM
        self.items = [BatchItem(src, dest) for src, dest in pairs]
        for item in self.items:
            item.extras = list(extras(item.output)) if extras is not None and item.output else []
        self.prepare = prepare
        self.finish = finish
        self.release = release
        self.level = level
        self.effects = effects       # None, or the Effects every job asks for (see RetouchJob)
        self.multi_face = bool(multi_face)
        self.jobs = max(1, min(MAX_JOBS, int(jobs)))
        self.limit = self.jobs       # in-flight limit now (lowered after rate limiting)
        self.force = force
        self.deadline = deadline
        self.policy = policy
        self.workdir = workdir
        self.recipe = None if recipe is None else dict(recipe)
        self.force_hint = force_hint  # how this host's user replaces an output anyway ("use --force ...")
        self.file_mode = ordinary_file_mode()
        self._ledgers = {}           # output folder -> {output name: record}
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

    def summary(self, extra_failed=0):
        """``extra_failed``: inputs the caller refused before the batch (e.g. two with the same output
        name); they count in the total and as failed."""
        total = len(self.items) + extra_failed
        failed = self._counts[FAILED] + extra_failed
        parts = ["%d done" % self._counts[DONE]]
        if self._counts[SKIPPED]:
            parts.append("%d skipped (already done)" % self._counts[SKIPPED])
        if failed:
            parts.append("%d failed" % failed)
        if self._counts[CANCELLED]:
            parts.append("%d not retouched (%s)" % (self._counts[CANCELLED], "not sent: the batch stopped at "
                                                    + os.path.basename(self.stopped[0].source)
                                                    if self.stopped else "cancelled"))
        return "%d image(s): %s, in %.1f s." % (total, ", ".join(parts), self.elapsed)

    # -- the loop (caller's thread) ------------------------------------------------------------

    def run(self, tick=0.1):
        """Drive the batch; yields a :class:`BatchEvent` per change and at least every ``tick`` s.
        Closing the generator early abandons the jobs in flight."""
        self.started = self.clock.now()
        own_workdir = self.workdir is None
        # its own folder carries this process's id: swept by a later run if this one is killed
        workdir = new_workdir(BATCH_PREFIX) if own_workdir else self.workdir
        pending = deque()
        refusal = _refusal(self.client, self.effects)
        try:
            if refusal is not None:   # the service cannot do what was asked: nothing is prepared or sent
                self.stopped = (self.items[0], refusal) if self.items else None
                for item in self.items:
                    self._end(item, FAILED, refusal)
                    yield self._event("failed", item)
                return
            unwritable = output_problems([path for item in self.items for path in item.written])
            for item in self.items:
                verdict, reason = self._resume_verdict(item)
                problem = [unwritable[p] for p in item.written if p in unwritable]
                if verdict == "skip":
                    item.status = SKIPPED
                    self._counts[SKIPPED] += 1
                    yield self._event("skipped", item)
                elif verdict == "refuse" or problem:
                    self._end(item, FAILED, errors.BadInputError(problem[0] if problem else reason))
                    yield self._event("failed", item)
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
            self.elapsed = self.clock.now() - self.started
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
            item._started = self.clock.now()
        item.status = RUNNING
        item_dir = tempfile.mkdtemp(prefix="item-", dir=workdir)
        prepared = False
        try:
            for output in item.written:
                _remove_stale_temps(output)
            path = self.prepare(item, item_dir)
            prepared = True
            if self.recipe is not None and "fingerprint" not in item.context:
                item.context["fingerprint"] = fingerprint(item.source)
            job = RetouchJob(self.client, path, level=self.level, multi_face=self.multi_face,
                             deadline=self.deadline, policy=self.policy, result_dir=item_dir,
                             clock=self.clock, effects=self.effects)
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
            item.temp_extras = dict((extra, _temp_output(extra)) for extra in item.extras)
            try:
                self.finish(item, result, temp)
                for written in [temp] + list(item.temp_extras.values()):
                    if not os.path.isfile(written) or os.path.getsize(written) == 0:
                        raise errors.SmartBeautyError("The result of %s was not written; please report this."
                                                      % os.path.basename(item.source))
                for extra in item.extras:         # the companions first: an output always has them
                    _set_mode(item.temp_extras[extra], self.file_mode)
                    replace_file(item.temp_extras[extra], extra)
                _set_mode(temp, self.file_mode)
                replace_file(temp, item.output)
            finally:
                for left in [temp] + list(item.temp_extras.values()):
                    if os.path.lexists(left):
                        os.remove(left)
                item.temp_extras = {}
            self._record(item)
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

    # -- resume ledger -------------------------------------------------------------------------

    def _ledger(self, folder):
        if folder not in self._ledgers:
            self._ledgers[folder] = read_ledger(folder)
        return self._ledgers[folder]

    def _resume_verdict(self, item):
        """("run" | "skip" | "refuse", reason) for an item at the start of the batch."""
        if self.force or not item.output or not os.path.lexists(item.output):
            return "run", None
        if [extra for extra in item.extras if not os.path.lexists(extra)]:
            return "run", None   # a companion (the --mask file) is missing: made again with its output
        if self.recipe is None:
            return "skip", None
        folder, name = os.path.split(os.path.abspath(item.output))
        record = self._ledger(folder).get(name)
        source = os.path.abspath(item.source)
        if not isinstance(record, dict):
            return "refuse", ("%s already exists and Smart Beauty has no record of making it from this file; "
                              "%s (nothing was sent)." % (item.output, self._choices("delete it")))
        if record.get("source") != source:
            return "refuse", ("%s was made from %s, not from this file; %s (nothing was sent)."
                              % (item.output, record.get("source"), self._choices("rename one of them")))
        if record.get("recipe") != self.recipe or not same_file(record, item.source):
            return "run", None   # ours, from this file, but the file or the options changed: redo it
        return "skip", None

    def _choices(self, first):
        choices = [first, "choose another output folder"] + ([self.force_hint] if self.force_hint else [])
        return ", ".join(choices[:-1]) + (", or " if len(choices) > 2 else " or ") + choices[-1]

    def _record(self, item):
        if self.recipe is None:
            return
        folder, name = os.path.split(os.path.abspath(item.output))
        record = dict(item.context.get("fingerprint") or fingerprint(item.source))
        record.update({"source": os.path.abspath(item.source), "recipe": self.recipe})
        extras = [os.path.basename(extra) for extra in item.extras]
        if extras:
            record["extras"] = extras
        ledger = self._ledger(folder)
        previous = ledger.get(name)
        for stale in (previous.get("extras") or []) if isinstance(previous, dict) else []:
            # a companion this output had, made by us for it, that this run did not make again
            if stale not in extras and os.path.basename(stale) == stale:
                try:
                    os.remove(os.path.join(folder, stale))
                except OSError:
                    pass
        ledger[name] = record
        try:
            write_ledger(folder, ledger, self.file_mode)
        except (IOError, OSError) as e:  # the output itself is fine; only resume knows less
            log.warning("could not update %s in %s: %s", LEDGER, folder, e)

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
            item.seconds = self.clock.now() - item._started
        self._counts[status] += 1


def recipe(level, multi_face, effects=None, **options):
    """What shapes a batch's results, as its resume ledger records it (:class:`Batch` ``recipe``):
    the level, multi-face, the strengths per effect, and the writer's own options (format, metadata,
    which program wrote it). The CLI and the GIMP batches build theirs here, so an output is only ever
    skipped when it was made from the same file the same way. ``effects`` that are a plain level are
    recorded as that level (as before there were strengths: such outputs are not redone); others as
    their strengths, so a changed strength redoes the output."""
    plain = None if effects is None else effects.level()
    made = {"level": float(level if plain is None else plain), "multi_face": bool(multi_face)}
    if effects is not None and plain is None:
        made["effects"] = effects.as_dict()
    made.update(options)
    return made


def _refusal(client, effects):
    """The error a client gives for ``effects`` it cannot do (:meth:`Client.effects_refusal`), or None."""
    check = getattr(client, "effects_refusal", None)
    return None if effects is None or check is None else check(effects)


def ordinary_file_mode():
    """The mode an ordinary new file gets here (0666 less the umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def output_problems(outputs):
    """{output: one sentence} for outputs that cannot be written: their folder is missing and cannot
    be created, is not a folder, or refuses a new file; or the output name is a folder. Tried by
    creating (exclusively) and removing a file in each folder, so nothing is left behind."""
    problems, folders = {}, {}
    for output in outputs:
        folder = os.path.dirname(os.path.abspath(output))
        if folder not in folders:
            folders[folder] = _folder_problem(folder)
        if folders[folder]:
            problems[output] = folders[folder]
        elif os.path.isdir(output):
            problems[output] = ("%s is a folder, so the result cannot be written there; rename or move that "
                                "folder (nothing was sent)." % output)
    return problems


def _folder_problem(folder):
    if not os.path.isdir(folder):
        if os.path.lexists(folder):
            return "%s is not a folder, so no result can be written there; choose another output folder " \
                   "(nothing was sent)." % folder
        try:
            os.makedirs(folder)
        except (IOError, OSError) as e:
            if not os.path.isdir(folder):
                return "Cannot create the output folder %s (%s); choose another one (nothing was sent)." % (
                    folder, _reason(e))
    try:
        fd, probe = tempfile.mkstemp(prefix=".smart-beauty-probe-", dir=folder)
    except (IOError, OSError) as e:
        return "Cannot write to the folder %s (%s); choose another output folder (nothing was sent)." % (
            folder, _reason(e))
    os.close(fd)
    try:
        os.remove(probe)
    except OSError:
        pass
    return None


def _reason(exc):
    return to_text(getattr(exc, "strerror", None) or exc).lower() or "error %s" % getattr(exc, "errno", "?")


def open_temp_output(path):
    """Open the batch's temp file ``path`` for writing (binary), refusing anything but the empty
    regular file the batch created: a link planted in its place is not followed."""
    flags = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)  # no O_TRUNC before the check
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise errors.SmartBeautyError("The temporary file %s was replaced by a link, so nothing was written "
                                          "through it; check who else writes to that folder." % path)
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        raise errors.SmartBeautyError("The temporary file %s was replaced by another file, so nothing was written "
                                      "to it; check who else writes to that folder." % path)
    os.ftruncate(fd, 0)
    return io.open(fd, "wb")


def copy_to_temp_output(source, path):
    """Fill the batch's temp file ``path`` with the bytes of ``source`` through :func:`open_temp_output`
    (no link followed): for writers that can only write by name (GIMP's exporters), which write into
    a private work folder and have it copied here."""
    with io.open(source, "rb") as f:
        with open_temp_output(path) as out:
            shutil.copyfileobj(f, out)


def _set_mode(path, mode):
    if not hasattr(os, "fchmod"):
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def fingerprint(path):
    """What identifies a source file's content: size, mtime and sha256."""
    st = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"size": st.st_size, "mtime": st.st_mtime, "sha256": digest.hexdigest()}


def same_file(record, path):
    """Whether ``path`` still holds what ``record`` (a :func:`fingerprint`) was taken from."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_size != record.get("size"):
        return False
    if st.st_mtime == record.get("mtime"):
        return True
    return fingerprint(path)["sha256"] == record.get("sha256")


def read_ledger(folder):
    try:
        with io.open(os.path.join(folder, LEDGER), "r", encoding="utf-8") as f:
            data = json.load(f)
    except (IOError, OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_ledger(folder, ledger, mode):
    fd, tmp = tempfile.mkstemp(prefix=LEDGER + ".", suffix=".part", dir=folder)
    try:
        with io.open(fd, "w", encoding="utf-8") as f:
            f.write(to_text(json.dumps(ledger, indent=1, sort_keys=True)))
        _set_mode(tmp, mode)
        replace_file(tmp, os.path.join(folder, LEDGER))
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise


def _temp_suffix(output):
    # ends like the output, so writers that choose the format by extension (GIMP) still do
    return ".part" + os.path.splitext(output)[1]


def _temp_output(output):
    """A new, empty, private file beside ``output``, created exclusively (never an existing name or a
    link); the writer fills it and the batch renames it into place."""
    directory = os.path.dirname(os.path.abspath(output))
    fd, path = tempfile.mkstemp(prefix="." + os.path.basename(output) + ".", suffix=_temp_suffix(output),
                                dir=directory)
    os.close(fd)
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
