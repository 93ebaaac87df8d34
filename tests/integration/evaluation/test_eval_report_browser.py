"""evaluation.html in a real headless Chromium: the page renders offline, the error tree and the
heatmap are drawn (the screenshot holds their colours; the DOM has every tree node and heatmap cell).

Needs a ``chromium`` binary (``tests/install-browser.sh`` installs Debian's). Without one the test
skips, unless MODELDEPLOY_REQUIRE_BROWSER=1 (as in ``make test``), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modeldeploy.evaluation.report import write_report
from modeldeploy.evaluation.run import Inputs, analyse
from modeldeploy.evaluation.scoring import Scores
from modeldeploy.spec.evaluation import EvaluationSection

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("MODELDEPLOY_REQUIRE_BROWSER"):
        pytest.fail("no chromium found and MODELDEPLOY_REQUIRE_BROWSER is set (run tests/install-browser.sh)")
    pytest.skip("no chromium on this machine (tests/install-browser.sh installs it)")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "income": rng.uniform(1, 100, n).round(1),
            "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        }
    )
    frame["y"] = (frame.income > 50).astype(int)
    wrong = ((frame.city == "Lima") & (frame.age > 60)) | (rng.uniform(0, 1, n) < 0.03)
    pred = np.where(wrong, 1 - frame.y, frame.y)
    section = EvaluationSection.model_validate(
        {
            "data": "t.csv",
            "target": "y",
            "task": "classification",
            "cohorts": {"max_error_rate": 0.3},
            "heatmap": {"features": ["age", "city"]},
            "fairness": {"sensitive_features": ["city"], "threshold": 0.1},
        }
    )
    inputs = Inputs(frame, frame[["age", "income", "city"]], frame.y, ["age", "income", "city"], ["city"])
    report = analyse(
        section,
        inputs,
        Scores(list(pred)),
        name="credit <demo>",
        scorer="test",
        importance=(("age", 0.2), ("city", 0.1), ("income", 0.05)),
    )
    out = tmp_path_factory.mktemp("report")
    _, html = write_report(report, out)
    return report, html


def _run(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    cmd = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_pictures_are_drawn(report_html, tmp_path: Path) -> None:
    from PIL import Image

    report, html = report_html
    browser = _browser()
    shot = tmp_path / "shot.png"
    proc = _run(browser, tmp_path, "--window-size=1200,2600", f"--screenshot={shot}", html.as_uri())
    assert shot.is_file() and shot.stat().st_size > 0, proc.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    colours = {tuple(px) for px in img.reshape(-1, 3)[::7]}
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    # the worst tree node and the worst heatmap cell are filled with the full heat colour rgb(255,80,80)
    heat = np.all(np.abs(img.astype(int) - np.array([255, 80, 80])) <= 3, axis=-1)
    assert heat.sum() > 2000, f"only {heat.sum()} pixels in the heat colour: tree/heatmap not drawn"
    # the pass/fail badge (red: this report fails)
    badge = np.all(np.abs(img.astype(int) - np.array([198, 40, 40])) <= 3, axis=-1)
    assert badge.sum() > 200


def test_the_dom_has_every_node_and_cell(report_html, tmp_path: Path) -> None:
    report, html = report_html
    browser = _browser()
    proc = _run(browser, tmp_path, "--dump-dom", html.as_uri())
    dom = proc.stdout
    assert "<svg" in dom, proc.stderr[-2000:]
    nodes = re.findall(r'<g class="node(?: leaf)?" data-node-id="(\d+)"', dom)
    assert sorted(map(int, nodes)) == sorted(n.id for n in report.tree.nodes) and len(nodes) >= 3
    assert len(re.findall(r'<g class="node leaf"', dom)) == len(report.tree.leaves)
    assert len(re.findall(r'<g class="cell">', dom)) == len(report.heatmap.rows) * len(report.heatmap.cols)
    assert "credit &lt;demo&gt;" in dom and "<demo>" not in dom  # names are escaped
    assert 'id="verdict"' in dom and "FAILED" in dom
