"""One retouch job: submit -> poll -> download, with progress, a deadline and cancel.

A job runs either on the caller's thread (:meth:`RetouchJob.run`, for the CLI) or on a worker thread
while the caller's thread receives progress (:meth:`RetouchJob.run_in_background`, for GIMP, whose
calls must stay on the plug-in's main thread and whose progress bar must keep moving).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import logging
import math
import os
import tempfile
import threading
from collections import namedtuple

from . import errors
from .clock import Waiter
from .compat import queue
from .compat import urlsplit
from .polling import PollPolicy
from .settings import is_loopback_host

UPLOADING, QUEUED, PROCESSING, DOWNLOADING, DONE = "uploading", "queued", "processing", "downloading", "done"
STATE_TEXT = {
    UPLOADING: "Uploading the image",
    QUEUED: "Waiting in the service's queue",
    PROCESSING: "Retouching",
    DOWNLOADING: "Downloading the result",
    DONE: "Done",
}
DEFAULT_DEADLINE = 300.0  # the vendor SDKs give up after 300 s too

_STATUS_STATE = {0: QUEUED, 1: PROCESSING}


class Progress(namedtuple("Progress", "state elapsed fraction text")):
    """One progress report: state name, seconds since start, fraction in [0, 1], display text."""


# One poll policy for the whole process, so every job of a batch learns from the ones before it.
CLOUD_POLICY = PollPolicy()
# A service on this computer (a loopback address: our own local server and its offline engine)
# answers in hundredths to tenths of a second, and a query costs a millisecond: poll it every
# 0.01-0.1 s (a fresh policy queries at 0.013, 0.03, 0.055, 0.09, 0.13, 0.17 s...: a result waits
# about 0.02 s on average to be seen), not at the cloud's pace of at most one a second, or a 0.1 s
# retouch waits a whole second for its first poll.
LOCAL_PACE = dict(k=0.06, min_interval=0.01, max_interval=0.1, first_poll=0.01, prior_min=0.01, prior_max=10.0)
LOCAL_POLICY = PollPolicy(**LOCAL_PACE)


def policy_for(client):
    """The poll policy for jobs on ``client``: its own ``poll_policy`` if it was given one, else the
    process's shared one for a service on this computer (loopback address) or for the cloud."""
    own = getattr(client, "poll_policy", None)
    if own is not None:
        return own
    host = urlsplit(getattr(client, "base_url", "") or "").hostname or ""
    return LOCAL_POLICY if is_loopback_host(host) else CLOUD_POLICY


