"""Working folders: a private temp folder per plug-in run or batch, and the sweep of the ones a killed
run left.

GIMP ends a plug-in at once when its user cancels the progress bar, and a command can be killed
(``kill -9``, a crash), so no ``finally`` of that run removes its folder; the next run does
(:func:`sweep_stale_workdirs`).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno
import os
import shutil
import tempfile

WORKDIR_PREFIX = "smart-beauty-gimp-"
#: a batch's own folder when its host gave none (the command's: ``smart_beauty.batch.Batch.run``)
BATCH_PREFIX = "smart-beauty-batch-"
#: the results of the command's in-process engine (``smart_beauty_cli.inprocess``)
ENGINE_PREFIX = "smart-beauty-engine-"
PREFIXES = (WORKDIR_PREFIX, BATCH_PREFIX, ENGINE_PREFIX)
STALE_WORKDIR_SECONDS = 3600.0


def new_workdir(prefix=WORKDIR_PREFIX):
    """A private temp folder for one plug-in run (or, with :data:`BATCH_PREFIX`, one batch; with
    :data:`ENGINE_PREFIX`, the command's in-process engine), named after
    this process (``smart-beauty-gimp-PID-*``) so that a later run can tell when its owner is gone.
    Stale folders are swept first."""
    sweep_stale_workdirs()
    return tempfile.mkdtemp(prefix="%s%d-" % (prefix, os.getpid()))


def process_gone(pid):
    """True when ``pid`` (digits) names no running process. Only asked on POSIX: on Windows os.kill
    would end the process, so there the answer is always False (callers fall back to an age rule)."""
    pid = "%s" % pid
    if os.name != "posix" or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except OSError as e:
        return e.errno == errno.ESRCH
    return False


def _owner_gone(name, prefix):
    """True when the folder's name carries a process id and no such process exists (see process_gone)."""
    return process_gone(name[len(prefix):].split("-", 1)[0])


def sweep_stale_workdirs(directory=None, max_age=STALE_WORKDIR_SECONDS, now=None):
    """Remove this user's work folders whose process has ended, or older than ``max_age`` seconds.

    When the user cancels GIMP's progress bar, GIMP ends the plug-in process at once (and a killed
    command ends the same way): no ``finally`` runs, so that run's temp folder stays behind. The next
    run (a plug-in's, or a batch's) removes it: at once when the folder's
    process id is no longer running (POSIX), else once it is older than any live run's could be (one
    job is limited to a few minutes; a reused process id only delays it). Returns the folders removed.
    """
    import time

    directory = directory or tempfile.gettempdir()
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        prefix = next((p for p in PREFIXES if name.startswith(p)), None)
        if prefix is None or not os.path.isdir(path) or os.path.islink(path):
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            continue
        if _owner_gone(name, prefix) or now - st.st_mtime > max_age:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
