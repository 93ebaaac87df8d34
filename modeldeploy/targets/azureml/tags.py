"""The Azure tags on what the azureml target renders: deploy.yaml labels (checked against ARM's
limits), the names modeldeploy finds its objects by, the model's digest and URI, and its signature
where it fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modeldeploy.errors import RenderError, show_dotted
from modeldeploy.targets.azureml import naming

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.rendering.context import RenderContext


def label_tags(ctx: RenderContext) -> dict[str, str]:
    """deploy.yaml labels as Azure tags. They go on endpoints and deployments (ARM resources), so a
    label Azure would not hold there is refused here rather than dropped or failed at apply time."""
    tags = {}
    for k, v in ctx.spec.labels.items():
        key, value = str(k), str(v)
        if key.startswith(naming.RESERVED_PREFIX):
            continue
        if len(key) > naming.ARM_TAG_NAME_MAX:
            raise RenderError(
                f"{show_dotted('labels', key[:40] + '...')}: an Azure tag name holds at most "
                f"{naming.ARM_TAG_NAME_MAX} characters; this one has {len(key)}"
            )
        if len(value) > naming.ARM_TAG_MAX:
            raise RenderError(
                f"{show_dotted('labels', key)}: an Azure tag value holds at most {naming.ARM_TAG_MAX} characters; "
                f"this one has {len(value)}"
            )
        tags[key] = value
    return tags


def base_tags(ctx: RenderContext) -> dict[str, str]:
    """Tags on every object: the user's labels plus what the signature policy needs."""
    tags = label_tags(ctx)
    tags[naming.TAG_NAME] = ctx.spec.name
    tags[naming.TAG_DIGEST] = ctx.ref.digest
    tags[naming.TAG_URI] = ctx.ref.pinned_uri
    sig = ctx.model.signature
    if sig is not None:
        tags[naming.TAG_SIG_DIGEST] = sig.digest()
    return tags


def _with_signature(ctx: RenderContext, tags: dict[str, str], limit: int) -> dict[str, str]:
    sig = ctx.model.signature
    if sig is None:
        return tags
    text = naming.compact_json(sig.to_canonical())
    return {**tags, naming.TAG_SIG: text} if len(text) <= limit else tags


def resource_tags(ctx: RenderContext) -> dict[str, str]:
    tags = {k: v for k, v in base_tags(ctx).items() if len(v) <= naming.ARM_TAG_MAX}
    return _with_signature(ctx, tags, naming.ARM_TAG_MAX)


def model_tags(ctx: RenderContext) -> dict[str, str]:
    reg = ctx.spec.model.registration
    extra = {k: v for k, v in (reg.tags.items() if reg else ()) if not k.startswith(naming.RESERVED_PREFIX)}
    return _with_signature(ctx, {**extra, **base_tags(ctx)}, naming.ASSET_TAG_MAX)
