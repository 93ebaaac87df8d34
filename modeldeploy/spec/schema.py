"""deploy.yaml's JSON Schema, generated from the pydantic models (committed as schemas/deploy.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from modeldeploy.spec.models import DeploySpec

SCHEMA_ID = "https://modeldeploy.dev/schemas/deploy.schema.json"
SCHEMA_URL = "https://raw.githubusercontent.com/modeldeploy/modeldeploy/main/schemas/deploy.schema.json"


def schema_dict() -> dict[str, Any]:
    s = DeploySpec.model_json_schema(by_alias=True, mode="validation")
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "modeldeploy deploy.yaml",
    }
    out.update(s)
    return out


def schema_text() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"
