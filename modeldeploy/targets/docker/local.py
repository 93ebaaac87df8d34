"""Deploy locally: one container per deployment on the Docker engine DOCKER_HOST names. This module
says what is wanted and reads what runs; ``lifecycle.py`` builds, starts, replaces and removes it.

The docker CLI is the seam (a subprocess; it honours DOCKER_HOST and the user's docker contexts).
The container is named after the deployment (``NAME`` or ``NAME-ENV``, or ``target.run.name``) and
labelled as modeldeploy's, so that ``plan --against live`` and ``destroy`` find exactly it:

  io.modeldeploy.deployment=<name>        io.modeldeploy.environment=<env or "">
  io.modeldeploy.context-digest=sha256:…  (the rendered build context: Dockerfile, requirements, model)
  io.modeldeploy.secrets=A,B              (names only)   io.modeldeploy.gpus / io.modeldeploy.env-file

Secrets (``serving.secrets``) are read from this process's environment and handed to ``docker run
--env NAME``: the value is only in the docker CLI's own environment, never on a command line, in
the image, in a label or in a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import ApplyError
from modeldeploy.planning.resources import LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.spec.targets.docker import DockerTarget

KIND = "docker_container"
LABEL = "io.modeldeploy."
CONTAINER_PORT = 8080
READY_TIMEOUT = 300.0


# --- what is wanted --------------------------------------------------------------------------------


def docker_target(ctx: RenderContext) -> DockerTarget:
    from modeldeploy.spec.targets.docker import DockerTarget

    target = ctx.spec.target
    assert isinstance(target, DockerTarget)
    return target


def container_name(ctx: RenderContext) -> str:
    run = docker_target(ctx).run
    if run is not None and run.name:
        return str(run.name)
    name = ctx.spec.name  # with an environment, usually already <name>-<env> (spec/envnames.py)
    return f"{name}-{ctx.env}" if ctx.env and not name.endswith(f"-{ctx.env}") else name


def context_digest(artifacts: list[Artifact]) -> str:
    """One digest of the rendered build context: any change to what goes into the image changes it."""
    h = hashlib.sha256()
    for a in sorted(artifacts, key=lambda a: a.path):
        h.update(a.path.encode() + b"\0" + a.digest.encode() + b"\n")
    return "sha256:" + h.hexdigest()


def run_settings(ctx: RenderContext) -> Any:
    """target.run, or for ``serve`` without one: port 8080 on 127.0.0.1."""
    from modeldeploy.spec.targets.docker import DockerRun

    return docker_target(ctx).run or DockerRun(port=CONTAINER_PORT)


def desired_body(ctx: RenderContext, artifacts: list[Artifact], image: str) -> dict[str, Any]:
    run = run_settings(ctx)
    return {
        "name": container_name(ctx),
        "image": image,
        "context_digest": context_digest(artifacts),
        "network": run.network or "default",
        "host": None if run.network == "host" else run.host,
        "port": run.port,
        "env": dict(sorted(ctx.spec.serving.env.items())),
        "secrets": sorted(ctx.spec.serving.secrets),
        "env_file": run.env_file,
        "gpus": run.gpus,
    }


def desired(ctx: RenderContext, artifacts: list[Artifact], image: str) -> list[Resource]:
    body = desired_body(ctx, artifacts, image)
    return [
        Resource(
            address=f"{KIND}.{body['name']}",
            kind=KIND,
            name=body["name"],
            body=body,
            immutable=True,
            replace_reason="a container's image and settings are fixed when it starts; apply starts a new one and removes the old",
        )
    ]


# --- the docker CLI ----------------------------------------------------------------------------------


def docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise ApplyError(
            "docker CLI not found on PATH",
            hint="install Docker (the client is enough when DOCKER_HOST names an engine)",
        )
    return cli


def docker_call(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [docker_cli(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(env) if env is not None else None,
    )


def check_engine() -> None:
    probe = docker_call("info", "--format", "{{.ServerVersion}}")
    if probe.returncode != 0:
        first = (probe.stderr or probe.stdout).strip().splitlines()
        raise ApplyError(
            "no Docker engine is reachable (" + (first[-1] if first else "docker info failed") + ")",
            hint="start Docker, or point DOCKER_HOST at an engine",
        )


def inspect(name: str) -> dict[str, Any] | None:
    """The container called ``name`` if it is modeldeploy's; None when there is none. A container of
    that name that modeldeploy did not start is refused, never touched."""
    proc = docker_call("container", "inspect", name)
    if proc.returncode != 0:
        if "No such" in proc.stderr or "no such" in proc.stderr:
            return None
        raise ApplyError(f"docker container inspect {name} failed: {proc.stderr.strip()[-300:]}")
    data = json.loads(proc.stdout)[0]
    labels = (data.get("Config") or {}).get("Labels") or {}
    if LABEL + "deployment" not in labels:
        raise ApplyError(
            f"a container named {name} exists and was not started by modeldeploy; refusing to touch it",
            hint="remove or rename it, or set target.run.name",
        )
    return data


def observed_body(data: Mapping[str, Any], wanted_env: Mapping[str, str]) -> dict[str, Any]:
    """What the container runs with, as ``desired_body`` describes it (secret values never read)."""
    config = data.get("Config") or {}
    host_config = data.get("HostConfig") or {}
    labels = config.get("Labels") or {}
    env = dict(e.split("=", 1) for e in config.get("Env") or [] if "=" in e)
    network = host_config.get("NetworkMode") or "default"
    if network == "host":
        port: int | None = int(env.get("MODELDEPLOY_PORT", CONTAINER_PORT))
        host = None
    else:
        binding = ((host_config.get("PortBindings") or {}).get(f"{CONTAINER_PORT}/tcp") or [{}])[0]
        port = int(binding["HostPort"]) if binding.get("HostPort") else None
        host = binding.get("HostIp") or "0.0.0.0"
    secrets = labels.get(LABEL + "secrets", "")
    return {
        "name": str(data.get("Name", "")).lstrip("/"),
        "image": config.get("Image"),
        "context_digest": labels.get(LABEL + "context-digest"),
        "network": "default" if network in ("default", "bridge") else network,
        "host": host,
        "port": port,
        "env": {k: env[k] for k in sorted(wanted_env) if k in env},
        "secrets": sorted(s for s in secrets.split(",") if s),
        "env_file": labels.get(LABEL + "env-file") or None,
        "gpus": labels.get(LABEL + "gpus") or None,
    }


def observe(ctx: RenderContext, wanted: list[Resource]) -> Observed:
    check_engine()
    name = container_name(ctx)
    data = inspect(name)
    if data is None:
        return Observed()
    body = observed_body(data, ctx.spec.serving.env)
    address = f"{KIND}.{name}"
    return Observed(
        resources={
            address: LiveResource(
                address=address, kind=KIND, name=name, body=body, fingerprint=str(data.get("Id", ""))[:24]
            )
        },
        raw={address: data},
    )


# --- secrets and run arguments -------------------------------------------------------------------------


def secret_environment(ctx: RenderContext, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The secrets' values from this process's environment; a missing one is an error before anything
    starts. The values go only into the docker CLI's environment."""
    environ = os.environ if environ is None else environ
    names = sorted(ctx.spec.serving.secrets)
    missing = [n for n in names if n not in environ]
    if missing:
        raise ApplyError(
            f"serving.secrets {', '.join(missing)} not set in this environment; the container needs "
            + ("it" if len(missing) == 1 else "them"),
            hint="export "
            + " ".join(f"{n}=..." for n in missing)
            + " before running apply/serve (the value is passed to the container, never written anywhere)",
        )
    return {n: environ[n] for n in names}


