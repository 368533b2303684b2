# -*- coding: utf-8 -*-
"""Shared fixtures (single source: Python 2.7 + 3; no f-strings or annotations here).

``ailab``: a local AILab server (see ``tests/ailab_fixture.py``), one process per session, reset
before each test. ``ailab_inproc``: a fresh in-process ``LocalAilab`` (Python 3 only).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import os
import sys

import pytest

import ailab_fixture

if ailab_fixture.LIB not in sys.path:
    sys.path.insert(0, ailab_fixture.LIB)


@pytest.fixture(scope="session")
def ailab_session():
    handle, reason = ailab_fixture.open_ailab()
    if handle is None:
        pytest.skip(reason)
    try:
        yield handle
    finally:
        handle.close()


@pytest.fixture
def ailab(ailab_session):
    """Handle with ``.url``, ``.valid_key``, ``.inject(name, **params)``, ``.reset()``, ``.stats()``,
    ``.set_durations(...)``, ``.requests()``, ``.task(id)``, ``.configure(result_ttl=, credits=)``."""
    ailab_session.reset()
    yield ailab_session
    ailab_session.reset()


@pytest.fixture
def ailab_inproc():
    """A fresh ``LocalAilab`` in this process (Python 3 only), jobs of 0.2 s, stopped afterwards."""
    if sys.version_info[0] < 3:
        pytest.skip("the local AILab server is Python 3 only")
    from smart_beauty_server import LocalAilab

    srv = LocalAilab(port=0, job_seconds=float(os.environ.get("SB_TEST_JOB_SECONDS", "0.2")))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def local_service(monkeypatch):
    """``use(engine)``: the CLI's offline backend in this test runs ``engine`` (Python 3 only) in this
    process, as the command runs the real one (``backends.local_service``). Returns the service."""
    if sys.version_info[0] < 3:
        pytest.skip("the command's in-process engine is Python 3 only")
    from smart_beauty_cli import backends
    from smart_beauty_cli.inprocess import InProcessService

    def use(engine):
        monkeypatch.setattr(backends, "local_service", lambda env=None: InProcessService(engine))

    return use


@pytest.fixture
def clock():
    """A virtual clock (``tests/virtual_clock.py``): give it to clients and in-process servers, and
    their waits, pauses and deadlines take no wall time."""
    from virtual_clock import VirtualClock   # after lib/ is on sys.path (Python 2.7 runs from the checkout)

    return VirtualClock()
