"""What every command shares: the one place errors become exit codes, and finding deploy files."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import typer

from modeldeploy.errors import EXIT_ERROR, Diagnostic, ModelDeployError, SpecError
from modeldeploy.errors import collect_errors as collect  # noqa: F401  (the commands' name for it)

DEPLOY_FILE_NAMES = ("deploy.yaml", "deploy.yml")
# Optional extras by the top-level module a missing import names.
_EXTRAS = {
    "boto3": "aws",
    "botocore": "aws",
    "s3transfer": "aws",
    "azure": "azure",
    "kubernetes": "kubernetes",
    "kubernetes_validate": "kubernetes",
    "numpy": "eval",
    "pandas": "eval",
    "sklearn": "eval",
    "scipy": "eval",
}
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".modeldeploy-cache", "rendered"}


def err(line: str) -> None:
    print(line, file=sys.stderr)


@contextmanager
def handled() -> Iterator[None]:
    """Run a command body: expected errors print located lines and exit with their code; anything
    unexpected prints one line (the traceback only with MODELDEPLOY_DEBUG=1)."""
    try:
        yield
    except ModelDeployError as exc:
        for line in exc.lines():
            err(line)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt as exc:  # SIGINT, or SIGTERM during apply/destroy (modeldeploy.interrupt)
        code = getattr(exc, "exit_code", 130)
        err(f"interrupted ({'SIGTERM' if code == 143 else 'SIGINT'})")
        raise typer.Exit(code) from None
    except typer.Exit:
        raise
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        # A target's SDK is an optional extra; an import of it that a target did not wrap itself
        # still ends as the one-line install hint, never as an internal error.
        err(f"error: this needs {exc.name}, which is not installed [MD701]")
        err(f"hint: pip install 'modeldeploy[{extra}]'")
        raise typer.Exit(EXIT_ERROR) from None
    except OSError as exc:  # the file system said no (an -o path that is a file, a full disk...)
        if os.environ.get("MODELDEPLOY_DEBUG"):
            raise
        where = f"{exc.filename!r}: " if exc.filename else ""
        err(f"error: {where}{exc.strerror or exc}")
        raise typer.Exit(EXIT_ERROR) from None
    except Exception as exc:  # a bug: say so plainly, without a traceback
        if os.environ.get("MODELDEPLOY_DEBUG"):
            raise
        err(
            f"internal error: {type(exc).__name__}: {exc} (set MODELDEPLOY_DEBUG=1 for a traceback and please report it)"
        )
        raise typer.Exit(EXIT_ERROR) from None


def expand_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; folders are searched for deploy.yaml/deploy.yml (hidden and venv folders skipped).
    The order is stable: as given, folders expanded in sorted path order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = []
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
                found.extend(Path(dirpath, f) for f in sorted(filenames) if f in DEPLOY_FILE_NAMES)
            if not found:
                raise SpecError(
                    f"{p}: no deploy.yaml found in this folder",
                    diagnostics=[Diagnostic(str(p), 0, 0, "no deploy.yaml found in this folder")],
                )
            out.extend(sorted(found))
        else:
            out.append(p)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def one_file_without_gc(paths: Sequence[Path]) -> None:
    """Switch Python's cyclic garbage collector off for a ``validate`` or ``render`` of one file run
    as the process's own command (the process exits after it).

    Such a run is short and bounded (one spec, its model, one render), and nearly everything it
    allocates is start-up that lives until the process exits: modules, classes, the spec's schema.
    The collector would only walk those objects again and again (~2.5% of the run's instructions,
    measured with callgrind). A run over several files keeps the collector: its garbage grows with
    the number of files; so does a command run inside another program (``CliRunner``), whose process
    goes on."""
    from modeldeploy.cli import app  # loaded already: every command runs through it

    if len(paths) == 1 and app.OWN_PROCESS:
        gc.disable()
