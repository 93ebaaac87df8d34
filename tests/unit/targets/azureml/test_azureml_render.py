"""Rendering Azure ML CLI v2 specs: golden trees per mode, every spec loaded with azure-ai-ml's own
loaders (the real parser `az ml` uses), the endpoint name rule, tags and secret references."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from modeldeploy.errors import RenderError, SpecError
from modeldeploy.spec.targets.azureml import check_azure_name
from modeldeploy.targets.azureml.naming import TAG_DIGEST, TAG_NAME, TAG_SIG, TAG_SIG_DIGEST, TAG_URI, endpoint_name
from modeldeploy.targets.azureml.target import AzureMLTargetImpl
from modeldeploy.targets.azureml.validate import validate_tree
from tests.goldens import assert_tree
from tests.unit.targets.azureml.az_helpers import GOLDEN, MODEL, context, write_spec

CASES = {"managed-online": "managed", "kubernetes-online": "kubernetes", "batch": "batch", "custom-online": "managed"}
SCHEMAS = {
    "managed": ("managedOnlineEndpoint", "managedOnlineDeployment"),
    "kubernetes": ("kubernetesOnlineEndpoint", "kubernetesOnlineDeployment"),
    "batch": ("batchEndpoint", "modelBatchDeployment"),
}


def render(spec: Path):
    return AzureMLTargetImpl().render(context(spec))


def files(artifacts) -> dict[str, dict]:
    return {a.path: yaml.safe_load(a.content) for a in artifacts if a.path.endswith(".yaml") and a.source is None}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str) -> None:
    artifacts = render(GOLDEN / case / "deploy.yaml")
    assert_tree(artifacts, GOLDEN / case / "expected")


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_specs_load_with_the_sdk(case: str, tmp_path: Path) -> None:
    """The committed golden files themselves (not just a fresh render) load with azure-ai-ml."""
    expected = GOLDEN / case / "expected"
    assert expected.is_dir(), f"no golden tree at {expected}: run `make goldens`"
    shutil.copytree(expected, tmp_path, dirs_exist_ok=True)
    shutil.copytree(MODEL, tmp_path / "azureml" / "model")
    code = GOLDEN / case / "code"
    if code.is_dir() and not (tmp_path / "azureml" / "code").is_dir():
        shutil.copytree(code, tmp_path / "azureml" / "code")
    validate_tree(tmp_path, "batch" if CASES[case] == "batch" else "online")
    endpoint = yaml.safe_load((tmp_path / "azureml" / "endpoint.yaml").read_text())
    deployment = yaml.safe_load((tmp_path / "azureml" / "deployment.yaml").read_text())
    ep_schema, dep_schema = SCHEMAS[CASES[case]]
    assert endpoint["$schema"].endswith(f"/{ep_schema}.schema.json")
    assert deployment["$schema"].endswith(f"/{dep_schema}.schema.json")
    assert yaml.safe_load((tmp_path / "azureml" / "model.yaml").read_text())["$schema"].endswith("/model.schema.json")


def test_render_is_byte_stable_and_model_is_beside_the_specs(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    a, b = render(spec), render(spec)
    assert [(x.path, x.content) for x in a] == [(x.path, x.content) for x in b]
    paths = {x.path for x in a}
    assert {"azureml/endpoint.yaml", "azureml/deployment.yaml", "azureml/model.yaml", "azureml/model/MLmodel"} <= paths
    specs = files(a)
    assert specs["azureml/model.yaml"]["path"] == "model"
    assert specs["azureml/deployment.yaml"]["model"]["path"] == "model"
    assert all(x.source is not None for x in a if x.path.startswith("azureml/model/"))
    assert not any(str(tmp_path) in x.content.decode("utf-8", "replace") for x in a if x.source is None)


def test_mlflow_is_no_code_and_tags_carry_the_signature(tmp_path: Path) -> None:
    ctx = context(write_spec(tmp_path))
    specs = files(AzureMLTargetImpl().render(ctx))
    dep, model, ep = specs["azureml/deployment.yaml"], specs["azureml/model.yaml"], specs["azureml/endpoint.yaml"]
    assert model["type"] == "mlflow_model" and "environment" not in dep and "code_configuration" not in dep
    for tags in (dep["tags"], ep["tags"], model["tags"]):
        assert tags[TAG_NAME] == "iris-classifier"
        assert tags[TAG_DIGEST] == ctx.ref.digest and tags[TAG_URI] == ctx.ref.pinned_uri
        assert tags[TAG_SIG_DIGEST] == ctx.model.signature.digest()
        assert all(len(v) <= 256 for v in tags.values()) or tags is model["tags"]
    import json

    assert json.loads(model["tags"][TAG_SIG]) == ctx.model.signature.to_canonical()


def test_timeout_probes_and_request_settings(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        extra="serving: {timeout_seconds: 45, workers: 3}\n",
        target="  probes: {liveness: {initial_delay: 120}}\n",
    )
    dep = files(render(spec))["azureml/deployment.yaml"]
    assert dep["request_settings"] == {"request_timeout_ms": 45000, "max_concurrent_requests_per_instance": 3}
    assert dep["liveness_probe"]["initial_delay"] == 120 and dep["readiness_probe"]["initial_delay"] == 10
    assert dep["environment_variables"]["WORKER_COUNT"] == "3"


def test_managed_timeout_over_azure_limit_is_a_render_error(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, extra="serving: {timeout_seconds: 600}\n")
    with pytest.raises(RenderError, match="at most 180"):
        render(spec)


def test_secrets_are_references_never_values(tmp_path: Path) -> None:
    extra = "serving: {secrets: {TOKEN: {secret: conn1, key: api_key}}}\n"
    dep = files(render(write_spec(tmp_path, extra=extra)))["azureml/deployment.yaml"]
    assert dep["environment_variables"]["TOKEN"] == "${{azureml://connections/conn1/credentials/api_key}}"
    kv = files(render(write_spec(tmp_path, extra=extra, target="  key_vault: prod-vault\n")))["azureml/deployment.yaml"]
    assert (
        kv["environment_variables"]["TOKEN"] == "${{keyvault:https://prod-vault.vault.azure.net/secrets/conn1/api_key}}"
    )
    bad = write_spec(tmp_path, extra="serving: {secrets: {TOKEN: {secret: 'a}}b', key: k}}}\n")
    with pytest.raises(RenderError, match="letters, digits"):
        render(bad)


@pytest.mark.parametrize(
    "name, ok",
    [
        ("abc", True),
        ("a" * 32, True),
        ("a-1", True),
        ("ab", False),
        ("a" * 33, False),
        ("1abc", False),
        ("abc-", False),
        ("a_bc", False),
        ("-abc", False),
    ],
)
def test_endpoint_name_rule(name: str, ok: bool, tmp_path: Path) -> None:
    if ok:
        assert check_azure_name(name, "endpoint_name") == name
    else:
        with pytest.raises(ValueError):
            check_azure_name(name, "endpoint_name")
    spec = write_spec(tmp_path, target=f"  endpoint_name: '{name}'\n")
    if ok:
        assert files(render(spec))["azureml/endpoint.yaml"]["name"] == name
    else:
        with pytest.raises(SpecError) as err:
            context(spec)
        assert any("endpoint_name" in line and "3-32 characters" in line for line in err.value.lines())


@pytest.mark.parametrize("spec_name", ["a", "ab", "9lives", "x" * 63, "iris-classifier", "a-" * 20 + "b"])
def test_derived_endpoint_names_always_pass_the_rule(spec_name: str) -> None:
    derived = endpoint_name(spec_name, None)
    assert check_azure_name(derived, "derived") == derived
    assert endpoint_name(spec_name, None) == derived  # deterministic


def test_long_names_do_not_collide() -> None:
    assert endpoint_name("x" * 40 + "-one", None) != endpoint_name("x" * 40 + "-two", None)


def test_deployment_name_changes_with_model_not_with_scale(tmp_path: Path) -> None:
    base = files(AzureMLTargetImpl().render(context(write_spec(tmp_path))))["azureml/deployment.yaml"]["name"]
    other_model = files(AzureMLTargetImpl().render(context(write_spec(tmp_path), digest="sha256:" + "cd" * 32)))
    scaled = files(render(write_spec(tmp_path, target="  instance_count: 5\n")))
    assert other_model["azureml/deployment.yaml"]["name"] != base
    assert scaled["azureml/deployment.yaml"]["name"] == base
    assert base.startswith("iris-classifier-") and len(base) <= 32


def test_kubernetes_scale_settings_from_scaling(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path,
        target="  compute: k8s\n",
        extra="scaling: {min_replicas: 2, max_replicas: 5, target_cpu_percent: 50}\n",
    )
    dep = files(render(spec))["azureml/deployment.yaml"]
    assert dep["scale_settings"] == {
        "type": "target_utilization",
        "min_instances": 2,
        "max_instances": 5,
        "polling_interval": 10,
        "target_utilization_percentage": 50,
    }
    assert "instance_type" not in dep  # Kubernetes instance types are cluster-defined; only when set


@pytest.mark.parametrize(
    ("target", "scaling", "noted"),
    [
        ("", "scaling: {min_replicas: 2, max_replicas: 5}\n", True),  # managed: autoscale is Azure Monitor's
        ("  instance_count: 3\n", "scaling: {min_replicas: 3, max_replicas: 3}\n", False),  # says what runs
        ("  instance_count: 3\n", "", False),  # no scaling section: nothing was asked
        ("  compute: k8s\n", "scaling: {min_replicas: 2, max_replicas: 5}\n", False),  # rendered as scale_settings
        ("  mode: batch\n  compute: c\n", "scaling: {min_replicas: 1, max_replicas: 4}\n", True),
    ],
)
def test_a_scaling_range_azure_will_not_apply_is_a_plan_note(
    target: str, scaling: str, noted: bool, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from modeldeploy.cli.app import app

    spec = write_spec(tmp_path, target=target, extra=scaling)
    notes = AzureMLTargetImpl().plan_notes(context(spec))
    assert bool(notes) == noted, notes
    (tmp_path / "rendered").mkdir()  # an existing empty folder: nothing deployed
    result = CliRunner().invoke(app, ["plan", str(spec), "--against", str(tmp_path / "rendered")])
    assert result.exit_code == 0, result.output
    shown = "note: scaling (min_replicas" in result.output
    assert shown == noted, result.output
    if noted:
        assert "is not applied" in result.output and "target.instance_count" in result.output


def test_batch_rejects_other_auth_and_needs_compute(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        context(write_spec(tmp_path, target="  mode: batch\n"))
    assert "needs compute" in "\n".join(err.value.lines())
    with pytest.raises(SpecError) as err:
        context(write_spec(tmp_path, target="  mode: batch\n  compute: c\n  auth_mode: key\n"))
    assert "aad_token" in "\n".join(err.value.lines())


def test_triton_outside_managed_and_custom_without_code_are_clear_errors(tmp_path: Path) -> None:
    from tests.unit.model.test_custom_triton import write_triton_model

    triton = write_triton_model(tmp_path / "repo" / "densenet")
    spec = write_spec(tmp_path, target="  compute: k8s\n", model=triton)
    text = spec.read_text().replace("model: {source: ", "model: {type: triton, source: ")
    spec.write_text(text)
    with pytest.raises(RenderError, match="triton"):
        render(spec)
    spec2 = write_spec(tmp_path)
    spec2.write_text(spec2.read_text().replace("model: {source: ", "model: {type: custom, source: "))
    with pytest.raises(SpecError) as err:
        render(spec2)
    assert "model.type custom needs model.code" in "\n".join(err.value.lines())


def test_sdk_loader_rejection_becomes_render_error(tmp_path: Path) -> None:
    """A spec the SDK refuses is a RenderError naming the file (here: an instance_count of 0 that
    only the SDK's batch validation catches is impossible via deploy.yaml, so break a file)."""
    artifacts = render(write_spec(tmp_path))
    root = tmp_path / "tree"
    from modeldeploy.targets.azureml.validate import write_tree

    write_tree(root, artifacts)
    dep = root / "azureml" / "deployment.yaml"
    dep.write_text(dep.read_text() + "no_such_field: 1\n")
    with pytest.raises(RenderError, match="azureml/deployment.yaml"):
        validate_tree(root, "online")


def test_sdk_loaders_get_libyaml_parse_of_the_same_data(tmp_path: Path) -> None:
    """validate_tree hands the SDK's loaders libyaml's parse of a spec file (speed); it must be the
    data the SDK's own ``load_yaml`` reads, and a file libyaml refuses still gets the SDK's own
    reading and message. Narrowest seam: the patched function against the SDK's original."""
    from azure.ai.ml._utils.utils import load_yaml as sdk_load_yaml
    from azure.ai.ml.entities import _load_functions

    from modeldeploy.targets.azureml.validate import _sdk

    _sdk()
    assert _load_functions.load_yaml is not sdk_load_yaml  # swapped once, by the first validation
    for case in sorted(CASES):
        for spec in sorted((GOLDEN / case / "expected" / "azureml").glob("*.y*ml")):
            assert _load_functions.load_yaml(str(spec)) == sdk_load_yaml(str(spec)), spec
    bad = tmp_path / "deployment.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(Exception, match="Error while parsing yaml file"):
        _load_functions.load_yaml(str(bad))
