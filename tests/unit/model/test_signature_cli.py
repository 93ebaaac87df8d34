"""``modeldeploy signature`` sub-app through typer's CliRunner, with golden reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modeldeploy.cli.signature import app
from tests.goldens import assert_file

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "signature"
runner = CliRunner()


@pytest.fixture()
def workdir(models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Relative model paths, so reports hold no machine path."""
    for name in ("cols_v1", "cols_v2", "tensor_v1", "tensor_v2", "nosig"):
        shutil.copytree(models[name], tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _golden(name: str, actual: str) -> None:
    assert_file(actual.encode("utf-8"), GOLDEN / name)


@pytest.mark.parametrize(
    "args,golden,code",
    [
        (["cols_v1", "cols_v2"], "cols-backward.txt", 3),
        (["cols_v1", "cols_v2", "--format", "json"], "cols-backward.json", 3),
        (["cols_v1", "cols_v2", "--format", "markdown"], "cols-backward.md", 3),
        (["cols_v1", "cols_v2", "--mode", "forward"], "cols-forward.txt", 3),
        (["cols_v1", "cols_v2", "--mode", "full", "--format", "markdown"], "cols-full.md", 3),
        (["tensor_v1", "tensor_v2"], "tensor-backward.txt", 3),
        (["nosig", "cols_v1"], "added-backward.txt", 0),
        (["cols_v1", "cols_v1", "--format", "markdown"], "same.md", 0),
    ],
)
def test_diff_reports(workdir: Path, args: list[str], golden: str, code: int) -> None:
    result = runner.invoke(app, ["diff", *args])
    assert result.exit_code == code, result.output
    _golden(golden, result.stdout)


def test_json_report_is_consistent(workdir: Path) -> None:
    result = runner.invoke(app, ["diff", "cols_v1", "cols_v2", "--format", "json", "--mode", "none"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["findings"] == [] and data["compatible"] is True and data["mode"] == "none"


def test_errors_exit_1(workdir: Path) -> None:
    result = runner.invoke(app, ["diff", "cols_v1", "missing"])
    assert result.exit_code == 1
    assert "missing" in result.stderr and "error" in result.stderr
    result = runner.invoke(app, ["diff", "cols_v1", "cols_v2", "--mode", "sideways"])
    assert result.exit_code == 1 and "--mode must be one of" in result.stderr
    (workdir / "broken").mkdir()
    (workdir / "broken" / "MLmodel").write_text("flavors: {}\nsignature:\n  inputs: '[{'\n")
    result = runner.invoke(app, ["diff", "cols_v1", "broken"])
    assert result.exit_code == 1
    assert result.stderr.startswith("broken/MLmodel:3:11: error: signature.inputs is not valid JSON")


def test_show_and_rules(workdir: Path) -> None:
    result = runner.invoke(app, ["show", "cols_v1"])
    assert result.exit_code == 0 and result.stdout.startswith("inputs (columns):")
    result = runner.invoke(app, ["show", "cols_v1", "--format", "json"])
    assert json.loads(result.stdout)["digest"].startswith("sha256:")
    assert runner.invoke(app, ["show", "nosig"]).stdout == "(no signature)\n"
    result = runner.invoke(app, ["rules", "--format", "markdown"])
    assert result.exit_code == 0
    _golden("rules.md", result.stdout)


def test_docs_rule_table_is_current() -> None:
    """docs/signature.md embeds the rule table; it must match the code."""
    docs = Path(__file__).resolve().parents[3] / "docs" / "signature.md"
    table = (GOLDEN / "rules.md").read_text()
    assert table in docs.read_text(), "docs/signature.md rule table is stale: paste tests/golden/signature/rules.md"
