"""A small, generic slice of the Kubernetes REST API over the official ``kubernetes`` client.

Every call goes through ``kubernetes.client.ApiClient`` (its kubeconfig/in-cluster auth, TLS, proxies
and ``ApiException``), addressed by explicit paths from :data:`KINDS` so that one code path serves
built-in kinds and the InferenceService CRD alike, without API discovery. The client package is
imported inside :func:`connect` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from modeldeploy.errors import MissingDependencyError, TargetError
from modeldeploy.targets.kubernetes.meta import MANAGER

INSTALL_HINT = "pip install 'modeldeploy[kubernetes]'"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"


@dataclass(frozen=True)
class KindInfo:
    kind: str
    api_version: str
    plural: str

    def collection(self, namespace: str) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        return f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"


KINDS: dict[str, KindInfo] = {
    k.kind.lower(): k
    for k in (
        KindInfo("ConfigMap", "v1", "configmaps"),
        KindInfo("ServiceAccount", "v1", "serviceaccounts"),
        KindInfo("Service", "v1", "services"),
        KindInfo("Deployment", "apps/v1", "deployments"),
        KindInfo("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
        KindInfo("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
        KindInfo("Ingress", "networking.k8s.io/v1", "ingresses"),
        KindInfo("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
        KindInfo("Job", "batch/v1", "jobs"),
        KindInfo("CronJob", "batch/v1", "cronjobs"),
        KindInfo("InferenceService", "serving.kserve.io/v1beta1", "inferenceservices"),
        KindInfo("Pod", "v1", "pods"),
        KindInfo("Event", "v1", "events"),
        KindInfo("Lease", "coordination.k8s.io/v1", "leases"),
    )
}

# Kinds an ApplySet of ours may contain (what observe/destroy list to find members).
MEMBER_KINDS = (
    "serviceaccount",
    "service",
    "deployment",
    "horizontalpodautoscaler",
    "poddisruptionbudget",
    "ingress",
    "job",
    "cronjob",
    "inferenceservice",
    "configmap",
)


def kind_info(kind: str) -> KindInfo:
    try:
        return KINDS[kind.lower()]
    except KeyError:
        raise TargetError(f"modeldeploy does not manage Kubernetes kind {kind!r}") from None


def _api_message(exc: Any) -> str:
    """The API server's own message from a Status body, else the HTTP reason."""
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (TypeError, ValueError):
        pass
    return f"{exc.status} {exc.reason}".strip()


class NotFound(Exception):
    pass


class Conflict(TargetError):
    """409: the object exists (create) or changed since it was read (resourceVersion precondition)."""


