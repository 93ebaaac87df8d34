"""Validation shared by validate/render/plan: spec, model, the parts of the signature policy that need
no deployed model (required, allowed input kinds, input example), and the render itself.

``validate`` is the render's promise: every configuration (the base and each environment, or the one
``--env`` names) is loaded, resolved and rendered in memory — nothing is written — so a spec ``render``
would refuse is refused here too. No configuration is skipped: an error without a file position is
still printed and counted, and each error says which environment it came from.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from modeldeploy.errors import Diagnostic, MissingDependencyError, ModelDeployError, PolicyViolation, show_key
from modeldeploy.spec.loader import LoadedSpec, load_all_environments, load_spec
from modeldeploy.spec.placeholders import placeholder_warnings
from modeldeploy.targets import check_installed, plugin_config

_TOP_KEYS = {"name", "model", "signature", "serving", "resources", "scaling", "labels", "target"}
# A render error names the deploy.yaml key it is about first: "serving.env.X: …", "resources.gpu 1: …".
_LEADING_PATH = re.compile(r"^([a-z_]+(?:\.[A-Za-z0-9_\-]+)*)[ :]")


def locate(exc: ModelDeployError, loaded: LoadedSpec) -> list[Diagnostic]:
    """The error's diagnostics; an error without any is placed at the deploy.yaml key its message
    starts with (the key the render refused), else at the file — never dropped."""
    if exc.diagnostics:
        return list(exc.diagnostics)
    message = exc.message
    m = _LEADING_PATH.match(message)
    line = col = 0
    if m and m.group(1).split(".")[0] in _TOP_KEYS:
        line, col = loaded.positions.at(tuple(m.group(1).split(".")))
    elif message.startswith("mode ") or " mode " in message[:40]:
        line, col = loaded.positions.at(("target", "mode"))
    return [Diagnostic(loaded.display, line, col, message, exc.code)]


def _in_env(d: Diagnostic, env: str | None) -> Diagnostic:
    if env is None or d.message.startswith("(environment "):
        return d
    return Diagnostic(d.file, d.line, d.col, f"(environment {show_key(env)}) {d.message}", d.code, d.severity)


def validate_file(path: Path, env: str | None, *, offline: bool = False) -> list[str]:
    loaded_all = (
        [load_spec(path, env, plugins=plugin_config)]
        if env is not None
        else load_all_environments(path, plugins=plugin_config)
    )
    _check_evaluation_data(loaded_all)
    for loaded in loaded_all:  # a missing extra: the error render would give, found here first
        try:
            check_installed(loaded.spec.target.kind)
        except MissingDependencyError as exc:
            raise loaded.locate(exc, ("target", "kind")) from None
    placeholders: list[str] = []
    seen_placeholders: list[Diagnostic] = []
    for loaded in loaded_all:
        # Dumped through the spec's own serializer, built with it: the section's (DockerTarget's)
        # would be built just for this (~2 ms). The same data, key order included.
        data = loaded.spec.model_dump(mode="json", by_alias=True, include={"target"})["target"]
        for d in placeholder_warnings({"target": data}, loaded.positions.at, loaded.display):
            if d not in seen_placeholders:
                seen_placeholders.append(d)
                placeholders.append(_in_env(d, loaded.env).format())
    if offline:
        return [*placeholders, f"{path}: valid ({len(loaded_all)} configuration(s), model not checked)"]
    from modeldeploy import api  # resolving a model needs it; --offline does not

    lines: list[str] = list(placeholders)
    warned: list[Diagnostic] = []

    def warn(d: Diagnostic, env: str | None) -> None:
        if d not in warned:  # the same warning at the same place in the base and an environment: once
            warned.append(d)
            lines.append(_in_env(d, env).format())

    failures: list[tuple[ModelDeployError, list[Diagnostic]]] = []
    seen: list[Diagnostic] = []
    for loaded in loaded_all:
        label = f"{path}" + (f" [{loaded.env}]" if loaded.env else "")
        try:
            dep = api.resolve(loaded)
            findings = api.policy_findings(dep, None, has_previous=False)
            breaking = [f for f in findings if f.severity == "breaking" and not f.waived]
            for f in findings:
                lines.append(f"{label}: {f.severity}: {f.line()}" + (f" (waived: {f.waived})" if f.waived else ""))
            if breaking:
                raise PolicyViolation(
                    f"{label}: {breaking[0].line()}",
                    hint="set signature.required: false to allow models without a signature"
                    if breaking[0].rule == "SIG901"
                    else None,
                )
            api.render(dep)  # every check render runs (parse-back included); nothing is written
            for message, where in api.image_warnings(dep):
                line, col = loaded.positions.at(where)
                warn(Diagnostic(loaded.display, line, col, message, "MD140", "warning"), loaded.env)
        except PolicyViolation as exc:
            failures.append((exc, [Diagnostic("", 0, 0, exc.message, exc.code)]))
            continue
        except ModelDeployError as exc:
            # The same error at the same place in the base and an environment (a misspelt model folder
            # the overlay does not touch) is printed once; the configuration still counts as invalid.
            fresh = [d for d in locate(exc, loaded) if d not in seen]
            seen.extend(fresh)
            failures.append((exc, [_in_env(d, loaded.env) for d in fresh]))
            continue
        lines.append(f"{label}: valid (model {_shown(dep.ref.uri, dep.ref.pinned_uri)}, {dep.ref.digest[:19]}…)")
    if len(failures) == 1 and isinstance(failures[0][0], PolicyViolation):
        raise failures[0][0]
    if failures:
        diags = [d for _, ds in failures for d in ds]
        hints = [e.hint for e, _ in failures if e.hint]
        error = ModelDeployError(
            f"{path}: {len(failures)} of {len(loaded_all)} configuration(s) invalid",
            diagnostics=diags,
            hint=hints[0] if hints else None,
        )
        error.exit_code = max(e.exit_code for e, _ in failures)  # type: ignore[misc]
        raise error
    return lines


def validate_one(item: tuple[Path, str | None, bool]) -> Any:
    """:func:`validate_file` of one ``(path, env, offline)`` as a worker's outcome (runs.per_file)."""
    from modeldeploy import runs

    path, env, offline = item
    return runs.capture(lambda p: validate_file(p, env, offline=offline), path)


def _shown(uri: str, pinned: str) -> str:
    """The model as deploy.yaml names it (``./model``, not its pinned form ``model`` or a digest);
    a registry URI also with what it resolved to (``models:/iris@champion = models:/iris/4``)."""
    if ":" not in uri or pinned == uri or pinned.startswith("sha256:"):
        return uri
    return f"{uri} = {pinned}"


def _check_evaluation_data(loaded_all) -> None:
    """evaluation.data / train_data must exist next to deploy.yaml (every configuration, located)."""
    if all(loaded.spec.evaluation is None for loaded in loaded_all):
        return
    from modeldeploy.errors import SpecError
    from modeldeploy.spec.evaluation import path_diagnostics

    diags = []
    for loaded in loaded_all:
        for d in path_diagnostics(loaded.spec.evaluation, loaded.base_dir, loaded.positions.at, loaded.display):
            if d not in diags:
                diags.append(d)
    if diags:
        raise SpecError("evaluation data not found", diagnostics=diags)
