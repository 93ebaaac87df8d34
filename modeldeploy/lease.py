"""Leases: one apply (or destroy) of a deployment at a time.

A lease is a small record kept *on the target* — a Kubernetes ``coordination.k8s.io/v1`` Lease, an S3
object written with a conditional put, a lock file beside a render folder (``filelease.py``) — naming its holder
(``user@host:pid:random``), when it was taken and when it expires. apply/destroy take it before the
first change, renew it in a background thread while they run (every third of its duration), and
release it in ``finally`` — after success, after an error, after SIGINT and SIGTERM. A second apply of
the same deployment meanwhile waits up to ``--lease-wait`` seconds (saying whom it waits for), then
stops with a message naming the holder and the expiry. A lease whose holder is provably gone (it
ran on this host and its pid is not running) is taken over at once, and a run that finds the
deployment converged clears it (and an expired one) too. Any other lease left behind stays until it
expires; after that ``--steal-lease`` takes it over (a compare-and-set replace, so two stealers cannot
both win). Stealing a lease that has not expired is refused: an unexpired lease means its holder
renewed it recently.

Each backend offers four compare-and-set operations (see :class:`LeaseBackend`); everything else —
expiry, stealing, recognising our own retried write, renewal — is here, once.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from modeldeploy.errors import TargetError
from modeldeploy.interrupt import sleep as interruptible_sleep

DEFAULT_SECONDS = 300.0
STEAL_HINT = "wait, or pass --steal-lease after it expires"


class LeaseHeld(TargetError):
    """Another run holds this deployment's lease (``record``: its lease, when read)."""

    code = "MD702"
    record: LeaseRecord | None = None


@dataclass(frozen=True)
class LeaseSettings:
    """CLI flags: ``seconds`` is the lease duration (0 turns leasing off); ``steal`` takes over an
    expired lease; ``wait`` is how long to wait for another run's lease before giving up."""

    seconds: float = DEFAULT_SECONDS
    steal: bool = False
    wait: float = 0.0  # --lease-wait: how long to wait for a held lease (0: fail at once)

    @property
    def enabled(self) -> bool:
        return self.seconds > 0


@dataclass(frozen=True)
class LeaseRecord:
    holder: str
    operation: str
    acquired: float  # epoch seconds
    renewed: float
    expires: float

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> LeaseRecord:
        data = json.loads(text)
        return cls(
            str(data["holder"]),
            str(data.get("operation", "apply")),
            float(data["acquired"]),
            float(data["renewed"]),
            float(data["expires"]),
        )


class LeaseBackend(Protocol):
    """Where a lease lives. ``token`` is the store's version marker (resourceVersion, ETag, file
    content); writes with a stale token must fail rather than overwrite."""

    where: str  # for messages: "Lease models/iris-modeldeploy", "s3://bucket/key"

    def read(self) -> tuple[LeaseRecord, Any] | None: ...
    def create(self, record: LeaseRecord) -> Any | None: ...  # token, or None when one exists
    def replace(self, record: LeaseRecord, token: Any) -> Any | None: ...  # new token, or None on conflict
    def delete(self, token: Any) -> bool: ...  # False when it changed or is gone


def holder_id() -> str:
    """``user@host:pid:random`` — unique per run, readable in the busy message."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def holder_gone(holder: str) -> str | None:
    """Why ``holder``'s process is provably gone — it ran on this host and its pid is not running
    — or None when that cannot be proved (another host, a live pid, an unreadable id)."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or "@" not in parts[0]:
        return None
    host = parts[0].rsplit("@", 1)[1]
    try:
        pid = int(parts[1])
    except ValueError:
        return None
    if host != socket.gethostname() or pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"process {pid} on this host ({host}) is not running"
    except (PermissionError, OSError):
        return None  # exists (someone else's process), or we cannot tell
    return None


