"""Fixtures shared by the command tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from depthfx.image import write_image


@pytest.fixture()
def scene(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    image = (rng.random((60, 80, 3)) * 0.6 + 0.2).astype(np.float32)
    photo = write_image(tmp_path / "photo.png", image)
    nearness = np.zeros((60, 80), np.float32)
    nearness[:, 40:] = 0.5
    nearness[20:40, 20:50] = 1.0
    depth = tmp_path / "depth.npy"
    np.save(depth, nearness)
    return tmp_path, photo, depth


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    """The single ``depthfx: error:`` line of a command that failed with exit code 2."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("depthfx: error:")
    return lines[0]


@pytest.fixture()
def one_error_line() -> Callable[..., str]:
    """:func:`_one_error_line`, for tests to check a failed command's message."""
    return _one_error_line
