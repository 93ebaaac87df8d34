"""Build hook: the repository's top-level templates/ folder (the one real copy) ships in the wheel as
modeldeploy/templates, copied at build time: no symlink, so a checkout without symlinks (Windows'
default, ``git -c core.symlinks=false clone``) builds a wheel that renders. Everything else is
declared in pyproject.toml; modeldeploy.rendering.jinja reads the templates with importlib.resources."""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _template_files() -> list[Path]:
    return sorted(
        p
        for p in TEMPLATES.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )


class BuildPyWithTemplates(build_py):
    def run(self) -> None:
        super().run()
        if not TEMPLATES.is_dir():
            raise SystemExit(f"templates/ not found beside setup.py ({TEMPLATES}); cannot build modeldeploy")
        for src in _template_files():
            dest = Path(self.build_lib, "modeldeploy", "templates", src.relative_to(TEMPLATES))
            self.mkpath(str(dest.parent))
            self.copy_file(str(src), str(dest))


setup(cmdclass={"build_py": BuildPyWithTemplates})
