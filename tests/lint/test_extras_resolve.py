"""Every combination of modeldeploy's extras installs without a dependency conflict.

A user installs the extra for one target and later another (`pip install 'modeldeploy[kubernetes]'`,
then `'modeldeploy[aws]'`). pip resolves the second install on its own: a package the first install
chose is kept when it satisfies the second, otherwise it is replaced, and nothing re-checks what the
first extra needed (pip then prints "pip's dependency resolver does not currently take into account
all the packages that are installed"). kubernetes 37.0.2 (python-dateutil>=3) and botocore
(python-dateutil<3) broke each other exactly this way.

The seam: `pip install --dry-run --ignore-installed --report` resolves each extra against the package
index without installing anything (so the test needs the index, as CI has; without it the test fails,
it does not skip). Installing A then B is simulated from the two reports with pip's only-if-needed
rule above, and the result is checked the way `pip check` does: every active requirement of every
package is present in a version its specifier allows. A real venv per order would take minutes per
combination; the simulation takes the reports pip would act on and applies pip's own rule to them.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    from pip._vendor import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
TARGET_EXTRAS = ("aws", "azure", "kubernetes")


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements_for(extras: tuple[str, ...], proj: dict | None = None) -> list[str]:
    """The requirement strings `pip install 'modeldeploy[extras]'` asks for, with the project's
    references to its own extras (`modeldeploy[aws,azure]`) expanded."""
    proj = proj or project()
    name = canonicalize_name(proj["name"])
    out: list[str] = list(proj["dependencies"])
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for spec in proj["optional-dependencies"][extra]:
            req = Requirement(spec)
            if canonicalize_name(req.name) == name:
                todo.extend(req.extras)
            else:
                out.append(spec)
    return out


Package = dict  # {"version": Version, "requires": [Requirement]}


def resolve(requirements: list[str], tmp: Path) -> dict[str, Package]:
    report = tmp / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--no-input",
        "--report",
        str(report),
        *requirements,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"pip could not resolve {requirements}:\n{proc.stderr[-3000:]}")
    data = json.loads(report.read_text(encoding="utf-8"))
    return {
        canonicalize_name(item["metadata"]["name"]): {
            "version": Version(item["metadata"]["version"]),
            "requires": [Requirement(r) for r in item["metadata"].get("requires_dist") or []],
        }
        for item in data["install"]
    }


def active_requirements(env: dict[str, Package], top: list[str]) -> list[tuple[str, Requirement]]:
    """(requirer, requirement) for every requirement whose marker holds, with extras followed from
    the top-level requirements through the packages that ask for them."""
    extras: dict[str, set[str]] = {}
    for spec in top:
        req = Requirement(spec)
        extras.setdefault(canonicalize_name(req.name), set()).update(req.extras)
    base = default_environment()
    while True:
        active = []
        for name, pkg in env.items():
            for req in pkg["requires"]:
                wanted = [""] + sorted(extras.get(name, ()))
                if req.marker is None or any(req.marker.evaluate({**base, "extra": e}) for e in wanted):
                    active.append((name, req))
        before = sum(map(len, extras.values()))
        for _, req in active:
            extras.setdefault(canonicalize_name(req.name), set()).update(req.extras)
        if sum(map(len, extras.values())) == before:
            return active


def conflicts(env: dict[str, Package], top: list[str]) -> list[str]:
    found = []
    for requirer, req in active_requirements(env, top):
        dep = env.get(canonicalize_name(req.name))
        if dep is None:
            found.append(f"{requirer} requires {req}, which is not installed")
        elif not req.specifier.contains(dep["version"], prereleases=True):
            found.append(f"{requirer} requires {req}, but {req.name} {dep['version']} is installed")
    return sorted(set(found))


def install_after(first: dict[str, Package], second: dict[str, Package], second_top: list[str]) -> dict[str, Package]:
    """What the environment holds after installing `second` over `first`: pip keeps an installed
    package when it satisfies what the second install requires of it, and replaces it otherwise."""
    env = dict(first)
    wants: dict[str, list[Requirement]] = {}
    for _, req in active_requirements(second, second_top):
        wants.setdefault(canonicalize_name(req.name), []).append(req)
    for spec in second_top:
        req = Requirement(spec)
        wants.setdefault(canonicalize_name(req.name), []).append(req)
    for name, pkg in second.items():
        kept = env.get(name)
        if kept is None or not all(
            r.specifier.contains(kept["version"], prereleases=True) for r in wants.get(name, [])
        ):
            env[name] = pkg
    return env


# --- the checker itself, on made-up packages (no index needed) -----------------------------------


def _pkg(version: str, *requires: str) -> Package:
    return {"version": Version(version), "requires": [Requirement(r) for r in requires]}


def test_install_after_reproduces_the_dateutil_conflict_and_keeps_what_still_fits():
    kube = {"kubernetes": _pkg("37.0.2", "python-dateutil>=3"), "python-dateutil": _pkg("4.0.0")}
    aws = {"botocore": _pkg("1.44.8", "python-dateutil<3,>=2.1"), "python-dateutil": _pkg("2.9.0")}
    env = install_after(kube, aws, ["botocore"])
    assert env["python-dateutil"]["version"] == Version("2.9.0")
    assert conflicts(env, ["kubernetes", "botocore"]) == [
        "kubernetes requires python-dateutil>=3, but python-dateutil 2.9.0 is installed"
    ]
    # an installed version the second install accepts is kept, as pip does
    fine = {"kubernetes": _pkg("37.0.1", "python-dateutil>=2.5"), "python-dateutil": _pkg("2.8.2")}
    env = install_after(fine, aws, ["botocore"])
    assert env["python-dateutil"]["version"] == Version("2.8.2")
    assert conflicts(env, ["kubernetes", "botocore"]) == []


def test_markers_and_extras_decide_which_requirements_count():
    env = {
        "a": _pkg("1.0", "b[fast]>=1", "c>=2; extra == 'never'", "d>=9; python_version < '3'"),
        "b": _pkg("1.0", "e>=2; extra == 'fast'"),
        "e": _pkg("1.5"),
    }
    assert conflicts(env, ["a"]) == ['b requires e>=2; extra == "fast", but e 1.5 is installed']


def test_requirements_expand_the_projects_own_extras():
    proj = {
        "name": "modeldeploy",
        "dependencies": ["pyyaml>=6"],
        "optional-dependencies": {"x": ["boto3"], "y": ["kubernetes"], "all": ["modeldeploy[x,y]"]},
    }
    assert sorted(requirements_for(("all",), proj)) == ["boto3", "kubernetes", "pyyaml>=6"]


def test_the_test_extra_is_satisfied_by_the_running_environment():
    """The dev/CI venv (`pip install -e '.[test]'`) still satisfies every pin in pyproject.toml."""
    from importlib.metadata import PackageNotFoundError, version

    wrong = []
    for spec in requirements_for(("test",)):
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            got = Version(version(req.name))
        except PackageNotFoundError:
            wrong.append(f"{req} is not installed")
            continue
        if not req.specifier.contains(got, prereleases=True):
            wrong.append(f"{req} but {got} is installed")
    assert wrong == []


# --- against the package index --------------------------------------------------------------------


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict[tuple[str, ...], tuple[dict[str, Package], list[str]]]:
    combos = [(e,) for e in TARGET_EXTRAS] + [TARGET_EXTRAS]

    def one(combo):
        reqs = requirements_for(combo)
        return combo, (resolve(reqs, tmp_path_factory.mktemp("-".join(combo))), reqs)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, combos))


@pytest.mark.index
def test_all_extras_together_resolve_without_conflict(resolved):
    # pip resolved it; the check confirms the checker agrees on a real, consistent environment
    env, reqs = resolved[TARGET_EXTRAS]
    assert conflicts(env, reqs) == []
    # and [all] is exactly the three target extras
    assert sorted(requirements_for(("all",))) == sorted(requirements_for(TARGET_EXTRAS))


@pytest.mark.index
@pytest.mark.parametrize("first,second", list(itertools.permutations(TARGET_EXTRAS, 2)))
def test_one_extra_installed_after_another_leaves_no_conflict(resolved, first, second):
    env_a, reqs_a = resolved[(first,)]
    env_b, reqs_b = resolved[(second,)]
    env = install_after(env_a, env_b, reqs_b)
    assert conflicts(env, reqs_a + reqs_b) == []
