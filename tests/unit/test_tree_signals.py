"""The harvester parent's signal handling: the handler only records, the loop wakes up."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from harvester.tree import Signals

LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _lock_calls(action: Callable[[], object]) -> list[str]:
    """The calls on lock objects that `action` makes (seen by a profile hook)."""
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), LOCK_TYPES):
            calls.append(arg.__qualname__)

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return calls


def test_the_profile_hook_sees_the_lock_that_event_set_takes() -> None:
    # what the handler used to do: it takes the Event's lock, which the main thread may
    # hold inside Event.wait() when the signal lands, and so deadlocks the parent
    assert _lock_calls(threading.Event().set)


def test_the_sigterm_handler_takes_no_lock() -> None:
    signals = Signals()
    signals.install()
    try:
        assert _lock_calls(lambda: signals._handle(signal.SIGTERM, None)) == []
        assert signals.received == 1
    finally:
        signals.restore()


def test_a_signal_wakes_the_loop_and_is_counted() -> None:
    before = signal.getsignal(signal.SIGTERM)
    signals = Signals()
    signals.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        signals.wait(60)  # returns at once: the wake-up socket is readable
        assert signals.received == 1
    finally:
        signals.restore()
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was given back too
