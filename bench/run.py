"""modeldeploy benchmarks: each result is a ratio measured side by side in one run on this machine.

    python bench/run.py            # all benchmarks, prints a Markdown table
    python bench/run.py startup    # any of: startup, render, monorepo, memory, digest, liveplan, evaluation

- startup: `modeldeploy --help` and `modeldeploy validate --offline` vs the bare import of
  typer+pydantic+yaml+jinja2 (the floor any CLI built on them pays). Goal ≤ 1.3×. `import pydantic`
  alone loads almost nothing (pydantic imports lazily), so a second floor also loads what validating
  anything with pydantic needs (BaseModel and its schema builder, via one TypeAdapter): validate is
  reported against both.
- render: `modeldeploy render` of the bundled example vs `mlflow models generate-dockerfile` on the
  same model (needs mlflow installed). Goal ≥ 20× faster.

- monorepo: `render DIR -o OUT`, `validate DIR` and `plan DIR --against OUT` over a generated monorepo
  (bench/monorepo.py) of 100 and of 1,000 deploy.yaml files, each one process. Goals: 1,000 specs
  ≤ 20 s, and 1,000 vs 100 within 11×.
- memory: peak RSS (wait4) of `plan` over a 100-spec monorepo, then again after a 256 MiB file is
  added to the model a third of them share. Goal: growth well under one copy of the model (a plan
  holds no model bytes; it used to hold one copy per deploy.yaml).
- digest: `model_digest` (no cache) vs `sha256sum` over the same ~400 MB of files (bench/digest.py),
  as a throughput ratio (goal ≥ 0.8×), plus the cached re-digest.
- liveplan: 100 SageMaker deployments applied to moto's server, then `plan` (live) with 50 ms injected
  per HTTP call (bench/liveplan.py), median of three, over kept-alive connections as AWS serves them;
  and once more with a new connection per call (moto's own HTTP/1.0 server). Goal ≤ 3 s; the ratio is
  the effective concurrency (what the same calls cost one after another ÷ the plan's time).
- evaluation: the evaluation gate's analysis (metrics, error tree, heatmap, fairness, checks) of 10,000
  rows × 20 features, scoring excluded (bench/evaluation.py), vs one bare scikit-learn tree fit on the
  same rows. Goal ≤ 2 s.

Start-up and render timings are medians of repeated runs of whole processes (cold interpreter each
time); monorepo and live plan are single whole-process runs (they take seconds each).

modeldeploy's own bytecode is compiled before timing, as pip does when it installs a package: an
editable checkout under PYTHONDONTWRITEBYTECODE=1 (CI machines often set it) would otherwise compile
every module from source in every run (~50 ms of a 0.27 s render here), which no installed copy pays.
"""

from __future__ import annotations

