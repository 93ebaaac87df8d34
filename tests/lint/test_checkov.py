"""checkov over every rendered Dockerfile and Kubernetes manifest: no failed check, no parsing error,
and exactly the documented skips.

Checks that cannot apply are skipped inline with their reason (Kubernetes `checkov.io/skipN`
annotations, `# checkov:skip=` in Dockerfiles). The documented list is the table in
docs/testing.md ("checkov skips"); SKIP_RULES below says where each one applies, and the test
requires checkov's skipped_checks to be exactly those (check, file, resource) triples — a suppression
the product starts emitting anywhere else fails, as does one that disappears. checkov runs from its
own virtualenv (`make test` creates .venv-checkov), because its pins clash with the test environment's;
set MODELDEPLOY_CHECKOV to use another binary. Without checkov the test skips, which CI refuses
(tests/skip_policy.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from modeldeploy import api
from modeldeploy.rendering.write import write_tree
from modeldeploy.spec.loader import load_all_environments

REPO = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("MODELDEPLOY_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))

SPECS = sorted(
    [p for p in (REPO / "examples").rglob("deploy.yaml")]
    + [p for p in (REPO / "tests" / "golden" / "kubernetes").rglob("deploy.yaml")]
    + [p for p in (REPO / "tests" / "golden" / "docker").rglob("deploy.yaml")]
)


def _root_dockerfile_spec(folder: Path) -> Path:
    """A docker target with run_as_root (the one place the Dockerfile skips CKV_DOCKER_3)."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "deploy.yaml"
    spec.write_text(
        "apiVersion: modeldeploy/v1\nname: root\n"
        f"model: {{source: {(REPO / 'examples' / 'iris' / 'model').as_posix()}}}\n"
        "signature: {required: false}\ntarget: {kind: docker, run_as_root: true}\n"
    )
    return spec


def _render_everything(out: Path) -> list[str]:
    rendered = []
    root_spec = _root_dockerfile_spec(out.parent / "specs" / "run_as_root")
    write_tree(out / "run_as_root", api.render(api.load(root_spec)).artifacts)
    rendered.append("run_as_root")
    for spec in SPECS:
        for loaded in load_all_environments(spec):
            dep = api.load(spec, loaded.env)
            if dep.spec.target.kind not in ("docker", "kubernetes"):
                continue
            case = f"{spec.parent.relative_to(REPO).as_posix().replace('/', '_')}-{loaded.env or 'base'}"
            artifacts = api.render(dep).artifacts
            if dep.spec.target.kind == "kubernetes":
                # Nothing is skipped unless the spec asks (target.scanner_skips): ask for exactly the
                # documented skips the rendered workloads need, with their reasons, and render again.
                dep = with_scanner_skips(dep, _needed_skips(artifacts))
                artifacts = api.render(dep).artifacts
            write_tree(out / case, artifacts)
            rendered.append(case)
    return rendered


def _needed_skips(artifacts) -> set[str]:
    needed: set[str] = set()
    for a in artifacts:
        if a.path.endswith((".yaml", ".yml")) and not a.path.endswith("kustomization.yaml"):
            for obj in yaml.safe_load_all(a.content):
                if isinstance(obj, dict) and obj.get("kind") in WORKLOAD_KINDS:
                    needed |= _workload_rules(obj)
    return needed


def with_scanner_skips(dep, ids: set[str]):
    """The deployment with target.scanner_skips set to ``ids`` and their documented reasons."""
    from modeldeploy.spec.targets.kubernetes import ScannerSkip

    skips = [ScannerSkip(id=i, reason=REASONS[i]) for i in sorted(ids)]
    target = dep.spec.target.model_copy(update={"scanner_skips": skips})
    loaded = dataclasses.replace(dep.loaded, spec=dep.spec.model_copy(update={"target": target}))
    return dataclasses.replace(dep, loaded=loaded)


# The reasons the lint run gives for the Kubernetes skips (docs/testing.md, "checkov skips").
REASONS = {
    "CKV_K8S_11": "no CPU limit by design: CFS throttling hurts tail latency; requests are set and memory is limited",
    "CKV_K8S_43": "image pinned by tag; give target.image as name@sha256:... to pin by digest",
    "CKV_K8S_15": "imagePullPolicy is target.image_pull_policy",
    "CKV_K8S_35": "serving.secrets are environment variables by contract (secretKeyRef, never values)",
}

WORKLOAD_KINDS = {"Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet", "Pod"}


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    if obj["kind"] != "Pod":
        spec = spec["template"]["spec"]
    return list(spec.get("containers") or []) + list(spec.get("initContainers") or [])


def _workload_rules(obj: dict) -> set[str]:
    containers = _containers(obj)
    checks = {"CKV_K8S_11"}  # no CPU limit, on every workload
    if any("@sha256:" not in c["image"] for c in containers):
        checks.add("CKV_K8S_43")
    if any(c.get("imagePullPolicy") != "Always" for c in containers):
        checks.add("CKV_K8S_15")
    if any("secretKeyRef" in json.dumps(c.get("env") or []) for c in containers):
        checks.add("CKV_K8S_35")
    return checks


def _dockerfile_rules(text: str) -> set[str]:
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    return {"CKV_DOCKER_3"} if not users or users[-1].split(":")[0] in ("root", "0") else set()


# Where each documented skip applies, judged from the rendered file itself.
SKIP_RULES = {"CKV_K8S_11", "CKV_K8S_43", "CKV_K8S_15", "CKV_K8S_35", "CKV_DOCKER_3"}


