"""Fixtures for the Kubernetes target's live tests.

By default every test runs the real ``kubernetes`` client against :mod:`fakeapi` (an in-process HTTP
server on 127.0.0.1). Set ``MODELDEPLOY_K8S_KUBECONFIG`` to a kubeconfig (e.g. a kind cluster's) to
run the tests that need no status driving against that cluster instead; they use the namespace in
``MODELDEPLOY_K8S_NAMESPACE`` (default ``modeldeploy-test``, which must exist) and do not wait for
rollouts (no serving image is available there). Tests that drive rollouts, failures or API errors
from the fake are skipped in that mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modeldeploy.planning.options import ObserveOptions
from tests.integration.kubernetes.fakeapi import FakeApiServer, FakeCluster

REAL_KUBECONFIG = os.environ.get("MODELDEPLOY_K8S_KUBECONFIG")
REAL_NAMESPACE = os.environ.get("MODELDEPLOY_K8S_NAMESPACE", "modeldeploy-test")


@dataclass
class Cluster:
    fake: FakeCluster | None  # None against a real cluster
    kubeconfig: str
    namespace: str

    def options(self, **extra: Any) -> ObserveOptions:
        base: dict[str, Any] = {"kubeconfig": self.kubeconfig, "poll_seconds": 0.01 if self.fake else 1.0}
        if self.fake is None:
            base["wait"] = False
        base.update(extra)
        timeout = base.pop("timeout", 5.0 if self.fake else 120.0)
        return ObserveOptions(timeout_seconds=timeout, extra=base)

    def need_fake(self) -> FakeCluster:
        if self.fake is None:
            pytest.skip("drives object status from the fake API server; not possible against a real cluster")
        return self.fake


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    if REAL_KUBECONFIG:
        _clean_real(REAL_KUBECONFIG, REAL_NAMESPACE)
        yield Cluster(None, REAL_KUBECONFIG, REAL_NAMESPACE)
        _clean_real(REAL_KUBECONFIG, REAL_NAMESPACE)
        return
    with FakeApiServer() as server:
        yield Cluster(server.cluster, server.kubeconfig(tmp_path / "kubeconfig"), "models")


def _clean_real(kubeconfig: str, namespace: str) -> None:
    """Delete what the tests' deployment ("iris") left in the real cluster: its ApplySet only."""
    from modeldeploy.targets.kubernetes import meta
    from modeldeploy.targets.kubernetes.api import MEMBER_KINDS, connect
    from modeldeploy.targets.kubernetes.rollout import wait_gone

    api = connect(None, kubeconfig)
    parent = meta.parent_name("iris")
    set_id = meta.applyset_id(parent, namespace)
    doomed = [
        (kind, o["metadata"]["name"])
        for kind in MEMBER_KINDS
        for o in api.list(kind, namespace, label_selector=f"{meta.APPLYSET_PART_OF}={set_id}")
    ]
    p = api.get("configmap", namespace, parent)
    if p is not None and (p["metadata"].get("labels") or {}).get(meta.APPLYSET_ID) == set_id:
        doomed.append(("configmap", parent))
    for kind, name in doomed:
        api.delete(kind, namespace, name)
    for kind, name in doomed:
        wait_gone(api, kind, namespace, name, timeout=120, poll=1)
