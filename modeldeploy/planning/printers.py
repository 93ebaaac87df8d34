"""Three views of the same plans: Terraform-like text, a GitHub PR comment (markdown), versioned JSON.

All three are pure and deterministic (identical plans → identical bytes; no clock) and all of them
redact again on the way out: declared sensitive paths, secret-looking env values and URL passwords
in before/after, the same in diff text. See docs/plan.md for the formats.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from modeldeploy.model.findings import Finding
from modeldeploy.planning.formats import PLAN_JSON, format_version
from modeldeploy.planning.objects import objects_json, sensitive_mask, terraform_actions
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.redact import mask_url_credentials, redact_text, scrub
from modeldeploy.rendering.canonical import dump_json

FORMAT_VERSION = format_version(PLAN_JSON)
GITHUB_COMMENT_LIMIT = 65_536
MARKDOWN_BUDGET = 60_000  # leave room for what a CI wrapper adds around the comment

_SUMMARY_KEYS = (("add", Action.CREATE), ("change", Action.UPDATE), ("replace", Action.REPLACE), ("destroy", Action.DELETE))
_NO_CHANGES = "No changes. The current state matches the desired deployment."

_RESET = "\x1b[0m"
_COLORS = {
    Action.CREATE: "\x1b[32m",  # green
    Action.UPDATE: "\x1b[33m",  # yellow
    Action.DELETE: "\x1b[31m",  # red
    Action.REPLACE: "\x1b[35m",  # magenta
    Action.NOOP: "",
}
_BOLD, _RED, _GREEN, _YELLOW, _CYAN, _DIM = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[2m"


# ---- shared helpers -------------------------------------------------------------------------------


def summary(plans: Sequence[Plan]) -> dict[str, int]:
    """``{"add", "change", "replace", "destroy"}`` summed over plans (no-ops not counted), plus the
    policy findings: ``breaking`` (not waived), ``blocked`` (breaking and not allowed by
    --allow-breaking: the plan cannot be applied), ``warnings``."""
    out = {key: 0 for key, _ in _SUMMARY_KEYS}
    for plan in plans:
        for change in plan.changes:
            for key, action in _SUMMARY_KEYS:
                if change.action is action:
                    out[key] += 1
    out["breaking"] = sum(len(p.breaking) for p in plans)
    out["blocked"] = sum(len(p.breaking) for p in plans if not p.allow_breaking)
    out["warnings"] = sum(1 for p in plans for f in p.policy if f.severity == "warning" and not f.waived)
    return out


def summary_line(plans: Sequence[Plan]) -> str:
    counts = summary(plans)
    if not any(counts.values()):
        return _NO_CHANGES
    return (
        f"Plan: {counts['add']} to add, {counts['change']} to change, "
        f"{counts['replace']} to replace, {counts['destroy']} to destroy."
    )


def _safe_change(change: Change) -> Change:
    """The change with before/after/diff redacted again (changes built elsewhere are not trusted)."""
    return Change(
        address=change.address,
        kind=change.kind,
        name=change.name,
        action=change.action,
        before=scrub(change.before, change.sensitive_paths),
        after=scrub(change.after, change.sensitive_paths),
        reason=mask_url_credentials(change.reason),
        diff=redact_text(change.diff),
        sensitive_paths=change.sensitive_paths,
    )


def _short_digest(digest: str) -> str:
    algo, _, hexpart = str(digest).partition(":")
    if not hexpart:
        return str(digest)[:12] + ("…" if len(str(digest)) > 12 else "")
    return f"{algo}:{hexpart[:12]}…" if len(hexpart) > 12 else f"{algo}:{hexpart}"


_VERSION_IN_URI = re.compile(r"^models:/[^/@]+/(\d+)$")


def model_line(model: Mapping[str, Any]) -> str:
    """``models:/iris@champion → models:/iris/4 (champion: 3 → 4), digest sha256:abcd… → sha256:ef01…``."""
    model = scrub(model)
    if not model or not model.get("uri"):
        return ""
    uri, pinned = str(model["uri"]), str(model.get("pinned") or model.get("pinned_uri") or "")
    previous = dict(model.get("previous") or {})
    previous.setdefault("pinned", previous.get("pinned_uri"))
    text = uri if not pinned or pinned == uri else f"{uri} → {pinned}"
    version = model.get("version")
    if version is None and (m := _VERSION_IN_URI.match(pinned)):
        version = m.group(1)
    old_version = previous.get("version")
    digest, old_digest = model.get("digest"), previous.get("digest")
    if version is None and old_version is None and previous.get("pinned"):
        if previous["pinned"] != pinned:
            text += f" (was {previous['pinned']})"
        elif not (digest and old_digest and old_digest != digest):  # same place, new contents: the digest says it
            text += " (unchanged)"
    elif version is not None:
        label = model.get("alias") or "version"
        if old_version is not None and str(old_version) != str(version):
            text += f" ({label}: {old_version} → {version})"
        else:
            text += f" ({label}: {version})"
    if digest:
        if old_digest and old_digest != digest:
            text += f", digest {_short_digest(old_digest)} → {_short_digest(digest)}"
        else:
            text += f", digest {_short_digest(digest)}"
    return text


def _plan_title(plan: Plan) -> str:
    parts = [plan.target] + ([f"env {plan.env}"] if plan.env else [])
    return f"{plan.name} ({', '.join(parts)}) against {plan.against}"


def _finding_status(finding: Finding) -> str:
    return "waived" if finding.waived else finding.severity


def _sorted_findings(plan: Plan) -> list[Finding]:
    rank = {"breaking": 0, "warning": 1, "info": 2}
    return sorted(plan.policy, key=lambda f: (bool(f.waived), rank.get(f.severity, 3), f.rule, f.field))


def _visible(plan: Plan, show_unchanged: bool) -> list[Change]:
    return [c for c in plan.changes if show_unchanged or c.action is not Action.NOOP]


def _unchanged_count(plan: Plan) -> int:
    return sum(1 for c in plan.changes if c.action is Action.NOOP)


def _noun(plan: Plan) -> str:
    """"file" when the plan compares files (against a folder or git ref), else "resource"."""
    return "file" if plan.changes and all(c.kind == "file" for c in plan.changes) else "resource"


def _breaking_total(plans: Sequence[Plan]) -> int:
    return sum(len(p.breaking) for p in plans)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# ---- the evaluation gate (a plan's ``evaluation`` summary) ----------------------------------------


def _num(v: Any) -> str:
    return "-" if v is None else f"{float(v):.4g}"


def _eval_rule(m: Mapping[str, Any]) -> str:
    cmp = ">=" if m.get("greater_is_better") else "<="
    parts = []
    if m.get("threshold") is not None:
        parts.append(f"{cmp} {m['threshold']:g}")
    if m.get("min_absolute_change") is not None:
        parts.append(f"change >= {m['min_absolute_change']:g} vs baseline")
    if m.get("min_relative_change") is not None:
        parts.append(f"relative change >= {m['min_relative_change']:g} vs baseline")
    return ", ".join(parts) or "-"


def _eval_cohort(c: Mapping[str, Any]) -> str:
    text = f"{c['condition']}: {c['errors']}/{c['n']} wrong"
    if c.get("baseline_errors") is not None:
        text += f" (baseline {c['baseline_errors']}/{c['n']})"
    return text


def _eval_fairness(f: Mapping[str, Any]) -> str:
    groups = ", ".join(f"{g['group']} {_num(g['value'])} (n={g['n']})" for g in f.get("groups") or ())
    return f"{f['metric']} by {f['feature']}: {f['kind']} {_num(f.get('value'))} (threshold {f['threshold']:g}): {groups}"


def _eval_verdict(ev: Mapping[str, Any]) -> str:
    failing = [f for f in ev.get("findings") or () if not f.get("waived")]
    return "passed" if not failing else f"FAILED ({_plural(len(failing), 'finding')} not waived)"


def _eval_total(plans: Sequence[Plan]) -> int:
    return sum(len(p.evaluation_failing) for p in plans)


def _text_evaluation(ev: Mapping[str, Any], paint: _Paint) -> list[str]:
    ok = ev.get("passed") and not any(not f.get("waived") for f in ev.get("findings") or ())
    out = [paint(_GREEN if ok else _RED, f"  evaluation gate: {_eval_verdict(ev)}") + f" — {ev.get('rows')} rows, scored by {ev.get('scored_by')}"]
    out.append(f"    baseline: {ev.get('baseline')}")
    for m in ev.get("metrics") or ():
        mark = "ok  " if m.get("passed") else "FAIL"
        out.append(f"    {mark} {m['metric']}: candidate {_num(m.get('candidate'))}, baseline {_num(m.get('baseline'))}, threshold {_eval_rule(m)}")
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


def _md_evaluation(plan: Plan) -> list[str]:
    ev = plan.evaluation
    if not ev:
        return []
    failing = plan.evaluation_failing
    out = [f"**{'❌' if failing else '✅'} Evaluation gate: {_md_cell(_eval_verdict(ev))}** — {ev.get('rows')} rows, scored by {_md_cell(str(ev.get('scored_by')))}", ""]
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
        out += [f"- {_md_code(c['condition'])}: {c['errors']}/{c['n']} wrong" + (f" (baseline {c['baseline_errors']}/{c['n']})" if c.get("baseline_errors") is not None else "") for c in cohorts]
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


# ---- text -----------------------------------------------------------------------------------------


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


def _change(finding: Finding) -> str:
    """``double (required) → (removed)``: a side that does not exist is named, never left blank."""
    return finding.change()


def _finding_message(finding: Finding) -> str:
    """The rule's message without a leading ``name: old → new`` the line already shows."""
    message = str(finding.message)
    name = str(finding.field).split(".", 1)[-1]
    for prefix in (f"{finding.field}: ", f"{name}: "):
        if message.startswith(prefix) and " → " in message:
            rest = message[len(prefix):]
            head, _, tail = rest.partition(" (")
            if " → " in head and tail.endswith(")"):
                return tail[:-1]
    return message


