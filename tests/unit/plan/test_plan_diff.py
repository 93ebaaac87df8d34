"""diff_resources / diff_files: every action, replace reasons, diffs of changed fields only, ordering."""

from __future__ import annotations

import random

import pytest
from plan_samples import PLANTED, files_inputs, live_resources

from modeldeploy.errors import PlanError
from modeldeploy.planning.diff import (
    body_fingerprint,
    changed_paths,
    diff_resources,
    forcing_paths,
    live_fingerprints,
)
from modeldeploy.planning.filediff import diff_files, file_fingerprints
from modeldeploy.planning.plan import Action
from modeldeploy.planning.redact import SENSITIVE, SENSITIVE_CHANGED
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact


def res(address: str, body: dict, **kw) -> Resource:
    kind, name = address.split(".", 1)
    return Resource(address=address, kind=kind, name=name, body=body, **kw)


def live(address: str, body: dict, fingerprint: str = "") -> LiveResource:
    kind, name = address.split(".", 1)
    return LiveResource(address=address, kind=kind, name=name, body=body, fingerprint=fingerprint)


def observed(*items: LiveResource) -> Observed:
    return Observed(resources={i.address: i for i in items})


def only(changes):
    assert len(changes) == 1
    return changes[0]


# ---- actions --------------------------------------------------------------------------------------


def test_create_when_not_observed():
    c = only(diff_resources([res("m.a", {"x": 1})], observed()))
    assert c.action is Action.CREATE and c.before is None and c.after == {"x": 1}
    assert c.diff.splitlines()[:2] == ["--- /dev/null", "+++ planned/m.a"]
    assert "+x: 1" in c.diff.splitlines()


def test_noop_when_equal_even_if_key_order_and_tuples_differ():
    c = only(
        diff_resources(
            [res("m.a", {"b": (1, 2), "a": {"z": 1, "y": 2}})],
            observed(live("m.a", {"a": {"y": 2, "z": 1}, "b": [1, 2]})),
        )
    )
    assert c.action is Action.NOOP and c.diff == "" and c.reason == ""


def test_update_diff_shows_changed_fields_only_with_address_headers():
    desired = res("m.a", {"image": "x:2", "port": 8080, "labels": {"a": "1", "b": "2"}})
    c = only(
        diff_resources([desired], observed(live("m.a", {"image": "x:1", "port": 8080, "labels": {"a": "1", "b": "3"}})))
    )
    assert c.action is Action.UPDATE and c.reason == ""
    lines = c.diff.splitlines()
    assert lines[:2] == ["--- live/m.a", "+++ planned/m.a"]
    assert "-image: x:1" in lines and "+image: x:2" in lines
    assert "-  b: '3'" in lines and "+  b: '2'" in lines
    assert " labels:" in lines
    assert not any("port" in line or "a: '1'" in line for line in lines)  # unchanged fields are not shown
    assert c.before["port"] == 8080 and c.after["image"] == "x:2"  # before/after are whole bodies


def test_update_list_item_keeps_its_name_for_context():
    before = {"containers": [{"name": "model", "image": "a", "cpu": 1}, {"name": "sidecar", "image": "s"}]}
    after = {"containers": [{"name": "model", "image": "b", "cpu": 1}, {"name": "sidecar", "image": "s"}]}
    c = only(diff_resources([res("d.x", after)], observed(live("d.x", before))))
    assert c.diff.splitlines()[3:] == [" containers:", "-- image: a", "+- image: b", "   name: model"]


def test_bool_and_int_are_different_values():
    assert changed_paths({"a": True}, {"a": 1}) == [("a",)]
    assert changed_paths({"a": 1}, {"a": 1.0}) == []


def test_delete_observed_leftover():
    c = only(diff_resources([], observed(live("m.old", {"x": 1}))))
    assert c.action is Action.DELETE and c.after is None and c.before == {"x": 1}
    assert c.diff.splitlines()[:2] == ["--- live/m.old", "+++ /dev/null"]


def test_immutable_resource_is_replaced_with_reason_and_fields():
    r = res(
        "cfg.a",
        {"type": "m5", "count": 2, "name": "a"},
        immutable=True,
        replace_reason="endpoint configs are immutable",
    )
    c = only(diff_resources([r], observed(live("cfg.a", {"type": "m4", "count": 1, "name": "a"}))))
    assert c.action is Action.REPLACE
    assert c.reason == "endpoint configs are immutable; changed: count, type"


def test_immutable_without_reason_gets_a_default_reason():
    c = only(diff_resources([res("cfg.a", {"t": 2}, immutable=True)], observed(live("cfg.a", {"t": 1}))))
    assert c.action is Action.REPLACE and c.reason == "cfg objects are immutable; changed: t"


def test_replace_on_path_forces_replace_and_names_the_field():
    r = res(
        "deploy.x",
        {"spec": {"selector": {"app": "b"}, "replicas": 2}},
        replace_on=("spec.selector",),
        replace_reason="selectors are immutable",
    )
    c = only(diff_resources([r], observed(live("deploy.x", {"spec": {"selector": {"app": "a"}, "replicas": 1}}))))
    assert c.action is Action.REPLACE
    assert c.reason == "selectors are immutable; changed: spec.selector.app"


