"""The ``smart-beauty`` command's entry point: gives the local service a head start, then runs :mod:`cli`.

A ``retouch`` on the offline engine uses the server the GIMP plug-ins share (``smart-beauty serve
--announce``; :mod:`smart_beauty.localserver`). Importing the command's own modules (requests,
Pillow, numpy) takes about 0.2 s; so a ``retouch`` first starts finding that server -- reusing the
running one, or starting it, whose imports and engine loading then run in the other process meanwhile
-- on a background thread, and the command picks the result up when it opens its backend. The thread
decides with the same rule as the command (``localserver.resolve``: only when the retouch will run on
the offline engine); it is only a head start, so when it fails the command tries again itself and
reports its own error. The command's own imports wait until the server's process exists (or a running
one was found): both want the one interpreter lock, and the server's start is what the run waits for.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smart_beauty.localserver import LocalServer


#: the longest the command's imports wait for the head start to settle (normally a few hundredths)
SETTLE_WAIT = 0.5


class HeadStart:
    """``localserver``'s local server, looked for (or started) on a thread from the first moment."""

    def __init__(self, backend: str):
        self.backend = backend
        self.server: LocalServer | None = None
        #: set once only waiting is left: the server's process was started, a running one found, or not needed
        self.settled = threading.Event()
        self.thread = threading.Thread(target=self._run, name="smart-beauty-head-start", daemon=True)

    def begin(self) -> HeadStart:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            from smart_beauty import Settings, localserver

            if localserver.resolve(self.backend, Settings.load()) != "local":
                return
            from smart_beauty_cli import backends

            self.server = backends.local_service(spawned=self.settled.set)
        except Exception:  # noqa: BLE001  (a head start only: the command reports its own errors)
            return
        finally:
            self.settled.set()

    def __call__(self):
        """The server for :func:`smart_beauty_cli.backends.open_backend` (its ``start_local``)."""
        self.thread.join()
        if self.server is not None:
            return self.server
        from smart_beauty_cli import backends

        return backends.local_service()


def main() -> int:
    from smart_beauty.localserver import BLAS_THREADS

    for name, value in BLAS_THREADS.items():   # before numpy is imported
        os.environ.setdefault(name, value)
    argv = sys.argv[1:]
    backend = _retouch_backend(argv)
    head_start = HeadStart(backend).begin() if backend is not None else None
    if head_start is not None:
        head_start.settled.wait(SETTLE_WAIT)
    from smart_beauty_cli.cli import main as cli_main

    try:
        return cli_main(argv, start_local=head_start)
    finally:
        if head_start is not None:   # e.g. a refused argument: let a start under way record its server
            head_start.thread.join()
        # The command is done: what it still holds is freed as the interpreter exits. Frozen, the
        # collector's passes at exit skip those objects (~15 ms of a one-photo run; atexit handlers,
        # flushing and thread joins happen as before).
        import gc

        gc.freeze()


def _retouch_backend(argv: list[str]) -> str | None:
    """The ``--backend`` of a ``retouch`` command line (``auto`` if not given); None for other commands
    and for ``retouch --help``."""
    words = [a for a in argv if a != "--"]
    if not words or words[0] != "retouch" or "-h" in words or "--help" in words:
        return None
    backend = "auto"
    for i, word in enumerate(words):
        if word == "--backend" and i + 1 < len(words):
            backend = words[i + 1]
        elif word.startswith("--backend="):
            backend = word.split("=", 1)[1]
    return backend


if __name__ == "__main__":
    sys.exit(main())
