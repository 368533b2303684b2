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
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading

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
