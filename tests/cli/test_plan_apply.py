"""plan and apply from the CLI against a folder and a git ref: exit codes, formats, saved plans,
signature policy, redaction.

The docker target's apply builds the image. Here a stand-in `docker` executable on PATH records its
arguments instead: what these tests check is the CLI's control flow around that build (refused
without --auto-approve in CI, a saved plan applied once, a stale plan refused, an unreachable engine
refused with nothing written), which depends only on whether and how the docker CLI is called and on
its exit status. A real build would add minutes per test and need a running engine in every unit run,
and "no engine reachable" cannot be produced while one runs. The real engine is used where the
image itself is the subject (tests/docker/engine.sh starts it): tests/e2e/test_examples_served.py
builds and serves the rendered examples, tests/e2e/test_local_deploy.py runs apply/plan --against
live/destroy/serve of a local container, and tests/e2e/test_registry_build.py builds and pushes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"


def md(*args: str, cwd: Path, env: dict | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MODELDEPLOY_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args],
        cwd=cwd,
        env={**full_env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        input=stdin or "",
    )


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args], cwd=cwd, check=True, capture_output=True
    )


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A git repository holding a copy of the example, committed."""
    shutil.copytree(EXAMPLE, tmp_path / "iris", ignore=shutil.ignore_patterns("make_model.py"))
    git("init", "-q", cwd=tmp_path)
    git("add", "-A", cwd=tmp_path)
    git("commit", "-qm", "init", cwd=tmp_path)
    return tmp_path


@pytest.fixture()
def fake_docker(tmp_path: Path) -> tuple[dict, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "docker.log"
    script = bindir / "docker"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nif [ "$1" = info ]; then echo 28.2.2; fi\nexit 0\n')
    script.chmod(0o755)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}, log


def test_plan_against_folder_then_render_then_no_changes(repo: Path) -> None:
    out = repo / "rendered"
    out.mkdir()  # an existing empty folder: nothing deployed yet
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--detailed-exitcode", cwd=repo)
    assert r.returncode == 2, r.stderr
    assert "Plan: 13 to add, 0 to change, 0 to replace, 0 to destroy." in r.stdout
    assert md("render", "iris/deploy.yaml", "-o", str(out), cwd=repo).returncode == 0
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--detailed-exitcode", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout


