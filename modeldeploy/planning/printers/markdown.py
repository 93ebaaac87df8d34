"""The GitHub PR comment view of plans (markdown), kept under the comment size limit by shortening
diffs evenly and saying so."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from modeldeploy.model.findings import Finding
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.planning.printers.common import (
    _breaking_total,
    _eval_cohort,
    _eval_fairness,
    _eval_rule,
    _eval_total,
    _eval_verdict,
    _finding_message,
    _finding_status,
    _noun,
    _num,
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

GITHUB_COMMENT_LIMIT = 65_536


MARKDOWN_BUDGET = 60_000  # leave room for what a CI wrapper adds around the comment


def _md_evaluation(plan: Plan) -> list[str]:
    ev = plan.evaluation
    if not ev:
        return []
    failing = plan.evaluation_failing
    out = [
        f"**{'❌' if failing else '✅'} Evaluation gate: {_md_cell(_eval_verdict(ev))}** — {ev.get('rows')} rows, scored by {_md_cell(str(ev.get('scored_by')))}",
        "",
    ]
    out += [f"baseline: {_md_cell(str(ev.get('baseline')))}", ""]
    if ev.get("metrics"):
        out += ["| | Metric | Candidate | Baseline | Threshold |", "|---|---|---|---|---|"]
        for m in ev["metrics"]:
            out.append(
                f"| {'✅' if m.get('passed') else '❌'} | {_md_code(m['metric'])} | {_num(m.get('candidate'))} | "
                f"{_num(m.get('baseline'))} | {_md_cell(_eval_rule(m))} |"
            )
        out.append("")
    cohorts = ev.get("cohorts") or ()
    if cohorts:
        limit = ev.get("max_error_rate")
        out += ["Worst cohorts" + (f" (max_error_rate {limit:g})" if limit is not None else "") + ":", ""]
        out += [
            f"- {_md_code(c['condition'])}: {c['errors']}/{c['n']} wrong"
            + (f" (baseline {c['baseline_errors']}/{c['n']})" if c.get("baseline_errors") is not None else "")
            for c in cohorts
        ]
        out.append("")
    if ev.get("regression_cohorts"):
        out += ["Newly wrong against the baseline:", ""]
        out += [f"- {_md_cell(_eval_cohort(c))}" for c in ev["regression_cohorts"]]
        out.append("")
    for f in ev.get("fairness") or ():
        out += [f"{'✅' if f.get('passed') else '❌'} fairness: {_md_cell(_eval_fairness(f))}", ""]
    findings = ev.get("findings") or ()
    if findings:
        out += ["| | Rule | Finding |", "|---|---|---|"]
        for f in findings:
            status = "✅ waived" if f.get("waived") else "❌ failing"
            msg = _md_cell(f["message"]) + (f" — waived: {_md_cell(f['waived'])}" if f.get("waived") else "")
            out.append(f"| {status} | {_md_code(f['rule'])} | {msg} |")
        out.append("")
    out += [f"> note: {_md_cell(n)}" for n in ev.get("notes") or ()]
    if ev.get("notes"):
        out.append("")
    return out


_MD_MARK = {"breaking": "❌", "warning": "⚠️", "info": "ℹ️", "waived": "✅"}


_TRUNCATION_NOTE_RESERVE = 160


def _md_cell(text: str) -> str:
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _md_code(text: str) -> str:
    text = str(text).replace("\n", " ")
    if not text:
        return ""
    if "`" in text:
        return f"`` {text} ``".replace("|", "\\|")
    return f"`{text}`".replace("|", "\\|")


def _fence_for(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md_findings(plans: Sequence[Plan]) -> list[str]:
    rows = [(plan, f) for plan in plans for f in _sorted_findings(plan)]
    if not rows:
        return []
    breaking = _breaking_total(plans)
    statuses = {_finding_status(f) for _, f in rows}
    mark = "❌" if breaking else "⚠️" if "warning" in statuses else "ℹ️"
    title = f"### {mark} Signature policy"
    if breaking:
        title += f": {_plural(breaking, 'breaking change')} not waived"
    out = [title, "", "| | Deployment | Rule | Field | Change | Finding |", "|---|---|---|---|---|---|"]
    for plan, f in rows:
        status = _finding_status(f)
        message = _md_cell(_finding_message(f)) + (f" — waived: {_md_cell(f.waived)}" if f.waived else "")
        out.append(
            f"| {_MD_MARK.get(status, '')} {status} | {_md_cell(plan.name)} | {_md_code(f.rule)} | "
            f"{_md_code(f.field)} | {_md_change(f)} | {message} |"
        )
    out.append("")
    if breaking:
        out += [f"> {_md_cell(way_forward(plans))}", ""]
    return out


def _md_change(f: Finding) -> str:
    old, new = str(f.old or ""), str(f.new or "")
    if not old:
        return f"(added) {_md_code(new)}" if new else "(none)"
    return f"{_md_code(old)} → {_md_code(new) if new else '(removed)'}"


def _md_diff_lines(diff: str) -> list[str]:
    return [line if line[:1] in ("+", "-", " ", "@", "\\") else f" {line}" for line in diff.split("\n")]


@dataclass
class _MdBlock:
    head: str
    diff_lines: list[str]
    fence: str


def _md_plan_head(plan: Plan) -> list[str]:
    env = f", env {_md_code(plan.env)}" if plan.env else ""
    out = [f"#### {_md_cell(plan.name)} ({_md_cell(plan.target)}{env}) — against {_md_code(plan.against)}", ""]
    if plan.source:
        out += [f"from {_md_code(plan.source)}", ""]
    if line := model_line(plan.model):
        out += [f"model: {_md_cell(line)}", ""]
    out += [f"> note: {_md_cell(mask_url_credentials(n))}" for n in plan.notes]
    if plan.lease:
        out += [f"> 🔒 lease: {_md_cell(lease_line(plan.lease))}"]
    if plan.allow_breaking:
        out += ["> ⚠️ breaking signature changes allowed (`--allow-breaking`)"]
    if plan.notes or plan.allow_breaking or plan.lease:
        out.append("")
    out += _md_evaluation(plan)
    return out


def _md_blocks(plan: Plan) -> list[_MdBlock]:
    blocks = []
    for change in map(_safe_change, _visible(plan, False)):
        label = f"{change.action.symbol} {change.address} ({change.action.value}"
        label += f": {change.reason})" if change.action is Action.REPLACE else ")"
        lines = _md_diff_lines(change.diff) if change.diff else []
        blocks.append(
            _MdBlock(f"<details><summary>{html.escape(label, quote=False)}</summary>", lines, _fence_for(change.diff))
        )
    return blocks


def _render_block(block: _MdBlock, cap: int | None) -> list[str]:
    lines = block.diff_lines
    if cap is not None and sum(len(line) + 1 for line in lines) > cap:
        kept: list[str] = []
        used = 0
        for line in lines:
            if used + len(line) + 1 > cap:
                break
            kept.append(line)
            used += len(line) + 1
        lines = kept + [f" … {len(block.diff_lines) - len(kept)} more lines not shown (comment size limit)"]
    if not block.diff_lines:
        return [block.head, "", "(no diff to show)", "", "</details>"]
    return [block.head, "", f"{block.fence}diff", *lines, block.fence, "", "</details>"]


def _diff_cap(sizes: list[int], budget: int) -> int | None:
    """The largest per-diff size so that all diffs together fit ``budget`` (None: everything fits)."""
    if sum(sizes) <= budget:
        return None
    remaining, left = budget, len(sizes)
    for size in sorted(sizes):
        share = remaining // left
        if size > share:
            return max(share, 0)
        remaining -= size
        left -= 1
    return max(remaining, 0)


def format_markdown(plans: Sequence[Plan]) -> str:
    """A PR comment: summary, policy findings table, then one collapsible diff per changed resource.

    Diffs are truncated (fairly: small ones kept whole) when the comment would exceed ~60,000
    characters, well inside GitHub's 65,536 limit.
    """
    top = ["### modeldeploy plan", "", f"**{summary_line(plans)}**", ""]
    unchecked = [p for p in plans if p.no_baseline]
    for p in unchecked:
        env = f" (env {_md_code(p.env)})" if p.env else ""
        top.append(f"> ⚠️ **{_md_cell(p.name)}**{env} signature policy: {_md_cell(p.no_baseline)}")
    if unchecked:
        top.append("")
    top += _md_findings(plans)
    if _eval_total(plans):
        top += [f"### ❌ Evaluation gate: {_plural(_eval_total(plans), 'finding')} not waived", ""]
    sections: list[tuple[list[str], list[_MdBlock], list[str]]] = []
    for plan in plans:
        hidden = _unchanged_count(plan)
        tail = [f"_{_plural(hidden, 'unchanged ' + _noun(plan))} not shown._", ""] if hidden else []
        if not plan.has_changes:
            tail = ["No changes." + (f" ({_plural(hidden, _noun(plan))} up to date)" if hidden else ""), ""]
        sections.append((_md_plan_head(plan), _md_blocks(plan), tail))

    def assemble(cap: int | None, truncated: bool) -> str:
        out = list(top)
        if truncated:
            out += [
                "> ⚠️ Some diffs were shortened to fit a GitHub comment; run `modeldeploy plan` for the full plan.",
                "",
            ]
        for head, blocks, tail in sections:
            out += head
            for block in blocks:
                out += _render_block(block, cap) + [""]
            out += tail
        return "\n".join(out).rstrip("\n") + "\n"

    full = assemble(None, False)
    if len(full) <= MARKDOWN_BUDGET:
        return full
    blocks = [b for _, bs, _ in sections for b in bs]
    fixed = len(assemble(0, True)) + _TRUNCATION_NOTE_RESERVE * len(blocks)
    cap = _diff_cap([sum(len(line) + 1 for line in b.diff_lines) for b in blocks], MARKDOWN_BUDGET - fixed)
    text = assemble(cap if cap is not None else 0, True)
    if len(text) > GITHUB_COMMENT_LIMIT:  # even the headings do not fit: cut whole lines at the end
        cut = text[: GITHUB_COMMENT_LIMIT - 200].rsplit("\n", 1)[0]
        text = cut + "\n\n… plan cut here (comment size limit); run `modeldeploy plan` for the full plan.\n"
    return text
