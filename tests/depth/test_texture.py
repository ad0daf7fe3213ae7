"""Grey level of a guide picture."""

from __future__ import annotations

import numpy as np

from depthfx.depth.texture import mean_grey


def test_mean_grey_is_bit_identical_to_numpy_mean() -> None:
    guide = np.random.default_rng(0).random((37, 53, 3)).astype(np.float32)
    grey = mean_grey(guide)
    assert grey.dtype == np.float32
    assert np.array_equal(grey, guide.mean(axis=2))


def test_mean_grey_passes_grey_through_and_averages_other_channel_counts() -> None:
    grey = np.random.default_rng(1).random((8, 9)).astype(np.float32)
    assert np.array_equal(mean_grey(grey), grey)
    four = np.random.default_rng(2).random((8, 9, 4)).astype(np.float32)
    assert np.array_equal(mean_grey(four), four.mean(axis=2))