def test_replace_on_untouched_means_update():
    r = res("deploy.x", {"spec": {"selector": {"app": "a"}, "replicas": 2}}, replace_on=("spec.selector",))
    c = only(diff_resources([r], observed(live("deploy.x", {"spec": {"selector": {"app": "a"}, "replicas": 1}}))))
    assert c.action is Action.UPDATE and c.reason == ""


def test_replace_on_with_wildcard_and_default_reason():
    r = res("ep.x", {"variants": [{"name": "a", "size": 2}, {"name": "b", "size": 1}]}, replace_on=("variants.*.name",))
    c = only(
        diff_resources([r], observed(live("ep.x", {"variants": [{"name": "a", "size": 2}, {"name": "c", "size": 1}]})))
    )
    assert c.action is Action.REPLACE
    assert c.reason == "variants.*.name cannot change in place; changed: variants.1.name"


def test_replace_on_when_the_parent_appears():
    assert forcing_paths({"spec": {}}, {"spec": {"selector": {"a": 1}}}, ["spec.selector"]) == ["spec.selector"]
    assert forcing_paths({}, {"spec": {"x": 1}}, ["spec.selector"]) == []


def test_replace_reason_caps_the_field_list():
    body_old = {f"f{i}": 0 for i in range(8)}
    body_new = {f"f{i}": 1 for i in range(8)}
    c = only(
        diff_resources(
            [res("cfg.a", body_new, immutable=True, replace_reason="immutable")], observed(live("cfg.a", body_old))
        )
    )
    assert c.reason == "immutable; changed: f0, f1, f2, f3, f4 and 3 more"


# ---- redaction inside diffs -----------------------------------------------------------------------


def test_sensitive_path_values_never_reach_the_change_and_a_change_is_still_visible():
    r = res(
        "m.a",
        {"conn": {"password": "new-pw", "host": "h"}, "Environment": {"HF_TOKEN": "hf-new"}},
        sensitive_paths=("conn.password",),
    )
    c = only(
        diff_resources(
            [r],
            observed(live("m.a", {"conn": {"password": "old-pw", "host": "h"}, "Environment": {"HF_TOKEN": "hf-old"}})),
        )
    )
    text = repr((c.before, c.after, c.diff))
    for secret in ("new-pw", "old-pw", "hf-new", "hf-old"):
        assert secret not in text
    assert c.action is Action.UPDATE  # raw values are compared
    assert f"+  password: {SENSITIVE_CHANGED}" in c.diff.splitlines()
    assert f"-  password: {SENSITIVE}" in c.diff.splitlines()
    assert c.after["conn"]["password"] == SENSITIVE


def test_deleted_leftover_is_redacted_like_desired_objects_of_its_kind():
    desired = [res("model.new", {"conn": {"pw": "p-new"}}, sensitive_paths=("conn.pw",))]
    changes = diff_resources(desired, observed(live("model.old", {"conn": {"pw": "p-old"}})))
    gone = changes[-1]
    assert gone.action is Action.DELETE and gone.before == {"conn": {"pw": SENSITIVE}}
    assert gone.sensitive_paths == ("conn.pw",) and "p-old" not in gone.diff


def test_sample_plan_hides_every_planted_secret():
    desired, obs = live_resources()
    for c in diff_resources(desired, obs):
        assert PLANTED not in repr((c.before, c.after, c.diff, c.reason)), c.address


# ---- ordering -------------------------------------------------------------------------------------


