"""The offline engine in the command's own process: how ``smart-beauty retouch`` runs it.

The GIMP plug-ins cannot load the engine themselves and share a local server
(:mod:`smart_beauty.localserver`); the command runs the engine here instead, and leaves no process
behind. Starting that server was most of a one-photo run (a second Python importing NumPy, OpenCV and
Werkzeug before it could answer: 1.2x G'MIC's time at 0.26 MP, against ~0.9x here); even one already
running saves only ~30 ms at 0.26 MP and costs ~0.4 s at 12 MP, where the photo and the result cross
HTTP as files (issue #12, ``bench/engine.py``).

:class:`InProcessService` is the server's own job store (:class:`smart_beauty_server.jobs.TaskStore`:
the service's checks of the image, the engine on its worker pool; results as uncompressed BMP, since
they never leave this computer) behind the calls a job makes of its client -- ``submit``, ``query``,
``download`` -- so a retouch goes through the same steps, and the same rules, as over HTTP: the
request's level and strengths pass through their wire form (:func:`smart_beauty.protocol.submit_fields`,
parsed by the server's own :func:`~smart_beauty_server.protocol.parse_effects`), and an image the
service would refuse or a job that failed becomes the error the server's reply would have given
(:func:`smart_beauty.protocol.error_for`). No HTTP, no Werkzeug, no requests.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from smart_beauty import errors, imagefile, protocol, workdir
from smart_beauty.clock import SYSTEM, Waiter
from smart_beauty.polling import FixedPolicy
from smart_beauty.protocol import TaskState
from smart_beauty_server import images, jobs
from smart_beauty_server import protocol as wire

#: a status query of a job still in the engine is answered when its run ends, or after this many
#: seconds (the local server holds its queries the same way: ``serve.HOLD_POLLS``)
HOLD = 0.5
#: the scheme of a finished job's result address (``inprocess:TOKEN``); only :meth:`download` reads it
SCHEME = "inprocess:"


class InProcessService:
    """The offline engine ``engine`` (``engine(rgb, level, multi_face[, effects=])``) as a client of
    :class:`smart_beauty.jobs.RetouchJob`: ``submit`` checks the image and queues it, ``query`` waits
    for the engine (up to :data:`HOLD`), ``download`` hands the result over (a BMP file). ``close()`` ends the
    workers and removes the store's private folder (``smart-beauty-engine-PID-*``)."""

    local = True                      # strengths per effect are welcome (Client.local)
    base_url = "in this process"      # for messages; not an address

    def __init__(self, engine: Callable[..., Any], engine_workers: int = 2, clock: Any = None):
        self.clock = clock or SYSTEM
        # the engine's run is what query() waits for: no pause before asking, and no pause between asks
        self.poll_policy = FixedPolicy(0.0)
        # the store's folder is named after this process: one a killed run leaves is swept by a later one
        self.folder = workdir.new_workdir(workdir.ENGINE_PREFIX)
        self.store = jobs.TaskStore(engine, jobs.fixed_durations(0.0, 0.0), credits=None,
                                    engine_workers=engine_workers, result_dir=self.folder, save=images.save_bmp)
        self.store.start()

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> InProcessService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def waiter(self, deadline_seconds: float | None = None, cancel_event: Any = None) -> Waiter:
        return Waiter(deadline_seconds, cancel_event, self.clock)

    def effects_refusal(self, effects: Any) -> None:
        return None       # the offline engine does every strength

    def submit(self, image_path: str, level: float = 1.0, multi_face: bool = False, waiter: Waiter | None = None,
               effects: Any = None) -> str:
        (waiter or self.waiter()).check()
        form = dict(protocol.submit_fields(protocol.plain_level(level, effects), multi_face, effects))
        level_sent = wire.parse_level(form["beauty_level"])
        strengths, problem = wire.parse_effects(form, level_sent)
        if level_sent is None or problem is not None:   # format_level gives only what parse_level takes
            raise errors.BadInputError("The beauty level and strengths must be numbers between 0 and 1.")
        report = imagefile.check_limits(image_path)       # the client's own check, as before an upload
        if not report.ok:
            raise errors.BadInputError(report.advice())
        with open(image_path, "rb") as f:
            data = f.read(images.MAX_FILE_BYTES + 1)
        try:
            rgb = images.decode(data)     # the service's checks, in its order, before anything is queued
        except images.ImageRejected as e:
            raise _error(e.status, e.code, e.message, "submit") from None
        del data
        # the pixels themselves wait for the engine (the server keeps the upload's bytes on disk
        # instead; here a batch has at most its --jobs images in flight)
        task = self.store.submit(rgb, level_sent, form.get("multi_face") == "1", effects=strengths)
        return task.id

    def query(self, task_id: str, waiter: Waiter | None = None) -> TaskState:
        (waiter or self.waiter()).check()
        task, status = self.store.poll(task_id, HOLD)
        if task is None or status == jobs.EXPIRED:
            raise _error(404, "ERROR_RESOURCE_NOT_FOUND", None, "query")
        if status == jobs.FAILED:
            failed_status, code, message = task.error
            raise _error(failed_status, code, message, "query")
        if status == jobs.DONE:
            return TaskState(protocol.TASK_DONE, SCHEME + task.token)
        return TaskState(status)

    def download(self, url: str, directory: str | None = None, waiter: Waiter | None = None) -> str:
        """The result as a new BMP file in ``directory`` (a temp folder by default); returns its path. Its name
        is ``tempfile.mkstemp``'s, as a download's over HTTP; the store's own file takes that name
        (:meth:`~smart_beauty_server.jobs.TaskStore.save_result`: no byte is read or written again, as a 36 MB
        BMP at 12 MP would be), and keeps it after the store lets go of its own: expiry or close(). A failed
        download leaves no file behind."""
        (waiter or self.waiter()).check()
        token = url[len(SCHEME):] if url.startswith(SCHEME) else None
        fd, path = tempfile.mkstemp(prefix="smart-beauty-result-", suffix=".bmp", dir=directory)
        os.close(fd)
        try:
            if token is None or not self.store.save_result(token, path):
                raise errors.ResultExpiredError()
        except BaseException:
            os.remove(path)
            raise
        return path


def _error(status: int, code: str, message: str | None, phase: str) -> errors.SmartBeautyError:
    """The error a client raises for the server's reply ``status``/``code``/``message`` in ``phase``, without
    the reply's request id (no service to quote it to)."""
    body = wire.error_body(status, code, message)
    del body["request_id"], body["log_id"]
    return protocol.error_for(protocol.Reply(status, body, True), phase)
