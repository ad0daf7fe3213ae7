"""Order statistics of large float maps, and the regular subsamples they are taken from."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

# Samples enough for robust percentiles of a map (and a fraction of a 12 MP one).
SAMPLE_COUNT = 250_000


def percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, q)`` (linear method) for finite values, by sorting.

    NumPy's percentile selects with ``partition``, which is several times slower than its
    SIMD sort on float32 samples of a few hundred thousand values (and slower still on
    the long runs of equal values of depth maps). The interpolation is NumPy's own, so the
    results are the same.

    Examples
    --------
    >>> values = np.array([[4.0, 1.0], [3.0, 2.0]], np.float32)
    >>> percentiles(values, [0, 50, 100]).tolist()
    [1.0, 2.5, 4.0]
    """
    ordered = np.sort(np.asarray(values).ravel())
    if ordered.size == 0:
        raise ValueError("percentiles of an empty array")
    position = np.asarray(q, dtype=np.float64) / 100.0 * (ordered.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, ordered.size - 1)
    gamma = position - below
    low, high = ordered[below], ordered[above]
    # NumPy's _lerp: from the nearer end, for symmetry and exact endpoints.
    difference = np.subtract(high, low)
    result = np.add(low, difference * gamma)
    np.subtract(high, difference * (1 - gamma), out=result, where=gamma >= 0.5)
    return result


def median(values: np.ndarray) -> np.floating:
    """``np.median(values)`` of finite values, to the bit, by partition.

    NumPy's median (and percentile) import ``numpy.ma`` on first use, about 10 ms of a
    command's start-up; this takes the same middle values and the same mean of them.

    Examples
    --------
    >>> float(median(np.array([4.0, 1.0, 3.0, 2.0], np.float32)))
    2.5
    """
    flat = np.asarray(values).ravel()
    if flat.size == 0:
        raise ValueError("median of an empty array")
    middle = flat.size // 2
    if flat.size % 2:
        return np.partition(flat, middle)[middle]
    ordered = np.partition(flat, [middle - 1, middle])
    return np.mean(ordered[middle - 1 : middle + 1])


def sample_step(size: int, count: int = SAMPLE_COUNT) -> int:
    """Stride (in both axes) that leaves about ``count`` samples of ``size`` pixels.

    Examples
    --------
    >>> sample_step(4000 * 3000), sample_step(100)
    (6, 1)
    """
    return max(1, int(math.sqrt(size / count)))


def extremes(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of a 2-D float32 array in one SIMD pass (OpenCV's minMaxLoc, a quarter of
    NumPy's min and max). NaN is skipped, not propagated.

    Examples
    --------
    >>> extremes(np.array([[3.0, -1.0], [2.0, 5.0]], np.float32))
    (-1.0, 5.0)
    """
    smallest, largest, _, _ = cv2.minMaxLoc(values)
    return float(smallest), float(largest)