def way_forward(plans: Sequence[Plan]) -> str:
    """How to proceed past breaking findings, naming the first one: a waiver with a reason, or
    --allow-breaking; both end up on record in the plan."""
    first = next((f for p in plans for f in _sorted_findings(p) if f.severity == "breaking" and not f.waived), None)
    rule, field = (first.rule, str(first.field).split(".", 1)[-1]) if first else ("RULE", "FIELD")
    return (
        "hint: if the change is intended, waive each finding with a reason in deploy.yaml "
        f'(signature.waivers: [{{rule: {rule}, field: {field}, reason: "why it is safe"}}]) '
        "or pass --allow-breaking; either way it is recorded in the plan"
    )


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


# ---- markdown -------------------------------------------------------------------------------------

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
        blocks.append(_MdBlock(f"<details><summary>{html.escape(label, quote=False)}</summary>", lines, _fence_for(change.diff)))
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
            out += ["> ⚠️ Some diffs were shortened to fit a GitHub comment; run `modeldeploy plan` for the full plan.", ""]
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


# ---- JSON -----------------------------------------------------------------------------------------


def lease_line(lease: Mapping[str, Any]) -> str:
    """``held by X (apply) since T, expires E at WHERE`` — and what the next apply does about it."""
    state = "expired" if lease.get("expired") else "expires"
    line = (f"held by {lease.get('holder')} ({lease.get('operation')}) since {lease.get('acquired')}, "
            f"{state} {lease.get('expires')} at {lease.get('where')}")
    if lease.get("gone"):
        return f"{line}; stale: {lease['gone']} (the next apply clears it)"
    if lease.get("expired"):
        return f"{line}; its holder stopped renewing it (--steal-lease takes it over)"
    return f"{line}; an apply now waits (--lease-wait) or stops"


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """One plan in the documented JSON shape (format_version 1.x), redacted."""
    out = _plan_json(plan)
    if plan.lease:  # only when held, so plans without a lease keep their exact shape
        out["lease"] = dict(plan.lease)
    if plan.evaluation is not None:  # only for specs with evaluation: (older plans keep their shape)
        out["evaluation"] = dict(plan.evaluation)
    return out


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "target": plan.target,
        "env": plan.env,
        "against": plan.against,
        "source": plan.source,
        "model": scrub(dict(plan.model)),
        "policy_mode": plan.policy_mode,
        "allow_breaking": plan.allow_breaking,
        "policy": [f.to_json() for f in plan.policy],
        "notes": [mask_url_credentials(n) for n in plan.notes],
        "no_baseline": plan.no_baseline or None,
        "changes": [_safe_change(c).to_json() for c in plan.changes],
        "resource_changes": resource_changes(plan),
        "summary": summary([plan]),
    }


