"""The auxiliary-resource contract (Target.auxiliaries), at the seam between the library and a target:
a recording target and recording auxiliaries stand in for the network (the real ones are tested against
a real registry and engine in tests/e2e/test_registry_build.py, a real mlflow server in
tests/integration/sources/test_register_auxiliary.py and moto in tests/integration/sagemaker).
Checked here: where a live plan lists them, what a folder plan says instead, and that apply carries out
"before" ones before the target's apply, hands the target the plan without them, and "after" ones only
once the target's apply succeeded."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from modeldeploy import api
from modeldeploy.applier import apply
from modeldeploy.errors import ApplyError
from modeldeploy.lease import LeaseSettings
from modeldeploy.planning.plan import Action, Change
from modeldeploy.progress import Progress
from modeldeploy.targets.base import ApplyResult, Artifact, Auxiliary, LiveResource, Observed, Resource, Target
from tests.unit.targets.kubernetes.k8s_case import write_spec

NO_LEASE = LeaseSettings(seconds=0)


class Recorder(Auxiliary):
    def __init__(self, log: list[Any], present: bool) -> None:
        self.address = f"aux.{self.stage}"
        self.log, self.present = log, present

    def review(self) -> str:
        return f"apply makes {self.address}"

    def plan(self, options: Any) -> Change:
        return Change(self.address, "aux", self.stage, Action.NOOP if self.present else Action.CREATE, after={"x": 1})

    def apply(self, progress: Progress, options: Any) -> ApplyResult:
        self.log.append(("aux", self.stage))
        return ApplyResult(changed=(self.address,), outputs={self.stage: "done"})


class Before(Recorder):
    stage: ClassVar[Literal["before", "after"]] = "before"


class After(Recorder):
    stage: ClassVar[Literal["before", "after"]] = "after"


class Recording(Target):
    kind: ClassVar[str] = "kubernetes"

    def __init__(self, *, deployed: bool = False, present: bool = False, fail: bool = False) -> None:
        self.log: list[Any] = []
        self.deployed, self.present, self.fail = deployed, present, fail

    def render(self, ctx: Any) -> list[Artifact]:
        return [Artifact("thing.json", "application/json", b'{"v": 1}')]

    def desired(self, ctx: Any, artifacts: list[Artifact]) -> list[Resource]:
        return [Resource("thing.x", "thing", "x", {"v": 1})]

    def observe(self, ctx: Any, desired: list[Resource], options: Any) -> Observed:
        return Observed(resources={"thing.x": LiveResource("thing.x", "thing", "x", {"v": 1})} if self.deployed else {})

    def apply(
        self, ctx: Any, plan: Any, artifacts: list[Artifact], progress: Progress, options: Any = None
    ) -> ApplyResult:
        self.log.append(("target", [c.address for c in plan.changes]))
        if self.fail:
            raise ApplyError("the rollout failed")
        return ApplyResult(changed=("thing.x",))

    def auxiliaries(self, ctx: Any, artifacts: list[Artifact]) -> list[Auxiliary]:
        return [After(self.log, self.present), Before(self.log, self.present)]  # listed in any order


def _dep(tmp_path: Path, target: Recording) -> api.Deployment:
    return dataclasses.replace(api.load(write_spec(tmp_path)), target=target)


def test_a_live_plan_lists_before_first_and_after_last(tmp_path: Path) -> None:
    plan, _ = api.plan(_dep(tmp_path, Recording()), "live")
    assert [(c.address, c.action) for c in plan.changes] == [
        ("aux.before", Action.CREATE),
        ("thing.x", Action.CREATE),
        ("aux.after", Action.CREATE),
    ]


def test_a_folder_plan_reads_nothing_and_notes_what_apply_will_do(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    plan, _ = api.plan(_dep(tmp_path, Recording()), f"dir:{tmp_path / 'out'}")
    assert not any(c.address.startswith("aux.") for c in plan.changes)
    assert "apply makes aux.before" in plan.notes and "apply makes aux.after" in plan.notes


def test_apply_runs_before_then_the_target_without_them_then_after(tmp_path: Path) -> None:
    target = Recording()
    dep = _dep(tmp_path, target)
    plan, _ = api.plan(dep, "live")
    result = apply(dep, plan, progress=Progress(io.StringIO()), lease=NO_LEASE)
    assert target.log == [("aux", "before"), ("target", ["thing.x"]), ("aux", "after")]
    assert result.changed == ("aux.before", "thing.x", "aux.after")
    assert result.outputs == {"before": "done", "after": "done"}


def test_only_an_auxiliary_to_create_does_not_call_the_target(tmp_path: Path) -> None:
    target = Recording(deployed=True)
    dep = _dep(tmp_path, target)
    plan, _ = api.plan(dep, "live")
    assert plan.has_changes
    apply(dep, plan, progress=Progress(io.StringIO()), lease=NO_LEASE)
    assert target.log == [("aux", "before"), ("aux", "after")]


def test_a_before_auxiliary_already_there_is_not_applied(tmp_path: Path) -> None:
    target = Recording(present=True)
    dep = _dep(tmp_path, target)
    plan, _ = api.plan(dep, "live")
    apply(dep, plan, progress=Progress(io.StringIO()), lease=NO_LEASE)
    assert target.log == [("target", ["thing.x"]), ("aux", "after")]


def test_after_auxiliaries_wait_for_a_successful_apply(tmp_path: Path) -> None:
    target = Recording(fail=True)
    dep = _dep(tmp_path, target)
    plan, _ = api.plan(dep, "live")
    with pytest.raises(ApplyError):
        apply(dep, plan, progress=Progress(io.StringIO()), lease=NO_LEASE)
    assert target.log == [("aux", "before"), ("target", ["thing.x"])]
