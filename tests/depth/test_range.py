"""Disparity range from a coarse wide-range pass."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depthfx.depth.range import coarse_range, coarse_size


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    return cv2.GaussianBlur(noise, (3, 3), 0)


def test_negative_disparities_are_found() -> None:
    right = _texture(150, 300, 0)
    found = coarse_range(np.roll(right, -20, axis=1), right)
    assert found is not None
    assert found.low <= -20 <= found.high and found.high - found.low < 10


def test_range_beyond_the_first_search_is_widened() -> None:
    # 40 % of the width: beyond the first searched range (30 %), so it is pushed out.
    right = _texture(120, 256, 1)
    found = coarse_range(np.roll(right, 102, axis=1), right)
    assert found is not None and found.widened >= 1
    assert found.low <= 102 <= found.high


def test_full_size_pixels_and_seed() -> None:
    right = _texture(100, 320, 2)
    left = np.roll(right, 24, axis=1)
    size = coarse_size(320, 100)
    assert size == (160, 50)
    small = [cv2.resize(view, size, interpolation=cv2.INTER_AREA) for view in (left, right)]
    found = coarse_range(*small, full_width=320, seed=(-200.0, 10.0))
    assert found is not None and found.low <= 24 <= found.high


def test_blank_pair_has_no_range() -> None:
    flat = np.full((100, 200, 3), 128, np.uint8)
    assert coarse_range(flat, flat.copy()) is None


def test_exposure_gain_from_matched_pixels() -> None:
    from depthfx.depth.range import exposure_gain
    from depthfx.image import encode_srgb8, srgb_to_linear

    right = _texture(120, 256, 3)
    left = np.roll(right, 20, axis=1)
    # The right camera exposed 20 % darker (in linear light).
    darker = encode_srgb8(srgb_to_linear(right.astype(np.float32) / 255) * np.float32(0.8))
    found = coarse_range(left, darker)
    assert found is not None and 1.15 < found.gain < 1.35
    disparity = np.full(left.shape[:2], 20.0, np.float32)
    confident = np.ones(left.shape[:2], bool)
    assert exposure_gain(left, right, disparity, confident) == pytest.approx(1.0, abs=0.05)


def test_first_search_covers_the_seed_and_only_widens() -> None:
    from depthfx.depth.range import first_search

    unseeded = first_search(640, 480)
    # A seed inside the first search changes nothing (a pass run ahead stands for it).
    assert first_search(640, 480, seed=(0.0, 100.0)) == unseeded
    low, high = first_search(640, 480, seed=(-100.0, 300.0))
    assert low < unseeded[0] and high > unseeded[1]
    assert low <= -100 * 160 / 640 and high >= 300 * 160 / 640
