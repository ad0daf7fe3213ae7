"""``depthfx miniature`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.depth.stereo_input import read_stereo_pair
from depthfx.image import read_image

runner = CliRunner()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    pixels = np.random.default_rng(0).integers(20, 235, (80, 100, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), pixels)
    return path


def row_sharpness(pixels: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(pixels, axis=1)).mean(axis=(1, 2))


def test_band_mode_needs_no_depth(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jpg"
    result = runner.invoke(
        app, ["miniature", str(photo), "--position", "0.5", "--strength", "3", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = row_sharpness(read_image(out).pixels)
    assert rows[2:8].mean() < 0.6 * rows[37:43].mean()


def test_depth_mode_with_a_depth_file(photo: Path, tmp_path: Path) -> None:
    nearness = np.repeat(np.linspace(1, 2, 80, dtype=np.float32)[:, None], 100, axis=1)
    nearness[50:70, 10:40] += 1.0  # an object standing out of the ground plane
    depth = tmp_path / "depth.npy"
    np.save(depth, nearness)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app,
        ["miniature", str(photo), "--depth", str(depth), "--strength", "3", "--saturation", "1",
         "--contrast", "1", "--vignette", "0", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    source, written = read_image(photo).pixels, read_image(out).pixels
    assert np.abs(written[5:40, 50:] - source[5:40, 50:]).max() < 0.01  # ground: sharp
    assert np.abs(written[55:65, 15:35] - source[55:65, 15:35]).mean() > 0.05  # object: blurred


def _closer_to(written: np.ndarray, view: np.ndarray, other: np.ndarray) -> bool:
    """The output (sharp band: rows 35..45) is the picture of ``view``, not of ``other``."""
    band = slice(35, 45)
    return bool(
        np.abs(written[band] - view[band]).mean() < 0.5 * np.abs(written[band] - other[band]).mean()
    )


LOOK = ["--position", "0.5", "--saturation", "1", "--contrast", "1", "--vignette", "0"]


@pytest.mark.parametrize(
    ("name", "options", "left_half"),
    [
        ("holiday.left-right.png", [], True),  # layout from the name, band mode
        ("pair.png", ["--sbs", "cross", "--mode", "band"], False),
        ("pair.png", ["--sbs", "parallel", "--mode", "band"], True),
    ],
)
def test_side_by_side_picture_gives_its_left_view(
    tmp_path: Path, name: str, options: list[str], left_half: bool
) -> None:
    rng = np.random.default_rng(1)
    halves = [rng.integers(20, 235, (80, 100, 3), dtype=np.uint8) for _ in range(2)]
    picture = tmp_path / name
    cv2.imwrite(str(picture), np.concatenate(halves, axis=1))
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["miniature", str(picture), *LOOK, *options, "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = read_image(out).pixels
    assert written.shape == (80, 100, 3)  # one view, not the double frame
    first, second = (read_image(picture).pixels[:, start : start + 100] for start in (0, 100))
    left, right = (first, second) if left_half else (second, first)
    assert _closer_to(written, left, right)


def test_mpo_file_gives_its_left_view(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    frames = [Image.fromarray(rng.integers(20, 235, (80, 100, 3), dtype=np.uint8)) for _ in "lr"]
    path = tmp_path / "pair.mpo"
    frames[0].save(path, format="MPO", save_all=True, append_images=[frames[1]], quality=100)
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["miniature", str(path), *LOOK, "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = read_image(out).pixels
    assert written.shape == (80, 100, 3)
    left, right = read_stereo_pair(path)
    assert _closer_to(written, left.pixels, right.pixels)


def test_band_mode_refuses_a_depth_source(photo: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["miniature", str(photo), "--mode", "band", "--mono", "-o", str(tmp_path / "o.png")]
    )
    assert result.exit_code == 2 and "--mode band uses no depth" in result.output


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--position", "1.4"], "position must be in 0..1"),
        (["--mode", "tilt"], "mode must be one of auto, band, depth"),
        (["--mode", "depth"], "no depth given"),
        (["--angle", "200"], "angle must be in -90..90"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    photo: Path, tmp_path: Path, options: list[str], message: str
) -> None:
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["miniature", str(photo), *options, "-o", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not out.exists()


def test_help() -> None:
    result = runner.invoke(app, ["miniature", "--help"])
    assert result.exit_code == 0
    for option in ("--mode", "--position", "--width", "--angle", "--strength"):
        assert option in result.output


def test_the_command_writes_what_the_library_renders(photo: Path, tmp_path: Path) -> None:
    # The command renders over the photo's own pixels: the file must still be the
    # library's result for the photo as read.
    from depthfx.effects.miniature import miniature
    from depthfx.image import write_image

    out = tmp_path / "out.png"
    result = runner.invoke(app, ["miniature", str(photo), "--strength", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    source = read_image(photo)
    library = write_image(
        tmp_path / "library.png", miniature(source.rgba(), strength=3.0), like=source
    )
    assert out.read_bytes() == library.read_bytes()
