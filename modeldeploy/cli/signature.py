"""``modeldeploy signature``: compare two models' signatures, show one, list the rules.

Handlers only resolve sources, call modeldeploy.model.compat and print; reports are built by the
pure functions ``report_text`` / ``report_json`` / ``report_markdown`` (golden-tested).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from modeldeploy.errors import EXIT_OK, EXIT_POLICY, ModelDeployError

FORMATS = ("text", "json", "markdown")
MODES = ("backward", "forward", "full", "none")

DIFF_EPILOG = """OLD and NEW are model folders or any model URI deploy.yaml accepts.

  modeldeploy signature diff ./model-v1 ./model-v2

  modeldeploy signature diff models:/iris@champion ./model --mode full --format markdown

Exit codes: 0 compatible, 3 breaking findings, 1 error."""

app = typer.Typer(
    help="Compare MLflow model signatures: backward/forward/full compatibility, rule by rule.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


# --- reports (pure) ------------------------------------------------------------------------------


def _counts(findings: Sequence[Any]) -> dict[str, int]:
    out = {"breaking": 0, "warning": 0, "info": 0, "waived": 0}
    for f in findings:
        if f.waived:
            out["waived"] += 1
        else:
            out[f.severity] += 1
    return out


def _verdict(findings: Sequence[Any], mode: str) -> str:
    if mode == "none":
        return "not checked (mode none)"
    return f"not {mode} compatible" if _counts(findings)["breaking"] else f"{mode} compatible"


def _summary(findings: Sequence[Any]) -> str:
    c = _counts(findings)
    text = f"{c['breaking']} breaking, {c['warning']} warning(s), {c['info']} info"
    return text + (f", {c['waived']} waived" if c["waived"] else "")


def report_text(old: str, new: str, mode: str, findings: Sequence[Any]) -> str:
    lines = [f"Signature diff ({mode}): {old} -> {new}"]
    if not findings:
        lines.append("  no differences" if mode != "none" else "  (no check in mode none)")
    width = max((len(f.field) for f in findings), default=0)
    for f in findings:
        sev = "waived" if f.waived else f.severity
        lines.append(f"  {sev.upper():<8}  {f.rule}  {f.field:<{width}}  {f.message}")
        lines.append(f"  {'':<8}  {'':<6}  {'':<{width}}  old: {f.old or '(absent)'}; new: {f.new or '(absent)'}")
        if f.waived:
            lines.append(f"  {'':<8}  {'':<6}  {'':<{width}}  waived: {f.waived}")
    lines.append(f"Result: {_summary(findings)} -> {_verdict(findings, mode)}")
    return "\n".join(lines) + "\n"


def report_json(old: str, new: str, mode: str, findings: Sequence[Any]) -> str:
    from modeldeploy.planning.formats import SIGNATURE_DIFF_JSON, format_version
    from modeldeploy.rendering.canonical import dump_json

    data = {
        "format_version": format_version(SIGNATURE_DIFF_JSON),
        "old": old,
        "new": new,
        "mode": mode,
        "compatible": _counts(findings)["breaking"] == 0,
        "counts": _counts(findings),
        "findings": [f.to_json() for f in findings],
    }
    return dump_json(data).decode("utf-8")


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


_ICONS = {"breaking": ":x:", "warning": ":warning:", "info": ":information_source:"}


def report_markdown(old: str, new: str, mode: str, findings: Sequence[Any]) -> str:
    lines = [f"### Signature diff ({mode}): `{_cell(old)}` → `{_cell(new)}`", ""]
    if findings:
        lines += ["| Severity | Rule | Field | Old | New | Message |", "|---|---|---|---|---|---|"]
        for f in findings:
            sev = f"~~{f.severity}~~ waived: {_cell(f.waived)}" if f.waived else f"{_ICONS[f.severity]} {f.severity}"
            lines.append(
                f"| {sev} | {f.rule} | `{_cell(f.field)}` | {_cell(f.old) or '—'} | {_cell(f.new) or '—'} | {_cell(f.message)} |"
            )
        lines.append("")
    else:
        lines += ["No differences.", ""]
    lines.append(f"**{_summary(findings)}** — {_verdict(findings, mode)}.")
    return "\n".join(lines) + "\n"


REPORTS = {"text": report_text, "json": report_json, "markdown": report_markdown}


# --- commands ------------------------------------------------------------------------------------


def _load_signature(source: str, tracking_uri: str | None):
    """Resolve a model source and read its signature (None when it has none)."""
    from modeldeploy.model.info import read_model

    try:
        from modeldeploy.model.sources import resolve
    except ImportError:  # sources not installed: a local folder is all we can read
        return read_model(Path(source), display=source).signature
    ref = resolve(source, base_dir=Path.cwd(), tracking_uri=tracking_uri, in_spec=False)
    return read_model(ref.local_path, display=source).signature


def _fail(exc: ModelDeployError) -> None:
    for line in exc.lines():
        print(line, file=sys.stderr)
    raise typer.Exit(exc.exit_code)


def _choice(value: str, allowed: Sequence[str], option: str) -> str:
    if value not in allowed:
        raise ModelDeployError(f"{option} must be one of {', '.join(allowed)}, not {value!r}")
    return value


@app.command("diff", epilog=DIFF_EPILOG)
def diff(
    old: str = typer.Argument(..., help="The model running now (folder or URI)."),
    new: str = typer.Argument(..., help="The model to deploy (folder or URI)."),
    mode: str = typer.Option("backward", "--mode", "-m", help="backward | forward | full | none"),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json | markdown"),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking server for runs:/ and models:/."
    ),
) -> None:
    """Compare OLD's and NEW's signatures; exit 3 when a change is breaking for --mode."""
    from modeldeploy.model.compat import check, is_breaking

    try:
        _choice(mode, MODES, "--mode")
        _choice(fmt, FORMATS, "--format")
        findings = check(_load_signature(old, tracking_uri), _load_signature(new, tracking_uri), mode)
    except ModelDeployError as exc:
        _fail(exc)
        return
    sys.stdout.write(REPORTS[fmt](old, new, mode, findings))
    raise typer.Exit(EXIT_POLICY if is_breaking(findings) else EXIT_OK)


@app.command("show")
def show(
    source: str = typer.Argument(..., help="Model folder or URI."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json (the canonical signature)"),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking server for runs:/ and models:/."
    ),
) -> None:
    """Print a model's signature as a table, or its canonical JSON and digest."""
    from modeldeploy.rendering.canonical import dump_json

    try:
        _choice(fmt, ("text", "json"), "--format")
        sig = _load_signature(source, tracking_uri)
    except ModelDeployError as exc:
        _fail(exc)
        return
    if fmt == "json":
        body = None if sig is None else {"digest": sig.digest(), "signature": sig.to_canonical()}
        sys.stdout.write(dump_json(body).decode("utf-8"))
    else:
        sys.stdout.write("(no signature)\n" if sig is None else sig.render())


@app.command("rules")
def rules(fmt: str = typer.Option("text", "--format", "-f", help="text | json | markdown")) -> None:
    """List the compatibility rules with their severity per mode."""
    from modeldeploy.model.compat import rule_table
    from modeldeploy.rendering.canonical import dump_json

    try:
        _choice(fmt, FORMATS, "--format")
    except ModelDeployError as exc:
        _fail(exc)
        return
    table = rule_table()
    if fmt == "json":
        sys.stdout.write(dump_json(table).decode("utf-8"))
    elif fmt == "markdown":
        sys.stdout.write(rules_markdown(table))
    else:
        for r in table:
            sys.stdout.write(
                f"{r['id']}  {r['title']:<38} backward={r['backward']:<8} forward={r['forward']:<8} full={r['full']}\n"
            )


def rules_markdown(table: Sequence[dict[str, str]]) -> str:
    lines = [
        "| Rule | Title | Applies to | backward | forward | full | What happens |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['id']} | {r['title']} | {r['scope']} | {r['backward']} | {r['forward']} | {r['full']} | {_cell(r['explanation'])} |"
        )
    return "\n".join(lines) + "\n"
