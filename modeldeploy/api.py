"""The operations the CLI is made of: load → render → plan → apply (and destroy).

Each stage takes the previous stage's value and returns a new immutable one. Only plan against
``live``, apply and destroy touch the network; everything before them is pure. Loading, resolving
and rendering one deployment live in :mod:`modeldeploy.deployment` and are re-exported here.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modeldeploy.deployment import (
    LOCK_FILE,
    Deployment,
    check_installed,
    load,
    lock_data,
    render,
    resolve,
    shown_uri,
)
from modeldeploy.errors import ModelDeployError, PlanError, PolicyViolation
from modeldeploy.progress import Progress
from modeldeploy.rendering.artifact import Artifact, RenderResult
from modeldeploy.spec.loader import LoadedSpec, load_loaded, parse_text
from modeldeploy.targets import plugin_config

if TYPE_CHECKING:  # planning is imported by the operations that plan: render and validate need none of it
    from modeldeploy.model.findings import Finding
    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.planning.plan import Plan

__all__ = [
    "LOCK_FILE",
    "Deployment",
    "build_image",
    "check_installed",
    "default_against",
    "enforce_policy",
    "image_warnings",
    "lease_status",
    "load",
    "lock_data",
    "plan",
    "policy_findings",
    "render",
    "resolve",
    "shown_uri",
]

# --- policy --------------------------------------------------------------------------------------


def policy_findings(dep: Deployment, old_signature: Mapping[str, Any] | None, *, has_previous: bool) -> list[Finding]:
    """Signature policy: required, allowed input kinds, input example, and compatibility with what is
    deployed now (``old_signature``; ``has_previous`` False for a first deployment)."""
    from modeldeploy.model import compat
    from modeldeploy.model.example import check_input_example
    from modeldeploy.model.signature import Signature

    policy = dep.spec.signature
    new = dep.model.signature
    out: list[Finding] = []
    # A custom model has no MLmodel and so no signature: `required` (default true) applies to it only
    # when deploy.yaml says so explicitly.
    required = policy.required and (dep.spec.model.type != "custom" or "required" in policy.model_fields_set)
    out.extend(compat.check_required(new, required))
    out.extend(compat.check_input_kinds(new, policy.input_kinds))
    if policy.check_input_example:
        out.extend(check_input_example(dep.model))
    if has_previous and policy.compatibility != "none":
        old = Signature.from_canonical(old_signature) if old_signature else None
        out.extend(compat.check(old, new, policy.compatibility, policy.waivers))
    return out


# --- plan ----------------------------------------------------------------------------------------


def default_against(dep: Deployment) -> str:
    return "live" if dep.target.live_by_default(dep.context()) else "dir:deploy/rendered"


def image_warnings(dep: Deployment) -> list[tuple[str, tuple[Any, ...]]]:
    """(message, deploy.yaml key) for each image the deployment runs that names no registry host."""
    from modeldeploy.targets.base import image_host_warnings

    return image_host_warnings(dep.target, dep.context())


def plan(
    dep: Deployment,
    against: str | None = None,
    *,
    options: ObserveOptions | None = None,
    repo_root: Path | None = None,
) -> tuple[Plan, RenderResult]:
    """Compare the desired render with a folder (``dir:PATH``), a git ref (``git:REF``) or ``live``.

    With an ``evaluation:`` section the plan also carries the evaluation gate (the model scored outside
    this process, against the deployed model when ``baseline: deployed``)."""
    if dep.spec.evaluation is None:
        return _plan(dep, against, options, repo_root, None)
    with tempfile.TemporaryDirectory(prefix="modeldeploy-baseline-") as scratch:
        return _plan(dep, against, options, repo_root, Path(scratch))


def _plan(
    dep: Deployment, against: str | None, options: ObserveOptions | None, repo_root: Path | None, scratch: Path | None
) -> tuple[Plan, RenderResult]:
    from modeldeploy.planning import current as readers
    from modeldeploy.planning.options import ObserveOptions
    from modeldeploy.planning.plan import Plan

    baseline_copy: Path | None = None  # git:REF and baseline: deployed: the model's files as of REF

    explicit = against is not None
    against = against or default_against(dep)
    result = render(dep)
    artifacts = list(result.artifacts)
    notes: list[str] = list(dep.target.plan_notes(dep.context()))
    notes.extend(f"warning: {message}" for message, _ in image_warnings(dep))
    lease: dict[str, Any] | None = None
    options = options or ObserveOptions()
    desired = None
    if against == "live":
        ctx = dep.context()
        desired = dep.target.desired(ctx, artifacts)
        current = readers.read_live(dep.target, ctx, desired, options)
        try:
            lease = lease_status(dep, options)
        except ModelDeployError as exc:  # a plan-only role may not read it: say so, plan on
            notes.append(f"the deployment's lease could not be read ({exc.message}); apply takes it before any change")
    elif against.startswith("git:"):
        if scratch is not None and dep.spec.evaluation is not None and dep.spec.evaluation.baseline == "deployed":
            baseline_copy = scratch / "model"
        current = readers.read_git(
            dep.loaded.path,
            dep.loaded.display,
            dep.loaded.env,
            against[4:],
            repo_root,
            parse=_parse_old,
            build=functools.partial(_build_old, keep_model=baseline_copy),
        )
    else:
        folder = Path(against[4:] if against.startswith("dir:") else against)
        if explicit and not folder.is_dir():
            raise _missing_folder(folder)
        current = readers.read_folder(folder, dep.name)
    against = current.against
    changes = readers.changes(current, dep.name, artifacts, desired)
    notes.extend(current.notes)
    fingerprints = dict(current.fingerprints)
    old_sig, has_previous = current.old_signature, current.has_previous
    previous: dict[str, Any] | None = dict(current.previous) if current.previous else None
    observed = current.observed
    # The resources apply handles around the target's own (the image before, the registration
    # after): a live plan asks for each; other plans read nothing live and say what apply will do.
    auxiliaries = dep.target.auxiliaries(dep.context(), artifacts)
    if against == "live":
        changes = [
            *(a.plan(options) for a in auxiliaries if a.stage == "before"),
            *changes,
            *(a.plan(options) for a in auxiliaries if a.stage == "after"),
        ]
    else:
        notes.extend(note for a in auxiliaries if (note := a.review()))
    findings = policy_findings(dep, old_sig, has_previous=has_previous)
    evaluation = None
    if dep.spec.evaluation is not None:
        evaluation = _evaluation(dep, against, options, has_previous, previous, baseline_copy)
    no_baseline = ""
    if not has_previous and dep.spec.signature.compatibility != "none":
        where = "live" if against == "live" else against
        no_baseline = (
            f"nothing deployed at {where}: the signature was NOT checked for {dep.spec.signature.compatibility} "
            "compatibility (no deployed version to compare with; right for a first deployment, wrong if "
            "--against points at the wrong place)"
        )
    model_info: dict[str, Any] = {
        "uri": shown_uri(dep.ref),
        "pinned": dep.ref.pinned_uri,
        "digest": dep.ref.digest,
        "version": dep.ref.version,
        "alias": dep.ref.alias,
    }
    if previous:
        previous = {"pinned": previous.get("pinned_uri", previous.get("pinned")), **previous}
        model_info["previous"] = {
            k: previous.get(k) for k in ("pinned", "digest", "version", "alias") if previous.get(k) is not None
        }
    p = Plan(
        name=dep.name,
        target=dep.spec.target.kind,
        env=dep.loaded.env,
        against=against,
        changes=tuple(changes),
        policy=tuple(findings),
        policy_mode=dep.spec.signature.compatibility,
        model=model_info,
        fingerprints=fingerprints,
        notes=tuple(notes),
        no_baseline=no_baseline,
        options=options,
        observed=observed,
        lease=lease,
        evaluation=evaluation,
    )
    return p, result


def _evaluation(
    dep: Deployment,
    against: str,
    options: ObserveOptions,
    has_previous: bool,
    previous: Mapping[str, Any] | None,
    local: Path | None,
) -> dict[str, Any]:
    """The evaluation gate for a plan. ``baseline: deployed`` is what the signature policy compares
    with: the rendered folder's lock file, the git ref's render, or the live objects' tags."""
    from modeldeploy.evaluation.planview import plan_summary
    from modeldeploy.evaluation.run import Deployed, evaluate

    deployed = None
    if dep.spec.evaluation.baseline == "deployed":
        if not has_previous or not previous:
            deployed = Deployed(found=False, where=against)
        elif local is not None and local.exists():
            deployed = Deployed(
                found=True, where=against, uri=previous.get("pinned_uri") or previous.get("pinned"), local_dir=local
            )
        else:
            deployed = Deployed(
                found=True,
                where=against,
                uri=previous.get("pinned_uri") or previous.get("pinned") or previous.get("uri"),
                digest=previous.get("digest"),
            )
    eval_python = options.extra.get("eval_python") if options.extra else None
    report = evaluate(dep, eval_python=eval_python, deployed=deployed)
    return plan_summary(report)


