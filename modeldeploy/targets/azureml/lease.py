"""The Azure ML target's lease: a tag ``modeldeploy.lease`` on the deployment's endpoint holding the
lease record as compact JSON (holder, operation, acquired/renewed/expires epoch seconds).

Azure ML gives no conditional write: the azure-ai-ml entities carry no ETag and an endpoint update is
a PUT of the whole entity. So the compare-and-set is emulated, and it is *not* atomic:

* every tag write is read → compare the tag with the token (the tag text last read) → set only the
  ``modeldeploy.lease`` tag on the entity just read → PUT (``AzureMLClient.update_endpoint_tags``) →
  re-read and check the tag is exactly what we wrote (a later writer that overtook us is seen here);
* in this process all endpoint PUTs (lease writes from the renewal thread, the apply's endpoint
  PUT, traffic and default-deployment updates) are serialised by one lock per endpoint
  (:class:`EndpointGuard`), so a renewal never PUTs back a stale traffic map or spec;
* the apply re-reads the tag before each step that changes the endpoint or its deployments and stops
  with ``LeaseHeld`` when another holder's tag is on it (see ``target._ApplyRun``).

The remaining race: the emulated compare-and-set is not atomic. (1) Two runs that both *read* the
endpoint before either's tag PUT lands both see "no lease" and both write; each re-reads after its
PUT, the run whose tag is on the endpoint goes on, and a run that re-read before the other's PUT
landed is stopped at its next checkpoint (before the endpoint PUT, the deployment PUT and the traffic
shift) — so at most the step in progress runs twice, and it is an idempotent PUT. (2) First apply:
the endpoint is the lease's home, so there is no lease before it exists (or after a destroy/replace
deleted it). The lease is then *pending*: this process keeps it, and the apply's own
endpoint-creating PUT writes it as one of the endpoint's tags (the apply creates a new endpoint
before registering the model for this reason); right after that PUT the apply re-reads and stops if
another run's tag landed last. But a run that read "no endpoint" and whose create PUT lands only
after the other run *finished* cannot tell that from a sequential re-apply: both proceed. Azure's
endpoint PUT is create-or-update (the SDK offers no create-only or If-None-Match), so name
uniqueness does not help. The late PUT re-reads the live endpoint under its lock first, carrying
its traffic, and the rest of its steps are the same idempotent PUTs: the workspace converges.
(3) While the apply's own endpoint PUT/DELETE runs (minutes on Azure), renewal is deferred (it
would PUT a stale entity); if that call outlasts the lease, other runs see the tag expired and can
take it over with ``--steal-lease`` only.

Plans never show the tag: ``resources.normalise_endpoint`` drops it from desired and live bodies, and
the apply's endpoint PUT carries the live lease tag through (deploy.yaml's tags replace the rest).
ARM tag values are limited to 256 characters; a holder id that would not fit is shortened (its
middle replaced by a hash), and this backend maps it back to the full id it wrote.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modeldeploy.lease import LeaseHeld, LeaseRecord, iso
from modeldeploy.targets.azureml.naming import ARM_TAG_MAX
from modeldeploy.targets.azureml.resources import LEASE_TAG

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.targets.azureml.workspace import AzureMLAPI, EndpointState

TAG_LEASE = LEASE_TAG  # "modeldeploy.lease"


@dataclass
class EndpointGuard:
    """Per endpoint and per process: the lock all endpoint PUTs take, and the lease record this
    process holds (``held``, the tag text; set while pending too, when the endpoint does not exist)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    held: str | None = None
    full_holders: dict[str, str] = field(default_factory=dict)  # shortened holder id -> full id

    def holder_of(self, tag: str | None) -> str | None:
        if not tag:
            return None
        record = decode(tag)
        return self.full_holders.get(record.holder, record.holder)


