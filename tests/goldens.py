"""Golden-tree comparison: rendered text artifacts byte-for-byte, model copies by digest.

Set MODELDEPLOY_UPDATE_GOLDENS=1 (or pass --update-goldens) to rewrite the expected trees.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from modeldeploy.rendering.artifact import Artifact

MANIFEST = "MODEL_FILES.sha256"


TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _static_files() -> set[bytes]:
    """Files rendered verbatim from templates/ (the container entrypoint, the custom scoring server):
    their content is the template itself, so goldens record them by digest instead of copying them."""
    return {p.read_bytes() for p in TEMPLATES.rglob("*") if p.is_file() and p.suffix != ".j2"}


def expected_files(artifacts: Iterable[Artifact]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    copies = []
    static = _static_files()
    for a in sorted(artifacts, key=lambda a: a.path):
        if a.source is not None or a.content in static:
            copies.append(f"{a.digest.split(':', 1)[1]}  {a.path}\n")
        else:
            files[a.path] = a.content
    if copies:
        files[MANIFEST] = "".join(copies).encode()
    return files


def assert_tree(artifacts: Iterable[Artifact], expected_dir: Path) -> None:
    actual = expected_files(artifacts)
    if os.environ.get("MODELDEPLOY_UPDATE_GOLDENS"):
        if expected_dir.exists():
            shutil.rmtree(expected_dir)
        for rel, content in actual.items():
            p = expected_dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        return
    assert expected_dir.is_dir(), f"no golden tree at {expected_dir}; run pytest --update-goldens"
    on_disk = {p.relative_to(expected_dir).as_posix(): p.read_bytes() for p in sorted(expected_dir.rglob("*")) if p.is_file()}
    assert sorted(actual) == sorted(on_disk), f"rendered files differ from {expected_dir}"
    for rel in sorted(actual):
        assert actual[rel] == on_disk[rel], f"{rel} differs from the golden copy in {expected_dir} (pytest --update-goldens to accept)"
