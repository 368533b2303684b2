"""The only home of Python 2/3 differences in the core package.

GIMP 2.10 loads this package under its bundled Python 2.7; GIMP 3, the CLI and the tests run it on
Python 3.8+. Everything else in ``smart_beauty`` imports version-specific names from here.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import sys

PY2 = sys.version_info[0] == 2
#: a module may give names on first use through a module-level ``__getattr__`` (PEP 562, Python 3.7+)
LAZY_NAMES = sys.version_info >= (3, 7)

if PY2:  # pragma: no cover - exercised by the real Python 2.7 tier
    text_type = unicode  # noqa: F821
    string_types = (str, unicode)  # noqa: F821
    from urlparse import urlsplit, urlunsplit  # noqa: F401  # novermin
    from urllib import quote  # noqa: F401  # novermin
    import Queue as queue  # noqa: F401  # novermin

    def monotonic():
        # Python 2.7 has no monotonic clock in the standard library; time.time() is the
        # best available and only matters if the wall clock jumps during a job.
        import time
        return time.time()

    def replace_file(src, dst):
        import os
        if os.name == "nt" and os.path.exists(dst):
            os.remove(dst)
        os.rename(src, dst)
else:
    text_type = str
    string_types = (str,)
    from urllib.parse import urlsplit, urlunsplit  # noqa: F401  # novermin
    from urllib.parse import quote  # noqa: F401  # novermin
    import queue  # noqa: F401  # novermin
    from time import monotonic  # noqa: F401  # novermin

    def replace_file(src, dst):
        import os
        os.replace(src, dst)  # novermin


def new_session_kwargs():
    """``subprocess.Popen`` keyword arguments (POSIX) that start the child in a new session, so it
    outlives this process and its terminal."""
    if PY2:  # pragma: no cover - exercised by the real Python 2.7 tier
        import os
        return {"preexec_fn": os.setsid}
    return {"start_new_session": True}  # novermin


def text_str(cls):
    """Class decorator: ``cls.__str__`` returns text; on Python 2 it becomes ``__unicode__`` and
    ``__str__`` returns that text as UTF-8 bytes (Python 2's ``str``)."""
    if PY2:  # pragma: no cover - exercised by the real Python 2.7 tier
        cls.__unicode__ = cls.__str__
        cls.__str__ = lambda self: self.__unicode__().encode("utf-8")
    return cls


def to_text(value, encoding="utf-8"):
    """Return ``value`` as text, decoding bytes leniently (for messages from servers)."""
    if isinstance(value, text_type):
        return value
    if isinstance(value, bytes):
        return value.decode(encoding, "replace")
    return text_type(value)
