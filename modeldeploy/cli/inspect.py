from __future__ import annotations

from pathlib import Path

import typer

from modeldeploy.cli.common import handled

EPILOG = """SOURCE is a local model folder or any model URI deploy.yaml accepts.

  modeldeploy inspect ./model

  modeldeploy inspect models:/iris@champion --format json"""


def inspect(
    source: str = typer.Argument(..., help="Model folder or URI (runs:/, models:/, s3://, azureml:)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking server (default: $MLFLOW_TRACKING_URI)."
    ),
    model_type: str | None = typer.Option(
        None, "--type", help="mlflow | custom | triton (default: MLmodel → mlflow, config.pbtxt → triton)."
    ),
) -> None:
    """Show a model's facts: flavors, Python, requirements and signature."""
    with handled():
        import json

        from modeldeploy.errors import ModelDeployError
        from modeldeploy.model.kinds import model_type as type_of
        from modeldeploy.model.kinds import read_typed
        from modeldeploy.model.sources import resolve

        if fmt not in {"text", "json"}:
            raise ModelDeployError(f"--format must be text or json, not {fmt!r}")
        ref = resolve(source, base_dir=Path.cwd(), tracking_uri=tracking_uri, in_spec=False)
        info = read_typed(ref.local_path, model_type, display=source)
        facts = {
            "type": type_of(info),
            "source": ref.uri,
            "pinned_uri": ref.pinned_uri,
            "digest": ref.digest,
            "flavors": sorted(info.flavors),
            "loader_module": info.loader_module,
            "python_version": info.python_version,
            "mlflow_version": info.mlflow_version,
            "requirements": list(info.requirements),
            "has_input_example": info.has_input_example,
            "signature": info.signature.to_canonical() if info.signature is not None else None,
            "signature_digest": info.signature.digest() if info.signature is not None else None,
        }
        repo = getattr(info, "repository", None)
        if repo is not None:
            facts["triton_models"] = [
                {"name": m.name, "kind": m.kind, "max_batch_size": m.max_batch_size, "versions": list(m.versions)}
                for m in repo.models
            ]
        if fmt == "json":
            typer.echo(json.dumps(facts, indent=2, sort_keys=True))
            return
        lines = [
            f"type:           {facts['type']}",
            f"source:         {facts['source']}",
            f"pinned:         {facts['pinned_uri']}",
            f"digest:         {facts['digest']}",
            f"flavors:        {', '.join(facts['flavors'])}",
            f"loader:         {facts['loader_module'] or '-'}",
            f"python:         {facts['python_version'] or '-'}",
            f"mlflow:         {facts['mlflow_version'] or '-'}",
            f"requirements:   {len(facts['requirements'])} ({', '.join(facts['requirements'][:6])}{', …' if len(facts['requirements']) > 6 else ''})",
            f"input example:  {'yes' if facts['has_input_example'] else 'no'}",
        ]
        for m in facts.get("triton_models", []):
            versions = ", ".join(str(v) for v in m["versions"])
            lines.append(
                f"triton model:   {m['name']} ({m['kind']}, max_batch_size {m['max_batch_size']}, versions {versions})"
            )
        if info.signature is None:
            why = {
                "mlflow": "log one with mlflow.models.infer_signature",
                "custom": "custom models carry none",
                "triton": "several models and no single ensemble",
            }
            lines.append(f"signature:      none ({why.get(facts['type'], '')})")
        else:
            lines.append(f"signature:      {facts['signature_digest']}")
            lines.append(info.signature.render().rstrip("\n"))
        typer.echo("\n".join(lines))
