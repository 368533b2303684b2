"""A protocol-faithful local stand-in for the AILab Smart Beauty service (Python 3 only).

    from smart_beauty_server import LocalAilab
    with LocalAilab(port=0, job_seconds=0.2) as srv:
        srv.url, srv.valid_key            # "http://127.0.0.1:PORT", "sb-local-test-key"
        srv.inject("rate_limit", retry_after=1, times=2)
        srv.stats(); srv.requests; srv.task_info(task_id)

Command line: ``python -m smart_beauty_server --port N [--host H] [--job-seconds S] [--print-url]``
(``main(argv)``), or ``serve_forever(host, port, **LocalAilab options)`` from Python.

Modules: ``protocol`` (public fields, error-code table), ``images`` (input limits, decoding),
``jobs`` (task store, durations, expiry), ``faults`` (fault catalogue), ``app`` (WSGI routes and
validation), ``control`` (``/_control`` JSON API), ``local`` (``LocalAilab``), ``__main__`` (CLI).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smart_beauty_server.local import DEFAULT_KEY, LocalAilab, is_loopback, serve_forever

_LOCAL = ("DEFAULT_KEY", "LocalAilab", "is_loopback", "serve_forever")


def __getattr__(name):
    """The server's names on first use (PEP 562): ``local`` imports Werkzeug (~60 ms), which the
    command's in-process engine (``smart_beauty_cli.inprocess``, using ``jobs`` and ``images``) never needs."""
    if name not in _LOCAL:
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    from smart_beauty_server import local

    value = getattr(local, name)
    globals()[name] = value
    return value


def main(argv=None):
    from smart_beauty_server.__main__ import main as _main

    return _main(argv)


__all__ = ["DEFAULT_KEY", "LocalAilab", "is_loopback", "main", "serve_forever"]
