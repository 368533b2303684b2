"""Task store: async jobs moving 0 (queued) -> 1 (processing) -> 2 (done), results, expiry.

AILab docs: ``task_status`` 0 queued, 1 processing, 2 done; results are reachable through a
temporary ``data.image_url`` for 24 hours (``result_ttl`` defaults to 86400 s); failed calls are not
billed; a smart-beauty call costs 8 credits.

How this server models it (our design): each job gets planned durations ``(queued, processing)``
from a *durations provider* (fixed, a per-job sequence, or any callable, so a benchmark can give each
job its own). The engine runs at once on a small worker pool; the job is *ready* (status 2, or
failed) at ``max(submit + queued + processing, engine finished)`` and that instant is recorded as
``ready_at``. Status is computed from the clock on every poll, so it is exact to the poll. Uploads
waiting for the engine and finished results live on disk, in a private folder of this store (0700,
removed on close), not in memory: memory stays bounded by the engine workers whatever the number of
jobs; a janitor thread deletes results once they expire, as the service's URLs do. A result is read for
a download (``result``, the server's) or given a second name of the caller's (``save_result``, the
command's in-process engine: no byte copied; the caller's file outlives the store's). A failed job (engine
``NoFaceFound`` -> 422 ERROR_NO_FACE_IN_FILE, any other engine error -> 500 PROCESSING_FAILURE, or
the ``task_failed`` fault) becomes visible on the poll at its ready time.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from smart_beauty import errors
from smart_beauty.clock import SYSTEM
from smart_beauty.protocol import DISK_FULL_CODE, DISK_FULL_STATUS
from smart_beauty_engine import NoFaceFound
from smart_beauty_server import images

CREDITS_PER_CALL = 8

QUEUED, PROCESSING, DONE, FAILED, EXPIRED = 0, 1, 2, "failed", "expired"


def fixed_durations(queued, processing):
    def provider(info):
        return float(queued), float(processing)

    provider.description = {"queued": float(queued), "processing": float(processing)}
    return provider


def sequence_durations(pairs):
    """Per-job durations in submit order; the last pair repeats once the list is used up."""
    pairs = [(float(q), float(p)) for q, p in pairs]
    if not pairs:
        raise ValueError("empty durations sequence")
    lock = threading.Lock()
    state = {"i": 0}

    def provider(info):
        with lock:
            i = state["i"]
            state["i"] += 1
        return pairs[min(i, len(pairs) - 1)]

    provider.description = {"sequence": [list(p) for p in pairs]}
    return provider


def job_seconds_durations(job_seconds):
    """``job_seconds`` total: a quarter queued, three quarters processing."""
    return fixed_durations(job_seconds * 0.25, job_seconds * 0.75)


class Task:
    """One async job. Times: ``*_mono`` are the store's clock (``now``, time.monotonic() by default),
    ``*_at`` are time.time()."""

    def __init__(self, level, multi_face, queued, processing, stuck=None, fail=None, fault=None,
                 fault_key=None, now=None, effects=None):
        self.id = str(uuid.uuid4())
        self.level = level
        self.effects = effects      # None, or the Effects the request's own fields asked for
        self.multi_face = multi_face
        self.queued = queued
        self.processing = processing
        self.stuck = stuck          # None, 0 or 1: the status the job never leaves
        self.fail = fail            # None or (status, code, message): forced failure
        self.fault = fault
        self.fault_key = fault_key  # "fault:..." key that submitted it (its download faults follow it)
        self.submitted_mono = time.monotonic() if now is None else now
        self.submitted_at = time.time()
        self.engine_done_mono = None
        self.error = None           # (status, code, message) once failed
        self.token = None
        self.result_path = None     # the encoded result on disk (None before it is ready and after it expired)
        self.ready_mono = None      # when status 2 (or failure) becomes visible
        self.polls = []             # time.time() of every poll

    def planned_ready_mono(self):
        return self.submitted_mono + self.queued + self.processing

    def wall(self, mono):
        return None if mono is None else self.submitted_at + (mono - self.submitted_mono)

    def status(self, now, ttl):
        elapsed = now - self.submitted_mono
        if self.stuck == 0 or elapsed < self.queued:
            return QUEUED
        if self.stuck == 1 or self.ready_mono is None or now < self.ready_mono:
            return PROCESSING
        if self.error is not None:
            return FAILED
        if now >= self.ready_mono + ttl:
            return EXPIRED
        return DONE

    def describe(self, now, ttl):
        return {
            "task_id": self.id,
            "status": self.status(now, ttl),
            "submitted_at": self.submitted_at,
            "queued_seconds": self.queued,
            "processing_seconds": self.processing,
            "ready_at": None if self.stuck is not None else self.wall(self.ready_mono),
            "failed": self.error is not None,
            "error_code": None if self.error is None else self.error[1],
            "level": self.level,
            "effects": None if self.effects is None else self.effects.as_dict(),
            "multi_face": self.multi_face,
            "fault": self.fault,
            "polls": len(self.polls),
            "poll_times": list(self.polls),
        }


class TaskStore:
    """Thread-safe job store with an engine worker pool and an expiry janitor. ``clock``: what job
    durations and result expiry are measured on (``smart_beauty.clock``; the real one by default)."""

    def __init__(self, engine, durations, result_ttl=86400.0, credits=100000, engine_workers=2, result_dir=None,
                 clock=None, save=images.save_png):
        """``save``: how a result is written to its file, ``save(rgb, f)`` (``images.save_png``, what the service
        sends; the command's in-process engine takes ``images.save_bmp``, which costs no compression)."""
        self.engine = engine
        self.save = save
        self.clock = clock or SYSTEM
        self._own_dir = result_dir is None
        self._result_dir = result_dir   # our own private folder is made on first use (see result_dir)
        self._dir_lock = threading.Lock()    # not self._lock: files are written while holding that one
        self.durations = durations
        self.result_ttl = float(result_ttl)
        self.initial_credits = credits
        self.credits = credits
        self._lock = threading.Lock()
        self._engine_done = threading.Condition(self._lock)   # a job's engine run ended (poll(hold=...))
        self._tasks = {}
        self._tokens = {}
        self._pool = ThreadPoolExecutor(max_workers=engine_workers, thread_name_prefix="ailab-engine")
        self._stop = threading.Event()
        self._janitor = threading.Thread(target=self._sweep_loop, name="ailab-janitor", daemon=True)

    def start(self):
        self._janitor.start()

    @property
    def result_dir(self):
        """Where uploads wait and results live: the given folder, or a private one (mode 0700) made on
        first use -- a store that never holds a file leaves no folder behind -- and removed by close()."""
        with self._dir_lock:
            if self._result_dir is None:
                self._result_dir = tempfile.mkdtemp(prefix="smart-beauty-server-")
            return self._result_dir

    # -- jobs -------------------------------------------------------------------------------
    def submit(self, image, level, multi_face, durations=None, stuck=None, fail=None, fault=None,
               fault_key=None, effects=None):
        """``image``: the upload's bytes (kept on disk until the engine takes it) or an RGB array."""
        if durations is None:
            durations = self.durations({"level": level, "multi_face": multi_face})
        queued, processing = durations
        task = Task(level, multi_face, queued, processing, stuck=stuck, fail=fail, fault=fault,
                    fault_key=fault_key, now=self.clock.now(), effects=effects)
        upload = self._write(task.id + ".upload", lambda f: f.write(image)) if isinstance(image, bytes) else None
        with self._lock:
            self._tasks[task.id] = task
        self._pool.submit(self._run, task, upload if upload is not None else image)
        return task

    def _write(self, name, fill):
        """The new file ``name`` in the store's folder (:func:`_create`), written by ``fill(f)``; its path. No
        file is left when ``fill`` fails."""
        path = os.path.join(self.result_dir, name)
        fd = _create(path)
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
        except BaseException:
            _remove(path)
            raise
        return path

    def _run(self, task, image):
        error = result = None
        try:
            if isinstance(image, str):        # an upload waiting on disk
                with open(image, "rb") as f:
                    data = f.read()
                os.remove(image)
                image = images.decode(data)
                del data
            rgb = np.asarray(image)
            if task.fail is not None:
                error = task.fail
            else:
                out = run_engine(self.engine, rgb, task.level, task.multi_face, task.effects)
                if getattr(out, "shape", None) != rgb.shape:
                    raise ValueError("engine changed the image shape")
                result = self._write(task.id + ".result", lambda f: self.save(out, f))
                del out, rgb
        except NoFaceFound:
            error = (422, "ERROR_NO_FACE_IN_FILE", "pic not has face")  # the docs' example message
        except Exception as exc:  # any engine failure is the service's processing failure ...
            if errors.is_disk_full(exc):   # ... but a full disk, ours to name: the user's to free (AILab has none)
                error = (DISK_FULL_STATUS, DISK_FULL_CODE, "no free disk space for the result")
            else:
                error = (500, "PROCESSING_FAILURE", "engine error: %s" % type(exc).__name__)
        now = self.clock.now()
        with self._lock:
            task.engine_done_mono = now
            task.error = error
            forgotten = self._tasks.get(task.id) is not task   # cleared by a reset while it ran: not billed
            if result is not None and not self._stop.is_set() and not forgotten:
                task.result_path = result
                task.token = secrets.token_urlsafe(24)
                self._tokens[task.token] = task
                self._bill()
            else:
                _remove(result)
            task.ready_mono = max(task.planned_ready_mono(), now)
            self._engine_done.notify_all()

    def _bill(self):
        """Take one call's credits (under the lock); ``credits=None`` counts nothing (the offline service)."""
        if self.credits is not None:
            self.credits -= CREDITS_PER_CALL

    def has_credits(self):
        return self.credits is None or self.credits >= CREDITS_PER_CALL

    def run_sync(self, rgb, level, multi_face, effects=None):
        """Sync mode: run the engine inline; returns the result's bytes (``save``'s) or raises NoFaceFound/other."""
        out = run_engine(self.engine, rgb, level, multi_face, effects)
        with self._lock:
            self._bill()
        buf = io.BytesIO()
        self.save(out, buf)
        return buf.getvalue()

    def poll(self, task_id, hold=0.0):
        """Record a poll and return ``(task, status)``; ``(None, None)`` for an unknown task.

        ``hold`` (seconds, real time): a job whose engine is still running is waited for up to that
        long before its status is read, so the answer comes when it ends instead of at the client's
        next poll (the offline engine's own server: its jobs take tens of milliseconds)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None, None
            task.polls.append(time.time())
            if hold > 0 and task.stuck is None:
                self._engine_done.wait_for(lambda: task.engine_done_mono is not None or self._stop.is_set(), hold)
            return task, task.status(self.clock.now(), self.result_ttl)

    def result(self, token):
        """The result's bytes (``save``'s: PNG for the server) for a download token, or None (unknown,
        not ready or expired)."""
        path = self._ready_path(token)
        if path is None:
            return None
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:  # expired (and deleted) between the check and the read
            return None

    def save_result(self, token: str, dest: str) -> bool:
        """Give the result for a download token the name ``dest`` without reading or writing its bytes: a hard
        link to the store's file, made under a new name in the store's own folder and renamed onto ``dest``
        (``os.replace``: whatever had that name, such as the placeholder ``tempfile.mkstemp`` makes, is
        replaced whole; a link planted there is replaced, never followed). Its new owner reads, renames or
        removes it, never writes into it. The store's own name goes on expiry, reset or close() and ``dest``
        keeps the bytes; until then the result can be saved (or read) again, as the service's results can be
        downloaded until they expire. Where the two cannot share a file (``dest`` on another file system, or
        one without hard links) ``dest`` is a copy (:func:`_copy`). False, and ``dest`` untouched, when there
        is no result (unknown, not ready or expired); nothing is left behind on failure."""
        path = self._ready_path(token)
        if path is None:
            return False
        link = os.path.join(self.result_dir, "%s.save" % uuid.uuid4())
        try:
            os.link(path, link)
        except OSError:   # a file system without hard links; or expired meanwhile
            return _copy(path, dest)
        try:
            os.replace(link, dest)
            return True
        except OSError:   # dest on another file system
            return _copy(link, dest)
        finally:
            _remove(link)   # gone already once renamed onto dest

    def _ready_path(self, token: str) -> str | None:
        """The file of a result that can be downloaded now, or None (unknown token, not ready or expired)."""
        with self._lock:
            task = self._tokens.get(token)
            if task is None or task.result_path is None:
                return None
            if task.status(self.clock.now(), self.result_ttl) != DONE:
                return None
            return task.result_path

    def task_for_token(self, token):
        with self._lock:
            return self._tokens.get(token)

    def get(self, task_id):
        with self._lock:
            return self._tasks.get(task_id)

    # -- housekeeping -------------------------------------------------------------------------
    def describe(self):
        now = self.clock.now()
        with self._lock:
            return {tid: t.describe(now, self.result_ttl) for tid, t in self._tasks.items()}

    def clear(self):
        with self._lock:
            for task in self._tasks.values():
                _remove(task.result_path)
                task.result_path = None
            self._tasks.clear()
            self._tokens.clear()
            self.credits = self.initial_credits

    def sweep(self):
        """Delete expired results (their status stays "expired")."""
        now = self.clock.now()
        with self._lock:
            for token, task in list(self._tokens.items()):
                if task.status(now, self.result_ttl) == EXPIRED:
                    _remove(task.result_path)
                    task.result_path = None
                    del self._tokens[token]

    def _sweep_loop(self):
        while not self._stop.wait(0.5):
            self.sweep()

    def close(self):
        self._stop.set()
        if self._janitor.is_alive():
            self._janitor.join()
        self._pool.shutdown(wait=True)
        self.clear()
        if self._own_dir and self._result_dir is not None:
            shutil.rmtree(self._result_dir, ignore_errors=True)


def run_engine(engine, rgb, level, multi_face, effects=None):
    """Call ``engine``; ``effects`` (the request's own strengths) only when the request had them, so an
    engine of the plain ``f(rgb, level, multi_face)`` kind still serves every request of the service."""
    if effects is None:
        return engine(rgb, level, multi_face)
    return engine(rgb, level, multi_face, effects=effects)


def _remove(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass


def _create(path: str) -> int:
    """The new file ``path``, open for writing (its descriptor): 0600, created exclusively (FileExistsError
    when the name is taken), never through a link."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)


def _copy(path: str, dest: str) -> bool:
    """``path``'s bytes as the file ``dest``, which they replace whole: written to a new file next to it
    (``tempfile.mkstemp``'s: 0600, created exclusively, never through a link) and renamed onto it. False, and
    ``dest`` untouched, when ``path`` is gone (expired meanwhile); nothing is left behind on failure."""
    try:
        src = open(path, "rb")
    except FileNotFoundError:
        return False
    with src:
        fd, part = tempfile.mkstemp(prefix=os.path.basename(dest) + ".", suffix=".part",
                                    dir=os.path.dirname(os.path.abspath(dest)))
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            os.replace(part, dest)
        except BaseException:
            _remove(part)
            raise
    return True
