"""Triton model repositories: layout, ``config.pbtxt`` and a tensor signature (no tritonclient needed).

``model.source`` of a ``model.type: triton`` deployment is either one model folder
(``<model>/config.pbtxt`` + numbered version folders) or a repository holding several such folders.
:func:`read_triton` validates the layout the way Triton's model repository documentation describes it
(https://docs.nvidia.com/deeplearning/triton-inference-server/user-guide/docs/user_guide/model_repository.html)
and returns a :class:`TritonModelInfo` — a :class:`~modeldeploy.model.info.ModelInfo` with the same
attribute names, so every target and the signature policy can use it unchanged.

Inputs and outputs become an MLflow tensor signature: ``TYPE_FP32`` → ``float32`` and so on; a
model with ``max_batch_size > 0`` gets ``-1`` prepended to every shape (Triton's implicit batch
dimension), which is what a caller sends.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.errors import Diagnostic, ModelError
from modeldeploy.model.info import ModelInfo
from modeldeploy.model.pbtxt import Enum, Message, Pos, Value, fail, parse
from modeldeploy.model.signature import Schema, Signature, TensorSpec

CONFIG = "config.pbtxt"
MAX_CONFIG_BYTES = 1 << 20

#: Triton data type → the numpy dtype name MLflow writes in a tensor-spec. BF16 has no numpy type;
#: it is kept as "bfloat16" so a change to or from it is still seen by the compatibility check.
DATA_TYPES = {
    "TYPE_BOOL": "bool",
    "TYPE_UINT8": "uint8",
    "TYPE_UINT16": "uint16",
    "TYPE_UINT32": "uint32",
    "TYPE_UINT64": "uint64",
    "TYPE_INT8": "int8",
    "TYPE_INT16": "int16",
    "TYPE_INT32": "int32",
    "TYPE_INT64": "int64",
    "TYPE_FP16": "float16",
    "TYPE_FP32": "float32",
    "TYPE_FP64": "float64",
    "TYPE_STRING": "object",
    "TYPE_BF16": "bfloat16",
}

#: platform/backend → the file Triton loads from each version folder when default_model_filename is unset.
DEFAULT_FILES = {
    "onnxruntime_onnx": "model.onnx",
    "onnxruntime": "model.onnx",
    "tensorrt_plan": "model.plan",
    "tensorrt": "model.plan",
    "pytorch_libtorch": "model.pt",
    "pytorch": "model.pt",
    "tensorflow_savedmodel": "model.savedmodel",
    "tensorflow_graphdef": "model.graphdef",
    "python": "model.py",
    "openvino": "model.xml",
}

# config.pbtxt fields modeldeploy interprets, and the other ModelConfig fields it accepts as they are
# (from model_config.proto). Anything else is a typo and an error.
_READ = {"name", "platform", "backend", "max_batch_size", "input", "output", "default_model_filename"}
_PASSED = {
    "version_policy",
    "instance_group",
    "optimization",
    "dynamic_batching",
    "sequence_batching",
    "ensemble_scheduling",
    "parameters",
    "model_warmup",
    "cc_model_filenames",
    "metric_tags",
    "model_operations",
    "model_transaction_policy",
    "model_repository_agents",
    "response_cache",
    "batch_input",
    "batch_output",
    "runtime",
}
_TENSOR_READ = {"name", "data_type", "dims"}
_TENSOR_PASSED = {
    "format",
    "reshape",
    "is_shape_tensor",
    "allow_ragged_batch",
    "optional",
    "label_filename",
    "is_non_linear_format_io",
}


@dataclass(frozen=True)
class TritonTensor:
    name: str
    data_type: str  # TYPE_FP32 ...
    dims: tuple[int, ...]
    optional: bool = False

    def spec(self, batched: bool) -> TensorSpec:
        shape = ((-1,) if batched else ()) + self.dims
        return TensorSpec(self.name, DATA_TYPES[self.data_type], shape)


@dataclass(frozen=True)
class TritonModel:
    """One model folder of the repository, as its config.pbtxt describes it."""

    name: str
    folder: str  # relative to the repository root ("." for a single-model source)
    platform: str | None
    backend: str | None
    max_batch_size: int
    inputs: tuple[TritonTensor, ...]
    outputs: tuple[TritonTensor, ...]
    versions: tuple[int, ...]

    @property
    def kind(self) -> str:
        return self.platform or self.backend or "?"

    def signature(self) -> Signature | None:
        if not self.inputs and not self.outputs:
            return None
        batched = self.max_batch_size > 0
        return Signature(
            Schema(tuple(t.spec(batched) for t in self.inputs)) if self.inputs else None,
            Schema(tuple(t.spec(batched) for t in self.outputs)) if self.outputs else None,
        )


@dataclass(frozen=True)
class TritonRepository:
    """``single``: the source is one model folder (config.pbtxt at its top); otherwise a repository."""

    models: tuple[TritonModel, ...]
    single: bool

    @property
    def default_model(self) -> TritonModel | None:
        """The model requests go to: the only one, or the only ensemble of several; else None."""
        if len(self.models) == 1:
            return self.models[0]
        ensembles = [m for m in self.models if m.platform == "ensemble"]
        return ensembles[0] if len(ensembles) == 1 else None

    def get(self, name: str) -> TritonModel | None:
        return next((m for m in self.models if m.name == name), None)


@dataclass(frozen=True)
class TritonModelInfo(ModelInfo):
    """A ModelInfo for a Triton repository (``flavors`` is empty; ``signature`` from config.pbtxt)."""

    repository: TritonRepository | None = None
    model_type: str = "triton"


def _error(display: str, message: str) -> ModelError:
    return ModelError(f"{display}: {message}", diagnostics=[Diagnostic(display, 0, 0, message, ModelError.code)])


# --- config.pbtxt ----------------------------------------------------------------------------------


class _Config:
    """Typed access to a parsed config.pbtxt, failing at the value's position."""

    def __init__(self, display: str):
        self.display = display

    def fail(self, pos: Pos | None, message: str) -> ModelError:
        return fail(self.display, pos, message)

    def check_fields(self, msg: Message, allowed: set[str], where: str) -> None:
        for name, pos in msg.names.items():
            if name not in allowed:
                close = difflib.get_close_matches(name, sorted(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.fail(pos, f"unknown field {name!r} in {where}{hint}")

    def one(self, msg: Message, name: str, *, required: bool = False, where: str = "the model config") -> Value | None:
        values = msg.fields.get(name) or []
        if len(values) > 1:
            raise self.fail(values[1].pos, f"{name!r} is given more than once in {where}")
        if not values:
            if required:
                raise self.fail(msg.pos, f"{where} has no {name!r}")
            return None
        return values[0]

    def string(self, msg: Message, name: str, **kw: Any) -> str | None:
        v = self.one(msg, name, **kw)
        if v is None:
            return None
        if not isinstance(v.value, str):
            raise self.fail(v.pos, f"{name!r} must be a quoted string")
        return v.value

    def integer(self, v: Value, what: str) -> int:
        if not isinstance(v.value, int) or isinstance(v.value, bool):
            raise self.fail(v.pos, f"{what} must be an integer")
        return v.value

    def tensor(self, v: Value, what: str) -> TritonTensor:
        if not isinstance(v.value, Message):
            raise self.fail(v.pos, f"each {what} must be a {{ ... }} block")
        msg = v.value
        where = f"this {what}"
        self.check_fields(msg, _TENSOR_READ | _TENSOR_PASSED, f"an {what}")
        name = self.string(msg, "name", required=True, where=where)
        if not name:
            raise self.fail(v.pos, f"{what} name is empty")
        dt = self.one(msg, "data_type", required=True, where=f"{what} {name!r}")
        assert dt is not None
        if not isinstance(dt.value, Enum) or dt.value.name not in DATA_TYPES:
            shown = dt.value.name if isinstance(dt.value, Enum) else repr(dt.value)
            close = difflib.get_close_matches(shown, sorted(DATA_TYPES), n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(DATA_TYPES))})"
            raise self.fail(dt.pos, f"{what} {name!r}: unknown data_type {shown}{hint}")
        if "dims" not in msg.fields:
            raise self.fail(v.pos, f"{what} {name!r} has no 'dims' (use dims: [ -1 ] for a variable-length axis)")
        dims = []
        for d in msg.fields["dims"]:
            n = self.integer(d, f"{what} {name!r} dims")
            if n == 0 or n < -1:
                raise self.fail(d.pos, f"{what} {name!r}: dims must be positive or -1 (variable), not {n}")
            dims.append(n)
        optional = self.one(msg, "optional", where=where)
        return TritonTensor(name, dt.value.name, tuple(dims), bool(optional and optional.value is True))

    def tensors(self, msg: Message, field_name: str) -> tuple[TritonTensor, ...]:
        out = tuple(self.tensor(v, field_name) for v in msg.fields.get(field_name, []))
        seen: set[str] = set()
        for v, t in zip(msg.fields.get(field_name, []), out, strict=False):
            if t.name in seen:
                raise self.fail(v.pos, f"{field_name} name {t.name!r} is used twice")
            seen.add(t.name)
        return out


