"""apply() and destroy() for the SageMaker target.

apply runs the plan in dependency order and every step is idempotent (look before create), so an
interrupted apply converges when run again:

1. model.tar.gz: skipped when the object exists with the same ``modeldeploy-model-digest`` metadata;
   otherwise the folder's digest is re-checked, the deterministic archive written to a temp file and
   uploaded (multipart for large models).
2. CreateModel / CreateEndpointConfig under content-derived names (skipped when the name exists).
3. CreateEndpoint, or UpdateEndpoint with the rendered DeploymentConfig (the rollout strategy);
   then tags are synced and the ``endpoint_in_service`` waiter is polled with progress. A failed
   create or a rolled-back update is an ApplyError carrying SageMaker's FailureReason.
4. RegisterScalableTarget + PutScalingPolicy (both upserts).
5. Batch: CreateTransformJob (skipped when the job exists) and wait for it to finish.
6. The plan's deletes: old configs/models/model.tar.gz objects (the previous ones are kept for
   rollback by observe's choice), scaling policies no longer wanted, an endpoint no longer wanted.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from modeldeploy import interrupt
from modeldeploy.errors import ApplyError, TargetError
from modeldeploy.planning.plan import Action
from modeldeploy.planning.resources import ApplyResult, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.sagemaker import requests as rq
from modeldeploy.targets.sagemaker.aws import Clients, call, find
from modeldeploy.targets.sagemaker.naming import TAG_NAME, tags_dict
from modeldeploy.targets.sagemaker.reader import Reader
from modeldeploy.targets.sagemaker.resources import (
    K_CONFIG,
    K_ENDPOINT,
    K_JOB,
    K_MODEL,
    K_S3,
    K_SCALING_POLICY,
    K_SCALING_TARGET,
    bodies_from_artifacts,
    desired_resources,
    split_s3,
)

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress

_BUSY = {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed"}
_DELETE_ORDER = (K_SCALING_POLICY, K_SCALING_TARGET, K_ENDPOINT, K_JOB, K_CONFIG, K_MODEL, K_S3)


class TargetSettings(Protocol):
    """What the Applier reads from the target instance (SageMakerTargetImpl): its clients and waits."""

    clients: Clients
    poll_seconds: float


class Applier:
    def __init__(self, impl: TargetSettings, ctx: RenderContext, progress: Progress, *, timeout_seconds: float):
        self.impl = impl
        self.timeout_seconds = timeout_seconds
        self.ctx = ctx
        self.progress = progress
        self.r = Reader(impl.clients, ctx)
        self.changed: list[str] = []

    # -- apply -----------------------------------------------------------------------------------

    def apply(self, plan: Plan, artifacts: list[Artifact]) -> ApplyResult:
        bodies = bodies_from_artifacts(artifacts)
        actions = {c.address: c.action for c in plan.changes}
        outputs: dict[str, str] = {}
        for res in desired_resources(self.ctx, artifacts):
            if actions.get(res.address, Action.CREATE) is Action.NOOP:
                continue
            self._ensure(res, bodies, outputs)
            self.changed.append(res.address)
        deletes = [c for c in plan.changes if c.action is Action.DELETE]
        for kind in _DELETE_ORDER:
            for change in sorted((c for c in deletes if c.kind == kind), key=lambda c: c.address):
                if self._delete(change.kind, change.name):
                    self.changed.append(change.address)
        outputs.update(self._outputs(bodies))
        return ApplyResult(changed=tuple(self.changed), outputs=outputs)

    def _ensure(self, res: Resource, bodies: dict[str, dict[str, Any]], outputs: dict[str, str]) -> None:
        steps: dict[str, Callable[[Resource], None]] = {
            K_S3: self._upload,
            K_MODEL: lambda r: self._create_once(f"model {r.name}", self.r.model, self.r.sm.create_model, r),
            K_CONFIG: lambda r: self._create_once(
                f"endpoint config {r.name}", self.r.config, self.r.sm.create_endpoint_config, r
            ),
            K_ENDPOINT: lambda r: self._endpoint(bodies["CreateEndpoint"], bodies["UpdateEndpoint"]),
            K_SCALING_TARGET: lambda r: self._scaling("RegisterScalableTarget", self.r.aas.register_scalable_target, r),
            K_SCALING_POLICY: lambda r: self._scaling("PutScalingPolicy", self.r.aas.put_scaling_policy, r),
            K_JOB: self._job,
        }
        steps[res.kind](res)

    def _upload(self, res: Resource) -> None:
        from modeldeploy.model.digest import model_digest
        from modeldeploy.targets.sagemaker.package import layout_for, write_model_tar

        bucket, key = res.body["Bucket"], res.body["Key"]
        head = self.r.head(bucket, key)
        if head is not None and (head.get("Metadata") or {}).get(rq.META_DIGEST) == self.ctx.ref.digest:
            self.progress.step(f"{res.name} already uploaded (same model digest)")
            return
        folder = self.ctx.ref.local_path
        actual = model_digest(folder)
        if actual != self.ctx.ref.digest:
            raise ApplyError(
                f"model folder {folder} changed since it was resolved ({self.ctx.ref.digest} → {actual}); plan again"
            )
        # What a killed earlier run left: its incomplete multipart uploads (billed until aborted).
        self.abort_incomplete_uploads(bucket, self.own_prefix())
        # The temporary archive goes on every exit path (the context manager's finally: errors,
        # Ctrl-C and SIGTERM, which modeldeploy.interrupt turns into an exception).
        with tempfile.NamedTemporaryFile(prefix="modeldeploy-", suffix=".tar.gz") as tmp:
            write_model_tar(folder, tmp, layout=layout_for(self.ctx.spec.model.type, self.ctx.model))
            tmp.flush()
            size = tmp.tell()
            self.progress.step(f"uploading model.tar.gz ({size} bytes) to {res.name}")
            extra = {"Metadata": dict(res.body["Metadata"]), "ContentType": "application/gzip"}
            try:
                self.r.s3.upload_file(tmp.name, bucket, key, ExtraArgs=extra)
            except BaseException as exc:  # boto3.exceptions.S3UploadFailedError wraps the ClientError
                try:  # leave no parts behind (s3transfer aborts on most failures, not on an interrupt)
                    self.abort_incomplete_uploads(bucket, key, quiet=True)
                except Exception as cleanup:  # the next run lists and aborts them again
                    self.progress.warn(f"could not abort the incomplete upload of {res.name}: {cleanup}")
                if isinstance(exc, Exception):
                    raise ApplyError(f"uploading {res.name}: {exc}") from None
                raise
        self.progress.done(f"uploaded {res.name}")

    def own_prefix(self) -> str:
        """``<artifact_prefix>/<name>/``: every key this deployment uploads starts with it."""
        return f"{self.r.target.artifact_prefix.strip('/')}/{self.ctx.spec.name}/".lstrip("/")

    def abort_incomplete_uploads(self, bucket: str, prefix: str, *, quiet: bool = False) -> list[str]:
        """Abort the incomplete multipart uploads of model.tar.gz keys under ``prefix`` (this
        deployment's own), paging through ListMultipartUploads; returns the keys aborted."""
        aborted: list[str] = []
        markers: dict[str, str] = {}
        while True:
            page = call(
                f"listing incomplete uploads under s3://{bucket}/{prefix}",
                self.r.s3.list_multipart_uploads,
                Bucket=bucket,
                Prefix=prefix,
                **markers,
            )
            for upload in page.get("Uploads") or ():
                key = str(upload.get("Key", ""))
                if not (key.startswith(prefix) and key.endswith("model.tar.gz")):
                    continue
                find(
                    f"aborting the incomplete upload of s3://{bucket}/{key}",
                    self.r.s3.abort_multipart_upload,
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload["UploadId"],
                )
                aborted.append(key)
                if not quiet:
                    self.progress.step(f"aborted an incomplete upload of s3://{bucket}/{key} (a stopped run left it)")
            if not page.get("IsTruncated"):
                return aborted
            markers = {"KeyMarker": page.get("NextKeyMarker", ""), "UploadIdMarker": page.get("NextUploadIdMarker", "")}

    def _create_once(
        self, what: str, describe: Callable[[str], Any], create: Callable[..., Any], res: Resource
    ) -> None:
        if describe(res.name) is not None:
            self.progress.step(f"{what} already exists")
            return
        self.progress.step(f"creating {what}")
        try:
            call(f"creating {what}", create, **res.body)
        except TargetError:
            # A create whose answer was lost is retried by botocore and then refused as "already
            # existing". Names are content-derived, so an object that exists now under this name is
            # the one we asked for: accept it; anything else is a real failure.
            if describe(res.name) is None:
                raise
            self.progress.step(f"{what} exists (an earlier attempt's answer was lost)")

    def _endpoint(self, create: dict[str, Any], update: dict[str, Any]) -> None:
        name, config = create["EndpointName"], create["EndpointConfigName"]
        ep = self.r.endpoint()
        if ep is not None:
            self._check_owned(ep["EndpointArn"], f"endpoint {name}")
            if ep["EndpointStatus"] in _BUSY:
                self._wait_endpoint(name, f"endpoint {name} is {ep['EndpointStatus']}; waiting before changing it")
                ep = self.r.endpoint()
        if ep is not None and ep["EndpointStatus"] == "Failed":
            self.progress.warn(
                f"endpoint {name} is Failed ({ep.get('FailureReason', 'no reason given')}); recreating it"
            )
            self._delete_endpoint(name)
            ep = None
        if ep is None:
            self.progress.step(f"creating endpoint {name} with {config}")
            try:
                call(f"creating endpoint {name}", self.r.sm.create_endpoint, **create)
            except TargetError:
                # As for models: a lost answer leaves an endpoint we created (ours by its tags).
                created = self.r.endpoint()
                if created is None:
                    raise
                self._check_owned(created["EndpointArn"], f"endpoint {name}")
        elif ep["EndpointConfigName"] != config:
            strategy = self.ctx.spec.target.rollout.strategy if "DeploymentConfig" in update else "SageMaker's default"
            self.progress.step(f"updating endpoint {name}: {ep['EndpointConfigName']} → {config} ({strategy})")
            call(f"updating endpoint {name}", self.r.sm.update_endpoint, **update)
        self._wait_endpoint(name, f"endpoint {name}")
        ep = self.r.endpoint()
        if ep is None or ep["EndpointConfigName"] != config:
            reason = (ep or {}).get("FailureReason") or "no reason given"
            raise ApplyError(f"endpoint {name} did not move to {config} (rolled back?): {reason}")
        self._sync_tags(ep["EndpointArn"], create["Tags"])

    def _sync_tags(self, arn: str, desired: list[dict[str, str]]) -> None:
        current = tags_dict(self.r.tags(arn))
        wanted = tags_dict(desired)
        add = [{"Key": k, "Value": v} for k, v in sorted(wanted.items()) if current.get(k) != v]
        # Changed values are removed first: AddTags overwrites on AWS, but some compatible servers
        # (moto) append a second tag with the same key.
        remove = sorted(k for k in current if k not in wanted or current[k] != wanted[k])
        if remove:
            call(f"removing tags from {arn}", self.r.sm.delete_tags, ResourceArn=arn, TagKeys=remove)
        if add:
            call(f"tagging {arn}", self.r.sm.add_tags, ResourceArn=arn, Tags=add)

    def _scaling(self, operation: str, fn: Callable[..., Any], res: Resource) -> None:
        self.progress.step(f"{operation} {res.name}")
        call(f"{operation} {res.name}", fn, **res.body)

    def _job(self, res: Resource) -> None:
        job = self.r.job(res.name)
        if job is None:
            self.progress.step(f"creating transform job {res.name}")
            call(f"creating transform job {res.name}", self.r.sm.create_transform_job, **res.body)
        self._wait(
            "transform_job_completed_or_stopped",
            {"TransformJobName": res.name},
            "TransformJobStatus",
            f"transform job {res.name}",
        )

    # -- waiting ---------------------------------------------------------------------------------

    def _wait_endpoint(self, name: str, what: str) -> None:
        self._wait("endpoint_in_service", {"EndpointName": name}, "EndpointStatus", what)

    def _wait(self, waiter_name: str, args: dict[str, Any], status_key: str, what: str) -> None:
        """Poll a botocore waiter one attempt at a time so each status change is reported."""
        from botocore.exceptions import WaiterError

        waiter = self.r.sm.get_waiter(waiter_name)
        deadline = time.monotonic() + self.timeout_seconds
        with self.progress.wait(what) as handle:
            while True:
                try:
                    waiter.wait(**args, WaiterConfig={"Delay": 1, "MaxAttempts": 1})
                    handle.update("done")
                    return
                except WaiterError as exc:
                    last = exc.last_response or {}
                    status = last.get(status_key) or ""
                    if status:
                        handle.update(status)
                    if "terminal failure" in str(exc.kwargs.get("reason", "")):
                        reason = last.get("FailureReason") or (last.get("Error") or {}).get("Message") or status
                        raise ApplyError(f"{what} failed: {reason}") from None
                if time.monotonic() > deadline:
                    raise ApplyError(
                        f"{what}: still not done after {self.timeout_seconds:.0f}s (last status {status or 'unknown'})"
                    )
                interrupt.sleep(self.impl.poll_seconds)  # a stop request wakes it (safe point)

    # -- deleting --------------------------------------------------------------------------------

    def _check_owned(self, arn: str, what: str) -> None:
        if tags_dict(self.r.tags(arn)).get(TAG_NAME) != self.r.name:
            raise ApplyError(
                f"{what} was not created by modeldeploy for {self.r.name!r}; refusing to change or delete it"
            )

    def _delete(self, kind: str, name: str) -> bool:
        """Delete one object if it exists (and is ours); False when it was already gone."""
        rid = rq.scaling_resource_id(self.r.endpoint_name, self.r.target.variant_name)
        common = {"ServiceNamespace": "sagemaker", "ScalableDimension": rq.SCALABLE_DIMENSION}
        if kind == K_SCALING_POLICY:
            if self.r.scaling_policy(rid) is None:
                return False
            self.progress.step(f"deleting scaling policy {name} of {rid}")
            call(
                f"deleting scaling policy {name}",
                self.r.aas.delete_scaling_policy,
                PolicyName=name,
                ResourceId=rid,
                **common,
            )
        elif kind == K_SCALING_TARGET:
            if self.r.scalable_target(name) is None:
                return False
            self.progress.step(f"deregistering scalable target {name}")
            call(f"deregistering {name}", self.r.aas.deregister_scalable_target, ResourceId=name, **common)
        elif kind == K_ENDPOINT:
            ep = self.r.endpoint()
            if ep is None:
                return False
            self._check_owned(ep["EndpointArn"], f"endpoint {name}")
            self._delete_endpoint(name)
        elif kind == K_CONFIG:
            cfg = self.r.config(name)
            if cfg is None:
                return False
            self._check_owned(cfg["EndpointConfigArn"], f"endpoint config {name}")
            self.progress.step(f"deleting endpoint config {name}")
            find(f"deleting endpoint config {name}", self.r.sm.delete_endpoint_config, EndpointConfigName=name)
        elif kind == K_MODEL:
            model = self.r.model(name)
            if model is None:
                return False
            self._check_owned(model["ModelArn"], f"model {name}")
            self.progress.step(f"deleting model {name}")
            find(f"deleting model {name}", self.r.sm.delete_model, ModelName=name)
        elif kind == K_S3:
            bucket, key = split_s3(name)
            head = self.r.head(bucket, key)
            if head is None:
                return False
            if (head.get("Metadata") or {}).get(rq.META_NAME) != self.r.name:
                raise ApplyError(f"{name} was not uploaded by modeldeploy for {self.r.name!r}; refusing to delete it")
            self.progress.step(f"deleting {name}")
            call(f"deleting {name}", self.r.s3.delete_object, Bucket=bucket, Key=key)
        else:
            self.progress.warn(f"{kind} {name}: SageMaker cannot delete this kind of object; left in place")
            return False
        return True

    def _delete_endpoint(self, name: str) -> None:
        self.progress.step(f"deleting endpoint {name}")
        find(f"deleting endpoint {name}", self.r.sm.delete_endpoint, EndpointName=name)
        self._wait("endpoint_deleted", {"EndpointName": name}, "EndpointStatus", f"deleting endpoint {name}")

    # -- destroy ---------------------------------------------------------------------------------

    def destroy(self) -> ApplyResult:
        """Remove the endpoint, its scaling, every owned config/model and uploaded model.tar.gz."""
        from modeldeploy.targets.sagemaker.resources import address

        ep_name = self.r.endpoint_name
        ep = self.r.endpoint()
        if ep is not None and tags_dict(self.r.tags(ep["EndpointArn"])).get(TAG_NAME) == self.r.name:
            rid = rq.scaling_resource_id(ep_name, self.r.target.variant_name)
            for kind, name in ((K_SCALING_POLICY, rq.POLICY_NAME), (K_SCALING_TARGET, rid), (K_ENDPOINT, ep_name)):
                if self._delete(kind, name):
                    self.changed.append(address(kind, ep_name))
        elif ep is not None:
            self.progress.warn(f"endpoint {ep_name} exists but is not owned by {self.r.name!r}; left in place")
        for owned in self.r.owned_configs():
            if self._delete(K_CONFIG, owned.name):
                self.changed.append(address(K_CONFIG, owned.name))
        for owned in self.r.owned_models():
            if self._delete(K_MODEL, owned.name):
                self.changed.append(address(K_MODEL, owned.name))
        bucket = self.r.target.artifact_bucket
        for key in self.r.owned_objects(bucket):
            url = f"s3://{bucket}/{key}"
            if self._delete(K_S3, url):
                self.changed.append(address(K_S3, url))
        for key in self.abort_incomplete_uploads(bucket, self.own_prefix()):
            self.changed.append(address(K_S3, f"s3://{bucket}/{key}") + ".incomplete-upload")
        if self.r.target.mode == "batch":
            self.progress.step("transform jobs cannot be deleted in SageMaker; their history stays")
        return ApplyResult(changed=tuple(self.changed))

    # -- outputs ---------------------------------------------------------------------------------

    def _outputs(self, bodies: dict[str, dict[str, Any]]) -> dict[str, str]:
        region = self.r.target.region
        out = {
            "model": bodies["CreateModel"]["ModelName"],
            "model_data": bodies["CreateModel"]["PrimaryContainer"]["ModelDataUrl"],
        }
        job = bodies.get("CreateTransformJob")
        if job is not None:
            out.update(transform_job=job["TransformJobName"], output=job["TransformOutput"]["S3OutputPath"])
            return out
        name = bodies["CreateEndpoint"]["EndpointName"]
        out.update(
            endpoint=name,
            endpoint_config=bodies["CreateEndpoint"]["EndpointConfigName"],
            url=f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{name}/invocations",
        )
        return out
