"""The versioned JSON view of plans (``format_version`` 1.x, schemas/plan.schema.json)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modeldeploy.planning.formats import PLAN_JSON, format_version
from modeldeploy.planning.objects import objects_json, sensitive_mask, terraform_actions
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.planning.printers.common import _safe_change, summary
from modeldeploy.planning.redact import mask_url_credentials, scrub
from modeldeploy.rendering.canonical import dump_json

FORMAT_VERSION = format_version(PLAN_JSON)


_ACTION_REASONS = {Action.REPLACE: "replace_because_cannot_update"}


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
