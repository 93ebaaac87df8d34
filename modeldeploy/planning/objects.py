"""The objects inside rendered files, for the machine-readable plan.

A plan against a folder or a git ref compares files; a policy tool (conftest/OPA, a review bot)
wants the objects in them: the Kubernetes object, the SageMaker request, the Azure ML spec, the
container. This module parses rendered artifacts back into objects, gives each an object-level
address, and pairs the old and new objects of a changed file into :class:`ObjectChange` values.

Addresses:

* Kubernetes objects (YAML documents with apiVersion/kind/metadata.name):
  ``kubernetes/<apiVersion>/<Kind>/<namespace>/<name>`` (``kubernetes/apps/v1/Deployment/ml/iris``;
  cluster-scoped objects have no namespace part);
* SageMaker request bodies (``sagemaker/<Operation>.json``): ``sagemaker/<Operation>/<name>``;
* Azure ML specs (YAML with a ``$schema`` from Azure ML): ``azureml/<file stem>/<name>``;
* a Dockerfile: ``docker/<path>``, the object being ``{"instructions": [{"instruction", "arguments"}]}``;
* any other YAML or JSON file: ``file/<path>`` (``#<n>`` per document after the first).

Other files (model copies, code, text) are compared as files only. Everything is redacted with
:func:`modeldeploy.planning.redact.scrub` before it leaves this module.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from modeldeploy.planning.redact import SENSITIVE, SENSITIVE_CHANGED, redact_text, scrub

_NAME_KEYS = ("EndpointName", "EndpointConfigName", "ModelName", "TransformJobName", "ModelPackageGroupName", "JobName")
_DOCKER_LINE = re.compile(r"^\s*([A-Za-z]+)\s+(.*)$")


@dataclass(frozen=True)
class ObjectChange:
    """One object inside a changed file: what it was, what it becomes (both redacted)."""

    address: str
    kind: str
    action: str  # create | update | delete
    before: Any
    after: Any
    file: str


def _k8s_address(doc: dict[str, Any]) -> str | None:
    meta = doc.get("metadata")
    if not (isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str) and isinstance(meta, dict)):
        return None
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    namespace = meta.get("namespace")
    parts = ["kubernetes", doc["apiVersion"], doc["kind"], *([namespace] if isinstance(namespace, str) else []), name]
    return "/".join(parts)


def _dockerfile(text: str) -> dict[str, Any]:
    instructions, pending = [], ""
    for raw in text.split("\n"):
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        line, pending = pending + line.strip(), ""
        m = _DOCKER_LINE.match(line)
        if m:
            instruction, arguments = m.group(1).upper(), m.group(2)
            entry: dict[str, Any] = {"instruction": instruction, "arguments": redact_text(arguments)}
            if instruction in ("ENV", "ARG", "LABEL"):
                entry["values"] = _assignments(arguments)
            instructions.append(entry)
    return {"instructions": instructions}


def _assignments(arguments: str) -> dict[str, str]:
    """``K="v" K2=v2`` (and the legacy ``ENV K v``) as a map, for policy tools and for redaction."""
    try:
        words = shlex.split(arguments, posix=True)
    except ValueError:
        return {}
    if len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return {k: v for k, _, v in (w.partition("=") for w in words)}


def parse_objects(path: str, content: bytes) -> dict[str, tuple[str, Any]] | None:
    """``{address: (kind, object)}`` for the objects in one rendered file, or None when the file is
    not one whose objects are known (binary, plain text, unparsable)."""
    if b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    name = path.rsplit("/", 1)[-1]
    out: dict[str, tuple[str, Any]] = {}
    try:
        if name == "Dockerfile" or name.endswith(".Dockerfile"):
            return {f"docker/{path}": ("docker/Dockerfile", _dockerfile(text))}
        if name.endswith(".json"):
            docs: list[Any] = [json.loads(text)]
        elif name.endswith((".yaml", ".yml")):
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        else:
            return None
    except (ValueError, yaml.YAMLError):
        return None
    for index, doc in enumerate(docs):
        address, kind = None, "file"
        if isinstance(doc, dict):
            address = _k8s_address(doc)
            if address is not None:
                kind = f"kubernetes/{doc['kind']}"
            elif path.startswith("sagemaker/") and name.endswith(".json"):
                operation = name[: -len(".json")]
                key = next((k for k in _NAME_KEYS if isinstance(doc.get(k), str)), None)
                address, kind = f"sagemaker/{operation}" + (f"/{doc[key]}" if key else ""), f"sagemaker/{operation}"
            elif "azureml" in str(doc.get("$schema", "")) or path.startswith("azureml/"):
                stem = name.rsplit(".", 1)[0]
                address = f"azureml/{stem}" + (f"/{doc['name']}" if isinstance(doc.get("name"), str) else "")
                kind = f"azureml/{stem}"
        if address is None:
            address = f"file/{path}" + (f"#{index}" if index else "")
        while address in out:  # two documents with one identity: keep both, visibly
            address += "#dup"
        out[address] = (kind, doc)
    return out


def object_changes(path: str, old: bytes | None, new: bytes | None) -> tuple[ObjectChange, ...]:
    """The objects of one file that differ between ``old`` and ``new`` (None: the file is absent)."""
    before = parse_objects(path, old) if old is not None else {}
    after = parse_objects(path, new) if new is not None else {}
    if before is None or after is None:
        return ()
    out = []
    for address in sorted(set(before) | set(after)):
        b, a = before.get(address), after.get(address)
        if b is not None and a is not None and b[1] == a[1]:
            continue
        action = "create" if b is None else "delete" if a is None else "update"
        kind = (a or b)[0]  # type: ignore[index]
        out.append(ObjectChange(address, kind, action, scrub(b[1]) if b else None, scrub(a[1]) if a else None, path))
    return tuple(out)


def sensitive_mask(value: Any) -> Any:
    """Terraform's ``before_sensitive``/``after_sensitive``: ``true`` where a value was hidden,
    mirrored into maps and lists; ``false`` when nothing in ``value`` is."""
    if value in (SENSITIVE, SENSITIVE_CHANGED):
        return True
    if isinstance(value, dict):
        inner = {k: m for k, v in value.items() if (m := sensitive_mask(v)) is not False}
        return inner or False
    if isinstance(value, list):
        marks = [sensitive_mask(v) for v in value]
        return marks if any(m is not False for m in marks) else False
    return False


def terraform_actions(action: str) -> list[str]:
    """A modeldeploy action as Terraform's ``change.actions`` list."""
    return {"replace": ["delete", "create"], "no-op": ["no-op"]}.get(action, [action])


def objects_json(changes: Iterable[ObjectChange]) -> list[dict[str, Any]]:
    return [
        {
            "address": c.address,
            "type": c.kind,
            "file": c.file,
            "change": {
                "actions": terraform_actions(c.action),
                "before": c.before,
                "after": c.after,
                "before_sensitive": sensitive_mask(c.before),
                "after_sensitive": sensitive_mask(c.after),
            },
        }
        for c in changes
    ]
