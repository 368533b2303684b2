"""Where the core reads the time and waits: one small interface, handed to whatever waits.

Every wait in a job (poll spacing, retry pauses, the shared 429/503 pause, the deadline) goes
through a clock given to :class:`~smart_beauty.client.Client` (and from it to its jobs and batches),
never through ``time`` directly. The real clock is :data:`SYSTEM`; tests give a virtual one that
advances when it is waited on, so a five-minute deadline is reached in a millisecond.

A clock has two methods:

``now()``
    seconds on a clock that never goes backwards (only differences mean anything);
``wait(event, seconds)``
    wait up to ``seconds`` or until the ``threading.Event`` is set, whichever comes first;
    returns whether the event is set.

A job's waits share a :class:`Waiter` (its deadline and cancel flag) made on its client's clock.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading

from . import errors
from .compat import monotonic


class Clock(object):
    """Real time: ``monotonic()``, and ``Event.wait`` for waits."""

    def now(self):
        return monotonic()

    def wait(self, event, seconds):
        if seconds > 0:
            return event.wait(seconds)
        return event.is_set()

    def sleep(self, seconds):
        """Wait ``seconds`` without an event to wake up for."""
        self.wait(threading.Event(), seconds)


SYSTEM = Clock()


class Waiter(object):
    """Cancel flag + overall deadline, shared by every wait and every HTTP timeout of one job.
    ``clock``: where it reads the time and waits (:mod:`smart_beauty.clock`; the real one by default)."""

    def __init__(self, deadline_seconds=None, cancel_event=None, clock=None):
        self.clock = clock or SYSTEM
        self.started = self.clock.now()
        self.deadline = None if deadline_seconds is None else self.started + float(deadline_seconds)
        self.deadline_seconds = deadline_seconds
        self.cancel_event = cancel_event or threading.Event()
        self.cut = (False, False)   # (connect, read) of the last timeout() pair were cut at the deadline

    def elapsed(self):
        return self.clock.now() - self.started

    def remaining(self):
        return None if self.deadline is None else self.deadline - self.clock.now()

    def check(self):
        if self.cancel_event.is_set():
            raise errors.CancelledError()
        remaining = self.remaining()
        if remaining is not None and remaining <= 0:
            raise self.out_of_time()

    def out_of_time(self):
        return errors.JobTimeoutError(
            "The Smart Beauty service did not finish within %g seconds; try again later or allow it "
            "more time." % round(self.deadline_seconds, 1))

    def sleep(self, seconds):
        """Sleep up to ``seconds``, waking at once on cancel; raises at the deadline."""
        self.check()
        remaining = self.remaining()
        if remaining is not None:
            seconds = min(seconds, remaining)
        if seconds > 0:
            self.clock.wait(self.cancel_event, seconds)
        self.check()

    def fits(self, seconds):
        """Whether a pause of ``seconds`` ends before the deadline (else retrying is pointless)."""
        remaining = self.remaining()
        return remaining is None or seconds < remaining

    def timeout(self, connect, read):
        """A (connect, read) timeout pair that never outlives the deadline. :attr:`cut` tells which of
        the two the deadline shortened: a time-out of that kind then means the job is out of time."""
        remaining = self.remaining()
        if remaining is None:
            self.cut = (False, False)
            return (connect, read)
        remaining = max(0.05, remaining)
        self.cut = (remaining < connect, remaining < read)
        return (min(connect, remaining), min(read, remaining))
