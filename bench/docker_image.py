"""Image size and build time: modeldeploy's rendered image vs `mlflow models generate-dockerfile`.

    tests/docker/engine.sh run -- python bench/docker_image.py [deploy.yaml]

Both images are built on the same engine from the same local base (the Debian python image
tests/docker/engine.sh makes, tagged to whatever `FROM python:…` each Dockerfile names), for the same
model (default: the bundled iris example, its requirements naming the full `mlflow==<version>` as
MLflow's `log_model` writes them), one after the other:

- cold build: `docker build --no-cache` (every dependency downloaded and installed);
- model-only rebuild: one byte appended to a model file that no loader reads, then `docker build`
  with the cache (what a new model version costs);
- image size: `docker image inspect` Size.

Printed as a Markdown table with the ratios modeldeploy ÷ MLflow (goals: size ≤ 0.5×, cold build
≤ 0.7×, model-only rebuild ≤ 15 s). One run on a shared machine: read the ratios, not the seconds.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e import engine as eng  # noqa: E402  (the same build plumbing the e2e tests use)


def _build(context: Path, tag: str, *, cold: bool) -> float:
    for image in eng.from_images(context / "Dockerfile"):
        eng.docker("tag", os.environ["MODELDEPLOY_TEST_BASE_IMAGE"], image)
    args = ["build", "--network", "host", "-t", tag]
    if cold:
        args.append("--no-cache")
    start = time.monotonic()
    eng.docker(*args, str(context), timeout=3600)
    return time.monotonic() - start


def _size_mb(tag: str) -> float:
    return int(eng.docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()) / 1e6


def _touch_model(model_dir: Path) -> None:
    with open(model_dir / "MODEL_CHANGE_MARKER", "a") as f:
        f.write("x")


def _as_logged(example: Path, dest: Path) -> Path:
    """A copy of the example whose model names the full ``mlflow==<its version>`` in requirements.txt,
    as ``mlflow.<flavor>.log_model`` writes it (the bundled example names mlflow-skinny)."""
    shutil.copytree(example, dest)
    reqs = dest / "model" / "requirements.txt"
    lines = reqs.read_text().splitlines()
    lines = [("mlflow" + line[len("mlflow-skinny") :]) if line.startswith("mlflow-skinny") else line for line in lines]
    reqs.write_text("\n".join(lines) + "\n")
    return dest / "deploy.yaml"


def main(argv: list[str]) -> int:
    reason = eng.unavailable_reason()
    if reason:
        print(f"docker_image bench: {reason}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="md-bench-docker-"))
    try:
        deploy = Path(argv[0]) if argv else _as_logged(REPO / "examples" / "iris", work / "example")
        ours = eng.render(deploy, work / "ours")
        try:
            theirs = eng.mlflow_context(ours / "model", work / "mlflow")
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        rows = {}
        for label, context, model_dir in (
            ("modeldeploy", ours, ours / "model"),
            ("mlflow", theirs, theirs / "model_dir" / "model"),
        ):
            tag = f"md-bench/{label}:latest"
            cold = _build(context, tag, cold=True)
            size = _size_mb(tag)
            _touch_model(model_dir)
            rebuild = _build(context, tag, cold=False)
            rows[label] = (cold, rebuild, size)
            print(f"{label}: cold {cold:.1f} s, model-only rebuild {rebuild:.1f} s, {size:.0f} MB", file=sys.stderr)
        (mc, mr, ms), (fc, fr, fs) = rows["modeldeploy"], rows["mlflow"]
        print("| image (same model, same local base) | modeldeploy | mlflow generate-dockerfile | ratio | goal |")
        print("|---|---|---|---|---|")
        print(f"| image size | {ms:,.0f} MB | {fs:,.0f} MB | {ms / fs:.2f}× | ≤ 0.5× |")
        print(f"| cold build | {mc:.0f} s | {fc:.0f} s | {mc / fc:.2f}× | ≤ 0.7× |")
        print(f"| model-only rebuild | {mr:.1f} s | {fr:.1f} s | {mr / fr:.2f}× | ≤ 15 s |")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
