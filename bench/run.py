"""modeldeploy benchmarks: each result is a ratio measured side by side in one run on this machine.

    python bench/run.py            # all benchmarks, prints a Markdown table
    python bench/run.py startup    # any of: startup, render, monorepo, memory, digest, liveplan, evaluation

- startup: `modeldeploy --help` (goal ≤ 1.0×) and `modeldeploy validate` of the example (one spec,
  its model read and hashed: the digest cache is emptied before every run; goal ≤ 1.5×) vs the bare
  import of typer+pydantic+yaml+jinja2 (the floor any CLI built on them pays). `import pydantic`
  alone loads almost nothing (pydantic imports lazily), so a second floor also loads what validating
  anything with pydantic needs (BaseModel and its schema builder, via one TypeAdapter), for comparison.
- render: `modeldeploy render` of the bundled example (docker target) vs `mlflow models
  generate-dockerfile` on the same model (needs mlflow installed). Goal ≥ 20× faster. The second
  floor is timed with them: MLflow's time over it is the ceiling of any render that imports the same
  libraries and validates with pydantic.

- monorepo: over a generated monorepo of 1,000 deploy.yaml files (bench/monorepo.py), committed to a
  git repository: `render --jobs 1` and `render` (default --jobs: the CPUs available), their outputs
  compared byte for byte, the peak RSS and CPU time of each whole process tree (goal ≤ 8 s, < 500 MB);
  `validate`; `plan --against` the rendered folder; `plan --against git:HEAD` with `--jobs 1` and the
  default, their outputs compared (goal ≤ 12 s).
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

Start-up and render timings are medians of runs of whole processes (cold interpreter each time), the
commands measured in turn (A B C A B C ...) so a change in the machine's load touches them alike;
monorepo and live plan are single whole-process runs (they take seconds each).

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
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
EXAMPLE = REPO / "examples" / "iris"
LOADED_FLOOR = "import typer, yaml, jinja2; from pydantic import BaseModel, TypeAdapter; TypeAdapter(int)"


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
    return (
        f"{platform.machine()} {cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
        f"{platform.system()}{load}"
    )


def alternating(
    cmds: dict[str, list[str]], runs: int, env: dict[str, str] | None = None, before: Callable[[], None] | None = None
) -> dict[str, float]:
    """Median wall time of each command, the commands run in turn (A B C A B C ...) so a change in
    the machine's load touches them all alike. ``before`` runs ahead of every run (e.g. emptying a cache)."""
    samples: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            if before is not None:
                before()
            t = time.perf_counter()
            subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in samples.items()}


