"""Per-run settings for observe/apply/destroy that are not part of the spec (CLI flags), and the reads
shared by every observe() of one run."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:  # pragma: no cover
    from concurrent.futures import Future

T = TypeVar("T")


class RunShared:
    """Reads shared by every observe() of one run: computed once per key, even when several
    threads ask at the same time (the others wait for the first). One instance lives in each
    ObserveOptions, so it never outlives the run that made it: a later plan reads afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Future[Any]] = {}

    def get(self, key: Any, fn: Callable[[], T]) -> T:
        from concurrent.futures import Future

        with self._lock:
            fut = self._futures.get(key)
            owner = fut is None
            if fut is None:
                fut = self._futures[key] = Future()
        if owner:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)
        return cast(T, fut.result())

    def __reduce__(self) -> tuple[type[RunShared], tuple[()]]:
        # Sent to or from a worker process (plan --jobs): a store is one process's, so a fresh one.
        return (RunShared, ())


@dataclass(frozen=True)
class ObserveOptions:
    """Per-run settings for observe/apply that are not part of the spec (CLI flags)."""

    context: str | None = None  # kubeconfig context
    parallelism: int = 8
    timeout_seconds: float = 1800.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    # How many deployments of this target this run observes (make_plans counts them per target
    # after loading every file): a target may read a whole region/namespace once instead of once
    # per deployment when that is cheaper.
    expected: int = 1
    shared: RunShared = field(default_factory=RunShared, compare=False, repr=False)