class KubeApi:
    """GET / LIST / server-side apply / DELETE for namespaced objects (plus create/replace, for the
    lease). Transient failures (429/5xx, dropped or refused connections, timeouts) are retried with
    modeldeploy.retry's policy; every verb is idempotent or guarded (apply is declarative, DELETE of a
    gone object is "already gone", create/replace fail with Conflict rather than overwrite)."""

    def __init__(self, api_client: Any, policy: Any = None):
        from modeldeploy import retry

        self.api_client = api_client
        self.policy = policy or retry.default_policy("kubernetes")
        from kubernetes.client.exceptions import ApiException

        self._api_exception = ApiException

    # -- transport --

    def _call(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        body: Any = None,
        content_type: str | None = None,
        what: str = "",
    ) -> Any:
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = self.api_client.param_serialize(
            method=method,
            resource_path=path,
            query_params=query or None,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )

        def once() -> Any:
            response = self.api_client.call_api(*request)
            response.read()
            if not 200 <= response.status <= 299:
                raise self._api_exception.from_response(
                    http_resp=response, body=response.data.decode("utf-8", "replace"), data=None
                )
            return response

        from modeldeploy.retry import gave_up

        try:
            response = self.policy.call(once)
        except self._api_exception as exc:
            if exc.status == 404:
                raise NotFound(_api_message(exc)) from None
            error = Conflict if exc.status == 409 else TargetError
            raise error(f"Kubernetes API: {method} {what or path}: {_api_message(exc)}{gave_up(exc)}") from None
        except Exception as exc:  # urllib3 connection errors, TLS, DNS
            if isinstance(exc, (TargetError, NotFound)):
                raise
            raise TargetError(
                f"Kubernetes API: {method} {what or path}: {exc}".splitlines()[0] + gave_up(exc)
            ) from None
        return json.loads(response.data) if response.data else None

    # -- verbs --

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        info = kind_info(kind)
        path = f"{info.collection(namespace)}/{quote(name, safe='')}"
        try:
            return self._call("GET", path, [], what=f"{info.kind} {namespace}/{name}")
        except NotFound:
            return None

    def list(
        self, kind: str, namespace: str, *, label_selector: str | None = None, field_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Items of a kind; an API the cluster does not serve (no KServe installed) lists as empty."""
        info = kind_info(kind)
        query = []
        if label_selector:
            query.append(("labelSelector", label_selector))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        try:
            out = self._call("GET", info.collection(namespace), query, what=f"list {info.plural} in {namespace}")
        except NotFound:
            return []
        items = (out or {}).get("items") or []
        for item in items:  # LIST items carry no apiVersion/kind
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
        return items

    def apply(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as field manager ``modeldeploy`` (force: modeldeploy owns what it renders)."""
        info = kind_info(obj["kind"])
        md = obj["metadata"]
        path = f"{info.collection(md['namespace'])}/{quote(md['name'], safe='')}"
        query = [("fieldManager", MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        what = f"{'dry-run apply' if dry_run else 'apply'} {info.kind} {md['namespace']}/{md['name']}"
        try:
            return self._call("PATCH", path, query, body=dict(obj), content_type=APPLY_CONTENT_TYPE, what=what)
        except NotFound as exc:  # the kind itself is not served (CRD missing) or the namespace is gone
            raise TargetError(f"Kubernetes API: {what}: {exc}") from None

    def create(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST a new object; Conflict when one of that name exists."""
        info = kind_info(obj["kind"])
        md = obj["metadata"]
        return self._call(
            "POST",
            info.collection(md["namespace"]),
            [],
            body=dict(obj),
            content_type="application/json",
            what=f"create {info.kind} {md['namespace']}/{md['name']}",
        )

    def replace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT an object carrying ``metadata.resourceVersion``; Conflict when it changed since then,
        NotFound when it is gone."""
        info = kind_info(obj["kind"])
        md = obj["metadata"]
        path = f"{info.collection(md['namespace'])}/{quote(md['name'], safe='')}"
        return self._call(
            "PUT",
            path,
            [],
            body=dict(obj),
            content_type="application/json",
            what=f"replace {info.kind} {md['namespace']}/{md['name']}",
        )

    def delete(
        self,
        kind: str,
        namespace: str,
        name: str,
        *,
        propagation: str = "Foreground",
        resource_version: str | None = None,
    ) -> bool:
        """Delete one object; False when it was already gone. With ``resource_version`` the delete is
        refused (Conflict) when the object changed since."""
        info = kind_info(kind)
        path = f"{info.collection(namespace)}/{quote(name, safe='')}"
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if resource_version is not None:
            body["preconditions"] = {"resourceVersion": resource_version}
        try:
            self._call(
                "DELETE",
                path,
                [("propagationPolicy", propagation)],
                body=body,
                content_type="application/json",
                what=f"{info.kind} {namespace}/{name}",
            )
        except NotFound:
            return False
        return True


def connect(context: str | None, kubeconfig: str | None) -> KubeApi:
    """A client from a kubeconfig (``context`` picks one) or, failing that, the in-cluster config."""
    try:
        from kubernetes import client, config
    except ImportError:
        raise MissingDependencyError("the kubernetes target needs the kubernetes client", hint=INSTALL_HINT) from None
    cfg = client.Configuration()
    # One retry policy (modeldeploy.retry, with backoff) instead of urllib3's immediate re-sends.
    cfg.retries = False
    try:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg, persist_config=False)
    except (config.ConfigException, OSError) as exc:
        if kubeconfig or context:
            raise TargetError(f"kubeconfig: {exc}".splitlines()[0]) from None
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException:
            raise TargetError(
                "no Kubernetes credentials: no kubeconfig found ($KUBECONFIG or ~/.kube/config) "
                "and not running inside a cluster",
                hint="point $KUBECONFIG at your cluster's kubeconfig (--context picks a context in it); "
                "plan --against DIR or git:REF needs no cluster",
            ) from None
    return KubeApi(client.ApiClient(cfg))
