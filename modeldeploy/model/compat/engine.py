"""Walking two signatures into Changes and judging each with the comparison rules; the policy checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from modeldeploy.model.compat.base import MODES, Change, Rule, describe, field_name
from modeldeploy.model.compat.rules import COMPARISON_RULES
from modeldeploy.model.compat.rules.policy import InputKindNotAllowed, SignatureMissing
from modeldeploy.model.findings import Finding
from modeldeploy.model.signature import ParamSpec, Schema, Signature


def _pairs(old: Schema | None, new: Schema | None, part: str) -> Iterator[Change]:
    o = old.keyed() if old is not None else {}
    n = new.keyed() if new is not None else {}
    for key in [*o, *[k for k in n if k not in o]]:
        a, b = o.get(key), n.get(key)
        if a != b:
            yield Change(f"{part}.{key}", a, b)


def _schema_changes(old: Schema | None, new: Schema | None, part: str) -> Iterator[Change]:
    yield Change(part, old, new)
    if (
        old is None
        or new is None
        or old.kind != new.kind
        or (old.specs and new.specs and old.has_names != new.has_names)
    ):
        return  # the whole schema changed shape; per-field findings would only repeat it
    yield from _pairs(old, new, part)


def _param_changes(old: Sequence[ParamSpec] | None, new: Sequence[ParamSpec] | None) -> Iterator[Change]:
    o = {p.name: p for p in old or ()}
    n = {p.name: p for p in new or ()}
    for key in [*o, *[k for k in n if k not in o]]:
        if o.get(key) != n.get(key):
            yield Change(f"params.{key}", o.get(key), n.get(key))


def changes(old: Signature | None, new: Signature | None) -> list[Change]:
    """Every difference between two signatures, in a stable order (inputs, outputs, params)."""
    if old is None or new is None:
        return [Change("signature", old, new)] if old is not new else []
    out = list(_schema_changes(old.inputs, new.inputs, "inputs"))
    out += _schema_changes(old.outputs, new.outputs, "outputs")
    out += _param_changes(old.params, new.params)
    return out


def _finding(rule: type[Rule], change: Change, severity: str) -> Finding:
    return Finding(
        rule=rule.id,
        severity=severity,
        field=change.field,
        old=describe(change.old),
        new=describe(change.new),
        message=rule.message(change),
    )


def apply_waivers(findings: Iterable[Finding], waivers: Iterable[Any]) -> list[Finding]:
    """Mark findings matched by a waiver (same rule; ``field`` absent, the full field such as
    ``inputs.age``, or just the name ``age``) with the waiver's reason."""
    waivers = list(waivers)
    out = []
    for f in findings:
        for w in waivers:
            if w.rule == f.rule and (w.field is None or w.field in (f.field, field_name(f.field))):
                f = replace(f, waived=w.reason)
                break
        out.append(f)
    return out


def check(old: Signature | None, new: Signature | None, mode: str, waivers: Iterable[Any] = ()) -> list[Finding]:
    """Findings for deploying ``new`` where ``old`` runs, judged by ``mode``.

    ``waivers`` are ``modeldeploy.spec.models.Waiver`` values (anything with rule, field, reason).
    """
    if mode not in MODES:
        raise ValueError(f"unknown compatibility mode {mode!r} (one of {', '.join(MODES)})")
    if mode == "none":
        return []
    found = []
    for change in changes(old, new):
        for rule in COMPARISON_RULES:
            if rule.applies(change):
                found.append(_finding(rule, change, rule.severity(mode) or "info"))
    return apply_waivers(found, waivers)


def check_input_kinds(sig: Signature | None, allowed: Iterable[str] | None) -> list[Finding]:
    """SIG902 when the signature's input kind (columns | tensors) is not among ``allowed``."""
    if allowed is None or sig is None or sig.inputs is None:
        return []
    allowed = list(allowed)
    if sig.inputs.kind in allowed:
        return []
    return [
        Finding(
            rule=InputKindNotAllowed.id,
            severity="breaking",
            field="inputs",
            old=", ".join(allowed),
            new=sig.inputs.kind,
            message="input kind not allowed: signature.input_kinds does not list it",
        )
    ]


def check_required(sig: Signature | None, required: bool) -> list[Finding]:
    """SIG901 when ``signature.required`` is set and the model has no signature."""
    if not required or sig is not None:
        return []
    return [
        Finding(
            rule=SignatureMissing.id,
            severity="breaking",
            field="signature",
            old="",
            new="",
            message="the model has no signature and signature.required is true; log it with a signature",
        )
    ]


def is_breaking(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "breaking" and not f.waived for f in findings)
