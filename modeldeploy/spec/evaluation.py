"""deploy.yaml ``evaluation:``: the Responsible AI gate (metrics, error cohorts, fairness, baseline).

The keys ``data``, ``train_data``, ``target``, ``task``, ``thresholds`` (MLflow ``MetricThreshold``
semantics), ``cohorts`` {``max_error_rate``, ``max_depth``, ``min_samples_leaf``, ``max_regression``},
``baseline`` and ``fairness`` {``sensitive_features``, ``metric``, ``kind``, ``threshold``} are a fixed
contract. This module imports nothing heavy: the analysis lives in ``modeldeploy.evaluation`` behind the
``eval`` extra and is imported only when a spec has this section.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from modeldeploy.errors import Diagnostic
from modeldeploy.spec.base import Line, StrictModel, empty_dict, empty_list

# Metric names are MLflow's own (mlflow.evaluate's default evaluator), so thresholds written for
# mlflow.validate_evaluation_results mean the same here. error_rate = 1 - accuracy_score.
CLASSIFICATION_METRICS = ("accuracy_score", "error_rate", "precision_score", "recall_score", "f1_score", "log_loss")
REGRESSION_METRICS = (
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "r2_score",
    "max_error",
    "mean_absolute_percentage_error",
)
METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
# Per-group metrics fairness can compare (a group may have one class only: no f1 there).
FAIRNESS_METRICS = {
    "classification": ("error_rate", "accuracy_score", "selection_rate"),
    "regression": ("mean_absolute_error", "root_mean_squared_error", "error_rate"),
}

# Finding rules of the gate; waivers name them.
RULES = {
    "EVAL101": "metric below its threshold",
    "EVAL102": "metric not improved enough over the baseline (min_absolute_change / min_relative_change)",
    "EVAL201": "a discovered cohort's error rate is above cohorts.max_error_rate",
    "EVAL202": "a cohort's error rate regressed against the baseline by more than cohorts.max_regression",
    "EVAL301": "fairness: the metric differs across sensitive groups beyond the threshold",
}


def _number(v: Any) -> Any:
    # MLflow's MetricThreshold takes int or float but not bool; YAML's `true` must not become 1.0.
    if isinstance(v, bool):
        raise ValueError("must be a number, not a boolean")
    return v


class MetricThresholdSpec(StrictModel):
    """``mlflow.models.MetricThreshold``: pass when the candidate is >= threshold (<= when lower is
    better), and — against the baseline — at least ``min_absolute_change`` / ``min_relative_change`` better."""

    threshold: float | None = Field(default=None, description="Value the candidate's metric must reach.")
    min_absolute_change: float | None = Field(
        default=None,
        ge=0,
        description=(
            "Candidate must beat the baseline by at least this much (0: must not be worse). MLflow itself "
            "rejects 0; here 0 means 'not worse than the baseline'."
        ),
    )
    min_relative_change: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Candidate must beat the baseline by this fraction of |baseline| (0..1).",
    )
    greater_is_better: bool = Field(
        description="Whether a higher value of the metric is better (required, as in MLflow)."
    )

    @field_validator("threshold", "min_absolute_change", "min_relative_change", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        return _number(v)

    @field_validator("greater_is_better", mode="before")
    @classmethod
    def _strict_bool(cls, v: Any) -> Any:
        if not isinstance(v, bool):
            raise ValueError("must be true or false")
        return v

    @model_validator(mode="after")
    def _something(self) -> MetricThresholdSpec:
        if self.threshold is None and self.min_absolute_change is None and self.min_relative_change is None:
            raise ValueError("give threshold, min_absolute_change or min_relative_change (no threshold was specified)")
        return self

    @property
    def compares(self) -> bool:
        return self.min_absolute_change is not None or self.min_relative_change is not None


class CohortGate(StrictModel):
    """Error analysis: a shallow decision tree fitted to the per-row error flag; each leaf is a cohort."""

    max_error_rate: float | None = Field(
        default=None, ge=0, le=1, description="The worst discovered cohort may not have a higher error rate."
    )
    max_depth: int = Field(default=3, ge=1, le=8, description="Error-tree depth (Azure's error analysis: 3).")
    min_samples_leaf: int = Field(default=20, ge=1, description="Smallest cohort the tree may form (Azure: 20).")
    max_regression: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Largest allowed rise of a cohort's error rate over the baseline's on the same rows.",
    )
    error_threshold: float | None = Field(
        default=None,
        gt=0,
        description=(
            "task regression: a row counts as an error when |prediction - target| is above this (target "
            "units). Required for max_error_rate/max_regression/error_rate with regression; without it the "
            "tree uses the candidate's mean absolute error."
        ),
    )
    show: int = Field(default=5, ge=1, le=50, description="How many of the worst cohorts reports list.")

    @field_validator("max_error_rate", "max_regression", "error_threshold", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        return _number(v)


class Fairness(StrictModel):
    """A metric computed per sensitive group: ``difference`` = max - min across groups must be
    <= threshold; ``ratio`` = min / max must be >= threshold (as fairlearn's *_ratio)."""

    sensitive_features: list[Line] = Field(min_length=1, description="Columns whose groups are compared.")
    metric: Line = Field(
        default="error_rate",
        description="Per-group metric (classification: error_rate, accuracy_score, selection_rate; regression: mean_absolute_error, root_mean_squared_error, error_rate).",
    )
    kind: Literal["difference", "ratio"] = Field(
        default="difference", description="difference (max - min) or ratio (min / max)."
    )
    threshold: float = Field(ge=0, description="difference: largest allowed gap; ratio: smallest allowed ratio (0..1).")
    positive_label: Line | None = Field(
        default=None,
        description="selection_rate: the favourable label (default: the largest label, as MLflow's pos_label).",
    )

    @field_validator("threshold", mode="before")
    @classmethod
    def _no_bool(cls, v: Any) -> Any:
        return _number(v)

    @model_validator(mode="after")
    def _ratio_range(self) -> Fairness:
        if self.kind == "ratio" and self.threshold > 1:
            raise ValueError("kind ratio: threshold is a ratio min/max between 0 and 1")
        return self


class Clarify(StrictModel):
    """SageMaker Clarify (optional; AWS no longer opens Clarify to new customers): render writes a
    CreateProcessingJob request (SHAP explainability, and bias for the fairness section's features)
    with its analysis_config.json. The held-out rows are read from S3 (upload data there yourself)."""

    image_uri: Line = Field(
        description="The Clarify processing image for the region (sagemaker.image_uris.retrieve('clarify', region))."
    )
    data_s3_uri: Line = Field(
        description="s3:// URI of the held-out CSV (the same rows as evaluation.data, with a header row)."
    )
    output_s3_uri: Line | None = Field(
        default=None,
        description="s3:// prefix for the results (default: s3://<artifact_bucket>/<prefix>/<name>/clarify/output).",
    )
    instance_type: Line = Field(default="ml.m5.xlarge", description="Processing instance type.")
    instance_count: int = Field(default=1, ge=1, le=100)
    shap_samples: int = Field(default=100, ge=1, le=10_000, description="SHAP: samples per row (num_samples).")


class Heatmap(StrictModel):
    """The error heatmap: error rate over a grid of one or two features (numbers binned by quantile)."""

    features: list[Line] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="One or two columns (default: the error tree's first two split features).",
    )
    bins: int = Field(default=5, ge=2, le=20, description="Bins per numeric feature (quantile edges).")


