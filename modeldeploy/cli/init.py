from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer

from modeldeploy.cli.common import err, handled

EPILOG = """Writes a commented deploy.yaml filled from the model's MLmodel (name, signature). Without
-o it goes to stdout when stdout is not a terminal (so '> deploy.yaml' works), else to ./deploy.yaml.

  modeldeploy init ./model --target docker > deploy.yaml

  modeldeploy init ./model --name iris-classifier -o deploy.yaml

  modeldeploy init ./model --target sagemaker -o services/iris/deploy.yaml"""


# Folder names MLflow and people use for "the model", which say nothing about which model it is.
_GENERIC = {
    "model",
    "models",
    "mlmodel",
    "artifacts",
    "artifact",
    "output",
    "outputs",
    "export",
    "saved-model",
    "savedmodel",
    "latest",
    "current",
    "src",
    "tmp",
}


def _label(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")


def default_name(raw: Mapping[str, Any], model_dir: Path) -> str:
    """The deployment's name when --name is not given: the name the model was logged under (MLmodel's
    `name`, then its `artifact_path`), else the model folder's name, else its parent's (examples/iris/model
    -> iris), skipping generic words such as `model`; `model` only when nothing better exists."""
    folder = model_dir.resolve()
    candidates = [raw.get("name"), raw.get("artifact_path"), folder.name, folder.parent.name]
    for c in candidates:
        if isinstance(c, str):
            label = _label(c.rsplit("/", 1)[-1])
            if label and label not in _GENERIC and not label[0].isdigit():
                return label
    return "model"


def init(
    model_dir: Path = typer.Argument(..., help="A local MLflow model folder (holds MLmodel)."),
    target: str = typer.Option("docker", "--target", "-t", help="docker | kubernetes | sagemaker | azureml"),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="File to write ('-' for stdout). Default: stdout when it is redirected, else deploy.yaml.",
    ),
    name: str | None = typer.Option(
        None, "--name", help="Deployment name (default: the model's logged name, else its folder's name)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Scaffold a deploy.yaml for a model folder."""
    with handled():
        from modeldeploy.errors import SpecError
        from modeldeploy.model.info import read_model
        from modeldeploy.rendering.jinja import render_template
        from modeldeploy.spec.loader import load_loaded, parse_text
        from modeldeploy.spec.schema import SCHEMA_URL

        if target not in {"docker", "kubernetes", "sagemaker", "azureml"}:
            raise SpecError(f"--target must be docker, kubernetes, sagemaker or azureml, not {target!r}")
        if out is None:
            out = Path("deploy.yaml") if sys.stdout.isatty() else Path("-")
        if not model_dir.is_dir():  # the same errors (and code) as a deploy.yaml naming this folder
            from modeldeploy.model.sources.local import file_not_folder, missing_folder

            raise (file_not_folder if model_dir.exists() else missing_folder)(str(model_dir), model_dir, in_spec=False)
        info = read_model(model_dir)
        base = Path.cwd() if str(out) == "-" else out.resolve().parent
        rel = os.path.relpath(model_dir.resolve(), base).replace(os.sep, "/")
        source = rel if rel.startswith(".") else f"./{rel}"
        if name is None:
            name = default_name(info.raw, model_dir)
        text = render_template(
            "init/deploy.yaml.j2",
            schema_url=SCHEMA_URL,
            name=name,
            source=source,
            file_name=out.name if str(out) != "-" else "deploy.yaml",
            required=info.signature is not None,
            kind=target,
            python=info.python_version or "3.11",
        )
        # The scaffold must itself be valid: parse and validate it before writing.
        load_loaded(parse_text(text, str(out), base / "deploy.yaml"), None)
        if str(out) == "-":
            typer.echo(text, nl=False)
            return
        if out.exists() and not force:
            raise SpecError(f"{out} exists; pass --force to overwrite")
        from modeldeploy.rendering.write import write_file

        write_file(out, text.encode())
        err(f"wrote {out}")
