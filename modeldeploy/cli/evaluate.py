"""``modeldeploy evaluate``: the Responsible AI gate on held-out rows, with a report to open offline."""

from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import collect, err, expand_files, handled

EPILOG = """Scores the model outside modeldeploy: --eval-python (or $MODELDEPLOY_EVAL_PYTHON), a Python
with mlflow and the model's requirements; otherwise the deployment's built image on a reachable Docker
engine. Writes OUT/<name>/evaluation.json and evaluation.html.
Exit 0 the gate passes, 1 error (the gate could not check), 3 the gate fails (policy violation).

  modeldeploy evaluate deploy.yaml -o out/eval --eval-python .venv-model/bin/python

  MODELDEPLOY_EVAL_PYTHON=python3 modeldeploy evaluate deploy.yaml --env prod"""


def evaluate(
    files: list[Path] = typer.Argument(..., help="deploy.yaml files (with an evaluation: section), or folders."),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment overlay to apply."),
    out: Path = typer.Option(Path("out/evaluation"), "--out", "-o", help="Folder to write OUT/<name>/ into."),
    eval_python: str | None = typer.Option(
        None, "--eval-python", help="Python with mlflow and the model's requirements that scores the model."
    ),
) -> None:
    """Evaluate the model on held-out rows: metrics, error cohorts, fairness, baseline (exit 3 on failure)."""
    with handled():
        from modeldeploy import api
        from modeldeploy.errors import EvaluationGateFailed
        from modeldeploy.evaluation.report import write_report
        from modeldeploy.evaluation.run import evaluate as run_evaluation
        from modeldeploy.evaluation.text import summary

        paths = expand_files(files)
        reports = collect(lambda p: run_evaluation(api.load(p, env), eval_python=eval_python), paths)
        failed = []
        for report in reports:
            json_path, html_path = write_report(report, out)
            print(summary(report))
            err(f"{html_path}: report written ({json_path.name} beside it)")
            if not report.passed:
                failed.append(report)
        if failed:
            first = failed[0].failing[0]
            raise EvaluationGateFailed(
                f"evaluation gate failed for {', '.join(r.name for r in failed)}: {first.rule} {first.message}",
                hint="fix the model, or waive the finding with a reason in evaluation.waivers (rule, field, reason)",
            )
