"""``evaluate`` for one deployment: read the rows, score candidate (and baseline) outside this process,
analyse, judge. ``analyse`` is the part without scoring (what bench/ measures)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.errors import EvaluationError, ModelDeployError, SpecError


@dataclass(frozen=True)
class Inputs:
    """The held-out rows, split per the section."""

    frame: Any  # every column (sensitive features may not be model inputs)
    X: Any
    y: Any
    features: list[str]
    categorical: list[str]


def load_inputs(section: Any, base_dir: Path, at: Any, display: str) -> Inputs:
    from modeldeploy.evaluation.data import read_table, require_extra, split
    from modeldeploy.spec.evaluation import path_diagnostics

    require_extra()
    diags = path_diagnostics(section, base_dir, at, display)
    if diags:
        raise SpecError("evaluation data not found", diagnostics=diags)
    line, col = at(("evaluation", "data"))
    frame = read_table(base_dir / section.data, display=display, line=line, col=col)
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    X, y, features, categorical = split(frame, section, display=display, at=at)
    return Inputs(frame, X, y, features, categorical)


def analyse(
    section: Any,
    inputs: Inputs,
    candidate: Any,
    baseline: Any = None,
    *,
    importance: tuple[tuple[str, float], ...] = (),
    name: str = "",
    env: str | None = None,
    scorer: str = "",
    baseline_label: str = "none",
    first_deployment: bool = False,
) -> Any:
    """Metrics, error tree, cohorts, heatmap, fairness, threshold checks and findings → Report.
    ``candidate`` / ``baseline`` are scoring.Scores for ``inputs.X``."""
    import numpy as np

    from modeldeploy.evaluation import analysis as an
    from modeldeploy.evaluation.gate import Report, findings
    from modeldeploy.evaluation.thresholds import check_all

    task = section.task
    y = inputs.y.to_numpy()
    pred = np.asarray(candidate.predictions, dtype=object)
    if task == "regression":
        y = _numbers(y, f"evaluation.target {section.target!r}")
        pred = _numbers(pred, "the model's predictions")
    notes: list[str] = []
    error_threshold = section.cohorts.error_threshold
    if task == "regression" and error_threshold is None:
        error_threshold = float(np.mean(np.abs(pred.astype(float) - y.astype(float))))
        notes.append(
            f"regression: a row counts as an error when |error| > {error_threshold:.4g} (the candidate's mean absolute error; set cohorts.error_threshold to fix it)"
        )
    flags = an.error_flags(task, y, pred, error_threshold)
    metrics = an.metrics_for(
        task,
        y,
        pred,
        candidate.probabilities,
        candidate.classes,
        flags if task == "regression" and section.cohorts.error_threshold else None,
    )
    if task == "classification" and "log_loss" not in metrics:
        notes.append("log_loss: the model gave no class probabilities (or they do not cover every label)")
    base_flags = base_metrics = None
    if baseline is not None:
        bpred = np.asarray(baseline.predictions, dtype=object)
        if task == "regression":
            bpred = _numbers(bpred, "the baseline's predictions")
        base_flags = an.error_flags(task, y, bpred, error_threshold)
        base_metrics = an.metrics_for(
            task,
            y,
            bpred,
            baseline.probabilities,
            baseline.classes,
            base_flags if task == "regression" and section.cohorts.error_threshold else None,
        )
    enc = an.fit_encoding(inputs.X, inputs.features, inputs.categorical)
    matrix = an.encode(enc, inputs.X)
    c = section.cohorts
    tree = an.fit_error_tree(matrix, enc, flags, max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf)
    cohorts = an.cohorts_of(tree, flags, base_flags)
    regression_cohorts: list[Any] = []
    if base_flags is not None:
        # Where the candidate is newly wrong: a second tree on "candidate wrong, baseline right", so a
        # regression confined to a cohort the first tree did not isolate is still found.
        new_errors = flags & ~base_flags
        rtree = an.fit_error_tree(matrix, enc, new_errors, max_depth=c.max_depth, min_samples_leaf=c.min_samples_leaf)
        regression_cohorts = sorted(
            an.cohorts_of(rtree, flags, base_flags, source="new errors vs baseline"),
            key=lambda k: (-(k.regression or 0.0), k.condition),
        )
    if section.heatmap.features:
        hm_features = list(section.heatmap.features)
    else:  # the tree's split features first, then the most important ones, then column order
        order = [*tree.split_features, *(f for f, _ in importance), *inputs.features]
        hm_features = list(dict.fromkeys(order))[:2]
    hm = an.heatmap(inputs.X, flags, hm_features, inputs.categorical, section.heatmap.bins)
    fair: list[Any] = []
    if section.fairness is not None:
        fz = section.fairness
        for feat in fz.sensitive_features:
            fair.append(
                an.fairness(
                    inputs.frame,
                    feat,
                    y,
                    pred,
                    flags,
                    metric=fz.metric,
                    kind=fz.kind,
                    threshold=fz.threshold,
                    positive_label=fz.positive_label,
                )
            )
    thresholds = dict(section.thresholds)
    if first_deployment:
        # baseline: deployed and nothing is deployed yet: like the signature policy on a first
        # deployment, the comparisons have nothing to compare with and are not checked (said in words).
        thresholds = {
            k: v.model_copy(update={"min_absolute_change": None, "min_relative_change": None})
            for k, v in thresholds.items()
        }
        notes.append(
            "baseline: deployed — nothing is deployed yet, so min_absolute_change, min_relative_change and max_regression are not checked (first deployment)"
        )
    checks = check_all(thresholds, metrics, base_metrics)
    found = findings(section, checks, cohorts, regression_cohorts, fair)
    return Report(
        name=name,
        env=env,
        task=task,
        rows=len(y),
        target=section.target,
        features=tuple(inputs.features),
        categorical=tuple(inputs.categorical),
        scorer=scorer,
        baseline=baseline_label,
        metrics=metrics,
        baseline_metrics=base_metrics,
        checks=tuple(checks),
        tree=tree,
        cohorts=tuple(cohorts),
        regression_cohorts=tuple(regression_cohorts[: c.show]),
        heatmap=hm,
        fairness=tuple(fair),
        importance=importance,
        error_threshold=error_threshold,
        settings={
            "max_depth": c.max_depth,
            "min_samples_leaf": c.min_samples_leaf,
            "max_error_rate": c.max_error_rate,
            "max_regression": c.max_regression,
            "show": c.show,
        },
        findings=tuple(found),
        notes=tuple(notes),
    )


def _numbers(values: Any, what: str) -> Any:
    """Regression needs numbers on both sides; anything else is an error, not a crash."""
    import numpy as np

    try:
        out = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise EvaluationError(
            f"task regression: {what} are not all numbers", hint="use task: classification for labels"
        ) from None
    if not np.isfinite(out).all():
        raise EvaluationError(f"task regression: {what} contain missing or infinite values")
    return out


@dataclass(frozen=True)
class Deployed:
    """What a plan found deployed now, the way the signature policy finds it (a rendered folder's lock
    file, a git ref's render, or the live objects' tags). ``found`` False: nothing is deployed yet.
    ``local_dir``: the deployed model's files already on disk (a git ref's model folder); otherwise
    ``uri`` (the pinned URI recorded at deploy time) is resolved like ``model.source``, and when a
    ``digest`` was recorded the files read must have it — another model's files are never a baseline."""

    found: bool
    where: str  # "dir:PATH", "git:REF", "live"
    uri: str | None = None
    digest: str | None = None
    local_dir: Path | None = None

    def label(self) -> str:
        if not self.found:
            return f"deployed: nothing is deployed yet ({self.where})"
        return f"deployed ({self.where}): {self.uri or self.local_dir}"