def test_creates_follow_dependencies_and_deletes_come_last_in_reverse():
    desired = [
        res("endpoint.e", {"c": "c2"}, depends_on=("config.c2",)),
        res("config.c2", {"m": "m2"}, depends_on=("model.m2",)),
        res("model.m2", {"i": 2}),
        res("alarm.z", {}),
    ]
    obs = observed(
        live("model.m1", {"i": 1}),
        live("config.c1", {"m": "m1"}),
        live("endpoint.e", {"c": "c1"}),
        live("unknown.u", {}),
    )
    got = [(c.address, c.action.value) for c in diff_resources(desired, obs)]
    assert got == [
        ("alarm.z", "create"),
        ("model.m2", "create"),
        ("config.c2", "create"),
        ("endpoint.e", "update"),
        ("config.c1", "delete"),
        ("model.m1", "delete"),
        ("unknown.u", "delete"),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_order_does_not_depend_on_input_order(seed):
    desired, obs = live_resources()
    expected = diff_resources(desired, obs)
    rng = random.Random(seed)
    shuffled = list(desired)
    rng.shuffle(shuffled)
    items = list(obs.resources.items())
    rng.shuffle(items)
    again = diff_resources(shuffled, Observed(resources=dict(items)))
    assert again == expected


def test_dependency_cycle_is_an_error():
    with pytest.raises(PlanError, match="cycle: a.x, b.y"):
        diff_resources([res("a.x", {}, depends_on=("b.y",)), res("b.y", {}, depends_on=("a.x",))], observed())


def test_duplicate_desired_address_is_an_error():
    with pytest.raises(PlanError, match="share an address: a.x"):
        diff_resources([res("a.x", {}), res("a.x", {"y": 1})], observed())


def test_dependencies_outside_the_plan_are_ignored():
    c = only(diff_resources([res("a.x", {}, depends_on=("shared.vpc",))], observed()))
    assert c.action is Action.CREATE


def test_live_fingerprints_fall_back_to_body_hash():
    obs = observed(live("a.x", {"k": 1}, "etag-1"), live("b.y", {"k": 2}))
    fps = live_fingerprints(obs)
    assert fps == {"a.x": "etag-1", "b.y": body_fingerprint({"k": 2})}
    assert body_fingerprint({"k": 2}) != body_fingerprint({"k": 3})


# ---- files ----------------------------------------------------------------------------------------


def test_diff_files_every_action_and_addresses():
    desired, current = files_inputs()
    changes = {c.address: c for c in diff_files(desired, current, "out/iris")}
    assert sorted(changes) == sorted(f"file.out/iris/{p}" for p in set(current) | {a.path for a in desired})
    assert [c.address for c in diff_files(desired, current, "out/iris")] == sorted(changes)
    actions = {a: c.action.value for a, c in changes.items()}
    assert actions == {
        "file.out/iris/Dockerfile": "update",
        "file.out/iris/README.txt": "delete",
        "file.out/iris/compose.yaml": "no-op",
        "file.out/iris/model/MLmodel": "no-op",
        "file.out/iris/model/model.pkl": "update",
        "file.out/iris/secrets.env": "create",
    }
    docker = changes["file.out/iris/Dockerfile"]
    assert docker.kind == "file" and docker.name == "out/iris/Dockerfile"
    lines = docker.diff.splitlines()
    assert lines[:2] == ["--- current/out/iris/Dockerfile", "+++ rendered/out/iris/Dockerfile"]
    assert "-FROM python:3.10-slim" in lines and "+FROM python:3.11-slim" in lines and "-EXPOSE 5000" in lines
    assert docker.before["size"] == len(current["Dockerfile"]) and docker.after["digest"].startswith("sha256:")


def test_model_copies_are_compared_by_digest_never_dumped():
    desired, current = files_inputs()
    pkl = next(c for c in diff_files(desired, current, "out") if c.address == "file.out/model/model.pkl")
    new = next(a for a in desired if a.path == "model/model.pkl")
    assert pkl.diff == f"digest {pkl.before['digest']} → {new.digest}"
    assert "pickle" not in pkl.diff


def test_text_looking_model_copy_is_still_shown_by_digest():
    a = Artifact("model/conda.yaml", "application/yaml", b"name: new\n", source="model/conda.yaml")
    c = only(diff_files([a], {"model/conda.yaml": b"name: old\n"}, ""))
    assert c.address == "file.model/conda.yaml" and c.diff.startswith("digest sha256:") and "name:" not in c.diff


def test_binary_create_and_delete():
    a = Artifact("w.bin", "application/octet-stream", b"\x00\x01")
    created = only(diff_files([a], {}, "p"))
    assert created.action is Action.CREATE and created.diff == f"digest (none) → {a.digest}"
    deleted = only(diff_files([], {"w.bin": b"\x00\x02"}, "p"))
    assert deleted.action is Action.DELETE and deleted.diff.endswith("→ (none)") and deleted.after is None


def test_sensitive_artifact_shows_only_sensitive():
    desired, current = files_inputs()
    c = next(
        c
        for c in diff_files(desired, {**current, "secrets.env": b"HF_TOKEN=old"}, "out")
        if c.name == "out/secrets.env"
    )
    assert c.action is Action.UPDATE
    assert c.diff == SENSITIVE and c.before == SENSITIVE and c.after == SENSITIVE


def test_line_ending_only_change_is_explained():
    a = Artifact("a.txt", "text/plain", b"x\n")
    c = only(diff_files([a], {"a.txt": b"x"}, ""))
    assert c.action is Action.UPDATE and "(line endings or whitespace only)" in c.diff


def test_secret_in_a_rendered_text_file_is_hidden_in_its_diff():
    a = Artifact("Dockerfile", "text/plain", b"FROM x\nENV HF_TOKEN=hf_new_value\n")
    c = only(diff_files([a], {"Dockerfile": b"FROM x\n"}, ""))
    assert "hf_new_value" not in c.diff and "+ENV HF_TOKEN=(sensitive)" in c.diff.splitlines()


def test_duplicate_artifact_path_is_an_error():
    a = Artifact("a.txt", "text/plain", b"x")
    with pytest.raises(PlanError, match="a.txt"):
        diff_files([a, a], {}, "")


def test_file_fingerprints():
    assert file_fingerprints({"b": b"1", "a": b"2"}, "out/") == {
        "file.out/a": "sha256:" + __import__("hashlib").sha256(b"2").hexdigest(),
        "file.out/b": "sha256:" + __import__("hashlib").sha256(b"1").hexdigest(),
    }
