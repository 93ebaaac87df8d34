"""observe(): what exists now in the workspace for one deployment, projected onto the shapes
desired() produces: the model version holding the digest, the endpoint (refused when modeldeploy did
not create it for this deployment), the deployments it owns, the traffic, and what serves now (its
signature and model, for the signature policy and the evaluation baseline)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modeldeploy.errors import TargetError
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.azureml import naming
from modeldeploy.targets.azureml import resources as res
from modeldeploy.targets.azureml.specs import Specs
from modeldeploy.targets.azureml.workspace import AzureMLAPI, DeploymentState, ModelVersion, parse_model_id


def observe(client: AzureMLAPI, ctx: RenderContext, specs: Specs, desired: list[Resource]) -> Observed:
    want = {r.address: r for r in (desired or res.desired_resources(specs, ctx.ref.digest))}
    found: dict[str, LiveResource] = {}
    mode, ep_name = specs.mode, specs.endpoint_name

    model = client.find_model_by_digest(specs.model_name, ctx.ref.digest)
    if model is not None:
        addr = res.model_address(specs.model_name)
        body = {"name": model.name, "type": model.type or specs.model["type"], "digest": ctx.ref.digest}
        found[addr] = LiveResource(addr, "azureml_model", model.name, body, model.fingerprint)

    endpoint = client.get_endpoint(ep_name)
    if endpoint is None:
        return Observed(resources=found)
    if not res.owned(endpoint.tags, ctx.spec.name):
        raise TargetError(
            f"endpoint {ep_name} exists in workspace {ctx.spec.target.workspace} but was not created by modeldeploy "
            f"for {ctx.spec.name!r} (tag {naming.TAG_NAME}); refusing to manage it",
            hint="set target.endpoint_name to another name (endpoint names are unique per Azure region)",
        )
    ep_addr = res.endpoint_address(mode, ep_name)
    ep_shape = want[ep_addr].body if ep_addr in want else None
    found[ep_addr] = LiveResource(
        ep_addr,
        res.kinds(mode)["endpoint"],
        ep_name,
        res.normalise_endpoint(endpoint.spec, ep_shape),
        endpoint.fingerprint,
    )

    dep_shape = next((r.body for r in want.values() if r.kind == res.kinds(mode)["deployment"]), None)
    deployments = [d for d in client.list_deployments(ep_name) if res.owned(d.tags, ctx.spec.name)]
    models: dict[str, ModelVersion | None] = {}
    for d in deployments:
        addr = res.deployment_address(mode, ep_name, d.name)
        body = res.normalise_deployment(d.spec, dep_shape, model=_model_of(client, d, models))
        if d.provisioning_state and d.provisioning_state.lower() != "succeeded":
            body["provisioning_state"] = d.provisioning_state
        found[addr] = LiveResource(addr, res.kinds(mode)["deployment"], d.name, body, d.fingerprint)

    t_addr = res.traffic_address(mode, ep_name)
    t_body = res.live_traffic_body(mode, endpoint.traffic, endpoint.mirror_traffic, endpoint.default_deployment)
    if t_body.get("traffic") or t_body.get("deployment_name"):
        found[t_addr] = LiveResource(t_addr, res.kinds(mode)["traffic"], ep_name, t_body, endpoint.fingerprint)

    serving = _serving(mode, endpoint.traffic, endpoint.default_deployment, deployments)
    signature, deployed = (None, None) if serving is None else _deployed(client, serving, models)
    return Observed(resources=found, deployed_signature=signature, deployed_model=deployed)


def _model_of(client: AzureMLAPI, d: DeploymentState, cache: dict[str, ModelVersion | None]) -> dict[str, str] | None:
    parsed = parse_model_id(d.model_id)
    if parsed is None:
        return {"name": "", "digest": f"(unknown model {d.model_id})"} if d.model_id else None
    key = f"{parsed[0]}:{parsed[1]}"
    if key not in cache:
        cache[key] = client.get_model(*parsed)
    mv = cache[key]
    digest = (mv.tags.get(naming.TAG_DIGEST) if mv else None) or f"(version {parsed[1]}, no digest tag)"
    return {"name": parsed[0], "digest": digest}


def _serving(
    mode: str, traffic: Mapping[str, int], default: str | None, deployments: list[DeploymentState]
) -> DeploymentState | None:
    by_name = {d.name: d for d in deployments}
    if mode == "batch":
        return by_name.get((default or "").lower())
    ranked = sorted(traffic.items(), key=lambda kv: (-kv[1], kv[0]))
    return next((by_name[k] for k, _ in ranked if k in by_name), None)


def _deployed(
    client: AzureMLAPI, d: DeploymentState, cache: dict[str, ModelVersion | None]
) -> tuple[Any, dict[str, Any]]:
    tags: Mapping[str, str] = d.tags
    sig_text = tags.get(naming.TAG_SIG)
    parsed = parse_model_id(d.model_id)
    mv = cache.get(f"{parsed[0]}:{parsed[1]}") if parsed else None
    if sig_text is None and mv is not None:
        sig_text = mv.tags.get(naming.TAG_SIG)
    signature = None
    if sig_text:
        try:
            signature = json.loads(sig_text)
        except ValueError:
            signature = None
    deployed = {
        "pinned_uri": tags.get(naming.TAG_URI),
        "digest": tags.get(naming.TAG_DIGEST),
        "version": parsed[1] if parsed else None,
        "deployment": d.name,
    }
    return signature, {k: v for k, v in deployed.items() if v is not None}
