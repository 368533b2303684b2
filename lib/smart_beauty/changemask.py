"""Where the retouch worked, as a mask: the one rule, for the GIMP layer mask and the CLI's ``--mask``.

Every backend returns only an image (the AILab service has no mask to give), so the mask is derived
from the result itself: a pixel is *changed* when one of its channels moved by more than
:data:`CHANGED_ABOVE` levels (of 255) between the source and the result. The changed pixels are fully
opaque (255); around them the mask is grown by :func:`radii`'s ``grow`` and feathered by its
``feather``, so the user gets a soft edge to paint with; everything farther away is 0.

The invariant the rule is built for: the source with the result over it through the mask equals the
result to within one level everywhere -- inside the changed pixels the mask is 255 (the result shows
exactly), and outside them the result differs from the source by at most :data:`CHANGED_ABOVE` = 1
(a rounding step), whatever the mask is there. Untouched areas (farther than ``grow + 2 * feather``
from any change) are 0.

The hosts carry it out with their own operations: GIMP with its selection tools
(:func:`smart_beauty.layerjob.add_change_mask`), the CLI with numpy/Pillow
(``smart_beauty_cli.imaging.change_mask``); both take the numbers from here.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import os

#: a channel that moved by more than this many levels (of 255) marks the pixel as changed; a move of one
#: level is a rounding step (colour conversion, 16-bit to 8-bit), not a retouch
CHANGED_ABOVE = 1
#: the grow radius as a share of the image's shorter side (1 %: ~10 px on a 1000 px portrait)
GROW_SHARE = 0.01
#: the feather radius, in grow radii
FEATHER_GROWS = 2
#: the suffix of the mask file the CLI writes beside each output: ``portrait.png`` -> ``portrait-mask.png``
MASK_SUFFIX = "-mask"


def radii(width, height):
    """``(grow, feather)`` in pixels for an image of ``width`` x ``height``: grow by ``grow`` pixels
    around the changed pixels, then feather that by ``feather`` pixels (at least 1 and 2)."""
    grow = max(1, int(round(min(width, height) * GROW_SHARE)))
    return grow, FEATHER_GROWS * grow


def threshold():
    """The threshold, as a fraction of full scale, between "unchanged" and "changed" on a channel
    difference of stored 8-bit values (halfway between :data:`CHANGED_ABOVE` and the next level)."""
    return (CHANGED_ABOVE + 0.5) / 255.0


def mask_path(output):
    """The mask file for ``output`` (the CLI's ``--mask``): beside it, ``NAME-mask.png``."""
    stem = os.path.splitext(output)[0]
    return stem + MASK_SUFFIX + ".png"
