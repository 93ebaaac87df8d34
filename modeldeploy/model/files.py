"""Bounded, located reads of the files in a model folder (MLmodel, the environment files beside it,
input examples), without importing mlflow.

YAML is parsed with the one reader with positions (``spec/yamlread.py``) and turned into data here
(standard tags only, bounded size, node count and depth); every problem is a
:class:`~modeldeploy.errors.ModelError` located as ``FILE:LINE:COL``. Every file read while
:func:`recording_reads` is active is recorded with its stat, for the read cache in ``info.py``.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from modeldeploy.errors import Diagnostic, ModelError
from modeldeploy.model.signature import MAX_JSON_DEPTH, nested_deeper_than
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

_TAGS = STANDARD_TAGS | {TAG + "timestamp"}
_reading = threading.local()


class _Located(Builder):
    """The shared YAML builder in MLmodel's words: the first problem stops the read."""

    tags = _TAGS

    def __init__(self, display: str):
        super().__init__(max_nodes=MAX_NODES, max_depth=MAX_DEPTH, root=False)
        self.display = display

    def fail(self, node: yaml.Node, message: str) -> ModelError:
        return file_error(self.display, message, mark(node))

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


def file_error(file: str, message: str, where: tuple[int, int] = (0, 0)) -> ModelError:
    return ModelError(
        f"{file}: {message}", diagnostics=[Diagnostic(file, where[0], where[1], message, ModelError.code)]
    )


def read_bytes(path: Path, display: str, limit: int) -> bytes:
    try:
        st = path.stat()
        if st.st_size > limit:
            raise file_error(display, f"file is {st.st_size} bytes; at most {limit} are read")
        reads = getattr(_reading, "files", None)
        if reads is not None:
            reads.append((str(path), stat_key(st)))
        if not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode):
            raise file_error(display, "is not a regular file")  # a FIFO would block the read forever
        return path.read_bytes()
    except FileNotFoundError:
        raise file_error(display, "no such file") from None
    except IsADirectoryError:
        raise file_error(display, "is a directory, expected a file") from None
    except PermissionError:
        raise file_error(display, "permission denied") from None
    except OSError as exc:  # ENAMETOOLONG, ELOOP, EIO ...
        raise file_error(display, f"cannot be read: {exc.strerror or type(exc).__name__}") from None


def is_file(path: Path, display: str) -> bool:
    """Path.is_file, with the errors pathlib does not swallow (ENAMETOOLONG, EACCES ...) as ModelError."""
    try:
        return path.is_file()
    except OSError as exc:
        raise file_error(display, f"cannot be read: {exc.strerror or type(exc).__name__}") from None


def decode_text(raw: bytes, display: str) -> str:
    try:
        return decode(raw)
    except YAMLProblem as exc:
        raise file_error(display, "file is not valid UTF-8", exc.where) from None


def load_yaml(path: Path, display: str, limit: int = MAX_MLMODEL_BYTES) -> tuple[Any, Positions]:
    """Parse one YAML file safely; returns the data and its positions."""
    text = decode_text(read_bytes(path, display, limit), display)
    located = _Located(display)
    try:
        docs = compose(text, single=True)
        data = located.run(docs[0]) if docs else None
    except YAMLProblem as exc:
        if exc.kind == "depth":
            raise file_error(display, f"YAML is nested deeper than {MAX_DEPTH} levels", (1, 1)) from None
        raise file_error(display, exc.message, exc.where) from None
    return data, located.positions


def read_json(path: Path, display: str, limit: int = 64 << 20) -> Any:
    """A JSON file beside MLmodel (input examples), as a located ModelError when it does not parse."""
    text = decode_text(read_bytes(path, display, limit), display)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise file_error(display, f"invalid JSON: {exc.msg}", (exc.lineno, exc.colno)) from None
    except RecursionError:  # json's C decoder gives up near the interpreter's recursion limit
        raise file_error(display, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", (1, 1)) from None
    if nested_deeper_than(data):
        raise file_error(display, f"JSON is nested deeper than {MAX_JSON_DEPTH} levels", (1, 1))
    return data


def stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


@contextmanager
def recording_reads() -> Iterator[list[tuple[str, tuple[int, ...]]]]:
    """The files :func:`read_bytes` reads in this thread meanwhile, each with its stat key."""
    files: list[tuple[str, tuple[int, ...]]] = []
    _reading.files = files
    try:
        yield files
    finally:
        _reading.files = None
