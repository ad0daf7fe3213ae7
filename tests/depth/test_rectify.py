"""Rectification: synthetic pairs with known misalignment, then real pairs and calibration."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depth.rectify import (
    Rectification,
    _homography_back_maps,
    _try_projective,
    _VerticalModel,
    match_features,
    rectify_pair,
)
from depthfx.errors import InputError, StereoMatchError
from depthfx.image import linear_to_srgb, read_image


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A blotchy colour texture with features at several scales (linear light)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((6, 0.5), (20, 0.35), (60, 0.15)):
        coarse = rng.random((max(2, height * cells // width), cells, 3)).astype(np.float32)
        image += weight * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(image, 0.0, 1.0) ** 2.2


def stereo_pair(
    height: int = 240, width: int = 320, disparity: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """A fronto-parallel plane: the left view is the right view shifted ``disparity`` px right."""
    scene = textured(height, width + disparity)
    return scene[:, :width].copy(), scene[:, disparity : disparity + width].copy()


def rotate_and_shift(image: np.ndarray, degrees: float, dy: float) -> np.ndarray:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), degrees, 1.0)
    matrix[1, 2] += dy
    return cv2.warpAffine(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


# --------------------------------------------------------------------------- synthetic


def test_rectified_pair_is_returned_as_is() -> None:
    left, right = stereo_pair()
    rect = rectify_pair(left, right)
    assert rect.is_identity and rect.method == "identity"
    assert rect.left is left or np.array_equal(rect.left, left)
    assert np.array_equal(rect.right, right)
    disparity = np.full(left.shape[:2], 8.0, np.float32)
    back, confidence = rect.to_left_grid(disparity, np.ones_like(disparity))
    assert np.array_equal(back, disparity) and confidence.min() == 1.0


def test_matches_measure_the_disparity_of_a_plane() -> None:
    left, right = stereo_pair(disparity=8)
    matches = match_features(left, right)
    assert len(matches.dx) >= 30
    assert np.median(matches.dx) == pytest.approx(8.0, abs=0.2)
    assert np.median(np.abs(matches.dy)) < 0.3


def test_hand_held_pair_warps_only_the_right_view_back_into_line() -> None:
    left, right = stereo_pair()
    moved = rotate_and_shift(right, 2.0, 5.0)
    rect = rectify_pair(left, moved)
    assert rect.method == "hand-held" and not rect.is_identity
    assert rect.left is left or np.array_equal(rect.left, left)  # the left grid is kept
    assert rect.vertical_error < 0.3
    # The warp undoes the rotation and shift: the rectified right view is the true one.
    inner = (slice(30, -30), slice(30, -30))
    assert float(np.mean(np.abs(rect.right[inner] - right[inner]))) < 0.01
    # Disparities are unchanged, and to_left_grid is the identity.
    after = match_features(rect.left, rect.right)
    assert np.median(after.dx) == pytest.approx(8.0, abs=0.3)
    assert rect.feature_disparities is not None
    assert np.median(rect.feature_disparities) == pytest.approx(8.0, abs=0.3)
    disparity = np.random.default_rng(1).random(left.shape[:2]).astype(np.float32)
    back, _ = rect.to_left_grid(disparity, np.ones_like(disparity))
    assert np.array_equal(back, disparity)


def test_keystone_is_corrected_by_the_quadratic_vertical_term() -> None:
    left, right = stereo_pair(height=300, width=400)
    height, width = right.shape[:2]
    # A small pan of the right camera: a homography with a perspective term in x.
    focal = 400.0
    yaw = np.radians(2.0)
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]])
    rotation = cv2.Rodrigues(np.array([0.0, yaw, 0.0]))[0]
    homography = camera @ rotation @ np.linalg.inv(camera)
    panned = cv2.warpPerspective(right, homography, (width, height), borderMode=cv2.BORDER_REFLECT)
    before = match_features(left, panned)
    rect = rectify_pair(left, panned)
    assert np.percentile(np.abs(before.dy), 90) > 1.0
    assert rect.method in ("hand-held", "projective")
    after = match_features(rect.left, rect.right)
    assert np.percentile(np.abs(after.dy), 90) < 0.6


def test_projective_rectification_maps_disparity_back_to_the_left_grid(shared_data: Path) -> None:
    # A scene with depth: the fundamental matrix of a single plane is degenerate.
    scene = shared_data / "stereo" / "cones"
    left = read_image(scene / "left.png").pixels
    moved = rotate_and_shift(read_image(scene / "right.png").pixels, 3.0, 6.0)
    matches = match_features(left, moved)
    rect = _try_projective(left, moved, matches, better_than=np.inf)
    assert rect is not None and rect.method == "projective"
    after = match_features(rect.left, rect.right)
    assert np.median(np.abs(after.dy)) < 0.5
    # A rectified "disparity" equal to the rectified x coordinate comes back, at every
    # original pixel, as the rectified x of that pixel times the local disparity scale.
    height, width = left.shape[:2]
    rect_x = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    back, confidence = rect.to_left_grid(rect_x, np.ones_like(rect_x))
    assert back.shape == (height, width) and confidence.shape == (height, width)
    assert confidence[height // 2, width // 2] == 1.0
    assert rect._to_rectified is not None and rect._disparity_factor is not None
    map_x = rect._to_rectified[0]
    inside = (confidence > 0.99) & (map_x > 1) & (map_x < width - 2)
    expected = np.round(map_x) * rect._disparity_factor
    assert np.allclose(back[inside], expected[inside], rtol=1e-3, atol=0.5)


def test_right_view_warp_inverts_the_fitted_model() -> None:
    model = _VerticalModel(
        a=0.02, b=1.01, t=3.0, quadratic=np.array([1.0, -2.0, 1.5]), centre=(199.5, 149.5),
        half_size=200.0, residual=0.0, residual_p90=0.0,
    )  # fmt: skip
    map_x, map_y = model.inverse_maps((300, 400))
    # Sending each sampled source position forward lands on its output pixel.
    x, y = map_x.astype(np.float64) - 199.5, map_y.astype(np.float64) - 149.5
    forward_x = model.b * x - model.a * y + 199.5
    forward_y = model.a * x + model.b * y + model.t + model._q(x, y) + 149.5
    out_y, out_x = np.mgrid[0:300, 0:400]
    assert np.abs(forward_x - out_x).max() < 0.05
    assert np.abs(forward_y - out_y).max() < 0.05
    assert model.largest_shift((300, 400)) > 3.0


def test_homography_back_maps_give_position_and_disparity_scale() -> None:
    # Rectified = original stretched 2x horizontally and moved 10 px down.
    homography = np.array([[2.0, 0, 0], [0, 1.0, 10.0], [0, 0, 1]])
    map_x, map_y, factor = _homography_back_maps(homography, (20, 30))
    assert map_x[5, 7] == pytest.approx(14.0) and map_y[5, 7] == pytest.approx(15.0)
    assert np.allclose(factor, 0.5)  # 2 rectified px = 1 original px


def test_views_of_different_sizes_are_refused() -> None:
    left, right = stereo_pair()
    with pytest.raises(InputError, match=r"320x240.*320x200"):
        rectify_pair(left, right[:200])


def test_flat_pair_is_refused_with_a_hint_to_use_mono() -> None:
    flat = np.full((120, 160, 3), 0.4, np.float32)
    with pytest.raises(StereoMatchError, match="too little texture") as caught:
        rectify_pair(flat, flat)
    assert "--mono" in str(caught.value) and "\n" not in str(caught.value)


def test_unrelated_views_are_refused() -> None:
    left = textured(240, 320, seed=1)
    right = textured(240, 320, seed=2)
    with pytest.raises(StereoMatchError, match="--mono"):
        rectify_pair(left, right)


def test_to_left_grid_checks_the_shape() -> None:
    left, right = stereo_pair()
    rect = Rectification(left=left, right=right, is_identity=True)
    with pytest.raises(InputError, match="rectified shape"):
        rect.to_left_grid(np.zeros((10, 10), np.float32), np.zeros((10, 10), np.float32))


# --------------------------------------------------------------------------- real pairs


def _bad2(disparity: np.ndarray, scene: Path) -> float:
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    truth = raw.astype(np.float32) / meta["gt_scale"]
    valid = raw > 0
    mask = scene / "mask_all.png"
    if mask.exists():
        valid &= cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) == 255
    return float(100 * np.mean(np.abs(disparity - truth)[valid] > 2))


@pytest.mark.parametrize("name", ["cones", "teddy"])
def test_rotated_and_shifted_right_view_costs_under_3_points_of_bad2(
    shared_data: Path, name: str
) -> None:
    stereo = pytest.importorskip("depthfx.depth.stereo")
    scene = shared_data / "stereo" / name
    left = read_image(scene / "left.png").pixels
    right = read_image(scene / "right.png").pixels
    moved = rotate_and_shift(right, 1.5, 6.0)
    reference = stereo.stereo_depth(left, right)
    handheld = stereo.stereo_depth(left, moved)
    assert handheld.shape == left.shape[:2]
    bad_reference, bad_handheld = _bad2(reference.nearness, scene), _bad2(handheld.nearness, scene)
    assert bad_handheld <= bad_reference + 3.0, (bad_reference, bad_handheld)


def test_every_middlebury_scene_is_left_as_it_is(shared_data: Path) -> None:
    # They are rectified; warping them would only blur the right view.
    scenes = sorted(p for p in (shared_data / "stereo").iterdir() if (p / "left.png").exists())
    assert len(scenes) >= 10
    warped = [
        scene.name
        for scene in scenes
        if not rectify_pair(
            read_image(scene / "left.png").pixels, read_image(scene / "right.png").pixels
        ).is_identity
    ]
    assert warped == []


def test_small_misalignments_are_detected(shared_data: Path) -> None:
    scene = shared_data / "stereo" / "teddy"
    left = read_image(scene / "left.png").pixels
    right = read_image(scene / "right.png").pixels
    assert rectify_pair(left, rotate_and_shift(right, 0.0, 0.8)).method == "hand-held"
    assert rectify_pair(left, rotate_and_shift(right, 0.3, 0.0)).method == "hand-held"


def test_rectified_middlebury_pair_is_detected_as_rectified(shared_data: Path) -> None:
    folder = shared_data / "photos" / "pairs" / "skimage_motorcycle"
    left = read_image(folder / "motorcycle_left.png").pixels
    right = read_image(folder / "motorcycle_right.png").pixels
    assert rectify_pair(left, right).is_identity


def test_3ds_vertical_offset_is_removed(shared_data: Path) -> None:
    # The 3DS frames are ~2 px apart vertically (photos/README.md).
    from depthfx.depth.stereo_input import read_stereo_pair

    left, right = read_stereo_pair(shared_data / "photos" / "mpo" / "sugarshack.mpo")
    before = match_features(left.pixels, right.pixels)
    rect = rectify_pair(left.pixels, right.pixels)
    after = match_features(rect.left, rect.right)
    assert np.median(before.dy) > 1.5
    assert rect.method == "hand-held"
    assert np.median(np.abs(after.dy)) < 0.35


def test_wide_baseline_books_pair_is_rejected(shared_data: Path) -> None:
    folder = shared_data / "photos" / "pairs" / "opencv_books"
    left = read_image(folder / "left.jpg").pixels
    right = read_image(folder / "right.jpg").pixels
    with pytest.raises(StereoMatchError, match="not a stereo pair") as caught:
        rectify_pair(left, right)
    message = str(caught.value)
    assert "rotation" in message and "--mono" in message and "\n" not in message


# --------------------------------------------------------------------------- calibrated


def _corners(image: np.ndarray) -> np.ndarray | None:
    grey = np.round(linear_to_srgb(np.clip(image[:, :, 1], 0, 1)) * 255).astype(np.uint8)
    found, corners = cv2.findChessboardCorners(grey, (9, 6))
    if not found:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)
    return cv2.cornerSubPix(grey, corners, (11, 11), (-1, -1), criteria).reshape(-1, 2)


@pytest.fixture(scope="module")
def chessboard_calibration(shared_data: Path):  # type: ignore[no-untyped-def]
    from depthfx.depth.calibration import calibrate_from_chessboards

    folder = shared_data / "photos" / "stereo_calib"
    lefts = sorted(folder.glob("left*.jpg"))
    rights = sorted(folder.glob("right*.jpg"))
    return calibrate_from_chessboards(lefts, rights, pattern=(9, 6)), lefts, rights


def test_calibrated_rectification_puts_chessboard_corners_on_the_same_row(
    chessboard_calibration,
) -> None:  # type: ignore[no-untyped-def]
    calibration, lefts, rights = chessboard_calibration
    offsets = []
    for left_path, right_path in zip(lefts, rights, strict=True):
        rect = rectify_pair(
            read_image(left_path).pixels, read_image(right_path).pixels, calibration=calibration
        )
        assert rect.method == "calibrated" and rect.metric_scale is not None
        left_corners, right_corners = _corners(rect.left), _corners(rect.right)
        assert left_corners is not None and right_corners is not None
        offsets.append(right_corners[:, 1] - left_corners[:, 1])
    dy = np.abs(np.concatenate(offsets))
    assert np.median(dy) < 0.3
    assert np.mean(dy < 1.0) > 0.99


def test_calibrated_depth_agrees_with_the_board_pose(chessboard_calibration) -> None:  # type: ignore[no-untyped-def]
    calibration, lefts, rights = chessboard_calibration
    board = np.zeros((54, 3), np.float32)
    board[:, :2] = np.mgrid[0:9, 0:6].T.reshape(-1, 2)
    for left_path, right_path in list(zip(lefts, rights, strict=True))[:4]:
        left = read_image(left_path).pixels
        rect = rectify_pair(left, read_image(right_path).pixels, calibration=calibration)
        left_rect, right_rect = _corners(rect.left), _corners(rect.right)
        original = _corners(left)
        assert left_rect is not None and right_rect is not None and original is not None
        # Depth by triangulation: metric_scale / disparity, in squares.
        depth_stereo = rect.metric_scale / (left_rect[:, 0] - right_rect[:, 0])
        # Depth by the board's pose seen from the left camera alone.
        _, rvec, tvec = cv2.solvePnP(board, original, calibration.K1, calibration.D1)
        camera_points = (cv2.Rodrigues(rvec)[0] @ board.T + tvec).T
        assert np.median(depth_stereo / camera_points[:, 2]) == pytest.approx(1.0, abs=0.03)


def test_calibrated_to_left_grid_finds_each_original_pixel(chessboard_calibration) -> None:  # type: ignore[no-untyped-def]
    calibration, lefts, rights = chessboard_calibration
    left = read_image(lefts[0]).pixels
    rect = rectify_pair(left, read_image(rights[0]).pixels, calibration=calibration)
    height, width = left.shape[:2]
    rect_x = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    rect_y = np.repeat(np.arange(height, dtype=np.float32)[:, None], width, axis=1)
    back_x, confidence = rect.to_left_grid(rect_x, np.ones_like(rect_x))
    back_y, _ = rect.to_left_grid(rect_y, np.ones_like(rect_x))
    assert back_x.shape == (height, width) and confidence.mean() > 0.95
    original, rectified = _corners(left), _corners(rect.left)
    assert original is not None and rectified is not None
    at = np.round(original).astype(int)
    # Nearest-neighbour sampling at a rounded pixel: within a pixel and a half.
    assert np.abs(back_x[at[:, 1], at[:, 0]] - rectified[:, 0]).max() < 1.5
    assert np.abs(back_y[at[:, 1], at[:, 0]] - rectified[:, 1]).max() < 1.5


def test_calibration_for_another_camera_is_refused(chessboard_calibration) -> None:  # type: ignore[no-untyped-def]
    calibration, _, _ = chessboard_calibration
    left, right = stereo_pair(height=200, width=400)
    with pytest.raises(InputError, match="aspect ratios differ"):
        rectify_pair(left, right, calibration=calibration)
