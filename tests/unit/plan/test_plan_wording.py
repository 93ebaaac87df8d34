"""Plan wording a newcomer reads: the model line, findings whose one side is absent, the way past a
breaking finding, the markdown heading of an info-only note, and files modeldeploy itself ships."""

from __future__ import annotations

from modeldeploy import __version__
from modeldeploy.model.findings import Finding
from modeldeploy.planning.filediff import diff_files
from modeldeploy.planning.plan import Action, Plan
from modeldeploy.planning.printers import format_markdown, format_text, model_line
from modeldeploy.rendering.artifact import Artifact
from modeldeploy.rendering.jinja import templates_dir

OLD = "sha256:" + "ff" * 32
NEW = "sha256:" + "37" * 32


def _plan(*findings: Finding) -> Plan:
    return Plan(
        name="iris",
        target="docker",
        env=None,
        against="dir:out",
        changes=(),
        policy=tuple(findings),
        policy_mode="backward",
    )


def test_a_local_model_whose_contents_changed_is_not_called_unchanged():
    line = model_line(
        {"uri": "./model", "pinned": "model", "digest": NEW, "previous": {"pinned": "model", "digest": OLD}}
    )
    assert "unchanged" not in line and "sha256:ffffffffffff… → sha256:373737373737…" in line
    same = model_line(
        {"uri": "./model", "pinned": "model", "digest": OLD, "previous": {"pinned": "model", "digest": OLD}}
    )
    assert "(unchanged)" in same


def test_a_removed_input_names_the_missing_side():
    removed = Finding("SIG103", "warning", "inputs.sepal_width", "double (required)", "", "required input removed")
    text = format_text([_plan(removed)], color=False)
    assert "inputs.sepal_width: double (required) → (removed): required input removed" in text
    assert "→ :" not in text
    md = format_markdown([_plan(removed)])
    assert "`double (required)` → (removed)" in md and "→  |" not in md
    added = Finding("SIG102", "info", "inputs.note", "", "string (optional)", "optional input added: note")
    assert "inputs.note: (added) string (optional): optional input added" in format_text([_plan(added)], color=False)


def test_a_type_change_finding_does_not_repeat_the_change():
    f = Finding(
        "SIG112",
        "breaking",
        "inputs.petal_width",
        "double",
        "long",
        "petal_width: double → long (no safe conversion either way)",
    )
    line = next(x for x in format_text([_plan(f)], color=False).splitlines() if "SIG112" in x)
    assert line.count("double") == 1 and line.endswith(
        "inputs.petal_width: double → long: no safe conversion either way"
    )
    md_row = next(x for x in format_markdown([_plan(f)]).splitlines() if "SIG112" in x)
    assert md_row.count("double") == 1


def test_a_breaking_plan_says_how_to_proceed():
    f = Finding(
        "SIG111",
        "breaking",
        "inputs.petal_width",
        "long",
        "integer",
        "petal_width: long → integer (old values are rejected)",
    )
    text = format_text([_plan(f)], color=False).splitlines()
    assert text[-2] == "Signature policy: 1 breaking finding not waived."
    assert text[-1].startswith("hint: ") and "--allow-breaking" in text[-1]
    assert "{rule: SIG111, field: petal_width, reason:" in text[-1]
    assert "--allow-breaking" in format_markdown([_plan(f)])
    waived = Finding(**{**f.__dict__, "waived": "clients send ints"})
    assert "hint:" not in format_text([_plan(waived)], color=False)


def test_an_info_only_signature_note_is_not_a_warning_in_markdown():
    info = Finding("SIG102", "info", "inputs.note", "", "string (optional)", "optional input added: note")
    md = format_markdown([_plan(info)])
    assert "### ℹ️ Signature policy" in md and "⚠️ Signature policy" not in md
    warn = Finding("SIG103", "warning", "inputs.a", "double (required)", "", "required input removed")
    assert "### ⚠️ Signature policy" in format_markdown([_plan(info, warn)])


def test_a_file_modeldeploy_ships_is_summarised_not_printed():
    entrypoint = (templates_dir() / "docker" / "entrypoint.py").read_bytes()
    art = Artifact("entrypoint.py", "text/x-python", entrypoint)
    (change,) = diff_files([art], {}, "out/iris")
    assert change.action is Action.CREATE
    assert change.diff.startswith(f"shipped by modeldeploy v{__version__}, sha256:") and "\n" not in change.diff
    (upd,) = diff_files([art], {"entrypoint.py": b"old\n"}, "out/iris")
    assert upd.action is Action.UPDATE and "shipped by modeldeploy" in upd.diff and "; was sha256:" in upd.diff
    # a rendered file of the user's own still gets its line diff
    (own,) = diff_files([Artifact("Dockerfile", "text/plain", b"FROM x\n")], {}, "out/iris")
    assert "+FROM x" in own.diff
