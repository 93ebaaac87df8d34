"""Printing around the library's runs (modeldeploy.runs) for the plan, apply and destroy commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from modeldeploy.planning.plan import Plan
from modeldeploy.runs import inputs_of, options  # noqa: F401  (re-exported for the commands)
from modeldeploy.runs import plan_many as make_plans  # noqa: F401


def print_plans(plans: Sequence[Plan], fmt: str, *, show_unchanged: bool = False) -> None:
    from modeldeploy.planning import printers

    if fmt == "json":
        text = printers.format_json(plans)
    elif fmt == "markdown":
        text = printers.format_markdown(plans)
    else:
        text = printers.format_text(plans, color=sys.stdout.isatty(), show_unchanged=show_unchanged)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def save(path: Path, plans) -> str:
    from modeldeploy import runs
    from modeldeploy.cli.common import err

    plan_id = runs.save(path, plans)
    err(f"saved plan {plan_id[:12]} to {path}; apply it with: modeldeploy apply {path}")
    return plan_id