def _baseline_dir(
    dep: Any, section: Any, environ: Mapping[str, str], deployed: Deployed | None = None
) -> tuple[Path | None, str]:
    """The baseline model's folder (or None for ``none`` / nothing deployed). Unreadable:
    EvaluationError — never a pass."""
    at = dep.loaded.positions.at(("evaluation", "baseline"))
    if section.baseline == "none":
        return None, "none"
    if section.baseline == "deployed":
        if deployed is None:
            raise EvaluationError(
                "baseline: deployed needs to know what is deployed",
                diagnostics=[
                    _diag(
                        dep,
                        at,
                        "evaluation.baseline: 'deployed' is found by plan (against a folder, a git ref or live); evaluate alone cannot see it, and the gate does not pass without it",
                    )
                ],
                hint="run modeldeploy plan (it scores the deployed model as the baseline), or name the deployed model's source in evaluation.baseline",
            )
        if not deployed.found:
            return None, deployed.label()
        if deployed.local_dir is not None:
            folder = Path(deployed.local_dir)
            if not (folder / "MLmodel").is_file():
                raise EvaluationError(
                    f"the deployed model at {deployed.where} has no MLmodel",
                    diagnostics=[
                        _diag(
                            dep,
                            at,
                            f"evaluation.baseline: the deployed model ({deployed.where}) is not an MLflow model folder (no MLmodel)",
                        )
                    ],
                    hint="the gate does not pass without its baseline; set baseline: none to check thresholds only",
                )
            return folder, deployed.label()
        if not deployed.uri:
            raise EvaluationError(
                f"the deployed version ({deployed.where}) does not record which model it runs",
                diagnostics=[
                    _diag(
                        dep,
                        at,
                        f"evaluation.baseline: 'deployed' cannot be read: {deployed.where} records no model URI",
                    )
                ],
                hint="the gate does not pass without its baseline; redeploy with this modeldeploy (it records the model) or set baseline: none",
            )
        folder, _, got = _resolve_baseline(dep, deployed.uri, environ, at, what="the deployed model")
        if deployed.digest:
            if got != deployed.digest:
                raise EvaluationError(
                    f"the deployed model {deployed.uri} now reads as other files",
                    diagnostics=[
                        _diag(
                            dep,
                            at,
                            f"evaluation.baseline: {deployed.uri} has digest {got[:19]}…, the deployed model {deployed.digest[:19]}…; "
                            "its files are not available any more",
                        )
                    ],
                    hint="a local model folder holds the candidate now: plan against a git ref, or name the deployed model's source (models:/NAME/VERSION) in evaluation.baseline",
                )
        return folder, deployed.label()
    folder, pinned, _ = _resolve_baseline(dep, section.baseline, environ, at, what=f"baseline {section.baseline}")
    return folder, pinned


