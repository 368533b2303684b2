"""When to ask the service about a task again.

The service advises polling about every 5 s. A fixed 5 s poller notices a finished job 2.5 s late on
average. We do better without asking more often overall, by asking when an answer is likely:

* We keep a model of how long jobs take: a broad prior (log-uniform between ``prior_min`` and
  ``prior_max`` seconds) mixed with a kernel density over the durations this client has watched
  (in log-time, so "20 s +- 15 %" and "2 s +- 15 %" look alike). The prior's weight shrinks as
  observations come in, but never vanishes, so an unusually slow job is still handled sensibly.
* For a job that has been running ``t`` seconds, the next query comes after
  ``d(t) = k * sqrt(S(t) / f(t))`` where ``f`` is the density and ``S`` the survival function
  (probability the job is still running). Minimising expected delay + price x expected queries over
  spacing gives exactly that shape: ask often where jobs are likely to finish, rarely where they are not.
* ``d`` is kept within [``min_interval``, ``max_interval``]: never more than one query a second per
  job, and never longer than ``max_interval`` between two questions.

Everything here is deterministic arithmetic on floats (no clock, no I/O), so the policy can be
benchmarked and unit-tested in isolation.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import json
import math
import threading

SQRT2 = math.sqrt(2.0)


def _norm_sf(z):
    return 0.5 * math.erfc(z / SQRT2)


def _norm_pdf(z):
    return math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


class PollPolicy(object):
    """Adaptive poll spacing. Thread-safe: one policy may serve many concurrent jobs."""

    def __init__(self, k=0.5, min_interval=1.0, max_interval=15.0, first_poll=1.0,
                 prior_min=1.0, prior_max=300.0, prior_weight=0.25, memory=64,
                 first_quantile=0.03):
        self.k = k
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.first_poll = first_poll
        self.prior_min = prior_min
        self.prior_max = prior_max
        self.prior_weight = prior_weight
        self.memory = memory
        self.first_quantile = first_quantile
        self._lock = threading.Lock()
        self._logs = []      # log durations watched, most recent last
        self._widths = []    # per-observation uncertainty, in log-time
        self._bandwidth = 0.3

    # -- learning --------------------------------------------------------------------------

    def observe(self, duration, uncertainty=0.0):
        """Record how long a job took (submit to done). ``uncertainty``: half the gap between the
        last "still running" and the "done" answer - we only know the job ended in that gap."""
        if not duration or duration <= 0:
            return
        with self._lock:
            self._logs.append(math.log(duration))
            # Each observation is blurred by at least its own uncertainty (in log-time), so a
            # learned model never turns spiky at the poll grid of the jobs it learned from.
            self._widths.append(min(0.5, max(0.0, float(uncertainty)) / duration))
            del self._logs[:-self.memory]
            del self._widths[:-self.memory]
            n = len(self._logs)
            mean = sum(self._logs) / n
            sd = math.sqrt(sum((x - mean) ** 2 for x in self._logs) / n) if n > 1 else 0.3
            # Silverman's rule, kept within sensible bounds for log-durations.
            self._bandwidth = min(0.5, max(0.04, 1.06 * sd * n ** -0.2))

    @property
    def observations(self):
        with self._lock:
            return len(self._logs)

    def to_json(self):
        with self._lock:
            return json.dumps({"durations": [[round(math.exp(x), 3), round(w * math.exp(x), 3)]
                                             for x, w in zip(self._logs, self._widths)]})

    def load_json(self, text):
        try:
            durations = json.loads(text).get("durations", [])
        except (ValueError, AttributeError):
            return
        for item in durations if isinstance(durations, list) else []:
            pair = item if isinstance(item, list) and len(item) == 2 else [item, 0.0]
            if all(isinstance(v, (int, float)) for v in pair) and pair[0] > 0:
                self.observe(float(pair[0]), float(pair[1]))

    # -- the model ---------------------------------------------------------------------------

    def _model(self, t):
        """(survival, density) of the job duration at ``t`` seconds."""
        with self._lock:
            logs, h = list(self._logs), self._bandwidth
            widths = [max(h, w) for w in self._widths]
        t = max(t, 1e-3)
        lt = math.log(t)
        lo, hi = math.log(self.prior_min), math.log(self.prior_max)
        if lt <= lo:
            s_prior, f_prior = 1.0, 0.0
        elif lt >= hi:
            s_prior, f_prior = 0.0, 0.0
        else:
            s_prior, f_prior = (hi - lt) / (hi - lo), 1.0 / ((hi - lo) * t)
        n = len(logs)
        if not n:
            return s_prior, f_prior
        w = self.prior_weight / (self.prior_weight + n)
        s_obs = sum(_norm_sf((lt - x) / w) for x, w in zip(logs, widths)) / n
        f_obs = sum(_norm_pdf((lt - x) / w) / w for x, w in zip(logs, widths)) / (n * t)
        return w * s_prior + (1 - w) * s_obs, w * f_prior + (1 - w) * f_obs

    def interval(self, elapsed):
        """Seconds to wait before the next query, for a job ``elapsed`` seconds old."""
        survival, density = self._model(elapsed)
        if density <= 0.0:
            gap = self.max_interval
        else:
            gap = self.k * math.sqrt(max(survival, 0.0) / density)
        return min(self.max_interval, max(self.min_interval, gap))

    def first_delay(self):
        """Seconds from submit to the first query: the time by which a small share
        (``first_quantile``) of jobs has finished, and at least ``first_poll``."""
        t, step = self.first_poll, self.min_interval / 4.0
        while t < self.prior_max:
            survival, _ = self._model(t)
            if 1.0 - survival >= self.first_quantile:
                break
            t += step
        return t

    def expected_duration(self):
        """A rough median job duration (for progress bars), in seconds."""
        with self._lock:
            logs = sorted(self._logs)
        if not logs:
            return 15.0
        return math.exp(logs[len(logs) // 2])


class FixedPolicy(object):
    """Poll every ``interval`` seconds (what the vendor SDKs do, 5 s); the benchmark's baseline."""

    def __init__(self, interval=5.0):
        self.fixed = interval

    def observe(self, duration, uncertainty=0.0):
        pass

    def interval(self, elapsed):
        return self.fixed

    def first_delay(self):
        return self.fixed

    def expected_duration(self):
        return 15.0
