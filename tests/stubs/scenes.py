# -*- coding: utf-8 -*-
"""Pixels and expectations shared by the adapter tests (single source: Python 2.7 + 3)."""
from __future__ import absolute_import, division, print_function

import numpy as np

import fakecore as core


# The local server's faults every adapter test runs (name, parameters); ids for pytest below.
ADAPTER_FAULTS = [
    ("error", dict(status=401, code="ERROR_API_KEY_INVALID")),
    ("no_credits", {}),
    ("rate_limit", dict(retry_after=1)),
    ("flow_restriction", {}),
    ("error", dict(status=500, endpoint="poll")),
    ("no_body", dict(status=502)),
    ("html", {}),
    ("malformed_json", {}),
    ("empty_body", {}),
    ("drop", {}),
    ("drop", dict(endpoint="submit")),
    ("task_failed", {}),
    ("stuck", {}),
    ("expired", {}),
    ("truncated", {}),
    ("not_image", {}),
    ("oversized", {}),
]
ADAPTER_FAULT_IDS = ["%s-%s" % (f, "-".join(sorted(p))) for f, p in ADAPTER_FAULTS]


def portrait(h, w, seed=1, channels=3):
    """A textured picture (the local server's SimpleEngine refuses flat images as 'no face')."""
    rs = np.random.RandomState(seed)
    return rs.randint(0, 256, size=(h, w, channels)).astype(np.uint8)


def simple_engine(rgb, level):
    """What the local server's SimpleEngine returns for ``rgb`` (lib/smart_beauty_server/simple.py)."""
    milli = int(round(float(level) * 1000))
    wide = rgb.astype(np.int32)
    return (wide + (((255 - wide) * milli + 2000) // 4000)).astype(np.uint8)


def expected_rgb(layer_model, level):
    """The service's answer for this layer: its RGB (gray/indexed through RGB, alpha dropped)."""
    return simple_engine(core.to_rgba(layer_model.pixels, layer_model.type, layer_model.image.colormap)[..., :3],
                         level)


def undo_balanced(image_model):
    return image_model.undo_depth == 0 and image_model.undo_starts == image_model.undo_ends


def face_on_white(h, w, box, seed=5):
    """White (what the SimpleEngine leaves exactly as it is) with a textured "face" in ``box`` (x0, y0,
    x1, y1): the retouch changes the box and nothing else."""
    rgb = np.full((h, w, 3), 255, np.uint8)
    x0, y0, x1, y1 = box
    rgb[y0:y1, x0:x1] = portrait(y1 - y0, x1 - x0, seed)[..., :3] // 2   # dark: every pixel changes visibly
    return rgb


def composite_without_mask(image_model, layer_model):
    """The image's composite as if ``layer_model`` had no layer mask (the plain result over the rest)."""
    mask = layer_model.mask
    layer_model.mask = None
    try:
        return image_model.composite()
    finally:
        layer_model.mask = mask
