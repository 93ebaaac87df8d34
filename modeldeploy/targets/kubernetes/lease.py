"""The kubernetes target's lease: a ``coordination.k8s.io/v1`` Lease named ``<name>-modeldeploy`` in
the deployment's namespace — the object Kubernetes itself uses for leader election.

create is a POST (409 when it exists); renew and steal are a PUT carrying the resourceVersion that
was read (409 when anyone changed it since); release is a DELETE with a resourceVersion precondition.
``holderIdentity``, ``acquireTime``, ``renewTime`` and ``leaseDurationSeconds`` are the standard
fields (expiry = renewTime + leaseDurationSeconds, as kubectl and controllers read it); the operation
and the exact expiry are kept in annotations. The Lease is not a member of the deployment's ApplySet,
so plan/prune never touch it. It needs RBAC verbs get/create/update/delete on ``leases``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from modeldeploy.lease import LeaseRecord
from modeldeploy.targets.kubernetes import meta

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.targets.kubernetes.api import KubeApi

A_OPERATION = "modeldeploy.io/lease-operation"
A_EXPIRES = "modeldeploy.io/lease-expires"
SUFFIX = "-modeldeploy"


def lease_name(name: str) -> str:
    # Deployment names are DNS labels of at most 63 characters; a Lease name may be 253.
    return f"{name}{SUFFIX}"


def _micro(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: Any) -> float:
    if not text:
        return 0.0
    value = str(text).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return 0.0


class KubernetesLeaseBackend:
    def __init__(self, api: KubeApi, namespace: str, name: str):
        self.api = api
        self.namespace = namespace
        self.name = lease_name(name)
        self.deployment = name
        self.where = f"Lease {namespace}/{self.name}"

    def _object(self, record: LeaseRecord, resource_version: str | None = None) -> dict[str, Any]:
        md: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": {meta.INSTANCE: self.deployment, meta.MANAGED_BY: meta.MANAGER},
            "annotations": {
                meta.A_NAME: self.deployment,
                A_OPERATION: record.operation,
                A_EXPIRES: repr(record.expires),
            },
        }
        if resource_version is not None:
            md["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": md,
            "spec": {
                "holderIdentity": record.holder,
                "leaseDurationSeconds": max(1, int(round(record.expires - record.renewed))),
                "acquireTime": _micro(record.acquired),
                "renewTime": _micro(record.renewed),
            },
        }

    @staticmethod
    def _record(obj: dict[str, Any]) -> LeaseRecord:
        spec = obj.get("spec") or {}
        ann = (obj.get("metadata") or {}).get("annotations") or {}
        renewed = _parse(spec.get("renewTime"))
        try:
            expires = float(ann[A_EXPIRES])
        except (KeyError, ValueError):
            expires = renewed + float(spec.get("leaseDurationSeconds") or 0)
        return LeaseRecord(
            holder=str(spec.get("holderIdentity") or "(no holder)"),
            operation=str(ann.get(A_OPERATION, "apply")),
            acquired=_parse(spec.get("acquireTime")) or renewed,
            renewed=renewed,
            expires=expires,
        )

    def read(self) -> tuple[LeaseRecord, Any] | None:
        obj = self.api.get("lease", self.namespace, self.name)
        if obj is None:
            return None
        return self._record(obj), str(obj["metadata"].get("resourceVersion", ""))

    def create(self, record: LeaseRecord) -> Any | None:
        from modeldeploy.targets.kubernetes.api import Conflict

        try:
            out = self.api.create(self._object(record))
        except Conflict:
            return None
        return str((out or {}).get("metadata", {}).get("resourceVersion", ""))

    def replace(self, record: LeaseRecord, token: Any) -> Any | None:
        from modeldeploy.targets.kubernetes.api import Conflict, NotFound

        try:
            out = self.api.replace(self._object(record, str(token)))
        except (Conflict, NotFound):
            return None
        return str((out or {}).get("metadata", {}).get("resourceVersion", ""))

    def delete(self, token: Any) -> bool:
        from modeldeploy.targets.kubernetes.api import Conflict

        try:
            return self.api.delete(
                "lease", self.namespace, self.name, propagation="Background", resource_version=str(token)
            )
        except Conflict:
            return False
