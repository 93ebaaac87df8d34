"""The report as plain text (what ``evaluate`` prints)."""

from __future__ import annotations

from typing import Any


def _n(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def summary(report: Any) -> str:
    title = report.name + (f" [{report.env}]" if report.env else "")
    lines = [
        f"Evaluation of {title}: {'passed' if report.passed else 'FAILED'} ({report.rows} rows, scored by {report.scorer}, baseline {report.baseline})"
    ]
    if report.checks:
        lines.append("Metrics:")
        for c in report.checks:
            rule = []
            cmp = ">=" if c.greater_is_better else "<="
            if c.threshold is not None:
                rule.append(f"{cmp} {c.threshold:g}")
            if c.min_absolute_change is not None:
                rule.append(f"change >= {c.min_absolute_change:g}")
            if c.min_relative_change is not None:
                rule.append(f"relative change >= {c.min_relative_change:g}")
            lines.append(
                f"  {'ok  ' if c.passed else 'FAIL'} {c.metric}: candidate {_n(c.candidate)}, baseline {_n(c.baseline)}, needs {', '.join(rule)}"
            )
    lines.append("Worst cohorts:")
    for c in report.cohorts[: report.settings["show"]]:
        extra = "" if c.baseline_errors is None else f" (baseline {c.baseline_errors}/{c.n})"
        lines.append(f"  {c.summary()}{extra}")
    for f in report.fairness:
        lines.append(
            f"Fairness {f.metric} by {f.feature}: {f.kind} {_n(f.disparity)} (threshold {f.threshold:g}): "
            + ", ".join(f"{g.group} {_n(g.value)} (n={g.n})" for g in f.groups)
        )
    for f in report.findings:
        lines.append(f"  {f.rule} {f.message}" + (f" (waived: {f.waived})" if f.waived else ""))
    for n in report.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines)
