"""MLflow model signatures as typed, immutable values (no mlflow import).

In MLmodel, ``signature.inputs``, ``signature.outputs`` and ``signature.params`` are JSON *strings*
holding MLflow's own spec lists (see ``mlflow/types/schema.py``: ``ColSpec.from_json_dict``,
``TensorSpec.from_json_dict``, ``ParamSpec.from_json_dict``). This module parses them into
:class:`Signature` and gives a canonical form:

* :meth:`Signature.to_canonical` is MLflow's JSON shape, normalised: every column carries ``name``
  (``null`` when unnamed) and an explicit boolean ``required``; params always use ``type`` (MLflow
  2.5 wrote ``dtype``) and carry ``default`` and ``shape``. It round-trips through
  :meth:`Signature.from_canonical` and is what targets store on deployed objects.
* :meth:`Signature.digest` is ``sha256:`` over that form dumped as JSON with sorted keys.

``required`` follows what MLflow's scoring server does, not what the JSON says at first sight: a
scalar column without ``required`` is required, but an array/object/map/any column without it (or
with ``required: null``, which MLflow 3 writes for such columns) is *optional*, because
``ColSpec.from_json_dict`` passes ``None`` and ``Schema.required_input_names`` tests truthiness.

The data types the specs carry (scalars, arrays, maps, objects) are in ``datatypes.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modeldeploy.model.datatypes import ScalarType, need_dict, parse_type, signature_error

if TYPE_CHECKING:
    from modeldeploy.model.complextypes import DataType

SIGNATURE_PARTS = ("inputs", "outputs", "params")
# JSON in a model (signature parts, input examples) nests at most this deep: the same bound as
# deploy.yaml and MLmodel themselves (spec/parsing.py and model/files.py MAX_DEPTH).
MAX_JSON_DEPTH = 64


# --- specs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    name: str | None
    type: DataType
    required: bool = True

    kind = "column"

    def to_canonical(self) -> dict[str, Any]:
        return {**self.type.to_canonical(), "name": self.name, "required": self.required}

    def type_text(self) -> str:
        return self.type.render()


@dataclass(frozen=True)
class TensorSpec:
    name: str | None
    dtype: str
    shape: tuple[int, ...]

    kind = "tensor"
    required = True  # MLflow tensor specs have no optional form

    def to_canonical(self) -> dict[str, Any]:
        return {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}, "name": self.name}

    def type_text(self) -> str:
        return f"tensor<{self.dtype}>"

    def shape_text(self) -> str:
        return "(" + ", ".join(str(d) for d in self.shape) + ("," if len(self.shape) == 1 else "") + ")"


Spec = ColumnSpec | TensorSpec


def _parse_spec(raw: Any, part: str, index: int) -> Spec:
    where = f"{part}[{index}]"
    raw = need_dict(raw, part, where)
    if "type" not in raw:
        raise signature_error(part, f"{where}: missing 'type'")
    name = raw.get("name")
    name = None if name is None else str(name)
    if raw["type"] == "tensor":
        ts = need_dict(raw.get("tensor-spec"), part, f"{where}.tensor-spec")
        dtype = ts.get("dtype")
        shape = ts.get("shape")
        if not isinstance(dtype, str) or not dtype:
            raise signature_error(part, f"{where}: tensor-spec needs a 'dtype' string")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise signature_error(part, f"{where}: tensor-spec 'shape' must be a list of integers (-1 for any size)")
        return TensorSpec(name, dtype, tuple(shape))
    dtype = parse_type(raw, part, where)
    if "required" in raw and raw["required"] is not None:
        required = bool(raw["required"])
    else:
        # ColSpec.from_json_dict: scalars default to required=True; complex types get None (optional).
        required = isinstance(dtype, ScalarType)
    return ColumnSpec(name, dtype, required)


@dataclass(frozen=True)
class Schema:
    """The inputs or outputs of a model: all columns or all tensors (MLflow forbids mixing)."""

    specs: tuple[Spec, ...]

    @property
    def kind(self) -> str:
        """``columns`` or ``tensors`` (the words ``signature.input_kinds`` uses)."""
        return "tensors" if self.specs and isinstance(self.specs[0], TensorSpec) else "columns"

    @property
    def has_names(self) -> bool:
        return bool(self.specs) and self.specs[0].name is not None

    def get(self, name: str) -> Spec | None:
        return next((s for s in self.specs if s.name == name), None)

    def keyed(self) -> dict[str, Spec]:
        """Specs by name, or by position (``"[0]"``) when the schema is unnamed."""
        return {label(s, i): s for i, s in enumerate(self.specs)}

    def to_canonical(self) -> list[dict[str, Any]]:
        return [s.to_canonical() for s in self.specs]

    @classmethod
    def parse(cls, raw: Any, part: str) -> Schema:
        if not isinstance(raw, list):
            raise signature_error(
                part, f"{part} must be a JSON list of column or tensor specs, got {type(raw).__name__}"
            )
        specs = tuple(_parse_spec(item, part, i) for i, item in enumerate(raw))
        kinds = {type(s) for s in specs}
        if len(kinds) > 1:
            raise signature_error(part, f"{part} mixes column and tensor specs; MLflow allows one kind per schema")
        names = [s.name for s in specs if s.name is not None]
        if names and len(names) != len(specs):
            raise signature_error(part, f"{part}: either every spec has a name or none has")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise signature_error(part, f"{part}: duplicate name(s) {', '.join(dupes)}")
        return cls(specs)


def label(spec: Spec, index: int) -> str:
    return spec.name if spec.name is not None else f"[{index}]"


@dataclass(frozen=True)
class ParamSpec:
    """An inference parameter: callers may omit it (the default is used) — see ``_enforce_params_schema``."""

    name: str
    type: DataType
    default: Any = None
    shape: tuple[int, ...] | None = None

    def to_canonical(self) -> dict[str, Any]:
        return {
            **self.type.to_canonical(),
            "name": self.name,
            "default": self.default,
            "shape": None if self.shape is None else list(self.shape),
        }

    def type_text(self) -> str:
        return self.type.render() + ("[]" if self.shape == (-1,) else "")

    @classmethod
    def parse(cls, raw: Any, index: int) -> ParamSpec:
        where = f"params[{index}]"
        raw = need_dict(raw, "params", where)
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise signature_error("params", f"{where}: missing 'name'")
        t = raw.get("type", raw.get("dtype"))  # MLflow 2.5 wrote 'dtype'; ParamSpec.from_json_dict accepts both
        if t is None:
            raise signature_error("params", f"{where}: missing 'type'")
        dtype = parse_type({**raw, "type": t}, "params", where)
        shape = raw.get("shape")
        if shape is not None and (not isinstance(shape, list) or not all(isinstance(d, int) for d in shape)):
            raise signature_error("params", f"{where}: 'shape' must be null or a list of integers")
        return cls(name, dtype, raw.get("default"), None if shape is None else tuple(shape))


def nested_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when lists/objects in ``value`` nest more than ``limit`` levels (iterative: no recursion)."""
    stack = [(value, 1)] if isinstance(value, (list, dict)) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (list, dict)):
                stack.append((child, depth + 1))
    return False


