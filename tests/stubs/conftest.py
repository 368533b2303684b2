# -*- coding: utf-8 -*-
"""Puts the stand-ins (gimp, gimpfu, gimpenums, gimpshelf, gi) first on sys.path for tests that
use them, and gives each test a fresh GIMP session."""
from __future__ import absolute_import

import os
import sys

STUBS = os.path.dirname(os.path.abspath(__file__))
if STUBS not in sys.path:
    sys.path.insert(0, STUBS)

collect_ignore = []
if sys.version_info[0] < 3:
    collect_ignore += ["test_gimp3_stubs.py", "test_pdb_signatures.py"]
