"""Odd command lines never reach the user as a traceback or an "internal error": each ends with a
one-line error and exit 1 (or 0 where the input is fine). Real subprocesses of python -m modeldeploy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.corpus import EXAMPLE_MODEL

REPO = Path(__file__).resolve().parents[2]
SPEC = "apiVersion: modeldeploy/v1\nname: m\nmodel: {source: ./model}\nsignature: {required: false}\ntarget: {kind: docker}\nenvironments: {prod: {}}\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    shutil.copytree(EXAMPLE_MODEL, root / "model")
    (root / "deploy.yaml").write_text(SPEC)
    (root / "emptydir").mkdir()
    (root / "dir.yaml").mkdir()
    (root / "binary.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    return root


def run(cwd: Path, *args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MODELDEPLOY_DEBUG"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "modeldeploy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def without_file_permission_override() -> tuple[str, ...]:
    """A command prefix under which file modes bind: none for a normal user; as root (CI containers),
    setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the child, so root is refused a mode-0
    file like anyone else (running as another user instead would need the interpreter and the checkout
    to be readable by that user, which a root-owned home is not)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root needs setpriv (util-linux) to drop the file-permission override"
    caps = "-dac_override,-dac_read_search"
    return (setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}")


CASES = [
    (("validate", "emptydir"), 1),
    (("validate", "dir.yaml"), 1),  # a folder named like a file is searched, and has none
    (("validate", "/dev/null"), 1),
    (("validate", "binary.yaml"), 1),
    (("validate", "missing.yaml"), 1),
    (("validate", "deploy.yaml", "--env", "NOT_DNS"), 1),
    (("validate", "deploy.yaml", "--env", "a\nb"), 1),
    (("validate", "deploy.yaml", "--env", ""), 1),
    (("validate", "deploy.yaml", "--env", "prod"), 0),
    (("plan", "deploy.yaml", "--against", "git:no-such-ref"), 1),
    (("plan", "deploy.yaml", "--against", "live"), 1),  # docker has no live state
    (("render", "deploy.yaml", "-o", "/dev/null"), 1),
    (("render", "deploy.yaml", "-o", "deploy.yaml"), 1),
    (("render", "deploy.yaml", "-o", "/proc/modeldeploy-x"), 1),
    (("init", "/nonexistent-model", "-o", "-"), 1),
    (("init", "model", "--target", "bogus", "-o", "-"), 1),
    (("init", "model", "--name", "A B\nC", "-o", "-"), 1),
    (("inspect", "/dev/null"), 1),
]


@pytest.mark.parametrize("args,code", CASES, ids=[" ".join(a).replace("\n", "\\n") for a, _ in CASES])
def test_odd_cli_inputs_end_in_a_clean_error(project: Path, args: tuple[str, ...], code: int) -> None:
    proc = run(project, *args)
    assert proc.returncode == code, (proc.returncode, proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-1500:]
    if code:
        assert proc.stderr.strip(), "an error must say something"


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_unreadable_file(project: Path, command: str) -> None:
    """Runs for root too (see without_file_permission_override); it skipped there and so never saw that
    the CLI's argument parser refused the file itself (exit 2, a usage error) before modeldeploy could."""
    p = project / "unreadable.yaml"
    p.write_text(SPEC)
    p.chmod(0)
    prefix = without_file_permission_override()
    probe = subprocess.run([*prefix, sys.executable, "-c", f"open({str(p)!r})"], capture_output=True, text=True)
    assert probe.returncode != 0 and "PermissionError" in probe.stderr, (
        "the file is still readable: the test would check nothing"
    )
    proc = run(project, command, "unreadable.yaml", prefix=prefix)
    assert proc.returncode == 1 and "unreadable.yaml: error: permission denied" in proc.stderr, (
        proc.returncode,
        proc.stderr,
    )
    assert "Traceback" not in proc.stderr and "Usage:" not in proc.stderr


@pytest.mark.parametrize("name", ["m-$(id)", "m-{{ 7*191 }}", "m-a: b #c", "m-\u2028x", "m-'q\"", "m-\nx"])
def test_init_on_a_hostile_folder_name_writes_a_valid_file_or_refuses(project: Path, name: str) -> None:
    """init puts the folder's path into deploy.yaml (and a comment): either the scaffold validates and
    names exactly that folder, or init refuses with a clean error."""
    import yaml

    folder = project / name
    if not folder.exists():
        shutil.copytree(EXAMPLE_MODEL, folder)
    proc = run(project, "init", name, "-o", "-")
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    if proc.returncode:
        assert proc.returncode == 1 and proc.stderr.strip()
        return
    data = yaml.safe_load(proc.stdout)
    assert data["model"]["source"] == f"./{name}"
    assert "1337" not in proc.stdout
    assert len(proc.stdout.splitlines()) == len(run(project, "init", "model", "-o", "-").stdout.splitlines())
