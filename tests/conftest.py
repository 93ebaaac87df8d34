"""Shared test plumbing: the repository root, and the CI skip policy (tests/skip_policy.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.skip_policy import SkipPolicy

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipPolicy.from_file(REPO / "tests" / "skip_allowlist.txt"), "modeldeploy-skip-policy")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
