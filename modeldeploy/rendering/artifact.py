"""The unit every target renders: a file's relative path, media type and exact bytes.

Rendered text (Dockerfiles, manifests, request bodies) is held in memory. A copy of a model file is
not: it names the file on disk with the sha256 and size the model digest found, and is read only
when it is written out (streamed, in 1 MiB pieces) — so a plan of hundreds of deployments that share
a multi-gigabyte model holds none of it, and a model of any size can be rendered.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from modeldeploy.errors import RenderError

_CHUNK = 1 << 20


@dataclass(frozen=True, init=False)
class Artifact:
    """One rendered file.

    ``path`` is relative and POSIX-style (``Dockerfile``, ``model/MLmodel``, ``k8s/deployment.yaml``);
    ``content`` is the exact bytes written. ``sensitive`` artifacts are never shown in plans.
    ``source`` marks artifacts that are copies of model files rather than rendered text: plans show
    them by digest, not by content. A copy made with :meth:`from_file` keeps only the file's path,
    sha256 and size; reading it checks the bytes are still those (the file must not change while a
    run uses it).
    """

    path: str
    media_type: str
    sensitive: bool
    source: str | None
    mode: int
    file: Path | None
    _data: bytes | None = field(repr=False)
    _sha256: str | None = field(repr=False)
    _size: int

    def __init__(
        self,
        path: str,
        media_type: str,
        content: bytes | None = None,
        sensitive: bool = False,
        source: str | None = None,
        mode: int = 0o644,
        *,
        file: Path | None = None,
        sha256: str | None = None,
        size: int | None = None,
    ) -> None:
        if path.startswith("/") or ".." in path.split("/") or "\\" in path or not path:
            raise ValueError(f"artifact path must be relative and confined: {path!r}")
        if (content is None) == (file is None):
            raise ValueError("an artifact has either content or a file")
        if file is not None and (sha256 is None or size is None):
            raise ValueError("a file artifact needs the file's sha256 and size")
        put = object.__setattr__
        put(self, "path", path)
        put(self, "media_type", media_type)
        put(self, "sensitive", sensitive)
        put(self, "source", source)
        put(self, "mode", mode)
        put(self, "file", file)
        put(self, "_data", content)
        put(self, "_sha256", sha256)
        put(self, "_size", len(content) if content is not None else int(size))  # type: ignore[arg-type]

    @classmethod
    def from_file(
        cls,
        path: str,
        media_type: str,
        file: Path,
        *,
        sha256: str,
        size: int,
        source: str | None = None,
        mode: int = 0o644,
    ) -> Artifact:
        return cls(path, media_type, None, source=source, mode=mode, file=file, sha256=sha256, size=size)

    @property
    def content(self) -> bytes:
        """The bytes (a file artifact reads and checks its file each time: nothing is kept)."""
        if self._data is not None:
            return self._data
        buf = io.BytesIO()
        self.copy_to(buf)
        return buf.getvalue()

    @property
    def size(self) -> int:
        return self._size

    @property
    def digest(self) -> str:
        if self._sha256 is not None:
            return "sha256:" + self._sha256
        return "sha256:" + hashlib.sha256(self.content).hexdigest()

    def copy_to(self, out: BinaryIO) -> None:
        """Write the bytes to ``out``; a file artifact is streamed and must still match its digest."""
        if self._data is not None:
            out.write(self._data)
            return
        assert self.file is not None
        h = hashlib.sha256()
        n = 0
        try:
            with open(self.file, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
                    n += len(chunk)
                    out.write(chunk)
        except OSError as exc:
            raise RenderError(f"cannot read model file {self.file}: {exc.strerror or exc}") from None
        if n != self._size or h.hexdigest() != self._sha256:
            raise RenderError(
                f"model file {self.file} changed while modeldeploy was using it "
                f"(now {n} bytes, sha256 {h.hexdigest()[:12]}…; digested as {self._size} bytes, {str(self._sha256)[:12]}…)",
                hint="run again once the model folder is no longer being written",
            )

    @property
    def is_text(self) -> bool:
        return (
            self.source is None
            and self._data is not None
            and (self.media_type.startswith("text/") or self.media_type in {"application/json", "application/yaml"})
        )

    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass(frozen=True)
class RenderResult:
    """What rendering one deployment gives: its name, target kind and artifacts in path order."""

    name: str
    target: str
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)

    def by_path(self) -> dict[str, Artifact]:
        return {a.path: a for a in self.artifacts}
