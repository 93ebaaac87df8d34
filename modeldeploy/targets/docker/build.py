"""Building the serving image: the one code path every target uses to turn a rendered build context
into an image, push it, and ask a registry whether it already has a tag.

What a ``registry`` deployment renders and references is in ``registry.py`` (which uses this module).

Registry credentials come from where the docker CLI keeps them (``docker login``, credential helpers);
for ECR ``ecr_login`` exchanges boto3's ``ecr.get_authorization_token`` for a ``docker login``. Nothing
here reads deploy.yaml for a secret, and no credential is ever printed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import ApplyError
from modeldeploy.rendering.artifact import Artifact

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.progress import Progress
    from modeldeploy.spec.targets.imagebuild import BuildConfig

_ECR = re.compile(r"^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def context_digest(artifacts: Sequence[Artifact]) -> str:
    """sha256 over every file of the context (path, mode, content digest), in path order."""
    h = hashlib.sha256()
    for a in sorted(artifacts, key=lambda a: a.path):
        h.update(f"{a.path}\0{a.mode:o}\0{a.digest}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- docker CLI


def docker_cli() -> str:
    """The docker CLI with a reachable engine, else a clear error (fail closed)."""
    docker = shutil.which("docker")
    if docker is None:
        raise ApplyError(
            "docker CLI not found on PATH; install Docker to build the image (the rendered context is still usable)"
        )
    probe = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if probe.returncode != 0:
        first = (probe.stderr or probe.stdout).strip().splitlines()
        raise ApplyError(
            "no Docker engine is reachable ("
            + (first[0] if first else "docker info failed")
            + "); start one or build the rendered context elsewhere with 'docker build'"
        )
    return docker


def run_streamed(cmd: list[str], progress: Progress, *, stdin: str | None = None) -> None:
    """Run a docker command, each output line a progress step; a failure raises with its last line."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE if stdin is not None else None,
        text=True,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        progress.step(line.rstrip())
    if proc.wait() != 0:
        raise ApplyError(f"{' '.join(cmd[1:3])} failed (exit {proc.returncode}): " + (tail[-1] if tail else ""))


def build_command(
    docker: str, context_dir: Path, tag: str, *, platform: str | None = None, build: BuildConfig | None = None
) -> list[str]:
    cmd = [docker, "build", "--tag", tag]
    if platform:
        cmd += ["--platform", platform]
    if build is not None:
        if build.network:
            cmd += ["--network", build.network]
        if build.pull:
            cmd.append("--pull")
        for k, v in sorted(build.args.items()):
            cmd += ["--build-arg", f"{k}={v}"]
    return [*cmd, str(context_dir)]


def build_image(
    artifacts: Sequence[Artifact],
    tag: str,
    progress: Progress,
    *,
    platform: str | None = None,
    build: BuildConfig | None = None,
    docker: str | None = None,
) -> None:
    """Build ``tag`` from a rendered build context (artifacts at the context root)."""
    from modeldeploy.rendering.write import write_tree

    docker = docker or docker_cli()
    with tempfile.TemporaryDirectory(prefix="modeldeploy-build-") as tmp:
        write_tree(Path(tmp), artifacts)
        progress.step(f"docker build --tag {tag}")
        run_streamed(build_command(docker, Path(tmp), tag, platform=platform, build=build), progress)


def push_image(tag: str, progress: Progress, *, docker: str | None = None) -> None:
    docker = docker or docker_cli()
    progress.step(f"docker push {tag}")
    run_streamed([docker, "push", tag], progress)


# ---------------------------------------------------------------- registry (HTTP API v2)


def split_reference(ref: str) -> tuple[str, str, str]:
    """host, repository, tag of HOST/REPO:TAG."""
    host, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":")
    if not host or not repo or not tag or "/" in tag:
        raise ApplyError(f"image reference {ref!r} is not HOST/REPOSITORY:TAG")
    return host, repo, tag


