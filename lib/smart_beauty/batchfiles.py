"""Which files a batch takes and where their outputs go: one rule for ``smart-beauty retouch`` and the
GIMP batch procedures.

Inputs (:func:`expand_inputs`): each spec is a file, a folder or a glob pattern; a spec that names
no existing path may list several of them separated by ``os.pathsep``. A folder gives its image
files, sorted, not recursive; a pattern gives the image files it matches, sorted. Both leave out
dot-files and our own outputs (``NAME.beauty.EXT``, any format). A file named on its own is taken as
given, whatever its extension or whether it exists (the batch reports the one it cannot read).
The same file reached twice (also through a link or another spelling) is taken once, at its first
place. Image files are :data:`IMAGE_EXTENSIONS`; GIMP also opens its own ``.xcf``
(:data:`GIMP_EXTENSIONS`).

Outputs (:func:`output_path`): ``NAME.beauty.EXT`` in the output folder, else beside the input.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import glob
import os

from .compat import text_type

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
GIMP_EXTENSIONS = IMAGE_EXTENSIONS + (".xcf",)
OUTPUT_MARK = ".beauty"
OUTPUT_EXTENSION = ".png"


def is_output(name):
    """True for a name our batches write (``NAME.beauty.EXT``)."""
    return os.path.splitext(os.path.basename(name).lower())[0].endswith(OUTPUT_MARK)


def is_scanned_input(path, extensions=IMAGE_EXTENSIONS):
    """Whether a folder scan or a pattern takes ``path``: an image file, not hidden, not our output."""
    name = os.path.basename(path)
    return (name.lower().endswith(tuple(extensions)) and not name.startswith(".") and not is_output(name)
            and os.path.isfile(path))


def _parts(spec):
    spec = text_type(spec or "").strip()
    if not spec:
        return []
    if os.path.lexists(os.path.expanduser(spec)) or os.pathsep not in spec:
        return [spec]
    return [p.strip() for p in spec.split(os.pathsep) if p.strip()]


def _expand_one(part, extensions):
    path = os.path.expanduser(part)
    if os.path.isdir(path):
        return sorted(p for p in (os.path.join(path, n) for n in os.listdir(path))
                      if is_scanned_input(p, extensions))
    if not os.path.lexists(path) and glob.has_magic(path):
        return sorted(p for p in glob.glob(path) if is_scanned_input(p, extensions))
    return [path]


def expand_inputs(specs, extensions=IMAGE_EXTENSIONS):
    """The files named by ``specs`` (one spec or a list of them), in order, each once (by real path)."""
    if isinstance(specs, (list, tuple)):
        specs = list(specs)
    else:
        specs = [specs]
    seen, out = set(), []
    for spec in specs:
        for part in _parts(spec):
            for path in _expand_one(part, extensions):
                key = os.path.normcase(os.path.realpath(path))
                if key not in seen:
                    seen.add(key)
                    out.append(path)
    return out


def output_path(src, output_dir=None, extension=OUTPUT_EXTENSION):
    """Where the result of ``src`` goes: ``NAME.beauty`` + ``extension`` in ``output_dir`` (default:
    the input's own folder)."""
    stem = os.path.splitext(os.path.basename(src))[0]
    return os.path.join(output_dir or os.path.dirname(os.path.abspath(src)), stem + OUTPUT_MARK + extension)
