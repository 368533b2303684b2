"""Smart Beauty core: the AILab protocol, client, job workflow and settings.

This package is loaded by GIMP 2.10 (Python 2.7) as well as by GIMP 3, the CLI and the tests
(Python 3.8+): it is single-source and uses only the standard library and ``requests``.
Python-3-only code lives beside it, one package per role: ``smart_beauty_cli`` (the command and its image
files), ``smart_beauty_server`` (the local AILab server, ``smart-beauty serve``), ``smart_beauty_engine``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from . import errors
from .compat import LAZY_NAMES

TYPE_CHECKING = False  # mypy takes it as True: it reads the imports below, not __getattr__
__version__ = "0.1.0"

# Where each name below comes from. On Python 3 a name is imported when it is first used (PEP 562):
# ``Client`` needs ``requests`` (0.1 s to import), which neither the local server process nor a command
# running the offline engine in its own process needs (issue #12, whole-process speed).
_NAMES = {"Client": "client", "TaskState": "protocol", "Waiter": "clock", "SmartBeautyError": "errors",
          "Progress": "jobs", "RetouchJob": "jobs", "FixedPolicy": "polling", "PollPolicy": "polling",
          "Settings": "settings"}

if TYPE_CHECKING or not LAZY_NAMES:  # GIMP 2.10's Python 2.7: everything at once, as before
    from .client import Client
    from .clock import Waiter
    from .errors import SmartBeautyError
    from .jobs import Progress, RetouchJob
    from .polling import FixedPolicy, PollPolicy
    from .protocol import TaskState
    from .settings import Settings
else:
    def __getattr__(name):
        if name not in _NAMES:
            raise AttributeError("module %r has no attribute %r" % (__name__, name))
        import importlib

        value = getattr(importlib.import_module("." + _NAMES[name], __name__), name)
        globals()[name] = value
        return value

__all__ = ["Client", "FixedPolicy", "PollPolicy", "Progress", "RetouchJob", "Settings", "SmartBeautyError",
           "TaskState", "Waiter", "errors"]
