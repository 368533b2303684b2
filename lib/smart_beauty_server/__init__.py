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

from smart_beauty_server.local import DEFAULT_KEY, LocalAilab, is_loopback, serve_forever


def main(argv=None):
    from smart_beauty_server.__main__ import main as _main

    return _main(argv)


__all__ = ["DEFAULT_KEY", "LocalAilab", "is_loopback", "main", "serve_forever"]
