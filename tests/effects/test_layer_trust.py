"""Trust in the depth for layer cuts and shadows: low only where unsure and featureless."""

from __future__ import annotations

import numpy as np

from depthfx.effects.layer_cuts import guide_planes
from depthfx.effects.layer_trust import depth_trust, local_contrast, settle_untrusted


def _half_textured_guide(size: int = 64) -> np.ndarray:
    """Left half a flat bright colour, right half strong texture."""
    rgb = np.full((size, size, 3), 0.8, np.float32)
    rgb[:, size // 2 :] = np.random.default_rng(3).random((size, size // 2, 3))
    return guide_planes(rgb)


def test_local_contrast_tells_flat_from_textured() -> None:
    contrast = local_contrast(_half_textured_guide(), (32, 32))
    assert contrast[:, :8].max() < 1.0
    assert contrast[:, 24:].min() > 15.0


def test_trust_falls_only_where_depth_is_unsure_and_the_photo_featureless() -> None:
    guide = _half_textured_guide()
    unsure = depth_trust(np.zeros((64, 64), np.float32), guide, (32, 32))
    assert unsure[:, :8].max() < 0.05  # unsure and flat
    assert unsure[:, 24:].min() > 0.95  # unsure but textured: a cut follows something real
    sure = depth_trust(np.ones((64, 64), np.float32), guide, (32, 32))
    assert sure.min() > 0.99  # confident: trusted even where flat


def test_settling_replaces_untrusted_noise_by_a_smooth_fill_and_keeps_the_rest() -> None:
    rng = np.random.default_rng(5)
    nearness = np.full((60, 80), 0.4, np.float32)
    nearness[:24] = rng.random((24, 80)).astype(np.float32)  # noise where untrusted
    trust = np.ones((30, 40), np.float32)
    trust[:12] = 0.0
    settled = settle_untrusted(nearness, trust)
    assert np.array_equal(settled[40:], nearness[40:])  # trusted rows untouched
    assert settled[:20].std() < 0.05 * nearness[:20].std()
    assert abs(float(settled[:20].mean()) - 0.4) < 0.05  # carried in from the trusted part
