"""``depthfx insert`` through typer's CliRunner."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image, write_image

runner = CliRunner()


def test_insert_places_overlay_behind_near_object(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    sticker = np.zeros((20, 70, 4), np.float32)
    sticker[:, :] = (0.0, 0.0, 1.0, 1.0)
    overlay = write_image(folder / "sticker.png", sticker)
    result = runner.invoke(
        app,
        [
            "insert", str(photo), "--overlay", str(overlay), "--at", "40,30", "--nearness", "0.75",
            "--depth", str(depth), "--feather", "0", "-o", str(folder / "out.png"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = read_image(folder / "out.png").pixels
    source = read_image(photo).pixels
    assert np.allclose(out[30, 10], (0, 0, 1), atol=1e-3)  # far background: overlay shows
    assert np.allclose(out[30, 30], source[30, 30], atol=1e-3)  # near object (1.0) hides it
    assert np.allclose(out[30, 60], (0, 0, 1), atol=1e-3)  # middle plane (0.5) is behind it


@pytest.mark.parametrize(
    ("at", "depth_value", "message"),
    [("12", "0.5", "at must be X,Y"), ("1,2", "1.5", "nearness must be in 0..1")],
)
def test_insert_bad_options(scene, one_error_line, at: str, depth_value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    overlay = write_image(folder / "s.png", np.ones((4, 4, 3), np.float32))
    result = runner.invoke(
        app,
        ["insert", str(photo), "--overlay", str(overlay), "--at", at, "--depth-of-overlay", depth_value,
         "--depth", str(depth), "-o", str(folder / "out.png")],
    )  # fmt: skip
    assert message in one_error_line(result)


def test_insert_unreadable_overlay(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    bad = folder / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    result = runner.invoke(
        app,
        ["insert", str(photo), "--overlay", str(bad), "--at", "1,2", "--depth-of-overlay", "0.5",
         "--depth", str(depth), "-o", str(folder / "out.png")],
    )  # fmt: skip
    assert "bad.png" in one_error_line(result)
    assert not (folder / "out.png").exists()


def test_help_works() -> None:
    result = runner.invoke(app, ["insert", "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
