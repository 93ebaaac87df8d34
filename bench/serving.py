"""Serving under load: modeldeploy's rendered image vs MLflow's `generate-dockerfile` image, same model.

    tests/docker/engine.sh run -- python bench/serving.py [--clients 8,1] [--duration 15] [--rounds 2]

Both images are built (or reused: each is tagged with a digest of its build context) on the engine
tests/docker/engine.sh starts, from the same local base, for the same model (default: the bundled
iris example). Then, round after round, each image in turn (the order alternates between rounds) is
run alone with the same `--cpus` (default: 2, or the machine's CPUs if fewer) and `--network host`,
and driven with POST /invocations of one fixed dataframe_split payload from N concurrent clients
(threads, each with its own keep-alive http.client connection) for a fixed time after a short
warm-up. Neither image is told how many workers to run: MLflow's runs one per CPU of the machine,
modeldeploy's one per CPU of the container's limit.

Before any load, both containers are started side by side and must answer the payload alike (the
bench stops otherwise); under load every answer must be a 200 with that same body.

Per image and client count: requests/s, p50 and p99 latency, and the container's memory (the largest
`docker stats --no-stream` sample taken during the load). Printed as a Markdown table of the medians
over the rounds with the ratios modeldeploy ÷ MLflow. The clients run on the same machine as the
servers and take CPU from them alike. Containers are removed at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e import engine as eng  # noqa: E402  (the same build plumbing the e2e tests use)

# MLflow's image listens where its nginx.conf and container module say: nginx on 8080 in front of
# uvicorn on 8000. With --network host those ports must be free on the machine.
MLFLOW_PORTS = (8080, 8000)
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3], [5.0, 3.4, 1.5, 0.2], [6.0, 2.2, 5.0, 1.5]]
PAYLOAD = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": ROWS}}).encode()
HEADERS = {"Content-Type": "application/json"}
LABEL = "io.modeldeploy.bench=serving"


def _context_digest(context: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(context)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _image(context: Path, label: str, rebuild: bool) -> str:
    """Build ``context`` unless an image of this exact build context is already tagged."""
    tag = f"md-bench/serving-{label}:{_context_digest(context)}"
    if not rebuild and eng.docker("image", "inspect", tag, check=False).returncode == 0:
        print(f"{label}: reusing {tag}", file=sys.stderr)
        return tag
    for image in eng.from_images(context / "Dockerfile"):
        eng.docker("tag", os.environ["MODELDEPLOY_TEST_BASE_IMAGE"], image)
    start = time.monotonic()
    eng.docker("build", "--network", "host", "-t", tag, str(context), timeout=3600)
    print(f"{label}: built {tag} in {time.monotonic() - start:.0f} s", file=sys.stderr)
    return tag


def _post(port: int, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request("POST", "/invocations", body=PAYLOAD, headers=HEADERS)
        resp = c.getresponse()
        return resp.status, resp.read()
    finally:
        if own:
            c.close()


class Server:
    """One container of an image, alone on the host network; removed by stop()."""

    def __init__(self, label: str, image: str, cpus: str):
        self.label = label
        self.name = f"md-bench-serving-{label}-{uuid.uuid4().hex[:8]}"
        if label == "mlflow":
            for p in MLFLOW_PORTS:
                if not _port_free(p):
                    raise SystemExit(
                        f"serving bench: port {p} is in use on this machine; MLflow's image "
                        f"needs {MLFLOW_PORTS[0]} and {MLFLOW_PORTS[1]} on the host network"
                    )
            self.port = MLFLOW_PORTS[0]
            args: list[str] = []
            env: list[str] = []
        else:
            self.port = eng.free_port()
            args = ["serve"]
            env = ["-e", f"MODELDEPLOY_PORT={self.port}"]
        self.started = False
        eng.docker(
            "run",
            "--detach",
            "--name",
            self.name,
            "--label",
            LABEL,
            "--network",
            "host",
            "--cpus",
            cpus,
            *env,
            image,
            *args,
        )
        self.started = True

    def wait_ready(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = json.loads(eng.docker("inspect", self.name).stdout)[0]["State"]
            if not state["Running"]:
                raise SystemExit(f"serving bench: {self.label} exited ({state['ExitCode']}):\n{self.logs()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/ping")
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"serving bench: {self.label} did not answer /ping within {timeout:.0f} s:\n{self.logs()}")

    def logs(self) -> str:
        proc = eng.docker("logs", self.name, check=False)
        return (proc.stdout + proc.stderr)[-3000:]

    def memory_mib(self) -> float | None:
        proc = eng.docker("stats", "--no-stream", "--format", "{{.MemUsage}}", self.name, check=False)
        m = re.match(r"\s*([\d.]+)\s*([KMGT]?i?B)", proc.stdout)
        if proc.returncode != 0 or not m:
            return None
        scale = {
            "B": 1 / 2**20,
            "KiB": 1 / 1024,
            "MiB": 1.0,
            "GiB": 1024.0,
            "TiB": 1024.0**2,
            "kB": 1e3 / 2**20,
            "KB": 1e3 / 2**20,
            "MB": 1e6 / 2**20,
            "GB": 1e9 / 2**20,
        }
        return float(m.group(1)) * scale.get(m.group(2), 1.0)

    def stop(self) -> None:
        if self.started:
            eng.docker("rm", "--force", self.name, check=False)
            self.started = False


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _drive(server: Server, clients: int, seconds: float, expected: bytes) -> dict:
    """``clients`` threads posting the payload back to back for ``seconds``; memory sampled meanwhile."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = [0.0]
    go = threading.Barrier(clients + 1)

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        mine = latencies[i]
        go.wait()
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at[0]:
                    break
                status, body = _post(server.port, conn)
                mine.append(time.perf_counter() - t0)
                if status != 200 or body != expected:
                    errors.append(f"{status} {body[:200]!r}")
                    break
        except OSError as e:
            errors.append(repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    memory: list[float] = []
    start = time.perf_counter()
    stop_at[0] = start + seconds
    go.wait()
    while time.perf_counter() < stop_at[0]:
        mib = server.memory_mib()
        if mib is not None:
            memory.append(mib)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"serving bench: {server.label} answered wrongly under load: {errors[0]}")
    lat = sorted(x for per in latencies for x in per)
    if not lat:
        raise SystemExit(f"serving bench: {server.label} answered no request in {seconds} s")
    return {
        "rps": len(lat) / elapsed,
        "p50": lat[len(lat) // 2] * 1e3,
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
        "mem": max(memory) if memory else float("nan"),
        "n": len(lat),
    }


def _check_answers(images: dict[str, str], cpus: str, servers: list[Server]) -> bytes:
    """Both images answer the payload alike (compared as JSON); returns the body each must repeat."""
    started = {}
    for label, image in images.items():
        s = Server(label, image, cpus)
        servers.append(s)
        started[label] = s
    answers = {}
    for label, s in started.items():
        s.wait_ready()
        status, body = _post(s.port)
        if status != 200:
            raise SystemExit(f"serving bench: {label} answered {status}: {body[:500]!r}")
        answers[label] = body
        s.stop()
    ours, theirs = (json.loads(answers[k]) for k in ("modeldeploy", "mlflow"))
    if ours != theirs:
        raise SystemExit(f"serving bench: the images answer differently: modeldeploy {ours}, mlflow {theirs}")
    print(f"both answer {answers['mlflow'].decode()}", file=sys.stderr)
    return answers["modeldeploy"] if answers["modeldeploy"] == answers["mlflow"] else b""


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("deploy", nargs="?", default=str(REPO / "examples" / "iris" / "deploy.yaml"))
    ap.add_argument("--clients", default="8,1", help="comma-separated client counts (default 8,1)")
    ap.add_argument("--duration", type=float, default=15.0, help="seconds of load per measurement")
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before each measurement")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--cpus", default=str(min(2, os.cpu_count() or 1)))
    ap.add_argument("--rebuild", action="store_true", help="build even if an image of the same context exists")
    args = ap.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    reason = eng.unavailable_reason()
    if reason:
        print(f"serving bench: {reason}", file=sys.stderr)
        return 2

    def on_term(signum, frame):  # removed in `finally`, as on Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    work = Path(tempfile.mkdtemp(prefix="md-bench-serving-"))
    servers: list[Server] = []
    try:
        ours = eng.render(Path(args.deploy), work / "ours")
        try:
            theirs = eng.mlflow_context(ours / "model", work / "mlflow")
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
        images = {
            "modeldeploy": _image(ours, "modeldeploy", args.rebuild),
            "mlflow": _image(theirs, "mlflow", args.rebuild),
        }
        same_bytes = _check_answers(images, args.cpus, servers)
        results: dict[tuple[str, int], list[dict]] = {}
        for r in range(args.rounds):
            order = ["modeldeploy", "mlflow"] if r % 2 == 0 else ["mlflow", "modeldeploy"]
            for label in order:
                s = Server(label, images[label], args.cpus)
                servers.append(s)
                s.wait_ready()
                status, expected = _post(s.port)
                if status != 200 or (same_bytes and expected != same_bytes):
                    raise SystemExit(f"serving bench: {label} answered {status}: {expected[:300]!r}")
                for n in clients:
                    _drive(s, n, args.warmup, expected)
                    m = _drive(s, n, args.duration, expected)
                    results.setdefault((label, n), []).append(m)
                    print(
                        f"round {r + 1} {label} {n} client(s): {m['rps']:.0f} req/s, p50 {m['p50']:.1f} ms, "
                        f"p99 {m['p99']:.1f} ms, {m['mem']:.0f} MiB ({m['n']} requests)",
                        file=sys.stderr,
                    )
                s.stop()
        med = {
            k: {f: statistics.median(m[f] for m in v) for f in ("rps", "p50", "p99", "mem")} for k, v in results.items()
        }
        load = os.getloadavg()
        print(
            f"\n{args.rounds} rounds, {args.duration:.0f} s each, --cpus {args.cpus}, medians; "
            f"load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
        )
        print("| serving (same model, same payload) | modeldeploy | mlflow image | ratio |")
        print("|---|---:|---:|---:|")
        for n in clients:
            a, b = med[("modeldeploy", n)], med[("mlflow", n)]
            print(f"| {n} client(s): requests/s | {a['rps']:.0f} | {b['rps']:.0f} | {a['rps'] / b['rps']:.2f}× |")
            print(
                f"| {n} client(s): p50 latency | {a['p50']:.1f} ms | {b['p50']:.1f} ms | {a['p50'] / b['p50']:.2f}× |"
            )
            print(
                f"| {n} client(s): p99 latency | {a['p99']:.1f} ms | {b['p99']:.1f} ms | {a['p99'] / b['p99']:.2f}× |"
            )
            print(
                f"| {n} client(s): container memory (max) | {a['mem']:.0f} MiB | {b['mem']:.0f} MiB "
                f"| {a['mem'] / b['mem']:.2f}× |"
            )
        return 0
    except KeyboardInterrupt:
        print("serving bench: interrupted", file=sys.stderr)
        return 130
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