def bench_startup(runs: int = 21) -> list[tuple[str, float, float, str]]:
    cache = Path(tempfile.mkdtemp(prefix="md-bench-cache-"))
    env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(cache)}
    spec = str(EXAMPLE / "deploy.yaml")
    try:
        m = alternating(
            {
                "floor": [PY, "-c", "import typer, pydantic, yaml, jinja2"],
                "loaded": [PY, "-c", LOADED_FLOOR],
                "help": [PY, "-m", "modeldeploy", "--help"],
                "validate": [PY, "-m", "modeldeploy", "validate", "--env", "prod", spec],
                "offline": [PY, "-m", "modeldeploy", "validate", "--offline", "--env", "prod", spec],
            },
            runs,
            env,
            before=lambda: (cache / "digests.json").unlink(missing_ok=True),
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    floor = m["floor"]
    return [
        ("import floor (typer+pydantic+yaml+jinja2)", floor, 1.0, "baseline"),
        (
            "import floor with pydantic's validation loaded (BaseModel, one TypeAdapter)",
            m["loaded"],
            m["loaded"] / floor,
            "for comparison",
        ),
        ("modeldeploy --help", m["help"], m["help"] / floor, "≤ 1.0×"),
        (
            "modeldeploy validate (one spec, its model read and hashed, no digest cache)",
            m["validate"],
            m["validate"] / floor,
            "≤ 1.5×",
        ),
        ("modeldeploy validate --offline (the file only)", m["offline"], m["offline"] / floor, "for comparison"),
    ]


def bench_render(runs: int = 7) -> list[tuple[str, float, float, str]]:
    out = Path(tempfile.mkdtemp(prefix="md-bench-"))
    try:
        mlflow = shutil.which("mlflow") or str(Path(PY).parent / "mlflow")
        cmds = {
            "ours": [PY, "-m", "modeldeploy", "render", str(EXAMPLE / "deploy.yaml"), "-o", str(out / "ours")],
            # What any render built on the product's stack pays before its own work: the CLI and
            # template libraries imported and pydantic's validation loaded. MLflow's time over this is
            # the most a render that validates deploy.yaml with pydantic could reach.
            "loaded": [PY, "-c", LOADED_FLOOR],
        }
        if Path(mlflow).exists():
            cmds["mlflow"] = [
                mlflow,
                "models",
                "generate-dockerfile",
                "-m",
                str(EXAMPLE / "model"),
                "-d",
                str(out / "mlflow"),
            ]
        m = alternating(cmds, runs)
        if "mlflow" not in m:
            return [("modeldeploy render example", m["ours"], 1.0, "mlflow not installed: no comparison")]
        return [
            ("mlflow models generate-dockerfile", m["mlflow"], 1.0, "baseline"),
            ("modeldeploy render example (docker target)", m["ours"], m["mlflow"] / m["ours"], "≥ 20× faster"),
            (
                "ceiling: the import floor with pydantic's validation loaded, and nothing else",
                m["loaded"],
                m["mlflow"] / m["loaded"],
                "for comparison",
            ),
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


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc; pages shared after fork
    are counted in each process, so this is an upper bound)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21])
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, ()))
    return total * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _run_tree(cmd: list[str], env: dict[str, str], cwd: Path, stdout: Path | None = None) -> tuple[float, float, float]:
    """Wall time, peak RSS (sampled every 20 ms) and CPU seconds (user + system, workers included)
    of the whole process tree; its standard output goes to ``stdout`` when given."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with (
        tempfile.TemporaryFile("w+") as log,
        open(stdout or os.devnull, "w") as out,
    ):  # not pipes: a full pipe would stall it
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=log, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            time.sleep(0.02)
        elapsed = time.perf_counter() - t
        log.seek(0)
        err = log.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(cmd[2:5])}… failed ({proc.returncode}): {err[-1500:]}")
    return elapsed, peak, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    return files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) and all(
        (a / f).read_bytes() == (b / f).read_bytes() for f in files
    )


def bench_monorepo(n: int = 1000) -> list[tuple[str, float | str, float, str]]:
    """render (serial and with --jobs defaulting to the CPUs), validate, plan against the rendered
    folder and against git:HEAD, over a generated monorepo of n specs (bench/monorepo.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from monorepo import generate

    from modeldeploy.runs import available_cpus

    tmp = Path(tempfile.mkdtemp(prefix="md-bench-mono-"))
    try:
        paths = generate(tmp, n)
        targets = sorted({p.read_text().split("kind: ", 1)[1].split()[0] for p in paths[:8]})
        env = {**os.environ, "MODELDEPLOY_CACHE_DIR": str(tmp / "cache")}
        md = [PY, "-m", "modeldeploy"]
        git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
        subprocess.run([*git, "init", "-q"], cwd=tmp, check=True)
        subprocess.run([*git, "add", "services", "models"], cwd=tmp, check=True)
        subprocess.run([*git, "commit", "-qm", "monorepo"], cwd=tmp, check=True)
        cpus = available_cpus()
        _once([*md, "validate", "services"], env, tmp)  # warm the digest cache and the disk's page cache
        serial, serial_rss, serial_cpu = _run_tree(
            [*md, "render", "services", "-o", str(tmp / "serial"), "--jobs", "1"], env, tmp
        )
        par, par_rss, par_cpu = _run_tree([*md, "render", "services", "-o", str(tmp / "parallel")], env, tmp)
        identical = _same_tree(tmp / "serial", tmp / "parallel")
        validate = _once([*md, "validate", "services"], env, tmp)
        plan_dir = _once([*md, "plan", "services", "--against", str(tmp / "parallel")], env, tmp)
        git_cmd = [*md, "plan", "services", "--against", "git:HEAD"]
        git_1, git_1_rss, git_1_cpu = _run_tree([*git_cmd, "--jobs", "1"], env, tmp, tmp / "plan-1.txt")
        git_n, git_n_rss, git_n_cpu = _run_tree(git_cmd, env, tmp, tmp / "plan-n.txt")
        same_plan = (tmp / "plan-1.txt").read_bytes() == (tmp / "plan-n.txt").read_bytes()
        kinds = ", ".join(targets)
        return [
            (f"render monorepo, {n} specs ({kinds}), --jobs 1 ({serial_cpu:.1f} s CPU)", serial, 1.0, "baseline"),
            (
                f"render monorepo, {n} specs, --jobs {cpus} (default: CPUs available; {par_cpu:.1f} s CPU); "
                f"output byte-identical: {'yes' if identical else 'NO'}",
                par,
                serial / par,
                "≤ 8 s",
            ),
            (
                "  peak RSS of the process tree, --jobs 1 / default",
                f"{serial_rss:.0f} / {par_rss:.0f} MiB",
                1.0,
                "< 500 MB",
            ),
            (f"validate monorepo, {n} specs", validate, 1.0, "for comparison"),
            (f"plan monorepo, {n} specs, against the rendered folder", plan_dir, 1.0, "for comparison"),
            (
                f"plan monorepo, {n} specs, against git:HEAD, --jobs 1 ({git_1_cpu:.1f} s CPU, peak RSS {git_1_rss:.0f} MiB)",
                git_1,
                1.0,
                "baseline",
            ),
            (
                f"plan monorepo, {n} specs, against git:HEAD, --jobs {cpus} ({git_n_cpu:.1f} s CPU, peak RSS {git_n_rss:.0f} MiB); "
                f"output identical: {'yes' if same_plan else 'NO'}",
                git_n,
                git_1 / git_n,
                "≤ 12 s",
            ),
        ]
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
            (
                f"the same with a {model_mib} MiB file in the model {users} of them share: peak RSS",
                f"{after:.0f} MiB",
                (after - before) / model_mib,
                "growth < 1× the model",
            ),
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
        (
            f"plan {r.n} live, {r.latency_ms:g} ms/call ({r.requests} calls, ≤ {r.max_in_flight} in flight; "
            f"{r.sequential_s:.0f} s one after another)",
            r.plan_s,
            r.sequential_s / r.plan_s,
            "≤ 3 s",
        ),
        (
            f"plan {r.n} live, {r.latency_ms:g} ms/call, a new connection per call (moto's HTTP/1.0)",
            r.plan_close_s,
            r.sequential_s / r.plan_close_s,
            "for comparison",
        ),
    ]


def bench_evaluation() -> list[tuple[str, float, float, str]]:
    sys.path.insert(0, str(REPO / "bench"))
    from evaluation import CATEGORICAL, NUMERIC, ROWS, measure

    analysis, floor = measure()
    return [
        (
            f"evaluation analysis, {ROWS:,} rows × {NUMERIC + CATEGORICAL} features (vs one bare tree fit)",
            analysis,
            analysis / floor,
            "≤ 2 s",
        ),
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
