"""Building RenderContexts and plans for the Azure ML target tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from modeldeploy.model.kinds import read_for_spec
from modeldeploy.model.ref import ModelRef
from modeldeploy.planning.plan import Plan
from modeldeploy.planning.resources import Observed, Resource
from modeldeploy.rendering.context import RenderContext
from modeldeploy.spec.loader import load_spec

REPO = Path(__file__).resolve().parents[4]
GOLDEN = REPO / "tests" / "golden" / "azureml"
MODEL = GOLDEN / "_model"
DIGEST = "sha256:" + "ab" * 32

BASE_SPEC = """\
apiVersion: modeldeploy/v1
name: {name}
model: {{source: {source}}}
target:
  kind: azureml
  subscription_id: 00000000-0000-0000-0000-000000000000
  resource_group: rg
  workspace: ws
{target}"""


def context(spec_path: Path, *, digest: str = DIGEST, env: str | None = None) -> RenderContext:
    loaded = load_spec(spec_path, env)
    source = (loaded.base_dir / loaded.spec.model.source).resolve()
    ref = ModelRef(uri=loaded.spec.model.source, pinned_uri=loaded.spec.model.source, digest=digest, local_path=source)
    return RenderContext(
        spec=loaded.spec,
        model=read_for_spec(source, loaded.spec.model, loaded.base_dir),
        ref=ref,
        env=env,
        tool_version="0.0.0",
        base_dir=loaded.base_dir,
    )


def write_spec(
    tmp: Path,
    *,
    name: str = "iris-classifier",
    target: str = "",
    extra: str = "",
    model: Path = MODEL,
    file: str = "deploy.yaml",
) -> Path:
    text = BASE_SPEC.format(name=name, source=model.resolve().as_posix(), target=target) + extra
    path = tmp / file
    path.write_text(text)
    return path


def product_plan(desired: Iterable[Resource], observed: Observed, name: str = "x") -> Plan:
    """The plan the product makes: modeldeploy.planning.diff over desired and observed (what plan and
    apply run), so these lifecycle tests exercise the real create/update/replace/delete decisions."""
    from modeldeploy.planning.diff import diff_resources

    return Plan(
        name=name, target="azureml", env=None, against="live", changes=tuple(diff_resources(list(desired), observed))
    )


def actions(plan: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in plan.changes}
