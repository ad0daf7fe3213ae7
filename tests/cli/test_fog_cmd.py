"""``depthfx fog`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.depthmap import DepthMap
from depthfx.effects.fog import fog
from depthfx.image import read_image

runner = CliRunner()


@pytest.fixture
def scene(tmp_path: Path) -> tuple[Path, Path]:
    """A 16-bit photo (left half near, right half far) and its relative depth file."""
    rng = np.random.default_rng(0)
    pixels = (rng.uniform(0.1, 0.5, (48, 64, 3)) * 65535).astype(np.uint16)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), pixels)
    nearness = np.ones((48, 64), np.float32)
    nearness[:, :32] = 5.0
    depth = tmp_path / "depth.npy"
    np.save(depth, nearness)
    return photo, depth


def test_fog_writes_foggier_far_half_and_keeps_bit_depth(
    scene: tuple[Path, Path], tmp_path: Path
) -> None:
    photo, depth = scene
    out = tmp_path / "out.png"
    result = runner.invoke(
        app, ["fog", str(photo), "--depth", str(depth), "--color", "white", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = read_image(out)
    assert written.bit_depth == 16
    source = read_image(photo).pixels
    added = written.pixels - source
    assert added[:, 40:].mean() > added[:, :24].mean() + 0.2  # far half gets more fog
    assert np.all(added > -1e-3)  # white fog only brightens


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--visibility", "-3"], "visibility must be > 0"),
        (["--color", "purplish"], "color must be 'auto'"),
        (["--visibility", "100"], "visibility needs metric depth"),
        (["--max-fog", "1.5"], "max_fog must be > 0 and <= 1"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    scene: tuple[Path, Path], tmp_path: Path, options: list[str], message: str
) -> None:
    photo, depth = scene
    out = tmp_path / "out.png"
    result = runner.invoke(
        app, ["fog", str(photo), "--depth", str(depth), *options, "-o", str(out)]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()


def test_missing_output_folder_fails_before_work(scene: tuple[Path, Path], tmp_path: Path) -> None:
    photo, depth = scene
    result = runner.invoke(
        app, ["fog", str(photo), "--depth", str(depth), "-o", str(tmp_path / "no" / "x.png")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output


def test_wrong_aspect_depth_is_refused(scene: tuple[Path, Path], tmp_path: Path) -> None:
    photo, _ = scene
    depth = tmp_path / "square.npy"
    np.save(depth, np.ones((40, 40), np.float32))
    result = runner.invoke(
        app, ["fog", str(photo), "--depth", str(depth), "-o", str(tmp_path / "o.png")]
    )
    assert result.exit_code == 2 and "aspect" in result.output


def test_help_lists_the_fog_options() -> None:
    result = runner.invoke(app, ["fog", "--help"])
    assert result.exit_code == 0
    for option in ("--visibility", "--density", "--color", "--height-falloff", "--patchiness"):
        assert option in result.output


def test_focal_px_measures_distance_along_the_rays(
    scene: tuple[Path, Path], tmp_path: Path
) -> None:
    photo, depth = scene
    written: dict[str, np.ndarray] = {}
    for name, extra in (("axis", []), ("rays", ["--focal-px", "20"])):
        out = tmp_path / f"{name}.png"
        result = runner.invoke(
            app, ["fog", str(photo), "--depth", str(depth), *extra, "-o", str(out)]
        )
        assert result.exit_code == 0, result.output
        written[name] = read_image(out).pixels
    assert np.abs(written["rays"] - written["axis"]).max() > 0.01  # corners are farther
    expected = fog(read_image(photo).pixels, DepthMap.load(depth), focal_px=20.0)
    assert np.abs(written["rays"] - expected).max() < 1e-4  # 16-bit rounding only
