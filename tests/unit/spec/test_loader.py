"""deploy.yaml loading: every problem is a located FILE:LINE:COL error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_all_environments, load_spec, parse_text
from modeldeploy.spec.schema import schema_text

REPO = Path(__file__).resolve().parents[3]

VALID = """\
apiVersion: modeldeploy/v1
name: iris-classifier
model:
  source: ./model
  type: mlflow
signature:
  required: true
  compatibility: backward
serving:
  env: {LOG_LEVEL: info}
  secrets: {API_TOKEN: {secret: md-secrets, key: token}}
resources: {cpu: "1", memory: 2Gi}
scaling: {min_replicas: 1, max_replicas: 3}
target:
  kind: docker
environments:
  prod: {scaling: {min_replicas: 3}}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "deploy.yaml") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode() if isinstance(text, str) else text)
    return p


def errors_of(path: Path, env: str | None = None, all_envs: bool = False) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_all_environments(path) if all_envs else load_spec(path, env)
    return info.value.lines()


def test_issue_example_loads_and_overlay_deep_merges(tmp_path: Path) -> None:
    p = write(tmp_path, VALID)
    base = load_spec(p).spec
    prod = load_spec(p, "prod").spec
    assert base.scaling.min_replicas == 1 and base.scaling.max_replicas == 3
    assert prod.scaling.min_replicas == 3 and prod.scaling.max_replicas == 3  # merged, not replaced
    assert prod.serving.secrets["API_TOKEN"].secret == "md-secrets"
    assert base.target.kind == "docker"


def test_unknown_keys_are_located_with_did_you_mean(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        VALID.replace("  type: mlflow", "  typ: mlflow").replace("  kind: docker", "  kind: docker\n  imagee: x"),
    )
    lines = errors_of(p)
    assert any(line.startswith(f"{p}:5:3: error: unknown key 'model.typ'; did you mean 'type'?") for line in lines), (
        lines
    )
    assert any(":16:3: error: unknown key 'target.imagee'; did you mean 'image'?" in line for line in lines), lines


def test_every_error_is_collected_not_just_the_first(tmp_path: Path) -> None:
    text = VALID.replace("name: iris-classifier", "name: Iris_Classifier").replace(
        "compatibility: backward", "compatibility: sideways"
    )
    text = text.replace("scaling: {min_replicas: 1, max_replicas: 3}", "scaling: {min_replicas: 5, max_replicas: 3}")
    lines = errors_of(write(tmp_path, text))
    assert len(lines) == 3, lines
    assert ":2:7: error: name: must be a DNS-1123 label" in lines[0]
    assert ":8:18: error: signature.compatibility" in lines[1]
    assert ":13:10: error: scaling: max_replicas (3) is below min_replicas (5)" in lines[2]


def test_environment_errors_point_into_the_overlay(tmp_path: Path) -> None:
    p = write(tmp_path, VALID.replace("prod: {scaling: {min_replicas: 3}}", "prod: {scaling: {min_replicas: -1}}"))
    lines = errors_of(p, all_envs=True)
    assert len(lines) == 1 and ":17:34: error: (environment prod) scaling.min_replicas" in lines[0], lines


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    lines = errors_of(write(tmp_path, VALID), env="qa")
    assert "environment 'qa' is not defined (known: prod)" in lines[0]


def test_unknown_target_kind(tmp_path: Path) -> None:
    lines = errors_of(write(tmp_path, VALID.replace("kind: docker", "kind: lambda")))
    assert ":15:9: error: target.kind must be one of" in lines[0], lines


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    lines_ = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=False):
        lines_.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines = errors_of(write(tmp_path, "\n".join(lines_) + "\n"))
    assert "YAML alias bomb" in lines[0]


