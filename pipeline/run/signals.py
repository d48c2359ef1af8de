"""Stop signals held across a step that must not be cut in two (e-mail a digest, record it).

A SIGTERM (systemd stopping the service, cron's timeout) or SIGINT that arrives inside `held()`
is kept, not acted on; when the step ends, the handler that was in place runs with it (the CLI's
raises `Stopped`, so the command unwinds and exits 128 + the signal as usual). Only the main
thread can set handlers: elsewhere `held()` holds nothing. Imports the standard library.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def held() -> Iterator[None]:
    """Hold SIGTERM and SIGINT for the block; the first that arrived acts when it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[signal.Signals] = []

    def keep(signum: int, frame: object) -> None:
        arrived.append(signal.Signals(signum))

    previous = {signum: signal.signal(signum, keep) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if arrived:
            _deliver(arrived[0], previous[arrived[0]])


def _deliver(signum: int, handler: object) -> None:
    """Act on `signum` as `handler` (what was in place before `held`) would have."""
    if callable(handler):
        handler(signum, None)
    elif handler != signal.SIG_IGN:  # SIG_DFL (or a handler set outside Python): the default
        signal.raise_signal(signum)
