"""get_target(): one instance per target kind per process, even when threads ask at the same time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from modeldeploy import targets
from modeldeploy.targets.base import Target

BUILT = []


class SlowTarget(Target):
    """Builds slowly, as a target creating SDK clients does, so concurrent first calls overlap."""

    kind = "slow"

    def __init__(self) -> None:
        BUILT.append(self)
        time.sleep(0.05)

    def render(self, ctx):  # pragma: no cover - never rendered here
        return []


@pytest.fixture
def slow_kind(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(targets.BUILTIN, "slow", f"{__name__}:SlowTarget")
    targets.get_target.cache_clear()
    BUILT.clear()
    yield "slow"
    targets.get_target.cache_clear()


def test_concurrent_first_calls_build_one_instance(slow_kind: str) -> None:
    # make_plans loads files on --parallelism threads; each load asks for its target. Without the
    # lock every thread missed the cold cache together and built its own instance (and clients).
    start = threading.Barrier(8)

    def ask(_: int) -> Target:
        start.wait()
        return targets.get_target(slow_kind)

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(ask, range(8)))
    assert len(BUILT) == 1
    assert all(t is BUILT[0] for t in got)


def test_cache_clear_starts_a_new_instance(slow_kind: str) -> None:
    first = targets.get_target(slow_kind)
    assert targets.get_target(slow_kind) is first
    targets.get_target.cache_clear()
    assert targets.get_target(slow_kind) is not first
