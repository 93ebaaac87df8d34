"""Read an MLflow model folder (MLmodel and the files beside it) without importing mlflow.

:func:`read_model` returns a :class:`ModelInfo`. MLmodel is parsed with PyYAML's safe composer and
turned into data here (standard tags only, bounded size, node count and depth), so every problem is a
:class:`~modeldeploy.errors.ModelError` located as ``MODEL/MLmodel:LINE:COL``. Unknown MLmodel keys
are kept (``ModelInfo.raw``), as MLflow itself does.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import Diagnostic, ModelError, show_dotted
from modeldeploy.model.signature import MAX_JSON_DEPTH, Signature, SignatureError, nested_deeper_than
from modeldeploy.spec.yamlread import (
    STANDARD_TAGS,
    TAG,
    Builder,
    Path_,
    Positions,
    YAMLProblem,
    bad_value,
    compose,
    decode,
    mark,
)

MAX_MLMODEL_BYTES = 4 << 20  # MLmodel files are a few KB; metadata can grow, 4 MiB is generous
MAX_SIDE_FILE_BYTES = 1 << 20  # conda.yaml, python_env.yaml, requirements.txt, constraints.txt
MAX_NODES = 200_000
MAX_DEPTH = 64
MAX_INCLUDE_DEPTH = 5  # nested `-r` includes in requirement files
MAX_NAME_BYTES = 255  # one path component (NAME_MAX on Linux, macOS and Windows)
MAX_PATH_BYTES = 1024  # a file name MLmodel gives (env files, input examples), below every PATH_MAX

_TAGS = STANDARD_TAGS | {TAG + "timestamp"}


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


# --- located YAML --------------------------------------------------------------------------------


class _Located(Builder):
    """The shared YAML builder in MLmodel's words: the first problem stops the read."""

    tags = _TAGS

    def __init__(self, display: str):
        super().__init__(max_nodes=MAX_NODES, max_depth=MAX_DEPTH, root=False)
        self.display = display

    def fail(self, node: yaml.Node, message: str) -> ModelError:
        return _error(self.display, message, mark(node))

    def refuse(self, node: yaml.Node, kind: str, at: Path_ = ()) -> None:
        if kind == "nodes":
            raise self.fail(node, f"MLmodel expands to more than {MAX_NODES} YAML nodes (alias bomb?)")
        if kind == "depth":
            raise self.fail(node, f"MLmodel is nested deeper than {MAX_DEPTH} levels")
        if kind == "tag":
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed in MLmodel")
        if kind == "duplicate":
            raise self.fail(node, f"duplicate key {at[-1]!r}")
        if kind == "value":
            raise self.fail(node, bad_value(node).split("; ")[0])
        raise self.fail(node, "MLmodel keys must be plain scalars")  # merge (<<) or a non-scalar key

    def scalar(self, node: yaml.Node) -> Any:
        value = super().scalar(node)
        if node.tag.endswith(":timestamp"):
            return node.value  # keep the text MLflow wrote; nothing here needs a datetime
        return value


def _error(file: str, message: str, where: tuple[int, int] = (0, 0)) -> ModelError:
    return ModelError(f"{file}: {message}", diagnostics=[Diagnostic(file, where[0], where[1], message, ModelError.code)])


def _read_bytes(path: Path, display: str, limit: int) -> bytes:
    try:
        st = path.stat()
        if st.st_size > limit:
            raise _error(display, f"file is {st.st_size} bytes; at most {limit} are read")
        reads = getattr(_reading, "files", None)
        if reads is not None:
            reads.append((str(path), _stat_key(st)))
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise _error(display, "is not a regular file")  # a FIFO would block the read forever
        return path.read_bytes()
    except FileNotFoundError:
        raise _error(display, "no such file") from None
    except IsADirectoryError:
        raise _error(display, "is a directory, expected a file") from None
    except PermissionError:
        raise _error(display, "permission denied") from None
    except OSError as exc:  # ENAMETOOLONG, ELOOP, EIO ...
        raise _error(display, f"cannot be read: {exc.strerror or type(exc).__name__}") from None


def _is_file(path: Path, display: str) -> bool:
    """Path.is_file, with the errors pathlib does not swallow (ENAMETOOLONG, EACCES ...) as ModelError."""
    try:
        return path.is_file()
    except OSError as exc:
        raise _error(display, f"cannot be read: {exc.strerror or type(exc).__name__}") from None


