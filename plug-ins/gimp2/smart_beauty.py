#!/usr/bin/env python2
# -*- coding: utf-8 -*-
"""Smart Beauty for GIMP 2.10 (gimpfu, Python 2.7): Filters > Enhance > Smart Beauty...

The file GIMP runs. It puts the plug-in's ``lib/`` and ``vendor/`` (in the repository: ``../../lib``)
first on ``sys.path``, then registers the procedures of ``smart_beauty_gimp2`` (beside it: the host
class and the procedures) and hands over to gimpfu.
"""
from __future__ import absolute_import, division, print_function

import os
import sys

if __name__ == "smart_beauty":
    # This file was found by "import smart_beauty" (the library is missing from lib/): it is not the
    # library, and must not register anything inside another run.
    raise ImportError("No module named smart_beauty")


def _setup_path():
    here = os.path.dirname(os.path.abspath(__file__))
    # This file's folder is sys.path[0] when GIMP runs it; without lib/, "import smart_beauty" would
    # find this very file (smart_beauty.py) and run the plug-in a second time inside itself.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    candidates = [os.path.join(here, "lib"), os.path.join(here, "vendor"),
                  os.path.normpath(os.path.join(here, "..", "..", "lib"))]
    for path in reversed([p for p in candidates if os.path.isdir(p)]):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    sys.path.append(here)   # last: only for smart_beauty_gimp2, which sits beside this file


_setup_path()

import gimpfu  # noqa: E402
import smart_beauty_gimp2  # noqa: E402

smart_beauty_gimp2.register_procedures()
gimpfu.main()
