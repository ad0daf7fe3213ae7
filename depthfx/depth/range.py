"""The disparity search range of a rectified pair, from where matching actually has support.

Sparse feature matches gather on texture: a near plain object or a far plain wall has
none, and a range taken from features alone misses them. Here a semi-global matcher runs
over a wide range (both signs: 3D cameras give negative disparities) on a small copy of
the pair, where a window covers much of a plain surface and smoothness carries matches
across it. The histogram of its confident disparities (left-right consistent, unique, not
at an end of the range) gives the range; when its support piles up at an end of the
searched range, that end is widened and the pass repeated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Width of the small copy the coarse pass matches (pixels).
_COARSE_WIDTH = 192
# First searched range, as shares of the width: far/negative and near/positive ends.
_WIDE_LOW, _WIDE_HIGH = -0.08, 0.3
# A histogram bin of confident disparities counts as support with at least this share of
# the confident pixels (isolated wrong matches do not widen the range).
_MIN_SUPPORT = 0.002
# Support within this many coarse pixels of a searched end means the scene goes on past it.
_END_BAND = 2
_END_SHARE = 0.01
_MAX_WIDENINGS = 2
_BLOCK = 5


@dataclass(frozen=True)
class CoarseRange:
    """Disparity range with support in the coarse pass, in pixels of the full-size left view.

    Attributes
    ----------
    low, high : float
        Smallest and largest supported disparity (no margin added).
    matched : float
        Share of the coarse pixels with a confident match (0..1).
    widened : int
        How many times an end of the searched range had to be pushed out.
    """

    low: float
    high: float
    matched: float
    widened: int


def coarse_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of the small copy of a ``width`` x ``height`` pair the pass matches."""
    scale = min(1.0, _COARSE_WIDTH / width)
    return max(16, round(width * scale)), max(16, round(height * scale))


def coarse_range(
    left_u8: np.ndarray,
    right_u8: np.ndarray,
    *,
    full_width: int | None = None,
    seed: tuple[float, float] | None = None,
) -> CoarseRange | None:
    """Supported disparity range of a rectified 8-bit pair from a coarse wide-range pass.

    Parameters
    ----------
    left_u8, right_u8 : ndarray (H, W, 3) uint8
        Rectified views (sRGB codes), best at :func:`coarse_size` (larger ones are shrunk).
    full_width : int, optional
        Width of the full-size views the range is reported for (default: these views').
    seed : (low, high), optional
        A range already believed (from feature matches), in pixels of the full-size view;
        the searched range always covers it.

    Returns
    -------
    CoarseRange or None
        None when too little of the pair matches confidently to say anything.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> right = (rng.random((120, 256, 3)) * 255).astype(np.uint8)
    >>> right = cv2.GaussianBlur(right, (3, 3), 0)
    >>> found = coarse_range(np.roll(right, 30, axis=1), right)
    >>> bool(found.low <= 30 <= found.high and found.high - found.low < 8)
    True
    """
    height, width = left_u8.shape[:2]
    size = coarse_size(width, height)
    if size != (width, height):
        left_u8 = cv2.resize(left_u8, size, interpolation=cv2.INTER_AREA)
        right_u8 = cv2.resize(right_u8, size, interpolation=cv2.INTER_AREA)
    x_scale = size[0] / (full_width or width)
    low = math.floor(_WIDE_LOW * size[0])
    high = math.ceil(_WIDE_HIGH * size[0])
    if seed is not None:
        low = min(low, math.floor(seed[0] * x_scale) - _END_BAND - 1)
        high = max(high, math.ceil(seed[1] * x_scale) + _END_BAND + 1)
    widened = 0
    while True:
        disparity, confident = _match(left_u8, right_u8, low, high)
        values = disparity[confident]
        matched = float(confident.mean())
        if values.size < max(32, 0.02 * confident.size):
            return None
        supported = _supported_span(values, low, high)
        if supported is None:
            return None
        found_low, found_high = supported
        # Support at an end of the searched range: the scene goes on beyond it.
        at_low = np.mean(values <= low + _END_BAND) > _END_SHARE
        at_high = np.mean(values >= high - _END_BAND) > _END_SHARE
        if not (at_low or at_high) or widened >= _MAX_WIDENINGS:
            break
        span = high - low
        low -= span // 2 if at_low else 0
        high += span // 2 if at_high else 0
        widened += 1
    return CoarseRange(found_low / x_scale, found_high / x_scale, matched, widened)


def _match(
    left: np.ndarray, right: np.ndarray, low: int, high: int
) -> tuple[np.ndarray, np.ndarray]:
    """Coarse SGBM over ``low..high`` (padded so border pixels match) and its confident mask."""
    num = 16 * math.ceil((high - low + 1) / 16)
    pad_left, pad_right = max(0, low + num), max(0, -low)
    padded = [
        cv2.copyMakeBorder(view, 0, 0, pad_left, pad_right, cv2.BORDER_REPLICATE)
        for view in (left, right)
    ]
    matcher = cv2.StereoSGBM_create(  # type: ignore[attr-defined]
        minDisparity=low,
        numDisparities=num,
        blockSize=_BLOCK,
        P1=8 * 3 * _BLOCK**2,
        P2=32 * 3 * _BLOCK**2,
        disp12MaxDiff=1,
        uniquenessRatio=10,
        speckleWindowSize=max(20, round(0.002 * left.shape[0] * left.shape[1])),
        speckleRange=2,
        mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    )
    raw = matcher.compute(*padded)[:, pad_left : pad_left + left.shape[1]]
    disparity = raw.astype(np.float32) / 16.0
    confident = (raw > low * 16) & (raw < (low + num - 1) * 16)
    target = np.arange(left.shape[1], dtype=np.float32)[None, :] - disparity
    confident &= (target >= 0) & (target <= left.shape[1] - 1)
    return disparity, confident


def _supported_span(values: np.ndarray, low: int, high: int) -> tuple[float, float] | None:
    """First and last disparity bins (1 px) holding at least ``_MIN_SUPPORT`` of the values."""
    counts, edges = np.histogram(values, bins=max(1, high - low + 1), range=(low, high + 1))
    supported = np.nonzero(counts >= max(3, _MIN_SUPPORT * values.size))[0]
    if supported.size == 0:
        return None
    return float(edges[supported[0]]), float(edges[supported[-1] + 1])


__all__ = ["CoarseRange", "coarse_range", "coarse_size"]