def env_file_path(ctx: RenderContext) -> Path | None:
    run = run_settings(ctx)
    if not run.env_file:
        return None
    path = Path(run.env_file)
    path = path if path.is_absolute() else ctx.base_dir / path
    if not path.is_file():
        raise ApplyError(
            f"target.run.env_file {run.env_file}: no such file (relative paths are from deploy.yaml's folder)"
        )
    return path


def run_arguments(
    ctx: RenderContext, body: Mapping[str, Any], name: str, *, port: int | None = None, detach: bool = True
) -> list[str]:
    """``docker run`` arguments (no values of secrets: ``--env NAME`` only)."""
    run = run_settings(ctx)
    port = port if port is not None else int(body["port"])
    args = ["run", "--name", name]
    if detach:
        args.append("--detach")
    labels = {
        "deployment": ctx.spec.name,
        "environment": ctx.env or "",
        "context-digest": body["context_digest"],
        "secrets": ",".join(body["secrets"]),
    }
    if body.get("gpus"):
        labels["gpus"] = body["gpus"]
    if body.get("env_file"):
        labels["env-file"] = body["env_file"]
    for key, value in labels.items():
        args += ["--label", f"{LABEL}{key}={value}"]
    if run.network:
        args += ["--network", run.network]
    if run.network == "host":
        args += ["--env", f"MODELDEPLOY_PORT={port}"]
    else:
        args += ["--publish", f"{body['host']}:{port}:{CONTAINER_PORT}"]
    env_file = env_file_path(ctx)
    if env_file is not None:
        args += ["--env-file", str(env_file)]
    if body.get("gpus"):
        args += ["--gpus", str(body["gpus"])]
    for secret in body["secrets"]:
        args += ["--env", secret]  # the value comes from the CLI's environment
    args.append(str(body["image"]))
    args.append("serve")
    return args


def url_of(body: Mapping[str, Any], port: int | None = None) -> str:
    host = body.get("host") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port if port is not None else body['port']}"