def _plain_http(host: str) -> bool:
    """dockerd talks plain HTTP to registries on loopback (127.0.0.0/8, localhost) by default."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    return name == "localhost" or name.startswith("127.") or name == "[::1]"


def _docker_auth(host: str) -> str | None:
    """The Basic credential ``docker login`` stored for host (config.json auths or a credential helper)."""
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker") / "config.json"
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError):
        return None
    for key, entry in (data.get("auths") or {}).items():
        if key.split("://")[-1].rstrip("/").split("/")[0] == host and entry.get("auth"):
            return str(entry["auth"])
    helper = (data.get("credHelpers") or {}).get(host) or data.get("credsStore")
    if helper and shutil.which(f"docker-credential-{helper}"):
        got = subprocess.run([f"docker-credential-{helper}", "get"], input=host, capture_output=True, text=True)
        if got.returncode == 0:
            try:
                cred = json.loads(got.stdout)
                return base64.b64encode(f"{cred['Username']}:{cred['Secret']}".encode()).decode()
            except (ValueError, KeyError):
                return None
    return None


_MANIFESTS = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def registry_has(ref: str, *, timeout: float = 20.0, basic: str | None = None) -> bool:
    """Does the registry hold this tag? A HEAD of /v2/REPO/manifests/TAG (with the token dance a
    registry asks for). 200: yes, 404: no; anything else cannot be answered and raises (fail closed).
    ``basic``: a base64 USER:PASSWORD to use instead of the docker login's (the ECR token)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    host, repo, tag = split_reference(ref)
    scheme = "http" if _plain_http(host) else "https"
    url = f"{scheme}://{host}/v2/{repo}/manifests/{urllib.parse.quote(tag)}"
    basic = basic or _docker_auth(host)

    def head(auth: str | None) -> tuple[int, Any]:
        req = urllib.request.Request(url, method="HEAD", headers={"Accept": _MANIFESTS})
        if auth:
            req.add_header("Authorization", auth)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.headers
        except (urllib.error.URLError, OSError) as e:
            raise ApplyError(f"cannot reach registry {host} to look for {ref}: {getattr(e, 'reason', e)}") from None

    status, headers = head(f"Basic {basic}" if basic else None)
    if status == 401:
        challenge = headers.get("WWW-Authenticate", "") if headers else ""
        if challenge.lower().startswith("bearer "):
            token = _bearer_token(challenge, basic, timeout)
            status, headers = head(f"Bearer {token}")
    if status == 200:
        return True
    if status == 404:
        return False
    if status in (401, 403):
        raise ApplyError(
            f"registry {host} refused to say whether it has {ref} (HTTP {status})",
        )
    raise ApplyError(f"registry {host} answered HTTP {status} for {ref}; cannot tell whether the image exists")


def _bearer_token(challenge: str, basic: str | None, timeout: float) -> str:
    import urllib.error
    import urllib.parse
    import urllib.request

    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    realm = params.pop("realm", "")
    if not realm.startswith(("https://", "http://")):
        raise ApplyError("the registry asked for a token without a usable realm")
    req = urllib.request.Request(realm + "?" + urllib.parse.urlencode(params))
    if basic:
        req.add_header("Authorization", f"Basic {basic}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ApplyError(f"could not get a registry token from {urllib.parse.urlsplit(realm).netloc}: {e}") from None
    token = body.get("token") or body.get("access_token")
    if not token:
        raise ApplyError("the registry's token service returned no token")
    return str(token)


def ecr_credentials(registry: str) -> tuple[str, str] | None:
    """For an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com[/path]): the user and password from
    boto3's ``ecr.get_authorization_token`` (the usual AWS credential chain). None when not ECR."""
    host = registry.split("/")[0]
    m = _ECR.match(host)
    if not m:
        return None
    import boto3

    client = boto3.client("ecr", region_name=m.group(2))
    data = client.get_authorization_token(registryIds=[m.group(1)])["authorizationData"]
    if not data:
        raise ApplyError(f"ECR returned no authorization data for {host}")
    user, _, password = base64.b64decode(data[0]["authorizationToken"]).decode().partition(":")
    if not user or not password:
        raise ApplyError(f"ECR returned an authorization token for {host} that is not USER:PASSWORD")
    return user, password


def registry_basic(registry: str) -> str | None:
    """The credential a read-only lookup uses when the docker login's is not the way in: for ECR the
    token from ``ecr.get_authorization_token`` (so a plan needs no ``docker login``); else None."""
    creds = ecr_credentials(registry)
    return base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode() if creds else None


def ecr_login(registry: str, progress: Progress, *, docker: str | None = None) -> bool:
    """For an ECR registry: ``docker login --password-stdin`` with the ECR token (the password goes
    on stdin, never on the command line or into progress). False when the registry is not ECR."""
    creds = ecr_credentials(registry)
    if creds is None:
        return False
    host = registry.split("/")[0]
    docker = docker or docker_cli()
    progress.step(f"docker login {host} (ECR token)")
    run_streamed([docker, "login", "--username", creds[0], "--password-stdin", host], progress, stdin=creds[1])
    return True
