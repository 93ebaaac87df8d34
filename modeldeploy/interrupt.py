"""SIGINT and SIGTERM during apply/destroy: stop at a safe point, the same way for both.

CI cancellation and pod shutdown send SIGTERM; a terminal sends SIGINT. While :func:`deferred` is
active (the CLI's apply and destroy), the first of either only *asks* to stop: the cloud call in
flight finishes, and the run stops at the next safe point — :func:`checkpoint`, which progress events
(each step between cloud calls, each poll of a wait) and the lease wait call — by raising
:class:`Interrupted`. That is a ``KeyboardInterrupt``, so everything that cleans up after Ctrl-C (the
lease release, the temporary files, the "done / not done" summary) runs for both signals. A second
signal stops at once. The exit code is 128 + the signal number, as shells report it: 130 for SIGINT,
143 for SIGTERM.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_requested: list[int] = []  # signal numbers received while deferred (main thread only)


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by ``signum``; ``exit_code`` is what a shell reports for it."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def requested() -> int | None:
    """The signal that asked this run to stop, if one did."""
    return _requested[0] if _requested else None


def checkpoint() -> None:
    """A safe point: raise :class:`Interrupted` if a stop was asked for (main thread only, so a
    background thread — the lease renewal — never raises it)."""
    if _requested and threading.current_thread() is threading.main_thread():
        raise Interrupted(_requested[0])


def sleep(seconds: float) -> None:
    """``time.sleep`` that wakes at once for a requested stop (short naps, checkpoint between)."""
    import time

    end = time.monotonic() + max(seconds, 0.0)
    while True:
        checkpoint()
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, 0.2))


def _handler(signum: int, frame: Any) -> None:
    if _requested:  # the second signal: stop now, wherever we are
        raise Interrupted(signum)
    _requested.append(signum)
    import sys

    name = signal.Signals(signum).name
    print(
        f"! {name} received: stopping at the next safe point (send it again to stop at once)",
        file=sys.stderr,
        flush=True,
    )


@contextmanager
def deferred() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as a request to stop at the next :func:`checkpoint`. Outside the
    main thread (a library caller's worker) nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    _requested.clear()
    for s in previous:
        signal.signal(s, _handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _requested.clear()
