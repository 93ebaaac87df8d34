"""Live plan at scale: N SageMaker deployments applied to moto's server, then planned with latency.

    python bench/liveplan.py [N] [LATENCY_MS]

moto runs in its own process (bench/latency_moto.py: a WSGI middleware on moto's app injects the
latency per HTTP call). The deployments are applied with no latency, then ``modeldeploy plan DIR``
(live is the SageMaker default) runs as a whole process: without latency, then with it (median of
three), then with it and a new connection per call (moto's HTTP/1.0 default). The middleware counts
the requests and the most that were in flight at once.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
REGION = "us-east-1"
BUCKET = "md-bench-artifacts"

SPEC = """\
apiVersion: modeldeploy/v1
name: {name}
model:
  source: ../../model
serving:
  env: {{LOG_LEVEL: info}}
  secrets: {{API_TOKEN: {{secret: prod/{name}, key: token}}}}
scaling: {{min_replicas: 1, max_replicas: 3, target_invocations_per_replica: 50}}
labels: {{team: ml}}
target:
  kind: sagemaker
  region: {region}
  execution_role_arn: arn:aws:iam::123456789012:role/sagemaker
  image: 123456789012.dkr.ecr.{region}.amazonaws.com/{name}:1
  artifact_bucket: {bucket}
  instance_type: ml.m5.large
"""


@dataclass(frozen=True)
class LivePlanResult:
    n: int
    latency_ms: float
    apply_s: float
    plan_no_latency_s: float
    plan_s: float
    plan_close_s: float
    requests: int
    max_in_flight: int

    @property
    def sequential_s(self) -> float:
        """What the same requests would cost one after another (latency only, no work)."""
        return self.requests * self.latency_ms / 1000


def write_specs(root: Path, n: int) -> Path:
    shutil.copytree(REPO / "examples" / "iris" / "model", root / "model")
    services = root / "services"
    for i in range(n):
        folder = services / f"ep-{i:03d}"
        folder.mkdir(parents=True)
        (folder / "deploy.yaml").write_text(SPEC.format(name=f"ep-{i:03d}", region=REGION, bucket=BUCKET))
    return services


class MotoProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [PY, str(REPO / "bench" / "latency_moto.py")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("READY"):
            self.proc.kill()
            raise RuntimeError(f"moto server did not start: {line!r}")
        _, host, port = line.split()
        self.url = f"http://{host}:{port}"

    def control(self, path: str, method: str = "POST") -> dict:
        with urllib.request.urlopen(urllib.request.Request(self.url + path, method=method)) as r:
            return json.loads(r.read())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def aws_env(url: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "MODELDEPLOY_CACHE_DIR": str(cache),
        }
    )
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> float:
    t = time.perf_counter()
    proc = subprocess.run([PY, "-m", "modeldeploy", *args], env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"modeldeploy {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def run(n: int = 100, latency_ms: float = 50.0, parallelism: int | None = None) -> LivePlanResult:
    root = Path(tempfile.mkdtemp(prefix="md-bench-live-"))
    moto = MotoProcess()
    try:
        services = write_specs(root, n)
        env = aws_env(moto.url, root / "cache")
        env["PYTHONPATH"] = str(REPO)
        subprocess.run(
            [PY, "-c", f"import boto3; boto3.client('s3', region_name='{REGION}').create_bucket(Bucket='{BUCKET}')"],
            env=env,
            check=True,
        )
        apply_s = _run(["apply", str(services), "--auto-approve"], env, root)
        extra = ["--parallelism", str(parallelism)] if parallelism else []
        plan_fast = _run(["plan", str(services), "--detailed-exitcode", *extra], env, root)
        moto.control(f"/__bench/latency/{latency_ms:g}")
        moto.control("/__bench/reset")
        plan_s = _run(["plan", str(services), "--detailed-exitcode", *extra], env, root)
        stats = moto.control("/__bench/stats", "GET")
        plan_s = statistics.median(
            [plan_s] + [_run(["plan", str(services), "--detailed-exitcode", *extra], env, root) for _ in range(2)]
        )
        moto.control("/__bench/keepalive/0")
        plan_close = _run(["plan", str(services), "--detailed-exitcode", *extra], env, root)
        return LivePlanResult(
            n, latency_ms, apply_s, plan_fast, plan_s, plan_close, stats["requests"], stats["max_in_flight"]
        )
    finally:
        moto.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 50.0
    r = run(n, latency)
    print(r, f"sequential-equivalent {r.sequential_s:.1f}s")
