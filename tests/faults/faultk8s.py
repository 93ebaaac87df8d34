"""The fake Kubernetes API server (tests/integration/kubernetes/fakeapi.py) with two additions, made
here by subclassing so the original stays as it is:

* ``coordination.k8s.io/v1`` Leases with the real API's create/replace/delete semantics: POST answers
  409 AlreadyExists, PUT needs the current ``metadata.resourceVersion`` (409 Conflict otherwise, 404
  when gone), DELETE honours ``preconditions.resourceVersion``;
* fault injection: request number N can answer 500 or 429 (with ``Retry-After: 0``), be dropped
  without an answer, or be carried out and then dropped (the answer is lost).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from tests.faults.faultproxy import Faults
from tests.integration.kubernetes.fakeapi import FakeApiServer, FakeCluster, _Handler, _status

LEASES = re.compile(r"/apis/coordination\.k8s\.io/v1/namespaces/([^/]+)/leases(?:/([^/?]+))?")
KINDS = ("http500", "throttle", "drop", "drop-after")


@dataclass
class FaultyCluster(FakeCluster):
    leases: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)

    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        m = LEASES.fullmatch(raw_path.split("?")[0])
        if m is None:
            return super().handle(method, raw_path, headers, body)
        with self.lock:
            return self._lease(method, m.group(1), m.group(2), json.loads(body) if body else None)

    def _lease(self, method: str, ns: str, name: str | None, body: Any) -> tuple[int, Any]:
        if method == "POST" and name is None:
            key = (ns, body["metadata"]["name"])
            if key in self.leases:
                return 409, {
                    **_status(409, f'leases.coordination.k8s.io "{key[1]}" already exists'),
                    "reason": "AlreadyExists",
                }
            return 201, self._store(key, body)
        key = (ns, name or "")
        current = self.leases.get(key)
        if current is None:
            return 404, _status(404, f'leases.coordination.k8s.io "{name}" not found')
        if method == "GET":
            return 200, copy.deepcopy(current)
        if method == "PUT":
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return 409, _status(
                    409,
                    f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": '
                    "the object has been modified; please apply your changes to the latest version and try again",
                )
            return 200, self._store(key, body)
        if method == "DELETE":
            want = ((body or {}).get("preconditions") or {}).get("resourceVersion")
            if want is not None and want != current["metadata"]["resourceVersion"]:
                return 409, _status(
                    409,
                    f"Precondition failed: ResourceVersion in precondition: {want}, "
                    f"ResourceVersion in object meta: {current['metadata']['resourceVersion']}",
                )
            del self.leases[key]
            return 200, _status(200, "deleted", status="Success")
        return 405, _status(405, "method not allowed")

    def _store(self, key: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(body)
        obj["metadata"]["namespace"] = key[0]
        obj["metadata"]["resourceVersion"] = self._next_version()
        obj["metadata"].setdefault("uid", f"uid-lease-{self.counter}")
        self.leases[key] = obj
        return copy.deepcopy(obj)


class _FaultyHandler(_Handler):
    def _serve(self) -> None:
        cluster: FaultyCluster = self.server.cluster  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        kind = cluster.faults.next(f"{self.command} {self.path.split('?')[0]}")
        if kind == "drop":
            self.close_connection = True
            return
        if kind in ("http500", "throttle"):
            code = 500 if kind == "http500" else 429
            message = "etcdserver: request timed out" if code == 500 else "the server is receiving too many requests"
            self._send(code, _status(code, message), {"Retry-After": "0"} if code == 429 else {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        code, payload = cluster.handle(self.command, self.path, headers, body)
        if kind == "drop-after":
            self.close_connection = True
            return
        self._send(code, payload, {})

    def _send(self, code: int, payload: Any, extra: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve


class FaultyApiServer(FakeApiServer):
    def __init__(self) -> None:
        super().__init__(FaultyCluster())
        self.httpd.RequestHandlerClass = _FaultyHandler
        self.httpd.daemon_threads = True

    @property
    def faults(self) -> Faults:
        return self.cluster.faults  # type: ignore[attr-defined]
