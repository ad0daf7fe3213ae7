"""Stereo-specific disparity clean-up: background-side hole filling and a weighted median.

Both work on a disparity map in pixels with a validity mask (what survived the matcher's
left-right and uniqueness checks). Generic edge-aware filters (guided filter, joint
upsampling) live in :mod:`depthfx.filters` because effects use them too.
"""

from __future__ import annotations

import cv2
import numpy as np

from .._parallel import run_all
from ..errors import ParameterError

_QUANT = 64.0
_SAMPLE_BITS = 10


def fill_from_background(disparity: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill invalid pixels with the smaller disparity of the nearest valid pixels on their row.

    Holes left by a stereo matcher are mostly occlusions: background seen by one camera
    only, beside a foreground edge. Taking the farther (smaller-disparity) of the two
    neighbours along the scanline fills them with background instead of fattening the
    foreground. A row with no valid pixel gets the smallest valid disparity of the image.

    Parameters
    ----------
    disparity : ndarray (H, W) float
        Disparity in pixels; values at invalid pixels are ignored.
    valid : ndarray (H, W) bool
        Where ``disparity`` is a measurement.

    Returns
    -------
    ndarray (H, W) float32, finite everywhere.

    Examples
    --------
    >>> row = np.array([[5.0, 0.0, 0.0, 9.0]], np.float32)
    >>> fill_from_background(row, row > 0).tolist()
    [[5.0, 5.0, 5.0, 9.0]]
    """
    disparity = np.asarray(disparity, dtype=np.float32)
    valid = np.asarray(valid, dtype=bool)
    if disparity.shape != valid.shape or disparity.ndim != 2:
        raise ParameterError(
            f"disparity {disparity.shape} and valid {valid.shape} must be equal (H, W)"
        )
    if not valid.any():
        return np.zeros_like(disparity)
    height, width = disparity.shape
    columns = np.arange(width, dtype=np.int32)
    # Index of the nearest valid pixel to the left (running max) and right (running min),
    # accumulated in place; values fetched by flat takes.
    left_index = np.where(valid, columns, np.int32(-1))
    np.maximum.accumulate(left_index, axis=1, out=left_index)
    right_index = np.where(valid[:, ::-1], columns[::-1], np.int32(width))
    np.minimum.accumulate(right_index, axis=1, out=right_index)
    right_index = right_index[:, ::-1]
    flat = disparity.ravel()
    row_start = (np.arange(height, dtype=np.intp) * width)[:, None]
    left_value = flat.take(row_start + np.maximum(left_index, 0))
    left_value[left_index < 0] = np.inf
    right_value = flat.take(row_start + np.minimum(right_index, width - 1))
    right_value[right_index >= width] = np.inf
    np.minimum(left_value, right_value, out=left_value)
    filled = np.where(valid, disparity, left_value)
    empty_rows = ~np.isfinite(filled)
    if empty_rows.any():
        filled[empty_rows] = disparity[valid].min()
    return filled.astype(np.float32)


def weighted_median(
    disparity: np.ndarray,
    guide: np.ndarray,
    where: np.ndarray,
    *,
    weights: np.ndarray | None = None,
    radius: int = 6,
    step: int = 2,
    sigma_color: float = 0.1,
) -> np.ndarray:
    """Colour-weighted median of ``disparity`` at the pixels in ``where``.

    Each chosen pixel takes the weighted median of a sparse window (every ``step``-th pixel
    within ``radius``), weighted by colour similarity to the centre in ``guide`` and by
    ``weights`` (e.g. match confidence). Depth edges move to where the colour changes, and
    filled holes take the values of similar-looking measured neighbours. Cost is
    proportional to the number of chosen pixels, so apply it to holes and edges only.

    Parameters
    ----------
    disparity : ndarray (H, W) float
    guide : ndarray (H, W, C) or (H, W) float
        Colour image, values roughly in [0, 1].
    where : ndarray (H, W) bool
        Pixels to recompute; the others are returned unchanged.
    weights : ndarray (H, W) float, optional
        Per-pixel trust of the samples (default 1).
    radius, step : int
        Window half-size and sampling stride, in pixels.
    sigma_color : float
        Colour distance at which a sample's weight falls to exp(-1/2).

    Returns
    -------
    ndarray (H, W) float32

    Examples
    --------
    >>> disparity = np.zeros((9, 9), np.float32); disparity[:, 5:] = 10; disparity[4, 4] = 10
    >>> guide = np.zeros((9, 9), np.float32); guide[:, 5:] = 1
    >>> out = weighted_median(disparity, guide, disparity >= 0, radius=2, step=1)
    >>> float(out[4, 4]), float(out[4, 6])
    (0.0, 10.0)
    """
    if radius < 1 or step < 1:
        raise ParameterError(f"radius and step must be >= 1, got {radius} and {step}")
    if not sigma_color > 0:
        raise ParameterError(f"sigma_color must be > 0, got {sigma_color}")
    disparity = np.asarray(disparity, dtype=np.float32)
    guide = np.asarray(guide, dtype=np.float32)
    if guide.ndim == 2:
        guide = guide[:, :, None]
    out = disparity.copy()
    rows, cols = np.nonzero(where)
    if rows.size == 0:
        return out
    # Pad by the radius so every window sample is a plain offset into the flat arrays.
    padded_width = disparity.shape[1] + 2 * radius
    pad = (radius, radius, radius, radius)
    flat_disparity = cv2.copyMakeBorder(disparity, *pad, cv2.BORDER_REPLICATE).ravel()
    channels = guide.shape[2]
    flat_guide = [
        cv2.copyMakeBorder(np.ascontiguousarray(guide[:, :, c]), *pad, cv2.BORDER_REPLICATE).ravel()
        for c in range(channels)
    ]
    flat_weight = None
    if weights is not None:
        flat_weight = cv2.copyMakeBorder(
            np.asarray(weights, dtype=np.float32), *pad, cv2.BORDER_REPLICATE
        ).ravel()
    offsets = np.arange(-radius, radius + 1, step)
    if offsets.size**2 > 2**_SAMPLE_BITS:
        raise ParameterError(f"radius / step must be at most 15, got {radius} / {step}")
    offset_y, offset_x = (grid.ravel() for grid in np.meshgrid(offsets, offsets, indexing="ij"))
    flat_offsets = (offset_y * padded_width + offset_x).astype(np.intp)
    samples = flat_offsets.size
    sample_numbers = np.arange(samples, dtype=np.int32)
    minus_inv_two_sigma2 = np.float32(-1.0 / (2.0 * sigma_color**2))
    # Chunks small enough for the temporaries to stay in cache (and memory bounded).
    chunk = max(1, 2**16 // samples)

    def run(start: int) -> None:
        y = rows[start : start + chunk]
        x = cols[start : start + chunk]
        count = y.size
        centre = (y + radius) * padded_width + (x + radius)
        # Arrays are (sample, pixel): the per-sample steps below are then whole-row
        # operations across pixels. Float32 arithmetic in the same order throughout, so
        # results do not depend on the layout or the chunking.
        index = flat_offsets[:, None] + centre[None, :]
        distance = np.zeros(index.shape, np.float32)
        for plane in flat_guide:
            difference = plane.take(index)
            difference -= plane.take(centre)
            difference *= difference
            distance += difference
        distance *= minus_inv_two_sigma2
        weight = np.exp(distance, out=distance)
        if flat_weight is not None:
            weight *= flat_weight.take(index)
        # Sort (value, sample) pairs packed in one integer: values quantized to 1/64 px in the
        # high bits, the sample number in the low bits. Much faster than argsort.
        values = flat_disparity.take(index)
        keys = np.round(values * np.float32(_QUANT)).astype(np.int32)
        keys <<= _SAMPLE_BITS
        keys |= sample_numbers[:, None]
        keys = keys.T.copy()
        keys.sort(axis=1)
        keys &= 2**_SAMPLE_BITS - 1
        order = np.ascontiguousarray(keys.T)  # (sample, pixel): sample numbers by value
        pixel = np.arange(count, dtype=np.intp)
        # Running sum of the weights in value order, one sorted sample at a time.
        cumulative = weight.take(order * count + pixel)
        for rank in range(1, samples):
            cumulative[rank] += cumulative[rank - 1]
        below = cumulative < cumulative[-1] * np.float32(0.5)
        median_rank = np.minimum(np.count_nonzero(below, axis=0), samples - 1)
        chosen = order[median_rank, pixel]
        out[y, x] = values.take(chosen * count + pixel)

    starts = range(0, rows.size, chunk)
    if len(starts) == 1:
        run(0)
    else:
        # Chunks write disjoint pixels, and NumPy releases the GIL in most of the work.
        run_all(run, starts)
    return out


def fill_smooth(
    disparity: np.ndarray,
    valid: np.ndarray,
    *,
    background_bias: float,
    fill: np.ndarray | None = None,
) -> np.ndarray:
    """Fill invalid pixels in 2-D from their surroundings, preferring the background.

    A push-pull pyramid (normalized convolution at every scale): each hole takes the
    average of the measurements around it at the finest scale that has enough of them,
    blended smoothly into coarser scales, so large unmatched regions (a border strip with
    no partner in the other view, sky) get smooth values without the streaks a row-by-row
    fill leaves. Within each average a measurement ``d`` weighs ``exp(-(d - d_far) /
    background_bias)``, so where near and far values meet, the far (background) side wins:
    occlusions and unmatched areas are mostly background.

    Parameters
    ----------
    disparity : ndarray (H, W) float
        Disparity in pixels; values at invalid pixels are ignored.
    valid : ndarray (H, W) bool
        Where ``disparity`` is a measurement.
    background_bias : float
        Disparity difference (px) over which a sample's weight falls by a factor e; smaller
        prefers the background more strongly. Must be > 0.
    fill : ndarray (H, W) bool, optional
        Pixels to fill (default: all invalid pixels). Others are returned unchanged.

    Returns
    -------
    ndarray (H, W) float32, finite everywhere.

    Examples
    --------
    >>> disparity = np.tile(np.linspace(10, 12, 32, dtype=np.float32), (16, 1))
    >>> valid = np.ones((16, 32), bool); valid[:, 24:] = False
    >>> out = fill_smooth(disparity, valid, background_bias=1.0)
    >>> bool(np.ptp(out[:, 28]) < 0.1 and 11.0 < out[8, 28] < 12.0)
    True
    """
    if not background_bias > 0:
        raise ParameterError(f"background_bias must be > 0 (px), got {background_bias}")
    disparity = np.asarray(disparity, dtype=np.float32)
    valid = np.asarray(valid, dtype=bool)
    if disparity.shape != valid.shape or disparity.ndim != 2:
        raise ParameterError(
            f"disparity {disparity.shape} and valid {valid.shape} must be equal (H, W)"
        )
    fill = ~valid if fill is None else np.asarray(fill, dtype=bool) & ~valid
    if not valid.any():
        return np.zeros_like(disparity)
    if not fill.any():
        return disparity.copy()
    values = np.where(valid, disparity, 0.0).astype(np.float32)
    far = float(np.percentile(disparity[valid], 2.0))
    exponent = np.clip((far - values) / np.float32(background_bias), -60.0, 0.0)
    bias = np.where(valid, np.exp(exponent), 0.0).astype(np.float32)
    # Per level: coverage (how much of the footprint is measured, saturating at 1) decides
    # how much the level's own average counts against the coarser one; the biased weights
    # decide the average.
    coverage: list[np.ndarray] = [valid.astype(np.float32)]
    weight: list[np.ndarray] = [bias]
    weighted: list[np.ndarray] = [bias * values]
    while min(coverage[-1].shape) > 2 and coverage[-1].min() < 1.0:
        coverage.append(np.minimum(1.0, 4.0 * cv2.pyrDown(coverage[-1])))
        weight.append(cv2.pyrDown(weight[-1]))
        weighted.append(cv2.pyrDown(weighted[-1]))
    tiny = np.float32(1e-30)
    coarsest = weighted[-1] / np.maximum(weight[-1], tiny)
    # A level without any measurement (cannot happen at the coarsest unless ``valid`` is
    # empty, excluded above) falls back to the image-wide biased average.
    mean = float(weighted[-1].sum() / max(float(weight[-1].sum()), 1e-30))
    estimate = np.where(weight[-1] > tiny, coarsest, mean).astype(np.float32)
    for level in range(len(coverage) - 2, -1, -1):
        height, width = coverage[level].shape
        upper = cv2.pyrUp(estimate, dstsize=(width, height))
        own = weighted[level] / np.maximum(weight[level], tiny)
        alpha = np.where(weight[level] > tiny, coverage[level], 0.0)
        estimate = (alpha * own + (1.0 - alpha) * upper).astype(np.float32)
    return np.where(fill, estimate, disparity).astype(np.float32)


__all__ = ["fill_from_background", "fill_smooth", "weighted_median"]