def _missing_folder(folder: Path) -> PlanError:
    """--against DIR that does not exist: a typo must not plan against nothing (everything new, no
    signature check, a green pull request). An existing empty folder means "nothing deployed"."""
    import difflib

    parent = folder.parent
    try:
        siblings = sorted(p.name for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
    except OSError:
        siblings = []
    close = difflib.get_close_matches(folder.name, siblings, n=1, cutoff=0.6)
    hint = (
        f"did you mean {(parent / close[0]).as_posix()}?"
        if close
        else (
            f"for a first deployment create it empty (mkdir -p {folder.as_posix()}): an empty folder means nothing deployed"
        )
    )
    return PlanError(f"--against {folder.as_posix()}: no such folder", hint=hint)


def lease_status(dep: Deployment, options: ObserveOptions | None = None) -> dict[str, Any] | None:
    """Who holds the deployment's live lease now (the shape of ``Plan.lease``), or None."""
    from modeldeploy.lease import holder_gone, iso
    from modeldeploy.planning.options import ObserveOptions

    backend = dep.target.lease(dep.context(), options or ObserveOptions())
    if backend is None:
        return None
    found = backend.read()
    if found is None:
        return None
    record = found[0]
    import time

    return {
        "holder": record.holder,
        "operation": record.operation,
        "acquired": iso(record.acquired),
        "expires": iso(record.expires),
        "expired": record.expires <= time.time(),
        "where": backend.where,
        "gone": holder_gone(record.holder) or "",
    }


def _parse_old(text: str, display: str, path: Path, env: str | None) -> LoadedSpec:
    """The git reader's parse: the old deploy.yaml, validated with the same plugins."""
    return load_loaded(parse_text(text, display, path), env, plugins=plugin_config)


def _build_old(
    loaded: LoadedSpec, *, keep_model: Path | None = None
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any], Sequence[Artifact]]:
    """The git reader's build: resolve and render the old deploy.yaml. ``keep_model``: copy the
    model's files as of the ref there (the evaluation gate's deployed baseline)."""
    old_dep = resolve(loaded)
    if keep_model is not None and old_dep.ref.local_path is not None:
        import shutil

        shutil.copytree(old_dep.ref.local_path, keep_model, symlinks=False)
    sig = old_dep.model.signature
    # The lock file records model URIs relative to deploy.yaml, so both renders agree on paths.
    return (sig.to_canonical() if sig is not None else None), lock_data(old_dep)["model"], render(old_dep).artifacts


