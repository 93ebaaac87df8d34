"""The public API: what type checkers see, what a library caller reads in an error, and that
``import modeldeploy`` stays cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import modeldeploy
from modeldeploy.errors import SpecError

REPO = Path(__file__).resolve().parents[3]


def test_the_five_functions_are_the_real_ones() -> None:
    from modeldeploy import api, applier

    assert modeldeploy.load is api.load and modeldeploy.render is api.render and modeldeploy.plan is api.plan
    assert modeldeploy.apply is applier.apply and modeldeploy.destroy is applier.destroy
    with pytest.raises(AttributeError):
        modeldeploy.nothing_here  # noqa: B018


def test_type_checkers_see_real_signatures() -> None:
    """Every public name is imported under TYPE_CHECKING (so it is not Any), and py.typed ships."""
    tree = ast.parse((REPO / "modeldeploy" / "__init__.py").read_text())
    guarded: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom):
                    guarded |= {a.asname or a.name for a in imp.names}
    assert guarded == {"load", "render", "plan", "apply", "destroy"}
    assert (REPO / "modeldeploy" / "py.typed").is_file()
    assert "py.typed" in (REPO / "pyproject.toml").read_text()


def test_import_modeldeploy_imports_no_stage() -> None:
    code = "import sys, modeldeploy; print(sorted(m for m in sys.modules if m.startswith('modeldeploy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "['modeldeploy', 'modeldeploy._version']"


def test_an_error_says_what_went_wrong(tmp_path: Path) -> None:
    p = tmp_path / "deploy.yaml"
    p.write_text(
        "apiVersion: modeldeploy/v1\nname: iris\nmodel: {source: ./model}\ntarget: {kind: docker, colour: red}\n"
    )
    with pytest.raises(SpecError) as err:
        modeldeploy.load(p)
    text = str(err.value)
    assert text.startswith("invalid deploy file: ") and f"{p}:4:" in text and "colour" in text, text
    assert "\n" not in text
