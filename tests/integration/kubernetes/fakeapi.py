"""An in-process fake of the slice of the Kubernetes API the kubernetes target uses.

No kube-apiserver can run here (FIELD-NOTES), so the target's observe/apply/destroy are tested
through the REAL ``kubernetes`` Python client against this HTTP server on 127.0.0.1. It implements:

* GET of one namespaced object, LIST with ``labelSelector`` (equality terms) and ``fieldSelector``
  (``involvedObject.name=`` for events);
* PATCH with ``Content-Type: application/apply-patch+yaml`` (server-side apply) with field ownership
  per field: ``fieldManager`` is required; each leaf field of an applied config (map keys recursed,
  lists atomic — the real server merges some lists by key, this fake does not) is owned by the
  managers that set it; applying a different value to a field another manager owns is a 409 Conflict
  naming the fields, unless ``force=true``, which takes the field over; an equal value is shared; a
  field a manager stops applying is removed only if nobody else owns it; fields the config does not
  mention stay as they are (so an HPA-owned ``spec.replicas`` survives). ``update_fields`` is another
  manager's Update (a controller, ``kubectl edit``): it takes the fields it changes. Changing an
  immutable field (Deployment/Job ``spec.selector``, Job ``spec.template``, Service
  ``spec.clusterIP``) is a 422 Invalid. ``dryRun=All`` returns the result without storing it; the
  result gets server bookkeeping (uid, resourceVersion, generation bumped on spec changes,
  managedFields per manager with fieldsV1, creationTimestamp) and the defaults a real API server
  fills in (terminationMessagePath, clusterIP, revisionHistoryLimit, Job selectors…), and CPU
  quantities are normalised (``1000m`` → ``1``) as the real server does;
* namespaces: with ``namespaces`` set, a namespace not in it answers 404 ('namespaces "x" not
  found') to writes and reads, and lists are empty, as on a real server; ``None`` (the default)
  means every namespace exists;
* DELETE with ``propagationPolicy`` (query or DeleteOptions body): dependents are the objects whose
  ``ownerReferences`` name the deleted object's uid; ``Orphan`` strips those references and keeps
  them, ``Background`` deletes them with the owner, ``Foreground`` (the API's default here) deletes
  them and keeps the owner, with a deletionTimestamp and the ``foregroundDeletion`` finalizer, until
  the next GET; an object can also be made to linger for a few GETs (other finalizers);
* API groups that are not "installed" answer 404 (a cluster without KServe);
* ``controllers``: per-kind callbacks the test uses to drive status (rollouts, readiness);
* ``fail``: make a given (method, kind) answer with an error Status, as admission webhooks or RBAC do.

Every request is recorded in ``requests`` so tests can check what the client actually sent.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

PLURALS = {
    "configmaps": ("v1", "ConfigMap"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "services": ("v1", "Service"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "deployments": ("apps/v1", "Deployment"),
    "horizontalpodautoscalers": ("autoscaling/v2", "HorizontalPodAutoscaler"),
    "poddisruptionbudgets": ("policy/v1", "PodDisruptionBudget"),
    "ingresses": ("networking.k8s.io/v1", "Ingress"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
    "jobs": ("batch/v1", "Job"),
    "cronjobs": ("batch/v1", "CronJob"),
    "inferenceservices": ("serving.kserve.io/v1beta1", "InferenceService"),
}
WORKLOAD_KINDS = {"Deployment", "Job", "CronJob", "InferenceService"}
IMMUTABLE = {
    "Deployment": [("spec", "selector")],
    "Job": [("spec", "selector"), ("spec", "template")],
    "Service": [("spec", "clusterIP")],
}
# Not user fields: identity and server bookkeeping; status is a subresource.
UNOWNED = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("status",)} | {
    ("metadata", k)
    for k in ("uid", "resourceVersion", "generation", "managedFields", "creationTimestamp", "deletionTimestamp")
}
Field = tuple[str, ...]
_MISSING = object()


def leaves(obj: Any, prefix: Field = ()) -> dict[Field, Any]:
    """The fields of ``obj`` a manager can own: map keys recursed, lists and scalars atomic."""
    out: dict[Field, Any] = {}
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            path = prefix + (str(k),)
            if path in UNOWNED or (len(path) == 1 and path[0] == "status"):
                continue
            out.update(leaves(v, path))
    elif prefix:
        out[prefix] = obj
    return out


def _get_path(obj: Any, path: Field) -> Any:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _set_path(obj: dict[str, Any], path: Field, value: Any) -> None:
    for part in path[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[path[-1]] = copy.deepcopy(value)


def _del_path(obj: dict[str, Any], path: Field) -> None:
    parents = []
    node = obj
    for part in path[:-1]:
        if not isinstance(node.get(part), dict):
            return
        parents.append((node, part))
        node = node[part]
    node.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps left empty
        if parent[part] == {}:
            del parent[part]


def fields_v1(paths: list[Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(paths):
        node = out
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return out


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any


@dataclass
class FakeCluster:
    installed: set[str] = field(default_factory=lambda: set(PLURALS))
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)  # (plural, ns, name)
    requests: list[Request] = field(default_factory=list)
    controllers: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)  # kind -> mutate on GET
    linger: dict[tuple[str, str, str], int] = field(default_factory=dict)  # GETs an object survives after DELETE
    fail: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (METHOD, plural) -> (code, message)
    owners: dict[tuple[str, str, str], dict[Field, set[str]]] = field(
        default_factory=dict
    )  # per object: field -> managers
    operations: dict[tuple[str, str, str], dict[str, str]] = field(
        default_factory=dict
    )  # per object: manager -> Apply|Update
    # per object: field -> the value its managers set (before defaulting: a defaulted container list
    # is not a conflict, as on the real server where defaulted fields belong to nobody)
    values: dict[tuple[str, str, str], dict[Field, Any]] = field(default_factory=dict)
    namespaces: set[str] | None = None  # None: every namespace exists
    counter: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- test helpers --

    def put(self, obj: dict[str, Any], manager: str = "kubectl") -> dict[str, Any]:
        """Create an object directly (as another tool or a controller would, with an Update)."""
        plural = next(p for p, (_, k) in PLURALS.items() if k == obj["kind"])
        md = obj["metadata"]
        key = (plural, md["namespace"], md["name"])
        self.owners[key] = {p: {manager} for p in leaves(obj)}
        self.values[key] = copy.deepcopy(leaves(obj))
        self.operations[key] = {manager: "Update"}
        stored = self._stamp(copy.deepcopy(obj), None, key)
        self.objects[key] = stored
        return stored

    def update_fields(self, plural: str, ns: str, name: str, changes: dict[Field, Any], manager: str) -> dict[str, Any]:
        """Another manager's Update (an HPA writing replicas, ``kubectl edit``): it takes the fields it changes."""
        key = (plural, ns, name)
        with self.lock:
            obj = copy.deepcopy(self.objects[key])
            owners = self.owners.setdefault(key, {})
            for path, value in changes.items():
                _set_path(obj, path, value)
                owners[path] = {manager}
                self.values.setdefault(key, {})[path] = copy.deepcopy(value)
            self.operations.setdefault(key, {})[manager] = "Update"
            self.objects[key] = self._stamp(obj, self.objects[key], key)
            return copy.deepcopy(self.objects[key])

    def managers_of(self, plural: str, ns: str, name: str, path: Field) -> set[str]:
        return set(self.owners.get((plural, ns, name), {}).get(path, set()))

    def get(self, plural: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((plural, ns, name))

    def applies(self) -> list[Request]:
        return [r for r in self.requests if r.method == "PATCH" and r.query.get("dryRun") != "All"]

    def deletes(self) -> list[Request]:
        return [r for r in self.requests if r.method == "DELETE"]

    # -- API semantics --

    def _next_version(self) -> str:
        self.counter += 1
        return str(self.counter)

    def _stamp(
        self,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        key: tuple[str, str, str],
        owners: dict[Field, set[str]] | None = None,
        operations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        owners = self.owners.get(key, {}) if owners is None else owners
        operations = self.operations.get(key, {}) if operations is None else operations
        md = obj.setdefault("metadata", {})
        md["uid"] = (old or {}).get("metadata", {}).get("uid") or f"uid-{self.counter + 1}"
        md["creationTimestamp"] = (old or {}).get("metadata", {}).get("creationTimestamp") or "2025-01-01T00:00:00Z"
        md["resourceVersion"] = self._next_version()
        by_manager: dict[str, list[Field]] = {}
        for path, managers in owners.items():
            for m in managers:
                by_manager.setdefault(m, []).append(path)
        md["managedFields"] = [
            {
                "manager": m,
                "operation": operations.get(m, "Apply"),
                "apiVersion": obj.get("apiVersion"),
                "fieldsType": "FieldsV1",
                "fieldsV1": fields_v1(paths),
            }
            for m, paths in sorted(by_manager.items())
        ]
        _default(obj)
        if obj["kind"] in WORKLOAD_KINDS or "spec" in obj:
            old_gen = (old or {}).get("metadata", {}).get("generation", 0)
            changed = old is None or _spec_of(old) != _spec_of(obj)
            md["generation"] = old_gen + 1 if changed else old_gen
        if old is not None and "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
        return obj

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        url = urlsplit(raw_path)
        query = dict(parse_qsl(url.query))
        ctype = headers.get("content-type", "")
        parsed = json.loads(body) if body else None
        with self.lock:
            self.requests.append(Request(method, url.path, query, ctype, parsed))
            route = _route(url.path)
            if route is None:
                return 404, _status(404, f"the server could not find the requested resource ({url.path})")
            group_version, ns, plural, name = route
            if plural not in PLURALS or plural not in self.installed or PLURALS[plural][0] != group_version:
                return 404, _status(404, "the server could not find the requested resource")
            if self.namespaces is not None and ns not in self.namespaces:
                if method == "GET" and name is None:
                    api_version, kind = PLURALS[plural]
                    return 200, {"apiVersion": api_version, "kind": kind + "List", "metadata": {}, "items": []}
                return 404, _status(404, f'namespaces "{ns}" not found')
            if (method, plural) in self.fail:
                code, message = self.fail[(method, plural)]
                return code, _status(code, message)
            if method == "GET" and name is None:
                return 200, self._list(plural, ns, query)
            if method == "GET":
                return self._get(plural, ns, name)
            if method == "PATCH":
                return self._apply(plural, ns, name, query, ctype, parsed)
            if method == "DELETE":
                policy = query.get("propagationPolicy") or (parsed or {}).get("propagationPolicy") or "Foreground"
                return self._delete(plural, ns, name, policy)
            return 405, _status(405, "method not allowed")

    def _get(self, plural: str, ns: str, name: str) -> tuple[int, Any]:
        key = (plural, ns, name)
        obj = self.objects.get(key)
        if obj is None:
            return 404, _status(404, f'{plural} "{name}" not found')
        if key in self.linger:
            self.linger[key] -= 1
            if self.linger[key] < 0:
                self._remove(key)
                return 404, _status(404, f'{plural} "{name}" not found')
        elif obj["kind"] in self.controllers:
            self.controllers[obj["kind"]](obj)
        return 200, copy.deepcopy(obj)

    def _list(self, plural: str, ns: str, query: dict[str, str]) -> dict[str, Any]:
        want = dict(t.split("=", 1) for t in query.get("labelSelector", "").split(",") if t)
        fields = dict(t.split("=", 1) for t in query.get("fieldSelector", "").split(",") if t)
        items = []
        for (p, o_ns, _), obj in sorted(self.objects.items()):
            if p != plural or o_ns != ns:
                continue
            labels = obj["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in want.items()):
                continue
            if (
                "involvedObject.name" in fields
                and (obj.get("involvedObject") or {}).get("name") != fields["involvedObject.name"]
            ):
                continue
            item = copy.deepcopy(obj)
            item.pop("apiVersion", None)  # real LIST items omit these
            item.pop("kind", None)
            items.append(item)
        api_version, kind = PLURALS[plural]
        return {
            "apiVersion": api_version,
            "kind": kind + "List",
            "metadata": {"resourceVersion": str(self.counter)},
            "items": items,
        }

    def _apply(self, plural: str, ns: str, name: str, query: dict[str, str], ctype: str, body: Any) -> tuple[int, Any]:
        if ctype.split(";")[0].strip() != "application/apply-patch+yaml":
            return 415, _status(415, f"unsupported patch type {ctype!r} (this fake only does server-side apply)")
        manager = query.get("fieldManager")
        if not manager:
            return 422, _status(422, "PATCH is invalid: fieldManager is required for apply patch")
        if not isinstance(body, dict) or body.get("metadata", {}).get("name") != name:
            return 400, _status(400, "the name of the object does not match the name on the URL")
        if body.get("metadata", {}).get("namespace", ns) != ns:
            return 400, _status(400, "the namespace of the object does not match the namespace on the URL")
        if (body.get("apiVersion"), body.get("kind")) != PLURALS[plural]:
            return 400, _status(
                400, f"apiVersion/kind {body.get('apiVersion')}/{body.get('kind')} do not match {plural}"
            )
        key = (plural, ns, name)
        old = self.objects.get(key)
        config = leaves(body)
        owners = {p: set(ms) for p, ms in self.owners.get(key, {}).items()}
        operations = dict(self.operations.get(key, {}))
        values = copy.deepcopy(self.values.get(key, {}))
        force = query.get("force") == "true"
        if old is None:
            new = copy.deepcopy(body)
            owners = {p: {manager} for p in config}
            values = copy.deepcopy(config)
        else:
            conflicts = sorted(
                (p, sorted(m for m in owners.get(p, ()) if m != manager))
                for p in config
                if any(m != manager for m in owners.get(p, ())) and values.get(p, _get_path(old, p)) != config[p]
            )
            if conflicts and not force:
                listed = "; ".join(f'conflict with "{", ".join(ms)}": .{".".join(p)}' for p, ms in conflicts)
                return 409, _status(
                    409, f"Apply failed with {len(conflicts)} conflict{'s' * (len(conflicts) > 1)}: {listed}"
                )
            new = copy.deepcopy(old)
            for p in [p for p, ms in owners.items() if manager in ms and p not in config]:
                owners[p].discard(manager)
                if not owners[p]:
                    del owners[p]
                    values.pop(p, None)
                    _del_path(new, p)
            for p, value in config.items():
                if any(m != manager for m in owners.get(p, ())) and values.get(p, _get_path(old, p)) != value:
                    owners[p] = {manager}  # forced: the field is taken over
                else:
                    owners.setdefault(p, set()).add(manager)
                values[p] = copy.deepcopy(value)
                _set_path(new, p, value)
        operations[manager] = "Apply"
        new["metadata"]["namespace"] = ns
        saved = self.counter
        result = self._stamp(new, old, key, owners, operations)
        if old is not None:
            for path in IMMUTABLE.get(old["kind"], []):
                if _get_path(old, path) != _get_path(result, path):
                    self.counter = saved
                    return 422, _status(
                        422, f'{old["kind"]} "{name}" is invalid: {".".join(path)}: Invalid value: field is immutable'
                    )
        if query.get("dryRun") == "All":
            self.counter = saved
            result["metadata"]["resourceVersion"] = (old or {}).get("metadata", {}).get("resourceVersion", "")
            return 200, result
        self.objects[key] = result
        self.owners[key] = owners
        self.values[key] = values
        self.operations[key] = operations
        return (200 if old else 201), copy.deepcopy(result)

    def _dependents(self, uid: str) -> list[tuple[str, str, str]]:
        return [
            k
            for k, o in self.objects.items()
            if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])
        ]

    def _remove(self, key: tuple[str, str, str]) -> None:
        self.objects.pop(key, None)
        self.owners.pop(key, None)
        self.values.pop(key, None)
        self.operations.pop(key, None)
        self.linger.pop(key, None)

    def _delete(self, plural: str, ns: str, name: str, policy: str = "Foreground") -> tuple[int, Any]:
        key = (plural, ns, name)
        obj = self.objects.get(key)
        if obj is None:
            return 404, _status(404, f'{plural} "{name}" not found')
        if policy not in ("Foreground", "Background", "Orphan"):
            return 400, _status(400, f"unsupported propagationPolicy {policy!r}")
        dependents = self._dependents(obj["metadata"]["uid"])
        for dep in dependents:
            if policy == "Orphan":
                refs = self.objects[dep]["metadata"]["ownerReferences"]
                self.objects[dep]["metadata"]["ownerReferences"] = [
                    r for r in refs if r.get("uid") != obj["metadata"]["uid"]
                ]
            else:
                self._remove(dep)
        if key in self.linger or (policy == "Foreground" and dependents):
            obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:01Z"
            if policy == "Foreground" and dependents:
                obj["metadata"]["finalizers"] = ["foregroundDeletion"]
                self.linger.setdefault(key, 0)
            return 200, copy.deepcopy(obj)
        self._remove(key)
        return 200, _status(200, "deleted", status="Success")


def _route(path: str) -> tuple[str, str, str, str | None] | None:
    m = re.fullmatch(r"/api/(v1)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?", path) or re.fullmatch(
        r"/apis/([^/]+/[^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+))?", path
    )
    if not m:
        return None
    gv, ns, plural, name = m.groups()
    return gv, unquote(ns), plural, unquote(name) if name else None


def _status(code: int, message: str, status: str = "Failure") -> dict[str, Any]:
    reasons = {
        400: "BadRequest",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        415: "UnsupportedMediaType",
        422: "Invalid",
    }
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "status": status,
        "message": message,
        "reason": reasons.get(code, ""),
        "code": code,
    }


