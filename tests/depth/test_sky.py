"""Sky rule: plain bright unmatched regions at the top get the farthest depth around them."""

from __future__ import annotations

import numpy as np

from depthfx.depth.sky import far_fill, sky_mask


def _scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    guide = (0.2 + 0.4 * rng.random((80, 120))).astype(np.float32)
    guide[:25] = 0.9  # sky
    valid = np.ones((80, 120), bool)
    valid[:25] = False
    return guide, valid


def test_sky_is_found_and_nothing_else() -> None:
    guide, valid = _scene()
    mask = sky_mask(guide, valid)
    assert mask[:22].all()
    assert not mask[30:].any()


def test_bright_plain_region_away_from_the_top_is_not_sky() -> None:
    guide, valid = _scene()
    guide[:25] = guide[40:65]  # textured top
    valid[:25] = True
    guide[40:60, 30:90] = 0.95  # a bright plain board in the middle, unmatched
    valid[40:60, 30:90] = False
    assert not sky_mask(guide, valid).any()


def test_matched_bright_region_is_not_sky() -> None:
    guide, valid = _scene()
    valid[:25] = True  # a bright wall at the top that did match
    assert not sky_mask(guide, valid).any()


def test_far_fill_takes_the_farthest_depth_around() -> None:
    guide, valid = _scene()
    disparity = np.tile(np.linspace(20.0, 40.0, 80, dtype=np.float32)[:, None], (1, 120))
    disparity[:25] = 35.0  # what a fill spread from wrong matches might leave
    out = far_fill(disparity, valid, sky_mask(guide, valid))
    horizon = float(disparity[25:30].min())
    assert float(out[:22].max()) <= horizon + 0.5
    assert np.array_equal(out[30:], disparity[30:])
