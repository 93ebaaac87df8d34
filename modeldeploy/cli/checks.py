"""Validation shared by validate/render/plan: spec, model, and the parts of the signature policy that
need no deployed model (required, allowed input kinds, input example)."""

from __future__ import annotations

from pathlib import Path

from modeldeploy.errors import MissingDependencyError, PolicyViolation
from modeldeploy.spec.loader import load_all_environments, load_spec
from modeldeploy.targets import check_installed, plugin_config


def validate_file(path: Path, env: str | None, *, offline: bool = False) -> list[str]:
    loaded_all = [load_spec(path, env, plugins=plugin_config)] if env is not None else load_all_environments(path, plugins=plugin_config)
    _check_evaluation_data(loaded_all)
    for loaded in loaded_all:  # a missing extra: the error render would give, found here first
        try:
            check_installed(loaded.spec.target.kind)
        except MissingDependencyError as exc:
            raise loaded.locate(exc, ("target", "kind")) from None
    if offline:
        return [f"{path}: valid ({len(loaded_all)} configuration(s), model not checked)"]
    from modeldeploy import api  # resolving a model needs it; --offline does not

    lines = []
    for loaded in loaded_all:
        dep = api.resolve(loaded)
        findings = api.policy_findings(dep, None, has_previous=False)
        label = f"{path}" + (f" [{loaded.env}]" if loaded.env else "")
        breaking = [f for f in findings if f.severity == "breaking" and not f.waived]
        for f in findings:
            lines.append(f"{label}: {f.severity}: {f.line()}" + (f" (waived: {f.waived})" if f.waived else ""))
        if breaking:
            raise PolicyViolation(
                f"{label}: {breaking[0].line()}",
                hint="set signature.required: false to allow models without a signature" if breaking[0].rule == "SIG901" else None,
            )
        lines.append(f"{label}: valid (model {_shown(dep.ref.uri, dep.ref.pinned_uri)}, {dep.ref.digest[:19]}…)")
    return lines


def _shown(uri: str, pinned: str) -> str:
    """The model as deploy.yaml names it (``./model``, not its pinned form ``model`` or a digest);
    a registry URI also with what it resolved to (``models:/iris@champion = models:/iris/4``)."""
    if ":" not in uri or pinned == uri or pinned.startswith("sha256:"):
        return uri
    return f"{uri} = {pinned}"


def _check_evaluation_data(loaded_all) -> None:
    """evaluation.data / train_data must exist next to deploy.yaml (every configuration, located)."""
    from modeldeploy.errors import SpecError
    from modeldeploy.spec.evaluation import path_diagnostics

    diags = []
    for loaded in loaded_all:
        for d in path_diagnostics(loaded.spec.evaluation, loaded.base_dir, loaded.positions.at, loaded.display):
            if d not in diags:
                diags.append(d)
    if diags:
        raise SpecError("evaluation data not found", diagnostics=diags)