@dataclass(frozen=True)
class ParsedConfig:
    name: str | None
    name_pos: Pos | None
    platform: str | None
    backend: str | None
    max_batch_size: int
    inputs: tuple[TritonTensor, ...]
    outputs: tuple[TritonTensor, ...]
    default_model_filename: str | None


def parse_config(text: str, display: str) -> ParsedConfig:
    """Parse and check one config.pbtxt (the fields modeldeploy reads; the rest must be real fields)."""
    msg = parse(text, display)
    c = _Config(display)
    c.check_fields(msg, _READ | _PASSED, "the model config")
    name_value = c.one(msg, "name")
    name = c.string(msg, "name")
    platform = c.string(msg, "platform")
    backend = c.string(msg, "backend")
    if not platform and not backend:
        raise c.fail(
            Pos(1, 1), "the model config names neither 'platform' nor 'backend' (e.g. platform: \"onnxruntime_onnx\")"
        )
    mbs_value = c.one(msg, "max_batch_size")
    mbs = 0 if mbs_value is None else c.integer(mbs_value, "max_batch_size")
    if mbs < 0:
        assert mbs_value is not None
        raise c.fail(mbs_value.pos, f"max_batch_size must be 0 or more, not {mbs}")
    inputs = c.tensors(msg, "input")
    outputs = c.tensors(msg, "output")
    if platform != "ensemble" and not inputs and backend != "python":
        raise c.fail(Pos(1, 1), "the model config declares no 'input'; modeldeploy needs inputs for the signature")
    return ParsedConfig(
        name=name,
        name_pos=name_value.pos if name_value else None,
        platform=platform,
        backend=backend,
        max_batch_size=mbs,
        inputs=inputs,
        outputs=outputs,
        default_model_filename=c.string(msg, "default_model_filename"),
    )


