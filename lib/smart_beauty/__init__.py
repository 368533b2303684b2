"""Smart Beauty core: the AILab protocol, client, job workflow and settings.

This package is loaded by GIMP 2.10 (Python 2.7) as well as by GIMP 3, the CLI and the tests
(Python 3.8+): it is single-source and uses only the standard library and ``requests``.
Python-3-only code lives beside it, one package per role: ``smart_beauty_cli`` (the command and its image
files), ``smart_beauty_server`` (the local AILab server, ``smart-beauty serve``), ``smart_beauty_engine``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from . import errors
from .client import Client, TaskState, Waiter
from .errors import SmartBeautyError
from .jobs import Progress, RetouchJob
from .polling import FixedPolicy, PollPolicy
from .settings import Settings

__version__ = "0.1.0"

__all__ = ["Client", "FixedPolicy", "PollPolicy", "Progress", "RetouchJob", "Settings", "SmartBeautyError",
           "TaskState", "Waiter", "errors"]
