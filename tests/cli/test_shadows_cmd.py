"""``depthfx shadows`` through typer's CliRunner."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image

runner = CliRunner()


def test_shadows_command_darkens_beside_the_near_object(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = runner.invoke(
        app,
        [
            "shadows", str(photo), "--depth", str(depth), "--azimuth", "180", "--elevation", "30",
            "--height", "20", "--opacity", "0.8", "-o", str(folder / "lit.png"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lit = read_image(folder / "lit.png").pixels
    source = read_image(photo).pixels
    assert (lit <= source + 1e-3).all()
    # Light from the left: the near block (cols 20..49, rows 20..39) shades the floor to its right.
    assert (lit[30, 52] < 0.5 * source[30, 52]).all()
    assert np.allclose(lit[5, 5], source[5, 5], atol=1e-3)


def test_shadows_command_bad_elevation(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = runner.invoke(
        app,
        [
            "shadows",
            str(photo),
            "--depth",
            str(depth),
            "--elevation",
            "95",
            "-o",
            str(folder / "lit.png"),
        ],
    )
    assert "elevation must be in 1..89" in one_error_line(result)
