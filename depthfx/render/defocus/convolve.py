"""Aperture-kernel convolution that always takes OpenCV's direct (not DFT) path."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

# OpenCV's filter2D uses the DFT from this many kernel cells on (float32, SSE3).
_DIRECT_FILTER_AREA = 130


def convolve(
    source: np.ndarray,
    kernel: np.ndarray,
    bands: list[tuple[int, int, np.ndarray]] | None = None,
) -> np.ndarray:
    """``cv2.filter2D(source, -1, kernel, borderType=cv2.BORDER_REFLECT)``, always direct.

    OpenCV switches to DFT filtering for kernels of 130 or more cells, which costs two to
    three times the direct sum for aperture kernels of 13x13 to 19x19. Such a kernel is
    cut into bands of rows whose non-zero boxes stay below that size; each band filters
    the reflect-padded source directly and the bands are summed (the same sum, in another
    order: differences are float32 rounding, ~3e-7). ``bands`` is ``kernel_bands(kernel)``
    when the caller filters several planes with one kernel.
    """
    size = kernel.shape[0]
    if size * kernel.shape[1] < _DIRECT_FILTER_AREA:
        return cv2.filter2D(source, -1, kernel, borderType=cv2.BORDER_REFLECT)
    half_y, half_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    height, width = source.shape[:2]
    padded = cv2.copyMakeBorder(source, half_y, half_y, half_x, half_x, cv2.BORDER_REFLECT)
    result: np.ndarray | None = None
    for row, col, piece in bands if bands is not None else cached_bands(kernel):
        rows, cols = piece.shape
        window = padded[row : row + height + rows - 1, col : col + width + cols - 1]
        part = cv2.filter2D(window, -1, piece, anchor=(0, 0), borderType=cv2.BORDER_REFLECT)
        if result is None:
            result = part[:height, :width]
        else:
            result += part[:height, :width]
    if result is None:  # an all-zero kernel
        return np.zeros_like(source)
    return result


def cached_bands(kernel: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """:func:`kernel_bands`, remembered per kernel (a render uses a few dozen, many times)."""
    return _bands_of(kernel.tobytes(), kernel.shape)


@lru_cache(maxsize=256)
def _bands_of(cells: bytes, shape: tuple[int, ...]) -> list[tuple[int, int, np.ndarray]]:
    return kernel_bands(np.frombuffer(cells, np.float32).reshape(shape))


def kernel_bands(kernel: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Row bands of ``kernel`` cropped to their non-zero columns, each under the DFT size.

    Returns (first row, first column, band) triples that together hold every non-zero cell.
    """
    present = kernel != 0
    bands = []
    start = 0
    size = kernel.shape[0]
    while start < size:
        end, box = start + 1, None
        while end <= size:
            cols = np.flatnonzero(present[start:end].any(axis=0))
            candidate = (int(cols[0]), int(cols[-1]) + 1) if cols.size else None
            area = 0 if candidate is None else (end - start) * (candidate[1] - candidate[0])
            if area >= _DIRECT_FILTER_AREA and end > start + 1:
                end -= 1
                break
            box = candidate
            end += 1
        end = min(end, size)
        if box is not None:
            piece = np.ascontiguousarray(kernel[start:end, box[0] : box[1]])
            bands.append((start, box[0], piece))
        start = end
    return bands
