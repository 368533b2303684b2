"""The Python-2.7-safe code under a REAL CPython 2.7.18 (pytest 4.6.11, requests 2.27.1, numpy 1.16.6,
Pillow 6.2.2 in the bullseye chroot): the library's unit tests (tests/core) and the gimpfu adapter's
stub-based tests (tests/gimp2). vermin stays the fast static check; this catches what it misses.

The checkout is mounted read-only; the local AILab server runs on the host (Python 3) and is reached
over the shared loopback through SB_TEST_SERVER_URL / SB_TEST_SERVER_TOKEN (tests/ailab_fixture.py).
"""

import re
import time
from pathlib import Path

import pytest
from hosts import record_time

REPO = Path(__file__).resolve().parents[2]
SUITES = ["tests/core", "tests/gimp2"]


@pytest.mark.parametrize("suite", SUITES)
def test_suite_under_real_python27(py27_host, ailab, suite):
    if not (REPO / suite).is_dir():
        pytest.skip("%s is not in this checkout" % suite)
    t0 = time.monotonic()
    res = py27_host.pytest([suite], "-q", "-rs", env={"SB_TEST_SERVER_URL": ailab.url,
                                                      "SB_TEST_SERVER_TOKEN": ailab.control_token},
                           timeout=900)
    record_time("py27: python2.7 -m pytest %s" % suite, time.monotonic() - t0)
    tail = res.output[-6000:]
    assert res.returncode == 0, "python2.7 -m pytest %s failed (rc=%d):\n%s" % (suite, res.returncode, tail)
    m = re.search(r"(\d+) passed", res.stdout)
    assert m and int(m.group(1)) > 0, tail
    # the point of this tier: the tests really ran on 2.7, not skipped wholesale
    skipped = re.search(r"(\d+) skipped", res.stdout)
    assert not skipped or int(skipped.group(1)) < int(m.group(1)), tail
