"""Puts the stand-ins (gimp, gimpfu, gimpenums, gimpshelf, gi) first on sys.path for tests that
use them, and gives each test a fresh GIMP session."""

import os
import sys

STUBS = os.path.dirname(os.path.abspath(__file__))
if STUBS not in sys.path:
    sys.path.insert(0, STUBS)

