"""Deploy locally: one container per deployment on the Docker engine DOCKER_HOST names.

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
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import ApplyError
from modeldeploy.planning.resources import ApplyResult, LiveResource, Observed, Resource
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.progress import Progress
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
    return f"{ctx.spec.name}-{ctx.env}" if ctx.env else ctx.spec.name


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
    return [Resource(
        address=f"{KIND}.{body['name']}", kind=KIND, name=body["name"], body=body, immutable=True,
        replace_reason="a container's image and settings are fixed when it starts; apply starts a new one and removes the old",
    )]


# --- the docker CLI ----------------------------------------------------------------------------------


def docker_cli() -> str:
    cli = shutil.which("docker")
    if cli is None:
        raise ApplyError("docker CLI not found on PATH", hint="install Docker (the client is enough when DOCKER_HOST names an engine)")
    return cli


def _docker(*args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([docker_cli(), *args], capture_output=True, text=True, timeout=timeout,
                          env=dict(env) if env is not None else None)


def check_engine() -> None:
    probe = _docker("info", "--format", "{{.ServerVersion}}")
    if probe.returncode != 0:
        first = (probe.stderr or probe.stdout).strip().splitlines()
        raise ApplyError(
            "no Docker engine is reachable (" + (first[-1] if first else "docker info failed") + ")",
            hint="start Docker, or point DOCKER_HOST at an engine",
        )


def inspect(name: str) -> dict[str, Any] | None:
    """The container called ``name`` if it is modeldeploy's; None when there is none. A container of
    that name that modeldeploy did not start is refused, never touched."""
    proc = _docker("container", "inspect", name)
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
        resources={address: LiveResource(address=address, kind=KIND, name=name, body=body, fingerprint=str(data.get("Id", ""))[:24])},
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
            hint="export " + " ".join(f"{n}=..." for n in missing) + " before running apply/serve (the value is passed to the container, never written anywhere)",
        )
    return {n: environ[n] for n in names}


def env_file_path(ctx: RenderContext) -> Path | None:
    run = run_settings(ctx)
    if not run.env_file:
        return None
    path = Path(run.env_file)
    path = path if path.is_absolute() else ctx.base_dir / path
    if not path.is_file():
        raise ApplyError(f"target.run.env_file {run.env_file}: no such file (relative paths are from deploy.yaml's folder)")
    return path


def run_arguments(ctx: RenderContext, body: Mapping[str, Any], name: str, *, port: int | None = None,
                  detach: bool = True) -> list[str]:
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


# --- build, wait, smoke test ---------------------------------------------------------------------------


def build_image(ctx: RenderContext, artifacts: list[Artifact], image: str, progress: Progress) -> None:
    """The one image-build path (targets/docker/build.py) with this target's platform and build options."""
    from modeldeploy.targets.docker import build

    target = docker_target(ctx)
    build.build_image(artifacts, image, progress, platform=target.platform, build=target.build, docker=docker_cli())


def stream(cmd: list[str], progress: Progress, env: Mapping[str, str] | None = None) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(env) if env is not None else None)
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-20:]
        progress.step(line.rstrip())
    if proc.wait() != 0:
        raise ApplyError(f"{' '.join(Path(cmd[0]).name.split() + cmd[1:2])} failed (exit {proc.returncode}): " + (tail[-1] if tail else ""))


def logs(name: str, lines: int = 30) -> str:
    proc = _docker("logs", "--tail", str(lines), name)
    return (proc.stdout + proc.stderr).strip()


