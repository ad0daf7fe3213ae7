"""``depthfx depth`` through typer's CliRunner on tiny synthetic pairs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.depth.pointcloud import read_ply
from depthfx.depthmap import DepthMap

runner = CliRunner()
DISPARITY = 8


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((6, 0.5), (20, 0.35), (60, 0.15)):
        coarse = rng.random((max(2, height * cells // width), cells, 3)).astype(np.float32)
        image += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """A textured plane 8 px nearer in the left view: 200x150 PNGs."""
    scene = texture(150, 200 + DISPARITY)
    left, right = tmp_path / "left.png", tmp_path / "right.png"
    cv2.imwrite(str(left), scene[:, :200])
    cv2.imwrite(str(right), scene[:, DISPARITY : DISPARITY + 200])
    return left, right


def run(*args: object):  # type: ignore[no-untyped-def]
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("depthfx: error:")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_help() -> None:
    result = run("depth", "--help")
    assert result.exit_code == 0
    for option in (
        "--right",
        "--sbs",
        "--preview",
        "--ply",
        "--calib",
        "--baseline",
        "--min-disparity",
    ):
        assert option in result.output


def test_pair_to_npy_has_the_left_size_and_the_disparity(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    left, right = pair
    out = tmp_path / "depth.npy"
    result = run("depth", left, "--right", right, "-o", out)
    assert result.exit_code == 0, result.output
    disparity = np.load(out)
    assert disparity.dtype == np.float32 and disparity.shape == (150, 200)
    assert np.median(disparity[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)
    summary = result.output.strip().splitlines()[-1]
    assert "200x150" in summary and "disparity" in summary and "dense" in summary


@pytest.mark.parametrize("suffix", [".pfm", ".tiff", ".png"])
def test_other_depth_formats(pair: tuple[Path, Path], tmp_path: Path, suffix: str) -> None:
    left, right = pair
    out = tmp_path / f"depth{suffix}"
    result = run("depth", left, "--right", right, "-o", out)
    assert result.exit_code == 0, result.output
    loaded = DepthMap.load(out)
    assert loaded.shape == (150, 200)
    if suffix != ".png":
        assert np.median(loaded.nearness[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)
    else:
        assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_preview_and_metric_point_cloud(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    out, preview, ply = tmp_path / "d.npy", tmp_path / "d.png", tmp_path / "d.ply"
    result = run(
        "depth",
        left,
        "--right",
        right,
        "-o",
        out,
        "--preview",
        preview,
        "--ply",
        ply,
        "--baseline",
        0.1,
        "--focal",
        400,
    )
    assert result.exit_code == 0, result.output
    picture = cv2.imread(str(preview))
    assert picture.shape == (150, 200, 3)
    points, colours = read_ply(ply)
    assert len(points) > 0.5 * 150 * 200 and colours.dtype == np.uint8
    # 400 px * 0.1 m / 8 px = 5 m
    assert np.median(points[:, 2]) == pytest.approx(5.0, rel=0.07)
    assert "depth" in result.output and " m," in result.output


def test_side_by_side_input(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    sbs = tmp_path / "sbs.png"
    cv2.imwrite(str(sbs), np.concatenate([cv2.imread(str(right)), cv2.imread(str(left))], axis=1))
    out = tmp_path / "d.npy"
    result = run("depth", sbs, "--sbs", "cross", "-o", out)
    assert result.exit_code == 0, result.output
    disparity = np.load(out)
    assert disparity.shape == (150, 200)
    assert np.median(disparity[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)


def test_disparity_range_override(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    out = tmp_path / "d.npy"
    result = run(
        "depth", left, "--right", right, "-o", out, "--min-disparity", 0, "--num-disparities", 32
    )
    assert result.exit_code == 0, result.output
    assert np.median(np.load(out)[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)


# --------------------------------------------------------------------------- bad input


def test_missing_file(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, _ = pair
    out = tmp_path / "d.npy"
    assert_one_line_error(
        run("depth", left, "--right", tmp_path / "nope.png", "-o", out), "not found"
    )
    assert not out.exists()


def test_not_an_image(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, _ = pair
    text = tmp_path / "notes.png"
    text.write_text("hello")
    out = tmp_path / "d.npy"
    assert_one_line_error(run("depth", left, "--right", text, "-o", out), "not a readable image")
    assert not out.exists()


def test_corrupt_image(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    broken = tmp_path / "broken.png"
    broken.write_bytes(right.read_bytes()[:200])
    out = tmp_path / "d.npy"
    assert_one_line_error(run("depth", left, "--right", broken, "-o", out), "broken.png")
    assert not out.exists()


def test_different_sizes(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), cv2.imread(str(right))[:, :180])
    out = tmp_path / "d.npy"
    assert_one_line_error(run("depth", left, "--right", small, "-o", out), "200x150", "180x150")
    assert not out.exists()


def test_unknown_output_extension(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    assert_one_line_error(
        run("depth", left, "--right", right, "-o", tmp_path / "d.xyz"), "unknown output extension"
    )
    assert_one_line_error(
        run("depth", left, "--right", right, "-o", tmp_path / "d.npy", "--ply", tmp_path / "c.obj"),
        ".obj",
    )
    assert list(tmp_path.iterdir()) == [left, right] or sorted(tmp_path.iterdir()) == sorted(
        [left, right]
    )


def test_output_equal_to_an_input(pair: tuple[Path, Path]) -> None:
    left, right = pair
    before = right.read_bytes()
    assert_one_line_error(run("depth", left, "--right", right, "-o", right), "overwrite the input")
    assert right.read_bytes() == before


def test_flat_pair_suggests_mono(tmp_path: Path) -> None:
    flat = np.full((150, 200, 3), 128, np.uint8)
    left, right = tmp_path / "l.png", tmp_path / "r.png"
    cv2.imwrite(str(left), flat)
    cv2.imwrite(str(right), flat)
    out = tmp_path / "d.npy"
    assert_one_line_error(
        run("depth", left, "--right", right, "-o", out), "too little texture", "--mono"
    )
    assert not out.exists()


def test_single_photo_without_right_view(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, _ = pair
    assert_one_line_error(
        run("depth", left, "-o", tmp_path / "d.npy"), "not a stereo pair", "--right"
    )


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--baseline", "0.1"], "give both --baseline"),
        (["--baseline", "-1", "--focal", "500"], "--baseline must be > 0"),
        (["--num-disparities", "0"], "--num-disparities must be in 1..4096"),
        (["--sbs", "diagonal"], "'parallel' or 'cross'"),
    ],
)
def test_bad_option_values(
    pair: tuple[Path, Path], tmp_path: Path, extra: list[str], fragment: str
) -> None:
    left, right = pair
    args: list[object] = ["depth", left, "-o", tmp_path / "d.npy", *extra]
    if "--sbs" not in extra:
        args[2:2] = ["--right", right]
    assert_one_line_error(run(*args), fragment)
    assert not (tmp_path / "d.npy").exists()


def test_outputs_must_differ(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    assert_one_line_error(
        run(
            "depth",
            left,
            "--right",
            right,
            "-o",
            tmp_path / "d.png",
            "--preview",
            tmp_path / "d.png",
        ),
        "different files",
    )


def test_bad_calibration_file(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    calib = tmp_path / "calib.npz"
    np.savez(calib, K1=np.eye(3))
    out = tmp_path / "d.npy"
    assert_one_line_error(
        run("depth", left, "--right", right, "--calib", calib, "-o", out), "calibration has no D1"
    )
    assert not out.exists()


def test_depth_file_passes_through(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, _ = pair
    source = tmp_path / "given.npy"
    np.save(source, np.full((75, 100), 3.0, np.float32))  # half size: fitted to the photo
    out = tmp_path / "d.pfm"
    result = run("depth", left, "--depth", source, "-o", out)
    assert result.exit_code == 0, result.output
    assert DepthMap.load(out).shape == (150, 200)
    assert_one_line_error(
        run("depth", left, "--depth", source, "--num-disparities", 16, "-o", tmp_path / "e.npy"),
        "stereo pairs only",
    )


def test_real_mpo_file(shared_data: Path, tmp_path: Path) -> None:
    out, preview = tmp_path / "d.npy", tmp_path / "d.png"
    result = run(
        "depth", shared_data / "photos" / "mpo" / "sugarshack.mpo", "-o", out, "--preview", preview
    )
    assert result.exit_code == 0, result.output
    disparity = np.load(out)
    assert disparity.shape == (480, 640) and np.isfinite(disparity).all()
    # photos/README.md: the 3DS frames are ~102 px apart, so disparities are about -102 px.
    assert np.median(disparity) == pytest.approx(-102, abs=4)


def test_books_pair_is_rejected(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "photos" / "pairs" / "opencv_books"
    out = tmp_path / "d.npy"
    assert_one_line_error(
        run("depth", folder / "left.jpg", "--right", folder / "right.jpg", "-o", out),
        "not a stereo pair",
        "--mono",
    )
    assert not out.exists()


def test_calibrated_pair_gives_metric_depth_in_the_left_grid(
    shared_data: Path, tmp_path: Path
) -> None:
    from depthfx.depth.calibration import calibrate_from_chessboards
    from depthfx.depth.rectify import rectify_pair
    from depthfx.image import read_image

    folder = shared_data / "photos" / "stereo_calib"
    calibration = calibrate_from_chessboards(
        sorted(folder.glob("left*.jpg")), sorted(folder.glob("right*.jpg"))
    )
    calib_file = calibration.save(tmp_path / "rig.yml")
    left, right = folder / "left03.jpg", folder / "right03.jpg"
    out, ply = tmp_path / "d.npy", tmp_path / "d.ply"
    result = run("depth", left, "--right", right, "--calib", calib_file, "-o", out, "--ply", ply)
    assert result.exit_code == 0, result.output
    assert "squares" in result.output  # OpenCV's sample board: unit = one square
    disparity = np.load(out)
    assert disparity.shape == (480, 640)
    # Depth at the chessboard corners against the board's pose seen by the left camera.
    grey = cv2.imread(str(left), cv2.IMREAD_GRAYSCALE)
    found, corners = cv2.findChessboardCorners(grey, (9, 6))
    assert found
    corners = corners.reshape(-1, 2)
    board = np.zeros((54, 3), np.float32)
    board[:, :2] = np.mgrid[0:9, 0:6].T.reshape(-1, 2)
    _, rvec, tvec = cv2.solvePnP(board, corners, calibration.K1, calibration.D1)
    board_z = (cv2.Rodrigues(rvec)[0] @ board.T + tvec).T[:, 2]
    metric_scale = rectify_pair(
        read_image(left).pixels, read_image(right).pixels, calibration=calibration
    ).metric_scale
    assert metric_scale is not None
    at = np.round(corners).astype(int)
    stereo_z = metric_scale / disparity[at[:, 1], at[:, 0]]
    assert np.median(stereo_z / board_z) == pytest.approx(1.0, abs=0.05)
    points, _ = read_ply(ply)
    assert len(points) > 100_000


# --------------------------------------------------------------------------- summary line


def test_summary_labels_the_percentile_range_and_gives_the_full_one() -> None:
    from depthfx.cli.depth_cmd import summary_line

    values = np.tile(np.linspace(10, 20, 100, dtype=np.float32), (10, 1))
    values[0, 0], values[-1, -1] = -50.0, 90.0  # two stray values
    line = summary_line(Path("d.npy"), DepthMap(values, units="disparity_px"), 0.5)
    assert "disparity 1-99%: 10.1..19.9 px (full -50.0..90.0)" in line
    relative = summary_line(Path("d.npy"), DepthMap(values / 100, units="relative"), 0.5)
    assert "nearness 1-99%: 0.1..0.2 (full -0.5..0.9, relative)" in relative


def test_matched_share_is_given_for_stereo_only(pair: tuple[Path, Path], tmp_path: Path) -> None:
    left, right = pair
    stereo = run("depth", left, "--right", right, "-o", tmp_path / "stereo.npy")
    assert stereo.exit_code == 0, stereo.output
    assert "% matched" in stereo.output
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.repeat(np.linspace(0, 255, 200).astype(np.uint8)[None], 150, 0))
    from_file = run("depth", left, "--depth", grey, "-o", tmp_path / "file.npy")
    assert from_file.exit_code == 0, from_file.output
    summary = from_file.output.strip().splitlines()[-1]
    assert "1-99%" in summary and "(full" in summary
    assert "% matched" not in summary


def test_swapped_side_by_side_layout_is_one_line_error(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    left, right = pair
    sbs = tmp_path / "sbs.png"  # parallel: the left view in the left half
    cv2.imwrite(str(sbs), np.concatenate([cv2.imread(str(left)), cv2.imread(str(right))], axis=1))
    out = tmp_path / "d.npy"
    assert_one_line_error(
        run("depth", sbs, "--sbs", "cross", "-o", out), "look swapped", "try --sbs parallel"
    )
    assert not out.exists()
