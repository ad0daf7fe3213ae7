"""Stereo matching: synthetic pairs with known disparity, then Middlebury scenes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depth.refine import fill_from_background, fill_smooth, weighted_median
from depthfx.depth.stereo import (
    _smooth_low_spread,
    estimate_disparity_range,
    match_rectified,
    stereo_depth,
)
from depthfx.depthmap import DepthMap
from depthfx.errors import InputError, ParameterError, StereoMatchError
from depthfx.image import read_image, srgb_to_linear

HEIGHT, WIDTH = 120, 200


def texture(height: int, width: int, seed: int, blur: float = 1.0) -> np.ndarray:
    """Random colour texture in linear light, smoothed so sub-pixel shifts are meaningful."""
    rng = np.random.default_rng(seed)
    noise = rng.random((height, width, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), blur)
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return srgb_to_linear(0.1 + 0.8 * smooth)


def shifted(image: np.ndarray, shift: float) -> np.ndarray:
    """``out(x) = image(x - shift)`` with cubic interpolation, edges replicated."""
    height, width = image.shape[:2]
    map_x = np.tile(np.arange(width, dtype=np.float32) - np.float32(shift), (height, 1))
    map_y = np.repeat(np.arange(height, dtype=np.float32)[:, None], width, axis=1)
    return cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)


def plane_pair(disparity: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Fronto-parallel textured plane: left(x) = right(x - disparity)."""
    margin = 64
    scene = texture(HEIGHT, WIDTH + 2 * margin, seed)
    right = scene[:, margin:-margin]
    left = shifted(scene, disparity)[:, margin:-margin]
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