def test_plan_against_git_ref_shows_only_what_changed(repo: Path) -> None:
    spec = repo / "iris" / "deploy.yaml"
    spec.write_text(spec.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: warning"))
    r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--detailed-exitcode", cwd=repo)
    assert r.returncode == 2, r.stderr
    assert '-ENV LOG_LEVEL="info"' in r.stdout and '+ENV LOG_LEVEL="warning"' in r.stdout
    assert "Plan: 0 to add, 1 to change, 0 to replace, 0 to destroy." in r.stdout


def test_plan_json_is_versioned_and_stable(repo: Path) -> None:
    spec = repo / "iris" / "deploy.yaml"
    spec.write_text(spec.read_text().replace("max_request_body: 20Mi", "max_request_body: 10Mi"))
    first = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--format", "json", cwd=repo)
    second = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--format", "json", cwd=repo)
    assert first.returncode == 0 and first.stdout == second.stdout
    data = json.loads(first.stdout)
    import jsonschema

    schema = json.loads((REPO / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    assert data["format_version"] == "1.1"
    [plan] = data["plans"]
    assert [c["action"] for c in plan["changes"] if c["action"] != "no-op"] == ["update"]
    # the object inside the changed file, not only its digest (a git plan)
    assert [r["change"]["actions"] for r in plan["resource_changes"]] == [["update"]]


def test_unknown_git_ref_is_a_clear_error(repo: Path) -> None:
    r = md("plan", "iris/deploy.yaml", "--against", "git:nope", cwd=repo)
    assert r.returncode == 1 and "git ref 'nope' not found" in r.stderr and "Traceback" not in r.stderr
    # No ref at all is not a ref to fetch: it says what to write instead.
    r = md("plan", "iris/deploy.yaml", "--against", "git:", cwd=repo)
    assert r.returncode == 1 and "--against git: names no ref" in r.stderr and "git:origin/main" in r.stderr
    assert "fetch it first" not in r.stderr and "Traceback" not in r.stderr


def _add_required_input(model: Path) -> None:
    mlmodel = model / "MLmodel"
    data = yaml.safe_load(mlmodel.read_text())
    inputs = json.loads(data["signature"]["inputs"])
    inputs.append({"type": "double", "name": "petal_area", "required": True})
    data["signature"]["inputs"] = json.dumps(inputs)
    data.pop("saved_input_example_info", None)
    mlmodel.write_text(yaml.safe_dump(data))
    for example in ("input_example.json", "serving_input_example.json"):
        (model / example).unlink()


def test_breaking_signature_change_exits_3_and_apply_refuses(repo: Path) -> None:
    _add_required_input(repo / "iris" / "model")
    r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", cwd=repo)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "petal_area" in r.stdout
    md_out = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--format", "markdown", cwd=repo).stdout
    assert md_out.index("petal_area") < md_out.index("<details>")  # findings are at the top
    r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--allow-breaking", "--format", "json", cwd=repo)
    assert r.returncode == 0
    assert any(f["severity"] == "breaking" for f in json.loads(r.stdout)["plans"][0]["policy"])


def test_waiver_accepts_a_breaking_finding_with_its_reason(repo: Path) -> None:
    _add_required_input(repo / "iris" / "model")
    r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--format", "json", cwd=repo)
    rule = next(f["rule"] for f in json.loads(r.stdout)["plans"][0]["policy"] if f["severity"] == "breaking")
    spec = repo / "iris" / "deploy.yaml"
    spec.write_text(
        spec.read_text().replace(
            "  compatibility: backward\n",
            f"  compatibility: backward\n  waivers: [{{rule: {rule}, field: petal_area, reason: all clients upgraded}}]\n",
        )
    )
    r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "all clients upgraded" in r.stdout


def test_secret_values_never_appear_in_any_format(repo: Path) -> None:
    spec = repo / "iris" / "deploy.yaml"
    # Refused by validate unless allowed with a reason; allowed, the plan still never shows the value.
    spec.write_text(
        spec.read_text()
        .replace("LOG_LEVEL: info", "LOG_LEVEL: info, DB_PASSWORD: hunter2-very-secret")
        .replace("  timeout_seconds: 30", "  allow_plain: {DB_PASSWORD: local test database}\n  timeout_seconds: 30")
    )
    for fmt in ("text", "markdown", "json"):
        r = md("plan", "iris/deploy.yaml", "--against", "git:HEAD", "--format", fmt, cwd=repo)
        assert r.returncode == 0, r.stderr
        assert "hunter2-very-secret" not in r.stdout, fmt


def test_apply_refuses_without_confirmation_in_ci(repo: Path, fake_docker) -> None:
    env, log = fake_docker
    (repo / "rendered").mkdir()
    r = md("apply", "iris/deploy.yaml", "--against", str(repo / "rendered"), cwd=repo, env=env)
    assert r.returncode == 1 and "--auto-approve" in r.stderr
    assert not any((repo / "rendered").iterdir()) and not log.exists()


def test_saved_plan_applies_once_and_refuses_when_stale(repo: Path, fake_docker) -> None:
    env, log = fake_docker
    out = repo / "rendered"
    out.mkdir()
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--out", "p.json", cwd=repo, env=env)
    assert r.returncode == 0, r.stderr
    r = md("apply", "p.json", cwd=repo, env=env)
    assert r.returncode == 0, r.stderr
    assert (out / "iris-classifier" / "Dockerfile").is_file()
    assert "build --tag iris-classifier:" in log.read_text()
    r = md("apply", "p.json", cwd=repo, env=env)
    assert r.returncode == 1 and "already applied" in r.stderr
    # A plan made, then an input changed: refused as stale, nothing written.
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--out", "p2.json", cwd=repo, env=env)
    spec = repo / "iris" / "deploy.yaml"
    spec.write_text(spec.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: debug"))
    before = (out / "iris-classifier" / "Dockerfile").read_bytes()
    r = md("apply", "p2.json", cwd=repo, env=env)
    assert r.returncode == 1 and "plan is stale" in r.stderr, r.stderr
    assert (out / "iris-classifier" / "Dockerfile").read_bytes() == before


def test_apply_without_docker_engine_says_so_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "nobin"
    bindir.mkdir()
    script = bindir / "docker"
    script.write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n"
    )
    script.chmod(0o755)
    (repo / "rendered").mkdir()
    r = md(
        "apply",
        "iris/deploy.yaml",
        "--against",
        str(repo / "rendered"),
        "--auto-approve",
        cwd=repo,
        env={"PATH": f"{bindir}:{os.environ['PATH']}"},
    )
    assert r.returncode == 1 and "no Docker engine is reachable" in r.stderr and "Traceback" not in r.stderr
    assert not any((repo / "rendered").iterdir())


def test_destroy_against_folder_removes_only_that_deployment(repo: Path) -> None:
    out = repo / "rendered"
    md("render", "iris/deploy.yaml", "-o", str(out), cwd=repo)
    (out / "other").mkdir()
    (out / "other" / "keep.yaml").write_text("x")
    r = md("destroy", "iris/deploy.yaml", "--against", str(out), "--auto-approve", cwd=repo)
    assert r.returncode == 0, r.stderr
    assert not (out / "iris-classifier").exists() and (out / "other" / "keep.yaml").exists()


def test_against_a_missing_folder_is_an_error_with_did_you_mean(repo: Path) -> None:
    """A typo in --against used to plan against nothing: everything new, no signature check, exit 2."""
    (repo / "deploy" / "rendered").mkdir(parents=True)
    r = md("plan", "iris/deploy.yaml", "--against", "deploy/renderd", "--detailed-exitcode", cwd=repo)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.splitlines() == [
        "error: --against deploy/renderd: no such folder [MD600]",
        "hint: did you mean deploy/rendered?",
    ]
    assert r.stdout == ""
    r = md("apply", "iris/deploy.yaml", "--against", "deploy/renderd", "--auto-approve", cwd=repo)
    assert r.returncode == 1 and "no such folder" in r.stderr and not (repo / "deploy" / "renderd").exists()
    r = md("plan", "iris/deploy.yaml", "--against", "elsewhere", cwd=repo)
    assert r.returncode == 1 and "mkdir -p elsewhere" in r.stderr


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_nothing_deployed_says_the_signature_was_not_checked_at_the_top(repo: Path, fmt: str) -> None:
    """An empty folder means nothing deployed: the plan says in words, at the top, that the
    compatibility check had nothing to compare with; once something is deployed it no longer does."""
    out = repo / "rendered"
    out.mkdir()
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--format", fmt, cwd=repo)
    assert r.returncode == 0, r.stderr
    sentence = f"nothing deployed at dir:{out.as_posix()}: the signature was NOT checked for backward compatibility"
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["plans"][0]["no_baseline"].startswith(sentence)
    else:
        head = r.stdout.splitlines()[:6]
        assert any(sentence in line for line in head), head
    assert md("render", "iris/deploy.yaml", "-o", str(out), cwd=repo).returncode == 0
    r = md("plan", "iris/deploy.yaml", "--against", str(out), "--format", fmt, cwd=repo)
    assert "NOT checked" not in r.stdout
    if fmt == "json":
        assert json.loads(r.stdout)["plans"][0]["no_baseline"] is None