def _resolve_baseline(
    dep: Any, source: str, environ: Mapping[str, str], at: tuple[int, int], *, what: str
) -> tuple[Path, str, str]:
    from modeldeploy.model.sources import resolve as resolve_source

    try:
        ref = resolve_source(
            source, base_dir=dep.loaded.base_dir, tracking_uri=dep.spec.model.tracking_uri, environ=environ
        )
    except ModelDeployError as exc:
        raise EvaluationError(
            f"{what} cannot be read: {exc.message}",
            diagnostics=[_diag(dep, at, f"evaluation.baseline: {source!r} cannot be read: {exc.message}")],
            hint="the gate does not pass without its baseline; fix the source or set baseline: none",
        ) from None
    if not (Path(ref.local_path) / "MLmodel").is_file():
        raise EvaluationError(
            f"{what} has no MLmodel",
            diagnostics=[_diag(dep, at, f"evaluation.baseline: {source!r} is not an MLflow model folder (no MLmodel)")],
        )
    return Path(ref.local_path), ref.pinned_uri, ref.digest


def _diag(dep: Any, at: tuple[int, int], message: str) -> Any:
    from modeldeploy.errors import Diagnostic

    return Diagnostic(dep.loaded.display, at[0], at[1], message, "MD903")


def _image_for(dep: Any) -> str | None:
    if dep.spec.target.kind != "docker" or dep.spec.model.type != "mlflow":
        return None
    from modeldeploy.targets.docker.target import image_reference

    return image_reference(dep.context())


def evaluate(
    dep: Any,
    *,
    eval_python: str | None = None,
    environ: Mapping[str, str] | None = None,
    scorer: Any = None,
    deployed: Deployed | None = None,
) -> Any:
    """The gate for one resolved deployment (``modeldeploy.api.Deployment``) → gate.Report."""
    from modeldeploy.evaluation import analysis as an
    from modeldeploy.evaluation.scoring import DockerScorer, choose_scorer, score_frames

    environ = os.environ if environ is None else environ
    section = dep.spec.evaluation
    loaded = dep.loaded
    if section is None:
        raise EvaluationError(
            f"{loaded.display} has no evaluation section",
            hint="add evaluation: {data: ..., target: ..., task: ...} (see docs/evaluation.md)",
        )
    inputs = load_inputs(section, loaded.base_dir, loaded.positions.at, loaded.display)
    baseline_dir, baseline_label = _baseline_dir(dep, section, environ, deployed)
    if scorer is None:
        scorer = choose_scorer(
            eval_python,
            environ,
            image=_image_for(dep),
            display=loaded.display,
            where=loaded.positions.at(("evaluation",)),
        )
    if baseline_dir is not None and isinstance(scorer, DockerScorer):
        raise EvaluationError(
            "the baseline cannot be scored in the candidate's image",
            hint="pass --eval-python (a Python with mlflow and both models' requirements) to compare with a baseline",
        )
    rows, permuted = an.permutation_rows(inputs.X, inputs.features)
    cand, cand_perm = score_frames(scorer, [inputs.X, permuted], Path(dep.ref.local_path), section.batch_size)
    base = None
    if baseline_dir is not None:
        (base,) = score_frames(scorer, [inputs.X], baseline_dir, section.batch_size)
    y_sample = inputs.y.to_numpy()[rows]
    base_pred = [cand.predictions[i] for i in rows]
    err_thr = section.cohorts.error_threshold
    importance = an.permutation_importance(
        section.task, y_sample, base_pred, cand_perm.predictions, inputs.features, err_thr
    )
    return analyse(
        section,
        inputs,
        cand,
        base,
        importance=tuple(importance),
        name=dep.name,
        env=loaded.env,
        scorer=scorer.describe(),
        baseline_label=baseline_label,
        first_deployment=deployed is not None and not deployed.found and section.baseline == "deployed",
    )
