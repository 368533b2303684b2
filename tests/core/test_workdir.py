# -*- coding: utf-8 -*-
"""Working folders: one per run, named after its process; the ones a killed run left are swept.
Single source: Python 2.7 + 3."""
from __future__ import absolute_import, division, print_function

import os

import pytest

from smart_beauty import workdir


def test_stale_work_folders_of_killed_runs_are_swept(tmpdir):
    """GIMP ends a plug-in whose progress bar is cancelled: its temp folder stays; the next run
    removes it (only this user's, only old ones, only ours)."""
    import time
    root = str(tmpdir)
    old = os.path.join(root, workdir.WORKDIR_PREFIX + "old")
    fresh = os.path.join(root, workdir.WORKDIR_PREFIX + "fresh")
    other = os.path.join(root, "someone-else-old")
    for d in (old, fresh, other):
        os.makedirs(d)
        with open(os.path.join(d, "layer.png"), "wb") as f:
            f.write(b"x")
    past = time.time() - 2 * workdir.STALE_WORKDIR_SECONDS
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert workdir.sweep_stale_workdirs(root) == [old]
    assert not os.path.exists(old) and os.path.exists(fresh) and os.path.exists(other)


@pytest.mark.skipif(os.name != "posix", reason="process ids are only checked on POSIX")
def test_work_folders_of_ended_processes_are_swept_at_once(tmpdir):
    """A folder named after a process that is gone goes on the next run, however fresh; one of a running
    process (this one, another) stays until it is old."""
    import subprocess
    import sys
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        root = str(tmpdir)
        dead = os.path.join(root, "%s%d-abc" % (workdir.WORKDIR_PREFIX, ended.pid))
        live = os.path.join(root, "%s%d-abc" % (workdir.WORKDIR_PREFIX, alive.pid))
        mine = os.path.join(root, "%s%d-abc" % (workdir.WORKDIR_PREFIX, os.getpid()))
        for d in (dead, live, mine):
            os.makedirs(d)
        assert workdir.sweep_stale_workdirs(root) == [dead]
        assert os.path.exists(live) and os.path.exists(mine)
    finally:
        alive.kill()
        alive.wait()


def test_new_workdir_carries_the_process_id(tmpdir, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    path = workdir.new_workdir()
    assert os.path.basename(path).startswith("%s%d-" % (workdir.WORKDIR_PREFIX, os.getpid()))
    assert os.path.dirname(path) == str(tmpdir)
