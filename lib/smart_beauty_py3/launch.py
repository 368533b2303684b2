"""The ``smart-beauty`` command's entry point: gives the offline engine a head start, then runs :mod:`cli`.

Importing the command's modules (requests, Pillow, numpy, Werkzeug) takes about 0.2 s, and loading
the engine's face networks about 0.15 s. For one photo that is most of the run, so a ``retouch``
starts the engine loading on a background thread first: the networks load (in OpenCV, outside
Python's lock) while the rest is imported. The thread decides with the same rule as the command
(``localserver.resolve``: the engine only when the retouch will run on it); it is only a head start,
so whatever goes wrong in it is left for the command itself to find and report.
"""
from __future__ import annotations

import sys
import threading


def main() -> int:
    argv = sys.argv[1:]
    backend = _retouch_backend(argv)
    if backend is not None:
        # not a daemon: ending the process while it is inside OpenCV would abort it (std::terminate)
        threading.Thread(target=_preload_engine, args=(backend,), name="smart-beauty-preload").start()
    from smart_beauty_py3.cli import main as cli_main

    return cli_main(argv)


def _retouch_backend(argv: list[str]) -> str | None:
    """The ``--backend`` of a ``retouch`` command line (``auto`` if not given); None for other commands."""
    words = [a for a in argv if a != "--"]
    if not words or words[0] != "retouch":
        return None
    backend = "auto"
    for i, word in enumerate(words):
        if word == "--backend" and i + 1 < len(words):
            backend = words[i + 1]
        elif word.startswith("--backend="):
            backend = word.split("=", 1)[1]
    return backend


def _preload_engine(backend: str) -> None:
    try:
        from smart_beauty import Settings, localserver

        if localserver.resolve(backend, Settings.load()) != "local":
            return
        from smart_beauty_engine import offline

        if offline.available()[0]:
            offline.shared_engine()
    except Exception:  # noqa: BLE001  (a head start only: the command reports its own errors)
        return


if __name__ == "__main__":
    sys.exit(main())