def describe(record: LeaseRecord, now: float | None = None) -> str:
    """``held by X (apply) since T, expires E`` for plans and messages."""
    now = time.time() if now is None else now
    state = "expired" if record.expires <= now else "expires"
    return f"held by {record.holder} ({record.operation}) since {iso(record.acquired)}, {state} {iso(record.expires)}"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Lease:
    """Acquire/renew/release one deployment's lease through a backend.

    ``with lease:`` acquires, keeps it renewed from a daemon thread and releases on exit whatever
    the exit (exception, KeyboardInterrupt). ``clock`` is injectable for tests.
    """

    def __init__(
        self,
        backend: LeaseBackend,
        name: str,
        settings: LeaseSettings = LeaseSettings(),
        *,
        operation: str = "apply",
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
        warn: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
    ):
        self.backend = backend
        self.name = name
        self.settings = settings
        self.operation = operation
        self.holder = holder or holder_id()
        self.clock = clock
        self.warn = warn or (lambda message: None)
        self.sleep: Callable[[float], None] = sleep or interruptible_sleep  # wakes for SIGINT/SIGTERM
        self.record: LeaseRecord | None = None
        self.token: Any = None
        self.lost: str | None = None  # set when a renewal finds someone else holding it
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the protocol --

    def _new(self, acquired: float | None = None) -> LeaseRecord:
        now = self.clock()
        return LeaseRecord(self.holder, self.operation, acquired or now, now, now + self.settings.seconds)

    def acquire(self) -> None:
        """Take the lease; wait up to ``settings.wait`` seconds for a live holder (saying so once),
        take over the lease of a holder that is provably gone, and fail naming the holder otherwise."""
        deadline = self.clock() + max(self.settings.wait, 0.0)
        waiting = False
        while True:
            held = self._try_acquire()
            if held is None:
                return
            left = deadline - self.clock()
            if left <= 0:
                if waiting:
                    raise LeaseHeld(
                        f"{held.message} (waited {self.settings.wait:g}s with --lease-wait)", hint=held.hint
                    )
                raise held
            if not waiting and held.record is not None:
                theirs = held.record
                self.warn(
                    f"waiting for the lease held by {theirs.holder} (since {iso(theirs.acquired)}) — "
                    f"up to {self.settings.wait:g}s (--lease-wait)"
                )
                waiting = True
            self.sleep(min(left, max(min(self.settings.seconds / 10.0, 2.0), 0.05)))

    def _try_acquire(self) -> LeaseHeld | None:
        """One attempt: None when the lease is ours now, else the error naming its live holder."""
        for _ in range(5):  # each round loses at most one race with another run
            mine = self._new()
            token = self.backend.create(mine)
            if token is not None:
                self.record, self.token = mine, token
                return None
            found = self.backend.read()
            if found is None:
                continue  # released between our create and read: try again
            theirs, token = found
            if theirs.holder == self.holder:  # our own create, retried after a dropped answer
                self.record, self.token = theirs, token
                return None
            gone = holder_gone(theirs.holder)
            if gone is None and theirs.expires > self.clock():
                held = LeaseHeld(
                    f"{self.name} is being {_verb(theirs.operation)} by {theirs.holder} since {iso(theirs.acquired)} "
                    f"(lease expires {iso(theirs.expires)}); {STEAL_HINT}",
                    hint=f"the lease is {self.backend.where}; --lease-wait SECONDS waits for it",
                )
                held.record = theirs
                return held
            if gone is None and not self.settings.steal:
                raise LeaseHeld(
                    f"{self.name}: the lease held by {theirs.holder} since {iso(theirs.acquired)} expired at "
                    f"{iso(theirs.expires)} (that run probably died); pass --steal-lease to take it over",
                    hint=f"the lease is {self.backend.where}; check that {theirs.holder} is not still running",
                )
            new_token = self.backend.replace(mine, token)
            if new_token is not None:
                if gone is not None:
                    self.warn(f"cleared the stale lease of {theirs.holder}: {gone}")
                else:
                    self.warn(f"took over the expired lease of {theirs.holder} (expired {iso(theirs.expires)})")
                self.record, self.token = mine, new_token
                return None
        raise LeaseHeld(f"{self.name}: could not take the lease at {self.backend.where}: other runs keep changing it")

    def renew(self) -> bool:
        """Push the expiry forward; False (and ``lost`` set) when someone else holds it now."""
        with self._lock:
            if self.record is None or self.lost:
                return False
            mine = self._new(self.record.acquired)
            token = self.backend.replace(mine, self.token)
            if token is None:
                found = self.backend.read()
                if found is None or found[0].holder != self.holder:
                    self.lost = found[0].holder if found else "nobody (it was deleted)"
                    self.warn(f"lost the lease of {self.name} to {self.lost}; finishing this step but not renewing")
                    return False
                mine, token = found  # our own replace, retried after a dropped answer
            self.record, self.token = mine, token
            return True

    def release(self) -> None:
        """Delete the lease if it is still ours (a failed call leaves it held, so it can be retried)."""
        with self._lock:
            if self.record is None:
                return
            if self.lost is None and not self.backend.delete(self.token):
                found = self.backend.read()
                if found is not None and found[0].holder == self.holder:
                    self.backend.delete(found[1])
            self.record = self.token = None

    # -- context manager with renewal --

    def __enter__(self) -> Lease:
        self.acquire()
        interval = max(self.settings.seconds / 3.0, 0.05)
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._renew_loop, args=(interval,), daemon=True, name=f"modeldeploy-lease-{self.name}"
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            try:
                self.release()
            except KeyboardInterrupt:
                # Ctrl-C landed on the release call itself: finish it (one call), then stop. A second
                # Ctrl-C leaves the lease to expire.
                self.warn(f"interrupted while releasing the lease of {self.name}; releasing it before stopping")
                self.release()
                raise
        except Exception as err:  # never hide the apply's own outcome behind a release problem
            self.warn(
                f"could not release the lease of {self.name} at {self.backend.where}: {err}; "
                f"it expires at {iso(self.record.expires) if self.record else 'its expiry'}"
            )

    def _renew_loop(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                if not self.renew():
                    return
            except Exception as err:  # transient trouble: the next tick tries again before expiry
                self.warn(f"renewing the lease of {self.name} failed: {err}")


def clear_if_gone(
    backend: LeaseBackend, *, expired_too: bool = False, clock: Callable[[], float] = time.time
) -> str | None:
    """Delete a lease left by a run that is provably gone (same host, dead pid) — or, with
    ``expired_too`` (the caller just found live state converged), one that expired; return what was
    cleared and why, or None. A compare-and-set delete: a lease renewed meanwhile stays."""
    found = backend.read()
    if found is None:
        return None
    theirs, token = found
    why = holder_gone(theirs.holder)
    if why is None and expired_too and theirs.expires <= clock():
        why = f"it expired at {iso(theirs.expires)} and the deployment has converged"
    if why is None or not backend.delete(token):
        return None
    return f"cleared the stale lease of {theirs.holder} at {backend.where}: {why}"


def _verb(operation: str) -> str:
    return {"apply": "applied", "destroy": "destroyed"}.get(operation, operation)
