"""Golden comparison: rendered text artifacts byte-for-byte, model copies by digest.

A test run never rewrites a golden file: it only compares. Rewriting is a separate command,

    python -m tests.goldens update        (make goldens)

which runs the golden tests in one process, rewrites every golden that differs, makes each test that
rewrote something fail ("rewrote …"), and ends non-zero whenever it rewrote anything — so accepting a
change always takes a second, green run plus a reviewed `git diff`. There is no pytest option or
environment variable that turns a comparison into a rewrite.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from modeldeploy.rendering.artifact import Artifact

MANIFEST = "MODEL_FILES.sha256"
REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"

# Every test module that compares against a golden file; `update` runs exactly these.
GOLDEN_TESTS = (
    "tests/golden/test_examples.py",
    "tests/unit/plan/test_plan_golden.py",
    "tests/unit/model/test_signature_cli.py",
    "tests/unit/targets/sagemaker/test_sagemaker_golden.py",
    "tests/unit/targets/sagemaker/test_custom_triton_sagemaker.py",
    "tests/unit/targets/kubernetes/test_k8s_render.py",
    "tests/unit/targets/azureml/test_azureml_render.py",
)

ACCEPT = "review the change, then run `make goldens` (python -m tests.goldens update) to accept it"

# A list only inside `python -m tests.goldens update` (set on this module, in that process); None in
# every test run, so a comparison can never turn into a rewrite there.
_rewritten: list[str] | None = None


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


def _read_tree(expected_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(expected_dir).as_posix(): p.read_bytes() for p in sorted(expected_dir.rglob("*")) if p.is_file()
    }


def _rel(path: Path) -> str:
    try:
        return path.relative_to(REPO).as_posix()
    except ValueError:
        return path.as_posix()


def assert_tree(artifacts: Iterable[Artifact], expected_dir: Path) -> None:
    actual = expected_files(artifacts)
    on_disk = _read_tree(expected_dir) if expected_dir.is_dir() else None
    if _rewritten is not None and on_disk != actual:
        if expected_dir.exists():
            shutil.rmtree(expected_dir)
        for rel, content in actual.items():
            p = expected_dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        _rewritten.append(_rel(expected_dir) + "/")
        raise AssertionError(f"rewrote {_rel(expected_dir)}/ (run the command again to see it pass)")
    assert on_disk is not None, f"no golden tree at {_rel(expected_dir)}; {ACCEPT}"
    assert sorted(actual) == sorted(on_disk), f"rendered files differ from {_rel(expected_dir)}; {ACCEPT}"
    for rel in sorted(actual):
        assert actual[rel] == on_disk[rel], f"{rel} differs from the golden copy in {_rel(expected_dir)}; {ACCEPT}"


def assert_file(actual: bytes, path: Path) -> None:
    """One golden file, byte for byte (plan printers, signature reports)."""
    old = path.read_bytes() if path.is_file() else None
    if _rewritten is not None and old != actual:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        _rewritten.append(_rel(path))
        raise AssertionError(f"rewrote {_rel(path)} (run the command again to see it pass)")
    assert old is not None, f"no golden file {_rel(path)}; {ACCEPT}"
    assert actual == old, f"{path.name} differs from {_rel(path)}; {ACCEPT}"


def update(extra_args: list[str]) -> int:
    """Rewrite what differs; 0 only when nothing was rewritten and every golden test passed."""
    import pytest

    import tests.goldens as goldens  # the module the tests import (this file runs as __main__)

    goldens._rewritten = []
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=", *GOLDEN_TESTS, *extra_args])
    if goldens._rewritten:
        print("\nrewrote these goldens (review with `git diff`, commit, and run again):", file=sys.stderr)
        for p in goldens._rewritten:
            print(f"  {p}", file=sys.stderr)
        return 1
    return int(code)


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "update":
        print("usage: python -m tests.goldens update [pytest args]", file=sys.stderr)
        return 2
    return update(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
