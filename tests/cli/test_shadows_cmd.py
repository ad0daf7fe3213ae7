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


def test_shadows_light_angle_has_its_former_name_azimuth(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    for flag in ("--light-angle", "--azimuth"):
        result = runner.invoke(
            app,
            ["shadows", str(photo), "--depth", str(depth), flag, "200", "--height", "20",
             "-o", str(folder / f"{flag[2:]}.png")],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    assert (folder / "light-angle.png").read_bytes() == (folder / "azimuth.png").read_bytes()
    assert not np.array_equal(
        read_image(folder / "light-angle.png").pixels, read_image(photo).pixels
    )


def test_shadows_help_lists_the_options_of_the_shadows_dataclass() -> None:
    result = runner.invoke(app, ["shadows", "--help"])
    assert result.exit_code == 0
    for option in ("--light-angle", "--azimuth", "--elevation", "--height", "--softness"):
        assert option in result.output


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
