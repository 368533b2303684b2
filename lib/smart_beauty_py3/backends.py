"""Choosing where a retouch runs: the AILab cloud, or the offline engine behind a local server.

``auto`` = the cloud when an API key is configured, else the local engine. The local engine runs
behind :class:`~smart_beauty_py3.server.LocalAilab`, so both backends use the very same client code.
"""
import os
import secrets

from smart_beauty import Settings, errors, localserver
from smart_beauty.settings import check_base_url

BACKENDS = localserver.BACKENDS


class Backend:
    """An open backend: ``client`` to talk to, ``description`` for messages; close() when done."""

    def __init__(self, name, client, description, server=None):
        self.name, self.client, self.description, self._server = name, client, description, server

    def close(self):
        self.client.close()
        if self._server is not None:
            self._server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def local_engine():
    """The offline engine, or ConfigError with the install command when it is not installed."""
    from smart_beauty_engine import offline

    ok, reason = offline.available()
    if not ok:
        raise errors.ConfigError("The offline engine is not installed (%s); run '%s --with-engine' or set an "
                                 "AILab API key to use the cloud." % (reason, localserver.installer_command()))
    return offline.shared_engine()


def open_backend(name="auto", api_base=None, env=None, engine=None, clock=None):
    """Open the backend ``name`` (auto, cloud, local) through :func:`smart_beauty.localserver.open_client`.
    The local one is a :class:`LocalAilab` in this process that accepts only a key made for this run
    (no public test key, no ``fault:`` keys), as ``smart-beauty serve --announce`` does for the plug-ins.
    ``clock``: the time its client (and the local server's jobs) run on (``smart_beauty.clock``)."""
    env = os.environ if env is None else env
    settings = Settings.load(env)
    if api_base:
        settings.base_url = check_base_url(api_base)
    if localserver.resolve(name, settings) == "cloud":
        return Backend("cloud", localserver.open_client("cloud", settings, clock=clock), settings.base_url)
    from smart_beauty_py3.server import LocalAilab

    key = secrets.token_urlsafe(24)
    server = LocalAilab(port=0, engine=engine or local_engine(), job_seconds=0.0, api_keys=[key],
                        allow_fault_keys=False, clock=clock).start()
    try:
        client = localserver.open_client("local", start_local=lambda: localserver.LocalServer(server.url, key),
                                         clock=clock)
    except Exception:
        server.stop()
        raise
    return Backend("local", client, "the offline engine", server)
