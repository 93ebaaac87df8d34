"""The lease protocol (modeldeploy.lease) over the lock-file backend, and the folder apply/destroy
that holds it: one holder at a time across threads and processes, the busy message, expiry and
stealing, renewal, and release after success, error and Ctrl-C.

The cloud backends (S3 conditional writes, Kubernetes Lease objects) run the same protocol against
moto's server and the fake API server in test_faults_sagemaker.py / test_faults_kubernetes.py.
"""

from __future__ import annotations

import io
import multiprocessing
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.filelease import FileLeaseBackend, folder_lease_path
from modeldeploy.lease import Lease, LeaseHeld, LeaseRecord, LeaseSettings

BUSY = re.compile(
    r"^iris is being applied by (?P<holder>\S+) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ "
    r"\(lease expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\); wait, or pass --steal-lease after it expires$"
)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_one_holder_then_a_clear_busy_message(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    clock = Clock()
    first = Lease(backend, "iris", LeaseSettings(60), holder="alice@ci:1:aa", clock=clock)
    first.acquire()
    second = Lease(backend, "iris", LeaseSettings(60), holder="bob@laptop:2:bb", clock=clock)
    with pytest.raises(LeaseHeld) as info:
        second.acquire()
    m = BUSY.match(info.value.message)
    assert m and m.group("holder") == "alice@ci:1:aa", info.value.message
    assert "since 2023-11-14T22:13:20Z (lease expires 2023-11-14T22:14:20Z)" in info.value.message
    first.release()
    assert not (tmp_path / "lease").exists()
    second.acquire()
    second.release()


def test_expired_lease_needs_steal_and_steal_needs_expiry(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    clock = Clock()
    dead = Lease(backend, "iris", LeaseSettings(60), holder="dead@ci:1:aa", clock=clock)
    dead.acquire()  # ...and the process was killed: never released
    eager = Lease(backend, "iris", LeaseSettings(60, steal=True), holder="eager@ci:2:bb", clock=clock)
    with pytest.raises(LeaseHeld, match="being applied by dead@ci:1:aa"):
        eager.acquire()  # not expired: stealing refused even with --steal-lease
    clock.now += 61
    patient = Lease(backend, "iris", LeaseSettings(60), holder="patient@ci:3:cc", clock=clock)
    with pytest.raises(LeaseHeld, match=r"lease held by dead@ci:1:aa since .* expired at .*; pass --steal-lease"):
        patient.acquire()
    warnings: list[str] = []
    thief = Lease(
        backend, "iris", LeaseSettings(60, steal=True), holder="thief@ci:4:dd", clock=clock, warn=warnings.append
    )
    thief.acquire()
    assert LeaseRecord.from_json((tmp_path / "lease").read_text()).holder == "thief@ci:4:dd"
    assert warnings and "took over the expired lease of dead@ci:1:aa" in warnings[0]
    dead.release()  # the old holder wakes up: its release must not remove the thief's lease
    assert LeaseRecord.from_json((tmp_path / "lease").read_text()).holder == "thief@ci:4:dd"
    assert dead.renew() is False or dead.record is None
    thief.release()
    assert not (tmp_path / "lease").exists()


def test_renewal_moves_expiry_and_detects_a_stolen_lease(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    clock = Clock()
    mine = Lease(backend, "iris", LeaseSettings(30), holder="me@ci:1:aa", clock=clock)
    mine.acquire()
    clock.now += 20
    assert mine.renew()
    assert LeaseRecord.from_json((tmp_path / "lease").read_text()).expires == clock.now + 30
    clock.now += 31  # missed renewals (a paused VM): someone steals it
    Lease(backend, "iris", LeaseSettings(30, steal=True), holder="other@ci:2:bb", clock=clock).acquire()
    warnings: list[str] = []
    mine.warn = warnings.append
    assert mine.renew() is False and mine.lost == "other@ci:2:bb"
    assert "lost the lease of iris to other@ci:2:bb" in warnings[0]


def test_background_renewal_keeps_a_long_apply_leased(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    with Lease(backend, "iris", LeaseSettings(0.3), holder="me@ci:1:aa") as lease:
        first = lease.record.expires
        time.sleep(0.5)  # longer than the lease: only renewal keeps it valid
        assert LeaseRecord.from_json((tmp_path / "lease").read_text()).expires > first
        with pytest.raises(LeaseHeld):
            Lease(backend, "iris", LeaseSettings(0.3, steal=True), holder="x@ci:2:bb").acquire()
    assert not (tmp_path / "lease").exists()


class LostAnswer:
    """A backend whose first create/replace succeeds but whose answer is lost (as after a dropped
    connection that the SDK retried: the retry fails its precondition)."""

    def __init__(self, inner: FileLeaseBackend) -> None:
        self.inner, self.where = inner, inner.where
        self.lost = {"create", "replace"}

    def read(self) -> Any:
        return self.inner.read()

    def create(self, record: LeaseRecord) -> Any:
        token = self.inner.create(record)
        return None if self.lost and self.lost.discard("create") is None and token else token

    def replace(self, record: LeaseRecord, token: Any) -> Any:
        new = self.inner.replace(record, token)
        return None if "replace" in self.lost and not self.lost.discard("replace") and new else new

    def delete(self, token: Any) -> bool:
        return self.inner.delete(token)


def test_own_write_with_a_lost_answer_is_recognised(tmp_path: Path) -> None:
    backend = LostAnswer(FileLeaseBackend(tmp_path / "lease"))
    lease = Lease(backend, "iris", LeaseSettings(60), holder="me@ci:1:aa")
    lease.acquire()  # create's answer lost → read back → our holder id → ours
    assert lease.record is not None and lease.token is not None
    assert lease.renew() and lease.lost is None  # same for a renewal
    lease.release()
    assert not (tmp_path / "lease").exists()


def test_threads_race_and_exactly_one_wins(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    barrier = threading.Barrier(12)
    won: list[str] = []
    refused: list[str] = []

    def contender(i: int) -> None:
        lease = Lease(backend, "iris", LeaseSettings(60), holder=f"t{i}@ci:1:{i:02x}")
        barrier.wait()
        try:
            lease.acquire()
            won.append(lease.holder)
        except LeaseHeld as exc:
            refused.append(exc.message)

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(refused) == 11
    assert all(BUSY.match(m) and won[0] in m for m in refused)


def _acquire_in_process(path: str, i: int, start: Any, out: Any) -> None:
    lease = Lease(FileLeaseBackend(Path(path)), "iris", LeaseSettings(60), holder=f"p{i}@ci:{i}:00")
    start.wait()
    try:
        lease.acquire()
        out.put(("won", lease.holder))
    except LeaseHeld as exc:
        out.put(("refused", exc.message))


def test_processes_race_and_exactly_one_wins(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_acquire_in_process, args=(str(tmp_path / "lease"), i, start, out)) for i in range(6)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert sorted(r[0] for r in results) == ["refused"] * 5 + ["won"]


# -- the folder apply/destroy holds the lease ---------------------------------------------------------


@pytest.fixture
def deployment(tmp_path: Path) -> Any:
    from modeldeploy import api
    from tests.unit.targets.sagemaker.sm_helpers import write_model

    write_model(tmp_path / "model")
    (tmp_path / "deploy.yaml").write_text(
        "apiVersion: modeldeploy/v1\nname: iris\nmodel:\n  source: ./model\ntarget:\n  kind: kubernetes\n  namespace: models\n"
    )
    return api.load(tmp_path / "deploy.yaml")


def _plan(dep: Any, folder: Path) -> Any:
    from modeldeploy import api

    return api.plan(dep, f"dir:{folder}")


def test_folder_apply_refuses_while_leased_and_releases_after_success(deployment: Any, tmp_path: Path) -> None:
    from modeldeploy import applier as rollout
    from modeldeploy.progress import Progress

    out = tmp_path / "rendered"
    lock = folder_lease_path(out, "iris")
    other = Lease(FileLeaseBackend(lock), "iris", LeaseSettings(60), holder="ci@runner:7:ab")
    other.acquire()
    plan, result = _plan(deployment, out)
    with pytest.raises(LeaseHeld) as info:
        rollout.apply(deployment, plan, result=result, progress=Progress(io.StringIO()))
    assert BUSY.match(info.value.message) and "ci@runner:7:ab" in info.value.message
    assert not (out / "iris").exists()  # nothing written while someone else holds it
    other.release()
    rollout.apply(deployment, plan, result=result, progress=Progress(io.StringIO()))
    assert (out / "iris" / "k8s").is_dir() and not lock.exists()
    rollout.destroy(deployment, against=f"dir:{out}", progress=Progress(io.StringIO()))
    assert not (out / "iris").exists() and not lock.exists()


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_folder_apply_releases_the_lease_when_it_fails(
    deployment: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    from modeldeploy import applier as rollout
    from modeldeploy.progress import Progress

    out = tmp_path / "rendered"
    out.mkdir()  # --against DIR must exist (empty: nothing deployed)
    plan, result = _plan(deployment, out)
    seen: list[bool] = []

    def failing_write(folder: Path, artifacts: Any, **kw: Any) -> Any:
        seen.append(folder_lease_path(out, "iris").exists())  # held while writing
        raise failure

    monkeypatch.setattr(rollout, "write_tree", failing_write)
    with pytest.raises(type(failure)):
        rollout.apply(deployment, plan, result=result, progress=Progress(io.StringIO()))
    assert seen == [True]
    assert not folder_lease_path(out, "iris").exists()


def test_cli_prints_the_busy_message_and_steals_an_expired_lease(deployment: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "rendered"
    lock = folder_lease_path(out, "iris")
    lock.parent.mkdir(parents=True)
    now = time.time()
    lock.write_text(LeaseRecord("ci@runner:7:ab", "apply", now - 10, now - 10, now + 600).to_json())

    def md(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modeldeploy", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    r = md("apply", "deploy.yaml", "--against", str(out), "--auto-approve")
    assert r.returncode == 1, r.stderr
    assert re.search(
        r"^error: iris is being applied by ci@runner:7:ab since \S+ \(lease expires \S+\); "
        r"wait, or pass --steal-lease after it expires \[MD702\]$",
        r.stderr,
        re.M,
    ), r.stderr
    lock.write_text(LeaseRecord("ci@runner:7:ab", "apply", now - 700, now - 700, now - 100).to_json())
    r = md("apply", "deploy.yaml", "--against", str(out), "--auto-approve")
    assert r.returncode == 1 and "pass --steal-lease to take it over" in r.stderr, r.stderr
    r = md("apply", "deploy.yaml", "--against", str(out), "--auto-approve", "--steal-lease")
    assert r.returncode == 0, r.stderr
    assert "took over the expired lease of ci@runner:7:ab" in r.stderr
    assert (out / "iris" / "k8s").is_dir() and not lock.exists()
    r = md("destroy", "deploy.yaml", "--against", str(out), "--auto-approve", "--lease-seconds", "0")
    assert r.returncode == 0, r.stderr


def test_lease_wait_says_whom_it_waits_for_and_is_bounded(tmp_path: Path) -> None:
    backend = FileLeaseBackend(tmp_path / "lease")
    clock = Clock()
    holder = Lease(backend, "iris", LeaseSettings(60), holder="alice@ci:1:aa", clock=clock)
    holder.acquire()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        if sum(slept) >= 5:
            holder.release()  # the first run finishes after about 5 s

    warnings: list[str] = []
    patient = Lease(
        backend,
        "iris",
        LeaseSettings(60, wait=30),
        holder="bob@ci:2:bb",
        clock=clock,
        warn=warnings.append,
        sleep=sleep,
    )
    patient.acquire()
    assert warnings == [
        "waiting for the lease held by alice@ci:1:aa (since 2023-11-14T22:13:20Z) — up to 30s (--lease-wait)"
    ]
    assert 5 <= sum(slept) < 8 and LeaseRecord.from_json((tmp_path / "lease").read_text()).holder == "bob@ci:2:bb"
    patient.release()

    holder.acquire()
    slept.clear()
    impatient = Lease(
        backend,
        "iris",
        LeaseSettings(60, wait=3),
        holder="carol@ci:3:cc",
        clock=clock,
        sleep=lambda s: slept.append(s) or setattr(clock, "now", clock.now + s),
    )
    with pytest.raises(LeaseHeld, match=r"being applied by alice@ci:1:aa .* \(waited 3s with --lease-wait\)$"):
        impatient.acquire()
    assert sum(slept) == pytest.approx(3)