def _decode(raw: bytes, display: str) -> str:
    try:
        return decode(raw)
    except YAMLProblem as exc:
        raise _error(display, "file is not valid UTF-8", exc.where) from None


def load_yaml(path: Path, display: str, limit: int = MAX_MLMODEL_BYTES) -> tuple[Any, Positions]:
    """Parse one YAML file safely; returns the data and its positions."""
    text = _decode(_read_bytes(path, display, limit), display)
    located = _Located(display)
    try:
        docs = compose(text, single=True)
        data = located.run(docs[0]) if docs else None
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise _error(display, f"YAML is nested deeper than {MAX_DEPTH} levels", (1, 1)) from None
        raise _error(display, exc.message, exc.where) from None
    return data, located.positions


def _requirement_lines(path: Path, display: str, depth: int = 0) -> tuple[list[str], list[str]]:
    """(requirements, constraints) from a pip requirements file, following ``-r``/``-c`` includes."""
    text = _decode(_read_bytes(path, display, MAX_SIDE_FILE_BYTES), display)
    return _expand(text.splitlines(), path.parent, display, depth)


def _expand(lines: list[str], base: Path, display: str, depth: int) -> tuple[list[str], list[str]]:
    reqs: list[str] = []
    cons: list[str] = []
    for raw in lines:
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        include = _include(line)
        if include is None:
            reqs.append(line)
            continue
        flag, name = include
        if depth >= MAX_INCLUDE_DEPTH:
            raise _error(display, f"requirement includes nest deeper than {MAX_INCLUDE_DEPTH} ({line!r})")
        if "\x00" in name:
            raise _error(display, f"{line!r} names a file with a NUL character")
        target = (base / name).resolve()
        if base.resolve() not in target.parents and target.parent != base.resolve():
            raise _error(display, f"{line!r} points outside the model folder")
        r, c = _requirement_lines(target, f"{Path(display).parent / name}", depth + 1)
        if flag == "-r":
            reqs.extend(r)
            cons.extend(c)
        else:
            cons.extend(r)
            cons.extend(c)
    return reqs, cons


def _include(line: str) -> tuple[str, str] | None:
    for flag, long in (("-r", "--requirement"), ("-c", "--constraint")):
        for prefix in (flag, long):
            if line.startswith(prefix) and (len(line) == len(prefix) or line[len(prefix)] in " =\t"):
                return flag, line[len(prefix) :].lstrip(" =\t")
    return None


def _conda_pip(conda: Any) -> list[str] | None:
    if not isinstance(conda, Mapping):
        return None
    for dep in conda.get("dependencies") or ():
        if isinstance(dep, Mapping) and isinstance(dep.get("pip"), list):
            return [str(x) for x in dep["pip"]]
    return None


@dataclass(frozen=True)
class _Env:
    requirements: tuple[str, ...]
    source: str | None
    constraints: tuple[str, ...]
    conda: Mapping[str, Any] | None
    python_env: Mapping[str, Any] | None


def _read_env(root: Path, display: str, env: Mapping[str, str]) -> _Env:
    conda_name = env.get("conda", "conda.yaml")
    venv_name = env.get("virtualenv", "python_env.yaml")
    conda = _optional_mapping(root / conda_name, f"{display}/{conda_name}")
    python_env = _optional_mapping(root / venv_name, f"{display}/{venv_name}")
    constraints: list[str] = []
    if _is_file(root / "constraints.txt", f"{display}/constraints.txt"):
        constraints, _ = _requirement_lines(root / "constraints.txt", f"{display}/constraints.txt")
    if _is_file(root / "requirements.txt", f"{display}/requirements.txt"):
        reqs, cons = _requirement_lines(root / "requirements.txt", f"{display}/requirements.txt")
        source: str | None = "requirements.txt"
    elif python_env is not None and isinstance(python_env.get("dependencies"), list):
        reqs, cons = _expand([str(d) for d in python_env["dependencies"]], root, f"{display}/{venv_name}", 0)
        source = venv_name
    elif _conda_pip(conda) is not None:
        reqs, cons = _expand(_conda_pip(conda) or [], root, f"{display}/{conda_name}", 0)
        source = conda_name
    else:
        reqs, cons, source = [], [], None
    all_cons = list(dict.fromkeys(constraints + cons))
    return _Env(tuple(reqs), source, tuple(all_cons), conda, python_env)


