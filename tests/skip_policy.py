"""In CI a skip is a failure unless its reason is on tests/skip_allowlist.txt.

A skipped test checked nothing, so a skip that nobody planned (a tool that did not install, a reference
file that went missing, a test that skips when the code under test raised) must not end in a green CI
run. With CI set to a true value (`CI=true`, as CI services set it) the run ends with exit code 1 and a
"skips not on the allow-list" section listing each one; locally skips stay skips, so a laptop without
a tool still runs the rest. Registered by tests/conftest.py; under pytest-xdist it acts on the
controller, which sees every worker's reports.

Allow-list format (tests/skip_allowlist.txt): one entry a line, `<regular expression> -- <why>`; the
expression is searched in the skip reason; the why is mandatory (an entry without one is an error).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SEPARATOR = " -- "


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def read_allowlist(path: Path) -> list[tuple[re.Pattern[str], str]]:
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pattern, sep, why = line.partition(SEPARATOR)
        if not sep or not why.strip() or not pattern.strip():
            raise pytest.UsageError(f"{path}:{n}: an allow-list entry is `<regex>{SEPARATOR}<why>`, got {line!r}")
        entries.append((re.compile(pattern.strip()), why.strip()))
    return entries


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text[len("Skipped: ") :] if text.startswith("Skipped: ") else text


@dataclass(eq=False)  # a plugin object must stay hashable
class SkipPolicy:
    allowed: list[tuple[re.Pattern[str], str]]
    unlisted: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> SkipPolicy:
        return cls(read_allowlist(path))

    def _note(self, report: pytest.TestReport | pytest.CollectReport) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = _reason(report)
        if not any(p.search(reason) for p, _ in self.allowed):
            self.unlisted.append((report.nodeid or str(getattr(report, "fspath", "")), reason))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._note(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput") or not in_ci() or not self.unlisted:
            return
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config: pytest.Config) -> None:
        if hasattr(config, "workerinput") or not in_ci() or not self.unlisted:
            return
        terminalreporter.section("skips not on the allow-list (CI fails on these)", sep="=", red=True, bold=True)
        for nodeid, reason in self.unlisted:
            terminalreporter.line(f"SKIPPED {nodeid}: {reason}")
        terminalreporter.line(
            "Make the test run (install what it needs, fix the code), or add its reason to "
            "tests/skip_allowlist.txt with why."
        )
