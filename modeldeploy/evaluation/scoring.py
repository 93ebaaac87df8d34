"""Scoring the model outside modeldeploy's process (modeldeploy never imports mlflow).

Two ways, chosen in this order:

1. an explicit interpreter that has mlflow and the model's requirements (``--eval-python PATH`` or
   ``$MODELDEPLOY_EVAL_PYTHON``) runs ``score_model.py`` (shipped in this package) on the model folder;
2. otherwise the image rendered for this deployment, on a reachable Docker engine, in its batch mode
   ``IMAGE predict IN OUT`` — the same container that ships. The image must already be built (``apply``
   of a docker target, or ``docker build`` of the rendered folder); nothing is built here.

Neither available: a located error that names both. Either one failing: an error, never a pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from modeldeploy.errors import Diagnostic, EvaluationError

ENV_PYTHON = "MODELDEPLOY_EVAL_PYTHON"
SCORE_TIMEOUT_SECONDS = 3600


@dataclass(frozen=True)
class Scores:
    """What a scorer returns: one prediction per row, and class probabilities when the model has them."""

    predictions: list[Any]
    classes: list[Any] | None = None
    probabilities: list[list[float]] | None = None


class Scorer(Protocol):
    """Anything that scores a DataFrame with one model; ``describe`` says how (shown in reports)."""

    def score(self, frame: Any, model_dir: Path, *, batch_size: int) -> Scores: ...

    def describe(self) -> str: ...


def _write_input(frame: Any, folder: Path) -> tuple[Path, Path]:
    data = folder / "input.csv"
    dtypes = folder / "dtypes.json"
    frame.to_csv(data, index=False)
    dtypes.write_text(json.dumps({str(k): str(v) for k, v in frame.dtypes.items()}))
    return data, dtypes


def _read_scores(path: Path, n: int, how: str) -> Scores:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"{how} wrote no readable predictions ({exc})") from None
    preds = data.get("predictions") if isinstance(data, dict) else None
    if not isinstance(preds, list):
        raise EvaluationError(f"{how}: the output has no 'predictions' list")
    preds = [_scalar(p, how) for p in preds]
    if len(preds) != n:
        raise EvaluationError(f"{how} returned {len(preds)} predictions for {n} rows")
    probs = data.get("probabilities")
    classes = data.get("classes")
    if probs is not None and (not isinstance(probs, list) or len(probs) != n or not isinstance(classes, list)):
        probs, classes = None, None
    return Scores(preds, classes, probs)


def _scalar(p: Any, how: str) -> Any:
    # The scoring server writes a DataFrame output as records: [{"col": v}, ...].
    if isinstance(p, dict):
        if len(p) != 1:
            raise EvaluationError(f"{how}: each prediction has {len(p)} fields; evaluation needs one value per row")
        p = next(iter(p.values()))
    if isinstance(p, list):
        if len(p) != 1:
            raise EvaluationError(f"{how}: predictions are vectors of {len(p)}; evaluation needs one value per row")
        p = p[0]
    return p


def _tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class InterpreterScorer:
    """``PYTHON -I score_model.py MODEL IN DTYPES OUT BATCH`` in a temporary folder."""

    def __init__(self, python: str):
        self.python = python

    def describe(self) -> str:
        return f"interpreter {self.python}"

    def score(self, frame: Any, model_dir: Path, *, batch_size: int) -> Scores:
        from importlib.resources import as_file, files

        with (
            tempfile.TemporaryDirectory(prefix="modeldeploy-eval-") as tmp,
            as_file(files("modeldeploy.evaluation").joinpath("score_model.py")) as script,
        ):
            folder = Path(tmp)
            data, dtypes = _write_input(frame, folder)
            out = folder / "output.json"
            cmd = [self.python, "-I", str(script), str(model_dir), str(data), str(dtypes), str(out), str(batch_size)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SCORE_TIMEOUT_SECONDS)
            except FileNotFoundError:
                raise EvaluationError(
                    f"evaluation interpreter {self.python!r} does not exist",
                    hint=f"--eval-python / ${ENV_PYTHON} must name a Python with mlflow and the model's requirements",
                ) from None
            except PermissionError:
                raise EvaluationError(
                    f"evaluation interpreter {self.python!r} cannot be run (permission denied)"
                ) from None
            except subprocess.TimeoutExpired:
                raise EvaluationError(
                    f"scoring with {self.python} took longer than {SCORE_TIMEOUT_SECONDS} s"
                ) from None
            if proc.returncode != 0:
                raise EvaluationError(
                    f"scoring with {self.python} failed (exit {proc.returncode}):\n{_tail(proc.stderr or proc.stdout)}",
                    hint="the interpreter needs mlflow and the model's requirements (pip install -r MODEL/requirements.txt)",
                )
            return _read_scores(out, len(frame), f"scoring with {self.python}")


def docker_engine(docker: str | None = None) -> str | None:
    """The docker CLI when an engine answers, else None."""
    docker = docker or shutil.which("docker")
    if not docker:
        return None
    try:
        proc = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=15
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return docker if proc.returncode == 0 and proc.stdout.strip() else None


class DockerScorer:
    """``docker run IMAGE predict /io/in.csv /io/out.json`` per batch; the model is the one baked
    into the image (``model_dir`` is not used), so only the candidate can be scored this way.

    Tested on a real engine by tests/e2e/test_eval_docker.py (the built image scores like an
    interpreter), which runs under tests/docker/engine.sh."""

    def __init__(self, image: str, docker: str):
        self.image = image
        self.docker = docker

    def describe(self) -> str:
        return f"image {self.image} (docker predict)"

    def check_image(self) -> None:
        proc = subprocess.run([self.docker, "image", "inspect", self.image], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise EvaluationError(
                f"image {self.image} is not on the Docker engine",
                hint="build it first (modeldeploy apply with the docker target, or docker build the rendered folder), or pass --eval-python",
            )

    def score(self, frame: Any, model_dir: Path, *, batch_size: int) -> Scores:
        preds: list[Any] = []
        with tempfile.TemporaryDirectory(prefix="modeldeploy-eval-") as tmp:
            folder = Path(tmp)
            os.chmod(folder, 0o777)  # the image's user may not be ours
            for start in range(0, len(frame), batch_size):
                part = frame.iloc[start : start + batch_size]
                (folder / "in.csv").unlink(missing_ok=True)
                part.to_csv(folder / "in.csv", index=False)
                out = folder / f"out-{start}.json"
                cmd = [
                    self.docker,
                    "run",
                    "--rm",
                    "--network",
                    "none",
                    "-e",
                    "MODELDEPLOY_INPUT_TYPE=csv",
                    "-v",
                    f"{folder}:/io",
                    self.image,
                    "predict",
                    "/io/in.csv",
                    f"/io/{out.name}",
                ]
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=SCORE_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    raise EvaluationError(
                        f"scoring in {self.image} took longer than {SCORE_TIMEOUT_SECONDS} s"
                    ) from None
                if proc.returncode != 0:
                    raise EvaluationError(
                        f"scoring in {self.image} failed (exit {proc.returncode}):\n{_tail(proc.stderr or proc.stdout)}"
                    )
                preds.extend(_read_scores(out, len(part), f"scoring in {self.image}").predictions)
        return Scores(preds)


def choose_scorer(
    eval_python: str | None,
    environ: Mapping[str, str],
    *,
    image: str | None,
    display: str,
    where: tuple[int, int],
    docker: str | None = None,
    engine_probe: Any = docker_engine,
) -> Scorer:
    """--eval-python, else $MODELDEPLOY_EVAL_PYTHON, else the deployment's image on a reachable
    engine, else a located error naming both ways."""
    python = eval_python or environ.get(ENV_PYTHON)
    if python:
        return InterpreterScorer(python)
    engine = engine_probe(docker) if image else None
    if engine and image:
        scorer = DockerScorer(image, engine)
        scorer.check_image()
        return scorer
    line, col = where
    why = (
        "no Docker engine is reachable to run the deployment's image"
        if image
        else "this deployment has no image to run (docker target, MLflow model)"
    )
    raise EvaluationError(
        "no way to score the model",
        diagnostics=[
            Diagnostic(
                display,
                line,
                col,
                f"evaluation: no way to score the model: no --eval-python / ${ENV_PYTHON} given, and {why}",
                "MD902",
            )
        ],
        hint=f"pass --eval-python PATH (a Python with mlflow and the model's requirements) or set ${ENV_PYTHON}; or start a Docker engine with the built image",
    )


def score_frames(scorer: Scorer, frames: Sequence[Any], model_dir: Path, batch_size: int) -> list[Scores]:
    """Several frames in one scorer call (one model load): concatenated, then split back."""
    import pandas as pd

    sizes = [len(f) for f in frames]
    scores = scorer.score(pd.concat(list(frames), ignore_index=True), model_dir, batch_size=batch_size)
    out, start = [], 0
    for n in sizes:
        end = start + n
        out.append(
            Scores(
                scores.predictions[start:end],
                scores.classes,
                scores.probabilities[start:end] if scores.probabilities is not None else None,
            )
        )
        start = end
    return out