def step_pair(
    background: int = 6, foreground: int = 18
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured square at ``foreground`` px over a background plane at ``background`` px."""
    # Different tints, as objects in a photo differ in colour from what is behind them.
    back = texture(HEIGHT, WIDTH + 64, 1) * np.float32([0.3, 0.5, 1.0])
    front = texture(HEIGHT, WIDTH + 64, 2) * np.float32([1.0, 0.5, 0.3])
    square = np.zeros((HEIGHT, WIDTH + 64), bool)
    square[30:90, 104:164] = True  # left view: x in 90..149, right view: 72..131
    columns = np.arange(WIDTH)

    def view(back_shift: int, front_shift: int) -> tuple[np.ndarray, np.ndarray]:
        in_front = square[:, columns - front_shift + 32]
        picture = np.where(
            in_front[:, :, None],
            front[:, columns - front_shift + 32],
            back[:, columns - back_shift + 32],
        )
        return np.ascontiguousarray(picture), in_front

    right, _ = view(0, 0)
    left, in_front = view(background, foreground)
    truth = np.where(in_front, foreground, background).astype(np.float32)
    return left, right, truth


# --------------------------------------------------------------------------- synthetic


@pytest.mark.parametrize("disparity", [7.25, 12.5])
def test_plane_disparity_is_exact_to_a_quarter_pixel(disparity: float) -> None:
    left, right = plane_pair(disparity)
    depth = stereo_depth(left, right)
    assert isinstance(depth, DepthMap)
    assert depth.units == "disparity_px"
    assert depth.shape == (HEIGHT, WIDTH)
    error = np.abs(depth.nearness - disparity)
    assert float(np.median(error)) < 0.25
    # Every pixel, the left border strip included, is within a pixel.
    assert float(np.percentile(error, 99)) < 1.0
    assert np.isfinite(depth.nearness).all()


def test_negative_disparity_range_is_handled() -> None:
    # Cameras that shift their frames give left(x) = right(x + 15): disparity -15.
    left, right = plane_pair(-15.0, seed=3)
    low, high = estimate_disparity_range(left, right)
    assert low < -15 < high
    depth = stereo_depth(left, right)
    assert float(np.median(np.abs(depth.nearness + 15.0))) < 0.25
    assert float(np.mean(np.abs(depth.nearness + 15.0) < 1.0)) > 0.97


def test_step_edge_values_and_location() -> None:
    left, right, truth = step_pair()
    depth = stereo_depth(left, right)
    nearness = depth.nearness
    # Both planes are recovered away from the edges.
    assert float(np.median(nearness[40:80, 100:140])) == pytest.approx(18.0, abs=0.25)
    assert float(np.median(nearness[:, 10:60])) == pytest.approx(6.0, abs=0.25)
    assert float(np.mean(np.abs(nearness - truth) <= 1.0)) > 0.95
    # The square's left and right edges (x = 90 and 149 in the left view) within 2 px.
    row = np.median(nearness[40:80], axis=0)
    above = np.flatnonzero(row > 12.0)
    assert abs(int(above.min()) - 90) <= 2
    assert abs(int(above.max()) - 149) <= 2
    # Confidence: the occluded strip left of the square (12 px wide) is filled, not trusted.
    assert float(depth.confidence[40:80, 80:88].mean()) < 0.5
    assert float(depth.confidence[40:80, 100:140].mean()) > 0.9


def border_strip_pair() -> tuple[np.ndarray, np.ndarray]:
    """A 3DS-like pair: disparity -40 (left(x) = right(x + 40)), so the left view's right
    40 px have no counterpart; three nearer squares (-28 px) touch that strip's edge."""
    height, width, offset = 160, 240, 10
    back = texture(height, width + 100, 3) * np.float32([0.3, 0.5, 1.0])
    front = texture(height, width + 100, 4) * np.float32([1.0, 0.5, 0.3])
    square = np.zeros((height, width + 100), bool)  # in right-view columns (+ offset)
    for top in (8, 62, 116):
        square[top : top + 36, offset + 188 : offset + 228] = True
    columns = np.arange(width)
    right = np.where(
        square[:, offset + columns, None], front[:, offset + columns], back[:, offset + columns]
    )
    in_front = square[:, offset + columns + 28]
    left = np.where(
        in_front[:, :, None], front[:, offset + columns + 28], back[:, offset + columns + 40]
    )
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


def test_unmatched_border_strip_is_filled_without_row_streaks() -> None:
    left, right = border_strip_pair()
    nearness = stereo_depth(left, right).nearness
    strip = nearness[:, 224:]  # the outer 16 px of the 40 px strip that has no partner
    beside = nearness[:, 175:200]  # measured: background and the nearer squares
    # Row-by-row filling copies each row's last measurement, so the squares' -28 px run
    # across the strip as bands, as varied from row to row as the measured band (std 5.7,
    # median -28 before the 2-D fill).
    assert float(np.std(beside, axis=0).mean()) > 3.0
    assert float(np.std(strip, axis=0).mean()) < 0.25 * float(np.std(beside, axis=0).mean())
    # The strip leans to the background (-40 px), not to the squares (-28 px).
    assert float(np.median(strip)) < -35.0
    assert float(strip.max()) < -34.0
    assert float(strip.min()) > -42.0
    # Measured background elsewhere is untouched.
    assert float(np.median(nearness[:, 20:150])) == pytest.approx(-40.0, abs=0.25)


def test_fill_smooth_prefers_background_and_is_smooth() -> None:
    # Background (10 px) left, a nearer object (20 px) right, an unmatched gap between.
    rng = np.random.default_rng(0)
    disparity = np.where(np.arange(96)[None, :] < 40, 10.0, 20.0).astype(np.float32)
    disparity = np.repeat(disparity, 64, axis=0) + rng.normal(0, 0.5, (64, 96)).astype(np.float32)
    valid = np.ones((64, 96), bool)
    valid[:, 40:64] = False
    out = fill_smooth(disparity, valid, background_bias=2.0)
    assert np.isfinite(out).all()
    assert (out[valid] == disparity[valid]).all()
    gap = out[:, 44:60]
    # A row-wise fill would copy each row's noisy neighbour (std 0.5 across rows).
    assert float(np.std(gap, axis=0).max()) < 0.15
    assert float(gap.mean()) < 15.0  # nearer to the background than to the object
    with pytest.raises(ParameterError, match="background_bias"):
        fill_smooth(disparity, valid, background_bias=0.0)


def test_low_spread_pair_is_smoothed_and_keeps_its_structure() -> None:
    # A 3DS-like pair: two planes only 4 px apart, in noisy images.
    left, right, truth = step_pair(background=6, foreground=10)
    rng = np.random.default_rng(0)
    left = np.clip(left + rng.normal(0, 0.03, left.shape), 0, 1).astype(np.float32)
    right = np.clip(right + rng.normal(0, 0.03, right.shape), 0, 1).astype(np.float32)
    nearness = stereo_depth(left, right).nearness
    assert float(np.median(nearness[40:80, 95:130])) == pytest.approx(10.0, abs=0.25)
    assert float(np.median(nearness[:, 10:60])) == pytest.approx(6.0, abs=0.25)
    assert float(np.std(nearness[40:80, 95:130])) < 0.3
    assert float(np.std(nearness[:, 10:60])) < 0.3
    # Smoothing softens the square's edges by a few pixels, no more.
    assert float(np.mean(np.abs(nearness - truth) <= 1.0)) > 0.95
    row = np.median(nearness[40:80], axis=0)
    above = np.flatnonzero(row > 8.0)
    square = np.flatnonzero(truth[60] == 10)  # x = 82..141 in the left view
    assert abs(int(above.min()) - int(square.min())) <= 2
    assert abs(int(above.max()) - int(square.max())) <= 2


def test_low_spread_smoothing_removes_matching_noise() -> None:
    # Two planes 4 px apart (a 3DS-like spread) with half-pixel matching noise and a small
    # cluster of wrong matches; the guide shows the two surfaces in different colours.
    rng = np.random.default_rng(2)
    truth = np.full((120, 160), 6.0, np.float32)
    truth[:, 80:] = 10.0
    noisy = truth + rng.normal(0, 0.5, truth.shape).astype(np.float32)
    noisy[30:36, 30:36] = 14.0  # wrong matches on a blank wall
    guide = np.zeros((120, 160, 3), np.float32)
    guide[:, :80] = (0.2, 0.3, 0.8)
    guide[:, 80:] = (0.8, 0.3, 0.2)
    valid = np.ones(truth.shape, bool)
    smooth = _smooth_low_spread(noisy, valid, guide, 6.0, 10.0)
    assert float(np.std(smooth[:, 5:75])) < 0.2 * 0.5  # noise down by more than 5x
    assert float(np.abs(smooth[:, 85:] - 10.0).max()) < 0.5
    assert float(smooth[30:36, 30:36].max()) < 7.0  # the cluster is gone
    # The depth edge stays on the colour edge.
    assert float(np.median(smooth[:, 78])) < 6.5 and float(np.median(smooth[:, 81])) > 9.5
    # A pair with a real depth range is left alone.
    assert np.array_equal(_smooth_low_spread(noisy, valid, guide, 0.0, 30.0), noisy)


def test_unrectified_pair_is_rectified_and_mapped_back() -> None:
    # The right camera sat 3 px lower: without rectification rows would not match.
    left, right = plane_pair(10.0, seed=7)
    lowered = np.ascontiguousarray(np.roll(right, 3, axis=0))
    depth = stereo_depth(left, lowered)
    assert depth.shape == (HEIGHT, WIDTH)
    inner = depth.nearness[10:-10, 10:-10]
    assert float(np.median(np.abs(inner - 10.0))) < 0.5


def test_range_estimate_covers_the_scene() -> None:
    left, right, _ = step_pair(background=6, foreground=18)
    low, high = estimate_disparity_range(left, right)
    assert low <= 6 and high >= 18
    assert high - low < 60  # a margin, not the whole image width


def test_user_range_overrides_estimate() -> None:
    left, right = plane_pair(9.0)
    disparity, confidence = match_rectified(left, right, min_disparity=0, num_disparities=32)
    assert disparity.shape == confidence.shape == (HEIGHT, WIDTH)
    assert float(np.median(np.abs(disparity - 9.0))) < 0.25


def test_textureless_pair_raises_with_a_hint() -> None:
    flat = np.full((HEIGHT, WIDTH, 3), 0.2, np.float32)
    flat += np.random.default_rng(0).normal(0, 0.0005, flat.shape).astype(np.float32)
    with pytest.raises(StereoMatchError, match="texture") as caught:
        stereo_depth(flat, flat.copy())
    assert "--mono" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_inputs() -> None:
    left, right = plane_pair(5.0)
    with pytest.raises(InputError, match="differ in size"):
        stereo_depth(left, right[:, :-4])
    with pytest.raises(ParameterError, match="baseline_m"):
        stereo_depth(left, right, baseline_m=0.06)
    with pytest.raises(ParameterError, match="num_disparities"):
        stereo_depth(left, right, num_disparities=0)
    with pytest.raises(InputError, match="float"):
        stereo_depth((left * 255).astype(np.uint8), (right * 255).astype(np.uint8))


def test_metric_scale_from_baseline_and_focal() -> None:
    left, right = plane_pair(10.0)
    depth = stereo_depth(left, right, baseline_m=0.06, focal_px=700.0)
    assert depth.metric_scale == pytest.approx(42.0)
    assert float(np.median(depth.depth_m())) == pytest.approx(4.2, rel=0.03)


def test_large_pair_is_matched_shrunk_and_upsampled() -> None:
    left, right = plane_pair(6.0, seed=5)
    big_left = cv2.resize(left, (WIDTH * 4, HEIGHT * 4), interpolation=cv2.INTER_CUBIC)
    big_right = cv2.resize(right, (WIDTH * 4, HEIGHT * 4), interpolation=cv2.INTER_CUBIC)
    disparity, confidence = match_rectified(big_left, big_right, max_side=WIDTH * 2)
    assert disparity.shape == (HEIGHT * 4, WIDTH * 4)
    assert confidence.shape == disparity.shape
    assert float(np.median(np.abs(disparity - 24.0))) < 0.6  # values in full-size pixels


def test_fill_from_background_takes_the_farther_neighbour() -> None:
    disparity = np.array([[20, 0, 0, 0, 5, 5, 0, 30]], np.float32)
    filled = fill_from_background(disparity, disparity > 0)
    assert filled.tolist() == [[20, 5, 5, 5, 5, 5, 5, 30]]


def test_weighted_median_snaps_to_colour_edge() -> None:
    guide = np.zeros((20, 20, 3), np.float32)
    guide[:, 10:] = 1.0
    disparity = np.where(np.arange(20)[None, :] >= 8, 10.0, 2.0).astype(np.float32)
    disparity = np.repeat(disparity, 20, axis=0)  # depth edge 2 px left of the colour edge
    out = weighted_median(disparity, guide, np.ones((20, 20), bool), radius=4, step=1)
    assert (out[:, :10] == 2.0).all() and (out[:, 10:] == 10.0).all()


# --------------------------------------------------------------------------- real data


def _middlebury(scene: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    valid = raw > 0
    if (scene / "mask_all.png").exists():
        valid &= cv2.imread(str(scene / "mask_all.png"), cv2.IMREAD_GRAYSCALE) == 255
    gt = raw.astype(np.float32) / meta["gt_scale"]
    left = read_image(scene / "left.png").pixels
    right = read_image(scene / "right.png").pixels
    return left, right, gt, valid


@pytest.mark.parametrize(("scene", "max_bad2"), [("tsukuba", 6.0), ("cones", 11.0)])
def test_middlebury_bad2_dense(shared_data: Path, scene: str, max_bad2: float) -> None:
    folder = shared_data / "stereo" / scene
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    left, right, gt, valid = _middlebury(folder)
    depth = stereo_depth(left, right)
    assert np.isfinite(depth.nearness).all()  # density 100 %
    bad2 = 100.0 * float(np.mean(np.abs(depth.nearness - gt)[valid] > 2.0))
    assert bad2 < max_bad2


def test_progress_is_reported_in_order() -> None:
    left, right = plane_pair(8.0)
    seen: list[tuple[str, float]] = []
    stereo_depth(left, right, progress=lambda stage, fraction: seen.append((stage, fraction)))
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == 1.0


def test_weighted_median_threads_give_the_same_result() -> None:
    from depthfx._parallel import set_workers

    rng = np.random.default_rng(0)
    disparity = (rng.random((120, 160)) * 40).astype(np.float32)
    guide = rng.random((120, 160, 3)).astype(np.float32)
    where = rng.random((120, 160)) < 0.6  # enough pixels for several chunks
    try:
        set_workers(1)
        single = weighted_median(disparity, guide, where)
        set_workers(2)
        assert np.array_equal(weighted_median(disparity, guide, where), single)
    finally:
        set_workers(None)


def test_fill_from_background_matches_a_per_row_reference() -> None:
    rng = np.random.default_rng(4)
    disparity = (rng.random((30, 40)) * 20).astype(np.float32)
    valid = rng.random((30, 40)) < 0.4
    valid[7] = False  # a row without any measurement
    filled = fill_from_background(disparity, valid)
    for row in range(30):
        columns = np.flatnonzero(valid[row])
        for column in range(40):
            if valid[row, column]:
                expected = disparity[row, column]
            elif columns.size == 0:
                expected = disparity[valid].min()
            else:
                near = [columns[columns < column][-1:], columns[columns > column][:1]]
                expected = min(disparity[row, c[0]] for c in near if c.size)
            assert filled[row, column] == expected


def test_coarse_pass_started_early_is_reused_only_for_the_same_search() -> None:
    from depthfx.depth.stereo import _EncodedPair

    right = texture(HEIGHT, WIDTH, 5)
    left = np.roll(right, 12, axis=1)
    pair = _EncodedPair(left, right)
    with pair.jobs:
        pair.start_coarse_pass()
        early = pair.coarse_pass(None)
        assert pair.coarse_pass((0.0, 20.0)) is early  # inside the first search
        wider = pair.coarse_pass((-150.0, 20.0))  # reaches past it: searched again
    assert early is not None and wider is not None and wider is not early
    assert early.low <= 12 <= early.high and wider.low <= 12 <= wider.high


def test_stereo_depth_is_the_same_with_one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from depthfx import _parallel

    right = texture(HEIGHT, WIDTH, 6)
    left = np.roll(right, 9, axis=1)
    beside = stereo_depth(left, right)
    monkeypatch.setattr(_parallel, "_on_pool_thread", lambda: True)  # all work inline
    inline = stereo_depth(left, right)
    assert np.array_equal(beside.nearness, inline.nearness)
    assert np.array_equal(beside.confidence, inline.confidence)
