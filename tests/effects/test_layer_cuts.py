"""Layer cuts: edge-aware coverages in row bands, band upsampling, the extension reach."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from depthfx._parallel import row_bands
from depthfx.effects import layer_cuts
from depthfx.effects.layer_cuts import BAND_ROWS, BandUpsampler, each_band

FULL = layer_cuts.FULL
coverages = layer_cuts.coverages
extension_reach = layer_cuts.extension_reach
guide_planes = layer_cuts.guide_planes


def _photo_and_depth(size: int = 240) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A disk in the photo; the depth map's disk is blocky and 3 px off."""
    yy, xx = np.mgrid[:size, :size]
    disk = ((yy - size // 2) ** 2 + (xx - size // 2) ** 2 < (size // 4) ** 2).astype(np.float32)
    rng = np.random.default_rng(3)
    photo = np.where(disk[:, :, None] > 0, np.float32([0.7, 0.5, 0.2]), np.float32([0.1, 0.2, 0.4]))
    photo = (photo + rng.random(photo.shape) * 0.05).astype(np.float32)
    shifted = np.roll(disk, 3, axis=1)
    coarse = cv2.resize(shifted, (size // 8, size // 8), interpolation=cv2.INTER_AREA)
    blocky = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_NEAREST)
    # A second, smaller card in front of the first, cut where the photo has no edge.
    inner = ((yy - size // 2) ** 2 + (xx - size // 2) ** 2 < (size // 10) ** 2) * np.float32(0.5)
    return photo, (blocky + inner).astype(np.float32), disk


def test_row_bands_cover_every_row_once() -> None:
    bands = row_bands(1000, 64)
    rows = np.concatenate([np.arange(start, stop) for start, stop in bands])
    assert np.array_equal(rows, np.arange(1000))


def test_each_band_runs_every_band_once() -> None:
    counts = np.zeros(777, np.int64)

    def work(start: int, stop: int) -> None:
        counts[start:stop] += 1

    each_band(777, work)
    assert (counts == 1).all()


def test_each_band_passes_errors_on() -> None:
    def work(start: int, stop: int) -> None:
        if start > 300:
            raise ValueError("band failed")

    with pytest.raises(ValueError, match="band failed"):
        each_band(777, work)


@pytest.mark.parametrize("shape", [(413, 500), (7, 3), (300, 400)])
def test_band_upsampler_is_a_bilinear_resize(shape: tuple[int, int]) -> None:
    small = np.random.default_rng(0).random(shape).astype(np.float32)
    full_shape = (1000, 1300) if shape != (300, 400) else shape
    upsampler = BandUpsampler(small, full_shape)
    bands = [upsampler.rows(start, stop) for start, stop in row_bands(full_shape[0], BAND_ROWS)]
    expected = cv2.resize(small, full_shape[::-1], interpolation=cv2.INTER_LINEAR)
    assert np.abs(np.vstack(bands) - expected).max() < 5e-5  # sample positions in float32


def test_band_upsampler_knows_which_bands_are_zero() -> None:
    small = np.zeros((20, 30), np.float32)
    small[15, 10] = 0.5
    upsampler = BandUpsampler(small, (200, 300))
    zero = [upsampler.is_zero(start, stop) for start, stop in row_bands(200, 10)]
    nonzero_rows = np.flatnonzero(
        cv2.resize(small, (300, 200), interpolation=cv2.INTER_LINEAR).any(axis=1)
    )
    for (start, stop), is_zero in zip(row_bands(200, 10), zero, strict=True):
        assert is_zero == (not np.any((nonzero_rows >= start) & (nonzero_rows < stop)))


def test_linear_taps_are_those_of_cv2_resize() -> None:
    small = np.random.default_rng(1).random((37, 41)).astype(np.float32)
    rows = layer_cuts._linear_taps(300, 37)
    columns = layer_cuts._linear_taps(333, 41)
    wide = cv2.resize(small, (333, 37), interpolation=cv2.INTER_LINEAR)
    tall = wide[rows[0]] * rows[2] + wide[rows[1]] * rows[3]
    expected = cv2.resize(small, (333, 300), interpolation=cv2.INTER_LINEAR)
    assert np.abs(tall - expected).max() < 1e-5
    assert columns[0].min() == 0 and columns[1].max() == 40


@pytest.mark.parametrize(
    ("radius", "ratio"), [(0, 1.0), (4, 0.8), (8, 0.6), (12, 0.5)]
)  # 4: at full size; 8, 12: fitted on a subsampled grid
def test_coverages_are_nested_soft_and_follow_the_photo(radius: int, ratio: float) -> None:
    photo, nearness, disk = _photo_and_depth()
    cuts = coverages(nearness, np.array([0.25, 1.25]), guide_planes(photo), radius)
    assert len(cuts) == 4 and cuts[0].min() == FULL and cuts[-1].max() == 0
    for nearer, farther in zip(cuts[1:], cuts, strict=False):
        assert nearer.dtype == np.uint16 and (nearer <= farther).all()
    inner = cuts[1] / np.float32(FULL)
    if radius:
        # Snapped onto the photo's disk, not the blocky, shifted one of the depth map.
        assert np.abs(inner - disk).mean() < ratio * np.abs((nearness > 0.25) - disk).mean()
    else:
        assert np.array_equal(inner, (nearness >= 0.25).astype(np.float32))


def test_skipping_what_the_coefficients_prove_constant_changes_nothing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    photo, nearness, _ = _photo_and_depth()
    guide = guide_planes(photo)
    skipped = coverages(nearness, np.array([0.25, 1.25]), guide, 12)
    monkeypatch.setattr(layer_cuts, "_MARGIN", math.inf)  # nothing is ever proved constant
    computed = coverages(nearness, np.array([0.25, 1.25]), guide, 12)
    for fast, full in zip(skipped, computed, strict=True):
        assert np.array_equal(fast, full)


def test_extension_reach_on_a_coarse_grid_is_close_to_the_exact_one() -> None:
    coverage = np.zeros((300, 500), np.uint16)
    cv2.circle(coverage, (120, 150), 40, FULL, -1)
    reach_px = 240.0  # a fade of 80 px: cells of 5 px
    grid = extension_reach(coverage, np.zeros_like(coverage), reach_px)
    assert grid.shape == (60, 100)
    reach = cv2.resize(grid, (500, 300), interpolation=cv2.INTER_LINEAR)
    distance = cv2.distanceTransform((coverage == 0).astype(np.uint8), cv2.DIST_L2, 3)
    exact = np.clip((reach_px - distance) / (reach_px / 3), 0, 1)
    assert np.abs(reach - exact).max() < 0.1  # a cell's diagonal over the fade
    assert reach[150, 120] == 1.0 and reach[150, 499] == 0.0


def test_extension_reach_of_a_short_fade_is_exact_at_full_size() -> None:
    coverage = np.zeros((60, 80), np.uint16)
    coverage[20:30, 20:30] = FULL
    nearer = np.zeros_like(coverage)
    nearer[20:30, 25:30] = FULL  # hides part of the layer: not its own
    reach = extension_reach(coverage, nearer, 6.0)
    distance = cv2.distanceTransform((coverage - nearer == 0).astype(np.uint8), cv2.DIST_L2, 3)
    assert np.array_equal(reach, np.clip((6.0 - distance) / 2.0, 0, 1).astype(np.float32))
    assert reach[25, 40] == 0.0 and reach[25, 22] == 1.0
