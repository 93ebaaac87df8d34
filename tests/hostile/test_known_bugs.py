"""Reproducers for bugs that the hostile and generated inputs found, kept as regression tests now that
they are fixed. A bug found next gets a strict xfail reproducer here (and, when the property suites hit
it, an entry in tests/property/known_bugs.py); once fixed it XPASSes and fails: delete both markers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from modeldeploy.errors import ModelError
from modeldeploy.model.example import check_input_example
from modeldeploy.model.info import read_model
from tests.property.generators import dump, json_deep
from tests.property.test_property_mlmodel import MLMODEL, SIDE, write_model


def model(tmp_path: Path, doc: dict, side: dict | None = None) -> Path:
    return write_model(tmp_path / "m", dump(doc, flow=None, unicode=True).encode(), side)


def test_deeply_nested_signature_json_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["signature"]["inputs"] = json_deep(1000)
    with pytest.raises(ModelError, match="nested deeper than 64 levels") as info:
        read_model(model(tmp_path, doc))
    assert info.value.diagnostics[0].line > 1  # located at signature.inputs in MLmodel


def test_signature_json_nested_past_the_bound_but_within_recursion_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["signature"]["inputs"] = json_deep(65)
    with pytest.raises(ModelError, match="signature.inputs is nested deeper than 64 levels"):
        read_model(model(tmp_path, doc))


def test_deeply_nested_input_example_is_a_model_error(tmp_path: Path) -> None:
    """read_example raises a located ModelError; check_input_example (the policy) turns it into an
    'unreadable' SIG903 finding, as for any other unreadable example."""
    from modeldeploy.model.example import read_example

    for depth in (1000, 65):
        info = read_model(model(tmp_path / str(depth), MLMODEL, {**SIDE, "input_example.json": json_deep(depth)}))
        with pytest.raises(ModelError, match="nested deeper than 64 levels"):
            read_example(info)
        (finding,) = check_input_example(info)
        assert "nested deeper than 64 levels" in str(finding), finding


def test_env_vars_that_is_not_a_list_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["env_vars"] = 5
    with pytest.raises(ModelError, match="env_vars must be a list"):
        read_model(model(tmp_path, doc))


@pytest.mark.parametrize("where", ["../outside.yaml", "ABSOLUTE", "link.yaml"])
def test_string_env_outside_the_model_folder_is_refused(tmp_path: Path, where: str) -> None:
    (tmp_path / "outside.yaml").write_text("dependencies: [{pip: [outside-package==6.6.6]}]\n")
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["python_function"]["env"] = str(tmp_path / "outside.yaml") if where == "ABSOLUTE" else where
    side = {k: v for k, v in SIDE.items() if k not in ("requirements.txt", "python_env.yaml")}
    folder = model(tmp_path, doc, side)
    if where == "link.yaml":
        (folder / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    with pytest.raises(ModelError, match="inside the model folder"):
        read_model(folder)


@pytest.mark.parametrize("key", ["artifact_path", "serving_input_path"])
def test_input_example_outside_the_model_folder_is_refused(tmp_path: Path, key: str) -> None:
    (tmp_path / "outside.json").write_text(json.dumps({"columns": ["zzz"], "data": [[1]]}))
    doc = copy.deepcopy(MLMODEL)
    doc["saved_input_example_info"] = {"artifact_path": "input_example.json", key: "../outside.json"}
    try:
        info = read_model(model(tmp_path, doc))
    except ModelError:
        return
    example = info.input_example
    paths = [example.artifact_path, example.serving_input_path] if example else []
    for p in filter(None, paths):
        assert (info.path / p).resolve().is_relative_to(info.path.resolve()), f"{key} {p!r} leaves the model folder"


def test_overlong_env_file_name_is_a_model_error(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["python_function"]["env"] = "x" * 4096
    with pytest.raises(ModelError, match="too long"):
        read_model(model(tmp_path, doc))


def test_overlong_local_source_is_a_located_error(tmp_path: Path) -> None:
    from modeldeploy import api
    from modeldeploy.errors import ModelDeployError

    spec = tmp_path / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./" + "x" * 300 + "}\ntarget: {kind: docker}\n"
    )
    with pytest.raises(ModelDeployError):
        api.load(spec, environ={})


def test_mlmodel_messages_quote_keys(tmp_path: Path) -> None:
    doc = copy.deepcopy(MLMODEL)
    doc["flavors"]["evil\nerror: forged"] = True
    with pytest.raises(ModelError) as info:
        read_model(model(tmp_path, doc))
    for line in info.value.lines():
        assert "\n" not in line


def test_diagnostic_file_names_stay_on_one_line() -> None:
    """errors.py Diagnostic.format printed the file name raw: a file named with a newline split one
    diagnostic over two output lines (and could forge a 'FILE:1:1: error:' line)."""
    from modeldeploy.errors import Diagnostic

    for name in ("a\nevil.yaml:1:1: error: forged", "a\rb", "a\u2028b", "a\x85b"):
        text = Diagnostic(name, 3, 4, "boom").format()
        assert text.splitlines() == [text] and "\u2028" not in text and "\x85" not in text, text
        assert text.endswith(":3:4: error: boom [MD100]")
    assert Diagnostic("my models/deploy.yaml", 1, 2, "x").format() == "my models/deploy.yaml:1:2: error: x [MD100]"


def test_a_fifo_named_by_a_requirement_include_is_refused_not_read(tmp_path: Path) -> None:
    """A `-r` include naming a FIFO would block read_bytes() forever; it is refused as not a regular file."""
    import os

    folder = model(tmp_path, MLMODEL, {**SIDE, "requirements.txt": "-r pipe.txt\n"})
    os.mkfifo(folder / "pipe.txt")
    with pytest.raises(ModelError, match="not a regular file"):
        read_model(folder)


@pytest.mark.parametrize("what", ["value", "key"])
def test_azureml_refuses_a_label_azure_cannot_hold(tmp_path: Path, what: str) -> None:
    """targets/azureml dropped a label longer than Azure's tag limit (256-character values, 512-character
    names on endpoints and deployments) without a word; it is refused, naming the label."""
    from modeldeploy import api
    from modeldeploy.errors import RenderError
    from tests.hostile.test_model_folders import project

    spec = project(tmp_path, "azureml")
    label = "{team: '" + "v" * 257 + "'}" if what == "value" else "{'" + "k" * 513 + "': v}"
    spec.write_text(spec.read_text() + f"labels: {label}\n")
    with pytest.raises(RenderError, match="labels.(team|k+\\.\\.\\.): an Azure tag (value|name) holds at most"):
        api.render(api.load(spec, environ={}))
    spec.write_text(spec.read_text().replace("v" * 257, "v" * 256).replace("k" * 513, "k" * 512))
    rendered = api.render(api.load(spec, environ={})).artifacts
    at_limit = b"v" * 256 if what == "value" else b"k" * 512
    assert any(a.path.endswith("endpoint.yaml") and at_limit in a.content for a in rendered), [a.path for a in rendered]


@pytest.mark.parametrize("kind", ["mlflow", "custom", "triton"])
def test_docker_images_carry_the_deploy_yaml_labels(tmp_path: Path, kind: str) -> None:
    """The docker target never put deploy.yaml `labels` on the image; they are LABELs now (read back
    with the corpus' BuildKit-rules reader), values escaped, keys with '.', '-' and '/' allowed."""
    from modeldeploy import api
    from tests.hostile.corpus import parse_dockerfile

    labels = {
        "team": 'ml "core" $(id) `id`',
        "app.kubernetes.io/name": "iris",
        "org.opencontainers.image.source": "https://x.example/r",
    }
    if kind == "mlflow":
        from tests.hostile.test_model_folders import project

        spec = project(tmp_path, "docker")
        spec.write_text(spec.read_text() + "labels: " + json.dumps(labels) + "\n")
    else:
        spec = _example_copy(tmp_path, kind, labels)
    files = {a.path: a.content for a in api.render(api.load(spec, environ={})).artifacts}
    _, instructions = parse_dockerfile(files["Dockerfile"].decode())
    pairs = dict(p for ins in instructions if ins.keyword == "LABEL" for p in ins.pairs)
    assert {k: pairs.get(k) for k in labels} == labels
    assert pairs["io.modeldeploy.name"]  # modeldeploy's own labels are still there


def _example_copy(tmp_path: Path, kind: str, labels: dict[str, str]) -> Path:
    import shutil

    import yaml

    repo = Path(__file__).resolve().parents[2]
    dest = tmp_path / kind
    shutil.copytree(repo / "examples" / kind, dest)
    spec = dest / "deploy.yaml"
    data = yaml.safe_load(spec.read_text())
    data["labels"] = labels
    data["target"] = {"kind": "docker"}
    data.pop("environments", None)
    spec.write_text(yaml.safe_dump(data))
    return spec


@pytest.mark.parametrize(
    "key", ["io.modeldeploy.name", "org.opencontainers.image.title", "com.docker.x", "a b", "9lives", "é"]
)
def test_docker_refuses_label_keys_it_cannot_or_may_not_set(tmp_path: Path, key: str) -> None:
    from modeldeploy import api
    from modeldeploy.errors import RenderError
    from tests.hostile.test_model_folders import project

    spec = project(tmp_path, "docker")
    spec.write_text(spec.read_text() + "labels: " + json.dumps({key: "v"}) + "\n")
    with pytest.raises(RenderError, match="labels") as info:
        api.render(api.load(spec, environ={}))
    assert len(info.value.lines()) == 1
