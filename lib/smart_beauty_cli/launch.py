"""The ``smart-beauty`` command's entry point: gives the offline engine a head start, then runs :mod:`cli`.

Importing the command's own modules (Pillow, NumPy) takes about a tenth of a second; so a ``retouch``
on the offline engine first creates the engine (:mod:`smart_beauty_cli.inprocess`) on a background
thread, whose face networks then load in OpenCV (without the interpreter lock) while the command imports
the rest, and the command picks it up when it opens its backend. The thread decides with the same rule
as the command (``localserver.resolve``: only when the retouch will run on the offline engine); it is only
a head start, so when it fails the command tries again itself and reports its own error. The command's
own imports wait until the engine is loading: both want the one interpreter lock, and the engine's
networks are what the run waits for.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smart_beauty_cli.inprocess import InProcessService


#: the longest the command's imports wait for the head start to settle (normally about a tenth)
SETTLE_WAIT = 0.5


class HeadStart:
    """The offline engine (:func:`smart_beauty_cli.backends.local_service`), had on a thread from the first moment."""

    def __init__(self, backend: str):
        self.backend = backend
        self.service: InProcessService | None = None
        #: set once only waiting is left: the engine is loading, or none is needed
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

            self.service = backends.local_service()
        except Exception:  # noqa: BLE001  (a head start only: the command reports its own errors)
            return
        finally:
            self.settled.set()

    def __call__(self):
        """The service for :func:`smart_beauty_cli.backends.open_backend` (its ``start_local``)."""
        self.thread.join()
        service, self.service = self.service, None
        if service is not None:
            return service
        from smart_beauty_cli import backends

        return backends.local_service()

    def release(self) -> None:
        """Close an engine the command did not take (it refused an argument, say): its workers end now."""
        self.thread.join()
        service, self.service = self.service, None
        if service is not None:
            service.close()


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
        if head_start is not None:   # e.g. a refused argument: an engine loaded for nothing is closed
            head_start.release()
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
