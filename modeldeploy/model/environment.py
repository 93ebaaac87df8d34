"""The model's Python environment from the files beside MLmodel: requirements.txt (with ``-r`` /
``-c`` includes, kept inside the model folder), python_env.yaml, conda.yaml and constraints.txt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modeldeploy.model.files import MAX_SIDE_FILE_BYTES, decode_text, file_error, is_file, load_yaml, read_bytes

MAX_INCLUDE_DEPTH = 5  # nested `-r` includes in requirement files


def requirement_lines(path: Path, display: str, depth: int = 0) -> tuple[list[str], list[str]]:
    """(requirements, constraints) from a pip requirements file, following ``-r``/``-c`` includes."""
    text = decode_text(read_bytes(path, display, MAX_SIDE_FILE_BYTES), display)
    return expand_requirements(text.splitlines(), path.parent, display, depth)


def expand_requirements(lines: list[str], base: Path, display: str, depth: int) -> tuple[list[str], list[str]]:
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
            raise file_error(display, f"requirement includes nest deeper than {MAX_INCLUDE_DEPTH} ({line!r})")
        if "\x00" in name:
            raise file_error(display, f"{line!r} names a file with a NUL character")
        target = (base / name).resolve()
        if base.resolve() not in target.parents and target.parent != base.resolve():
            raise file_error(display, f"{line!r} points outside the model folder")
        r, c = requirement_lines(target, f"{Path(display).parent / name}", depth + 1)
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


def conda_pip(conda: Any) -> list[str] | None:
    if not isinstance(conda, Mapping):
        return None
    for dep in conda.get("dependencies") or ():
        if isinstance(dep, Mapping) and isinstance(dep.get("pip"), list):
            return [str(x) for x in dep["pip"]]
    return None


@dataclass(frozen=True)
class EnvFiles:
    requirements: tuple[str, ...]
    source: str | None
    constraints: tuple[str, ...]
    conda: Mapping[str, Any] | None
    python_env: Mapping[str, Any] | None


def read_env(root: Path, display: str, env: Mapping[str, str]) -> EnvFiles:
    conda_name = env.get("conda", "conda.yaml")
    venv_name = env.get("virtualenv", "python_env.yaml")
    conda = _optional_mapping(root / conda_name, f"{display}/{conda_name}")
    python_env = _optional_mapping(root / venv_name, f"{display}/{venv_name}")
    constraints: list[str] = []
    if is_file(root / "constraints.txt", f"{display}/constraints.txt"):
        constraints, _ = requirement_lines(root / "constraints.txt", f"{display}/constraints.txt")
    if is_file(root / "requirements.txt", f"{display}/requirements.txt"):
        reqs, cons = requirement_lines(root / "requirements.txt", f"{display}/requirements.txt")
        source: str | None = "requirements.txt"
    elif python_env is not None and isinstance(python_env.get("dependencies"), list):
        reqs, cons = expand_requirements(
            [str(d) for d in python_env["dependencies"]], root, f"{display}/{venv_name}", 0
        )
        source = venv_name
    elif conda_pip(conda) is not None:
        reqs, cons = expand_requirements(conda_pip(conda) or [], root, f"{display}/{conda_name}", 0)
        source = conda_name
    else:
        reqs, cons, source = [], [], None
    all_cons = list(dict.fromkeys(constraints + cons))
    return EnvFiles(tuple(reqs), source, tuple(all_cons), conda, python_env)


def _optional_mapping(path: Path, display: str) -> Mapping[str, Any] | None:
    if not is_file(path, display):
        return None
    data, _ = load_yaml(path, display, MAX_SIDE_FILE_BYTES)
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise file_error(display, "expected a YAML mapping", (1, 1))
    return data
