"""Concurrent and interrupted applies of one SageMaker deployment, against moto's threaded server
(real HTTP, real boto3) through the fault proxy (faultproxy.py), which slows every answer down to
model a slow network path, or drops the requests for the lease object.

* Two applies of *different* changes started together: the later one (planned before the first one
  changed anything) waits for the lease with a visible message, then re-reads live state under the
  lease and refuses its now-stale plan — it never reverts the first run's change.
* ``modeldeploy apply`` as a real subprocess, sent SIGTERM (or SIGINT) mid-apply: it stops at the
  next safe point, releases the lease, says what was done and what was not, exits 143 (130), leaves
  no temporary model.tar.gz, and a re-run converges.
* A lease left by a process that is gone (this host, a dead pid) is shown by ``plan --against live``
  in text, markdown and JSON and cleared by the next run — a converged re-run says so.
* The network failing on the way to the lease is one clean error line and exit 1.
* A multipart upload left incomplete by a stopped run is aborted by the next run and by destroy,
  and only the deployment's own (under its key prefix).
"""

from __future__ import annotations

import getpass
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modeldeploy import applier as rollout
from modeldeploy.errors import PlanError
from modeldeploy.lease import LeaseRecord, LeaseSettings
from modeldeploy.progress import Progress
from modeldeploy.targets.sagemaker.lease import S3LeaseBackend
from tests.faults.test_faults_sagemaker import DEPLOY, LEASE, World, world  # noqa: F401  (the fixture)
from tests.integration.sagemaker.test_sagemaker_lifecycle import BUCKET, REGION

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
LEASE_KEY = "modeldeploy/iris/.modeldeploy-lease.json"


def _scaled(world: World, version: str, max_replicas: int) -> Any:
    """The deployment of ``version`` with another scaling maximum (a change that is not the model)."""
    import dataclasses

    from modeldeploy import api
    from modeldeploy.targets.sagemaker.target import SageMakerTargetImpl

    folder = world.root / f"deploy-{version}-max{max_replicas}"
    folder.mkdir(exist_ok=True)
    text = DEPLOY.format(source=world.models[version], region=REGION, bucket=BUCKET)
    (folder / "deploy.yaml").write_text(text.replace("max_replicas: 3", f"max_replicas: {max_replicas}"))
    dep = api.load(folder / "deploy.yaml")
    return dataclasses.replace(dep, target=SageMakerTargetImpl(poll_seconds=0.01, timeout_seconds=30))


