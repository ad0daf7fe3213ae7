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

# Width of the small copy the coarse pass matches (pixels); 160, 192 and 256 scored the
# same on the robustness suite (320 lost), 160 is the quickest.
_COARSE_WIDTH = 160
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

    ``low`` and ``high`` are the smallest and largest supported disparity (no margin
    added); ``matched`` the share of coarse pixels with a confident match (0..1);
    ``widened`` how many times an end of the searched range had to be pushed out; ``gain``
    the exposure of the left view over the right one in linear light, from the confident
    matches (a right view 20 % darker gives 1.25).
    """

    low: float
    high: float
    matched: float
    widened: int
    gain: float = 1.0


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
    low, high = first_search(width, height, full_width=full_width, seed=seed)
    widened = 0
    while True:
        disparity, confident = _match(left_u8, right_u8, low, high)
        matched = float(confident.mean())
        values = disparity[confident & ~_border_strips(disparity, confident)]
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
    gain = exposure_gain(left_u8, right_u8, disparity, confident)
    return CoarseRange(found_low / x_scale, found_high / x_scale, matched, widened, gain)


def first_search(
    width: int,
    height: int,
    *,
    full_width: int | None = None,
    seed: tuple[float, float] | None = None,
) -> tuple[int, int]:
    """The disparity range :func:`coarse_range` searches first, in pixels of its small copy.

    The same arguments give the same pass, so a pass run without a ``seed`` (ahead of
    the feature matches) stands for one with a seed that leaves this range unchanged.

    Examples
    --------
    >>> first_search(320, 240)
    (-13, 48)
    >>> first_search(320, 240, seed=(0.0, 120.0))
    (-13, 63)
    """
    size = coarse_size(width, height)
    x_scale = size[0] / (full_width or width)
    low = math.floor(_WIDE_LOW * size[0])
    high = math.ceil(_WIDE_HIGH * size[0])
    if seed is not None:
        low = min(low, math.floor(seed[0] * x_scale) - _END_BAND - 1)
        high = max(high, math.ceil(seed[1] * x_scale) + _END_BAND + 1)
    return low, high


def exposure_gain(
    left_u8: np.ndarray, right_u8: np.ndarray, disparity: np.ndarray, confident: np.ndarray
) -> float:
    """Median ratio of left to right brightness (linear light) over confidently matched pixels.

    Two cameras rarely expose alike; the ratio at matched pixels, unlike one of whole-image
    means, does not move with what only one view sees.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> left = (40 + 200 * rng.random((20, 30, 3))).astype(np.uint8)
    >>> right = np.roll(left, -4, axis=1)
    >>> darker = (255 * ((right / 255.0) ** 2.2 * 0.8) ** (1 / 2.2)).astype(np.uint8)
    >>> gain = exposure_gain(left, darker, np.full((20, 30), 4.0), np.ones((20, 30), bool))
    >>> round(gain, 1)
    1.2
    """
    ys, xs = np.nonzero(confident)
    if ys.size < 32:
        return 1.0
    # A few thousand matches give the median to well under a percent.
    step = max(1, ys.size // 4000)
    ys, xs = ys[::step], xs[::step]
    partner = np.round(xs - disparity[ys, xs]).astype(np.intp)
    inside = (partner >= 0) & (partner < left_u8.shape[1])
    ys, xs, partner = ys[inside], xs[inside], partner[inside]
    # sRGB codes to (approximately) linear light: gains are ratios of light, not of codes.
    table = (np.arange(256, dtype=np.float32) / 255.0) ** 2.2
    left_light = table[left_u8[ys, xs]].mean(axis=1)
    right_light = table[right_u8[ys, partner]].mean(axis=1)
    usable = (right_light > 0.01) & (left_light > 0.01) & (left_light < 0.95)
    if usable.sum() < 32:
        return 1.0
    return float(np.median(left_light[usable] / right_light[usable]))


def _match(
    left: np.ndarray, right: np.ndarray, low: int, high: int
) -> tuple[np.ndarray, np.ndarray]:
    """Coarse SGBM over ``low..high`` and its confident mask (full left-right check).

    Both views are padded by the range, so border pixels can match (or be rejected); the
    right view's disparity comes from the same matcher on the mirrored pair (which has
    the same disparities), so pixels that see something else from the other side fail.
    """
    num = 16 * math.ceil((high - low + 1) / 16)
    pad = max(0, low + num, -low)
    padded = [
        cv2.copyMakeBorder(view, 0, 0, pad, pad, cv2.BORDER_REPLICATE) for view in (left, right)
    ]
    # OpenCV's sample penalties (8 and 32 per channel and block pixel): smoother than the
    # fine pass's, as a coarse pass should be; speckles of 0.2 % of the image are dropped.
    penalties = [factor * 3 * _BLOCK**2 for factor in (8, 32)]
    speckles = max(20, round(0.002 * left.shape[0] * left.shape[1]))
    matcher = cv2.StereoSGBM_create(  # type: ignore[attr-defined]
        low, num, _BLOCK, *penalties, disp12MaxDiff=1, uniquenessRatio=10
    )
    matcher.setSpeckleWindowSize(speckles)
    matcher.setSpeckleRange(2)
    matcher.setMode(cv2.STEREO_SGBM_MODE_SGBM_3WAY)
    width = left.shape[1]
    raw = matcher.compute(*padded)[:, pad : pad + width]
    mirrored = [np.ascontiguousarray(view[:, ::-1]) for view in padded[::-1]]
    raw_right = matcher.compute(*mirrored)[:, ::-1][:, pad : pad + width]
    disparity = raw.astype(np.float32) / 16.0
    confident = (raw > low * 16) & (raw < (low + num - 1) * 16)
    target = np.arange(width, dtype=np.float32)[None, :] - disparity
    confident &= (target >= 0) & (target <= width - 1)
    partner = np.clip(np.round(target), 0, width - 1).astype(np.intp)
    seen = np.take_along_axis(raw_right, partner, axis=1).astype(np.float32) / 16.0
    confident &= np.abs(seen - disparity) <= 1.0
    return disparity, confident


def _border_strips(disparity: np.ndarray, confident: np.ndarray) -> np.ndarray:
    """The strip along the side where most pixels' partners fall outside the other view.

    There a pixel can only match something else, and wrong matches that pass the
    left-right check form clusters that would stretch the range (foliage at the edge of a
    3D-camera photo); the bulk's median disparity says how wide the strip is.
    """
    width = disparity.shape[1]
    strips = np.zeros(disparity.shape, bool)
    if not confident.any():
        return strips
    median = float(np.median(disparity[confident]))
    if median > 0:
        strips[:, : min(width, math.ceil(median))] = True
    elif median < 0:
        strips[:, max(0, width - 1 + math.floor(median)) :] = True
    return strips


def _supported_span(values: np.ndarray, low: int, high: int) -> tuple[float, float] | None:
    """First and last disparity bins (1 px) holding at least ``_MIN_SUPPORT`` of the values."""
    counts, edges = np.histogram(values, bins=max(1, high - low + 1), range=(low, high + 1))
    supported = np.nonzero(counts >= max(3, _MIN_SUPPORT * values.size))[0]
    if supported.size == 0:
        return None
    return float(edges[supported[0]]), float(edges[supported[-1] + 1])


__all__ = ["CoarseRange", "coarse_range", "coarse_size", "exposure_gain", "first_search"]
