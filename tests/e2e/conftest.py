"""Fixtures for the tests that build rendered images and serve them on a real Docker engine."""

from __future__ import annotations

import pytest

from tests.e2e import engine as eng


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """Skips (with the reason) only where no engine could start; under CI=true that skip is a failure."""
    reason = eng.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return "ok"
