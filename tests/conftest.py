"""Shared test plumbing: the repository root, and the CI skip policy (tests/skip_policy.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.skip_policy import SkipPolicy

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: builds and runs images on a real Docker engine (tests/docker/engine.sh)"
    )
    config.pluginmanager.register(
        SkipPolicy.from_file(REPO / "tests" / "skip_allowlist.txt"), "modeldeploy-skip-policy"
    )


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With CI=true a skipped engine test is a failure: CI must prove the images build and serve."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("docker") and os.environ.get("CI") == "true":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: this test needs the Docker engine and must not skip ({reason})"
