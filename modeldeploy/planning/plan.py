"""Plans are typed values: a list of Changes plus the policy findings and the fingerprints they were
computed against (so a saved plan can be refused when stale)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from modeldeploy.model.findings import Finding
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.resources import Observed


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "no-op": " "}[self.value]


@dataclass(frozen=True)
class Change:
    """One resource (or, against a folder/git ref, one file) and what happens to it.

    ``before``/``after`` are JSON-able data already redacted (secret values never reach a Change).
    ``reason`` always says why for a replace ("endpoint configs are immutable").
    """

    address: str
    kind: str
    name: str
    action: Action
    before: Any = None
    after: Any = None
    reason: str = ""
    diff: str = ""  # unified diff of the changed fields/lines, noise removed
    # Dotted paths (Resource.sensitive_paths) that printers redact again in before/after (defence in depth).
    sensitive_paths: tuple[str, ...] = ()
    # Plans against a folder or git ref: the objects inside this file that change
    # (planning.objects.ObjectChange, redacted), for the JSON plan's resource_changes.
    objects: tuple[Any, ...] = field(default=(), compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "name": self.name,
            "action": self.action.value,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Plan:
    """The plan for one deployment (one deploy.yaml + environment)."""

    name: str
    target: str
    env: str | None
    against: str  # "dir:PATH", "git:REF", "live"
    changes: tuple[Change, ...]
    policy: tuple[Finding, ...] = ()
    policy_mode: str = "none"
    model: Mapping[str, Any] = field(default_factory=dict)  # {"uri","pinned","digest","previous": {...}}
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source: str = ""  # the deploy.yaml this plan was made from (as given on the command line)
    allow_breaking: bool = False  # --allow-breaking was given; recorded so reviewers see it
    # Why the signature compatibility check had nothing to compare with (nothing deployed at the
    # folder, the git ref or live), in words; "" when it compared with a deployed version (or the
    # policy's compatibility is "none"). Every plan format prints it at the top.
    no_baseline: str = ""
    # A live plan's view of the deployment's lease when one is held: {"holder", "operation",
    # "acquired", "expires" (ISO times), "expired" (bool), "where", "gone" (why its holder is
    # provably gone, or "")}. None when none is held or the plan is not against live state.
    lease: Mapping[str, Any] | None = None
    # The evaluation gate's summary (modeldeploy.evaluation.planview) when the spec has evaluation:.
    evaluation: Mapping[str, Any] | None = None
    # What the plan was computed with, handed to the target's apply (never saved, never compared):
    # the run's options and, for a live plan, what observe() returned. A target keeps nothing on its
    # instance between observe() and apply(); what apply needs arrives through these.
    options: ObserveOptions | None = field(default=None, compare=False, repr=False)
    observed: Observed | None = field(default=None, compare=False, repr=False)

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    @property
    def breaking(self) -> list[Finding]:
        return [f for f in self.policy if f.severity == "breaking" and not f.waived]

    @property
    def evaluation_failing(self) -> list[Mapping[str, Any]]:
        """The evaluation gate's findings that are not waived (a failing gate: exit 3, apply refuses)."""
        if not self.evaluation:
            return []
        return [f for f in self.evaluation.get("findings") or () if not f.get("waived")]

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for c in self.changes:
            out[c.action.value] += 1
        return out