# --- layout ----------------------------------------------------------------------------------------


def _read_text(path: Path, display: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise _error(display, f"file is {size} bytes; at most {MAX_CONFIG_BYTES} are read")
        raw = path.read_bytes()
    except OSError as exc:
        raise _error(display, f"cannot read: {exc.strerror or exc}") from None
    try:
        return raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        raise _error(display, "file is not valid UTF-8") from None


def _model(folder: Path, name: str, display: str, rel: str) -> TritonModel:
    cfg_display = f"{display}/{CONFIG}"
    cfg = parse_config(_read_text(folder / CONFIG, cfg_display), cfg_display)
    if cfg.name is not None and cfg.name != name:
        raise fail(
            cfg_display,
            cfg.name_pos,
            f"name {cfg.name!r} does not match the model folder {name!r} (Triton requires them to be equal)",
        )
    versions: list[int] = []
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        if child.name.startswith(".") or not child.is_dir():
            continue
        if not child.name.isdigit() or child.name.startswith("0") and child.name != "0":
            raise _error(
                f"{display}/{child.name}",
                "is not a numbered version folder (Triton loads versions from folders named 1, 2, ...)",
            )
        _check_version(child, f"{display}/{child.name}", cfg)
        versions.append(int(child.name))
    if not versions:
        raise _error(display, "has no numbered version folder (e.g. 1/model.onnx)")
    return TritonModel(
        name=name,
        folder=rel,
        platform=cfg.platform,
        backend=cfg.backend,
        max_batch_size=cfg.max_batch_size,
        inputs=cfg.inputs,
        outputs=cfg.outputs,
        versions=tuple(sorted(versions)),
    )


def _check_version(folder: Path, display: str, cfg: ParsedConfig) -> None:
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if cfg.platform == "ensemble":
        return  # an ensemble's version folder is empty by design
    expected = (
        cfg.default_model_filename or DEFAULT_FILES.get(cfg.platform or "") or DEFAULT_FILES.get(cfg.backend or "")
    )
    if expected is not None:
        if not (folder / expected).exists():
            kind = cfg.platform or cfg.backend
            raise _error(
                display,
                f"has no {expected} (what Triton loads for {kind}{' by default_model_filename' if cfg.default_model_filename else ''})",
            )
    elif not entries:
        raise _error(display, "is empty; a version folder holds the model file")


def _check_name(name: str, display: str) -> None:
    if not name or "/" in name or name.startswith("."):
        raise _error(display, f"{name!r} is not a usable Triton model name")


def read_repository(path: Path | str, display: str | None = None) -> TritonRepository:
    """Validate a model folder or a repository of model folders; located ModelError on any problem."""
    root = Path(path)
    shown = display or str(path)
    if not root.is_dir():
        raise _error(shown, "no such folder; a Triton source is a model folder or a model repository")
    if (root / CONFIG).is_file():
        name = root.resolve().name
        _check_name(name, shown)
        return TritonRepository((_model(root, name, shown, "."),), single=True)
    models = []
    for child in sorted(root.iterdir(), key=lambda p: p.name):
        if child.name.startswith(".") or not child.is_dir():
            continue
        if not (child / CONFIG).is_file():
            raise _error(
                f"{shown}/{child.name}", f"has no {CONFIG}; every folder of a Triton model repository is a model"
            )
        models.append(_model(child, child.name, f"{shown}/{child.name}", child.name))
    if not models:
        raise _error(
            shown, f"has no {CONFIG} and no model folders; expected <model>/{CONFIG} and <model>/1/<model file>"
        )
    return TritonRepository(tuple(models), single=False)


def read_triton(path: Path | str, *, display: str | None = None) -> TritonModelInfo:
    """The ModelInfo of a Triton model folder or repository (signature of its default model)."""
    root = Path(path)
    repo = read_repository(root, display)
    default = repo.default_model
    return TritonModelInfo(
        path=root,
        flavors={},
        signature=default.signature() if default is not None else None,
        repository=repo,
    )
