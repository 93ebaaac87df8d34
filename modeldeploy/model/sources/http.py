"""A small MLflow REST client on urllib: JSON calls, streamed downloads and uploads, one-line errors.

No mlflow import and no ``requests``: the tracking server's REST API is plain JSON over HTTP.
Auth follows MLflow's variables: ``MLFLOW_TRACKING_TOKEN`` (Bearer) or ``MLFLOW_TRACKING_USERNAME`` +
``MLFLOW_TRACKING_PASSWORD`` (Basic); ``MLFLOW_TRACKING_INSECURE_TLS=true`` skips TLS verification and
``MLFLOW_TRACKING_SERVER_CERT_PATH`` names a CA bundle.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from modeldeploy.errors import SourceError

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
_CHUNK = 1 << 20
_TIMEOUT = 60.0


class RestError(SourceError):
    """An error answer from the tracking server; ``error_code`` is MLflow's (RESOURCE_DOES_NOT_EXIST…)."""

    def __init__(self, message: str, *, status: int, error_code: str):
        super().__init__(message)
        self.status = status
        self.error_code = error_code

    @property
    def not_found(self) -> bool:
        return self.status == 404 or self.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")


@dataclass(frozen=True)
class MlflowRest:
    """One tracking server. ``uri`` is the source URI being resolved, named in every error."""

    base_url: str
    headers: Mapping[str, str]
    uri: str
    context: ssl.SSLContext | None = None
    timeout: float = _TIMEOUT

    @classmethod
    def connect(cls, tracking_uri: str | None, environ: Mapping[str, str], *, uri: str) -> MlflowRest:
        """The client for ``tracking_uri`` (else ``$MLFLOW_TRACKING_URI``); SourceError when unusable."""
        base = (tracking_uri or environ.get("MLFLOW_TRACKING_URI") or "").strip()
        if not base:
            raise SourceError(
                f"{uri}: no MLflow tracking server; set model.tracking_uri in deploy.yaml or MLFLOW_TRACKING_URI"
            )
        parsed = urllib.parse.urlparse(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SourceError(
                f"{uri}: tracking URI {base!r} is not an http(s) URL of an MLflow tracking server "
                "(file stores and databricks are not supported)"
            )
        return cls(base_url=base.rstrip("/"), headers=auth_headers(environ), uri=uri, context=_ssl_context(environ))

    # -- JSON API -------------------------------------------------------------------------------
    def get(self, endpoint: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return self._json("GET", f"{API}/{endpoint}" + (f"?{query}" if query else ""), None)

    def post(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"{API}/{endpoint}", body)

    def patch(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json("PATCH", f"{API}/{endpoint}", body)

    def list_proxied(self, path: str) -> list[dict[str, Any]]:
        """Entries of one directory under the artifact proxy (``mlflow-artifacts:/PATH``)."""
        query = urllib.parse.urlencode({"path": path})
        return list(self._json("GET", f"{ARTIFACTS_API}?{query}", None).get("files", []))

    # -- files --------------------------------------------------------------------------------------
    def download_proxied(self, path: str, dest: Path, on_bytes: Callable[[int], None]) -> None:
        """Stream ``mlflow-artifacts:/PATH`` to ``dest``; a short read is an error, never a file."""
        req = self._request("GET", f"{ARTIFACTS_API}/{_quote_path(path)}", None, {})
        with self._open(req) as resp, open(dest, "wb") as out:
            expected = resp.headers.get("Content-Length")
            got = _copy(resp, out, on_bytes, f"{self.uri}: download of {path}")
        if expected is not None and int(expected) != got:
            raise SourceError(f"{self.uri}: download of {path} was cut short ({got} of {expected} bytes)")

    def upload_proxied(self, path: str, src: Path, on_bytes: Callable[[int], None]) -> None:
        size = src.stat().st_size
        with open(src, "rb") as f:
            body = _CountingReader(f, on_bytes)
            req = self._request(
                "PUT",
                f"{ARTIFACTS_API}/{_quote_path(path)}",
                body,
                {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            )
            with self._open(req) as resp:
                resp.read()

    # -- plumbing -----------------------------------------------------------------------------------
    def _json(self, method: str, path: str, body: Mapping[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        req = self._request(method, path, data, headers)
        with self._open(req) as resp:
            raw = resp.read()
        try:
            out = json.loads(raw or b"{}")
        except ValueError:
            raise SourceError(
                f"{self.uri}: {self.base_url} did not answer with JSON; is it an MLflow server?"
            ) from None
        return out if isinstance(out, dict) else {}

    def _request(self, method: str, path: str, data: Any, headers: Mapping[str, str]) -> urllib.request.Request:
        return urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={**self.headers, **headers}
        )

    def _open(self, req: urllib.request.Request) -> Any:
        """Open ``req``. GETs are retried on transient failures (HTTP 408/429/5xx, refused or dropped
        connections, timeouts) with modeldeploy.retry's policy; writes are sent once."""
        from modeldeploy.retry import default_policy, gave_up

        def once() -> Any:
            return urllib.request.urlopen(req, timeout=self.timeout, context=self.context)

        try:
            return default_policy("mlflow").call(once) if req.get_method() in ("GET", "HEAD") else once()
        except urllib.error.HTTPError as exc:
            error = self._http_error(exc)
            if gave_up(exc):
                error.message += gave_up(exc)
                error.args = (error.message,)
            raise error from None
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(
                f"{self.uri}: MLflow tracking server {self.base_url} is unreachable ({reason}){gave_up(exc)}"
            ) from None

    def _http_error(self, exc: urllib.error.HTTPError) -> SourceError:
        try:
            payload = json.loads(exc.read() or b"{}")
        except (ValueError, OSError):
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        code = str(payload.get("error_code", ""))
        message = " ".join(str(payload.get("message", "")).split())[:300]
        if exc.code in (401, 403):
            what = "refused the credentials" if exc.code == 403 else "requires authentication"
            return SourceError(
                f"{self.uri}: MLflow tracking server {self.base_url} {what} (HTTP {exc.code}); "
                "check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD"
            )
        detail = message or exc.reason or "error"
        return RestError(f"{self.uri}: {detail} (HTTP {exc.code} {code})".rstrip(), status=exc.code, error_code=code)


def auth_headers(environ: Mapping[str, str]) -> dict[str, str]:
    token = environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = environ.get("MLFLOW_TRACKING_USERNAME"), environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password is not None:
        cred = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return {"Authorization": f"Basic {cred}"}
    return {}


def _ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext | None:
    if environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH"):
        return ssl.create_default_context(cafile=environ["MLFLOW_TRACKING_SERVER_CERT_PATH"])
    return None


def _quote_path(path: str) -> str:
    return urllib.parse.quote(path.strip("/"), safe="/")


def _copy(src: BinaryIO, out: BinaryIO, on_bytes: Callable[[int], None], what: str) -> int:
    total = 0
    while True:
        try:
            chunk = src.read(_CHUNK)
        except (OSError, http.client.HTTPException) as exc:  # IncompleteRead, connection reset
            raise SourceError(f"{what} was interrupted ({type(exc).__name__})") from None
        if not chunk:
            return total
        out.write(chunk)
        total += len(chunk)
        on_bytes(len(chunk))


class _CountingReader:
    """A file wrapper urllib can stream from, reporting bytes as they are sent."""

    def __init__(self, f: BinaryIO, on_bytes: Callable[[int], None]):
        self.f = f
        self.on_bytes = on_bytes

    def read(self, n: int = -1) -> bytes:
        chunk = self.f.read(_CHUNK if n is None or n < 0 else n)
        if chunk:
            self.on_bytes(len(chunk))
        return chunk