def expected_skips(root: Path) -> set[tuple[str, str, str]]:
    """(check, file relative to root with a leading "/", resource or "") for every documented skip."""
    out = set()
    for path in sorted(root.rglob("*")):
        rel = "/" + path.relative_to(root).as_posix()
        if path.name == "Dockerfile":
            out |= {(c, rel, "") for c in _dockerfile_rules(path.read_text())}
        elif path.suffix in (".yaml", ".yml") and path.name != "kustomization.yaml":
            for obj in yaml.safe_load_all(path.read_text()):
                if isinstance(obj, dict) and obj.get("kind") in WORKLOAD_KINDS:
                    md = obj["metadata"]
                    resource = f"{obj['kind']}.{md.get('namespace', 'default')}.{md['name']}"
                    out |= {(c, rel, resource) for c in _workload_rules(obj)}
    return out


def documented_skips() -> set[str]:
    """The check ids in docs/testing.md's "checkov skips" table."""
    text = (REPO / "docs" / "testing.md").read_text()
    section = text.split("### checkov skips", 1)[1].split("\n#", 1)[0]
    return set(re.findall(r"^\| `(CKV_[A-Z0-9_]+)`", section, flags=re.M))


def judge(reports: list[dict], root: Path) -> list[str]:
    """Everything wrong with checkov's reports on the tree at ``root``; [] when all is as documented."""
    problems = []
    for r in reports:
        if r["summary"].get("parsing_errors") or r["results"].get("parsing_errors"):
            problems.append(f"{r['check_type']}: checkov could not parse {r['results'].get('parsing_errors')}")
        for c in r["results"]["failed_checks"]:
            problems.append(f"failed {c['check_id']} {c['resource']} ({c['file_path']})")
        for c in r["results"].get("skipped_checks", []):
            if not ((c.get("check_result") or {}).get("suppress_comment") or "").strip():
                problems.append(f"skip without a reason: {c['check_id']} {c['resource']} ({c['file_path']})")
    actual = {
        (c["check_id"], c["file_path"], "" if r["check_type"] == "dockerfile" else c["resource"])
        for r in reports
        for c in r["results"].get("skipped_checks", [])
    }
    expected = expected_skips(root)
    problems += [f"undocumented skip: {s}" for s in sorted(actual - expected)]
    problems += [f"documented skip missing: {s}" for s in sorted(expected - actual)]
    return problems


def run_checkov(root: Path) -> list[dict]:
    proc = subprocess.run(
        # No --quiet: with it the JSON holds failed checks only, so skips and parse errors go unseen.
        [
            str(CHECKOV),
            "-d",
            str(root),
            "--framework",
            "dockerfile",
            "kubernetes",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    reports = json.loads(proc.stdout)
    return reports if isinstance(reports, list) else [reports]


@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov not installed at {CHECKOV} (make test installs it)")
def test_rendered_dockerfiles_and_manifests_pass_checkov(tmp_path: Path) -> None:
    root = tmp_path / "rendered"
    cases = _render_everything(root)
    assert len(cases) >= 8
    reports = run_checkov(root)
    assert {r["check_type"] for r in reports} >= {"dockerfile", "kubernetes"}
    assert judge(reports, root) == []
    assert {c["check_id"] for r in reports for c in r["results"]["skipped_checks"]} == documented_skips()
    assert sum(r["summary"]["passed"] for r in reports) > 100  # checkov really looked at the files


def test_the_rules_cover_exactly_the_documented_list() -> None:
    assert documented_skips() == SKIP_RULES


# --- the judge catches a product that suppresses or breaks something (synthetic checkov reports) ---


def _report(check_type: str, skipped: list[dict], parsing_errors: list[str] = ()) -> dict:
    return {
        "check_type": check_type,
        "summary": {"passed": 1, "failed": 0, "skipped": len(skipped), "parsing_errors": len(parsing_errors)},
        "results": {
            "passed_checks": [],
            "failed_checks": [],
            "skipped_checks": skipped,
            "parsing_errors": list(parsing_errors),
        },
    }


def _skip(check: str, file: str, resource: str, why: str = "a reason") -> dict:
    return {"check_id": check, "file_path": file, "resource": resource, "check_result": {"suppress_comment": why}}


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "m", "namespace": "ns"},
    "spec": {
        "template": {
            "spec": {"containers": [{"name": "c", "image": "r/m@sha256:" + "a" * 64, "imagePullPolicy": "Always"}]}
        }
    },
}


def test_the_judge_refuses_an_undocumented_skip_a_missing_one_an_empty_reason_and_parse_errors(tmp_path: Path) -> None:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "deployment.yaml").write_text(yaml.safe_dump(DEPLOYMENT))
    good = [_skip("CKV_K8S_11", "/k8s/deployment.yaml", "Deployment.ns.m")]
    assert judge([_report("kubernetes", good)], tmp_path) == []
    # The product starts suppressing a check it does not document (say, privilege escalation).
    extra = good + [_skip("CKV_K8S_20", "/k8s/deployment.yaml", "Deployment.ns.m")]
    assert judge([_report("kubernetes", extra)], tmp_path) == [
        "undocumented skip: ('CKV_K8S_20', '/k8s/deployment.yaml', 'Deployment.ns.m')"
    ]
    assert judge([_report("kubernetes", [])], tmp_path) == [
        "documented skip missing: ('CKV_K8S_11', '/k8s/deployment.yaml', 'Deployment.ns.m')"
    ]
    assert (
        "skip without a reason"
        in judge(
            [_report("kubernetes", [_skip("CKV_K8S_11", "/k8s/deployment.yaml", "Deployment.ns.m", " ")])], tmp_path
        )[0]
    )
    assert "could not parse" in judge([_report("kubernetes", good, ["/k8s/broken.yaml"])], tmp_path)[0]
