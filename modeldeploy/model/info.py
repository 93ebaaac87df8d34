"""Read an MLflow model folder (MLmodel and the files beside it) without importing mlflow.

:func:`read_model` returns a :class:`ModelInfo`. MLmodel is parsed with PyYAML's safe composer and
turned into data (standard tags only, bounded size, node count and depth: ``files.py``), so every
problem is a :class:`~modeldeploy.errors.ModelError` located as ``MODEL/MLmodel:LINE:COL``. Unknown
MLmodel keys are kept (``ModelInfo.raw``), as MLflow itself does. The environment files beside it are
read in ``environment.py``; a successful read is remembered (see the cache below).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeldeploy.errors import ModelError, show_dotted
from modeldeploy.model.datatypes import SignatureError
from modeldeploy.model.environment import read_env
from modeldeploy.model.files import MAX_MLMODEL_BYTES, file_error, is_file, load_yaml, recording_reads, stat_key
from modeldeploy.model.signature import Signature
from modeldeploy.spec.yamlread import Path_, Positions

MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux, macOS and Windows)
MAX_PATH_BYTES = 1024  # a file name MLmodel gives (env files, input examples), below every PATH_MAX


@dataclass(frozen=True)
class InputExampleInfo:
    """Where the model's saved input example is (``saved_input_example_info`` or the default names)."""

    artifact_path: str  # relative to the model folder, normally input_example.json
    type: str | None = None  # json_object | ndarray | dataframe | sparse_matrix_csr ...
    pandas_orient: str | None = None  # split | records (pre-2.x dataframe examples)
    serving_input_path: str | None = None  # serving_input_example.json (MLflow ≥ 2.16)


@dataclass(frozen=True)
class ModelInfo:
    """What modeldeploy needs to know about one MLflow model folder."""

    path: Path
    flavors: Mapping[str, Mapping[str, Any]]
    loader_module: str | None = None
    python_version: str | None = None
    mlflow_version: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    requirements: tuple[str, ...] = ()  # pip requirement lines, includes expanded
    requirements_source: str | None = None  # requirements.txt | python_env.yaml | conda.yaml
    constraints: tuple[str, ...] = ()  # constraints.txt lines
    conda: Mapping[str, Any] | None = None
    python_env: Mapping[str, Any] | None = None
    signature: Signature | None = None
    input_example: InputExampleInfo | None = None
    model_uuid: str | None = None
    model_id: str | None = None
    run_id: str | None = None
    artifact_path: str | None = None
    utc_time_created: str | None = None
    metadata: Mapping[str, Any] | None = None
    env_vars: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)  # the whole MLmodel, unknown keys included

    @property
    def has_input_example(self) -> bool:
        return self.input_example is not None

    @property
    def has_signature(self) -> bool:
        return self.signature is not None

    @property
    def flavor_names(self) -> tuple[str, ...]:
        return tuple(sorted(self.flavors))


# --- MLmodel -------------------------------------------------------------------------------------


