"""plan --against git:REF of many deploy.yaml files reads git once per run, not once per file: one
top level per repository, one commit per ref, one listing of the commit's tree and one ``cat-file
--batch`` for every file read (it was about five git processes per deploy.yaml).

Real git repositories in tmp_path; git's own calls are counted by a wrapper first on PATH. Speed is
measured in bench/ (monorepo, plan against git:HEAD)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from tests.cli.test_plan_apply import git, md
from tests.cli.test_plan_git_shared_model import _monorepo


def _counting_git(tmp_path: Path) -> tuple[dict[str, str], Path]:
    log = tmp_path / "git-calls.log"
    real = shutil.which("git")
    assert real
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}, log


def test_git_calls_do_not_grow_with_the_number_of_files(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _monorepo(repo, services=12)
    env, log = _counting_git(tmp_path)
    files = [f"svc{i}/deploy.yaml" for i in range(12)]
    r = md("plan", *files, "--against", "git:HEAD", "--detailed-exitcode", "--jobs", "1", cwd=repo, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout
    calls = log.read_text().splitlines()
    assert len(calls) <= 6, calls  # rev-parse --show-toplevel, rev-parse HEAD, ls-tree -r, cat-file --batch
    assert sum(c.startswith("cat-file --batch") for c in calls) == 1, calls
    # In worker processes the ref is still resolved and its tree listed once (by the parent, before
    # forking); each process that plans files — the parent plans the first file of each target kind
    # before forking, as render --jobs does, then each worker — reads them through its own cat-file.
    log.unlink()
    r = md("plan", *files, "--against", "git:HEAD", "--detailed-exitcode", "--jobs", "2", cwd=repo, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert sum(c.startswith("rev-parse --verify") for c in calls) == 1, calls
    assert sum(c.startswith("ls-tree") for c in calls) == 1, calls
    assert sum(c.startswith("cat-file --batch") for c in calls) <= 3, calls


def test_a_ref_that_moves_between_runs_is_read_again(tmp_path: Path, monkeypatch) -> None:
    """The commit a ref names is kept for one run only: a long-lived caller of the library planning
    again in the same process sees the new commit."""
    from modeldeploy import runs

    repo = tmp_path / "repo"
    repo.mkdir()
    _monorepo(repo, services=1)
    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    spec = repo / "svc0" / "deploy.yaml"

    def changed() -> int:
        ((plan, _, _),) = runs.plan_many([spec], None, "git:HEAD")
        return len([c for c in plan.changes if c.action.value != "no-op"])

    assert changed() == 0
    spec.write_text(spec.read_text().replace("LOG_LEVEL: info", "LOG_LEVEL: warning"))
    assert changed() > 0
    git("commit", "-qam", "quieter", cwd=repo)
    assert changed() == 0


def _with_a_link(tmp_path: Path, services: int, linked: str) -> Path:
    """A committed monorepo of ``services`` services whose folder ``linked`` holds a symbolic link."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _monorepo(repo, services=services)
    (repo / linked / "notes.md").write_text("notes\n")
    (repo / linked / "link.md").symlink_to("notes.md")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "a link", cwd=repo)
    return repo


def test_a_folder_holding_a_symlink_is_read_as_before(tmp_path: Path) -> None:
    """Folders holding symbolic links are extracted with git archive and tar's safety filter."""
    repo = _with_a_link(tmp_path, 1, "svc0")
    r = md("plan", "svc0/deploy.yaml", "--against", "git:HEAD", "--detailed-exitcode", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr


def test_without_tars_extraction_filter_a_folder_holding_a_symlink_is_refused(tmp_path: Path, monkeypatch) -> None:
    """Python before 3.10.12 / 3.11.4 (Debian 12's 3.11.2 among them) has no tarfile ``data`` filter:
    such a folder is refused with what to do, instead of an internal error (``extractall`` there
    raises TypeError for the unknown ``filter`` argument). The seam: ``tarfile.data_filter`` removed,
    the attribute those Pythons lack; this Python's extractall would still filter. A folder without
    links never reaches tar, so its plan still passes."""
    import tarfile

    from modeldeploy import runs
    from modeldeploy.errors import PlanError

    repo = _with_a_link(tmp_path, 2, "svc1")
    monkeypatch.setenv("MODELDEPLOY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delattr(tarfile, "data_filter")
    ((plan, _, _),) = runs.plan_many([repo / "svc0" / "deploy.yaml"], None, "git:HEAD")
    assert not [c for c in plan.changes if c.action.value != "no-op"]
    try:
        runs.plan_many([repo / "svc1" / "deploy.yaml"], None, "git:HEAD")
    except PlanError as exc:
        assert "no such filter" in exc.message and "symbolic link" in exc.message, exc.message
        assert exc.hint and "3.11.4" in exc.hint
    else:
        raise AssertionError("a folder holding a symlink was extracted without tar's data filter")
