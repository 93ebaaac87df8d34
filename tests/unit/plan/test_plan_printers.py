"""Text, markdown and JSON plan output: structure, summary, colour, truncation, schema, redaction."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from plan_samples import DIGEST_3, DIGEST_4, PLANTED, files_plan, live_plan, unchanged_plan, untrusted_plan

from modeldeploy.model.findings import Finding
from modeldeploy.planning.plan import Action, Change, Plan
from modeldeploy.planning.printers import (
    GITHUB_COMMENT_LIMIT,
    MARKDOWN_BUDGET,
    format_json,
    format_markdown,
    format_text,
    model_line,
    summary_line,
)

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "plan.schema.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FORMATS = {
    "text": lambda plans: format_text(plans, color=False),
    "text-color": lambda plans: format_text(plans, color=True, show_unchanged=True),
    "markdown": format_markdown,
    "json": format_json,
}


def all_plans() -> list[Plan]:
    return [live_plan(), files_plan(), unchanged_plan(), untrusted_plan()]


# ---- summary --------------------------------------------------------------------------------------


def test_summary_line_is_summed_over_plans():
    plans = [live_plan(), files_plan()]
    # live: +2 (model, config), ~2 (endpoint, deployment), -/+1 (azure), -2 ; files: +1 ~2 -1
    assert summary_line(plans) == "Plan: 3 to add, 4 to change, 1 to replace, 3 to destroy."
    assert (
        format_text(plans, color=False).splitlines()[-3] == "Plan: 3 to add, 4 to change, 1 to replace, 3 to destroy."
    )


def test_no_changes_summary():
    text = format_text([unchanged_plan()], color=False)
    assert text.splitlines()[-1].startswith("No changes. ")
    assert "Plan:" not in text
    assert "  no changes (1 resource up to date)" in text.splitlines()


# ---- text -----------------------------------------------------------------------------------------


def test_text_blocks_symbols_reason_and_indented_diff():
    lines = format_text([live_plan()], color=False).splitlines()
    assert lines[0] == "iris (sagemaker, env prod) against live"
    assert "  + sagemaker_model.iris-4a4a4a" in lines
    assert "  ~ sagemaker_endpoint.iris" in lines
    assert "  - sagemaker_model.iris-333333" in lines
    assert (
        "  -/+ azureml_online_deployment.blue (replace: Azure ML cannot change a deployment's instance type in place;"
        " changed: instance_type)" in lines
    )
    i = lines.index("  ~ sagemaker_endpoint.iris")
    assert lines[i + 1 : i + 6] == [
        "      --- live/sagemaker_endpoint.iris",
        "      +++ planned/sagemaker_endpoint.iris",
        "      @@ -1 +1 @@",
        "      -EndpointConfigName: iris-333333",
        "      +EndpointConfigName: iris-4a4a4a",
    ]
    assert "scaling_policy.iris" not in "\n".join(lines)
    assert "  1 unchanged resource not shown" in lines


def test_text_findings_come_before_resources_breaking_first():
    lines = format_text([live_plan()], color=False).splitlines()
    policy = lines.index("  signature policy (backward):")
    first_block = next(i for i, line in enumerate(lines) if line.startswith("  + "))
    assert policy < first_block
    assert lines[policy + 1].startswith("    ✗ breaking SIG102 inputs.petal_width: double → long")
    assert lines[policy + 2].startswith("    ! warning  SIG201")
    assert lines[policy + 3].endswith("(waived: clients always send it (JIRA-12))")
    assert lines[-2] == "Signature policy: 1 breaking finding not waived."
    assert lines[-1].startswith("hint: ") and "--allow-breaking" in lines[-1]


def test_text_model_line():
    assert (
        "  model: models:/iris@champion → models:/iris/4 (champion: 3 → 4), digest sha256:333333333333… → sha256:4a4a4a4a4a4a…"
        in format_text([live_plan()], color=False).splitlines()
    )


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({}, ""),
        ({"uri": "./model", "pinned": "./model", "digest": DIGEST_4}, "./model, digest sha256:4a4a4a4a4a4a…"),
        # one folder written two ways is not a change (the Quick start's second plan)
        (
            {
                "uri": "./model",
                "pinned": "model",
                "digest": DIGEST_4,
                "previous": {"pinned": "model", "digest": DIGEST_4},
            },
            "./model (unchanged), digest sha256:4a4a4a4a4a4a…",
        ),
        (
            {"uri": "../iris/model", "pinned": "examples/iris/model", "digest": DIGEST_4},
            "../iris/model → examples/iris/model, digest sha256:4a4a4a4a4a4a…",
        ),
        (
            {"uri": "models:/iris/4", "pinned": "models:/iris/4", "digest": DIGEST_4},
            "models:/iris/4 (version: 4), digest sha256:4a4a4a4a4a4a…",
        ),
        (
            {
                "uri": "models:/iris/latest",
                "pinned": "models:/iris/4",
                "digest": DIGEST_4,
                "version": "4",
                "alias": None,
                "previous": {"pinned_uri": "models:/iris/3", "version": "3", "digest": DIGEST_3},
            },
            "models:/iris/latest → models:/iris/4 (version: 3 → 4), digest sha256:333333333333… → sha256:4a4a4a4a4a4a…",
        ),
        (
            {
                "uri": "s3://b/m",
                "pinned": "s3://b/m",
                "digest": DIGEST_4,
                "previous": {"pinned": "s3://b/old", "digest": DIGEST_4},
            },
            "s3://b/m (was s3://b/old), digest sha256:4a4a4a4a4a4a…",
        ),
    ],
)
def test_model_line_variants(model, expected):
    assert model_line(model) == expected


def test_colour_only_when_asked():
    plain = format_text(all_plans(), color=False)
    coloured = format_text(all_plans(), color=True)
    assert "\x1b[" not in plain
    assert "\x1b[32m+\x1b[0m sagemaker_model.iris-4a4a4a" in coloured
    assert "\x1b[33m~\x1b[0m sagemaker_endpoint.iris" in coloured
    assert "\x1b[31m-\x1b[0m sagemaker_model.iris-333333" in coloured
    assert "\x1b[35m-/+\x1b[0m azureml_online_deployment.blue" in coloured
    assert ANSI.sub("", coloured) == plain


def test_show_unchanged_lists_noops():
    text = format_text([live_plan()], color=False, show_unchanged=True)
    assert "    scaling_policy.iris (no changes)" in text.splitlines()
    assert "unchanged resource not shown" not in text


def test_text_shows_source_notes_and_allow_breaking():
    text = format_text([replace(live_plan(), allow_breaking=True)], color=False)
    assert "  from: deploy/iris/deploy.yaml" in text
    assert "  breaking signature changes allowed (--allow-breaking)" in text
    assert "  note: tracking server https://alice:(sensitive)@mlflow.example.com was used" in text


# ---- markdown -------------------------------------------------------------------------------------


def test_markdown_summary_then_findings_then_details():
    md = format_markdown([live_plan(), files_plan()])
    lines = md.splitlines()
    assert lines[2] == "**Plan: 3 to add, 4 to change, 1 to replace, 3 to destroy.**"
    table = lines.index("| | Deployment | Rule | Field | Change | Finding |")
    assert table < md.index("<details>") // 1 and md.index("| | Deployment") < md.index("<details>")
    assert lines[table + 2].startswith("| ❌ breaking | iris | `SIG102` | `inputs.petal_width` | `double` → `long` |")
    assert "| ⚠️ warning | iris | `SIG201`" in md
    assert "| ✅ waived | iris | `SIG110` | `inputs.sepal \\| length` |" in md  # pipes escaped in cells
    assert "— waived: clients always send it (JIRA-12) |" in md
    assert "### ❌ Signature policy: 1 breaking change not waived" in md
    assert (
        "<details><summary>-/+ azureml_online_deployment.blue (replace: Azure ML cannot change a deployment&#x27;s"
        not in md
    )
    assert "<details><summary>~ sagemaker_endpoint.iris (update)</summary>" in lines


def test_markdown_diff_blocks_have_diff_prefixes_only():
    md = format_markdown([live_plan(), files_plan()])
    blocks = re.findall(r"```diff\n(.*?)\n```", md, flags=re.S)
    assert len(blocks) == 11
    for block in blocks:
        for line in block.split("\n"):
            assert line[:1] in ("+", "-", " ", "@", "\\"), line
    assert "\n digest sha256:" in md  # binary files shown by digest, as a context line
    assert md.count("<details>") == md.count("</details>") == 11
    assert "<details><summary>+ file.out/iris/secrets.env (create)</summary>" in md


def test_markdown_fence_is_longer_than_any_backticks_in_the_diff():
    change = Change("f.x", "f", "x", Action.UPDATE, diff="--- a\n+++ b\n@@ -1 +1 @@\n-```\n+````")
    md = format_markdown([Plan("n", "t", None, "live", (change,))])
    assert "`````diff\n" in md and "\n`````\n" in md


def test_markdown_is_truncated_fairly_below_the_github_limit():
    small = Change("small.a", "small", "a", Action.UPDATE, diff="--- a\n+++ b\n@@ -1 +1 @@\n-x: 1\n+x: 2")
    huge = [
        Change(f"big.{i}", "big", str(i), Action.CREATE, diff="\n".join(f"+line {j} " + "x" * 80 for j in range(2000)))
        for i in range(3)
    ]
    md = format_markdown([Plan("n", "t", None, "live", (small, *huge))])
    assert len(md) <= MARKDOWN_BUDGET < GITHUB_COMMENT_LIMIT
    assert "Some diffs were shortened to fit a GitHub comment" in md
    assert "-x: 1\n+x: 2" in md  # the small diff is whole
    assert md.count("more lines not shown (comment size limit)") == 3
    assert md.count("<details>") == md.count("</details>") == 4
    assert md.count("```diff") == 4 and md.count("\n```\n") == 4


def test_markdown_with_thousands_of_resources_stays_under_the_limit():
    changes = tuple(Change(f"k.r{i:05d}", "k", f"r{i}", Action.CREATE, diff="+a: 1") for i in range(3000))
    md = format_markdown([Plan("n", "t", None, "live", changes)])
    assert len(md) <= GITHUB_COMMENT_LIMIT
    assert md.rstrip().endswith("run `modeldeploy plan` for the full plan.")


def test_markdown_no_changes():
    md = format_markdown([unchanged_plan()])
    assert "**No changes. " in md and "<details>" not in md and "No changes. (1 resource up to date)" in md


# ---- JSON -----------------------------------------------------------------------------------------


def test_json_validates_against_the_schema():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for plans in (all_plans(), [unchanged_plan()], []):
        jsonschema.validate(json.loads(format_json(plans)), schema)


def test_json_schema_rejects_a_replace_without_reason():
    schema = json.loads(SCHEMA.read_text())
    doc = json.loads(format_json([live_plan()]))
    replace_change = next(c for c in doc["plans"][0]["changes"] if c["action"] == "replace")
    replace_change["reason"] = ""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_json_shape_and_summary():
    doc = json.loads(format_json([live_plan(), files_plan()]))
    assert doc["format_version"] == "1.1"
    counts = {"add": 3, "change": 4, "replace": 1, "destroy": 3}
    assert {k: doc["summary"][k] for k in counts} == counts
    first = doc["plans"][0]
    assert [first[k] for k in ("name", "target", "env", "against")] == ["iris", "sagemaker", "prod", "live"]
    assert {k: first["summary"][k] for k in ("add", "change", "replace", "destroy")} == {
        "add": 2,
        "change": 2,
        "replace": 1,
        "destroy": 2,
    }
    assert first["model"]["previous"]["version"] == "3"
    assert {c["action"] for c in first["changes"]} == {"create", "update", "replace", "delete", "no-op"}
    assert first["policy"][1] == {
        "rule": "SIG102",
        "severity": "breaking",
        "field": "inputs.petal_width",
        "old": "double",
        "new": "long",
        "message": "long values are rejected where double was accepted",
    }


def test_json_keys_are_sorted():
    text = format_json(all_plans())
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


# ---- determinism and redaction --------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_identical_input_gives_identical_bytes(fmt):
    assert FORMATS[fmt](all_plans()) == FORMATS[fmt](all_plans())


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_planted_secret_in_any_format(fmt):
    out = FORMATS[fmt](all_plans())
    assert PLANTED not in out
    assert "(sensitive)" in out


def test_untrusted_change_is_redacted_again_by_printers():
    for fmt in FORMATS.values():
        out = fmt([untrusted_plan()])
        assert PLANTED not in out
    doc = json.loads(format_json([untrusted_plan()]))
    change = doc["plans"][0]["changes"][0]
    assert change["before"] == {
        "Environment": {"AWS_SECRET_ACCESS_KEY": "(sensitive)"},
        "conn": "postgres://u:(sensitive)@db/x",
        "pw": "(sensitive)",
    }


def test_findings_and_model_are_not_mangled_by_redaction():
    finding = Finding(
        "SIG102", "breaking", "inputs.token_ids", "long", "integer", "token_ids: long → integer is narrowing"
    )
    plan = Plan(
        "nlp",
        "kubernetes",
        None,
        "live",
        (),
        policy=(finding,),
        model={"uri": "models:/tok/2", "pinned": "models:/tok/2"},
    )
    for fmt in FORMATS.values():
        out = fmt([plan])
        assert "inputs.token_ids" in out and "long" in out
