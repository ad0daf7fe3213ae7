"""Continuous match confidence."""

from __future__ import annotations

import numpy as np

from depthfx.depth.confidence import match_confidence


def test_filled_is_zero_measured_is_half_to_one() -> None:
    rng = np.random.default_rng(0)
    guide = rng.random((40, 40)).astype(np.float32)
    disparity = np.full((40, 40), 12.0, np.float32)
    valid = np.ones((40, 40), bool)
    valid[:, :10] = False
    confidence = match_confidence(disparity, valid, guide)
    assert confidence.dtype == np.float32
    assert (confidence[~valid] == 0).all()
    assert (confidence[valid] >= 0.5).all() and (confidence[valid] <= 1.0).all()
    assert float(confidence[20, 30]) > 0.95


def test_plain_or_disagreeing_pixels_are_trusted_less() -> None:
    rng = np.random.default_rng(1)
    guide = rng.random((40, 80)).astype(np.float32)
    guide[:, 40:] = 0.5  # no texture on the right half
    disparity = np.full((40, 80), 12.0, np.float32)
    disparity[:20, :40] += rng.normal(0, 3.0, (20, 40)).astype(np.float32)  # noisy matches
    confidence = match_confidence(disparity, np.ones((40, 80), bool), guide)
    textured_clean = float(confidence[25:35, 5:35].mean())
    assert float(confidence[10:30, 50:70].mean()) < textured_clean - 0.3
    assert float(confidence[5:15, 5:35].mean()) < textured_clean - 0.2