import compileall
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
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    load = f", load average {os.getloadavg()[0]:.1f} at start" if hasattr(os, "getloadavg") else ""
    return (f"{platform.machine()} {cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"{platform.system()}{load}")


def bench_startup(runs: int = 15) -> list[tuple[str, float, float, str]]:
    floor = timed([PY, "-c", "import typer, pydantic, yaml, jinja2"], runs)
    loaded = timed([PY, "-c", "import typer, yaml, jinja2; from pydantic import BaseModel, TypeAdapter; TypeAdapter(int)"], runs)
    help_ = timed([PY, "-m", "modeldeploy", "--help"], runs)
    validate = timed([PY, "-m", "modeldeploy", "validate", "--offline", str(EXAMPLE / "deploy.yaml")], runs)
    return [
        ("import floor (typer+pydantic+yaml+jinja2)", floor, 1.0, "baseline"),
        ("import floor with pydantic's validation loaded (BaseModel, one TypeAdapter)", loaded, loaded / floor, "for comparison"),
        ("modeldeploy --help", help_, help_ / floor, "≤ 1.3×"),
        ("modeldeploy validate --offline example", validate, validate / floor, "≤ 1.3×"),
        ("modeldeploy validate --offline example, vs the floor with pydantic's validation loaded", validate, validate / loaded, "for comparison"),
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


def _once(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd[2:5])}… failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return elapsed


def bench_monorepo(sizes: tuple[int, int] = (100, 1000)) -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from monorepo import generate

    tmp = Path(tempfile.mkdtemp(prefix="md-bench-mono-"))
    try:
        times: dict[tuple[str, int], float] = {}
        targets = None
        for n in sizes:
            root = tmp / f"n{n}"
            paths = generate(root, n, targets)
            targets = targets or tuple(sorted({p.read_text().split("kind: ", 1)[1].split()[0] for p in paths[:8]}))
            env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(root / "cache")}
            out = root / "rendered"
            md = [PY, "-m", "modeldeploy"]
            times["render", n] = _once([*md, "render", "services", "-o", str(out)], env, root)
            times["validate", n] = _once([*md, "validate", "services"], env, root)
            times["plan", n] = _once([*md, "plan", "services", "--against", str(out)], env, root)
        small, big = sizes
        rows = []
        for cmd in ("render", "validate", "plan"):
            rows.append((f"{cmd} monorepo, {small} specs", times[cmd, small], 1.0, "baseline"))
            rows.append((f"{cmd} monorepo, {big} specs ({', '.join(targets or ())})", times[cmd, big],
                         times[cmd, big] / times[cmd, small], f"≤ 20 s, ≤ 11× of {small}"))
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _peak_rss_mib(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    """The peak resident memory of one whole process (its own rusage, from wait4)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd[2:5])}… failed ({proc.returncode})")
    return usage.ru_maxrss / 1024  # KiB on Linux


def bench_memory(n: int = 100, model_mib: int = 256) -> list[tuple[str, float, float, str]]:
    """Peak memory of `plan` over a monorepo whose shared model gains one big weights file: a plan
    must not hold a model (or one copy of it per deploy.yaml) in memory."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from monorepo import generate

    tmp = Path(tempfile.mkdtemp(prefix="md-bench-mem-"))
    try:
        paths = generate(tmp, n)
        env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(tmp / "cache")}
        cmd = [PY, "-m", "modeldeploy", "plan", "services", "--against", str(tmp / "rendered")]
        before = _peak_rss_mib(cmd, env, tmp)
        shared = tmp / "models" / "shared-iris"
        with open(shared / "weights.bin", "wb") as f:
            for _ in range(model_mib):
                f.write(os.urandom(1 << 20))
        users = sum("models/shared-iris\n" in p.read_text() for p in paths)
        after = _peak_rss_mib(cmd, env, tmp)
        return [
            (f"plan monorepo, {n} specs: peak RSS", f"{before:.0f} MiB", 1.0, "baseline"),
            (f"the same with a {model_mib} MiB file in the model {users} of them share: peak RSS", f"{after:.0f} MiB",
             (after - before) / model_mib, "growth < 1× the model"),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_digest() -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from digest import run

    r = run(400)
    return [
        (f"sha256sum, {r.megabytes:.0f} MiB in {r.files} files", r.sha256sum_s, 1.0, "baseline"),
        ("model_digest, no cache (throughput ratio)", r.ours_s, r.ratio, "≥ 0.8×"),
        ("model_digest, cached re-digest", r.warm_s, r.sha256sum_s / r.warm_s, "no re-hash"),
    ]


def bench_liveplan() -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from liveplan import run

    r = run(100, 50.0)
    return [
        (f"apply {r.n} SageMaker deployments to moto (no latency)", r.apply_s, 1.0, "setup"),
        (f"plan {r.n} live, no latency", r.plan_no_latency_s, 1.0, "baseline"),
        (f"plan {r.n} live, {r.latency_ms:g} ms/call ({r.requests} calls, ≤ {r.max_in_flight} in flight; "
         f"{r.sequential_s:.0f} s one after another)", r.plan_s, r.sequential_s / r.plan_s, "≤ 3 s"),
        (f"plan {r.n} live, {r.latency_ms:g} ms/call, a new connection per call (moto's HTTP/1.0)",
         r.plan_close_s, r.sequential_s / r.plan_close_s, "for comparison"),
    ]


def bench_evaluation() -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(REPO / "bench"))
    from evaluation import CATEGORICAL, NUMERIC, ROWS, measure

    analysis, floor = measure()
    return [
        (f"evaluation analysis, {ROWS:,} rows × {NUMERIC + CATEGORICAL} features (vs one bare tree fit)", analysis, analysis / floor, "≤ 2 s"),
    ]


BENCHES = {
    "startup": bench_startup,
    "render": bench_render,
    "monorepo": bench_monorepo,
    "memory": bench_memory,
    "digest": bench_digest,
    "liveplan": bench_liveplan,
    "evaluation": bench_evaluation,
}


def main(argv: list[str]) -> None:
    names = argv[1:] or list(BENCHES)
    compileall.compile_dir(REPO / "modeldeploy", quiet=1)
    print(f"Machine: {machine()}\n")
    print("| benchmark | median (s, or as shown) | ratio | goal |")
    print("|---|---:|---:|---|")
    for name in names:
        for label, seconds, ratio, goal in BENCHES[name]():
            shown = seconds if isinstance(seconds, str) else f"{seconds:.3f}"
            print(f"| {label} | {shown} | {ratio:.2f}× | {goal} |", flush=True)


if __name__ == "__main__":
    main(sys.argv)
