from __future__ import annotations

import os
import re
from pathlib import Path

import typer

from modeldeploy.cli.common import err, handled

EPILOG = """Writes a commented deploy.yaml filled from the model's MLmodel (name, signature).

  modeldeploy init ./model --target docker

  modeldeploy init ./model --target sagemaker -o services/iris/deploy.yaml"""


def init(
    model_dir: Path = typer.Argument(..., help="A local MLflow model folder (holds MLmodel)."),
    target: str = typer.Option("docker", "--target", "-t", help="docker | kubernetes | sagemaker | azureml"),
    out: Path = typer.Option(Path("deploy.yaml"), "--out", "-o", help="File to write ('-' for stdout)."),
    name: str = typer.Option(None, "--name", help="Deployment name (default: from the model folder)."),
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
        info = read_model(model_dir)
        base = Path.cwd() if str(out) == "-" else out.resolve().parent
        rel = os.path.relpath(model_dir.resolve(), base).replace(os.sep, "/")
        source = rel if rel.startswith(".") else f"./{rel}"
        if name is None:
            name = re.sub(r"[^a-z0-9-]+", "-", model_dir.resolve().name.lower()).strip("-")[:63] or "model"
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
