"""Where depth layers are cut: soft, nested, edge-aware coverage of each depth threshold.

Coverage ``C_k`` says how much of a pixel is nearer than threshold ``t_k``: a hard mask
from the depth map, refined by a colour guided filter steered by the photo, so the cut
follows the photo's edges (hair, leaves) instead of the depth map's blocky ones.

The filter's linear coefficients vary slowly, so they are fitted on a subsampled grid (the
"fast guided filter", He & Sun 2015) and applied to the full-resolution photo in row bands.
Where the coefficients prove the output lies beyond a cut whatever the photo's colour, it is
filled, not computed: only pieces of rows near a cut are. A large photo never holds more
than the coverages (uint16), the guide (8-bit codes) and a band's worth of temporaries.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import cv2
import numpy as np

from .._parallel import row_bands, run_all, workers
from ..filters import guided_filter
from ..image import encode_srgb8

# Rows per band of full-resolution work: a few MB per plane at 4000 px wide, so the
# temporaries of one band stay in cache.
BAND_ROWS = 64
# Guided-filter regularization of the cuts.
_EPS = 2e-3
# Soft coverage below/above these is snapped to 0/1 (faint halos of the filter in flat areas).
_LOW, _HIGH = 0.02, 0.98
# Coverage stored as whole numbers of this (uint16), and its float32 inverse.
FULL = 65535
_PER_UNIT = np.float32(1.0 / FULL)
# Margin for rounding when the coefficients prove a band constant.
_MARGIN = 1e-3
# Filter output not yet proved constant, in the per-pixel state of a pass.
_UNDECIDED = 2
# Decided stretches of a row band shorter than twice this (px) are computed anyway.
_JOIN = 32


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    size = 2 * radius + 1
    return cv2.boxFilter(array, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)


def resize(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """``cv2.resize`` to ``size`` = (width, height), float32 out."""
    return np.asarray(cv2.resize(array, size, interpolation=interpolation), dtype=np.float32)


def each_band(height: int, work: Callable[[int, int], None]) -> None:
    """Run ``work(start, stop)`` on every row band of ``height`` rows, several at once.

    The bands must be independent (each writes only its own rows).
    """
    bands = row_bands(height, BAND_ROWS)
    if workers() < 2 or len(bands) < 4:
        for start, stop in bands:
            work(start, stop)
        return
    # On the project's shared pool (NumPy and OpenCV release the GIL).
    run_all(lambda band: work(*band), bands)


class BandUpsampler:
    """Bilinear upsampling of a small (h, w) plane to full size, one row band at a time.

    Each band interpolates its few rows of the small plane vertically, then resizes them
    horizontally: no full-size copy is ever made. Up to rounding this is
    ``cv2.resize(small, (width, height))``.
    """

    def __init__(self, small: np.ndarray, shape: tuple[int, int]) -> None:
        height, width = shape
        self.small = np.ascontiguousarray(small, np.float32)
        self.width = width
        self.same = small.shape == (height, width)
        identity = np.arange(height)
        self.taps = (
            (
                identity,
                identity,
                np.ones((height, 1), np.float32),
                np.zeros((height, 1), np.float32),
            )
            if self.same
            else _linear_taps(height, small.shape[0])
        )
        # Per small row, the lowest and highest value (bilinear output lies in between).
        self.lowest = self.small.min(axis=1)
        self.highest = self.small.max(axis=1)

    def is_zero(self, start: int, stop: int) -> bool:
        """Whether rows ``start:stop`` of the full-size plane are all 0."""
        upper, lower = self.taps[0], self.taps[1]
        rows = slice(int(upper[start]), int(lower[stop - 1]) + 1)
        return bool(self.lowest[rows].min() >= 0 and self.highest[rows].max() <= 0)

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the full-size plane (a new array)."""
        if self.same:
            return self.small[start:stop].copy()
        upper, lower, upper_weight, lower_weight = self.taps
        narrow = (
            self.small[upper[start:stop]] * upper_weight[start:stop]
            + self.small[lower[start:stop]] * lower_weight[start:stop]
        )
        return resize(narrow, (self.width, stop - start), cv2.INTER_LINEAR).reshape(
            stop - start, self.width
        )


def _pieces(states: np.ndarray) -> list[tuple[int, int, int]]:
    """``(left, right, state)`` runs of a row of states; a decided run shorter than
    ``2 * _JOIN`` between two undecided ones joins them (fewer, longer pieces to compute).

    Examples
    --------
    >>> _pieces(np.array([0, 0, 2, 2, 1, 2, 1, 1], np.int8))
    [(0, 2, 0), (2, 6, 2), (6, 8, 1)]
    """
    edges = [0, *(np.flatnonzero(np.diff(states)) + 1).tolist(), len(states)]
    runs = [(left, right, int(states[left])) for left, right in itertools.pairwise(edges)]
    pieces: list[tuple[int, int, int]] = []
    for index, (left, right, state) in enumerate(runs):
        between = 0 < index < len(runs) - 1 and runs[index - 1][2] == runs[index + 1][2]
        if between and right - left < 2 * _JOIN and runs[index + 1][2] == _UNDECIDED:
            state = _UNDECIDED
        if pieces and state == pieces[-1][2] == _UNDECIDED:
            pieces[-1] = (pieces[-1][0], right, state)
        else:
            pieces.append((left, right, state))
    return pieces


