"""Edge-aware filters: edges of the guide survive, flat regions are smoothed."""

from __future__ import annotations

import numpy as np
import pytest

from depthfx.errors import ParameterError
from depthfx.filters import guided_filter, guided_upsample, push_pull


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


# --------------------------------------------------------------------------- push-pull


def _hole_scene(shape: tuple[int, int] = (37, 51)) -> tuple[np.ndarray, np.ndarray]:
    """Random colour with a large hole (weight 0) and a band of partial weights."""
    rng = np.random.default_rng(5)
    rgb = rng.random((*shape, 3)).astype(np.float32)
    weight = np.ones(shape, np.float32)
    weight[6:30, 9:44] = 0.0
    weight[3:6, :] = 0.4
    return rgb, weight


@pytest.mark.parametrize("mode", ["over", "fill"])
def test_push_pull_keeps_fully_weighted_pixels_and_fills_any_hole(mode: str) -> None:
    rgb, weight = _hole_scene()
    out = push_pull(rgb * weight[:, :, None], weight, mode=mode)  # type: ignore[arg-type]
    assert out.shape == rgb.shape and out.dtype == np.float32
    assert np.array_equal(out[weight == 1], rgb[weight == 1])
    hole = out[weight == 0]
    assert np.isfinite(hole).all() and hole.min() >= 0.0 and hole.max() <= 1.0
    # A constant colour around the hole is continued.
    flat = np.full_like(rgb, 0.3)
    assert np.allclose(push_pull(flat * weight[:, :, None], weight, mode=mode), 0.3, atol=1e-5)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["over", "fill"])
def test_push_pull_fills_from_the_nearest_data(mode: str) -> None:
    rgb = np.zeros((40, 120, 3), np.float32)
    rgb[:, :20] = (1.0, 0.0, 0.0)
    rgb[:, 100:] = (0.0, 0.0, 1.0)
    weight = np.zeros((40, 120), np.float32)
    weight[:, :20] = weight[:, 100:] = 1.0
    out = push_pull(rgb * weight[:, :, None], weight, mode=mode)  # type: ignore[arg-type]
    assert out[20, 25, 0] > out[20, 25, 2] and out[20, 94, 2] > out[20, 94, 0]


def test_push_pull_modes_differ_where_weights_are_partial() -> None:
    # "over" composites partly covered pixels over the fill; "fill" trusts a pixel's own
    # colour from a weight of 1/4 on (callers keep their known pixels themselves).
    rgb = np.zeros((16, 16, 3), np.float32)
    weight = np.zeros((16, 16), np.float32)
    rgb[:, :8] = 1.0
    weight[:, :8] = 1.0
    rgb[:, 8] = 0.2
    weight[:, 8] = 0.5
    premultiplied = rgb * weight[:, :, None]
    over = push_pull(premultiplied, weight, mode="over")
    fill = push_pull(premultiplied, weight, mode="fill")
    np.testing.assert_allclose(fill[:, 8], 0.2, atol=1e-6)  # its own colour
    # 0.1 of its own colour and half of the fill behind it (here lighter than 0.2).
    assert np.all(over[:, 8] > 0.25)


def test_push_pull_refuses_an_unknown_mode() -> None:
    with pytest.raises(ParameterError, match="mode"):
        push_pull(np.zeros((4, 4, 3)), np.zeros((4, 4)), mode="under")  # type: ignore[arg-type]
