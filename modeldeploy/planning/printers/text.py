"""The Terraform-like text view of plans (optionally coloured) for a terminal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeldeploy.model.findings import Finding
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.planning.printers.common import (
    _breaking_total,
    _change,
    _eval_cohort,
    _eval_fairness,
    _eval_rule,
    _eval_total,
    _eval_verdict,
    _finding_message,
    _finding_status,
    _noun,
    _num,
    _plan_title,
    _plural,
    _safe_change,
    _sorted_findings,
    _unchanged_count,
    _visible,
    lease_line,
    model_line,
    summary_line,
    way_forward,
)
from modeldeploy.planning.redact import mask_url_credentials

_RESET = "\x1b[0m"


_COLORS = {
    Action.CREATE: "\x1b[32m",  # green
    Action.UPDATE: "\x1b[33m",  # yellow
    Action.DELETE: "\x1b[31m",  # red
    Action.REPLACE: "\x1b[35m",  # magenta
    Action.NOOP: "",
}


_BOLD, _RED, _GREEN, _YELLOW, _CYAN, _DIM = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[2m"


@dataclass(frozen=True)
class _Paint:
    enabled: bool

    def __call__(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.enabled and code and text else text

    def diff_line(self, line: str) -> str:
        if line.startswith(("---", "+++")):
            return self(_BOLD, line)
        if line.startswith("@@"):
            return self(_CYAN, line)
        if line.startswith("+"):
            return self(_GREEN, line)
        if line.startswith("-"):
            return self(_RED, line)
        return line


_FINDING_MARK = {"breaking": "✗", "warning": "!", "info": "i", "waived": "✓"}


def _text_evaluation(ev: Mapping[str, Any], paint: _Paint) -> list[str]:
    ok = ev.get("passed") and not any(not f.get("waived") for f in ev.get("findings") or ())
    out = [
        paint(_GREEN if ok else _RED, f"  evaluation gate: {_eval_verdict(ev)}")
        + f" — {ev.get('rows')} rows, scored by {ev.get('scored_by')}"
    ]
    out.append(f"    baseline: {ev.get('baseline')}")
    for m in ev.get("metrics") or ():
        mark = "ok  " if m.get("passed") else "FAIL"
        out.append(
            f"    {mark} {m['metric']}: candidate {_num(m.get('candidate'))}, baseline {_num(m.get('baseline'))}, threshold {_eval_rule(m)}"
        )
    cohorts = ev.get("cohorts") or ()
    if cohorts:
        limit = ev.get("max_error_rate")
        out.append("    worst cohorts" + (f" (max_error_rate {limit:g}):" if limit is not None else ":"))
        out.extend(f"      {_eval_cohort(c)}" for c in cohorts)
    for c in ev.get("regression_cohorts") or ():
        out.append(f"    newly wrong vs baseline: {_eval_cohort(c)}")
    for f in ev.get("fairness") or ():
        out.append(f"    {'ok  ' if f.get('passed') else 'FAIL'} fairness {_eval_fairness(f)}")
    for f in ev.get("findings") or ():
        if f.get("waived"):
            out.append(paint("", f"    ✓ waived   {f['rule']} {f['message']} (waived: {f['waived']})"))
        else:
            out.append(paint(_RED, f"    ✗ failing  {f['rule']} {f['message']}"))
    out.extend(f"    note: {n}" for n in ev.get("notes") or ())
    return out


def _text_finding(finding: Finding, paint: _Paint) -> str:
    status = _finding_status(finding)
    color = {"breaking": _RED, "warning": _YELLOW}.get(status, "")
    line = f"{_FINDING_MARK.get(status, '?')} {status:<8} {finding.rule} {finding.field}: {_change(finding)}: {_finding_message(finding)}"
    if finding.waived:
        line += f" (waived: {finding.waived})"
    return paint(color, line)


def _text_plan(plan: Plan, paint: _Paint, show_unchanged: bool) -> list[str]:
    out = [paint(_BOLD, _plan_title(plan))]
    if plan.no_baseline:
        out.append(paint(_YELLOW, f"  ! signature policy: {plan.no_baseline}"))
    if plan.source:
        out.append(f"  from: {plan.source}")
    if line := model_line(plan.model):
        out.append(f"  model: {line}")
    out.extend(f"  note: {mask_url_credentials(note)}" for note in plan.notes)
    if plan.lease:
        out.append(paint(_YELLOW, f"  lease: {lease_line(plan.lease)}"))
    if plan.policy:
        out.append(f"  signature policy ({plan.policy_mode}):")
        out.extend(f"    {_text_finding(f, paint)}" for f in _sorted_findings(plan))
    if plan.allow_breaking:
        out.append("  breaking signature changes allowed (--allow-breaking)")
    if plan.evaluation:
        out.extend(_text_evaluation(plan.evaluation, paint))
    visible = _visible(plan, show_unchanged)
    for change in map(_safe_change, visible):
        out.append("")
        head = f"  {paint(_COLORS[change.action], change.action.symbol)} {change.address}"
        if change.action is Action.REPLACE:
            head += f" (replace: {change.reason})"
        elif change.action is Action.NOOP:
            head = f"    {change.address} (no changes)"
        out.append(head)
        out.extend(f"      {paint.diff_line(line)}".rstrip() for line in change.diff.split("\n") if change.diff)
    hidden = 0 if show_unchanged else _unchanged_count(plan)
    if not plan.has_changes:
        out.append("")
        out.append("  no changes" + (f" ({_plural(hidden, _noun(plan))} up to date)" if hidden else ""))
    elif hidden:
        out.append("")
        out.append(f"  {_plural(hidden, 'unchanged ' + _noun(plan))} not shown")
    return out


def format_text(plans: Sequence[Plan], *, color: bool, show_unchanged: bool = False) -> str:
    """Terraform-like plan text for a terminal; ANSI colour only when ``color`` (the CLI passes isatty)."""
    paint = _Paint(color)
    lines: list[str] = []
    for plan in plans:
        lines.extend(_text_plan(plan, paint, show_unchanged))
        lines.append("")
    lines.append(paint(_BOLD, summary_line(plans)))
    breaking = _breaking_total(plans)
    if breaking:
        lines.append(paint(_RED, f"Signature policy: {_plural(breaking, 'breaking finding')} not waived."))
        lines.append(way_forward(plans))
    failing = _eval_total(plans)
    if failing:
        lines.append(paint(_RED, f"Evaluation gate: {_plural(failing, 'finding')} not waived."))
    return "\n".join(lines) + "\n"