def _json(value: Any, part: str) -> Any:
    """MLmodel stores each part as a JSON string; canonical dicts hold the parsed list."""
    if value is None:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise signature_error(
                part, f"signature.{part} is not valid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})"
            ) from None
        except RecursionError:  # json's C decoder gives up near the interpreter's recursion limit
            raise signature_error(part, f"signature.{part} is nested deeper than {MAX_JSON_DEPTH} levels") from None
    elif not isinstance(value, (list, dict)):
        raise signature_error(part, f"signature.{part} must be a JSON string, got {type(value).__name__}")
    if nested_deeper_than(value):
        raise signature_error(part, f"signature.{part} is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


@dataclass(frozen=True)
class Signature:
    inputs: Schema | None
    outputs: Schema | None = None
    params: tuple[ParamSpec, ...] | None = None

    # -- construction --

    @classmethod
    def from_mlmodel(cls, data: Mapping[str, Any]) -> Signature:
        """From MLmodel's ``signature`` mapping, whose values are JSON strings (or null)."""
        if not isinstance(data, Mapping):
            raise signature_error(
                "", f"signature must be a mapping of inputs/outputs/params, got {type(data).__name__}"
            )
        return cls._build({part: _json(data.get(part), part) for part in SIGNATURE_PARTS})

    @classmethod
    def from_canonical(cls, data: Mapping[str, Any]) -> Signature:
        """The inverse of :meth:`to_canonical`; also accepts JSON strings as MLmodel holds them."""
        if not isinstance(data, Mapping):
            raise signature_error("", f"a canonical signature is a mapping, got {type(data).__name__}")
        unknown = set(data) - set(SIGNATURE_PARTS)
        if unknown:
            raise signature_error("", f"unknown signature key(s): {', '.join(sorted(map(str, unknown)))}")
        return cls._build({part: _json(data.get(part), part) for part in SIGNATURE_PARTS})

    @classmethod
    def _build(cls, parts: Mapping[str, Any]) -> Signature:
        inputs = None if parts["inputs"] is None else Schema.parse(parts["inputs"], "inputs")
        outputs = None if parts["outputs"] is None else Schema.parse(parts["outputs"], "outputs")
        params = None
        if parts["params"] is not None:
            if not isinstance(parts["params"], list):
                raise signature_error("params", "params must be a JSON list of param specs")
            params = tuple(ParamSpec.parse(p, i) for i, p in enumerate(parts["params"]))
            names = [p.name for p in params]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise signature_error("params", f"params: duplicate name(s) {', '.join(dupes)}")
        return cls(inputs, outputs, params)

    # -- views --

    @property
    def input_kind(self) -> str | None:
        return None if self.inputs is None else self.inputs.kind

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params or () if p.name == name), None)

    def to_canonical(self) -> dict[str, Any]:
        return {
            "inputs": None if self.inputs is None else self.inputs.to_canonical(),
            "outputs": None if self.outputs is None else self.outputs.to_canonical(),
            "params": None if self.params is None else [p.to_canonical() for p in self.params],
        }

    def canonical_json(self) -> str:
        return json.dumps(self.to_canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def render(self) -> str:
        """A readable table per part (used by ``inspect``): name, type, required/shape."""
        blocks = []
        for title, schema in (("inputs", self.inputs), ("outputs", self.outputs)):
            if schema is None:
                blocks.append(f"{title}: (none)")
                continue
            rows = [(label(s, i), s.type_text(), _req_or_shape(s)) for i, s in enumerate(schema.specs)]
            blocks.append(f"{title} ({schema.kind}):\n" + _table(("name", "type", "required/shape"), rows))
        if self.params:
            rows = [(p.name, p.type_text(), f"default={json.dumps(p.default)}") for p in self.params]
            blocks.append("params:\n" + _table(("name", "type", "default"), rows))
        else:
            blocks.append("params: (none)")
        return "\n".join(blocks) + "\n"


def _req_or_shape(spec: Spec) -> str:
    if isinstance(spec, TensorSpec):
        return spec.shape_text()
    return "required" if spec.required else "optional"


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    rows = [header, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows)
