"""model.tar.gz for SageMaker, byte-for-byte reproducible.

The archive holds exactly the files the model digest covers (``modeldeploy.model.digest.list_files``:
regular files in sorted path order; symlinks followed only while they stay inside the folder — one that
leaves it is refused), each as a regular file with mtime 0, uid/gid 0, empty user/group names and mode
0644 (0755 when executable). The gzip header carries no file name and mtime 0. SageMaker unpacks it
into /opt/ml/model, so ``MLmodel`` sits at the archive root.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from modeldeploy.errors import ModelError
from modeldeploy.model.digest import list_files


def _info(rel: str, real: Path, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(rel)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    info.mode = 0o755 if os.access(real, os.X_OK) else 0o644
    return info


@dataclass(frozen=True)
class Layout:
    """What the archive must hold at its top (``required``) and where the folder goes (``prefix``)."""

    required: str | None = "MLmodel"
    prefix: str = ""


MLFLOW_LAYOUT = Layout()


def layout_for(model_type: str, model: object) -> Layout:
    """MLflow: MLmodel at the root. Custom: the folder as it is. Triton: a model repository at the
    root (SageMaker's Triton container serves /opt/ml/model as the repository), so a single model
    folder goes under its model name."""
    if model_type == "custom":
        return Layout(required=None)
    if model_type == "triton":
        repo = getattr(model, "repository", None)
        if repo is not None and repo.single:
            name = repo.models[0].name
            return Layout(required=f"{name}/config.pbtxt", prefix=f"{name}/")
        return Layout(required=None)
    return MLFLOW_LAYOUT


def write_model_tar(root: Path, dest: BinaryIO, *, compresslevel: int = 6, layout: Layout = MLFLOW_LAYOUT) -> None:
    """Write the deterministic model.tar.gz of the folder ``root`` to ``dest``."""
    entries = list_files(Path(root))
    names = [layout.prefix + e.rel for e in entries]
    if layout.required is not None and layout.required not in names:
        raise ModelError(f"{root}: no {layout.required} file at the top of the model folder")
    with gzip.GzipFile(filename="", mode="wb", fileobj=dest, mtime=0, compresslevel=compresslevel) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            for entry, name in zip(entries, names, strict=False):
                with open(entry.real, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    tar.addfile(_info(name, entry.real, size), f)


def read_member(stream: BinaryIO, name: str, *, limit: int = 16 << 20) -> bytes | None:
    """Read one member from a (streamed) tar.gz, stopping as soon as it is found.

    The archive is read sequentially, so for ``MLmodel`` — sorted near the front — only the first
    blocks of a large model.tar.gz are downloaded.
    """
    with tarfile.open(fileobj=stream, mode="r|gz") as tar:
        for member in tar:
            if member.name.removeprefix("./") == name and member.isfile():
                if member.size > limit:
                    return None
                f = tar.extractfile(member)
                return f.read() if f is not None else None
    return None
