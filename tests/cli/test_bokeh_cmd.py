"""``depthfx bokeh`` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app

runner = CliRunner()


def write_scene(tmp_path: Path, dtype: type = np.uint8, alpha: bool = False) -> tuple[Path, Path]:
    """A textured photo (8 or 16-bit, optionally RGBA) and a depth file: left far, right near."""
    rng = np.random.default_rng(0)
    top = 65535 if dtype == np.uint16 else 255
    pixels = (cv2.GaussianBlur(rng.random((48, 64, 3)), (0, 0), 1.0) * top).astype(dtype)
    if alpha:
        pixels = np.dstack([pixels, np.full((48, 64), top, dtype)])
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), pixels)
    nearness = np.ones((48, 64), np.float32)
    nearness[:, 32:] = 5.0
    depth = tmp_path / "depth.npy"
    np.save(depth, nearness)
    return photo, depth


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_zero_strength_round_trip_is_bit_exact(tmp_path: Path, dtype: type) -> None:
    photo, depth = write_scene(tmp_path, dtype)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app, ["bokeh", str(photo), "--depth", str(depth), "--strength", "0", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    before = cv2.imread(str(photo), cv2.IMREAD_UNCHANGED)
    after = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert after.dtype == before.dtype
    assert np.array_equal(before, after)


def test_blur_reports_focus_and_keeps_the_focused_half(tmp_path: Path) -> None:
    photo, depth = write_scene(tmp_path, np.uint16)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app,
        [
            "bokeh",
            str(photo),
            "--depth",
            str(depth),
            "--focus",
            "50,20",
            "--strength",
            "4",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    focus_lines = [line for line in result.output.splitlines() if line.startswith("focus:")]
    assert focus_lines == ["focus: point at (50, 20), nearness 5"]
    before = cv2.imread(str(photo), cv2.IMREAD_UNCHANGED).astype(np.float64)
    after = cv2.imread(str(out), cv2.IMREAD_UNCHANGED).astype(np.float64)
    assert (
        after.dtype == np.float64 and cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    )
    assert np.abs(after[:, 40:] - before[:, 40:]).max() < 0.01 * 65535
    assert after[:, :24].std() < 0.7 * before[:, :24].std()


def test_alpha_is_kept(tmp_path: Path) -> None:
    photo, depth = write_scene(tmp_path, np.uint8, alpha=True)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app,
        [
            "bokeh",
            str(photo),
            "--depth",
            str(depth),
            "--focus-depth",
            "1",
            "--shape",
            "polygon",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.shape == (48, 64, 4)
    assert (written[:, :, 3] == 255).all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--focus", "500,10"], "outside the image, which is 64x48"),
        (["--strength", "11"], "strength must be in 0..10"),
        (["--shape", "star"], "shape must be one of"),
        (["--focus", "here"], "focus must be"),
        (["--blades", "1", "--shape", "polygon"], "blades"),
        (["--focus", "3,4", "--focus-depth", "2"], "not both"),
        (["--lens-mm", "50", "--f-number", "2"], "metric depth"),
    ],
)
def test_bad_input_gives_one_line_and_exit_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    photo, depth = write_scene(tmp_path)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app, ["bokeh", str(photo), "--depth", str(depth), "-o", str(out), *extra]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("depthfx: error")]
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()


def test_depth_of_another_aspect_is_refused(tmp_path: Path) -> None:
    photo, _ = write_scene(tmp_path)
    depth = tmp_path / "square.npy"
    np.save(depth, np.ones((48, 48), np.float32))
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["bokeh", str(photo), "--depth", str(depth), "-o", str(out)])
    assert result.exit_code == 2
    assert "aspect" in result.output
    assert not out.exists()


def test_depth_of_the_same_aspect_is_resized(tmp_path: Path) -> None:
    photo, _ = write_scene(tmp_path)
    depth = tmp_path / "half.npy"
    half = np.ones((24, 32), np.float32)
    half[:, 16:] = 5.0
    np.save(depth, half)
    out = tmp_path / "out.png"
    result = runner.invoke(
        app, ["bokeh", str(photo), "--depth", str(depth), "--focus", "50,20", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(out)).shape == (48, 64, 3)


def test_help_lists_lens_options() -> None:
    result = runner.invoke(app, ["bokeh", "--help"])
    assert result.exit_code == 0
    for option in ("--focus", "--strength", "--shape", "--dof", "--cats-eye", "--lens-mm"):
        assert option in result.output


@pytest.mark.parametrize("alpha", [False, True])
def test_the_command_writes_what_the_library_renders(tmp_path: Path, alpha: bool) -> None:
    # The command renders over the photo's own pixels: the file must still be the
    # library's result for the photo as read.
    from depthfx.depthmap import DepthMap
    from depthfx.effects.bokeh import bokeh
    from depthfx.image import read_image, write_image

    photo, depth = write_scene(tmp_path, np.uint16, alpha=alpha)
    out = tmp_path / "out.png"
    arguments = ["--focus", "50,20", "--strength", "4", "--grain", "1"]
    result = runner.invoke(
        app, ["bokeh", str(photo), "--depth", str(depth), *arguments, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    source = read_image(photo)
    expected = bokeh(
        source.rgba(), DepthMap(np.load(depth)), focus=(50, 20), strength=4.0, grain=1.0
    )
    library = write_image(tmp_path / "library.png", expected, like=source)
    assert out.read_bytes() == library.read_bytes()