def wait_ready(name: str, url: str, progress: Progress, timeout: float = READY_TIMEOUT,
               sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll ``url``/ping until it answers 200 (the container still running), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    with progress.wait(f"waiting for {url}/ping (at most {int(timeout)} s)") as handle:
        while True:
            state = json.loads(_docker("container", "inspect", "--format", "{{json .State}}", name).stdout or "{}")
            if not state.get("Running"):
                raise ApplyError(f"container {name} exited (code {state.get('ExitCode')}) before answering; its last lines:\n{logs(name)}")
            try:
                with urllib.request.urlopen(url + "/ping", timeout=3) as resp:
                    if resp.status == 200:
                        handle.update(f"ready after {time.monotonic() - start:.0f} s")
                        return
            except (urllib.error.URLError, OSError, ValueError):
                pass
            elapsed = time.monotonic() - start
            handle.update(f"starting ({int(elapsed // 10) * 10} s)")
            if time.monotonic() >= deadline:
                raise ApplyError(f"{url}/ping did not answer within {int(timeout)} s; the container's last lines:\n{logs(name)}")
            sleep(1.0)


def smoke_test(ctx: RenderContext, url: str, progress: Progress) -> None:
    """POST the model's saved serving input example to /invocations; the answer must be 200 and fit
    the output signature. No example: a warning, not a pass."""
    from modeldeploy.targets.docker.smoke import check_answer, example_request

    request = example_request(ctx.model)
    if request is None:
        progress.warn("the model has no saved input example; /invocations was not smoke-tested")
        return
    body, rows = request
    req = urllib.request.Request(url + "/invocations", data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")[:500]
        raise ApplyError(f"smoke test: POST {url}/invocations with the model's input example answered {exc.code}: {text}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ApplyError(f"smoke test: POST {url}/invocations failed: {exc}") from None
    problem = check_answer(ctx.model.signature, answer, rows)
    if problem:
        raise ApplyError(f"smoke test: the answer to the model's input example does not fit the output signature: {problem}")
    progress.done("smoke test: the input example's answer fits the output signature")


# --- apply, destroy ------------------------------------------------------------------------------------


def remove(name: str) -> None:
    _docker("rm", "--force", name)


def start(ctx: RenderContext, body: Mapping[str, Any], name: str, secrets: Mapping[str, str], *,
          port: int | None = None) -> None:
    proc = _docker(*run_arguments(ctx, body, name, port=port), env={**os.environ, **secrets})
    if proc.returncode != 0:
        remove(name)
        raise ApplyError(f"docker run failed: {proc.stderr.strip()[-500:]}")


def apply(ctx: RenderContext, artifacts: list[Artifact], image: str, progress: Progress,
          timeout: float = READY_TIMEOUT) -> ApplyResult:
    """Build, then start the container, replacing the one there: the old one is stopped and set aside
    (renamed) while the new one starts; if the new one fails to start, answer /ping or pass the smoke
    test, it is removed and the old one is renamed back and started again."""
    secrets = secret_environment(ctx)
    env_file_path(ctx)
    check_engine()
    body = desired_body(ctx, artifacts, image)
    name = body["name"]
    old = inspect(name)
    build_image(ctx, artifacts, image, progress)
    aside = f"{name}.replaced"
    if old is not None:
        if inspect(aside) is not None:
            remove(aside)
        progress.step(f"setting the running container {name} aside while the new one starts")
        _docker("stop", "--time", "10", name, timeout=60)
        renamed = _docker("rename", name, aside)
        if renamed.returncode != 0:
            _docker("start", name)
            raise ApplyError(f"docker rename {name} failed: {renamed.stderr.strip()}")
    url = url_of(body)
    try:
        progress.step(f"docker run --name {name} {image}")
        start(ctx, body, name, secrets)
        wait_ready(name, url, progress, timeout=timeout)
        smoke_test(ctx, url, progress)
    except BaseException:
        remove(name)
        if old is not None:
            _docker("rename", aside, name)
            _docker("start", name)
            progress.warn(f"the new container failed; the previous {name} runs again")
        raise
    if old is not None:
        remove(aside)
    progress.done(f"{name} serves on {url}")
    return ApplyResult(changed=(f"{KIND}.{name}",), outputs={"image": image, "url": url, "container": name})


def destroy(ctx: RenderContext, progress: Progress) -> ApplyResult:
    """Stop and remove exactly this deployment's container (by name, checked by its labels)."""
    name = container_name(ctx)
    data = inspect(name)
    if data is None:
        progress.done(f"{name}: nothing to destroy")
        return ApplyResult()
    labels = data["Config"].get("Labels") or {}
    if labels.get(LABEL + "deployment") != ctx.spec.name or labels.get(LABEL + "environment", "") != (ctx.env or ""):
        raise ApplyError(f"container {name} belongs to another modeldeploy deployment ({labels.get(LABEL + 'deployment')}); not removing it")
    proc = _docker("rm", "--force", str(data["Id"]))
    if proc.returncode != 0:
        raise ApplyError(f"docker rm {name} failed: {proc.stderr.strip()}")
    progress.done(f"{name}: container removed")
    return ApplyResult(changed=(f"{KIND}.{name}",))


# --- serve in the foreground ----------------------------------------------------------------------------


def serve(ctx: RenderContext, artifacts: list[Artifact], image: str, progress: Progress, *,
          port: int | None = None, out: Any = None, timeout: float = READY_TIMEOUT) -> int:
    """``modeldeploy serve``: build, run ``NAME-serve`` with the logs streamed until Ctrl-C or SIGTERM,
    then stop and remove it (also when the build, the start or the wait fails). Returns the
    container's exit code when it stopped by itself, else 0."""
    import signal
    import sys

    out = out or sys.stdout
    secrets = secret_environment(ctx)
    env_file_path(ctx)
    check_engine()
    body = desired_body(ctx, artifacts, image)
    if port is not None:
        body["port"] = port
    name = f"{body['name']}-serve"
    existing = inspect(name)
    if existing is not None:
        raise ApplyError(f"a container {name} is already serving this deployment", hint=f"stop that serve (or: docker rm -f {name})")
    build_image(ctx, artifacts, image, progress)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    follower: subprocess.Popen | None = None
    try:
        progress.step(f"docker run --name {name} {image}")
        start(ctx, body, name, secrets)
        url = url_of(body)
        follower = subprocess.Popen([docker_cli(), "logs", "--follow", name], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
        import threading

        def _pump() -> None:
            assert follower is not None and follower.stdout is not None
            for line in follower.stdout:
                out.write(line)
                out.flush()

        pump = threading.Thread(target=_pump, daemon=True)
        pump.start()
        wait_ready(name, url, progress, timeout=timeout)
        progress.done(f"serving on {url} (Ctrl-C stops and removes the container)")
        # Until the container stops by itself (a crash) or Ctrl-C/SIGTERM interrupts this wait.
        proc = subprocess.run([docker_cli(), "wait", name], capture_output=True, text=True, start_new_session=True)
        pump.join(timeout=5)
        code = int(proc.stdout.strip() or 0) if proc.stdout.strip().isdigit() else 1
        progress.warn(f"container {name} stopped by itself (exit {code})")
        return code or 1
    except KeyboardInterrupt:
        progress.step(f"stopping and removing {name}")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        remove(name)
        if follower is not None and follower.poll() is None:
            follower.terminate()
            follower.wait(timeout=10)
