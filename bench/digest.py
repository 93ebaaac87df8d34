"""Model digest throughput vs ``sha256sum`` on the same files, and the cached re-digest.

    python bench/digest.py [MB]

Writes a model-like folder of about MB megabytes (default 400: a few large weight files and many
small ones) into a temporary folder, deleted afterwards. Both sides read warm files (page cache),
alternating, median of 3: ``model_digest`` with no cache vs one ``sha256sum`` process over the same
files. Then the re-digest with the (path, size, mtime, inode) cache filled.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DigestResult:
    megabytes: float
    files: int
    ours_s: float
    sha256sum_s: float
    warm_s: float

    @property
    def ratio(self) -> float:
        """Our throughput as a fraction of sha256sum's (≥ 0.8 is the goal)."""
        return self.sha256sum_s / self.ours_s


def make_folder(root: Path, megabytes: int) -> list[Path]:
    big = max(1, megabytes * 3 // 4 // 3)  # three large "weight" files hold ~3/4 of the bytes
    sizes = [big << 20] * 3 + [256 << 10] * max(1, (megabytes - 3 * big) * 4)
    files = []
    for i, size in enumerate(sizes):
        path = root / ("weights" if size >= 1 << 20 else "assets") / f"part-{i:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            left = size
            while left:
                chunk = min(left, 8 << 20)
                f.write(os.urandom(chunk))
                left -= chunk
        files.append(path)
    (root / "MLmodel").write_text("flavors: {python_function: {loader_module: mlflow.pyfunc.model}}\n")
    files.append(root / "MLmodel")
    return files


def run(megabytes: int = 400, runs: int = 3) -> DigestResult:
    sys.path.insert(0, str(REPO))
    from modeldeploy.model import digest
    from modeldeploy.model.digest import model_digest

    tmp = Path(tempfile.mkdtemp(prefix="md-bench-digest-"))
    try:
        model = tmp / "model"
        files = make_folder(model, megabytes)
        total = sum(f.stat().st_size for f in files)
        cmd = ["sha256sum", *map(str, files)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)  # warm the page cache
        model_digest(model)
        ours, theirs = [], []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            theirs.append(time.perf_counter() - t)
            digest._SEEN.clear()  # what this process hashed before: a new process starts without it
            t = time.perf_counter()
            model_digest(model)  # no cache_dir: every file is hashed
            ours.append(time.perf_counter() - t)
        cache = tmp / "cache"
        model_digest(model, cache_dir=cache)
        digest._SEEN.clear()
        t = time.perf_counter()
        model_digest(model, cache_dir=cache)
        warm = time.perf_counter() - t
        return DigestResult(total / (1 << 20), len(files), statistics.median(ours), statistics.median(theirs), warm)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    r = run(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
    print(
        f"{r.megabytes:.0f} MiB in {r.files} files: model_digest {r.ours_s:.3f}s, sha256sum {r.sha256sum_s:.3f}s "
        f"(throughput ratio {r.ratio:.2f}×), cached re-digest {r.warm_s * 1000:.1f} ms"
    )
