"""Choosing where a retouch runs: the AILab cloud, or the offline engine behind the local server.

``auto`` = the cloud when an API key is configured, else the local engine. The local engine runs
behind the very server the GIMP plug-ins use (``smart-beauty serve --announce --idle-exit``, see
:mod:`smart_beauty.localserver`): a run reuses it while it is alive -- the engine is loaded already,
so this process needs neither OpenCV nor Werkzeug -- or starts it with this installation's own
Python, and it stays for :data:`~smart_beauty.localserver.IDLE_EXIT` seconds without requests.
It accepts only a key made for its run (no public test key, no ``fault:`` keys).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from smart_beauty import Settings, errors, localserver
from smart_beauty.settings import check_base_url

if TYPE_CHECKING:
    from smart_beauty.client import Client

BACKENDS = localserver.BACKENDS
IDLE_MINUTES = int(localserver.IDLE_EXIT // 60)
STARTED = ("the offline engine (started in the background; it exits after %d minutes without work, "
           "'smart-beauty serve --stop' ends it now)" % IDLE_MINUTES)
REUSED = "the offline engine (already running)"

StartLocal = Callable[[], localserver.LocalServer]


class Backend:
    """An open backend: ``client`` to talk to, ``description`` for messages; close() when done."""

    def __init__(self, name: str, client: Client, description: str, server: localserver.LocalServer | None = None):
        self.name, self.client, self.description, self.server = name, client, description, server

    def close(self) -> None:
        self.client.close()      # the local server is shared: it stays for the next run

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def local_engine():
    """The offline engine, or ConfigError with the install command when it is not installed."""
    from smart_beauty_engine import offline

    ok, reason = offline.available()
    if not ok:
        raise errors.ConfigError("The offline engine is not installed (%s); run '%s --with-engine' or set an "
                                 "AILab API key to use the cloud." % (reason, localserver.installer_command()))
    return offline.OfflineEngine()


def own_command(env: Mapping[str, str] | None = None) -> localserver.Command:
    """``smart-beauty serve`` of this very installation: this Python running the CLI module (no console
    script wrapper: the same on Windows), with this process's PYTHONPATH when it has one (a checkout run
    as ``PYTHONPATH=lib python3 -m smart_beauty_cli.cli``; the server's environment is otherwise cleaned
    of Python variables, for GIMP's sake)."""
    env = os.environ if env is None else env
    return localserver.Command(sys.executable, ["-m", localserver.CLI_MODULE], where="the running command's Python",
                               pythonpath=env.get("PYTHONPATH") or None)


def local_service(env: Mapping[str, str] | None = None,
                  spawned: Callable[[], None] | None = None) -> localserver.LocalServer:
    """The shared local server (:func:`smart_beauty.localserver.ensure`), started with this installation
    unless ``$SMART_BEAUTY_CLI`` names another command; ``spawned()`` as ``ensure`` calls it."""
    env = os.environ if env is None else env
    return localserver.ensure(env=env, command=None if env.get(localserver.ENV_CLI) else own_command(env),
                              spawned=spawned)


def open_backend(name: str = "auto", api_base: str | None = None, env: Mapping[str, str] | None = None,
                 clock=None, start_local: StartLocal | None = None) -> Backend:
    """Open the backend ``name`` (auto, cloud, local) through :func:`smart_beauty.localserver.open_client`.
    ``start_local()``: how the local server is had (default :func:`local_service`; tests give their own,
    ``launch`` the one it began starting before the imports). ``clock``: the time its client runs on."""
    env = os.environ if env is None else env
    settings = Settings.load(env)
    if api_base:
        settings.base_url = check_base_url(api_base)
    if localserver.resolve(name, settings) == "cloud":
        return Backend("cloud", localserver.open_client("cloud", settings, clock=clock), settings.base_url)
    had = []

    def start() -> localserver.LocalServer:
        had.append(start_local() if start_local else local_service(env))
        return had[-1]

    client = localserver.open_client("local", env=env, start_local=start, clock=clock)
    return Backend("local", client, REUSED if had[-1].reused else STARTED, had[-1])
