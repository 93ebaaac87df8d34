"""What the property tests do with a generated input that loads: render it, with the hostile corpus'
checks (tests/hostile/corpus.py).

A render either refuses with a ModelDeployError whose lines are one line each, or produces artifacts
that (1) read back with their format's own parser (Dockerfile: corpus.parse_dockerfile, which refuses
an injected line or a variable expansion of user data; YAML; JSON), (2) carry every serving.env value
byte-exact as one whole value (nothing split or joined into the structure), (3) hold no evaluated
template syntax, and (4) hold no string a credential detector flags, except env values the spec
itself allows with serving.allow_plain. Any other exception is a failure (or a listed known bug).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from modeldeploy.errors import ModelDeployError, SpecError
from modeldeploy.spec.credentials import detect
from tests.hostile.corpus import EVALUATED, EXAMPLE_MODEL, parse_artifact
from tests.property.generators import time_limit
from tests.property.known_bugs import known_bug

# Model sources of the generators' bases that need a registry; a render variant points them at a
# local copy of the example model so that every target really renders.
REMOTE_SOURCES = ("models:/iris@champion", "runs:/0123456789abcdef/model", "azureml:iris:3")


def local_model(folder: Path) -> Path:
    model = folder / "model"
    if not model.is_dir():
        shutil.copytree(EXAMPLE_MODEL, model)
    return model


def render_variant(raw: bytes, folder: Path) -> Path:
    """The same bytes with the bases' registry sources replaced by ./model (beside the file)."""
    local_model(folder)
    for src in REMOTE_SOURCES:
        raw = raw.replace(src.encode(), b"./model")
    path = folder / "deploy-render.yaml"
    path.write_bytes(raw)
    return path


def check_render(path: Path, env: str | None) -> str:
    """Load ``path`` for ``env`` and render it: "rendered", "refused" (a ModelDeployError from the
    render or the model), "not-loaded" (a SpecError: check_loads judged those) or "known-bug"; any
    other outcome fails."""
    from modeldeploy import api

    with time_limit():
        try:
            deployment = api.load(path, env, environ={})
        except SpecError:
            return "not-loaded"
        except ModelDeployError as exc:
            for line in exc.lines():
                assert "\n" not in line and "\r" not in line, f"an error spans lines: {line!r}"
            return "refused"
        except Exception as exc:
            if known_bug(exc) is None:
                raise AssertionError(f"load raised {type(exc).__name__}, not a ModelDeployError: {exc}") from exc
            return "known-bug"
        try:
            result = api.render(deployment)
        except ModelDeployError as exc:
            for line in exc.lines():
                assert "\n" not in line and "\r" not in line, f"an error spans lines: {line!r}"
            return "refused"
        except Exception as exc:
            if known_bug(exc) is None:
                raise AssertionError(f"render raised {type(exc).__name__}, not a ModelDeployError: {exc}") from exc
            return "known-bug"
    serving = deployment.spec.serving
    env_values = {k: v for k, v in (serving.env or {}).items() if isinstance(v, str)}
    allowed_plain = {v for k, v in env_values.items() if k in (serving.allow_plain or {})}
    leaves: set[str] = set()
    for art in result.artifacts:
        if art.source is not None:
            continue
        assert EVALUATED.encode() not in art.content, f"{art.path}: user data was evaluated as a template"
        try:
            parsed = parse_artifact(art.path, art.content, "")
        except ValueError as exc:  # the Dockerfile reader refuses a broken or injected file
            raise AssertionError(f"{art.path} does not read back: {exc}") from exc
        if parsed is None:
            continue
        leaves.update(parsed.leaves)
    for leaf in leaves:
        if leaf in allowed_plain:
            continue
        hit = detect(leaf)
        assert hit is None, f"a rendered value looks like a credential ({hit.id}): {leaf[:80]!r}"
    missing = [k for k, v in env_values.items() if v not in leaves]
    assert not missing, f"serving.env values not rendered byte-exact: {missing}"
    return "rendered"