def _lease_objects(world: World) -> list[str]:
    keys = [o["Key"] for o in world.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return [k for k in keys if k.endswith(".modeldeploy-lease.json")]


def test_a_second_apply_of_another_change_waits_then_refuses_its_stale_plan(world: World) -> None:
    world.reset()
    world.apply("v1")
    model_change, scale_change = world.deployment("v2"), _scaled(world, "v1", 5)
    plan_a, result_a = world.plan(model_change)
    plan_b, result_b = world.plan(scale_change)  # both planned against v1, before either applies
    assert plan_a.has_changes and plan_b.has_changes
    inside, go = threading.Event(), threading.Event()
    real = model_change.target.apply

    def slow(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert go.wait(30)
        return real(*args, **kwargs)

    model_change.target.apply = slow  # type: ignore[method-assign]
    first = threading.Thread(
        target=lambda: rollout.apply(
            model_change, plan_a, result=result_a, progress=Progress(io.StringIO()), lease=LEASE
        )
    )
    first.start()
    assert inside.wait(30)
    threading.Timer(0.5, go.set).start()  # the first run finishes while the second one waits
    progress = Progress(io.StringIO())
    with pytest.raises(PlanError) as info:
        rollout.apply(
            scale_change, plan_b, result=result_b, progress=progress, lease=LeaseSettings(seconds=30, wait=20)
        )
    first.join(30)
    waiting = [e for e in progress.events if "waiting for the lease held by" in e]
    assert waiting and "(since 20" in waiting[0] and "--lease-wait" in waiting[0], progress.events
    assert "state changed since this plan was made" in info.value.message, info.value.message
    # The first run's change stands: the deployment is exactly v2 (v1 kept for rollback), nothing reverted.
    assert world.pending("v2") == {} and world.inventory() == world.expected(["v1", "v2"])
    assert _lease_objects(world) == []


def test_a_second_apply_without_lease_wait_stops_at_once_naming_the_holder(world: World) -> None:
    from modeldeploy.lease import LeaseHeld

    world.reset()
    backend = S3LeaseBackend(world.s3, BUCKET, LEASE_KEY)
    now = time.time()
    backend.create(LeaseRecord("alice@elsewhere:7:abcdef", "apply", now, now, now + 60))
    started = time.monotonic()
    with pytest.raises(LeaseHeld, match=r"being applied by alice@elsewhere:7:abcdef since") as info:
        world.apply("v1")
    assert time.monotonic() - started < 10
    assert "--lease-wait" in (info.value.hint or "")
    assert world.inventory()["models"] == []


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modeldeploy", *args],
        capture_output=True,
        text=True,
        env=env or _env(),
        timeout=timeout,
        cwd=REPO,
    )


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)  # the world fixture points AWS_ENDPOINT_URL at the proxy
    env["PYTHONPATH"] = str(REPO)
    env.pop("MODELDEPLOY_DEBUG", None)
    env.update(extra)
    return env


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_apply_stops_safely_releases_the_lease_and_a_rerun_converges(
    world: World, tmp_path: Path, signum: int
) -> None:
    world.reset()
    world.apply("v1")
    deploy = world.root / "deploy-v2" / "deploy.yaml"
    world.deployment("v2")  # writes deploy-v2/deploy.yaml
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    world.proxy.faults.reset(delay=0.3)  # a slow network path: every answer 0.3 s late
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modeldeploy",
            "apply",
            str(deploy),
            "--against",
            "live",
            "--auto-approve",
            "--lease-seconds",
            "60",
        ],
        cwd=REPO,
        env=_env(TMPDIR=str(tmpdir)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if "uploading model.tar.gz" in line:
            assert _lease_objects(world) == [LEASE_KEY]  # held while applying
            proc.send_signal(signum)
            break
    rest, _ = proc.communicate(timeout=120)[1], None
    err = "".join(lines) + rest
    world.proxy.faults.reset()
    assert proc.returncode == 128 + signum, err
    name = signal.Signals(signum).name
    assert f"{name} received: stopping at the next safe point" in err, err
    assert f"{name}: stopped while applying iris" in err, err
    assert "  done: uploaded s3://" in err, err  # the call in flight finished...
    assert "  may remain: replace sagemaker_model.iris" in err, err  # ...and nothing after it started
    assert "  may remain: update sagemaker_endpoint.iris" in err, err
    assert "Traceback" not in err and "internal error" not in err, err
    assert _lease_objects(world) == []  # released
    assert list(tmpdir.glob("modeldeploy-*.tar.gz")) == []  # the temporary archive is gone
    assert world.sm.list_models()["Models"] and len(world.sm.list_models()["Models"]) == 1  # v2's model not created
    again = _cli("apply", str(deploy), "--against", "live", "--auto-approve")
    assert again.returncode == 0, again.stderr
    assert "already uploaded (same model digest)" in again.stderr, again.stderr
    assert world.pending("v2") == {} and world.inventory() == world.expected(["v1", "v2"])


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_lease_of_a_dead_process_is_shown_by_plan_and_cleared_by_a_converged_rerun(world: World) -> None:
    world.reset()
    world.apply("v1")
    deploy = str(world.root / "deploy-v1" / "deploy.yaml")
    holder = f"{getpass.getuser()}@{socket.gethostname()}:{_dead_pid()}:abcdef"
    now = time.time()
    S3LeaseBackend(world.s3, BUCKET, LEASE_KEY).create(LeaseRecord(holder, "apply", now - 5, now - 5, now + 300))

    text = _cli("plan", deploy, "--against", "live")
    assert f"lease: held by {holder} (apply) since" in text.stdout, text.stdout + text.stderr
    assert "stale: process" in text.stdout and "is not running" in text.stdout, text.stdout
    md = _cli("plan", deploy, "--against", "live", "--format", "markdown")
    assert f"lease: held by {holder}" in md.stdout, md.stdout + md.stderr
    js = _cli("plan", deploy, "--against", "live", "--format", "json")
    lease = json.loads(js.stdout)["plans"][0]["lease"]
    assert lease["holder"] == holder and lease["expired"] is False and "is not running" in lease["gone"]
    assert lease["where"] == f"s3://{BUCKET}/{LEASE_KEY}"

    rerun = _cli("apply", deploy, "--against", "live", "--auto-approve")
    assert rerun.returncode == 0, rerun.stderr
    assert "No changes" in rerun.stderr and f"cleared the stale lease of {holder}" in rerun.stderr, rerun.stderr
    assert _lease_objects(world) == []
    clean = _cli("plan", deploy, "--against", "live", "--format", "json")
    assert "lease" not in json.loads(clean.stdout)["plans"][0]


def test_a_lease_of_a_live_holder_stays_after_a_converged_rerun(world: World) -> None:
    world.reset()
    world.apply("v1")
    deploy = str(world.root / "deploy-v1" / "deploy.yaml")
    now = time.time()
    S3LeaseBackend(world.s3, BUCKET, LEASE_KEY).create(
        LeaseRecord("bob@other-host:9:abcdef", "apply", now, now, now + 300)
    )
    rerun = _cli("apply", deploy, "--against", "live", "--auto-approve")
    assert rerun.returncode == 0 and "No changes" in rerun.stderr and "cleared" not in rerun.stderr, rerun.stderr
    assert _lease_objects(world) == [LEASE_KEY]  # not provably gone, not expired: only --steal-lease after expiry


def test_an_apply_takes_over_the_lease_of_a_dead_process_without_steal(world: World) -> None:
    world.reset()
    holder = f"{getpass.getuser()}@{socket.gethostname()}:{_dead_pid()}:abcdef"
    now = time.time()
    S3LeaseBackend(world.s3, BUCKET, LEASE_KEY).create(LeaseRecord(holder, "apply", now, now, now + 300))
    progress = Progress(io.StringIO())
    dep = world.deployment("v1")
    plan, result = world.plan(dep)
    rollout.apply(dep, plan, result=result, progress=progress, lease=LEASE)
    assert any(f"cleared the stale lease of {holder}" in e and "is not running" in e for e in progress.events)
    assert world.inventory() == world.expected(["v1"])


def test_a_network_error_on_the_way_to_the_lease_is_one_clean_line(world: World) -> None:
    world.reset()
    world.apply("v1")
    deploy = str(world.root / "deploy-v2" / "deploy.yaml")
    world.deployment("v2")
    world.proxy.faults.reset(matching={".modeldeploy-lease.json": "drop"})  # every lease request: connection closed
    try:
        out = _cli(
            "apply",
            deploy,
            "--against",
            "live",
            "--auto-approve",
            env=_env(AWS_MAX_ATTEMPTS="2", AWS_RETRY_MODE="standard"),
        )
    finally:
        world.proxy.faults.reset()
    assert out.returncode == 1, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith(("error:", "hint:"))]
    assert lines and lines[0].startswith("error: ") and "s3://" in lines[0] and ".modeldeploy-lease.json" in lines[0], (
        out.stderr
    )
    assert any(line.startswith("hint: ") for line in lines), out.stderr
    assert "internal error" not in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert world.pending("v2")  # nothing was changed


