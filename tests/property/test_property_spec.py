"""Generated and mutated deploy.yaml files through the real loader and the real CLI.

Property: every run ends in a validated spec or a SpecError whose diagnostics are located
(line ≥ 1 — the one exception is a file over MAX_FILE_BYTES, which is refused unread with line 0),
one line each; never another exception, never a hang (SIGALRM limit per example, see generators.py).
What loads is rendered (tests/property/render_check.py: the hostile corpus' no-traceback,
no-injection and no-secret checks), for the base and "prod"; the four bases cover every target, with
registry model sources pointed at a local model so that the render really happens.
The CLI sample runs ``python -m modeldeploy validate FILE`` in a subprocess: exit 0/1/3 and no
traceback or "internal error" on stderr.

Example counts are fixed (``derandomize=True``), so CI runs the same inputs every time; set
MODELDEPLOY_FUZZ_SCALE=N (``make fuzz`` uses 20) to try N times as many with random seeds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from modeldeploy.errors import SpecError
from modeldeploy.spec.loader import load_all_environments, load_spec
from modeldeploy.spec.parsing import MAX_FILE_BYTES
from tests.property.generators import dump, mutated, text_mutated, time_limit, to_bytes
from tests.property.render_check import check_render, render_variant

REPO = Path(__file__).resolve().parents[2]
SCALE = int(os.environ.get("MODELDEPLOY_FUZZ_SCALE", "1"))

# Example counts (recorded in docs/hardening.md). Together with the MLmodel suite they run in well
# under 60 s on 2 cores.
N_STRUCTURAL = 200
N_TEXT = 150
N_CLI = 8


def fuzz_settings(n: int) -> settings:
    return settings(
        max_examples=n * SCALE,
        # The per-example deadline is generators.EXAMPLE_SECONDS, enforced with SIGALRM so that a hang is
        # interrupted (hypothesis' own deadline only judges an example after it returns, and is flaky on
        # a shared 2-core machine).
        deadline=None,
        derandomize=SCALE == 1,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )


BASES: list[dict[str, Any]] = [
    {
        "apiVersion": "modeldeploy/v1",
        "name": "iris",
        "model": {"source": "./model", "type": "mlflow", "register": {"name": "iris", "tags": {"team": "ml"}}},
        "signature": {
            "required": True,
            "compatibility": "backward",
            "input_kinds": ["columns"],
            "waivers": [{"rule": "SIG102", "field": "x", "reason": "clients never send it"}],
        },
        "serving": {
            "env": {"LOG_LEVEL": "info"},
            "secrets": {"TOKEN": {"secret": "s", "key": "k"}},
            "allow_plain": {"LOG_LEVEL": "not a secret"},
            "workers": 2,
            "max_request_body": "10Mi",
        },
        "resources": {"cpu": "1", "memory": "2Gi", "gpu": 0},
        "scaling": {"min_replicas": 1, "max_replicas": 3},
        "labels": {"team": "ml"},
        "target": {"kind": "docker", "image": "registry.example.com/iris:1", "base_image": "python:3.11-slim"},
        "environments": {
            "prod": {"scaling": {"min_replicas": 2}, "serving": {"env": {"LOG_LEVEL": None}}},
            "staging": {},
        },
    },
    {
        "apiVersion": "modeldeploy/v1",
        "name": "k",
        "model": {"source": "models:/iris@champion"},
        "target": {
            "kind": "kubernetes",
            "namespace": "ml",
            "flavor": "deployment",
            "ingress": {"host": "iris.example.com", "annotations": {"a": "b"}},
            "image_pull_secrets": ["regcred"],
        },
        "environments": {"prod": {"target": {"flavor": "kserve"}}},
    },
    {
        "apiVersion": "modeldeploy/v1",
        "name": "s",
        "model": {"source": "runs:/0123456789abcdef/model"},
        "target": {
            "kind": "sagemaker",
            "region": "us-east-1",
            "execution_role_arn": "arn:aws:iam::123456789012:role/R",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/s:1",
            "artifact_bucket": "b",
            "mode": "serverless",
            "tags": {"team": "ml"},
        },
    },
    {
        "apiVersion": "modeldeploy/v1",
        "name": "a",
        "model": {"source": "azureml:iris:3"},
        "target": {
            "kind": "azureml",
            "subscription_id": "00000000-0000-0000-0000-000000000000",
            "resource_group": "rg",
            "workspace": "ws",
            "rollout": {"strategy": "blue_green", "steps": [10, 100]},
        },
    },
]


def check_loads(path: Path) -> list[str]:
    """Run every loader entry point on ``path``; return the outcomes; fail on anything unexpected."""
    raw_size = path.stat().st_size
    outcomes = []
    calls = [
        ("base", lambda: load_spec(path)),
        ("all", lambda: load_all_environments(path)),
        ("prod", lambda: load_spec(path, "prod")),
    ]
    for label, call in calls:
        with time_limit():
            try:
                call()
                outcomes.append(f"{label}:ok")
                continue
            except SpecError as exc:
                error = exc
        assert error.diagnostics, f"{label}: SpecError without diagnostics: {error.message}"
        for d in error.diagnostics:
            if raw_size > MAX_FILE_BYTES:
                assert d.code == "MD104"
            else:
                assert d.line >= 1 and d.col >= 1, f"{label}: unlocated diagnostic {d}"
            assert d.code.startswith("MD1"), d
        for line in error.lines():
            assert "\n" not in line and "\r" not in line, f"{label}: a diagnostic spans lines: {line!r}"
        outcomes.append(f"{label}:{error.diagnostics[0].code}")
    return outcomes


def check_renders(path: Path, loads: list[str]) -> list[str]:
    """Render what loaded (base, prod; ``loads`` is check_loads' result) from a variant with local model
    sources; see render_check."""
    envs = [env for env, label in ((None, "base"), ("prod", "prod")) if f"{label}:ok" in loads]
    if not envs:
        return []
    variant = render_variant(path.read_bytes(), path.parent)
    outcomes = []
    for env in envs:
        outcome = check_render(variant, env)
        if currently_in_test_context():
            event(f"render: {outcome}")
        outcomes.append(outcome)
    return outcomes


@pytest.mark.parametrize("base", BASES, ids=[b["target"]["kind"] for b in BASES])
def test_every_base_renders_so_the_generated_ones_reach_the_renderer(tmp_path: Path, base: dict[str, Any]) -> None:
    """The unmutated bases render for every target (else the property tests would only ever see refusals)."""
    path = tmp_path / "deploy.yaml"
    path.write_text(dump(base, flow=None, unicode=True), encoding="utf-8")
    outcomes = check_renders(path, check_loads(path))
    assert outcomes and set(outcomes) == {"rendered"}, outcomes


@fuzz_settings(N_STRUCTURAL)
@given(data=st.data(), base=st.sampled_from(BASES), flow=st.sampled_from([None, True, False]), uni=st.booleans())
def test_structurally_mutated_deploy_files_load_or_fail_located(
    tmp_path: Path, data: st.DataObject, base, flow, uni
) -> None:
    doc = data.draw(mutated(base))
    path = tmp_path / "deploy.yaml"
    path.write_text(dump(doc, flow=flow, unicode=uni), encoding="utf-8")
    check_renders(path, check_loads(path))


@fuzz_settings(N_TEXT)
@given(data=st.data(), base=st.sampled_from(BASES), flow=st.sampled_from([None, False]))
def test_textually_mutated_deploy_files_load_or_fail_located(tmp_path: Path, data: st.DataObject, base, flow) -> None:
    text = data.draw(text_mutated(dump(base, flow=flow, unicode=True)))
    path = tmp_path / "deploy.yaml"
    path.write_bytes(to_bytes(text))
    check_renders(path, check_loads(path))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\n\n# only a comment\n",
        b"\xff\xfe\x00a",
        b"a: 1\x00\n",
        b"x" * (MAX_FILE_BYTES + 1),
        b"- " * 10_000 + b"x\n",
        b"[" * 100_000,
        b"{" * 100_000,
        b"&a [*a]\n",
        b"!!python/object/apply:os.system ['echo pwned > /tmp/modeldeploy-pwned']\n",
        b"apiVersion: !!python/name:os.system modeldeploy/v1\n",
    ],
    ids=[
        "empty",
        "comment",
        "utf16",
        "nul",
        "too-big",
        "deep-block",
        "deep-flow-seq",
        "deep-flow-map",
        "self-alias",
        "pyobj",
        "pyname",
    ],
)
def test_hand_picked_hostile_files(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_bytes(raw)
    outcomes = check_loads(path)
    assert all(not o.endswith(":ok") for o in outcomes)
    assert not Path("/tmp/modeldeploy-pwned").exists()


# --- the CLI, in a subprocess ----------------------------------------------------------------------


def run_validate(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MODELDEPLOY_DEBUG"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", "validate", str(path), *extra],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        cwd=path.parent,
        env=env,
    )


def assert_clean_exit(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1, 3), (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "internal error" not in proc.stderr, proc.stderr[-2000:]


@settings(
    max_examples=N_CLI * SCALE,
    deadline=None,  # each example starts a Python process (~1 s); subprocess timeout=60 s catches hangs
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), base=st.sampled_from(BASES), textual=st.booleans())
def test_cli_validate_exits_cleanly_on_generated_files(
    tmp_path: Path, data: st.DataObject, base, textual: bool
) -> None:
    if textual:
        raw = to_bytes(data.draw(text_mutated(dump(base, flow=None, unicode=True))))
    else:
        raw = dump(data.draw(mutated(base)), flow=None, unicode=True).encode()
    path = tmp_path / "deploy.yaml"
    path.write_bytes(raw)
    assert_clean_exit(run_validate(path))
