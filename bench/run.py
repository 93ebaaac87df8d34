"""modeldeploy benchmarks: each result is a ratio measured side by side in one run on this machine.

    python bench/run.py            # all benchmarks, prints a Markdown table
    python bench/run.py startup    # one of: startup, render

- startup: `modeldeploy --help` and `modeldeploy validate --offline` vs the bare import of
  typer+pydantic+yaml+jinja2 (the floor any CLI built on them pays). Goal ≤ 1.3×.
- render: `modeldeploy render` of the bundled example vs `mlflow models generate-dockerfile` on the
  same model (needs mlflow installed). Goal ≥ 20× faster.

Timings are medians of repeated runs of whole processes (cold interpreter each time).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
EXAMPLE = REPO / "examples" / "iris"


def timed(cmd: list[str], runs: int, cwd: Path = REPO) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f", {int(f.readline().split()[1]) // 1024 // 1024} GiB RAM"
    except OSError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def bench_startup(runs: int = 15) -> list[tuple[str, float, float, str]]:
    floor = timed([PY, "-c", "import typer, pydantic, yaml, jinja2"], runs)
    help_ = timed([PY, "-m", "modeldeploy", "--help"], runs)
    validate = timed([PY, "-m", "modeldeploy", "validate", "--offline", str(EXAMPLE / "deploy.yaml")], runs)
    return [
        ("import floor (typer+pydantic+yaml+jinja2)", floor, 1.0, "baseline"),
        ("modeldeploy --help", help_, help_ / floor, "≤ 1.3×"),
        ("modeldeploy validate --offline example", validate, validate / floor, "≤ 1.3×"),
    ]


def bench_render(runs: int = 5) -> list[tuple[str, float, float, str]]:
    out = Path(tempfile.mkdtemp(prefix="md-bench-"))
    try:
        ours = timed([PY, "-m", "modeldeploy", "render", str(EXAMPLE / "deploy.yaml"), "-o", str(out / "ours")], runs)
        mlflow = shutil.which("mlflow") or str(Path(PY).parent / "mlflow")
        if not Path(mlflow).exists():
            return [("modeldeploy render example", ours, 1.0, "mlflow not installed: no comparison")]
        theirs = timed([mlflow, "models", "generate-dockerfile", "-m", str(EXAMPLE / "model"), "-d", str(out / "mlflow")], max(2, runs // 2))
        return [
            ("mlflow models generate-dockerfile", theirs, 1.0, "baseline"),
            ("modeldeploy render example", ours, theirs / ours, "≥ 20× faster"),
        ]
    finally:
        shutil.rmtree(out, ignore_errors=True)


BENCHES = {"startup": bench_startup, "render": bench_render}


def main(argv: list[str]) -> None:
    names = argv[1:] or list(BENCHES)
    print(f"Machine: {machine()}\n")
    print("| benchmark | median (s) | ratio | goal |")
    print("|---|---:|---:|---|")
    for name in names:
        for label, seconds, ratio, goal in BENCHES[name]():
            print(f"| {label} | {seconds:.3f} | {ratio:.2f}× | {goal} |", flush=True)


if __name__ == "__main__":
    main(sys.argv)
