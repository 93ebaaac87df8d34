"""Environments never address the same cloud object by default (docs/environments.md): ``<name>-<env>``
unless the overlay gives its own name or place, and two environments that would still share an object
are refused at load time (so by validate, render, plan and apply alike), located and naming both."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_all_environments, load_spec

HEAD = "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\n"
TARGETS = {
    "kubernetes": "target: {kind: kubernetes, namespace: ml}\n",
    "sagemaker": (
        "target:\n  kind: sagemaker\n  region: eu-west-1\n"
        "  execution_role_arn: arn:aws:iam::210987654321:role/sm\n"
        "  image: 210987654321.dkr.ecr.eu-west-1.amazonaws.com/serve:1\n  artifact_bucket: b\n"
    ),
    "azureml": "target: {kind: azureml, subscription_id: 5f1c-s, resource_group: rg, workspace: ws}\n",
    "docker": "target: {kind: docker}\n",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_an_environment_gets_its_own_names_by_default(tmp_path: Path, kind: str) -> None:
    path = write(tmp_path, HEAD + TARGETS[kind] + "environments:\n  staging: {}\n  prod-eu: {labels: {tier: prod}}\n")
    names = {s.env: s.spec.name for s in load_all_environments(path)}
    assert names == {None: "iris", "staging": "iris-staging", "prod-eu": "iris-prod-eu"}


@pytest.mark.parametrize(
    ("kind", "overlay"),
    [
        ("kubernetes", "{target: {namespace: ml-prod}}"),
        ("sagemaker", "{target: {region: us-east-1}}"),
        ("sagemaker", "{target: {execution_role_arn: 'arn:aws:iam::111122223333:role/sm'}}"),
        ("azureml", "{target: {workspace: ws-prod}}"),
        ("azureml", "{target: {endpoint_name: iris-prod-ep}}"),
        ("docker", "{target: {image: registry.example.com/ml/iris:1}}"),
        ("kubernetes", "{name: iris-live}"),
    ],
)
def test_an_overlay_with_its_own_place_or_name_keeps_it(tmp_path: Path, kind: str, overlay: str) -> None:
    path = write(tmp_path, HEAD + TARGETS[kind] + f"environments:\n  prod: {overlay}\n")
    assert load_spec(path, "prod").spec.name == ("iris-live" if overlay.startswith("{name:") else "iris")


def test_a_role_in_the_same_account_is_not_a_place_of_its_own(tmp_path: Path) -> None:
    overlay = "{target: {execution_role_arn: 'arn:aws:iam::210987654321:role/other'}}"
    path = write(tmp_path, HEAD + TARGETS["sagemaker"] + f"environments:\n  prod: {overlay}\n")
    assert load_spec(path, "prod").spec.name == "iris-prod"


@pytest.mark.parametrize(
    ("kind", "staging", "prod", "what"),
    [
        ("kubernetes", "{name: iris}", "{name: iris}", "Kubernetes objects ml/iris"),
        (
            "kubernetes",
            "{target: {namespace: shared}}",
            "{target: {namespace: shared}}",
            "Kubernetes objects shared/iris",
        ),
        (
            "sagemaker",
            "{target: {endpoint_name: one}}",
            "{target: {endpoint_name: one}}",
            "SageMaker endpoint one (eu-west-1, account 210987654321)",
        ),
        ("azureml", "{target: {endpoint_name: ep}}", "{target: {endpoint_name: ep}}", "Azure ML endpoint ep"),
        (
            "docker",
            "{target: {image: 'r.example.com/i:1'}}",
            "{target: {image: 'r.example.com/i:1'}}",
            "Docker image r.example.com/i:1",
        ),
    ],
)
def test_two_environments_still_addressing_one_object_are_refused(
    tmp_path: Path, kind: str, staging: str, prod: str, what: str
) -> None:
    path = write(tmp_path, HEAD + TARGETS[kind] + f"environments:\n  staging: {staging}\n  prod: {prod}\n")
    with pytest.raises(SpecError) as exc:
        load_spec(path, "prod")  # render/plan/apply of one environment are refused too
    d = exc.value.diagnostics[0]
    text = path.read_text().splitlines()
    assert text[d.line - 1][d.col - 1 :].startswith("prod:")
    assert d.code == "MD107" and "environments.prod and environments.staging" in d.message and what in d.message
    with pytest.raises(SpecError) as every:
        load_all_environments(path)
    messages = [x.message for x in every.value.diagnostics]
    assert any("(environment staging)" in m for m in messages) and any("(environment prod)" in m for m in messages)


def test_different_kinds_never_collide(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + TARGETS["docker"]
        + "environments:\n  k8s:\n    name: iris\n    "
        + TARGETS["kubernetes"].replace("\n", "\n    ").rstrip()
        + "\n  local: {name: iris}\n",
    )
    assert {s.env for s in load_all_environments(path)} == {None, "k8s", "local"}


def test_a_name_too_long_with_the_environment_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEAD.replace("name: iris", "name: " + "a" * 60) + TARGETS["docker"] + "environments:\n  staging: {}\n"
    )
    with pytest.raises(SpecError) as exc:
        load_spec(path, "staging")
    d = exc.value.diagnostics[0]
    assert (d.line, d.code) == (6, "MD107") and "longer than 63" in d.message
    assert exc.value.hint == "set a shorter name for it: environments.staging.name"
