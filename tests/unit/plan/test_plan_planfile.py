"""Saved plan files: round trip, validation, staleness, apply-once, atomic writes, no secrets."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from plan_samples import PLANTED, files_plan, live_plan, unchanged_plan, untrusted_plan

from modeldeploy.errors import PlanError, StalePlanError
from modeldeploy.planning import planfile
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.planfile import (
    applying,
    check_fresh,
    ensure_not_applied,
    load_plan,
    mark_applied,
    save_plan,
    stale_reasons,
)
from modeldeploy.planning.printers import format_json, format_text

INPUTS = {"file:deploy/iris/deploy.yaml": "sha256:" + "d" * 64, "model:iris": "sha256:" + "4a" * 32}


@pytest.fixture
def plans() -> list[Plan]:
    return [live_plan(), files_plan(), unchanged_plan()]


@pytest.fixture
def saved_path(tmp_path: Path, plans) -> tuple[Path, str]:
    path = tmp_path / "iris.plan.json"
    return path, save_plan(path, plans, inputs=INPUTS)


def _leftovers(folder: Path, keep: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


# ---- round trip -----------------------------------------------------------------------------------


def test_save_then_load_gives_back_the_plans(saved_path, plans):
    path, plan_id = saved_path
    saved = load_plan(path)
    assert saved.plan_id == plan_id and len(plan_id) == 64
    assert saved.inputs == INPUTS and not saved.applied and saved.result is None
    assert format_text(saved.plans, color=False, show_unchanged=True) == format_text(
        plans, color=False, show_unchanged=True
    )
    assert format_json(saved.plans) == format_json(plans)
    assert saved.fingerprints == {**plans[0].fingerprints, **plans[1].fingerprints}
    assert [c.sensitive_paths for c in saved.plans[0].changes] == [c.sensitive_paths for c in plans[0].changes]


def test_plan_id_is_the_content_hash_and_stable(tmp_path, plans):
    a = save_plan(tmp_path / "a.json", plans, inputs=INPUTS)
    b = save_plan(tmp_path / "b.json", plans, inputs=INPUTS)
    c = save_plan(tmp_path / "c.json", plans, inputs={**INPUTS, "model:iris": "sha256:" + "0" * 64})
    d = save_plan(tmp_path / "d.json", plans[:1], inputs=INPUTS)
    assert a == b and len({a, c, d}) == 3
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_plan_file_is_human_inspectable(saved_path):
    path, plan_id = saved_path
    text = path.read_text()
    doc = json.loads(text)
    assert text.startswith('{\n  "about": "modeldeploy saved plan.')
    assert doc["format_version"] == "1" and doc["kind"] == "modeldeploy-plan" and doc["plan_id"] == plan_id
    assert doc["applied"] is False and doc["result"] is None
    endpoint = next(c for c in doc["plans"][0]["changes"] if c["address"] == "sagemaker_endpoint.iris")
    assert endpoint["diff"] == [
        "--- live/sagemaker_endpoint.iris",
        "+++ planned/sagemaker_endpoint.iris",
        "@@ -1 +1 @@",
        "-EndpointConfigName: iris-333333",
        "+EndpointConfigName: iris-4a4a4a",
    ]
    assert doc["plans"][0]["fingerprints"]["deployment.iris"] == "resourceVersion:41"


def test_no_secret_reaches_the_plan_file(tmp_path):
    path = tmp_path / "p.json"
    save_plan(path, [live_plan(), files_plan(), untrusted_plan()], inputs=INPUTS)
    mark_applied(
        path, load_plan(path).plan_id, result={"url": f"https://u:{PLANTED}@x", "Environment": {"API_KEY": PLANTED}}
    )
    assert PLANTED not in path.read_text()


# ---- junk -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n", "is not a modeldeploy plan file"),
        (b"{not json", "is not a modeldeploy plan file"),
        (b"[1, 2]", "is not a modeldeploy plan file"),
        (b'{"kind": "terraform"}', "is not a modeldeploy plan file"),
        (b'{"kind": "modeldeploy-plan", "format_version": "9"}', "has format_version '9'; this modeldeploy reads '1'"),
    ],
)
def test_junk_is_a_clear_plan_error(tmp_path, content, message):
    path = tmp_path / "junk.json"
    path.write_bytes(content)
    with pytest.raises(PlanError, match=message):
        load_plan(path)


def test_missing_file(tmp_path):
    with pytest.raises(PlanError, match="cannot read plan file .*nope.json"):
        load_plan(tmp_path / "nope.json")


def test_edited_plan_is_refused(saved_path):
    path, _ = saved_path
    doc = json.loads(path.read_text())
    doc["plans"][0]["changes"][0]["action"] = "delete"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="was changed after it was saved"):
        load_plan(path)


def test_malformed_but_consistently_hashed_plan_is_refused(tmp_path):
    content = {"about": "x", "format_version": "1", "kind": "modeldeploy-plan", "inputs": {}, "plans": [{"name": "n"}]}
    doc = {**content, "plan_id": planfile._plan_id(content), "applied": False, "result": None}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="is malformed"):
        load_plan(path)


def test_unknown_action_is_refused(tmp_path):
    content = planfile._content([unchanged_plan()], {})
    content["plans"][0]["changes"][0]["action"] = "explode"
    doc = {**content, "plan_id": planfile._plan_id(content), "applied": False, "result": None}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(PlanError, match="is malformed: 'explode' is not a valid Action"):
        load_plan(path)


# ---- staleness ------------------------------------------------------------------------------------


def test_fresh_plan_passes(saved_path, plans):
    saved = load_plan(saved_path[0])
    check_fresh(saved, dict(INPUTS), {**plans[0].fingerprints, **plans[1].fingerprints})


def test_changed_input_makes_the_plan_stale(saved_path):
    saved = load_plan(saved_path[0])
    inputs = {**INPUTS, "file:deploy/iris/deploy.yaml": "sha256:" + "e" * 64}
    with pytest.raises(
        StalePlanError, match=r"^plan is stale: input file:deploy/iris/deploy.yaml changed since it was made$"
    ):
        check_fresh(saved, inputs, saved.fingerprints)


def test_changed_live_objects_make_the_plan_stale(saved_path):
    saved = load_plan(saved_path[0])
    fps = dict(saved.fingerprints)
    fps["deployment.iris"] = "resourceVersion:42"
    del fps["scaling_policy.iris"]
    fps["sagemaker_model.iris-4a4a4a"] = "etag-x"
    with pytest.raises(StalePlanError) as err:
        check_fresh(saved, INPUTS, fps)
    assert str(err.value) == (
        "plan is stale: live object deployment.iris, live object sagemaker_model.iris-4a4a4a (created), "
        "live object scaling_policy.iris (deleted) changed since it was made"
    )
    assert err.value.hint and "modeldeploy plan" in err.value.hint


def test_removed_and_added_inputs_are_named(saved_path):
    saved = load_plan(saved_path[0])
    reasons = stale_reasons(saved, {"model:iris": INPUTS["model:iris"], "model:other": "sha256:1"}, saved.fingerprints)
    assert reasons == ["input file:deploy/iris/deploy.yaml (removed)", "input model:other (added)"]


def test_many_changes_are_capped_in_the_message(tmp_path):
    plan = replace(unchanged_plan(), fingerprints={f"k.r{i:02d}": "1" for i in range(20)})
    path = tmp_path / "p.json"
    save_plan(path, [plan], inputs={})
    with pytest.raises(StalePlanError, match=r"live object k\.r07 and 12 more changed since it was made$"):
        check_fresh(load_plan(path), {}, {f"k.r{i:02d}": "2" for i in range(20)})


# ---- apply once -----------------------------------------------------------------------------------


def test_applied_plan_cannot_be_applied_again(saved_path):
    path, plan_id = saved_path
    ensure_not_applied(load_plan(path))
    mark_applied(path, plan_id, result={"changed": ["sagemaker_endpoint.iris"]})
    saved = load_plan(path)  # still loads: the id covers the plan, not the applied state
    assert saved.applied and saved.result == {"changed": ["sagemaker_endpoint.iris"]}
    with pytest.raises(PlanError, match=rf"^plan {plan_id[:12]} was already applied"):
        ensure_not_applied(saved)
    with pytest.raises(PlanError, match="was already applied"):
        mark_applied(path, plan_id)


def test_mark_applied_checks_the_plan_id(saved_path):
    path, _ = saved_path
    with pytest.raises(PlanError, match="holds plan"):
        mark_applied(path, "0" * 64)
    assert not load_plan(path).applied


def test_applying_lock_refuses_a_concurrent_apply(saved_path):
    path, plan_id = saved_path
    with applying(path, plan_id):
        assert (path.parent / (path.name + ".lock")).exists()
        with pytest.raises(PlanError, match="is being applied by another process"):
            with applying(path, plan_id):
                pass
    assert not (path.parent / (path.name + ".lock")).exists()
    with pytest.raises(RuntimeError):
        with applying(path, plan_id):
            raise RuntimeError("apply failed")
    assert not (path.parent / (path.name + ".lock")).exists()


def test_only_one_of_many_racing_applies_gets_the_lock(saved_path):
    path, plan_id = saved_path
    results: list[str] = []
    barrier = threading.Barrier(8)
    hold = threading.Event()

    def worker():
        barrier.wait()
        try:
            with applying(path, plan_id):
                results.append("won")
                hold.wait(5)
        except PlanError:
            results.append("refused")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    while len(results) < 8 and any(t.is_alive() for t in threads):
        if results.count("refused") == 7:
            hold.set()
        threading.Event().wait(0.01)
    hold.set()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused"] * 7 + ["won"]


# ---- atomic writes --------------------------------------------------------------------------------


def test_no_temp_file_is_left_behind(saved_path):
    path, plan_id = saved_path
    mark_applied(path, plan_id)
    assert _leftovers(path.parent, path.name) == []


def test_serialisation_failure_leaves_the_existing_file_intact(saved_path):
    path, _ = saved_path
    before = path.read_bytes()
    bad = Plan("bad", "t", None, "live", (Change("k.x", "k", "x", Action.CREATE, None, {"when": object()}),))
    with pytest.raises(PlanError, match="not JSON"):
        save_plan(path, [bad], inputs={})
    assert path.read_bytes() == before
    assert _leftovers(path.parent, path.name) == []


def test_failure_during_replace_leaves_the_existing_file_intact(saved_path, monkeypatch):
    path, _ = saved_path
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        save_plan(path, [unchanged_plan()], inputs={})
    assert path.read_bytes() == before
    assert _leftovers(path.parent, path.name) == []


def test_failure_during_write_removes_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "new.json"

    def broken_fsync(fd):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="I/O error"):
        save_plan(path, [unchanged_plan()], inputs={})
    assert list(tmp_path.iterdir()) == []
