"""Golden request bodies for every SageMaker mode: tests/golden/sagemaker/<case>/deploy.yaml renders
exactly to tests/golden/sagemaker/<case>/expected/ (`make goldens` rewrites them).

The model folder is tests/golden/sagemaker/model (hand-written MLmodel); the digest is fixed so that
content-derived names do not depend on how git checks the files out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl
from tests.goldens import assert_tree
from tests.unit.targets.sagemaker.sm_helpers import FIXED_DIGEST, context

GOLDEN = Path(__file__).resolve().parents[3] / "golden" / "sagemaker"
CASES = sorted(p.parent.name for p in GOLDEN.glob("*/deploy.yaml"))


def test_every_mode_has_a_case() -> None:
    assert {"realtime", "serverless", "async", "batch"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_renders_like_golden(case: str) -> None:
    ctx = context(GOLDEN / case / "deploy.yaml", digest=FIXED_DIGEST)
    artifacts = SageMakerTargetImpl().render(ctx)
    assert_tree(artifacts, GOLDEN / case / "expected")


@pytest.mark.parametrize("case", CASES)
def test_render_is_byte_stable(case: str) -> None:
    ctx = context(GOLDEN / case / "deploy.yaml", digest=FIXED_DIGEST)
    first = SageMakerTargetImpl().render(ctx)
    second = SageMakerTargetImpl().render(context(GOLDEN / case / "deploy.yaml", digest=FIXED_DIGEST))
    assert [(a.path, a.content) for a in first] == [(a.path, a.content) for a in second]