def encode(record: LeaseRecord) -> str:
    """Compact JSON that fits an ARM tag value (times to the millisecond; a long holder shortened)."""

    def text(holder: str) -> str:
        data = {
            "holder": holder,
            "operation": record.operation,
            "acquired": round(record.acquired, 3),
            "renewed": round(record.renewed, 3),
            "expires": round(record.expires, 3),
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    out = text(record.holder)
    if len(out) > ARM_TAG_MAX:
        keep = max(8, len(record.holder) - (len(out) - ARM_TAG_MAX) - 10)
        digest = hashlib.sha256(record.holder.encode()).hexdigest()[:8]
        out = text(f"{record.holder[: keep // 2]}~{digest}~{record.holder[-(keep - keep // 2) :]}")
    return out


def decode(tag: str) -> LeaseRecord:
    try:
        return LeaseRecord.from_json(tag)
    except (ValueError, KeyError, TypeError):
        # A tag someone edited by hand: treat as expired so --steal-lease can replace it.
        return LeaseRecord("(unreadable lease tag)", "apply", 0.0, 0.0, 0.0)


def lease_tag(endpoint: EndpointState | None) -> str | None:
    return None if endpoint is None else (endpoint.tags or {}).get(TAG_LEASE) or None


class EndpointTagLeaseBackend:
    def __init__(self, client: AzureMLAPI, endpoint: str, workspace: str, guard: EndpointGuard):
        self.client = client
        self.endpoint = endpoint
        self.guard = guard
        self.where = f"tag {TAG_LEASE} on endpoint {endpoint} in workspace {workspace}"

    def _record(self, tag: str) -> LeaseRecord:
        record = decode(tag)
        full = self.guard.full_holders.get(record.holder)
        if full is None:
            return record
        return LeaseRecord(full, record.operation, record.acquired, record.renewed, record.expires)

    def _text(self, record: LeaseRecord) -> str:
        text = encode(record)
        self.guard.full_holders[decode(text).holder] = record.holder
        return text

    def _write(self, text: str | None) -> bool:
        """Set (or with None remove) the lease tag, then re-read: True when the tag is what we wrote."""
        after = self.client.update_endpoint_tags(self.endpoint, {TAG_LEASE: text})
        if after is None:
            return False
        return lease_tag(self.client.get_endpoint(self.endpoint)) == text

    # -- LeaseBackend --

    def read(self) -> tuple[LeaseRecord, Any] | None:
        live = self.client.get_endpoint(self.endpoint)
        tag = lease_tag(live) if live is not None else self.guard.held  # a pending lease of this process
        return None if tag is None else (self._record(tag), tag)

    def create(self, record: LeaseRecord) -> Any | None:
        text = self._text(record)
        with self.guard.lock:
            live = self.client.get_endpoint(self.endpoint)
            if live is None:  # pending: the apply's endpoint-creating PUT writes it
                if self.guard.held is not None:
                    return None  # another run in this process holds it pending
                self.guard.held = text
                return text
            if lease_tag(live) is not None or not self._write(text):
                return None
            self.guard.held = text
            return text

    def replace(self, record: LeaseRecord, token: Any) -> Any | None:
        text = self._text(record)
        if not self.guard.lock.acquire(blocking=False):
            # The apply is in the middle of an endpoint PUT/DELETE (it carries the tag through): a
            # renewal PUT now could undo it. Defer: keep the token, the next tick writes the expiry.
            return token if token == self.guard.held else None
        try:
            live = self.client.get_endpoint(self.endpoint)
            current = lease_tag(live)
            if live is None or current is None:
                # No lease on the target (endpoint not created yet, deleted by our destroy/replace, or
                # created without the tag): only our own pending lease can be renewed.
                if token != self.guard.held:
                    return None
                if live is not None and not self._write(text):
                    return None
                self.guard.held = text
                return text
            if current != token or not self._write(text):
                return None
            self.guard.held = text
            return text
        finally:
            self.guard.lock.release()

    def delete(self, token: Any) -> bool:
        with self.guard.lock:
            mine = token == self.guard.held
            if mine:
                self.guard.held = None  # only the holder releases: whatever the target says, we stop carrying it
            live = self.client.get_endpoint(self.endpoint)
            current = lease_tag(live)
            if current is None:
                return mine
            return current == token and self._write(None)


def check(guard: EndpointGuard, endpoint: str, live: EndpointState | None) -> str | None:
    """The tag to carry through an endpoint PUT; raises LeaseHeld when another run's lease is on the
    endpoint while this process holds (or waits to write) its own."""
    current = lease_tag(live)
    if guard.held is None or current is None:
        return current or guard.held
    theirs = guard.holder_of(current)
    if theirs != guard.holder_of(guard.held):
        record = decode(current)
        raise LeaseHeld(
            f"endpoint {endpoint} is leased by {theirs} since {iso(record.acquired)} (lease expires {iso(record.expires)}); "
            "this run stops before changing it",
            hint=f"another apply/destroy took the lease (tag {TAG_LEASE}) while this one was starting; run plan again once it is done",
        )
    return current


def with_tag(spec: Mapping[str, Any], tag: str | None) -> dict[str, Any]:
    """An endpoint spec whose tags carry ``tag`` as the lease (deploy.yaml's tags otherwise)."""
    tags = {k: v for k, v in dict(spec.get("tags") or {}).items() if k != TAG_LEASE}
    if tag:
        tags[TAG_LEASE] = tag
    return {**spec, "tags": tags}
