"""The Kubernetes target: kustomize-ready manifests (Deployment, KServe InferenceService, or a batch
Job/CronJob), planned against the live cluster and applied with server-side apply and ApplySet pruning.

render() is pure and validates every object offline (kubernetes-validate for built-in kinds, KServe's
CRD schema for InferenceService) before anything is written. observe/apply/destroy talk to the API
server through the official client, imported lazily (see api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import yaml

from modeldeploy.errors import ApplyError, PlanError, RenderError
from modeldeploy.planning.options import ObserveOptions
from modeldeploy.planning.resources import ApplyResult, LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.canonical import dump_yaml as _dump_yaml
from modeldeploy.rendering.checked import remembered
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.targets.kubernetes import KubernetesTarget
from modeldeploy.targets.base import Auxiliary, Target
from modeldeploy.targets.kubernetes import manifests, meta, rollout
from modeldeploy.targets.kubernetes.live import address, parse_address, project, strip_server_fields
from modeldeploy.targets.kubernetes.validate import validate_object

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.lease import LeaseBackend
    from modeldeploy.planning.plan import Plan
    from modeldeploy.progress import Progress
    from modeldeploy.targets.kubernetes.api import KubeApi

DIR = "k8s"
# A git plan renders an unchanged file twice: the ref's render reuses the text just made (pure in its data).
dump_yaml = remembered("kubernetes-yaml", _dump_yaml)
YAML = "application/yaml"

# Apply order (lower first); deletes run in the reverse order. The ApplySet parent comes first so a
# crash mid-apply still leaves every member findable by its label.
RANK = {
    "configmap": 0,
    "serviceaccount": 1,
    "service": 2,
    "deployment": 3,
    "inferenceservice": 3,
    "job": 3,
    "cronjob": 3,
    "horizontalpodautoscaler": 4,
    "poddisruptionbudget": 4,
    "ingress": 5,
    "networkpolicy": 2,
}
WORKLOADS = ("deployment", "inferenceservice", "job", "cronjob")

# Fields the API server refuses to change in place: a change there means delete + create.
REPLACE_ON: dict[str, tuple[tuple[str, ...], str]] = {
    "deployment": (("spec.selector",), "Deployment spec.selector is immutable"),
    "job": (
        ("spec.template", "spec.selector", "spec.completions"),
        "a Job's pod template is immutable; the Job is re-created (and runs again)",
    ),
}


def _rank(addr: str) -> int:
    return RANK.get(parse_address(addr)[0], 9)


class KubernetesTargetImpl(Target):
    kind = "kubernetes"
    config_model = KubernetesTarget
    default_against = "live"
    extra = "kubernetes"

    # ---------------------------------------------------------------- render

    def serving_images(self, ctx: RenderContext) -> list[tuple[str, tuple[Any, ...]]]:
        t = ctx.spec.target
        if t.flavor == "kserve" and t.mode == "online" and not t.image:
            return []  # KServe's own runtime serves the model from storage_uri
        from modeldeploy.targets.kubernetes import pod

        where = ("target", "image") if t.image else ("target", "registry") if t.registry else ("target", "kind")
        return [(pod.image(ctx), where)]

    def render(self, ctx: RenderContext) -> list[Artifact]:
        objects = manifests.build(ctx)
        artifacts = []
        for m in objects:
            validate_object(m.obj, ctx.target.kubernetes_version)
            artifacts.append(Artifact(f"{DIR}/{m.file}", YAML, dump_yaml(m.obj)))
        artifacts.append(Artifact(f"{DIR}/kustomization.yaml", YAML, dump_yaml(manifests.kustomization(objects))))
        if ctx.target.registry:
            from modeldeploy.targets.docker.registry import context_artifacts

            artifacts += context_artifacts(ctx)
        return sorted(artifacts, key=lambda a: a.path)

    # ---------------------------------------------------------------- plan

    def auxiliaries(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Auxiliary]:
        """With registry: the serving image first (built and pushed before any manifest refers to it)."""
        out = super().auxiliaries(ctx, artifacts)
        if ctx.target.registry:
            from modeldeploy.targets.docker.registry import ImageAuxiliary

            out.insert(0, ImageAuxiliary(ctx, artifacts))
        return out

    def desired(self, ctx: RenderContext, artifacts: list[Artifact]) -> list[Resource]:
        out: list[Resource] = []
        for art in sorted(artifacts, key=lambda a: a.path):
            if not art.path.startswith(DIR + "/") or art.path.endswith("/kustomization.yaml"):
                continue
            obj = yaml.safe_load(art.content)
            if not isinstance(obj, dict) or "kind" not in obj:
                raise RenderError(f"{art.path}: not a Kubernetes object")
            md = obj["metadata"]
            kind = obj["kind"].lower()
            replace_on, reason = REPLACE_ON.get(kind, ((), ""))
            out.append(
                Resource(
                    address=address(kind, md["namespace"], md["name"]),
                    kind=kind,
                    name=md["name"],
                    body=obj,
                    replace_on=replace_on,
                    replace_reason=reason,
                )
            )
        ordered = sorted(out, key=lambda r: (_rank(r.address), r.address))
        parent = [r.address for r in ordered if r.kind == "configmap"]
        return [r if r.kind == "configmap" else replace(r, depends_on=tuple(parent)) for r in ordered]

    # ---------------------------------------------------------------- live

    @staticmethod
    def _client(options: ObserveOptions) -> KubeApi:
        """The run's connection (kubeconfig/context from the run's options): made once per run and
        shared by observe, the lease, apply and destroy of every deployment in it."""
        from modeldeploy.targets.kubernetes.api import connect

        context, kubeconfig = options.context, options.extra.get("kubeconfig")
        return options.shared.get(("kubernetes-api", context, kubeconfig), lambda: connect(context, kubeconfig))

    def lease(self, ctx: RenderContext, options: ObserveOptions) -> LeaseBackend | None:
        """A coordination.k8s.io Lease in the deployment's namespace."""
        from modeldeploy.targets.kubernetes.lease import KubernetesLeaseBackend

        return KubernetesLeaseBackend(self._client(options), ctx.target.namespace, ctx.spec.name)

    def observe(self, ctx: RenderContext, desired: list[Resource], options: ObserveOptions) -> Observed:
        api = self._client(options)
        ns = ctx.target.namespace
        dry_run = bool(options.extra.get("server_dry_run", True))
        found: dict[str, LiveResource] = {}
        previous: dict[str, dict[str, Any]] = {}
        for r in desired:
            live = api.get(r.kind, ns, r.name)
            if live is None:
                continue
            merged = None
            if dry_run:
                merged, dry_run = self._dry_run(api, r.body)
            clean = strip_server_fields(live)
            body = project(r.body, clean, strip_server_fields(merged)) if merged is not None else project(r.body, clean)
            found[r.address] = LiveResource(r.address, r.kind, r.name, body, _fingerprint(live))
            previous[r.address] = live
        for obj in self._members(api, ctx):
            addr = address(obj["kind"], ns, obj["metadata"]["name"])
            if addr in found or any(r.address == addr for r in desired):
                continue
            found[addr] = LiveResource(
                addr, obj["kind"].lower(), obj["metadata"]["name"], strip_server_fields(obj), _fingerprint(obj)
            )
            previous[addr] = obj
        return Observed(resources=found, raw=previous, **_deployed(previous, desired))

    @staticmethod
    def _dry_run(api: KubeApi, body: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """The merged object from a server-side dry-run apply; (None, False) when the cluster refuses
        (RBAC without patch, admission webhooks without dry-run support): fall back to projection only."""
        from modeldeploy.errors import TargetError

        try:
            return api.apply(body, dry_run=True), True
        except TargetError:
            return None, False

    def _members(self, api: KubeApi, ctx: RenderContext) -> list[dict[str, Any]]:
        """Objects labelled as members of this deployment's ApplySet, plus its parent."""
        from modeldeploy.targets.kubernetes.api import MEMBER_KINDS

        ns = ctx.target.namespace
        parent = meta.parent_name(ctx.spec.name)
        set_id = meta.applyset_id(parent, ns)
        out = []
        for kind in MEMBER_KINDS:
            for obj in api.list(kind, ns, label_selector=f"{meta.APPLYSET_PART_OF}={set_id}"):
                # Objects a controller made from ours (KServe's predictor Deployment, a CronJob's Jobs)
                # inherit our labels but belong to their owner: never plan or delete them.
                if not (obj.get("metadata") or {}).get("ownerReferences"):
                    out.append(obj)
        p = api.get("configmap", ns, parent)
        if p is not None and (p["metadata"].get("labels") or {}).get(meta.APPLYSET_ID) == set_id:
            out.append({**p, "kind": "ConfigMap", "apiVersion": "v1"})
        return out

    # ---------------------------------------------------------------- apply

    def apply(
        self,
        ctx: RenderContext,
        plan: Plan,
        artifacts: list[Artifact],
        progress: Progress,
        options: ObserveOptions | None = None,
    ) -> ApplyResult:
        from modeldeploy.planning.plan import Action

        opts = options or plan.options or ObserveOptions()
        api = self._client(opts)
        desired = {r.address: r for r in self.desired(ctx, artifacts)}
        changes = {c.address: c for c in plan.changes if c.action is not Action.NOOP}
        unknown = [a for a, c in changes.items() if a not in desired and c.action is not Action.DELETE]
        if unknown:
            raise PlanError(
                f"the plan changes {', '.join(sorted(unknown))}, which the render does not contain; plan again"
            )
        poll = float(opts.extra.get("poll_seconds", 2.0))
        applied: list[str] = []
        for addr in sorted((a for a in changes if a in desired), key=lambda a: (_rank(a), a)):
            change, res = changes[addr], desired[addr]
            if change.action is Action.REPLACE:
                progress.step(f"replace {addr}: {change.reason or res.replace_reason}")
                api.delete(res.kind, ctx.target.namespace, res.name)
                if not rollout.wait_gone(
                    api, res.kind, ctx.target.namespace, res.name, timeout=opts.timeout_seconds, poll=poll
                ):
                    raise ApplyError(
                        f"{addr} was not deleted within {opts.timeout_seconds:g}s; nothing else was changed"
                    )
            else:
                progress.step(f"{change.action.value} {addr}")
            api.apply(res.body)
            applied.append(addr)
        # What observe() saw for this deployment, if the plan was observed (rollback re-applies it).
        previous = plan.observed.raw if plan.observed is not None else None
        self._wait_rollouts(ctx, api, [desired[a] for a in applied], progress, opts, previous)
        pruned = self._prune(ctx, api, [a for a, c in changes.items() if c.action is Action.DELETE], progress, opts)
        outputs = {"namespace": ctx.target.namespace}
        workload = next((r for r in desired.values() if r.kind in WORKLOADS), None)
        if workload is not None:
            outputs[workload.kind] = workload.name
        return ApplyResult(changed=tuple(applied + pruned), outputs=outputs)

    def _wait_rollouts(
        self,
        ctx: RenderContext,
        api: KubeApi,
        applied: list[Resource],
        progress: Progress,
        opts: ObserveOptions,
        previous: Mapping[str, Any] | None,
    ) -> None:
        if not opts.extra.get("wait", True):
            return
        poll = float(opts.extra.get("poll_seconds", 2.0))
        ns = ctx.target.namespace
        for res in applied:
            if res.kind not in rollout.STATUS:
                continue  # Jobs and CronJobs run on their own schedule; Services etc. have no rollout
            with progress.wait(f"rollout of {res.kind} {ns}/{res.name}") as handle:
                st = rollout.wait(
                    api, res.kind, ns, res.name, timeout=opts.timeout_seconds, poll=poll, report=handle.update
                )
            if st.failed:
                self._fail(ctx, api, res, st.failed, [r.address for r in applied], progress, opts, previous)
            progress.done(f"{res.kind} {ns}/{res.name}: {st.text}")

    def _fail(
        self,
        ctx: RenderContext,
        api: KubeApi,
        res: Resource,
        why: str,
        applied: list[str],
        progress: Progress,
        opts: ObserveOptions,
        previous: Mapping[str, Any] | None,
    ) -> None:
        ns = ctx.target.namespace
        problems = rollout.pod_problems(api, ns, res.name)
        for line in problems:
            progress.warn(line)
        note = ""
        if opts.extra.get("rollback_on_failure"):
            if previous is not None:
                self._rollback(api, applied, progress, previous)
                note = "; rolled back to the previously observed objects"
            else:
                note = "; not rolled back: the cluster was not observed before this apply"
        detail = f" ({problems[0]})" if problems else ""
        raise ApplyError(f"rollout of {res.kind} {ns}/{res.name} failed: {why}{detail}{note}")

    def _rollback(self, api: KubeApi, applied: list[str], progress: Progress, previous: Mapping[str, Any]) -> None:
        """Re-apply what observe() saw for every object this apply changed; delete the ones it created."""
        for addr in sorted(applied, key=lambda a: (-_rank(a), a)):
            kind, ns, name = parse_address(addr)
            before = previous.get(addr)
            if before is None:
                progress.warn(f"rollback: delete {addr} (created by this apply)")
                api.delete(kind, ns, name)
            else:
                progress.warn(f"rollback: re-apply the previous {addr}")
                api.apply(_reapplicable(before))

    def _prune(
        self, ctx: RenderContext, api: KubeApi, addresses: list[str], progress: Progress, opts: ObserveOptions
    ) -> list[str]:
        """Delete objects of this deployment's ApplySet that are no longer rendered, checking the
        membership label on the live object first: nothing outside the set is ever deleted."""
        poll = float(opts.extra.get("poll_seconds", 2.0))
        set_id = meta.applyset_id(meta.parent_name(ctx.spec.name), ctx.target.namespace)
        pruned = []
        for addr in sorted(addresses, key=lambda a: (-_rank(a), a)):
            kind, ns, name = parse_address(addr)
            live = api.get(kind, ns, name)
            if live is None:
                continue
            if not _owned(live, set_id):
                progress.warn(f"not deleting {addr}: it does not carry this deployment's ApplySet label")
                continue
            progress.step(f"delete {addr} (no longer rendered)")
            api.delete(kind, ns, name)
            if not rollout.wait_gone(api, kind, ns, name, timeout=opts.timeout_seconds, poll=poll):
                raise ApplyError(f"{addr} was not deleted within {opts.timeout_seconds:g}s")
            pruned.append(addr)
        return pruned

    # ---------------------------------------------------------------- destroy

    def destroy(
        self, ctx: RenderContext, observed: Observed, progress: Progress, options: ObserveOptions | None = None
    ) -> ApplyResult:
        opts = options or ObserveOptions()
        api = self._client(opts)
        poll = float(opts.extra.get("poll_seconds", 2.0))
        ns = ctx.target.namespace
        set_id = meta.applyset_id(meta.parent_name(ctx.spec.name), ns)
        targets = {address(o["kind"], ns, o["metadata"]["name"]): o for o in self._members(api, ctx)}
        for addr in observed.resources:
            kind, ons, name = parse_address(addr)
            if addr not in targets and ons == ns:
                live = api.get(kind, ns, name)
                if live is not None:
                    targets[addr] = live
        deleted = []
        for addr in sorted(targets, key=lambda a: (-_rank(a), a)):
            kind, _, name = parse_address(addr)
            if not _owned(targets[addr], set_id):
                progress.warn(f"not deleting {addr}: it does not carry this deployment's ApplySet label")
                continue
            progress.step(f"delete {addr}")
            if api.delete(kind, ns, name):
                deleted.append(addr)
        with progress.wait(f"deleting {len(deleted)} object(s) in {ns}") as handle:
            for addr in deleted:
                kind, _, name = parse_address(addr)
                handle.update(f"waiting for {addr}")
                if not rollout.wait_gone(api, kind, ns, name, timeout=opts.timeout_seconds, poll=poll):
                    raise ApplyError(f"{addr} was not deleted within {opts.timeout_seconds:g}s")
        return ApplyResult(changed=tuple(deleted), outputs={"namespace": ns})


def _fingerprint(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _owned(obj: Mapping[str, Any], set_id: str) -> bool:
    """In this deployment's ApplySet, and not a controller's child that merely inherited our labels."""
    md = obj.get("metadata") or {}
    labels = md.get("labels") or {}
    in_set = labels.get(meta.APPLYSET_PART_OF) == set_id or labels.get(meta.APPLYSET_ID) == set_id
    return in_set and not md.get("ownerReferences")


def _reapplicable(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = strip_server_fields(obj)
    annotations = out["metadata"].get("annotations") or {}
    annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    annotations.pop("deployment.kubernetes.io/revision", None)
    return out


def _deployed(live: Mapping[str, Mapping[str, Any]], desired: list[Resource]) -> dict[str, Any]:
    """The signature and model recorded on the live workload (desired addresses first, then any
    workload of the set that is about to be pruned, e.g. after a flavor change)."""
    import json

    order = [r.address for r in desired if r.kind in WORKLOADS]
    order += sorted(a for a in live if parse_address(a)[0] in WORKLOADS and a not in order)
    for addr in order:
        obj = live.get(addr)
        if obj is None:
            continue
        ann = (obj.get("metadata") or {}).get("annotations") or {}
        if meta.A_MODEL_DIGEST not in ann:
            continue
        signature = None
        if ann.get(meta.A_SIGNATURE):
            try:
                signature = json.loads(ann[meta.A_SIGNATURE])
            except ValueError:
                signature = None
        uri = ann.get(meta.A_MODEL_URI)
        model = {"uri": uri, "pinned_uri": uri, "digest": ann.get(meta.A_MODEL_DIGEST)}
        if ann.get(meta.A_MODEL_VERSION):
            model["version"] = ann[meta.A_MODEL_VERSION]
        if ann.get(meta.A_SIGNATURE_DIGEST):
            model["signature_digest"] = ann[meta.A_SIGNATURE_DIGEST]
        return {"deployed_signature": signature, "deployed_model": model}
    return {"deployed_signature": None, "deployed_model": None}
