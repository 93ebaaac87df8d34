"""Waiting for a rollout, and explaining a failed one from the pods and their events."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modeldeploy import interrupt
from modeldeploy.targets.kubernetes.api import KubeApi
from modeldeploy.targets.kubernetes.meta import selector_labels


@dataclass(frozen=True)
class Status:
    done: bool
    text: str
    failed: str | None = None  # why the rollout cannot succeed any more


def _condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return None


def deployment_status(d: Mapping[str, Any]) -> Status:
    """kubectl rollout status, as data: the new ReplicaSet is observed, fully updated and available."""
    spec = d.get("spec") or {}
    status = d.get("status") or {}
    generation = (d.get("metadata") or {}).get("generation", 0)
    if status.get("observedGeneration", 0) < generation:
        return Status(False, "waiting for the controller to observe the new spec")
    progressing = _condition(d, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Status(
            False,
            "progress deadline exceeded",
            failed=f"ProgressDeadlineExceeded: {progressing.get('message', '')}".rstrip(": "),
        )
    want = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    text = f"{updated}/{want} updated, {available} available"
    if updated < want:
        return Status(False, text)
    if total > updated:
        return Status(False, f"{text}, {total - updated} old pending termination")
    if available < updated:
        return Status(False, text)
    return Status(True, text)


def inference_service_status(isvc: Mapping[str, Any]) -> Status:
    status = isvc.get("status") or {}
    generation = (isvc.get("metadata") or {}).get("generation", 0)
    if "observedGeneration" in status and status["observedGeneration"] < generation:
        return Status(False, "waiting for KServe to observe the new spec")
    ready = _condition(isvc, "Ready")
    if ready is None:
        return Status(False, "no Ready condition yet")
    if ready.get("status") == "True":
        url = status.get("url")
        return Status(True, f"ready{' at ' + url if url else ''}")
    reason = ready.get("reason") or "not ready"
    return Status(False, f"{reason}: {ready.get('message', '')}".rstrip(": "))


STATUS = {"deployment": deployment_status, "inferenceservice": inference_service_status}


def wait(
    api: KubeApi, kind: str, namespace: str, name: str, *, timeout: float, poll: float, report: Callable[[str], None]
) -> Status:
    """Poll until done, failed or timed out; ``report`` gets every status line."""
    check = STATUS[kind]
    deadline = time.monotonic() + timeout
    while True:
        obj = api.get(kind, namespace, name)
        if obj is None:
            return Status(False, "gone", failed=f"{kind} {namespace}/{name} disappeared during the rollout")
        st = check(obj)
        report(st.text)
        if st.done or st.failed:
            return st
        if time.monotonic() >= deadline:
            return Status(False, st.text, failed=f"timed out after {timeout:g}s ({st.text})")
        interrupt.sleep(poll)  # a stop request wakes it (safe point)


def wait_gone(api: KubeApi, kind: str, namespace: str, name: str, *, timeout: float, poll: float) -> bool:
    deadline = time.monotonic() + timeout
    while api.get(kind, namespace, name) is not None:
        if time.monotonic() >= deadline:
            return False
        interrupt.sleep(poll)  # a stop request wakes it (safe point)
    return True


def pod_problems(api: KubeApi, namespace: str, name: str, limit: int = 10) -> list[str]:
    """Why the pods of a deployment are not ready: container waiting/terminated reasons and Warning events."""
    selector = ",".join(f"{k}={v}" for k, v in selector_labels(name).items())
    lines: list[str] = []
    for p in sorted(api.list("pod", namespace, label_selector=selector), key=lambda p: p["metadata"]["name"]):
        pod_name = p["metadata"]["name"]
        status = p.get("status") or {}
        reasons = []
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            for key in ("waiting", "terminated"):
                s = state.get(key)
                if s and s.get("reason") not in (None, "Completed"):
                    msg = (s.get("message") or "").splitlines()[0] if s.get("message") else ""
                    reasons.append(f"{cs.get('name')}: {s['reason']}{': ' + msg if msg else ''}")
            last = (cs.get("lastState") or {}).get("terminated")
            if last and last.get("reason"):
                reasons.append(f"{cs.get('name')}: last exit {last['reason']} (code {last.get('exitCode')})")
        for ev in api.list("event", namespace, field_selector=f"involvedObject.name={pod_name}"):
            if ev.get("type") == "Warning":
                reasons.append(
                    f"event {ev.get('reason')}: {(ev.get('message') or '').splitlines()[0] if ev.get('message') else ''}".rstrip(
                        ": "
                    )
                )
        if reasons:
            lines.append(f"pod {pod_name} ({status.get('phase', '?')}): " + "; ".join(dict.fromkeys(reasons)))
        if len(lines) >= limit:
            break
    return lines
