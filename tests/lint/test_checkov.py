"""checkov over every rendered Dockerfile and Kubernetes manifest: no failed checks.

Checks that cannot apply are skipped inline with their reason (Kubernetes `checkov.io/skipN`
annotations, `# checkov:skip=` in Dockerfiles) — see the README's list. checkov runs from its own
virtualenv (`make test` creates .venv-checkov), because its pins clash with the test environment's;
set MODELDEPLOY_CHECKOV to use another binary.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

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


def _render_everything(out: Path) -> list[str]:
    rendered = []
    for spec in SPECS:
        for loaded in load_all_environments(spec):
            dep = api.load(spec, loaded.env)
            if dep.spec.target.kind not in ("docker", "kubernetes"):
                continue
            case = f"{spec.parent.relative_to(REPO).as_posix().replace('/', '_')}-{loaded.env or 'base'}"
            write_tree(out / case, api.render(dep).artifacts)
            rendered.append(case)
    return rendered


@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov not installed at {CHECKOV} (make test installs it)")
def test_rendered_dockerfiles_and_manifests_pass_checkov(tmp_path: Path) -> None:
    cases = _render_everything(tmp_path)
    assert len(cases) >= 8
    proc = subprocess.run(
        [str(CHECKOV), "-d", str(tmp_path), "--framework", "dockerfile", "kubernetes", "--quiet",
         "--skip-download", "--output", "json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    frameworks = {r["check_type"] for r in reports}
    assert {"dockerfile", "kubernetes"} <= frameworks, proc.stdout[:2000]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports for c in r["results"]["failed_checks"]
    ]
    assert failed == [], "\n".join(failed)
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 100  # checkov really looked at the files