def _str_or_none(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


class _Reader:
    def __init__(self, root: Path, display: str):
        self.root = root
        self.display = display
        self.file = f"{display}/MLmodel"
        self.data: dict[str, Any] = {}
        self.pos = Positions(root=False)

    def fail(self, path: Path_, message: str, *, key: bool = False) -> ModelError:
        return file_error(self.file, message, self.pos.at(path, key=key))

    def mapping(self, value: Any, path: Path_, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def load(self) -> ModelInfo:
        data, self.pos = load_yaml(self.root / "MLmodel", self.file, MAX_MLMODEL_BYTES)
        if not isinstance(data, dict):
            raise file_error(self.file, f"MLmodel must be a YAML mapping, got {_kind(data)}", (1, 1))
        self.data = data
        if "flavors" not in data:
            raise file_error(self.file, "MLmodel has no 'flavors' section", (1, 1))
        flavors = self.mapping(data["flavors"], ("flavors",), "flavors")
        for name, flavor in flavors.items():
            self.mapping(flavor if flavor is not None else {}, ("flavors", name), show_dotted("flavors", name))
        flavors = {str(k): dict(v or {}) for k, v in flavors.items()}
        pyfunc = flavors.get("python_function", {})
        env = self.env(pyfunc.get("env"))
        side = read_env(self.root, self.display, env)
        return ModelInfo(
            path=self.root,
            flavors=flavors,
            loader_module=_str_or_none(pyfunc, "loader_module"),
            python_version=_str_or_none(pyfunc, "python_version")
            or (str(side.python_env["python"]) if side.python_env and side.python_env.get("python") else None),
            mlflow_version=_str_or_none(data, "mlflow_version"),
            env=env,
            requirements=side.requirements,
            requirements_source=side.source,
            constraints=side.constraints,
            conda=side.conda,
            python_env=side.python_env,
            signature=self.signature(),
            input_example=self.input_example(),
            model_uuid=_str_or_none(data, "model_uuid"),
            model_id=_str_or_none(data, "model_id"),
            run_id=_str_or_none(data, "run_id"),
            artifact_path=_str_or_none(data, "artifact_path"),
            utc_time_created=_str_or_none(data, "utc_time_created"),
            metadata=self.optional_mapping("metadata"),
            env_vars=self.env_vars(),
            raw=data,
        )

    def env(self, value: Any) -> dict[str, str]:
        path = ("flavors", "python_function", "env")
        if value is None:
            return {}
        if isinstance(value, str):  # before MLflow 2.0: the conda file's name
            return {"conda": self.inside(value, path, "python_function.env")}
        env = self.mapping(value, path, "python_function.env")
        out = {}
        for key, name in env.items():
            what = show_dotted("python_function.env", key)
            if not isinstance(name, str):
                raise self.fail(path + (key,), f"{what} must be a file name")
            out[str(key)] = self.inside(name, path + (key,), what)
        return out

    def inside(self, name: str, path: Path_, what: str) -> str:
        """``name`` when it is a usable relative path that stays inside the model folder (symlinks
        resolved); otherwise a ModelError at ``path`` — MLmodel must not make us read the machine."""
        parts = Path(name).parts
        if not name or Path(name).is_absolute() or ".." in parts:
            raise self.fail(path, f"{what} must be a path inside the model folder")
        if len(name.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES or any(
            len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for p in parts
        ):
            raise self.fail(
                path,
                f"{what} is too long for a file name (at most {MAX_NAME_BYTES} bytes per part, {MAX_PATH_BYTES} in all)",
            )
        if "\x00" in name:
            raise self.fail(path, f"{what} contains a NUL character")
        real_root = Path(os.path.realpath(self.root))
        real = Path(os.path.realpath(self.root / name))
        if real != real_root and real_root not in real.parents:
            raise self.fail(path, f"{what} must be a path inside the model folder (it leads out through a symlink)")
        return name

    def env_vars(self) -> tuple[str, ...]:
        value = self.data.get("env_vars")
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(("env_vars",), f"env_vars must be a list of environment variable names, got {_kind(value)}")
        return tuple(value)

    def optional_mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self.data.get(key)
        return None if value is None else self.mapping(value, (key,), key)

    def signature(self) -> Signature | None:
        raw = self.data.get("signature")
        if raw is None:
            return None
        self.mapping(raw, ("signature",), "signature")
        try:
            sig = Signature.from_mlmodel(raw)
        except SignatureError as exc:
            path = ("signature", exc.part) if exc.part else ("signature",)
            raise self.fail(path, exc.message) from None
        if sig.inputs is None and sig.outputs is None and sig.params is None:
            return None
        return sig

    def input_example(self) -> InputExampleInfo | None:
        raw = self.data.get("saved_input_example_info")
        if raw is not None:
            where = ("saved_input_example_info",)
            info = self.mapping(raw, where, "saved_input_example_info")
            artifact = self.inside(
                str(info.get("artifact_path") or "input_example.json"),
                where + ("artifact_path",),
                "saved_input_example_info.artifact_path",
            )
            serving = _str_or_none(info, "serving_input_path")
            if serving is not None:
                serving = self.inside(
                    serving, where + ("serving_input_path",), "saved_input_example_info.serving_input_path"
                )
            if is_file(self.root / artifact, f"{self.display}/{artifact}"):
                return InputExampleInfo(
                    artifact_path=artifact,
                    type=_str_or_none(info, "type"),
                    pandas_orient=_str_or_none(info, "pandas_orient"),
                    serving_input_path=serving,
                )
        if (self.root / "input_example.json").is_file():
            serving = "serving_input_example.json" if (self.root / "serving_input_example.json").is_file() else None
            return InputExampleInfo("input_example.json", serving_input_path=serving)
        return None


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


NO_MLMODEL_HINT = "name the folder that holds the MLmodel file (the one mlflow.<flavor>.save_model writes)"


def no_mlmodel(shown: str, hint: str = NO_MLMODEL_HINT) -> ModelError:
    """The one error for a folder that exists but holds no MLmodel (MD200), in every command. It
    carries no location of its own: deploy.yaml's reader places it at ``model.source``."""
    return ModelError(f"model folder {shown!r} has no MLmodel file", hint=hint)


def read_model(path: Path | str, *, display: str | None = None) -> ModelInfo:
    """Read the MLflow model folder at ``path`` (or the folder of an ``MLmodel`` file).

    ``display`` is how the folder is named in messages (default: ``path`` as given).
    Raises :class:`ModelError` with a located message for anything that cannot be read.
    """
    root = Path(path)
    shown = display or str(path)
    if root.name == "MLmodel" and root.is_file():
        root = root.parent
        shown = display or str(root)
    if not root.exists() or not root.is_dir():  # the errors a model source gets (MD300)
        from modeldeploy.model.sources.local import file_not_folder, missing_folder

        raise (missing_folder if not root.exists() else file_not_folder)(shown, root, in_spec=False)
    if not (root / "MLmodel").is_file():
        raise no_mlmodel(shown)
    return _cached_read(root, shown)


# --- one read per model per process --------------------------------------------------------------
#
# A monorepo plan reads the same few shared models for hundreds of deploy.yaml files. A successful
# read is remembered per real folder and reused while nothing it depends on changed: the stat of
# every file it read (MLmodel, env files, requirement includes) and of their folders (a file that
# appears or disappears, e.g. input_example.json, changes the folder's mtime). Like git's "racy"
# rule, a read is only remembered when all of those are older than _SETTLED_NS, so a file rewritten
# within the clock's granularity is never served stale. ModelInfo.path stays the path the caller gave.

_SETTLED_NS = 2_000_000_000
_MAX_CACHED = 256
_cache: dict[str, tuple[tuple[tuple[str, tuple[int, ...]], ...], ModelInfo]] = {}
_cache_lock = threading.Lock()


def _fingerprint(
    files: list[tuple[str, tuple[int, ...]]], root: Path
) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """The read files' stat keys plus their folders' (None when any is too recent to trust)."""
    folders = {str(root), *(os.path.dirname(f) for f, _ in files)}
    out = dict(files)
    try:
        for folder in folders:
            out[folder] = stat_key(os.stat(folder))
    except OSError:
        return None
    newest = max(key[1] for key in out.values())
    if time.time_ns() - newest < _SETTLED_NS:
        return None
    return tuple(sorted(out.items()))


def _still_valid(fingerprint: tuple[tuple[str, tuple[int, ...]], ...]) -> bool:
    try:
        return all(stat_key(os.stat(f)) == key for f, key in fingerprint)
    except OSError:
        return False


def _cached_read(root: Path, shown: str) -> ModelInfo:
    real = os.path.realpath(root)
    with _cache_lock:
        hit = _cache.get(real)
    if hit is not None and _still_valid(hit[0]):
        return dataclasses.replace(hit[1], path=root)
    with recording_reads() as files:
        info = _Reader(root, shown).load()
        fingerprint = _fingerprint(files, root)
    if fingerprint is not None:
        with _cache_lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.pop(next(iter(_cache)))
            _cache[real] = (fingerprint, info)
    return info
