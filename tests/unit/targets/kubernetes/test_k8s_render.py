"""Rendering: golden trees, offline validation with real validators, the restricted profile, secrets
as references only, byte stability, and the errors a bad spec or a broken object produces.

Validation is checked with the real peers that exist offline: kubernetes-validate's strict schemas for
built-in kinds, and KServe's full InferenceService CRD from tests/data/reference (the original file,
not the copy the package ships) for the InferenceService.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from modeldeploy.errors import RenderError, SpecError
from modeldeploy.targets.kubernetes import meta
from modeldeploy.targets.kubernetes.target import KubernetesTargetImpl
from modeldeploy.targets.kubernetes.validate import validate_object
from tests.goldens import assert_tree
from tests.unit.targets.kubernetes.k8s_case import GOLDEN, KSERVE_CRD, context, pod_specs, render, render_ctx

CASES = sorted(p.parent.name for p in GOLDEN.glob("*/deploy.yaml"))


def _render_case(case: str):
    return render_ctx(context(GOLDEN / case / "deploy.yaml"))


def test_every_golden_case_is_present() -> None:
    assert {"deployment", "deployment-hpa", "kserve", "batch-job", "cronjob"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_renders_like_the_golden_tree(case: str) -> None:
    assert_tree(_render_case(case), GOLDEN / case / "expected")


@pytest.mark.parametrize("case", CASES)
def test_render_is_byte_stable(case: str) -> None:
    first = [(a.path, a.content) for a in _render_case(case)]
    second = [(a.path, a.content) for a in _render_case(case)]
    assert first == second


@pytest.mark.parametrize("case", CASES)
def test_one_object_per_file_and_a_kustomization_listing_them(case: str) -> None:
    arts = {a.path: a for a in _render_case(case)}
    kustomization = yaml.safe_load(arts.pop("k8s/kustomization.yaml").content)
    assert kustomization["kind"] == "Kustomization"
    assert sorted("k8s/" + f for f in kustomization["resources"]) == sorted(arts)
    for path, art in arts.items():
        docs = list(yaml.safe_load_all(art.content))
        assert len(docs) == 1 and docs[0]["metadata"]["name"], path


@pytest.mark.parametrize("case", CASES)
def test_builtin_objects_pass_kubernetes_validate_strict(case: str) -> None:
    import kubernetes_validate

    for art in _render_case(case):
        obj = yaml.safe_load(art.content)
        if art.path.endswith("kustomization.yaml") or obj["kind"] == "InferenceService":
            continue
        assert kubernetes_validate.validate(obj, "1.31", strict=True) == "1.31"


@pytest.mark.parametrize("case", ["kserve", "kserve-custom-image"])
def test_inference_service_passes_the_original_kserve_crd_schema(case: str) -> None:
    import jsonschema

    crd = yaml.load(KSERVE_CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")["schema"]["openAPIV3Schema"]
    isvc = yaml.safe_load(next(a for a in _render_case(case) if a.path == "k8s/inferenceservice.yaml").content)
    jsonschema.Draft7Validator(schema).validate(isvc)
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1"


def test_shipped_crd_schema_is_the_reference_one() -> None:
    from modeldeploy.targets.kubernetes.validate import SCHEMA_DIR

    shipped = json.loads((SCHEMA_DIR / "inferenceservice-v1beta1.json").read_text())
    assert "aaac4e294dae2c7b1aa1886447793f3aa1c30912" in shipped.pop("$comment")
    crd = yaml.load(KSERVE_CRD.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert shipped == next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")["schema"]["openAPIV3Schema"]


# --- what the objects say ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_pod_follows_the_restricted_profile(case: str) -> None:
    objects = {a.path: yaml.safe_load(a.content) for a in _render_case(case)}
    pods = pod_specs(objects)
    if "k8s/inferenceservice.yaml" in objects:
        predictor = objects["k8s/inferenceservice.yaml"]["spec"]["predictor"]
        containers = predictor.get("containers") or [predictor["model"]]
        pods.append(("isvc", {**predictor, "containers": containers}))
    assert pods
    for where, pod in pods:
        psc = pod["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False
        tmp = [v for v in pod["volumes"] if v["name"] == "tmp"]
        assert tmp == [{"name": "tmp", "emptyDir": {}}], where
        for c in pod["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"] == {"drop": ["ALL"]}
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["runAsNonRoot"] is True
            assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]


def _walk(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))
    yield path, node


def test_secrets_are_secret_key_refs_only(tmp_path: Path) -> None:
    objects = render(tmp_path, serving={"secrets": {"API_TOKEN": {"secret": "vault-creds", "key": "the-token"}}})
    text = "".join(yaml.safe_dump(o) for o in objects.values())
    refs = []
    for path, node in _walk(objects):
        if isinstance(node, dict) and node.get("name") == "API_TOKEN":
            assert "value" not in node, path
            refs.append(node["valueFrom"])
    assert refs == [{"secretKeyRef": {"name": "vault-creds", "key": "the-token"}}]
    assert text.count("vault-creds") == 1 and text.count("the-token") == 1


def test_without_hpa_the_deployment_sets_replicas(tmp_path: Path) -> None:
    objects = render(tmp_path, scaling={"min_replicas": 3, "max_replicas": 3})
    assert objects["k8s/deployment.yaml"]["spec"]["replicas"] == 3
    assert "k8s/hpa.yaml" not in objects


def test_with_hpa_replicas_are_left_to_it(tmp_path: Path) -> None:
    objects = render(tmp_path, scaling={"min_replicas": 2, "max_replicas": 4})
    assert "replicas" not in objects["k8s/deployment.yaml"]["spec"]
    hpa = objects["k8s/hpa.yaml"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 4)


def test_selectors_are_name_and_instance_only_and_labels_everywhere(tmp_path: Path) -> None:
    objects = render(tmp_path, labels={"team": "ml"}, scaling={"min_replicas": 1, "max_replicas": 2})
    sel = {meta.NAME: "iris", meta.INSTANCE: "iris"}
    assert objects["k8s/deployment.yaml"]["spec"]["selector"] == {"matchLabels": sel}
    assert objects["k8s/service.yaml"]["spec"]["selector"] == sel
    assert objects["k8s/pdb.yaml"]["spec"]["selector"] == {"matchLabels": sel}
    set_id = objects["k8s/applyset.yaml"]["metadata"]["labels"][meta.APPLYSET_ID]
    for path, obj in objects.items():
        if path.endswith("kustomization.yaml"):
            continue
        labels = obj["metadata"]["labels"]
        assert labels["team"] == "ml" and labels[meta.MANAGED_BY] == "modeldeploy", path
        if path != "k8s/applyset.yaml":
            assert labels[meta.APPLYSET_PART_OF] == set_id, path


def test_workload_annotations_carry_model_and_signature(tmp_path: Path) -> None:
    ctx = context(_spec(tmp_path))
    objects = {a.path: yaml.safe_load(a.content) for a in render_ctx(ctx)}
    ann = objects["k8s/deployment.yaml"]["metadata"]["annotations"]
    assert ann[meta.A_MODEL_URI] == ctx.ref.pinned_uri
    assert ann[meta.A_MODEL_DIGEST] == ctx.ref.digest
    assert json.loads(ann[meta.A_SIGNATURE]) == ctx.model.signature.to_canonical()
    assert ann[meta.A_SIGNATURE_DIGEST] == ctx.model.signature.digest()
    assert (
        objects["k8s/deployment.yaml"]["spec"]["template"]["metadata"]["annotations"][meta.A_MODEL_DIGEST]
        == ctx.ref.digest
    )


def _spec(tmp_path: Path, **kw) -> Path:
    from tests.unit.targets.kubernetes.k8s_case import write_spec

    return write_spec(tmp_path, **kw)


def test_config_change_changes_the_pod_checksum(tmp_path: Path) -> None:
    a = render(tmp_path, serving={"env": {"A": "1"}})
    b = render(tmp_path, serving={"env": {"A": "2"}})
    c = render(tmp_path, serving={"env": {"A": "1"}})
    key = lambda o: o["k8s/deployment.yaml"]["spec"]["template"]["metadata"]["annotations"][meta.A_CHECKSUM]  # noqa: E731
    assert key(a) != key(b) and key(a) == key(c)


def test_default_image_is_the_docker_targets_reference(tmp_path: Path) -> None:
    ctx = context(_spec(tmp_path))
    objects = {a.path: yaml.safe_load(a.content) for a in render_ctx(ctx)}
    image = objects["k8s/deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"iris:{ctx.ref.digest.split(':')[1][:12]}"


def test_gpu_becomes_an_nvidia_limit(tmp_path: Path) -> None:
    objects = render(tmp_path, resources={"cpu": "2", "memory": "4Gi", "gpu": 2})
    res = objects["k8s/deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert res == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi", "nvidia.com/gpu": "2"}}


def test_probes_hit_ping_on_8080(tmp_path: Path) -> None:
    c = render(tmp_path)["k8s/deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/ping", "port": "http"}


def test_kserve_facts(tmp_path: Path) -> None:
    objects = render(
        tmp_path,
        scaling={"min_replicas": 1, "max_replicas": 3},
        target={"flavor": "kserve", "storage_uri": "gs://bucket/iris", "kserve": {"canary_traffic_percent": 20}},
    )
    assert set(objects) == {
        "k8s/applyset.yaml",
        "k8s/inferenceservice.yaml",
        "k8s/kustomization.yaml",
        "k8s/serviceaccount.yaml",
    }
    isvc = objects["k8s/inferenceservice.yaml"]
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    p = isvc["spec"]["predictor"]
    assert p["model"]["modelFormat"] == {"name": "mlflow"} and p["model"]["protocolVersion"] == "v2"
    assert p["model"]["storageUri"] == "gs://bucket/iris"
    assert (p["minReplicas"], p["maxReplicas"], p["scaleMetric"], p["scaleTarget"], p["canaryTrafficPercent"]) == (
        1,
        3,
        "cpu",
        70,
        20,
    )


def test_batch_job_runs_predict_with_the_serving_image(tmp_path: Path) -> None:
    objects = render(
        tmp_path, target={"mode": "batch", "batch": {"input": "/data/a.csv", "output": "/data/b.json", "claim": "pvc"}}
    )
    job = objects["k8s/job.yaml"]
    pod = job["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["args"] == ["predict", "/data/a.csv", "/data/b.json"]
    assert {"name": "MODELDEPLOY_INPUT_TYPE", "value": "csv"} in c["env"]
    assert pod["restartPolicy"] == "Never"
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "pvc"}} in pod["volumes"]
    assert not {"k8s/service.yaml", "k8s/deployment.yaml", "k8s/hpa.yaml"} & set(objects)


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"flavor": "kserve"}, "needs storage_uri"),
        ({"flavor": "kserve", "storage_uri": "ftp://x/y"}, "must be a URI KServe can download from"),
        ({"storage_uri": "s3://b/m"}, "only used by flavor kserve"),
        ({"mode": "batch"}, "needs a batch section"),
        (
            {"mode": "batch", "batch": {"input": "/etc/x", "output": "/data/o", "claim": "c"}},
            "must be a file under mount_path",
        ),
        ({"schedule": "0 2 * * *"}, "only used with mode batch"),
        (
            {
                "mode": "batch",
                "schedule": "every day",
                "batch": {"input": "/data/i", "output": "/data/o", "claim": "c"},
            },
            "cron expression",
        ),
        ({"kubernetes_version": "latest"}, "Kubernetes minor version"),
    ],
)
def test_bad_target_settings_are_spec_errors(tmp_path: Path, target: dict, message: str) -> None:
    with pytest.raises(SpecError) as err:
        context(_spec(tmp_path, target=target))
    assert message in "\n".join(err.value.lines())


def test_reserved_label_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="app.kubernetes.io/name"):
        render(tmp_path, labels={"app.kubernetes.io/name": "other"})


def test_invalid_label_value_names_object_and_field(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"ConfigMap models/iris-applyset: metadata.labels.team"):
        render(tmp_path, labels={"team": "has spaces"})


def test_scale_to_zero_needs_kserve(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="scale to zero"):
        render(tmp_path, scaling={"min_replicas": 0, "max_replicas": 2})


@pytest.mark.parametrize("version", ["1.99", "1.20"])
def test_unsupported_kubernetes_version(tmp_path: Path, version: str) -> None:
    with pytest.raises(RenderError, match="kubernetes_version"):
        render(tmp_path, target={"kubernetes_version": version})


def test_other_kubernetes_versions_validate(tmp_path: Path) -> None:
    assert render(tmp_path, target={"kubernetes_version": "1.27"})["k8s/deployment.yaml"]["kind"] == "Deployment"


def _objects(case: str) -> dict[str, dict]:
    return {a.path: yaml.safe_load(a.content) for a in _render_case(case)}


def test_a_broken_builtin_object_is_rejected_naming_the_field() -> None:
    dep = _objects("deployment")["k8s/deployment.yaml"]
    broken = copy.deepcopy(dep)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    with pytest.raises(
        RenderError, match=r"Deployment models/iris: spec.template.spec.containers\[0\].ports\[0\].containerPort"
    ):
        validate_object(broken, "1.31")
    typo = copy.deepcopy(dep)
    typo["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(RenderError, match="readOnlyRootFileSystem"):
        validate_object(typo, "1.31")
    validate_object(dep, "1.31")  # the unbroken one passes


def test_a_broken_inference_service_is_rejected_naming_the_field() -> None:
    isvc = _objects("kserve")["k8s/inferenceservice.yaml"]
    bad_metric = copy.deepcopy(isvc)
    bad_metric["spec"]["predictor"]["scaleMetric"] = "gpu"
    with pytest.raises(RenderError, match=r"InferenceService models/iris: spec.predictor.scaleMetric"):
        validate_object(bad_metric, "1.31")
    unknown = copy.deepcopy(isvc)
    unknown["spec"]["predictor"]["model"]["storageURI"] = "s3://typo"
    with pytest.raises(RenderError, match=r"spec.predictor.model.*storageURI"):
        validate_object(unknown, "1.31")
    no_format = copy.deepcopy(isvc)
    del no_format["spec"]["predictor"]["model"]["modelFormat"]["name"]
    with pytest.raises(RenderError, match="modelFormat"):
        validate_object(no_format, "1.31")
    validate_object(isvc, "1.31")


# --- desired() --------------------------------------------------------------------------------------


def test_desired_resources_have_stable_addresses_and_replace_rules() -> None:
    ctx = context(GOLDEN / "deployment-hpa" / "deploy.yaml")
    target = KubernetesTargetImpl()
    arts = target.render(ctx)
    res = target.desired(ctx, arts)
    addrs = [r.address for r in res]
    assert addrs[0] == "configmap.models.iris-applyset"
    assert set(addrs) == {
        "configmap.models.iris-applyset",
        "serviceaccount.models.iris",
        "service.models.iris",
        "deployment.models.iris",
        "horizontalpodautoscaler.models.iris",
        "poddisruptionbudget.models.iris",
        "ingress.models.iris",
        "networkpolicy.models.iris",
    }
    dep = next(r for r in res if r.kind == "deployment")
    assert dep.replace_on == ("spec.selector",) and dep.depends_on == ("configmap.models.iris-applyset",)
    assert dep.body == yaml.safe_load(next(a for a in arts if a.path == "k8s/deployment.yaml").content)

    batch = context(GOLDEN / "batch-job" / "deploy.yaml")
    job = next(r for r in target.desired(batch, target.render(batch)) if r.kind == "job")
    assert "spec.template" in job.replace_on and job.replace_reason


def test_applyset_id_has_kubectls_shape() -> None:
    set_id = meta.applyset_id("iris-applyset", "models")
    assert set_id.startswith("applyset-") and set_id.endswith("-v1") and len(set_id) == len("applyset--v1") + 43
    assert meta.applyset_id("iris-applyset", "other") != set_id


def test_no_scanner_skip_unless_the_spec_asks_with_a_reason(tmp_path: Path) -> None:
    """A team's policy scanner is not switched off behind its back: no checkov.io/skip annotation by
    default (not even with secrets, a tag-pinned image and IfNotPresent, where checks would fail)."""
    secrets = {"secrets": {"API_TOKEN": {"secret": "iris", "key": "token"}}}
    objects = render(tmp_path, serving=secrets)
    for path, obj in objects.items():
        assert "checkov.io/" not in yaml.safe_dump(obj), path
    asked = [{"id": "CKV_K8S_11", "reason": "no CPU limit: throttling hurts tail latency"}]
    objects = render(tmp_path, serving=secrets, target={"scanner_skips": asked})
    assert objects["k8s/deployment.yaml"]["metadata"]["annotations"]["checkov.io/skip1"] == (
        "CKV_K8S_11=no CPU limit: throttling hurts tail latency"
    )
    assert "checkov.io/skip2" not in objects["k8s/deployment.yaml"]["metadata"]["annotations"]


@pytest.mark.parametrize(
    "skip", [{"id": "CKV_K8S_11"}, {"id": "CKV_K8S_11", "reason": "  "}, {"id": "x=y", "reason": "r"}]
)
def test_a_scanner_skip_without_a_reason_or_a_check_id_is_refused(tmp_path: Path, skip: dict) -> None:
    with pytest.raises(SpecError) as exc:
        render(tmp_path, target={"scanner_skips": [skip]})
    assert "scanner_skips" in str(exc.value)
