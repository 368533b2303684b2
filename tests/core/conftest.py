# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pngutil  # noqa: E402


@pytest.fixture
def portrait(tmpdir):
    """A small RGB PNG with enough variation that the test engine sees "a face"."""
    return pngutil.write_png(str(tmpdir.join("face.png")))


@pytest.fixture
def workdir(tmpdir):
    """A folder for results; tests assert it is empty afterwards (no temp file left)."""
    path = tmpdir.mkdir("work")
    return str(path)
