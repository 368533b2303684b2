"""The one serve loop (smart_beauty_server.local.run_until_stopped) ends on SIGTERM whenever it arrives."""

import signal
import threading

import pytest

from smart_beauty_server.local import run_until_stopped


class _Server:
    stopped = False

    def stop(self):
        self.stopped = True


@pytest.mark.timeout(20)
def test_sigterm_while_the_loop_holds_its_event_lock_still_ends_it():
    """A SIGTERM handled while this thread is inside done.wait() (holding the event's lock) must not wait
    for that lock: the handler used to call done.set() and hung the server for ever (seen after 'serve
    --stop'). Here the handler is called with the lock held, deterministically."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are installed from the main thread only")
    done = threading.Event()
    calls = []

    def should_stop():
        calls.append(1)
        if len(calls) == 1:
            handler = signal.getsignal(signal.SIGTERM)
            with done._cond:                      # what done.wait() holds when the signal lands there
                handler(signal.SIGTERM, None)
        return False

    previous = signal.getsignal(signal.SIGTERM)
    srv = _Server()
    try:
        assert run_until_stopped(srv, done, should_stop=should_stop, tick=0.01) == 0
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert srv.stopped and len(calls) == 1


@pytest.mark.timeout(20)
def test_done_and_should_stop_end_the_loop_too():
    srv = _Server()
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    assert run_until_stopped(srv, done, tick=0.01) == 0 and srv.stopped
    srv = _Server()
    assert run_until_stopped(srv, threading.Event(), should_stop=lambda: True, tick=0.01) == 0 and srv.stopped
