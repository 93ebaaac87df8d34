"""What the three plan printers share: counts and the summary line, the model line, finding wording,
the evaluation gate's values, the lease line, and redacting a change again on the way out."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from typing import Any

from modeldeploy.model.findings import Finding
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.redact import mask_url_credentials, redact_text, scrub

_SUMMARY_KEYS = (
    ("add", Action.CREATE),
    ("change", Action.UPDATE),
    ("replace", Action.REPLACE),
    ("destroy", Action.DELETE),
)


_NO_CHANGES = "No changes. The current state matches the desired deployment."


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
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _same_place(uri: str, pinned: str) -> bool:
    """``./model`` and ``model`` name one folder: showing ``./model → model`` would read as a change."""
    if uri == pinned:
        return True
    if _SCHEME.match(uri) or _SCHEME.match(pinned):
        return False
    return posixpath.normpath(uri) == posixpath.normpath(pinned)


def model_line(model: Mapping[str, Any]) -> str:
    """``models:/iris@champion → models:/iris/4 (champion: 3 → 4), digest sha256:abcd… → sha256:ef01…``."""
    model = scrub(model)
    if not model or not model.get("uri"):
        return ""
    uri, pinned = str(model["uri"]), str(model.get("pinned") or model.get("pinned_uri") or "")
    previous = dict(model.get("previous") or {})
    previous.setdefault("pinned", previous.get("pinned_uri"))
    text = uri if not pinned or _same_place(uri, pinned) else f"{uri} → {pinned}"
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
    """ "file" when the plan compares files (against a folder or git ref), else "resource"."""
    return "file" if plan.changes and all(c.kind == "file" for c in plan.changes) else "resource"


def _breaking_total(plans: Sequence[Plan]) -> int:
    return sum(len(p.breaking) for p in plans)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


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
    return (
        f"{f['metric']} by {f['feature']}: {f['kind']} {_num(f.get('value'))} (threshold {f['threshold']:g}): {groups}"
    )


def _eval_verdict(ev: Mapping[str, Any]) -> str:
    failing = [f for f in ev.get("findings") or () if not f.get("waived")]
    return "passed" if not failing else f"FAILED ({_plural(len(failing), 'finding')} not waived)"


def _eval_total(plans: Sequence[Plan]) -> int:
    return sum(len(p.evaluation_failing) for p in plans)


def _change(finding: Finding) -> str:
    """``double (required) → (removed)``: a side that does not exist is named, never left blank."""
    return finding.change()


def _finding_message(finding: Finding) -> str:
    """The rule's message without a leading ``name: old → new`` the line already shows."""
    message = str(finding.message)
    name = str(finding.field).split(".", 1)[-1]
    for prefix in (f"{finding.field}: ", f"{name}: "):
        if message.startswith(prefix) and " → " in message:
            rest = message[len(prefix) :]
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


def lease_line(lease: Mapping[str, Any]) -> str:
    """``held by X (apply) since T, expires E at WHERE`` — and what the next apply does about it."""
    state = "expired" if lease.get("expired") else "expires"
    line = (
        f"held by {lease.get('holder')} ({lease.get('operation')}) since {lease.get('acquired')}, "
        f"{state} {lease.get('expires')} at {lease.get('where')}"
    )
    if lease.get("gone"):
        return f"{line}; stale: {lease['gone']} (the next apply clears it)"
    if lease.get("expired"):
        return f"{line}; its holder stopped renewing it (--steal-lease takes it over)"
    return f"{line}; an apply now waits (--lease-wait) or stops"
