"""Reading the held-out rows and splitting them into features and target (pandas)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modeldeploy.errors import Diagnostic, EvaluationError, MissingDependencyError


def require_extra() -> None:
    """numpy, pandas and scikit-learn come with ``pip install 'modeldeploy[eval]'``."""
    missing = []
    for mod in ("numpy", "pandas", "sklearn"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise MissingDependencyError(
            f"evaluation needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not installed",
            hint="pip install 'modeldeploy[eval]'",
        )


def read_table(path: Path, *, display: str, line: int = 0, col: int = 0, key: str = "data") -> Any:
    """A CSV or Parquet file as a DataFrame; unreadable files are located errors."""
    import pandas as pd

    def fail(msg: str) -> EvaluationError:
        return EvaluationError(msg, diagnostics=[Diagnostic(display, line, col, f"evaluation.{key}: {msg}", "MD901")])

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            raise fail(f"{path.name}: expected a .csv or .parquet file")
    except FileNotFoundError:
        raise fail(f"{path.name} does not exist") from None
    except EvaluationError:
        raise
    except ImportError as exc:
        raise fail(f"{path.name}: reading Parquet needs pyarrow ({exc})") from None
    except Exception as exc:  # pandas' parser errors are many types
        raise fail(
            f"{path.name} cannot be read: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    if len(frame) == 0:
        raise fail(f"{path.name} has no rows")
    return frame


def split(frame: Any, section: Any, *, display: str, at: Any) -> tuple[Any, Any, list[str], list[str]]:
    """(X, y, features, categorical) per the section; unknown columns are located errors."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    diags = []
    if section.target not in columns:
        line, col = at(("evaluation", "target"))
        diags.append(
            Diagnostic(
                display,
                line,
                col,
                f"evaluation.target: column {section.target!r} is not in {section.data} (columns: {', '.join(columns[:20])})",
                "MD901",
            )
        )
    features = list(section.features) if section.features else [c for c in columns if c != section.target]
    for i, f in enumerate(section.features or []):
        if f not in columns:
            line, col = at(("evaluation", "features", i))
            diags.append(
                Diagnostic(display, line, col, f"evaluation.features: column {f!r} is not in {section.data}", "MD901")
            )
    for key, names in (("categorical_features", section.categorical_features or []),):
        for i, f in enumerate(names):
            if f not in features:
                line, col = at(("evaluation", key, i))
                diags.append(
                    Diagnostic(display, line, col, f"evaluation.{key}: {f!r} is not one of the features", "MD901")
                )
    if section.fairness is not None:
        for i, f in enumerate(section.fairness.sensitive_features):
            if f not in columns:
                line, col = at(("evaluation", "fairness", "sensitive_features", i))
                diags.append(
                    Diagnostic(
                        display,
                        line,
                        col,
                        f"evaluation.fairness.sensitive_features: column {f!r} is not in {section.data}",
                        "MD901",
                    )
                )
    for i, f in enumerate(section.heatmap.features or []):
        if f not in features:
            line, col = at(("evaluation", "heatmap", "features", i))
            diags.append(
                Diagnostic(
                    display, line, col, f"evaluation.heatmap.features: {f!r} is not one of the features", "MD901"
                )
            )
    if diags:
        raise EvaluationError("evaluation columns not found", diagnostics=diags)
    if section.categorical_features is not None:
        categorical = list(section.categorical_features)
    else:
        categorical = [
            f for f in features if not pd.api.types.is_numeric_dtype(frame[f]) or pd.api.types.is_bool_dtype(frame[f])
        ]
    wrong = [f for f in features if f not in categorical and not pd.api.types.is_numeric_dtype(frame[f])]
    if wrong:
        line, col = at(("evaluation", "categorical_features"))
        raise EvaluationError(
            "non-numeric features not declared categorical",
            diagnostics=[
                Diagnostic(
                    display,
                    line,
                    col,
                    f"evaluation.categorical_features: {', '.join(repr(w) for w in wrong)} hold text; list them here",
                    "MD901",
                )
            ],
        )
    y = frame[section.target]
    if y.isna().any():
        line, col = at(("evaluation", "target"))
        raise EvaluationError(
            "target has missing values",
            diagnostics=[
                Diagnostic(
                    display,
                    line,
                    col,
                    f"evaluation.target: {int(y.isna().sum())} rows of {section.target!r} are empty",
                    "MD901",
                )
            ],
        )
    return frame[features], y, features, categorical
