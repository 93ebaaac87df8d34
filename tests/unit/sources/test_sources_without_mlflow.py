"""modeldeploy must work where mlflow is not installed: a subprocess blocks ``import mlflow`` with a
meta-path finder, then resolves a local folder and imports the CLI app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

CODE = textwrap.dedent(
    """
    import importlib.util, sys
    from pathlib import Path

    class BlockMlflow:
        def find_spec(self, name, path=None, target=None):
            if name == "mlflow" or name.startswith("mlflow."):
                raise ModuleNotFoundError("No module named 'mlflow' (blocked by test)")
            return None

    sys.meta_path.insert(0, BlockMlflow())
    try:
        import mlflow  # noqa: F401
        raise SystemExit("blocker did not work")
    except ModuleNotFoundError:
        pass

    from modeldeploy.model.sources import resolve
    base = Path(sys.argv[1])
    ref = resolve("model", base_dir=base, cache_dir=base / "cache", environ={})
    print(ref.pinned_uri, ref.digest)
    if importlib.util.find_spec("modeldeploy.cli.app") is not None:
        import modeldeploy.cli.app  # noqa: F401
        print("cli imported")
    assert not any(m == "mlflow" or m.startswith("mlflow.") for m in sys.modules)
    """
)


def test_resolve_and_cli_import_without_mlflow(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    proc = subprocess.run(
        [sys.executable, "-c", CODE, str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("model sha256:")
