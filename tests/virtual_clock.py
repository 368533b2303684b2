# -*- coding: utf-8 -*-
"""A virtual clock for tests (single source: Python 2.7 + 3): time moves only when something waits.

Give the same clock to a :class:`smart_beauty.Client` (its jobs and batches take it from there) and,
in process, to the local AILab server (``LocalAilab(clock=...)``): a job's 1.2 s first poll, a 30 s
retry pause or a five-minute deadline then pass at once, and the server sees the job's time pass
with the client's waits. A wait returns at once (True) when its event is set, as a real one would.

``waits`` records every wait asked for (seconds), so a test can check a pause was honoured without
reading a wall clock.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading
import time

from smart_beauty.clock import Clock


class VirtualClock(Clock):
    def __init__(self, start=1000.0):
        self._now = float(start)
        self._lock = threading.Lock()
        self.waits = []

    def now(self):
        with self._lock:
            return self._now

    def advance(self, seconds):
        with self._lock:
            self._now += float(seconds)

    def wait(self, event, seconds):
        if event.is_set() or seconds <= 0:
            return event.is_set()
        with self._lock:
            self.waits.append(seconds)
            target = self._now + seconds
        # Give other threads (jobs of a batch, the server's engine, a server in another process) a
        # moment, a hundredth of the wait and at most 10 ms: waits that start together then end
        # together, and an engine that really takes a few milliseconds has them.
        time.sleep(min(0.01, seconds * 0.01))
        with self._lock:
            self._now = max(self._now, target)
        return event.is_set()
