"""Choosing where a retouch runs: the AILab cloud, or the offline engine.

``auto`` = the cloud when an API key is configured, else the offline engine, which the command runs in
its own process (:mod:`smart_beauty_cli.inprocess`): it starts no server and leaves nothing behind.
(The GIMP plug-ins, which cannot load the engine themselves, share a local server instead:
:mod:`smart_beauty.localserver`.)
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from smart_beauty import Settings, errors, localserver
from smart_beauty.settings import check_base_url

if TYPE_CHECKING:
    from smart_beauty.client import Client
    from smart_beauty_cli.inprocess import InProcessService

BACKENDS = localserver.BACKENDS
IN_PROCESS = "the offline engine (in this process)"

StartLocal = Callable[[], "InProcessService"]


class Backend:
    """An open backend: ``client`` to talk to, ``description`` for messages; close() when done."""

    def __init__(self, name: str, client: Client | InProcessService, description: str):
        self.name, self.client, self.description = name, client, description

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def engine(name: str) -> Callable[..., Any]:
    """The engine called ``name``, for the command's own process (``$SMART_BEAUTY_ENGINE``:
    :func:`local_service`) and for ``smart-beauty serve --engine``: ``simple``, the tests' fast stand-in,
    or the offline engine (``offline``, the default, and any other name); ConfigError with the install
    command when the offline engine is not installed."""
    if name == "simple":
        from smart_beauty_server.simple import SimpleEngine

        return SimpleEngine()
    from smart_beauty_engine import offline

    ok, reason = offline.available()
    if not ok:
        raise errors.ConfigError("The offline engine is not installed (%s); run '%s --with-engine' or set an "
                                 "AILab API key to use the cloud." % (reason, localserver.installer_command()))
    return offline.OfflineEngine()


def local_service(env: Mapping[str, str] | None = None) -> InProcessService:
    """The engine ``$SMART_BEAUTY_ENGINE`` names (:func:`engine`) in this process; the offline one begins
    loading its networks at once."""
    from smart_beauty_cli.inprocess import InProcessService

    return InProcessService(engine(localserver.engine_name(env)))


def open_backend(name: str = "auto", api_base: str | None = None, env: Mapping[str, str] | None = None,
                 clock=None, start_local: StartLocal | None = None) -> Backend:
    """Open the backend ``name`` (auto, cloud, local). ``start_local()``: how the offline engine is had
    (default :func:`local_service`; tests give their own, ``launch`` the one it began loading before the
    imports). ``clock``: the time its client runs on."""
    env = os.environ if env is None else env
    settings = Settings.load(env)
    if api_base:
        settings.base_url = check_base_url(api_base)
    if localserver.resolve(name, settings) == "cloud":
        return Backend("cloud", localserver.open_client("cloud", settings, clock=clock), settings.base_url)
    service = start_local() if start_local else local_service(env)
    if clock is not None:
        service.clock = clock
    return Backend("local", service, IN_PROCESS)
