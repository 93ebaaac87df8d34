"""Finding: one signature-policy result (produced by the compatibility rules in modeldeploy.model.compat,
carried by plans)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """A signature-policy finding (produced by modeldeploy.model.compat)."""

    rule: str
    severity: str  # breaking | warning | info
    field: str
    old: str
    new: str
    message: str
    waived: str | None = None  # the waiver's reason, when waived

    def change(self) -> str:
        """``double (required) → (removed)``: a side that does not exist is named, never left blank."""
        old, new = str(self.old or ""), str(self.new or "")
        if not old:
            return f"(added) {new}" if new else "(none)"
        return f"{old} → {new or '(removed)'}"

    def line(self) -> str:
        """``SIG111 inputs.x: double → float: type narrowed: old values are rejected`` — the field,
        its change and the message, each once (the message names neither)."""
        change = self.change()
        return f"{self.rule} {self.field}: " + (f"{change}: " if change != "(none)" else "") + self.message

    def to_json(self) -> dict[str, Any]:
        out = {
            "rule": self.rule,
            "severity": self.severity,
            "field": self.field,
            "old": self.old,
            "new": self.new,
            "message": self.message,
        }
        if self.waived:
            out["waived"] = self.waived
        return out
