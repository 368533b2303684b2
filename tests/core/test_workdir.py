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
@pytest.mark.parametrize("prefix", [workdir.WORKDIR_PREFIX, workdir.BATCH_PREFIX, workdir.ENGINE_PREFIX])
def test_work_folders_of_ended_processes_are_swept_at_once(tmpdir, prefix):
    """A folder named after a process that is gone goes on the next run, however fresh; one of a running
    process (this one, another) stays until it is old. The same for a plug-in run's folder, for a
    batch's own and for the command's in-process engine's (the command's, when it was killed)."""
    import subprocess
    import sys
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        root = str(tmpdir)
        dead = os.path.join(root, "%s%d-abc" % (prefix, ended.pid))
        live = os.path.join(root, "%s%d-abc" % (prefix, alive.pid))
        mine = os.path.join(root, "%s%d-abc" % (prefix, os.getpid()))
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


def test_a_batch_without_a_folder_of_its_own_makes_one_named_after_this_process(tmpdir, monkeypatch):
    """The command's batches (no host folder given): swept like a plug-in run's when the command is killed."""
    import tempfile

    from smart_beauty import batch

    monkeypatch.setattr(tempfile, "tempdir", str(tmpdir))
    seen = []
    real = workdir.new_workdir

    def recording(prefix=workdir.WORKDIR_PREFIX):
        seen.append(real(prefix))
        return seen[-1]

    monkeypatch.setattr(batch, "new_workdir", recording)
    run = batch.Batch(None, [], prepare=None, finish=None)
    assert run.run_all() == []
    assert len(seen) == 1 and os.path.basename(seen[0]).startswith("%s%d-" % (workdir.BATCH_PREFIX, os.getpid()))
    assert not os.path.exists(seen[0])      # and removed when the batch ends
