"""Shared fixtures: paths to the real data beside the repository, skipped when absent."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# tests/depth/onnx_factory.py builds tiny ONNX networks for the depth, model and CLI tests.
sys.path.insert(0, str(REPO / "tests" / "depth"))
SHARED_DATA = Path(os.environ.get("DEPTHFX_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or $DEPTHFX_SHARED_DATA); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return REPO / "examples"
