"""What the package declares: extras and the README's set-up commands."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_test_extra_is_what_the_readme_says() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    test_extra = project["optional-dependencies"]["test"]
    names = sorted(re.split(r"[<>=\[ ]", item)[0] for item in test_extra)
    assert names == ["onnx", "pytest", "selenium"]  # Dask comes with the distributed extra only
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`depthfx[test]` (pytest, onnx for the tiny test models, selenium" in readme


def test_readme_and_ci_run_the_same_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = 'pip install ".[test,distributed]" && pytest -q'
    assert command in readme and command in ci
