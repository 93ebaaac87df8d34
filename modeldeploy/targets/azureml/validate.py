"""Parse-back check of the rendered Azure ML specs with the azure-ai-ml SDK's own loaders.

The loaders validate fully offline, but local paths in a spec must exist, so the rendered tree is
written to a temporary folder first. ``load_batch_deployment`` rejects model batch deployment files
(its schema has no ``settings``), so those are built with the public ``ModelBatchDeployment`` /
``ModelBatchDeploymentSettings`` constructors instead. azure.ai.ml is imported here,
inside the function, never at module import time (it costs ~2 s).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import RenderError, missing_dependency
from modeldeploy.rendering.artifact import Artifact

ENDPOINT = "azureml/endpoint.yaml"
DEPLOYMENT = "azureml/deployment.yaml"
MODEL = "azureml/model.yaml"
RAI_JOB = "azureml/rai-dashboard.job.yml"


def _sdk() -> Any:
    try:
        import azure.ai.ml as aml
    except ImportError as exc:
        needs = "the azureml target needs the Azure ML SDK to validate its specs"
        raise missing_dependency(exc, ["azure.ai.ml"], needs, "azure") from None
    _fast_yaml_once()
    # The SDK logs "Class X: This is an experimental class" when its loaders build the Responsible AI
    # job's classes: about the SDK's internals, nothing a user can act on, and it broke into the CLI's
    # output (six lines on stderr for every render of such a job).
    logging.getLogger("azure.ai.ml._utils._experimental").setLevel(logging.ERROR)
    return aml


_FAST_YAML: list[bool] = []


def _fast_yaml_once() -> None:
    """The SDK's loaders read each spec with PyYAML's pure-Python loader (``safe_load``), about a
    quarter of an Azure ML render. The specs checked here are our own canonical YAML, which
    ``dump_yaml`` has already parsed back with libyaml's safe loader to the very data it was made
    from; so the loaders are given libyaml's parse of a spec file, and anything else (a stream, a text
    libyaml refuses, an SDK without this function) goes through the SDK's own ``load_yaml``."""
    if _FAST_YAML:
        return
    _FAST_YAML.append(True)
    fast = getattr(yaml, "CSafeLoader", None)
    try:
        from azure.ai.ml.entities import _load_functions as functions
    except ImportError:
        return
    original = getattr(functions, "load_yaml", None)
    if fast is None or original is None:
        return

    def load_yaml(source: Any) -> Any:
        if isinstance(source, str) and source.endswith((".yaml", ".yml")):
            try:
                with open(source, encoding="utf-8") as f:
                    return yaml.load(f.read(), Loader=fast)
            except Exception:  # the SDK's own reading and message
                pass
        return original(source)

    functions.load_yaml = load_yaml


def write_tree(root: Path, artifacts: Iterable[Artifact], *, placeholders: bool = False) -> None:
    """Write artifacts under ``root``. With ``placeholders``, copies of model/code files are written
    empty: the loaders only check that the paths exist, and a model can be gigabytes."""
    for a in artifacts:
        dest = root / a.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "wb") as f:
            if not (placeholders and a.source is not None):
                a.copy_to(f)  # a model copy is streamed


def validate_artifacts(artifacts: list[Artifact], mode: str) -> None:
    """Load every spec with the SDK from a temporary copy of the tree; RenderError on any problem.
    The loaders read only that copy, so a tree that passed before in this process (the same paths,
    bytes and placeholders) is not loaded again (rendering.checked)."""
    from modeldeploy.rendering.checked import once

    tree = [(a.path, a.mode, _placed(a)) for a in artifacts]
    once("azureml", (mode, tree), lambda: _validate_artifacts(artifacts, mode))


def _placed(a: Artifact) -> Any:
    """What ``write_tree(..., placeholders=True)`` writes for ``a``: nothing for a model/code copy,
    a file artifact's bytes by their sha256 (reading it checks them), else the content."""
    if a.source is not None:
        return None
    if a.file is not None:
        return ("sha256", a.digest, a.size)
    return a.content


def _validate_artifacts(artifacts: list[Artifact], mode: str) -> None:
    """The loaders read the tree from this process's scratch folder, brought to hold exactly what
    ``write_tree(..., placeholders=True)`` writes in a fresh one (scratch.py)."""
    from modeldeploy.targets.azureml import scratch

    with scratch.folder(artifacts, _placed) as root:
        validate_tree(root, mode)


def validate_tree(root: Path, mode: str) -> None:
    aml = _sdk()
    if (root / RAI_JOB).is_file():
        _load(RAI_JOB, aml.load_job, root)
    _load(ENDPOINT, lambda p: (aml.load_batch_endpoint if mode == "batch" else aml.load_online_endpoint)(p), root)
    _load(MODEL, aml.load_model, root)
    if mode == "batch":
        _load(
            DEPLOYMENT,
            lambda p: build_model_batch_deployment(yaml.safe_load(Path(p).read_text()), Path(p).parent),
            root,
        )
    else:
        _load(DEPLOYMENT, aml.load_online_deployment, root)


def _load(rel: str, loader: Any, root: Path) -> Any:
    path = root / rel
    try:
        return loader(str(path))
    except RenderError:
        raise
    except Exception as exc:  # the SDK raises marshmallow / azure ValidationException / TypeError
        first = " ".join(str(exc).split())[:400]
        raise RenderError(f"rendered {rel} does not load with azure-ai-ml: {first}") from None


def build_model_batch_deployment(data: Mapping[str, Any], base: Path | None = None) -> Any:
    """A ModelBatchDeployment entity from a rendered modelBatchDeployment spec (every key is mapped
    explicitly, so an unknown key is a TypeError rather than silently dropped)."""
    from azure.ai.ml.entities import (
        BatchRetrySettings,
        CodeConfiguration,
        Environment,
        Model,
        ModelBatchDeployment,
        ModelBatchDeploymentSettings,
        ResourceConfiguration,
    )

    d = {k: v for k, v in data.items() if k != "$schema"}
    settings = dict(d.pop("settings", {}))
    retry = settings.pop("retry_settings", None)
    model = d.pop("model", None)
    if isinstance(model, Mapping):
        model = Model(**{**model, "path": str((base or Path(".")) / model["path"]) if "path" in model else None})
    code = d.pop("code_configuration", None)
    env = d.pop("environment", None)
    if isinstance(env, Mapping):
        env = Environment(
            image=env.get("image"),
            conda_file=str((base or Path(".")) / env["conda_file"]) if env.get("conda_file") else None,
        )
    resources = d.pop("resources", None)
    d.pop("type", None)
    _strict(ModelBatchDeployment, d)
    _strict(ModelBatchDeploymentSettings, settings)
    entity = ModelBatchDeployment(
        **d,
        model=model,
        environment=env,
        code_configuration=CodeConfiguration(
            code=str((base or Path(".")) / code["code"]), scoring_script=code["scoring_script"]
        )
        if code
        else None,
        resources=ResourceConfiguration(**resources) if resources else None,
        settings=ModelBatchDeploymentSettings(
            **settings, retry_settings=BatchRetrySettings(**retry) if retry else None
        ),
    )
    entity._validate()  # the checks begin_create_or_update runs before sending
    return entity


def _strict(cls: type, kwargs: Mapping[str, Any]) -> None:
    """The SDK constructors take ``**kwargs`` and ignore what they do not know; refuse that here."""
    import inspect

    known = {n for n, p in inspect.signature(cls.__init__).parameters.items() if p.kind is p.KEYWORD_ONLY}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(unknown)}")
