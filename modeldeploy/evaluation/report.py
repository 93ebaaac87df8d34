"""evaluation.json and evaluation.html: a report a person opens offline.

The HTML is one self-contained file: inline CSS, the error tree and the heatmap as inline SVG, no
script and no external resource (its Content-Security-Policy forbids loading any). Every value from the
data or deploy.yaml passes through ``html.escape``; the page is built in Python, not from a template,
because nothing in it is user-editable text.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from modeldeploy.rendering.canonical import dump_json
from modeldeploy.rendering.write import write_file

NODE_W, NODE_H, GAP_X, GAP_Y = 150, 54, 18, 64


def write_report(report: Any, out_dir: Path) -> tuple[Path, Path]:
    """OUT/<name>/evaluation.json and evaluation.html (atomic writes)."""
    folder = out_dir / report.name
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "evaluation.json", folder / "evaluation.html"
    write_file(json_path, dump_json(report.to_json()))
    write_file(html_path, html(report).encode("utf-8"))
    return json_path, html_path


def _e(v: Any) -> str:
    return escape(str(v), quote=True)


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _heat(rate: float | None, worst: float) -> str:
    """White (no errors) to red (the worst rate on the page)."""
    if rate is None:
        return "#eeeeee"
    t = 0.0 if worst <= 0 else min(1.0, rate / worst)
    g = int(255 - 175 * t)
    return f"rgb(255,{g},{g})"


# --- error tree ----------------------------------------------------------------------------------


def tree_svg(tree: Any) -> str:
    """The error tree, leaves side by side, parents centred above their children."""
    nodes = {n.id: n for n in tree.nodes}
    children: dict[int, list[int]] = {}
    for n in tree.nodes:
        if n.parent is not None:
            children.setdefault(n.parent, []).append(n.id)
    x: dict[int, float] = {}
    next_leaf = [0]

    def place(nid: int) -> float:
        kids = children.get(nid, [])
        if not kids:
            x[nid] = next_leaf[0] * (NODE_W + GAP_X)
            next_leaf[0] += 1
        else:
            xs = [place(k) for k in kids]
            x[nid] = (xs[0] + xs[-1]) / 2
        return x[nid]

    place(0)
    depth = max(n.depth for n in tree.nodes)
    width = max(1, next_leaf[0]) * (NODE_W + GAP_X) + GAP_X
    height = (depth + 1) * (NODE_H + GAP_Y) + 10
    worst = max((n.error_rate for n in tree.nodes), default=0.0)
    parts = [
        f'<svg class="error-tree" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="error tree">'
    ]
    top = lambda d: 5 + d * (NODE_H + GAP_Y)  # noqa: E731
    for n in tree.nodes:
        if n.parent is None:
            continue
        p = nodes[n.parent]
        x1, y1 = GAP_X + x[p.id] + NODE_W / 2, top(p.depth) + NODE_H
        x2, y2 = GAP_X + x[n.id] + NODE_W / 2, top(n.depth)
        parts.append(
            f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#888" stroke-width="{1 + 6 * n.n / max(1, nodes[0].n):.1f}"/>'
        )
        label = n.split.text() if n.split else ""
        parts.append(
            f'<text class="edge-label" x="{x2:.1f}" y="{y2 - 6:.1f}" text-anchor="middle" '
            f'font-size="11" fill="#333" paint-order="stroke" stroke="#fff" stroke-width="3">{_e(label)}</text>'
        )
    for n in tree.nodes:
        left, t = GAP_X + x[n.id], top(n.depth)
        fill = _heat(n.error_rate, worst)
        parts.append(
            f'<g class="node{" leaf" if n.leaf else ""}" data-node-id="{n.id}"><title>{_e(n.condition)}: {n.errors}/{n.n} wrong</title>'
            f'<rect x="{left:.1f}" y="{t:.1f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="#444"/>'
            f'<text x="{left + NODE_W / 2:.1f}" y="{t + 22:.1f}" text-anchor="middle" font-size="13" font-weight="bold">{n.errors}/{n.n} wrong</text>'
            f'<text x="{left + NODE_W / 2:.1f}" y="{t + 42:.1f}" text-anchor="middle" font-size="12">error rate {_pct(n.error_rate)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- heatmap -------------------------------------------------------------------------------------


def heatmap_svg(hm: Any) -> str:
    cw, ch, left, top = 110, 44, 150, 40
    rows, cols = len(hm.rows), len(hm.cols)
    width, height = left + cols * cw + 20, top + rows * ch + 20
    rates = [hm.rate(i, j) for i in range(rows) for j in range(cols)]
    worst = max((r for r in rates if r is not None), default=0.0)
    parts = [
        f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="error heatmap">'
    ]
    second = hm.features[1] if len(hm.features) > 1 else ""
    parts.append(f'<text x="{left}" y="14" font-size="12" font-weight="bold">{_e(second)}</text>')
    parts.append(f'<text x="4" y="{top - 6}" font-size="12" font-weight="bold">{_e(hm.features[0])}</text>')
    for j, label in enumerate(hm.cols):
        parts.append(
            f'<text x="{left + j * cw + cw / 2}" y="{top - 6}" text-anchor="middle" font-size="11">{_e(label)}</text>'
        )
    for i, label in enumerate(hm.rows):
        y = top + i * ch
        parts.append(f'<text x="{left - 6}" y="{y + ch / 2 + 4}" text-anchor="end" font-size="11">{_e(label)}</text>')
        for j in range(cols):
            rate = hm.rate(i, j)
            parts.append(
                f'<g class="cell"><title>{_e(hm.rows[i])} × {_e(hm.cols[j])}: {hm.errors[i][j]}/{hm.n[i][j]} wrong</title>'
                f'<rect x="{left + j * cw}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{_heat(rate, worst)}" stroke="#999"/>'
                f'<text x="{left + j * cw + cw / 2}" y="{y + 18}" text-anchor="middle" font-size="12">{_pct(rate)}</text>'
                f'<text x="{left + j * cw + cw / 2}" y="{y + 34}" text-anchor="middle" font-size="10" fill="#555">{hm.errors[i][j]}/{hm.n[i][j]}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def importance_svg(importance: Any) -> str:
    if not importance:
        return "<p>No permutation importance computed.</p>"
    bar, left, h = 300, 170, 20
    top_val = max((abs(v) for _, v in importance), default=0.0) or 1.0
    height = len(importance) * h + 10
    parts = [f'<svg class="importance" xmlns="http://www.w3.org/2000/svg" width="{left + bar + 80}" height="{height}">']
    for i, (f, v) in enumerate(importance):
        w = max(0.0, v) / top_val * bar
        y = 5 + i * h
        parts.append(
            f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="12">{_e(f)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{h - 6}" fill="#4a7bd0"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 14}" font-size="11">{_num(v)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# --- the page ------------------------------------------------------------------------------------


def _table(headers: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def html(report: Any) -> str:
    verdict = "PASSED" if report.passed else "FAILED"
    status_cls = "pass" if report.passed else "fail"
    findings_rows = [
        [_e(f.rule), _e(f.field), _e(f.message), ("waived: " + _e(f.waived)) if f.waived else "<b>fails the gate</b>"]
        for f in report.findings
    ]
    by_metric = {c.metric: c for c in report.checks}
    names = sorted(set(report.metrics) | set(by_metric) - {"example_count"})
    metric_rows = []
    for m in names:
        if m == "example_count":
            continue
        c = by_metric.get(m)
        base = report.baseline_metrics.get(m) if report.baseline_metrics else None
        rule = "–"
        verdict_cell = "–"
        if c is not None:
            bits = []
            cmp = "≥" if c.greater_is_better else "≤"
            if c.threshold is not None:
                bits.append(f"{cmp} {c.threshold:g}")
            if c.min_absolute_change is not None:
                bits.append(f"Δ ≥ {c.min_absolute_change:g}")
            if c.min_relative_change is not None:
                bits.append(f"Δ% ≥ {c.min_relative_change:g}")
            rule = _e(", ".join(bits))
            verdict_cell = "pass" if c.passed else f'<span class="bad">{_e(c.message())}</span>'
        metric_rows.append([_e(m), _num(report.metrics.get(m)), _num(base), rule, verdict_cell])
    cohort_rows = [
        [
            _e(c.condition),
            f"{c.errors}/{c.n}",
            _pct(c.error_rate),
            _pct(c.baseline_error_rate),
            _pct(c.regression) if c.regression is not None else "–",
        ]
        for c in report.cohorts[: report.settings["show"]]
    ]
    reg_rows = [
        [_e(c.condition), f"{c.errors}/{c.n}", _pct(c.error_rate), _pct(c.baseline_error_rate), _pct(c.regression)]
        for c in report.regression_cohorts
    ]
    fairness_html = ""
    for f in report.fairness:
        rows = [[_e(g.group), str(g.n), _num(g.value)] for g in f.groups]
        state = "pass" if f.passed else '<span class="bad">fails</span>'
        fairness_html += (
            f"<h3>{_e(f.metric)} by {_e(f.feature)}: {_e(f.kind)} {_num(f.disparity)} "
            f"(threshold {_num(f.threshold)}) — {state}</h3>" + _table(["group", "rows", f.metric], rows)
        )
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    title = f"{report.name}" + (f" [{report.env}]" if report.env else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Evaluation: {_e(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }}
.verdict {{ display: inline-block; padding: 4px 12px; border-radius: 4px; color: #fff; font-weight: bold; }}
.pass {{ background: #2e7d32; }} .fail {{ background: #c62828; }}
.bad {{ color: #c62828; }}
.scroll {{ overflow-x: auto; }}
</style></head>
<body>
<h1>Evaluation of {_e(title)} <span class="verdict {status_cls}" id="verdict">{verdict}</span></h1>
<p>{report.rows} rows, target <code>{_e(report.target)}</code>, task {_e(report.task)}; scored by {_e(report.scorer)};
baseline: {_e(report.baseline)}.</p>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Findings</h2>
{_table(["rule", "where", "finding", "status"], findings_rows, "findings") if findings_rows else "<p>None: every check passed.</p>"}
<h2>Metrics</h2>
{_table(["metric", "candidate", "baseline", "threshold", "verdict"], metric_rows, "metrics")}
<h2>Error tree</h2>
<p>A decision tree (max_depth {report.settings["max_depth"]}, min_samples_leaf {report.settings["min_samples_leaf"]}) fitted to
whether each row is wrong; redder boxes have higher error rates, thicker lines more rows.</p>
<div class="scroll">{tree_svg(report.tree)}</div>
<h2>Worst cohorts</h2>
{_table(["cohort", "wrong", "error rate", "baseline error rate", "change"], cohort_rows, "cohorts")}
{("<h2>Cohorts where the candidate is newly wrong (vs the baseline)</h2>" + _table(["cohort", "wrong", "error rate", "baseline error rate", "change"], reg_rows, "regressions")) if reg_rows else ""}
<h2>Error heatmap</h2>
<div class="scroll">{heatmap_svg(report.heatmap)}</div>
{("<h2>Fairness</h2>" + fairness_html) if fairness_html else ""}
<h2>Feature importance (permutation)</h2>
<p>Rise of the {"error rate" if report.task == "classification" else "mean absolute error"} when one feature is shuffled.</p>
{importance_svg(report.importance)}
</body></html>
"""