def _spec_of(obj: dict[str, Any]) -> Any:
    return obj.get("spec")


def _cpu(q: str) -> str:
    m = re.fullmatch(r"([0-9]+)m", q)
    if m and int(m.group(1)) % 1000 == 0:
        return str(int(m.group(1)) // 1000)
    return q


def _default_pod(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    for c in spec.get("containers", []):
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        for part in ("requests", "limits"):
            res = (c.get("resources") or {}).get(part) or {}
            if "cpu" in res:
                res["cpu"] = _cpu(res["cpu"])


def _default(obj: dict[str, Any]) -> None:
    """A few of the defaults the real API server fills in, so projection is tested against noise."""
    kind, spec = obj["kind"], obj.get("spec")
    if kind == "Deployment":
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault(
            "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
        )
        _default_pod(spec["template"]["spec"])
    elif kind == "Service":
        spec.setdefault("clusterIP", "10.96.0.17")
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("ipFamilies", ["IPv4"])
    elif kind == "Job":
        uid = obj["metadata"].get("uid", "")
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        spec["template"]["metadata"].setdefault("labels", {}).update(
            {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": obj["metadata"]["name"]}
        )
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        _default_pod(spec["template"]["spec"])
    elif kind == "CronJob":
        spec.setdefault("suspend", False)
        _default_pod(spec["jobTemplate"]["spec"]["template"]["spec"])


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        code, payload = self.server.cluster.handle(self.command, self.path, headers, body)  # type: ignore[attr-defined]
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


class FakeApiServer:
    """``with FakeApiServer() as srv:`` serves ``srv.cluster`` at ``srv.url`` until the block ends."""

    def __init__(self, cluster: FakeCluster | None = None):
        self.cluster = cluster or FakeCluster()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.cluster = self.cluster  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeApiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def kubeconfig(self, path: Any, context: str = "fake") -> str:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "tester", "user": {"token": "test-token"}}],
                    "contexts": [{"name": context, "context": {"cluster": "fake", "user": "tester"}}],
                    "current-context": context,
                }
            )
        )
        return str(path)
