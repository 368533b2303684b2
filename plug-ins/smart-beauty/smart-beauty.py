#!/usr/bin/env python3
"""Smart Beauty for GIMP 3: Filters > Enhance > Smart Beauty...

The file GIMP runs. It puts the plug-in's ``lib/`` and ``vendor/`` (in the repository: ``../../lib``)
first on ``sys.path`` and hands the procedures of ``smart_beauty_gimp3`` (beside it: the host class
and the procedures) to ``Gimp.main``.
"""
import os
import sys


def _setup_path():
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:   # smart_beauty_gimp3, beside this file (Python puts it first when GIMP runs us)
        sys.path.append(here)
    candidates = [os.path.join(here, "lib"), os.path.join(here, "vendor"),
                  os.path.normpath(os.path.join(here, "..", "..", "lib"))]
    for path in reversed([p for p in candidates if os.path.isdir(p)]):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)


_setup_path()

import smart_beauty_gimp3  # noqa: E402
from smart_beauty_gimp3 import Gimp  # noqa: E402


def _leave(status):
    """End the plug-in process as soon as libgimp is done with it. GIMP 3.2, quitting right after a
    batch (``--quit``), reports a plug-in process that has not ended yet as "Zombie plug-in: the
    process of plug-in 'smart-beauty.py' never exited." (4 of 7 runs on 3.2.6): Python's teardown of
    the modules we load (gi, requests, ssl...) takes tens of milliseconds after Gimp.main returns.
    Nothing is left to do by then (no atexit work, temp folders are removed by the procedures)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status if isinstance(status, int) else 0)


_status_code = Gimp.main(smart_beauty_gimp3.SmartBeauty.__gtype__, sys.argv)
if __name__ == "__main__":   # GIMP runs this file as a program; the stand-in tests import it
    _leave(_status_code)
