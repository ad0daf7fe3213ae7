"""depthfx.depth.source: one request type and one call for a photo's depth, from any source."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import depthfx
from depthfx.depth.source import (
    DepthRequest,
    DepthSettings,
    depth_for,
    load_photo,
    load_photo_and_depth,
)
from depthfx.depth.stereo_input import (
    SWAPPED_SHARE,
    check_side_by_side_layout,
    negative_disparity_share,
    read_stereo_pair,
)
from depthfx.errors import InputError, ParameterError, StereoMatchError

DISPARITY = 8


def texture(height: int, width: int) -> np.ndarray:
    """8-bit colour noise in blobs of about 4 px: corners for SIFT, texture for SGBM."""
    noise = np.random.default_rng(0).integers(0, 256, (height // 4, width // 4, 3), np.uint8)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)


@pytest.fixture()
def views() -> tuple[np.ndarray, np.ndarray]:
    """Left and right views (8-bit BGR) of a textured plane 8 px nearer in the left view."""
    scene = texture(150, 200 + DISPARITY)
    return scene[:, :200].copy(), scene[:, DISPARITY : DISPARITY + 200].copy()


@pytest.fixture()
def parallel_sbs(tmp_path: Path, views: tuple[np.ndarray, np.ndarray]) -> Path:
    """A side-by-side picture with the left view in the left half."""
    path = tmp_path / "pair.png"
    cv2.imwrite(str(path), np.concatenate(views, axis=1))
    return path


# --------------------------------------------------------------------------- the request


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"depth_near": "grey"}, "--depth-near must be white or black, got 'grey'"),
        ({"sbs": "diagonal"}, "--sbs must be 'parallel' or 'cross', got 'diagonal'"),
        ({"right": "r.jpg", "mono": True}, "give one depth source, not --right and --mono"),
        ({"depth_file": "d.npy", "sbs": "cross"}, "give one depth source, not --depth and --sbs"),
        ({"baseline": 0.1}, "give both --baseline (metres) and --focal (pixels)"),
        ({"baseline": -1.0, "focal": 500.0}, "--baseline must be > 0"),
        ({"baseline": 0.1, "focal": 0.0}, "--focal must be > 0"),
        ({"calibration": "c.yml", "baseline": 0.1, "focal": 500.0}, "give --calib or --baseline"),
        ({"num_disparities": 0}, "--num-disparities must be in 1..4096"),
        ({"min_disparity": 5000}, "--min-disparity must be in -4096..4096"),
    ],
)
def test_request_is_checked_when_made(options: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError) as caught:
        DepthRequest(**options)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_request_takes_string_paths_and_lists_its_inputs() -> None:
    request = DepthRequest(right="r.jpg", calibration="calib.yml")  # type: ignore[arg-type]
    assert request.right == Path("r.jpg") and request.calibration == Path("calib.yml")
    assert request.inputs() == (Path("r.jpg"), Path("calib.yml"))
    assert request.sources() == ("--right",)
    assert DepthRequest().sources() == ()


def test_preset_settings_and_batch_fallback_are_the_same_types() -> None:
    from depthfx import chain
    from depthfx.batch import DepthFallback
    from depthfx.cli import options

    assert chain.DepthSettings is DepthSettings  # the preset's [depth] table, defined here
    assert DepthFallback is DepthRequest
    assert options.DepthRequest is DepthRequest
    assert options.load_photo_and_depth is load_photo_and_depth
    with pytest.raises(ParameterError, match="depth source must be one of"):
        DepthSettings(source="laser")


# --------------------------------------------------------------------------- loading


def test_pair_gives_the_left_photo_and_its_disparity(
    tmp_path: Path, views: tuple[np.ndarray, np.ndarray]
) -> None:
    left, right = tmp_path / "left.png", tmp_path / "right.png"
    cv2.imwrite(str(left), views[0])
    cv2.imwrite(str(right), views[1])
    photo, depth = load_photo_and_depth(left, DepthRequest(right=right))
    assert photo.path == left and depth.shape == photo.shape == (150, 200)
    assert depth.units == "disparity_px"
    assert np.median(depth.nearness[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)


def test_depth_for_takes_a_request_or_its_fields(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), texture(40, 60))
    depth_file = tmp_path / "depth.png"  # a grey picture: which end is near is a choice
    cv2.imwrite(str(depth_file), np.repeat(np.linspace(0, 255, 60).astype(np.uint8)[None], 40, 0))
    white = depth_for(photo, DepthRequest(depth_file=depth_file))
    black = depth_for(photo, depth_file=depth_file, depth_near="black")
    assert white.shape == (40, 60)
    # the same file read with the other end near: the order of values is reversed
    assert white.nearness[0, -1] > white.nearness[0, 0]
    assert black.nearness[0, -1] < black.nearness[0, 0]
    with pytest.raises(ParameterError, match="unknown depth option 'near'"):
        depth_for(photo, near="black")


def test_photo_without_a_source_names_the_ways_to_get_depth(tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), texture(40, 60))
    with pytest.raises(InputError, match="no depth given; pass --right RIGHT"):
        load_photo_and_depth(photo)


def test_load_photo_gives_the_left_view_of_a_stereo_file(
    parallel_sbs: Path, tmp_path: Path, views: tuple[np.ndarray, np.ndarray]
) -> None:
    left = load_photo(parallel_sbs, DepthRequest(sbs="parallel"))
    assert left.shape == (150, 200)
    assert np.array_equal(left.pixels, read_stereo_pair(parallel_sbs, sbs="parallel")[0].pixels)
    named = tmp_path / "holiday.left-right.png"
    named.write_bytes(parallel_sbs.read_bytes())
    assert load_photo(named).shape == (150, 200)  # the name says side-by-side
    assert load_photo(parallel_sbs).shape == (150, 400)  # an ordinary photo as it is


# --------------------------------------------------------------------------- swapped layout


def test_swapped_side_by_side_layout_is_refused(
    parallel_sbs: Path, views: tuple[np.ndarray, np.ndarray]
) -> None:
    with pytest.raises(StereoMatchError) as caught:
        load_photo_and_depth(parallel_sbs, DepthRequest(sbs="cross"))
    message = str(caught.value)
    assert "look swapped" in message and "--sbs cross" in message
    assert message.endswith("try --sbs parallel")
    _, depth = load_photo_and_depth(parallel_sbs, DepthRequest(sbs="parallel"))
    assert np.median(depth.nearness[20:-20, 30:-30]) == pytest.approx(DISPARITY, abs=0.5)


def test_swapped_name_layout_says_which_option_to_use(parallel_sbs: Path, tmp_path: Path) -> None:
    named = tmp_path / "pair.right-left.png"  # the name says cross, the picture is parallel
    named.write_bytes(parallel_sbs.read_bytes())
    with pytest.raises(StereoMatchError, match=r"its name says cross.*try --sbs parallel"):
        load_photo_and_depth(named)


def test_negative_disparity_share_of_a_pair_and_its_swap(
    views: tuple[np.ndarray, np.ndarray],
) -> None:
    left, right = (read_image_array(view) for view in views)
    assert negative_disparity_share(left, right) == pytest.approx(0.0, abs=0.05)
    assert negative_disparity_share(right, left) == pytest.approx(1.0, abs=0.05)
    blank = np.full((60, 80, 3), 0.5, np.float32)
    assert negative_disparity_share(blank, blank) is None  # nothing to tell from
    check_side_by_side_layout(blank, blank, layout="parallel")  # so nothing is refused


def read_image_array(bgr: np.ndarray) -> np.ndarray:
    from depthfx.image import srgb_to_linear

    return srgb_to_linear(bgr[:, :, ::-1].astype(np.float32) / 255.0)


def test_real_side_by_side_file_read_with_the_wrong_layout(shared_data: Path) -> None:
    path = shared_data / "photos" / "sbs" / "GOPR0.left-right.jpg"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    left, right = (view.pixels for view in read_stereo_pair(path))  # parallel, as named
    right_way, swapped = (
        negative_disparity_share(left, right),
        negative_disparity_share(right, left),
    )
    assert right_way is not None and swapped is not None
    # two GoPros side by side, turned slightly inwards: some negative ones, never most
    assert right_way < 0.2 < SWAPPED_SHARE < swapped
    with pytest.raises(StereoMatchError, match=r"--sbs cross.*try --sbs parallel"):
        check_side_by_side_layout(right, left, layout="cross", path=path)


def test_real_mpo_files_are_not_checked_for_sign(shared_data: Path) -> None:
    # 3D cameras shift their frames: every disparity is negative, and that is right.
    path = shared_data / "photos" / "mpo" / "sugarshack.mpo"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    left, right = read_stereo_pair(path)
    share = negative_disparity_share(left.pixels, right.pixels)
    assert share is not None and share > SWAPPED_SHARE
    photo, depth = load_photo_and_depth(path)
    assert depth.shape == photo.shape == (480, 640)
    assert float(np.median(depth.nearness)) < 0


# --------------------------------------------------------------------------- layering


def _imported_modules(path: Path, package: str) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_library_modules_never_import_the_cli() -> None:
    root = Path(depthfx.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root.parent).with_suffix("")
        parts = relative.parts
        if "cli" in parts[1:2] or path.name == "__main__.py":  # the CLI and its entry point
            continue
        package = ".".join(parts if path.name == "__init__.py" else parts[:-1])
        package = package.removesuffix(".__init__")
        if any(name == "depthfx.cli" or name.startswith("depthfx.cli.") for name in
               _imported_modules(path, package)):  # fmt: skip
            offenders.append(str(relative))
    assert offenders == []


def test_batch_and_source_load_without_the_cli() -> None:
    code = (
        "import sys, depthfx.batch, depthfx.depth.source, depthfx.chain, depthfx.presets;"
        "print(sorted(m for m in sys.modules if m.startswith('depthfx.cli')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
