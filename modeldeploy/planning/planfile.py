"""Saved plan files (``modeldeploy plan --out FILE`` / ``modeldeploy apply FILE``).

A saved plan is a human-readable JSON file: the plans (redacted before/after and diffs, one line per
list item), the ``inputs`` it was computed from (deploy.yaml sha256s, model digests), the live
``fingerprints`` it saw (ETag/resourceVersion per address), and whether it was applied. Its id is
the sha256 of that canonical content, so any edit is detected on load.

Apply refuses a plan when its inputs or the live objects changed since it was made
(:func:`check_fresh`) and when it was applied already (:func:`ensure_not_applied`, :func:`mark_applied`).
Files are written atomically: a temp file in the same folder, fsync, ``os.replace``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeldeploy.atomic import write_atomic
from modeldeploy.errors import PlanError, RenderError, StalePlanError
from modeldeploy.model.findings import Finding
from modeldeploy.planning.formats import readable
from modeldeploy.planning.objects import ObjectChange, objects_json
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.printers import plan_to_json
from modeldeploy.planning.redact import redact_text, scrub
from modeldeploy.rendering.canonical import dump_json

FORMAT_VERSION = "1"  # see planning/formats.py: any 1.x is read, another major is refused
KIND = "modeldeploy-plan"
ABOUT = (
    "modeldeploy saved plan. Apply it with `modeldeploy apply <this file>`; apply refuses it once applied "
    "or when an input or a live object changed since it was made. Values shown as (sensitive) were redacted."
)
_MAX_LISTED = 8  # changed inputs/objects named in a stale-plan message before "and N more"


@dataclass(frozen=True)
class SavedPlan:
    """A plan file as loaded: its id, the plans, and what they were computed from."""

    path: str
    plan_id: str
    plans: tuple[Plan, ...]
    inputs: Mapping[str, str] = field(default_factory=dict)
    applied: bool = False
    result: Mapping[str, Any] | None = None

    @property
    def short_id(self) -> str:
        return self.plan_id[:12]

    @property
    def fingerprints(self) -> dict[str, str]:
        """Address → fingerprint over every plan in the file."""
        out: dict[str, str] = {}
        for plan in self.plans:
            out.update(plan.fingerprints)
        return out


# ---- writing --------------------------------------------------------------------------------------


def _plan_record(plan: Plan) -> dict[str, Any]:
    record = plan_to_json(plan)  # redacted before/after, model, notes
    record.pop("resource_changes")  # made again from the changes (and their objects) when loaded
    for entry, change in zip(record["changes"], plan.changes, strict=False):
        entry["diff"] = redact_text(change.diff).split("\n") if change.diff else []
        entry["sensitive_paths"] = list(change.sensitive_paths)
        if change.objects:
            entry["objects"] = objects_json(change.objects)
    record["fingerprints"] = {str(k): str(v) for k, v in sorted(plan.fingerprints.items())}
    return record


def _content(plans: Sequence[Plan], inputs: Mapping[str, str]) -> dict[str, Any]:
    return {
        "about": ABOUT,
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "inputs": {str(k): str(v) for k, v in sorted(inputs.items())},
        "plans": [_plan_record(p) for p in plans],
    }


def _plan_id(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(dump_json(dict(content))).hexdigest()


def _serialise(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> bytes:
    try:
        return dump_json(dict(doc))
    except (TypeError, ValueError, RenderError) as exc:
        raise PlanError(
            f"cannot write plan file {os.fspath(path)}: the plan holds data that is not JSON ({exc})"
        ) from exc


def save_plan(path: str | os.PathLike[str], plans: Sequence[Plan], *, inputs: Mapping[str, str]) -> str:
    """Write the plans to ``path`` (atomically) and return the plan id (sha256 of the content).

    ``inputs`` maps each input to its digest: deploy.yaml path → sha256, model URI → model digest.
    Nothing is written when the plans cannot be serialised.
    """
    content = _content(plans, inputs)
    _serialise(content, path)  # fail before touching the disk
    plan_id = _plan_id(content)
    doc = {**content, "plan_id": plan_id, "applied": False, "result": None}
    write_atomic(path, _serialise(doc, path))
    return plan_id


# ---- reading --------------------------------------------------------------------------------------


def _finding(data: Mapping[str, Any]) -> Finding:
    return Finding(
        rule=str(data["rule"]),
        severity=str(data["severity"]),
        field=str(data["field"]),
        old=str(data["old"]),
        new=str(data["new"]),
        message=str(data["message"]),
        waived=data.get("waived"),
    )


def _change(data: Mapping[str, Any]) -> Change:
    diff = data.get("diff") or []
    if not isinstance(diff, list):
        raise ValueError("a change's diff must be a list of lines")
    return Change(
        address=str(data["address"]),
        kind=str(data["kind"]),
        name=str(data["name"]),
        action=Action(data["action"]),
        before=data.get("before"),
        after=data.get("after"),
        reason=str(data.get("reason") or ""),
        diff="\n".join(str(line) for line in diff),
        sensitive_paths=tuple(str(p) for p in data.get("sensitive_paths") or ()),
        objects=tuple(
            ObjectChange(
                address=str(o["address"]),
                kind=str(o["type"]),
                action=str(o["change"]["actions"][-1]),
                before=o["change"].get("before"),
                after=o["change"].get("after"),
                file=str(o.get("file") or ""),
            )
            for o in data.get("objects") or ()
        ),
    )


def _plan(data: Mapping[str, Any]) -> Plan:
    return Plan(
        name=str(data["name"]),
        target=str(data["target"]),
        env=data.get("env"),
        against=str(data["against"]),
        changes=tuple(_change(c) for c in data["changes"]),
        policy=tuple(_finding(f) for f in data.get("policy") or ()),
        policy_mode=str(data.get("policy_mode") or "none"),
        model=dict(data.get("model") or {}),
        fingerprints={str(k): str(v) for k, v in (data.get("fingerprints") or {}).items()},
        notes=tuple(str(n) for n in data.get("notes") or ()),
        source=str(data.get("source") or ""),
        allow_breaking=bool(data.get("allow_breaking", False)),
        no_baseline=str(data.get("no_baseline") or ""),
        evaluation=_evaluation(data.get("evaluation")),
    )


def _evaluation(data: Any) -> Mapping[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("findings", []), list):
        raise ValueError("a plan's evaluation must be an object with a findings list")
    return data


def load_plan(path: str | os.PathLike[str]) -> SavedPlan:
    """Read and check a plan file: known format version, intact content (id matches), well-formed plans."""
    where = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PlanError(f"cannot read plan file {where}: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{where} is not a modeldeploy plan file (not JSON: {exc})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise PlanError(f'{where} is not a modeldeploy plan file (no "kind": "{KIND}")')
    version = doc.get("format_version")
    if not readable(version, int(FORMAT_VERSION.split(".")[0])):
        raise PlanError(
            f"plan file {where} has format_version {version!r}; this modeldeploy reads {FORMAT_VERSION!r}",
            hint="make the plan again with this version of modeldeploy",
        )
    content = {k: doc.get(k) for k in ("about", "format_version", "kind", "inputs", "plans")}
    plan_id = doc.get("plan_id")
    if plan_id != _plan_id(content):
        raise PlanError(
            f"plan file {where} was changed after it was saved (its content does not match its plan id)",
            hint="make a new plan; saved plans must not be edited",
        )
    try:
        plans = tuple(_plan(p) for p in doc["plans"])
        inputs = {str(k): str(v) for k, v in doc["inputs"].items()}
        result = doc.get("result")
        if result is not None and not isinstance(result, dict):
            raise ValueError("result must be an object")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanError(f"plan file {where} is malformed: {exc!s}") from exc
    return SavedPlan(where, str(plan_id), plans, inputs, doc.get("applied") is True, result)


# ---- apply-time checks ----------------------------------------------------------------------------


def _differences(kind: str, saved: Mapping[str, str], current: Mapping[str, str], words: tuple[str, str]) -> list[str]:
    out = []
    for key in sorted(set(saved) | set(current)):
        if key not in current:
            out.append(f"{kind} {key} ({words[0]})")
        elif key not in saved:
            out.append(f"{kind} {key} ({words[1]})")
        elif saved[key] != current[key]:
            out.append(f"{kind} {key}")
    return out


def stale_reasons(
    saved: SavedPlan, current_inputs: Mapping[str, str], current_fingerprints: Mapping[str, str]
) -> list[str]:
    """What changed since the plan was made: inputs first, then live objects. Empty when fresh."""
    return _differences("input", saved.inputs, current_inputs, ("removed", "added")) + _differences(
        "live object", saved.fingerprints, current_fingerprints, ("deleted", "created")
    )


def check_fresh(saved: SavedPlan, current_inputs: Mapping[str, str], current_fingerprints: Mapping[str, str]) -> None:
    """Raise StalePlanError naming what changed (inputs: deploy.yaml/model digests; live fingerprints)."""
    reasons = stale_reasons(saved, current_inputs, current_fingerprints)
    if not reasons:
        return
    listed = ", ".join(reasons[:_MAX_LISTED])
    if len(reasons) > _MAX_LISTED:
        listed += f" and {len(reasons) - _MAX_LISTED} more"
    raise StalePlanError(
        f"plan is stale: {listed} changed since it was made",
        hint="run `modeldeploy plan` again and review the new plan",
    )


def ensure_not_applied(saved: SavedPlan) -> None:
    if saved.applied:
        raise PlanError(
            f"plan {saved.short_id} was already applied (recorded in {saved.path}); a saved plan is applied once",
            hint="run `modeldeploy plan` again for a new plan",
        )


def _lock_path(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    return target.with_name(target.name + ".lock")


@contextlib.contextmanager
def applying(path: str | os.PathLike[str], plan_id: str) -> Iterator[None]:
    """Hold an exclusive lock file beside the plan while applying it, so two applies cannot race.

    The lock is removed on exit (success or error); a lock left by a killed process is reported with
    its path so a person can remove it after checking nothing is running.
    """
    lock = _lock_path(path)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError as exc:
        raise PlanError(
            f"plan {plan_id[:12]} is being applied by another process (lock file {lock})",
            hint="if no apply is running, an earlier one was interrupted: check the live state, then delete the lock file",
        ) from exc
    with os.fdopen(fd, "w") as fh:
        fh.write(plan_id + "\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)


def mark_applied(path: str | os.PathLike[str], plan_id: str, *, result: Mapping[str, Any] | None = None) -> None:
    """Record atomically in the plan file that it was applied (``applied: true`` and the redacted result)."""
    saved = load_plan(path)
    if saved.plan_id != plan_id:
        raise PlanError(f"plan file {saved.path} holds plan {saved.short_id}, not {plan_id[:12]}")
    ensure_not_applied(saved)
    doc = json.loads(Path(path).read_bytes().decode("utf-8"))
    doc["applied"] = True
    doc["result"] = scrub(dict(result)) if result is not None else {}
    write_atomic(path, _serialise(doc, path))
