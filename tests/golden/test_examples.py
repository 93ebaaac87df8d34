"""Every example under examples/ is a golden case, for its base and every environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy import api
from modeldeploy.spec.loader import load_all_environments
from tests.goldens import assert_tree

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (REPO / "examples").rglob("deploy.yaml") if "ci" not in p.relative_to(REPO / "examples").parts)
# Never an empty set: a checkout under a folder named "ci" once silently skipped every example.
assert EXAMPLES, "no examples/*/deploy.yaml found"
CASES = [(p, env) for p in EXAMPLES for env in [s.env for s in load_all_environments(p)]]


@pytest.mark.parametrize(("path", "env"), CASES, ids=[f"{p.parent.name}-{e or 'base'}" for p, e in CASES])
def test_example_renders_like_its_golden_tree(path: Path, env: str | None) -> None:
    result = api.render(api.load(path, env))
    assert_tree(result.artifacts, REPO / "tests" / "golden" / "examples" / path.parent.name / (env or "base"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_render_is_byte_stable(path: Path) -> None:
    first = api.render(api.load(path))
    second = api.render(api.load(path))
    assert [(a.path, a.content) for a in first.artifacts] == [(a.path, a.content) for a in second.artifacts]