def enforce_policy(plans: Sequence[Plan]) -> None:
    """Refuse to apply plans with a breaking signature change that is neither waived nor allowed
    (``--allow-breaking``, recorded in the plan), or whose evaluation gate fails with a finding that is
    not waived in ``evaluation.waivers`` (``--allow-breaking`` is about signatures and does not cover it).
    The CLI and the Python API both go through here."""
    failing = [(p, f) for p in plans for f in p.evaluation_failing]
    if failing:
        gated, finding = failing[0]
        raise PolicyViolation(
            f"{gated.name}: the evaluation gate fails with {len(failing)} finding(s) not waived "
            f"(first: {finding.get('rule')} {finding.get('message')})",
            hint="fix the model, or waive the finding with a reason in evaluation.waivers (rule, field, reason)",
        )
    broken = [(p, f) for p in plans if not p.allow_breaking for f in p.breaking]
    if broken:
        plan, first = broken[0]
        raise PolicyViolation(
            f"{plan.name}: {len(broken)} breaking signature change(s) under the {plan.policy_mode} policy "
            f"(first: {first.rule} {first.field}: {first.message})",
            hint="fix the model, waive the rule with a reason in signature.waivers, or pass --allow-breaking (recorded in the plan)",
        )


# --- images --------------------------------------------------------------------------------------


def build_image(dep: Deployment, *, push: bool = False, progress: Progress | None = None) -> tuple[str, str] | None:
    """Build (and with push, push unless the registry already has the tag) the image a deployment
    with ``target.registry`` references. None when the deployment's image is not modeldeploy's to build."""
    from modeldeploy.progress import Progress as _Progress
    from modeldeploy.targets.docker.registry import builds_image, ensure_image

    ctx = dep.context()
    if not builds_image(ctx):
        return None
    check_installed(dep.loaded)
    return ensure_image(ctx, list(dep.target.render(ctx)), progress or _Progress(), push=push)