def _multipart(world: World, key: str) -> str:
    upload = world.s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    world.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024)
    return upload["UploadId"]


def _incomplete(world: World) -> list[str]:
    return sorted(u["Key"] for u in world.s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def test_incomplete_uploads_of_a_stopped_run_are_aborted_by_the_next_run_and_by_destroy(world: World) -> None:
    world.reset()
    mine = "modeldeploy/iris/sha256-deadbeef/model.tar.gz"
    other = "modeldeploy/iris-two/sha256-deadbeef/model.tar.gz"  # another deployment's: left alone
    _multipart(world, mine)
    _multipart(world, other)
    progress = Progress(io.StringIO())
    dep = world.deployment("v1")
    plan, result = world.plan(dep)
    rollout.apply(dep, plan, result=result, progress=progress, lease=LEASE)
    assert _incomplete(world) == [other]
    assert any(f"aborted an incomplete upload of s3://{BUCKET}/{mine}" in e for e in progress.events), progress.events
    _multipart(world, mine)
    rollout.destroy(world.deployment("v1"), against="live", progress=Progress(io.StringIO()), lease=LEASE)
    assert _incomplete(world) == [other]


def test_a_failed_upload_aborts_its_parts_and_removes_the_temporary_archive(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    from modeldeploy.errors import ApplyError

    world.reset()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dep = world.deployment("v1")
    plan, result = world.plan(dep)
    s3 = dep.target.clients.get("s3", REGION)
    started: list[str] = []

    def broken_upload(client: Any, filename: str, bucket: str, key: str, **kwargs: Any) -> None:
        started.append(_multipart(world, key))  # the parts reached S3, then the connection died
        assert list(tmp_path.glob("modeldeploy-*.tar.gz")) != []
        raise KeyboardInterrupt() if len(started) == 2 else OSError("connection reset by peer")

    monkeypatch.setattr(type(s3), "upload_file", broken_upload, raising=False)
    for expected in (ApplyError, KeyboardInterrupt):
        with pytest.raises(expected):
            rollout.apply(dep, plan, result=result, progress=Progress(io.StringIO()), lease=LEASE)
        assert _incomplete(world) == []
        assert list(tmp_path.glob("modeldeploy-*.tar.gz")) == []
        assert _lease_objects(world) == []
