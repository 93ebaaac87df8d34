"""The CI skip policy (tests/skip_policy.py) on tiny throw-away test suites run in a subprocess pytest:
an unlisted skip fails the run under CI=true and passes locally; a listed one passes both; it holds
under pytest-xdist (which the real suite uses) and for a module-level skip; the real allow-list parses
and every entry says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.skip_policy import read_allowlist

REPO = Path(__file__).resolve().parents[2]

CONFTEST = """
from pathlib import Path
from tests.skip_policy import SkipPolicy

def pytest_configure(config):
    config.pluginmanager.register(SkipPolicy.from_file(Path(__file__).parent / "allow.txt"), "skip-policy")
"""


def _suite(tmp_path: Path, body: str, *, modules: dict[str, str] | None = None) -> Path:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "allow.txt").write_text("# comment\nneeds a real cluster -- the demo's one allowed reason\n")
    (tmp_path / "test_demo.py").write_text(body)
    for name, text in (modules or {}).items():
        (tmp_path / name).write_text(text)
    return tmp_path


def _run(folder: Path, *, ci: str | None, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *extra, str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


UNLISTED = """
import pytest

def test_runs():
    assert True

def test_tool_missing():
    pytest.skip("hadolint is not installed")
"""

LISTED = """
import pytest

def test_runs():
    assert True

def test_cluster_only():
    pytest.skip("needs a real cluster")
"""


def test_an_unlisted_skip_fails_the_run_in_ci_and_passes_locally(tmp_path: Path) -> None:
    folder = _suite(tmp_path, UNLISTED)
    ci = _run(folder, ci="true")
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "skips not on the allow-list" in ci.stdout and "hadolint is not installed" in ci.stdout
    local = _run(folder, ci=None)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "1 passed, 1 skipped" in local.stdout and "allow-list" not in local.stdout


def test_a_listed_skip_passes_in_ci(tmp_path: Path) -> None:
    proc = _run(_suite(tmp_path, LISTED), ci="true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 1 skipped" in proc.stdout


def test_an_unlisted_skip_fails_under_xdist_and_at_module_level(tmp_path: Path) -> None:
    folder = _suite(
        tmp_path,
        LISTED,
        modules={
            "test_module_skip.py": "import pytest\npytest.importorskip('no_such_module_anywhere')\n\ndef test_x():\n    pass\n",
        },
    )
    proc = _run(folder, ci="1", extra=("-n", "2"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "no_such_module_anywhere" in proc.stdout.split("skips not on the allow-list", 1)[1]


def test_a_failing_run_keeps_its_own_exit_code(tmp_path: Path) -> None:
    proc = _run(_suite(tmp_path, UNLISTED + "\ndef test_broken():\n    assert False\n"), ci="true")
    assert proc.returncode == 1 and "1 failed" in proc.stdout


def test_the_repository_allow_list_is_short_and_every_entry_says_why() -> None:
    entries = read_allowlist(REPO / "tests" / "skip_allowlist.txt")
    assert 0 < len(entries) <= 5
    assert all(len(why) > 20 for _, why in entries)


def test_an_entry_without_a_why_is_refused(tmp_path: Path) -> None:
    (tmp_path / "allow.txt").write_text("some reason\n")
    with pytest.raises(pytest.UsageError, match="allow.txt:1"):
        read_allowlist(tmp_path / "allow.txt")