def _linear_taps(size: int, small: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where bilinear upsampling from ``small`` to ``size`` samples, as ``cv2.resize`` does:
    first and second source index, and their weights ((size, 1) float32), per output."""
    position = ((np.arange(size) + 0.5) * (1.0 / (size / small)) - 0.5).astype(np.float32)
    first = np.floor(position)
    fraction = (position - first).astype(np.float32)
    index = first.astype(np.int64)
    return (
        np.clip(index, 0, small - 1),
        np.clip(index + 1, 0, small - 1),
        (1.0 - fraction)[:, None],
        fraction[:, None],
    )


def guide_planes(rgb: np.ndarray) -> np.ndarray:
    """The photo as the eye sees its edges: 8-bit sRGB codes, (3, H, W) uint8.

    The guide is their value / 255; kept as codes, it takes a quarter of the memory.
    """
    height, width = rgb.shape[:2]
    planes = np.empty((3, height, width), np.uint8)

    def encode(start: int, stop: int) -> None:
        codes = encode_srgb8(rgb[start:stop])
        for channel, plane in enumerate(planes):
            plane[start:stop] = codes[:, :, channel]

    each_band(height, encode)
    return planes


def _guide_values(codes: np.ndarray) -> np.ndarray:
    """8-bit codes to the guide's float32 values in [0, 1]."""
    values = codes.astype(np.float32)  # then divided in place: 4x faster than one divide
    values /= np.float32(255)
    return values


class _GuideWindows:
    """The guide's local statistics on the subsampled grid, shared by every cut and pass."""

    def __init__(self, planes: np.ndarray, radius: int) -> None:
        self.planes = planes
        self.shape = planes[0].shape
        height, width = self.shape
        step = max(1, radius // 3)
        self.small = (max(1, width // step), max(1, height // step))
        self.radius = max(1, round(radius / step))
        guide = [resize(_guide_values(plane), self.small, cv2.INTER_AREA) for plane in planes]
        box = self._box
        mean_i = [box(channel) for channel in guide]
        var = {}
        for i in range(3):
            for j in range(i, 3):
                var[i, j] = box(guide[i] * guide[j]) - mean_i[i] * mean_i[j]
        rr, rg, rb = var[0, 0] + _EPS, var[0, 1], var[0, 2]
        gg, gb, bb = var[1, 1] + _EPS, var[1, 2], var[2, 2] + _EPS
        self.inverse = (
            gg * bb - gb * gb,
            gb * rb - rg * bb,
            rg * gb - gg * rb,
            rr * bb - rb * rb,
            rb * rg - rr * gb,
            rr * gg - rg * rg,
        )
        self.det = rr * self.inverse[0] + rg * self.inverse[1] + rb * self.inverse[2]
        self.guide = guide
        self.mean_i = mean_i
        self.rows_from = _linear_taps(height, self.small[1])
        self.columns_from = _linear_taps(width, self.small[0])

    def _box(self, array: np.ndarray) -> np.ndarray:
        return _box(array, self.radius)

    def coefficients(self, mask: np.ndarray) -> list[np.ndarray]:
        """Box-averaged ``a_r, a_g, a_b, b`` of the filter of ``mask`` (full size, uint16 in
        units of :data:`FULL`), small."""
        small_mask = resize(mask, self.small, cv2.INTER_AREA) * _PER_UNIT
        mean_i, inv, det = self.mean_i, self.inverse, self.det
        mean_p = self._box(small_mask)
        cov = [self._box(self.guide[c] * small_mask) - mean_i[c] * mean_p for c in range(3)]
        a_r = (inv[0] * cov[0] + inv[1] * cov[1] + inv[2] * cov[2]) / det
        a_g = (inv[1] * cov[0] + inv[3] * cov[1] + inv[4] * cov[2]) / det
        a_b = (inv[2] * cov[0] + inv[4] * cov[1] + inv[5] * cov[2]) / det
        b = mean_p - a_r * mean_i[0] - a_g * mean_i[1] - a_b * mean_i[2]
        return [self._box(c) for c in (a_r, a_g, a_b, b)]

    def apply(
        self,
        coefficients: list[np.ndarray],
        finish: Callable[[np.ndarray | float, int, int, int, int], None],
        *,
        below: float,
        above: float,
    ) -> None:
        """Filter output ``a . guide + b`` at full size, handed on piece by piece.

        ``finish(q, top, bottom, left, right)`` gets the output of rows ``top:bottom`` and
        columns ``left:right``. Where the coefficients prove every output lies below
        ``below`` (or above ``above``) whatever the guide's colour, ``q`` is the constant 0.0
        (or 1.0) instead of being computed: only the pieces near a cut are.
        """
        height, width = self.shape
        lowest, highest = _bounds(coefficients)
        state = np.full(lowest.shape, _UNDECIDED, np.int8)
        state[highest < below - _MARGIN] = 0
        state[lowest > above + _MARGIN] = 1
        # Bilinear upsampling, horizontal pass first (as cv2.resize does); the vertical one
        # is done piece by piece.
        wide = [
            resize(c, (width, c.shape[0]), cv2.INTER_LINEAR).reshape(c.shape[0], width)
            for c in coefficients
        ]
        upper, lower, upper_weight, lower_weight = self.rows_from
        left_of, right_of = self.columns_from[:2]

        def upsampled(
            plane: np.ndarray, top: int, bottom: int, left: int, right: int
        ) -> np.ndarray:
            return np.asarray(
                plane[upper[top:bottom], left:right] * upper_weight[top:bottom]
                + plane[lower[top:bottom], left:right] * lower_weight[top:bottom]
            )

        def band(top: int, bottom: int) -> None:
            rows = state[upper[top] : lower[bottom - 1] + 1]
            columns = rows[0].copy()
            columns[(rows != rows[0]).any(axis=0)] = _UNDECIDED
            full = np.where(
                columns[left_of] == columns[right_of], columns[left_of], _UNDECIDED
            ).astype(np.int8)
            for left, right, decided in _pieces(full):
                if decided != _UNDECIDED:
                    finish(float(decided), top, bottom, left, right)
                    continue
                q = upsampled(wide[3], top, bottom, left, right)
                for channel in range(3):
                    q += upsampled(wide[channel], top, bottom, left, right) * _guide_values(
                        self.planes[channel][top:bottom, left:right]
                    )
                finish(q, top, bottom, left, right)

        each_band(height, band)


def _bounds(coefficients: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest ``a . g + b`` over guides ``g`` in [0, 1]^3, per small pixel."""
    a_r, a_g, a_b, b = coefficients
    zero = np.float32(0)
    lowest = b + np.minimum(a_r, zero) + np.minimum(a_g, zero) + np.minimum(a_b, zero)
    highest = b + np.maximum(a_r, zero) + np.maximum(a_g, zero) + np.maximum(a_b, zero)
    return lowest, highest


def _soft_cut(q: np.ndarray) -> np.ndarray:
    """Filter output to coverage: clipped, with the faint halos below 0.02 / above 0.98
    dropped; in units of :data:`FULL`, rounded (not yet cast)."""
    np.subtract(q, np.float32(_LOW), out=q)
    np.divide(q, np.float32(_HIGH - _LOW), out=q)
    np.clip(q, 0.0, 1.0, out=q)
    np.multiply(q, np.float32(FULL), out=q)
    return np.add(q, np.float32(0.5), out=q)


def coverages(
    nearness: np.ndarray,
    thresholds: np.ndarray,
    guide: np.ndarray,
    radius: int,
    *,
    progress: Callable[[float], None] | None = None,
) -> list[np.ndarray]:
    """Soft "nearer than t_k" masks, k = 0..N (C_0 = 1, C_N = 0), nested and edge-aware.

    Parameters
    ----------
    nearness : (H, W) float
    thresholds : (N - 1,) increasing nearness thresholds
    guide : (3, H, W) uint8 sRGB codes of the photo (see :func:`guide_planes`)
    radius : int
        Guided-filter radius in pixels; 0 gives hard cuts.
    progress : callable(fraction), optional
        Called after each cut.

    Returns
    -------
    list of (H, W) uint16
        Coverage in units of :data:`FULL` (a 65535th: half the memory of float32, and finer
        than any output sees). ``C_0`` and ``C_N`` are read-only constant views.

    Examples
    --------
    >>> nearness = np.zeros((40, 40), np.float32); nearness[:, 20:] = 1
    >>> cuts = coverages(nearness, np.array([0.5]), guide_planes(np.zeros((40, 40, 3))), 0)
    >>> [int(c[5, 10]) for c in cuts], [int(c[5, 30]) for c in cuts]
    ([65535, 0, 0], [65535, 65535, 0])
    """
    shape = nearness.shape
    result = [np.broadcast_to(np.uint16(FULL), shape)]
    windows = _GuideWindows(guide, radius) if radius // 3 > 1 else None
    mask = np.empty(shape, np.uint16)
    for index, threshold in enumerate(thresholds):
        np.multiply(nearness >= threshold, np.uint16(FULL), out=mask)
        result.append(_soft_coverage(mask, result[-1], guide, radius, windows))
        if progress is not None:
            progress((index + 1) / len(thresholds))
    result.append(np.broadcast_to(np.uint16(0), shape))
    return result


def _soft_coverage(
    mask: np.ndarray,
    nearer: np.ndarray,
    guide: np.ndarray,
    radius: int,
    windows: _GuideWindows | None,
) -> np.ndarray:
    """The soft coverage of one hard ``mask`` (uint16, overwritten), nested in ``nearer``."""
    coverage = np.empty(mask.shape, np.uint16)

    def snap(q: np.ndarray | float, top: int, bottom: int, left: int, right: int) -> None:
        piece = mask[top:bottom, left:right]
        np.greater(q, np.float32(0.5), out=piece)
        piece *= np.uint16(FULL)

    def soften(q: np.ndarray | float, top: int, bottom: int, left: int, right: int) -> None:
        # Nested: whatever is nearer than t_k is also nearer than t_{k-1}.
        cut = _soft_cut(q) if isinstance(q, np.ndarray) else np.float32(q * FULL)
        np.minimum(
            cut,
            nearer[top:bottom, left:right],
            out=coverage[top:bottom, left:right],
            casting="unsafe",  # whole numbers from 0 to FULL
        )

    if windows is not None:
        # First pass: move the cut towards the photo's edges; cut again at one half; the
        # second pass turns that cut into soft alpha. One pass alone only blurs a depth
        # edge that is off by a few pixels, the second snaps it onto the photo's edge.
        windows.apply(windows.coefficients(mask), snap, below=0.5, above=0.5)
        windows.apply(windows.coefficients(mask), soften, below=_LOW, above=_HIGH)
    elif radius > 0:
        soften(_full_resolution_cut(guide, mask, radius), 0, mask.shape[0], 0, mask.shape[1])
    else:
        np.minimum(mask, nearer, out=coverage)
    return coverage


def _full_resolution_cut(guide: np.ndarray, mask: np.ndarray, radius: int) -> np.ndarray:
    """Both guided-filter passes at full resolution (small radii, where subsampling can't)."""
    colour = _guide_values(np.ascontiguousarray(np.moveaxis(guide, 0, -1)))
    hard = mask * _PER_UNIT
    snapped = (guided_filter(colour, hard, radius=radius, eps=_EPS) > 0.5).astype(np.float32)
    return guided_filter(colour, snapped, radius=radius, eps=_EPS)


def extension_reach(coverage: np.ndarray, nearer: np.ndarray, reach_px: float) -> np.ndarray:
    """How far a layer extends behind nearer ones, on a grid as coarse as its fade allows.

    The layer's own pixels are where ``coverage - nearer`` (its cut minus the next nearer
    one, uint16 in units of :data:`FULL`) exceeds one half. The reach is 1 within
    ``reach_px`` of them, fading to 0 over the last third. It is computed on cells of ``s`` x
    ``s`` pixels, ``s`` a 16th of the fade (1 for short reaches); a cell counts as the
    layer's own when any of its pixels does, so distances are off by at most a cell's
    diagonal (at most 0.09 of alpha, in the fade).
    Upsample the grid to full size.

    Examples
    --------
    >>> coverage = np.zeros((10, 300), np.uint16); coverage[:, :10] = FULL
    >>> reach = extension_reach(coverage, np.zeros_like(coverage), 40.0)
    >>> reach.shape, float(reach[5, 0]), float(reach[5, -1])
    ((10, 300), 1.0, 0.0)
    """
    ramp = max(reach_px / 3.0, 1.0)
    step = max(1, int(ramp // 16))
    solid = np.empty(coverage.shape, np.uint8)

    def mark(start: int, stop: int) -> None:
        # Nested coverages: the difference never goes below 0.
        own = coverage[start:stop] - nearer[start:stop]
        np.greater(own, FULL // 2, out=solid[start:stop])

    each_band(coverage.shape[0], mark)
    # A cell is the layer's own when any of its pixels is.
    cells = (
        cv2.dilate(solid, np.ones((step, step), np.uint8), anchor=(0, 0))[::step, ::step]
        if step > 1
        else solid
    )
    if not cells.any():
        return np.zeros(cells.shape, np.float32)
    distance = cv2.distanceTransform(1 - cells, cv2.DIST_L2, 3) * np.float32(step)
    return np.clip((reach_px - distance) / ramp, 0.0, 1.0).astype(np.float32)


__all__ = [
    "BAND_ROWS",
    "FULL",
    "BandUpsampler",
    "coverages",
    "each_band",
    "extension_reach",
    "guide_planes",
    "resize",
]
