"""Seeded fractal value noise (numpy + OpenCV resize), used for patchy fog."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ParameterError


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
        big = cv2.resize(
            grid,
            (round(cols * cell), round(rows * cell)),
            interpolation=cv2.INTER_CUBIC,
        )
        offset = round(cell)
        patch = big[offset : offset + height, offset : offset + width]
        if patch.shape != (height, width):  # tiny cells: fall back to a direct resize
            patch = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += np.float32(amplitude) * patch
        norm += amplitude
        amplitude *= persistence
        cell = max(cell / 2.0, 1.0)
    return np.clip(total / np.float32(norm), -1.0, 1.0).astype(np.float32)


__all__ = ["fractal_noise"]
