"""One error hierarchy with stable codes; the CLI maps it to exit codes in one place.

Every error a user can cause is a :class:`ModelDeployError`. Errors that point into a file carry
:class:`Diagnostic` values (file, line, column) and print as ``FILE:LINE:COL: error: message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2  # plan --detailed-exitcode: changes present
EXIT_POLICY = 3  # signature policy violation


@dataclass(frozen=True)
class Diagnostic:
    """One located problem. ``line``/``col`` are 1-based; 0 means unknown."""

    file: str
    line: int
    col: int
    message: str
    code: str = "MD100"
    severity: str = "error"

    def format(self) -> str:
        where = show_name(self.file)
        if not where:
            return f"{self.severity}: {self.message} [{self.code}]"
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        return f"{where}: {self.severity}: {self.message} [{self.code}]"


def show_key(key: Any) -> str:
    """A mapping key as messages show it: bare when it is printable without spaces or quotes, else
    quoted (repr), so a key holding a newline or U+2028 cannot forge a second diagnostic line."""
    text = str(key)
    if text and text.isprintable() and not any(c.isspace() or c in "'\"[]" for c in text):
        return text
    return repr(text)


def show_dotted(prefix: str, key: Any) -> str:
    """``prefix.key`` for a plain key, ``prefix['odd\\nkey']`` (quoted, escaped) otherwise — the form
    the spec loader prints locations in, so an odd key cannot split a message over two lines."""
    shown = show_key(key)
    return f"{prefix}[{shown}]" if shown != str(key) else f"{prefix}.{shown}"


def show_name(name: str) -> str:
    """A file name as messages show it: as is when printable (spaces included), else quoted with its
    control characters escaped (repr), so a name holding a newline cannot split a diagnostic line."""
    return name if name.isprintable() else repr(name)


class ModelDeployError(Exception):
    """Base of every expected failure. ``code`` is stable and documented; ``exit_code`` is the CLI's."""

    code: ClassVar[str] = "MD000"
    exit_code: ClassVar[int] = EXIT_ERROR

    def __init__(self, message: str, *, diagnostics: Iterable[Diagnostic] = (), hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.diagnostics = tuple(diagnostics)
        self.hint = hint

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whole (diagnostics, hint, a per-instance exit code): a parallel render reports the
        errors its worker processes met exactly as a serial run would."""
        return (_restore_error, (type(self), dict(self.__dict__)))

    def __str__(self) -> str:
        """The message and what it is about: a caller of the library that prints ``str(exc)`` (or a
        traceback) sees ``invalid deploy file: deploy.yaml:12:5: error: ...``, not only the summary.
        One line; the first three diagnostics, then how many more."""
        if not self.diagnostics:
            return self.message
        shown = [d.format() for d in self.diagnostics[:3]]
        more = len(self.diagnostics) - len(shown)
        return f"{self.message}: " + "; ".join(shown) + (f" (and {more} more)" if more else "")

    def lines(self) -> list[str]:
        """What the CLI prints, one entry per line."""
        if self.diagnostics:
            out = [d.format() for d in self.diagnostics]
        else:
            out = [f"error: {self.message} [{self.code}]"]
        if self.hint:
            out.append(f"hint: {self.hint}")
        return out


class SpecError(ModelDeployError):
    """deploy.yaml cannot be read or is invalid (YAML, schema, overlay)."""

    code = "MD100"


class ModelError(ModelDeployError):
    """An MLflow model folder (MLmodel and its files) cannot be read."""

    code = "MD200"


class SourceError(ModelDeployError):
    """A model source URI cannot be resolved or fetched (unknown model, auth, network)."""

    code = "MD300"


class RenderError(ModelDeployError):
    """A value cannot be rendered safely, or a rendered artifact failed its parse-back check."""

    code = "MD400"


class PolicyViolation(ModelDeployError):
    """The signature policy forbids this change (exit 3)."""

    code = "MD500"
    exit_code = EXIT_POLICY


class EvaluationGateFailed(PolicyViolation):
    """The evaluation gate (deploy.yaml ``evaluation:``) failed: a metric, cohort or fairness finding
    that is not waived (exit 3, like the signature policy)."""

    code = "MD510"


class EvaluationError(ModelDeployError):
    """The evaluation cannot run: data unreadable, no way to score the model, baseline unreadable.
    The gate never passes in that case."""

    code = "MD900"


class PlanError(ModelDeployError):
    """A plan cannot be computed, read, or applied (stale plan, already applied)."""

    code = "MD600"


class StalePlanError(PlanError):
    code = "MD601"


class TargetError(ModelDeployError):
    """A target's SDK or service failed (the service's own message is kept)."""

    code = "MD700"


class MissingDependencyError(ModelDeployError):
    """An optional extra (aws, azure, kubernetes) is needed for this command."""

    code = "MD701"


def missing_dependency(exc: ImportError, modules: Iterable[str], message: str, extra: str) -> MissingDependencyError:
    """MD701 for an import of ``modules`` that failed with ``exc``. Not installed: ``message`` and the
    extra's install hint. Installed but not importable (one of its own dependencies at a release it
    does not work with, as azure-ai-ml 1.20 with marshmallow 4): says so with the import error, as
    "install it" would send the user to install what is already there."""
    hint = f"pip install 'modeldeploy[{extra}]'"
    gone = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if gone and any(m == gone or m.startswith(gone + ".") for m in modules):
        return MissingDependencyError(message, hint=hint)
    return MissingDependencyError(
        f"{message}: it is installed but cannot be imported ({type(exc).__name__}: {exc})",
        hint=f"pip install --upgrade 'modeldeploy[{extra}]', then `pip check`: one of its dependencies is at a "
        "release it does not work with",
    )


class ApplyError(TargetError):
    code = "MD800"


def _restore_error(cls: type[ModelDeployError], state: dict[str, Any]) -> ModelDeployError:
    exc = cls.__new__(cls)
    Exception.__init__(exc, state.get("message", ""))
    exc.__dict__.update(state)
    return exc


def collect_errors(fn, items):
    """Apply ``fn`` to every item; gather every ModelDeployError so one bad file doesn't hide the rest.
    Returns the results and raises one combined error at the end if any failed."""
    results, errors = [], []
    for item in items:
        try:
            results.append(fn(item))
        except ModelDeployError as exc:
            errors.append(exc)
    if errors:
        if len(errors) == 1:
            raise errors[0]
        diags = [d for e in errors for d in (e.diagnostics or [Diagnostic("", 0, 0, e.message, e.code)])]
        combined = ModelDeployError(f"{len(errors)} files failed", diagnostics=diags)
        combined.exit_code = max(e.exit_code for e in errors)  # type: ignore[misc]
        raise combined
    return results
