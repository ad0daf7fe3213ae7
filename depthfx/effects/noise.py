"""Seeded fractal value noise (numpy + OpenCV resize), used for patchy fog."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ParameterError

# Octaves whose grid has at most this many cells a side skip resizing the whole grid.
_FEW_CELLS = 64
_CUBIC_A = -0.75  # OpenCV's bicubic kernel parameter


def fractal_noise(
    shape: tuple[int, int],
    *,
    scale: float = 0.25,
    octaves: int = 4,
    persistence: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Smooth fractal value noise in [-1, 1], the same for the same seed and shape.

    Each octave is a grid of seeded random values, upsampled with bicubic interpolation;
    octave ``k`` has twice the frequency and ``persistence**k`` times the amplitude of the
    first. The sum is divided by its maximum possible amplitude.

    Parameters
    ----------
    shape : (height, width)
        Size of the output.
    scale : float
        Size of the largest blobs as a fraction of the longer side, in (0, 4].
    octaves : int
        Number of octaves, 1..8.
    persistence : float
        Amplitude ratio between octaves, in (0, 1].
    seed : int
        Seed of the random grids.

    Returns
    -------
    ndarray (H, W) float32 in [-1, 1], mean near 0.

    Examples
    --------
    >>> noise = fractal_noise((32, 48), seed=3)
    >>> noise.shape, bool(np.abs(noise).max() <= 1)
    ((32, 48), True)
    >>> bool(np.array_equal(noise, fractal_noise((32, 48), seed=3)))
    True
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ParameterError(f"shape must be positive, got {shape}")
    if not 0 < scale <= 4:
        raise ParameterError(f"scale must be in (0, 4] (fraction of the longer side), got {scale}")
    if not 1 <= octaves <= 8:
        raise ParameterError(f"octaves must be in 1..8, got {octaves}")
    if not 0 < persistence <= 1:
        raise ParameterError(f"persistence must be in (0, 1], got {persistence}")
    rng = np.random.default_rng(seed)
    longer = max(height, width)
    total = np.zeros((height, width), np.float32)
    amplitude, norm = 1.0, 0.0
    cell = scale * longer  # pixels per grid cell of the first octave
    for _ in range(octaves):
        # +3 cells so the bicubic interpolation has support beyond the borders.
        rows = int(np.ceil(height / cell)) + 3
        cols = int(np.ceil(width / cell)) + 3
        grid = rng.uniform(-1.0, 1.0, size=(rows, cols)).astype(np.float32)
        # The grid is upsampled to round(cells * cell) pixels and cropped one cell in.
        big_width, big_height = round(cols * cell), round(rows * cell)
        offset = round(cell)
        if offset + height > big_height or offset + width > big_width:
            # Tiny cells: the grid resized straight to the output.
            big_width, big_height, offset = width, height, 0
        if max(rows, cols) <= _FEW_CELLS:
            # Few large cells: resizing the whole grid would make an image many times the
            # output, so the cropped part is interpolated directly, as two small matrix
            # products. (einsum, not matmul: BLAS threads would keep spinning on the cores
            # for a tenth of a second after it returns.)
            vertical = _bicubic_matrix(height, rows, big_height, offset)
            horizontal = _bicubic_matrix(width, cols, big_width, offset)
            patch = np.einsum("ij,jk->ik", vertical, np.einsum("ij,kj->ik", grid, horizontal))
        else:
            big = cv2.resize(grid, (big_width, big_height), interpolation=cv2.INTER_CUBIC)
            patch = big[offset : offset + height, offset : offset + width]
        total += np.float32(amplitude) * patch
        norm += amplitude
        amplitude *= persistence
        cell = max(cell / 2.0, 1.0)
    return np.clip(total / np.float32(norm), -1.0, 1.0).astype(np.float32)


def _bicubic_matrix(size: int, cells: int, resized: int, offset: int) -> np.ndarray:
    """(size, cells) weights of ``cv2.resize``'s bicubic interpolation (a = -0.75,
    replicated borders) from ``cells`` samples to ``resized``, outputs ``offset`` onwards."""
    source = (np.arange(offset, offset + size, dtype=np.float64) + 0.5) * (cells / resized) - 0.5
    first = np.floor(source)
    t = (source - first).astype(np.float32)
    a = np.float32(_CUBIC_A)
    near, far = t, np.float32(1) - t
    weights = [
        ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
        ((a + 2) * near - (a + 3)) * near * near + 1,
        ((a + 2) * far - (a + 3)) * far * far + 1,
    ]
    weights.append(1 - weights[0] - weights[1] - weights[2])
    matrix = np.zeros((size, cells), np.float32)
    outputs = np.arange(size)
    for tap, weight in enumerate(weights):
        # Taps beyond the grid fall on its edge cell (replicated border): add them up.
        np.add.at(matrix, (outputs, np.clip(first.astype(np.intp) - 1 + tap, 0, cells - 1)), weight)
    return matrix


__all__ = ["fractal_noise"]
