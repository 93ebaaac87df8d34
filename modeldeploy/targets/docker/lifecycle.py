"""Deploy locally, the lifecycle: build, start (or replace) the deployment's container, wait for /ping,
smoke-test it, destroy it, or serve it in the foreground. What is wanted and what runs (names,
labels, ``docker inspect`` read-back, ``docker run`` arguments, secrets) is in ``local.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from modeldeploy.errors import ApplyError
from modeldeploy.planning.resources import ApplyResult
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.context import RenderContext
from modeldeploy.targets.docker.local import (
    KIND,
    LABEL,
    READY_TIMEOUT,
    check_engine,
    container_name,
    desired_body,
    docker_call,
    docker_cli,
    docker_target,
    env_file_path,
    inspect,
    run_arguments,
    secret_environment,
    url_of,
)

if TYPE_CHECKING:  # pragma: no cover
    from modeldeploy.progress import Progress


# --- build, wait, smoke test ---------------------------------------------------------------------------


def build_image(ctx: RenderContext, artifacts: list[Artifact], image: str, progress: Progress) -> None:
    """The one image-build path (targets/docker/build.py) with this target's platform and build options."""
    from modeldeploy.targets.docker import build

    target = docker_target(ctx)
    build.build_image(artifacts, image, progress, platform=target.platform, build=target.build, docker=docker_cli())


def logs(name: str, lines: int = 30) -> str:
    proc = docker_call("logs", "--tail", str(lines), name)
    return (proc.stdout + proc.stderr).strip()


def wait_ready(
    name: str, url: str, progress: Progress, timeout: float = READY_TIMEOUT, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Poll ``url``/ping until it answers 200 (the container still running), at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    with progress.wait(f"waiting for {url}/ping (at most {int(timeout)} s)") as handle:
        while True:
            state = json.loads(docker_call("container", "inspect", "--format", "{{json .State}}", name).stdout or "{}")
            if not state.get("Running"):
                raise ApplyError(
                    f"container {name} exited (code {state.get('ExitCode')}) before answering; its last lines:\n{logs(name)}"
                )
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
                raise ApplyError(
                    f"{url}/ping did not answer within {int(timeout)} s; the container's last lines:\n{logs(name)}"
                )
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
    req = urllib.request.Request(
        url + "/invocations", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")[:500]
        raise ApplyError(
            f"smoke test: POST {url}/invocations with the model's input example answered {exc.code}: {text}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ApplyError(f"smoke test: POST {url}/invocations failed: {exc}") from None
    problem = check_answer(ctx.model.signature, answer, rows)
    if problem:
        raise ApplyError(
            f"smoke test: the answer to the model's input example does not fit the output signature: {problem}"
        )
    progress.done("smoke test: the input example's answer fits the output signature")


# --- apply, destroy ------------------------------------------------------------------------------------


def remove(name: str) -> None:
    docker_call("rm", "--force", name)


def start(
    ctx: RenderContext, body: Mapping[str, Any], name: str, secrets: Mapping[str, str], *, port: int | None = None
) -> None:
    proc = docker_call(*run_arguments(ctx, body, name, port=port), env={**os.environ, **secrets})
    if proc.returncode != 0:
        remove(name)
        raise ApplyError(f"docker run failed: {proc.stderr.strip()[-500:]}")


def apply(
    ctx: RenderContext, artifacts: list[Artifact], image: str, progress: Progress, timeout: float = READY_TIMEOUT
) -> ApplyResult:
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
        docker_call("stop", "--time", "10", name, timeout=60)
        renamed = docker_call("rename", name, aside)
        if renamed.returncode != 0:
            docker_call("start", name)
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
            docker_call("rename", aside, name)
            docker_call("start", name)
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
        raise ApplyError(
            f"container {name} belongs to another modeldeploy deployment ({labels.get(LABEL + 'deployment')}); not removing it"
        )
    proc = docker_call("rm", "--force", str(data["Id"]))
    if proc.returncode != 0:
        raise ApplyError(f"docker rm {name} failed: {proc.stderr.strip()}")
    progress.done(f"{name}: container removed")
    return ApplyResult(changed=(f"{KIND}.{name}",))


# --- serve in the foreground ----------------------------------------------------------------------------


def serve(
    ctx: RenderContext,
    artifacts: list[Artifact],
    image: str,
    progress: Progress,
    *,
    port: int | None = None,
    out: Any = None,
    timeout: float = READY_TIMEOUT,
) -> int:
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
        raise ApplyError(
            f"a container {name} is already serving this deployment", hint=f"stop that serve (or: docker rm -f {name})"
        )
    build_image(ctx, artifacts, image, progress)

    def _terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    follower: subprocess.Popen | None = None
    try:
        progress.step(f"docker run --name {name} {image}")
        start(ctx, body, name, secrets)
        url = url_of(body)
        follower = subprocess.Popen(
            [docker_cli(), "logs", "--follow", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
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