class EvaluationWaiver(StrictModel):
    """Accept one finding of the evaluation gate, with the reason recorded in every report and plan
    (the same shape as signature.waivers)."""

    rule: Line = Field(description="Rule id to waive: EVAL101, EVAL102, EVAL201, EVAL202, EVAL301.")
    field: Line | None = Field(
        default=None,
        description="Only this metric (EVAL1xx), cohort condition (EVAL2xx) or sensitive feature (EVAL301); default any.",
    )
    reason: str = Field(min_length=1, description="Why this finding is acceptable; shown in reports and plans.")

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, v: str) -> str:
        if v not in RULES:
            raise ValueError(f"unknown rule {v!r}; one of {', '.join(RULES)}")
        return v


class EvaluationSection(StrictModel):
    """Evaluate the model on held-out rows before it ships; a failing gate is a policy violation (exit 3)."""

    data: Line = Field(description="Held-out rows (CSV or Parquet), relative to deploy.yaml.")
    train_data: Line | None = Field(
        default=None,
        description="Training rows (CSV or Parquet), relative to deploy.yaml; needed by Azure ML's RAI job.",
    )
    target: Line = Field(description="The label column.")
    task: Literal["classification", "regression"] = Field(description="classification | regression.")
    features: list[Line] | None = Field(
        default=None, min_length=1, description="Columns passed to the model (default: every column but the target)."
    )
    categorical_features: list[Line] | None = Field(
        default=None, description="Columns treated as categories (default: the non-numeric columns)."
    )
    thresholds: dict[Line, MetricThresholdSpec] = Field(
        default_factory=empty_dict,
        description="MLflow MetricThreshold per metric name (accuracy_score, f1_score, r2_score, ...).",
    )
    cohorts: CohortGate = Field(default_factory=CohortGate)
    heatmap: Heatmap = Field(default_factory=Heatmap)
    baseline: Line = Field(
        default="none",
        description="deployed (the model running now) | a model source (as model.source) | none.",
    )
    fairness: Fairness | None = Field(default=None)
    batch_size: int = Field(default=5000, ge=1, le=1_000_000, description="Rows per scoring batch.")
    waivers: list[EvaluationWaiver] = Field(default_factory=empty_list, description="Findings accepted with a reason.")
    clarify: Clarify | None = Field(
        default=None, description="sagemaker target: also render a SageMaker Clarify processing job request (optional)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationSection:
        problems = []
        known = METRICS[self.task]
        for name in self.thresholds:
            if name not in known:
                problems.append(f"thresholds: unknown {self.task} metric {name!r} (one of {', '.join(known)})")
        no_baseline = self.baseline == "none"
        if no_baseline:
            compared = sorted(n for n, t in self.thresholds.items() if t.compares)
            if compared:
                problems.append(
                    f"thresholds {', '.join(compared)}: min_absolute_change/min_relative_change compare with a "
                    "baseline, and baseline is none"
                )
            if self.cohorts.max_regression is not None:
                problems.append("cohorts.max_regression compares with a baseline, and baseline is none")
        if self.fairness is not None and self.fairness.metric not in FAIRNESS_METRICS[self.task]:
            problems.append(
                f"fairness.metric {self.fairness.metric!r} is not a per-group {self.task} metric "
                f"(one of {', '.join(FAIRNESS_METRICS[self.task])})"
            )
        if self.task == "regression" and self.cohorts.error_threshold is None:
            needs = [k for k in ("max_error_rate", "max_regression") if getattr(self.cohorts, k) is not None]
            if self.fairness is not None and self.fairness.metric == "error_rate":
                needs.append("fairness error_rate")
            if needs:
                problems.append(
                    f"task regression: {', '.join(needs)} need cohorts.error_threshold (the absolute error above "
                    "which a row counts as wrong)"
                )
        if self.features is not None and self.target in self.features:
            problems.append(f"features: the target {self.target!r} cannot be a feature")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def data_paths(section: EvaluationSection) -> dict[str, str]:
    """The files the section names, by key."""
    out = {"data": section.data}
    if section.train_data is not None:
        out["train_data"] = section.train_data
    return out


SUPPORTED_SUFFIXES = (".csv", ".parquet", ".pq")


def path_diagnostics(
    section: EvaluationSection | None,
    base_dir: Path,
    at: Any,
    display: str,
) -> list[Diagnostic]:
    """Located errors for data files that are missing, not files, or of an unknown format. ``at`` maps a
    data path such as ``("evaluation", "data")`` to (line, col) — ``Positions.at`` of the loaded spec."""
    if section is None:
        return []
    out = []
    for key, rel in data_paths(section).items():
        line, col = at(("evaluation", key))
        p = Path(rel)
        full = p if p.is_absolute() else base_dir / p
        if Path(rel).suffix.lower() not in SUPPORTED_SUFFIXES:
            out.append(
                Diagnostic(display, line, col, f"evaluation.{key}: {rel!r} is not a .csv or .parquet file", "MD130")
            )
        elif not full.exists():
            out.append(
                Diagnostic(
                    display, line, col, f"evaluation.{key}: {rel!r} does not exist (relative to deploy.yaml)", "MD130"
                )
            )
        elif not full.is_file():
            out.append(Diagnostic(display, line, col, f"evaluation.{key}: {rel!r} is not a file", "MD130"))
    return out


def waived(
    rule: str, fields: tuple[str, ...], waivers: list[EvaluationWaiver] | tuple[EvaluationWaiver, ...]
) -> str | None:
    """The reason of the first waiver matching ``rule`` and one of ``fields`` (or any field)."""
    for w in waivers:
        if w.rule == rule and (w.field is None or w.field in fields):
            return w.reason
    return None


def describe(section: EvaluationSection) -> Mapping[str, Any]:
    """The section as plain data (for reports)."""
    return section.model_dump(mode="json")
