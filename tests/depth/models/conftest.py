"""Every model test runs with its own empty cache folder, no model folder, network allowed."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHFX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPTHFX_MODEL_DIR", raising=False)
    monkeypatch.delenv("DEPTHFX_OFFLINE", raising=False)
