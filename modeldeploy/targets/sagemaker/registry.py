"""`model.register` on SageMaker: a model package in a model package group.

The group is ``model.register.name``; each distinct model digest becomes one package version, with
the digest in ``CustomerMetadataProperties`` so re-applying the same model finds it and creates
nothing. The package points at the same image and ``model.tar.gz`` the deployed SageMaker model
uses (read from the rendered CreateModel body), so what is registered is what serves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from modeldeploy.errors import RenderError
from modeldeploy.planning.plan import Action, Change
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.base import Auxiliary
from modeldeploy.targets.sagemaker.aws import Clients, call

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.progress import Progress

DIGEST_KEY = "modeldeploy.digest"
SOURCE_KEY = "modeldeploy.source"
_CONTENT_TYPES = ["application/json", "text/csv"]


@dataclass(frozen=True)
class PlannedPackage:
    group: str
    action: str  # "create" | "no-op"
    arn: str | None  # the existing package with this digest
    group_exists: bool


def package_request(ctx: RenderContext, artifacts: list[Artifact]) -> dict[str, Any]:
    """The CreateModelPackage body (without the group-creation call)."""
    reg = ctx.spec.model.registration
    if reg is None:
        raise RenderError("model.register is not set")
    create_model = next((a for a in artifacts if a.path == "sagemaker/CreateModel.json"), None)
    if create_model is None:
        raise RenderError("the SageMaker render has no CreateModel.json to register")
    container = json.loads(create_model.content)["PrimaryContainer"]
    metadata = {
        **{k: v for k, v in sorted(reg.tags.items())},
        DIGEST_KEY: ctx.ref.digest,
        SOURCE_KEY: ctx.ref.pinned_uri[:256],
    }
    body: dict[str, Any] = {
        "ModelPackageGroupName": reg.name,
        "ModelApprovalStatus": "Approved",
        "CustomerMetadataProperties": metadata,
        "InferenceSpecification": {
            "Containers": [{"Image": container["Image"], "ModelDataUrl": container["ModelDataUrl"]}],
            "SupportedContentTypes": _CONTENT_TYPES,
            "SupportedResponseMIMETypes": ["application/json"],
        },
    }
    if reg.description:
        body["ModelPackageDescription"] = reg.description[:1000]
    return body


def planned(clients: Clients, ctx: RenderContext) -> PlannedPackage:
    """Read-only: whether apply would create a package version for this model digest."""
    reg = ctx.spec.model.registration
    assert reg is not None
    sm = clients.get("sagemaker", ctx.spec.target.region)
    if not _group_exists(sm, reg.name):
        return PlannedPackage(reg.name, "create", None, False)
    arn = _package_with_digest(sm, reg.name, ctx.ref.digest)
    return PlannedPackage(reg.name, "no-op" if arn else "create", arn, True)


def register(clients: Clients, ctx: RenderContext, artifacts: list[Artifact]) -> tuple[str, bool]:
    """Create the group if needed and a package for this digest unless one exists.
    Returns (package ARN, created)."""
    reg = ctx.spec.model.registration
    assert reg is not None
    sm = clients.get("sagemaker", ctx.spec.target.region)
    plan = planned(clients, ctx)
    if plan.arn:
        return plan.arn, False
    if not plan.group_exists:
        tags = [{"Key": "modeldeploy:name", "Value": ctx.spec.name}]
        call(
            f"model package group {reg.name}",
            sm.create_model_package_group,
            ModelPackageGroupName=reg.name,
            ModelPackageGroupDescription=f"Registered by modeldeploy for {ctx.spec.name}",
            Tags=tags,
        )
    created = call(f"model package in {reg.name}", sm.create_model_package, **package_request(ctx, artifacts))
    return created["ModelPackageArn"], True


def _group_exists(sm: Any, group: str) -> bool:
    """Listing by name avoids parsing DescribeModelPackageGroup's "does not exist" message."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"NameContains": group}
        if token:
            kwargs["NextToken"] = token
        page = call(f"model package groups named {group}", sm.list_model_package_groups, **kwargs)
        if any(g["ModelPackageGroupName"] == group for g in page.get("ModelPackageGroupSummaryList", [])):
            return True
        token = page.get("NextToken")
        if not token:
            return False


def _package_with_digest(sm: Any, group: str, digest: str) -> str | None:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "SortBy": "CreationTime", "SortOrder": "Descending"}
        if token:
            kwargs["NextToken"] = token
        page = call(f"model packages in {group}", sm.list_model_packages, **kwargs)
        for summary in page.get("ModelPackageSummaryList", []):
            arn = summary["ModelPackageArn"]
            described = call(f"model package {arn}", sm.describe_model_package, ModelPackageName=arn)
            if (described.get("CustomerMetadataProperties") or {}).get(DIGEST_KEY) == digest:
                return arn
        token = page.get("NextToken")
        if not token:
            return None


class ModelPackage(Auxiliary):
    """``model.register`` as a model package version, after a successful apply. Plans against a folder
    or a git ref say nothing about it (they read no AWS state)."""

    stage: ClassVar[Literal["before", "after"]] = "after"

    def __init__(self, clients: Clients, ctx: RenderContext, artifacts: list[Artifact]) -> None:
        reg = ctx.spec.model.registration
        assert reg is not None
        self.clients, self.ctx, self.artifacts, self.reg = clients, ctx, artifacts, reg
        self.address = f"sagemaker_model_package.{reg.name}"

    def plan(self, options: ObserveOptions) -> Change:
        p = planned(self.clients, self.ctx)
        digest = self.ctx.ref.digest
        return Change(
            address=self.address,
            kind="sagemaker_model_package",
            name=self.reg.name,
            action=Action.NOOP if p.action == "no-op" else Action.CREATE,
            before={"arn": p.arn, "digest": digest} if p.arn else None,
            after={"group": self.reg.name, "digest": digest, "tags": dict(sorted(self.reg.tags.items()))},
        )

    def apply(self, progress: Progress, options: ObserveOptions) -> ApplyResult:
        arn, created = register(self.clients, self.ctx, self.artifacts)
        progress.step(("created " if created else "already registered: ") + arn)
        progress.done(f"registered {self.reg.name}: {arn}")
        return ApplyResult(changed=(f"model_package.{self.reg.name}",), outputs={"registered": arn})
