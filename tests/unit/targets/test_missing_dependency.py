"""MD701 tells a missing extra from an installed one that cannot be imported.

With azure-ai-ml 1.20 and marshmallow 4 (what pip installed for the old ``azure-ai-ml>=1.20``), the
SDK is there but its import fails; "pip install 'modeldeploy[azure]'" then sent the user to install
what was already installed. The CLI case reproduces such an install the narrowest honest way: a
``marshmallow`` package first on the path whose import fails as marshmallow 4's does for 1.20.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modeldeploy.errors import MissingDependencyError, missing_dependency

REPO = Path(__file__).resolve().parents[3]


def test_a_module_that_is_not_there_gets_the_install_hint() -> None:
    for gone in ("azure", "azure.ai", "azure.ai.ml"):
        err = missing_dependency(ModuleNotFoundError(name=gone), ["azure.ai.ml"], "needs the SDK", "azure")
        assert isinstance(err, MissingDependencyError) and err.code == "MD701"
        assert (err.message, err.hint) == ("needs the SDK", "pip install 'modeldeploy[azure]'")


@pytest.mark.parametrize(
    "exc",
    [
        ImportError("cannot import name '_T' from 'marshmallow.fields'"),
        ModuleNotFoundError("No module named 'marshmallow'", name="marshmallow"),  # its dependency, not it
        ModuleNotFoundError("No module named 'azure.ai.mlx'", name="azure.ai.mlx"),
    ],
)
def test_an_installed_module_that_cannot_be_imported_says_so(exc: ImportError) -> None:
    err = missing_dependency(exc, ["azure.ai.ml"], "needs the SDK", "azure")
    assert err.code == "MD701"
    assert err.message == f"needs the SDK: it is installed but cannot be imported ({type(exc).__name__}: {exc})"
    assert err.hint is not None and err.hint.startswith("pip install --upgrade 'modeldeploy[azure]', then `pip check`")


def test_validate_of_an_azureml_spec_with_a_broken_sdk_names_the_import_error(tmp_path: Path) -> None:
    pytest.importorskip("azure.ai.ml")
    fake = tmp_path / "marshmallow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ImportError(\"cannot import name '_T' from 'marshmallow.fields'\")\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]), "NO_COLOR": "1"}
    cmd = [sys.executable, "-c", "from modeldeploy.cli.app import main; main()"]
    proc = subprocess.run(
        [*cmd, "validate", "--env", "prod", "examples/azureml/deploy.yaml"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (
        "error: (environment prod) the azureml target needs the Azure ML SDK to validate its specs: it is "
        "installed but cannot be imported (ImportError: cannot import name '_T' from 'marshmallow.fields') [MD701]"
    ) in proc.stderr, proc.stderr
    assert "hint: pip install --upgrade 'modeldeploy[azure]', then `pip check`" in proc.stderr, proc.stderr