def test_duplicate_keys_and_python_tags_are_errors(tmp_path: Path) -> None:
    lines = errors_of(
        write(tmp_path, "apiVersion: modeldeploy/v1\nname: a\nname: b\nx: !!python/object/apply:os.system [id]\n")
    )
    assert any(":3:1: error: duplicate key 'name' (first defined at line 2)" in line for line in lines), lines
    assert any(":4:4: error: YAML tag" in line and "not allowed" in line for line in lines), lines


def test_non_utf8_is_located(tmp_path: Path) -> None:
    lines = errors_of(write(tmp_path, b"apiVersion: modeldeploy/v1\nname: caf\xe9\n"))
    assert lines[0].endswith("deploy.yaml:2:10: error: file is not valid UTF-8 (byte 0xe9) [MD101]")


def test_syntax_error_is_located(tmp_path: Path) -> None:
    lines = errors_of(write(tmp_path, "apiVersion: modeldeploy/v1\nname: [unclosed\n"))
    assert ":3:1: error: invalid YAML" in lines[0], lines


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "a: 1\n---\nb: 2\n"])
def test_not_a_single_mapping(tmp_path: Path, text: str) -> None:
    assert errors_of(write(tmp_path, text))


def test_missing_and_unsupported_api_version(tmp_path: Path) -> None:
    assert "apiVersion is missing" in errors_of(write(tmp_path, VALID.replace("apiVersion: modeldeploy/v1\n", "")))[0]
    assert "unsupported apiVersion 'modeldeploy/v2'" in errors_of(write(tmp_path, VALID.replace("/v1", "/v2")))[0]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    assert "no such file" in errors_of(tmp_path / "nope.yaml")[0]


def test_secret_values_cannot_be_given_inline(tmp_path: Path) -> None:
    p = write(tmp_path, VALID.replace("{API_TOKEN: {secret: md-secrets, key: token}}", "{API_TOKEN: hunter2}"))
    assert "serving.secrets.API_TOKEN" in errors_of(p)[0]


def test_spec_is_frozen(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, VALID)).spec
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


def test_committed_schema_is_fresh() -> None:
    committed = (REPO / "schemas" / "deploy.schema.json").read_text()
    assert committed == schema_text(), "schemas/deploy.schema.json is stale: run `make schema`"
    assert json.loads(committed)["properties"]["target"]


def test_parse_text_positions_are_one_based() -> None:
    loaded = parse_text("a:\n  b: 1\n", "x.yaml")
    assert loaded.positions.values[("a", "b")] == (2, 6)
    assert loaded.positions.keys[("a", "b")] == (2, 3)


def test_overlay_null_under_a_parent_the_base_lacks_removes_nothing(tmp_path: Path) -> None:
    """`scaling: {max_replicas: null}` when the base has no `scaling` used to reach validation as a
    literal null ("scaling.max_replicas: Input should be a valid integer")."""
    text = VALID.replace("scaling: {min_replicas: 1, max_replicas: 3}\n", "").replace(
        "  prod: {scaling: {min_replicas: 3}}",
        "  prod: {scaling: {max_replicas: null}, labels: {team: null, tier: gold}}",
    )
    p = write(tmp_path, text)
    prod = load_spec(p, "prod").spec
    base = load_spec(p).spec
    assert prod.scaling == base.scaling  # nothing removed, defaults kept
    assert dict(prod.labels) == {"tier": "gold"}
    assert len(load_all_environments(p)) == 2


@pytest.mark.parametrize("value,kind", [("!!int nope", "int"), ("!!float x", "float"), ("!!bool maybe", "bool")])
def test_a_standard_tag_on_the_wrong_text_is_located(tmp_path: Path, value: str, kind: str) -> None:
    """`name: !!int nope` used to end as "internal error: ValueError" instead of a located error."""
    p = write(tmp_path, VALID.replace("name: iris-classifier", f"name: {value}"))
    lines = errors_of(p)
    assert lines[0].startswith(f"{p}:2:7: error: ") and f"is not a valid {kind}" in lines[0], lines
