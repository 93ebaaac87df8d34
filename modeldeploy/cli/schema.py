from __future__ import annotations

import typer

from modeldeploy.cli.common import handled


def schema() -> None:
    """Print the JSON Schema of deploy.yaml (the same as schemas/deploy.schema.json)."""
    with handled():
        from modeldeploy.spec.schema import schema_text

        typer.echo(schema_text(), nl=False)