def _optional_mapping(path: Path, display: str) -> Mapping[str, Any] | None:
    if not _is_file(path, display):
        return None
    data, _ = load_yaml(path, display, MAX_SIDE_FILE_BYTES)
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise _error(display, "expected a YAML mapping", (1, 1))
    return data


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
        return _error(self.file, message, self.pos.at(path, key=key))

    def mapping(self, value: Any, path: Path_, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"{what} must be a mapping, got {_kind(value)}")
        return value

    def load(self) -> ModelInfo:
        data, self.pos = load_yaml(self.root / "MLmodel", self.file)
        if not isinstance(data, dict):
            raise _error(self.file, f"MLmodel must be a YAML mapping, got {_kind(data)}", (1, 1))
        self.data = data
        if "flavors" not in data:
            raise _error(self.file, "MLmodel has no 'flavors' section", (1, 1))
        flavors = self.mapping(data["flavors"], ("flavors",), "flavors")
        for name, flavor in flavors.items():
            self.mapping(flavor if flavor is not None else {}, ("flavors", name), show_dotted("flavors", name))
        flavors = {str(k): dict(v or {}) for k, v in flavors.items()}
        pyfunc = flavors.get("python_function", {})
        env = self.env(pyfunc.get("env"))
        side = _read_env(self.root, self.display, env)
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
            raise self.fail(path, f"{what} is too long for a file name (at most {MAX_NAME_BYTES} bytes per part, {MAX_PATH_BYTES} in all)")
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
                serving = self.inside(serving, where + ("serving_input_path",), "saved_input_example_info.serving_input_path")
            if _is_file(self.root / artifact, f"{self.display}/{artifact}"):
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
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(type(value), type(value).__name__)


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
    if not root.exists():
        raise _error(shown, "no such model folder")
    if not root.is_dir():
        raise _error(shown, "is not a folder; expected an MLflow model folder holding an MLmodel file")
    if not (root / "MLmodel").is_file():
        raise _error(shown, "no MLmodel file here; is this an MLflow model folder?")
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
_reading = threading.local()
_cache: dict[str, tuple[tuple[tuple[str, tuple[int, ...]], ...], ModelInfo]] = {}
_cache_lock = threading.Lock()


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def _fingerprint(files: list[tuple[str, tuple[int, ...]]], root: Path) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """The read files' stat keys plus their folders' (None when any is too recent to trust)."""
    folders = {str(root), *(os.path.dirname(f) for f, _ in files)}
    out = dict(files)
    try:
        for folder in folders:
            out[folder] = _stat_key(os.stat(folder))
    except OSError:
        return None
    newest = max(key[1] for key in out.values())
    if time.time_ns() - newest < _SETTLED_NS:
        return None
    return tuple(sorted(out.items()))


def _still_valid(fingerprint: tuple[tuple[str, tuple[int, ...]], ...]) -> bool:
    try:
        return all(_stat_key(os.stat(f)) == key for f, key in fingerprint)
    except OSError:
        return False


def _cached_read(root: Path, shown: str) -> ModelInfo:
    real = os.path.realpath(root)
    with _cache_lock:
        hit = _cache.get(real)
    if hit is not None and _still_valid(hit[0]):
        return dataclasses.replace(hit[1], path=root)
    _reading.files = []
    try:
        info = _Reader(root, shown).load()
        fingerprint = _fingerprint(_reading.files, root)
    finally:
        _reading.files = None
    if fingerprint is not None:
        with _cache_lock:
            if len(_cache) >= _MAX_CACHED:
                _cache.pop(next(iter(_cache)))
            _cache[real] = (fingerprint, info)
    return info


def read_json(path: Path, display: str, limit: int = 64 << 20) -> Any:
    """A JSON file beside MLmodel (input examples), as a located ModelError when it does not parse."""
    text = _decode(_read_bytes(path, display, limit), display)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(display, f"invalid JSON: {exc.msg}", (exc.lineno, exc.colno)) from None
    except RecursionError:  # json's C decoder gives up near the interpreter's recursion limit
        raise _error(display, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", (1, 1)) from None
    if nested_deeper_than(data):
        raise _error(display, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", (1, 1))
    return data
