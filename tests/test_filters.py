"""Edge-aware filters: edges of the guide survive, flat regions are smoothed."""

from __future__ import annotations

import numpy as np
import pytest

from depthfx.errors import ParameterError
from depthfx.filters import guided_filter, guided_upsample


def test_guided_filter_keeps_guide_edges_and_smooths_noise() -> None:
    rng = np.random.default_rng(0)
    guide = np.zeros((40, 40), np.float32)
    guide[:, 20:] = 1.0
    noisy = guide + rng.normal(0, 0.1, guide.shape).astype(np.float32)
    out = guided_filter(guide, noisy, radius=4, eps=1e-3)
    assert np.abs(out[:, 25:35] - 1).std() < 0.03  # noise reduced from 0.1
    assert out[:, 18].mean() < 0.1 and out[:, 21].mean() > 0.9  # edge stays sharp


def test_colour_guide_keeps_isoluminant_edge() -> None:
    guide = np.zeros((30, 30, 3), np.float32)
    guide[:, :15] = (0.6, 0.2, 0.2)
    guide[:, 15:] = (0.2, 0.6 * 0.2126 / 0.7152 + 0.2, 0.2)  # similar brightness, other hue
    source = np.zeros((30, 30), np.float32)
    source[:, 15:] = 1.0
    out = guided_filter(guide, source, radius=5, eps=1e-4)
    assert out[:, 12].max() < 0.05 and out[:, 17].min() > 0.95


def test_guided_upsample_follows_full_resolution_edges() -> None:
    guide = np.zeros((80, 80), np.float32)
    guide[:, 41:] = 1.0  # edge at a position the low-res grid cannot represent
    low = np.zeros((10, 10), np.float32)
    low[:, 5:] = 1.0
    up = guided_upsample(low, guide)
    assert up.shape == (80, 80)
    assert up[:, 38].mean() < 0.2 and up[:, 43].mean() > 0.8


def test_filter_validates() -> None:
    with pytest.raises(ParameterError, match="radius"):
        guided_filter(np.zeros((4, 4)), np.zeros((4, 4)), radius=0)
    with pytest.raises(ParameterError, match="size"):
        guided_filter(np.zeros((4, 4)), np.zeros((5, 4)), radius=1)