class RetouchJob(object):
    """Retouch one image file that already meets the service limits."""

    def __init__(self, client, image_path, level=1.0, multi_face=False, deadline=DEFAULT_DEADLINE,
                 policy=None, result_dir=None, clock=None, effects=None):
        """``effects`` (:class:`smart_beauty.effects.Effects`, optional): a strength per effect, for the
        offline engine; the cloud refuses it before the upload unless it is a plain level
        (:meth:`~smart_beauty.client.Client.effects_refusal`)."""
        self.client = client
        self.image_path = image_path
        self.level = level
        self.effects = effects
        self.multi_face = bool(multi_face)
        self.policy = policy or policy_for(client)
        self.result_dir = result_dir
        self.task_id = None
        self.request_id = None  # of the service's last reply about this task (for reports)
        self.queries = 0
        self._waiter = Waiter(deadline, clock=clock or getattr(client, "clock", None))
        self._result_path = None
        self._error = None
        self._finished = threading.Event()

    # -- control -----------------------------------------------------------------------------

    def cancel(self):
        """Stop as soon as possible; the job then fails with CancelledError."""
        self._waiter.cancel_event.set()

    @property
    def cancelled(self):
        return self._waiter.cancel_event.is_set()

    @property
    def result_path(self):
        """Path of the downloaded result; raises the job's error if it failed."""
        if self._error is not None:
            raise self._error
        if self._result_path is None:
            raise errors.SmartBeautyError("The job has not finished yet.")
        return self._result_path

    def cleanup(self):
        """Remove the downloaded result file (the caller has copied or loaded it)."""
        path, self._result_path = self._result_path, None
        if path and os.path.exists(path):
            os.remove(path)

    # -- running -----------------------------------------------------------------------------

    def run(self, progress=None):
        """Run on this thread; returns the result path or raises a SmartBeautyError."""
        report = progress or (lambda event: None)
        try:
            self._result_path = self._work(report)
            return self._result_path
        except errors.SmartBeautyError as e:
            self._error = e
            raise
        except EnvironmentError as e:
            if not errors.is_disk_full(e):
                self._error = self._unexpected(e)
                raise self._error
            self._error = errors.DiskFullError(
                "There is not enough free disk space in %s for Smart Beauty's temporary files; free some space "
                "(or point TMPDIR to another disk) and try again." % (self.result_dir or tempfile.gettempdir()))
            raise self._error
        except Exception as e:  # a bug must still end the job with a message, not a hang
            self._error = self._unexpected(e)
            raise self._error
        finally:
            self._finished.set()

    @staticmethod
    def _unexpected(e):
        logging.getLogger("smart_beauty").exception("unexpected error in a retouch job")
        return errors.SmartBeautyError("Smart Beauty failed unexpectedly (%s); please report this."
                                       % type(e).__name__)

    def run_in_background(self, tick=0.1):
        """Run on a worker thread; yield Progress on the calling thread at least every ``tick`` s.

        The generator ends when the job has finished (then read :attr:`result_path`). Closing the
        generator early cancels the job and waits for the worker to stop.
        """
        events = queue.Queue()
        worker = threading.Thread(target=self._background, args=(events,), name="smart-beauty-job")
        worker.daemon = True
        worker.start()
        last = Progress(UPLOADING, 0.0, 0.0, STATE_TEXT[UPLOADING])
        try:
            while not self._finished.is_set() or not events.empty():
                try:
                    last = events.get(timeout=tick)
                except queue.Empty:
                    # Keep the host's progress bar alive with the current state and elapsed time.
                    last = self._describe(last.state, self._waiter.elapsed())
                yield last
        finally:
            if not self._finished.is_set():
                self.cancel()
            worker.join()

    def _background(self, events):
        try:
            self.run(events.put)
        except errors.SmartBeautyError:
            pass  # kept in self._error, raised by result_path

    def _work(self, report):
        waiter = self._waiter
        report(self._describe(UPLOADING, waiter.elapsed()))
        self.task_id = self.client.submit(self.image_path, self.level, self.multi_face, waiter, effects=self.effects)
        submitted = waiter.elapsed()
        state = QUEUED
        report(self._describe(state, waiter.elapsed()))
        delay, waited = self.policy.first_delay(), 0.0
        previous = 0.0
        while True:
            waiter.sleep(max(0.0, submitted + waited + delay - waiter.elapsed()))
            waited += delay
            self.queries += 1
            answer = self.client.query(self.task_id, waiter)
            self.request_id = answer.request_id or self.request_id
            since_submit = waiter.elapsed() - submitted
            if answer.done:
                # The job finished somewhere between the previous query and this one.
                if previous:
                    self.policy.observe((previous + since_submit) / 2.0, (since_submit - previous) / 2.0)
                else:
                    self.policy.observe(since_submit, since_submit / 2.0)
                break
            state = _STATUS_STATE.get(answer.status, PROCESSING)
            report(self._describe(state, waiter.elapsed()))
            previous = since_submit
            delay = self.policy.interval(since_submit)
            waited = since_submit
        report(self._describe(DOWNLOADING, waiter.elapsed()))
        path = self.client.download(answer.image_url, self.result_dir, waiter)
        try:
            waiter.check()  # a cancel that arrived during the download still wins
        except errors.SmartBeautyError:
            os.remove(path)
            raise
        report(self._describe(DONE, waiter.elapsed()))
        return path

    def _describe(self, state, elapsed):
        if state == UPLOADING:
            fraction = 0.02
        elif state in (QUEUED, PROCESSING):
            expected = max(1.0, self.policy.expected_duration())
            fraction = 0.1 + 0.8 * (1.0 - math.exp(-elapsed / expected))
        elif state == DOWNLOADING:
            fraction = 0.92
        else:
            fraction = 1.0
        text = STATE_TEXT[state]
        if state in (QUEUED, PROCESSING):
            text = "%s (%d s)" % (text, int(elapsed))
        return Progress(state, elapsed, fraction, text)
