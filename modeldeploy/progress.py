"""Visible progress for long steps: rich spinners/bars on a TTY, plain timestamped-free log lines in CI.

Targets receive a Progress and call ``step`` for each action, ``wait`` around polling loops and
``bytes`` for uploads. Lines go to stderr so stdout stays machine-readable (plans, JSON).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from modeldeploy.interrupt import checkpoint


class Progress:
    """Plain-text progress; the base for tests and non-TTY runs (one line per event)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.events: list[str] = []

    def step(self, message: str) -> None:
        self._emit(f"- {message}")

    def done(self, message: str) -> None:
        self._emit(f"✓ {message}")

    def warn(self, message: str) -> None:
        self._emit(f"! {message}")

    @contextmanager
    def wait(self, message: str) -> Iterator[WaitHandle]:
        """Around a polling loop: ``handle.update(status)`` reports each new status once."""
        self._emit(f"… {message}")
        handle = WaitHandle(self, message)
        yield handle
        handle.finish()

    def _emit(self, line: str) -> None:
        self.events.append(line)
        print(line, file=self.stream, flush=True)
        checkpoint()  # each step is between cloud calls: a safe point to stop at (modeldeploy.interrupt)


class WaitHandle:
    def __init__(self, progress: Progress, message: str):
        self.progress = progress
        self.message = message
        self.last: str | None = None

    def update(self, status: str) -> None:
        checkpoint()  # every poll of a wait is a safe point
        if status != self.last:
            self.last = status
            self.progress._emit(f"  {self.message}: {status}")

    def finish(self) -> None:
        pass


class RichProgress(Progress):
    """Spinner per wait on a TTY; falls back to the plain lines for everything else."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__(stream)
        from rich.console import Console

        self.console = Console(file=self.stream)

    @contextmanager
    def wait(self, message: str) -> Iterator[WaitHandle]:
        with self.console.status(message) as status:
            handle = _RichWait(self, message, status)
            yield handle
        self.done(f"{message}: {handle.last or 'done'}")

    def _emit(self, line: str) -> None:
        self.events.append(line)
        self.console.print(line, highlight=False, markup=False)
        checkpoint()


class _RichWait(WaitHandle):
    def __init__(self, progress: Progress, message: str, status: object):
        super().__init__(progress, message)
        self.status = status

    def update(self, status: str) -> None:
        checkpoint()
        if status != self.last:
            self.last = status
            self.status.update(f"{self.message}: {status}")  # type: ignore[attr-defined]


def for_stream(stream: TextIO | None = None) -> Progress:
    s = stream or sys.stderr
    return RichProgress(s) if s.isatty() else Progress(s)
