"""Choosing where a retouch runs: the AILab cloud, or the offline engine.

``auto`` = the cloud when an API key is configured, else the offline engine. The offline engine runs
behind the local server the GIMP plug-ins share (:mod:`smart_beauty.localserver`) when one is running
-- its engine is loaded already, so this process needs neither OpenCV nor Werkzeug -- else in this very
process (:mod:`smart_beauty_cli.inprocess`): the command starts no server of its own, and leaves none
behind. A running server is used only when it answers with the key made for its run.
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
    from smart_beauty_cli.inprocess import InProcessService

BACKENDS = localserver.BACKENDS
IDLE_MINUTES = int(localserver.IDLE_EXIT // 60)
REUSED = "the offline engine (already running)"
IN_PROCESS = "the offline engine (in this process)"

StartLocal = Callable[[], "localserver.LocalServer | InProcessService"]


class Backend:
    """An open backend: ``client`` to talk to, ``description`` for messages; close() when done."""

    def __init__(self, name: str, client: Client | InProcessService, description: str,
                 server: localserver.LocalServer | None = None):
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


def engine(env: Mapping[str, str] | None = None):
    """The engine a local service runs (``$SMART_BEAUTY_ENGINE``: ``offline``, the default, or ``simple``,
    the tests' fast stand-in); ConfigError with the fix when the offline engine is not installed."""
    if localserver.engine_name(env) == "simple":
        from smart_beauty_server.simple import SimpleEngine

        return SimpleEngine()
    return local_engine()


def local_service(env: Mapping[str, str] | None = None) -> localserver.LocalServer | InProcessService:
    """The offline engine for a retouch: the running local server (:func:`smart_beauty.localserver.running`),
    else the engine in this process, which begins loading its networks at once."""
    env = os.environ if env is None else env
    server = localserver.running(env)
    if server is not None:
        return server
    from smart_beauty_cli.inprocess import InProcessService

    return InProcessService(engine(env))


def own_command(env: Mapping[str, str] | None = None) -> localserver.Command:
    """``smart-beauty serve`` of this very installation: this Python running the CLI module (no console
    script wrapper: the same on Windows), with this process's PYTHONPATH when it has one (a checkout run
    as ``PYTHONPATH=lib python3 -m smart_beauty_cli.cli``; the server's environment is otherwise cleaned
    of Python variables, for GIMP's sake)."""
    env = os.environ if env is None else env
    return localserver.Command(sys.executable, ["-m", localserver.CLI_MODULE], where="the running command's Python",
                               pythonpath=env.get("PYTHONPATH") or None)


def background_server(env: Mapping[str, str] | None = None) -> localserver.LocalServer:
    """``smart-beauty serve --background``: the shared local server (:func:`smart_beauty.localserver.ensure`),
    started with this installation unless ``$SMART_BEAUTY_CLI`` names another command."""
    env = os.environ if env is None else env
    return localserver.ensure(env=env, command=None if env.get(localserver.ENV_CLI) else own_command(env))


def open_backend(name: str = "auto", api_base: str | None = None, env: Mapping[str, str] | None = None,
                 clock=None, start_local: StartLocal | None = None) -> Backend:
    """Open the backend ``name`` (auto, cloud, local). ``start_local()``: how the offline engine is had,
    a running :class:`~smart_beauty.localserver.LocalServer` or an :class:`InProcessService` (default
    :func:`local_service`; tests give their own, ``launch`` the one it began finding before the imports).
    ``clock``: the time its client runs on."""
    env = os.environ if env is None else env
    settings = Settings.load(env)
    if api_base:
        settings.base_url = check_base_url(api_base)
    if localserver.resolve(name, settings) == "cloud":
        return Backend("cloud", localserver.open_client("cloud", settings, clock=clock), settings.base_url)
    service = start_local() if start_local else local_service(env)
    if not isinstance(service, localserver.LocalServer):
        if clock is not None:
            service.clock = clock
        return Backend("local", service, IN_PROCESS)
    client = localserver.open_client("local", env=env, start_local=lambda: service, clock=clock)
    return Backend("local", client, REUSED, service)