_ACTION_REASONS = {Action.REPLACE: "replace_because_cannot_update"}


def resource_changes(plan: Plan) -> list[dict[str, Any]]:
    """Terraform-style ``resource_changes``: one entry per object that changes, with its structured,
    redacted before and after. A live plan's changes are objects already (the Kubernetes object, the
    SageMaker request, the Azure ML spec); a folder or git plan's are the objects parsed back out of
    each changed file (planning/objects.py)."""
    out: list[dict[str, Any]] = []
    for change in plan.changes:
        if change.action is Action.NOOP:
            continue
        if change.kind == "file":
            out.extend(objects_json(change.objects))
            continue
        safe = _safe_change(change)
        entry: dict[str, Any] = {
            "address": safe.address,
            "type": safe.kind,
            "name": safe.name,
            "change": {
                "actions": terraform_actions(safe.action.value),
                "before": safe.before,
                "after": safe.after,
                "before_sensitive": sensitive_mask(safe.before),
                "after_sensitive": sensitive_mask(safe.after),
            },
        }
        if change.action in _ACTION_REASONS:
            entry["action_reason"] = _ACTION_REASONS[change.action]
        if safe.reason:
            entry["reason"] = safe.reason
        out.append(entry)
    return out


def format_json(plans: Sequence[Plan]) -> str:
    """``{"format_version": "1.1", "plans": [...], "summary": {...}}``, sorted keys; see schemas/plan.schema.json
    and docs/plan-json.md."""
    doc = {"format_version": FORMAT_VERSION, "plans": [plan_to_json(p) for p in plans], "summary": summary(plans)}
    return dump_json(doc).decode("utf-8")
