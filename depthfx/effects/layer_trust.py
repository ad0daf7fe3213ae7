"""Where the layers may trust the depth: not where it is unsure and the photo shows nothing.

Stereo depth on a featureless sky or wall is noise (nothing to match), and its confidence
says so. Cut into layers, that noise becomes "objects" that throw shadows across the sky.
Trust is high wherever the depth was measured with confidence *or* the photo has texture
(where a cut would follow something real); it falls to 0 only where both fail. There the
layers take a smooth depth carried in from the trusted surroundings (no cuts through the
noise), and neither cast nor receive shadows.

Trust is smooth, so it is computed on a small copy (the size the shadows are cast at).
Without a confidence map (depth files, monocular depth) everything is trusted.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..filters import push_pull
from .layer_cuts import BandUpsampler, each_band, resize

# Confidence 0.5 is a match with no texture behind it (see depthfx.depth.confidence);
# trusted fully from this up.
_CONFIDENT = (0.5, 0.75)
# Local standard deviation of the 8-bit sRGB codes: featureless below, textured above.
_FEATURELESS = (2.0, 6.0)
# Window (radius) over which texture is measured, % of the diagonal.
_WINDOW = 0.75


def _smoothstep(low: float, high: float, value: np.ndarray) -> np.ndarray:
    ratio = np.clip((value - low) / (high - low), 0.0, 1.0)
    return (ratio * ratio * (3.0 - 2.0 * ratio)).astype(np.float32)


def local_contrast(guide: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Local standard deviation of the photo's brightness (in 8-bit codes), at ``size``.

    Parameters
    ----------
    guide : (3, H, W) uint8
        The photo's sRGB codes (see :func:`depthfx.effects.layer_cuts.guide_planes`).
    size : (width, height)
        Where the answer is wanted; the texture itself is read at full resolution.

    Examples
    --------
    >>> flat = np.full((3, 40, 40), 200, np.uint8)
    >>> busy = np.random.default_rng(0).integers(0, 255, (3, 40, 40)).astype(np.uint8)
    >>> float(local_contrast(flat, (10, 10)).max()), bool(local_contrast(busy, (10, 10)).min() > 30)
    (0.0, True)
    """
    height = guide.shape[1]
    small_height = size[1]
    means = np.empty((small_height, size[0]), np.float32)
    squares = np.empty((small_height, size[0]), np.float32)
    # Shrunk in bands of whole small rows, so no full-size float plane is ever made.

    def shrink(start: int, stop: int) -> None:
        top, bottom = start * height // small_height, stop * height // small_height
        luma = guide[:, top:bottom].astype(np.float32).mean(axis=0)
        target = (size[0], stop - start)
        means[start:stop] = resize(luma, target, cv2.INTER_AREA).reshape(stop - start, -1)
        squares[start:stop] = resize(luma * luma, target, cv2.INTER_AREA).reshape(stop - start, -1)

    each_band(small_height, shrink)
    radius = max(1, round(_WINDOW / 100.0 * math.hypot(*size)))
    window = (2 * radius + 1, 2 * radius + 1)
    mean = cv2.blur(means, window, borderType=cv2.BORDER_REFLECT)
    square = cv2.blur(squares, window, borderType=cv2.BORDER_REFLECT)
    return np.sqrt(np.maximum(square - mean * mean, 0.0)).astype(np.float32)


def depth_trust(confidence: np.ndarray, guide: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """How far the depth may be trusted for cuts and shadows, 0..1, at ``size``.

    ``1 - (1 - confident) * featureless``: 0 only where the depth is unsure *and* the photo
    is featureless there. (Without a confidence map, everything is trusted: callers skip
    this.)

    Examples
    --------
    >>> guide = np.full((3, 40, 40), 220, np.uint8)
    >>> guide[:, :, 20:] = np.random.default_rng(0).integers(0, 255, (3, 40, 20))
    >>> confidence = np.zeros((40, 40), np.float32)
    >>> trust = depth_trust(confidence, guide, (40, 40))
    >>> float(trust[5, 2]), float(trust[5, 37])  # flat and unsure; textured
    (0.0, 1.0)
    """
    unsure = 1.0 - _smoothstep(*_CONFIDENT, resize(confidence, size, cv2.INTER_AREA))
    featureless = 1.0 - _smoothstep(*_FEATURELESS, local_contrast(guide, size))
    return (1.0 - unsure.reshape(featureless.shape) * featureless).astype(np.float32)


def settle_untrusted(nearness: np.ndarray, trust: np.ndarray) -> np.ndarray:
    """``nearness`` where trusted, a smooth fill from the trusted surroundings where not.

    The fill (push-pull of the nearness weighted by trust) is made on ``trust``'s small
    grid and blended in by trust, one row band at a time; fully trusted rows are copied.

    Examples
    --------
    >>> nearness = np.zeros((20, 20), np.float32); nearness[:, 10:] = 1
    >>> nearness[:, :10] = np.random.default_rng(0).random((20, 10))  # noise
    >>> trust = np.ones((20, 20), np.float32); trust[:, :10] = 0
    >>> settled = settle_untrusted(nearness, trust)
    >>> float(settled[:, :10].std()) < 0.05, float(settled[5, 15])
    (True, 1.0)
    """
    height, width = nearness.shape
    small_size = (trust.shape[1], trust.shape[0])
    small = resize(nearness, small_size, cv2.INTER_AREA).reshape(trust.shape)
    weight = trust * trust  # partly trusted noise should not seed the fill much
    filled = push_pull(np.repeat((small * weight)[:, :, None], 3, axis=2), weight, mode="fill")[
        :, :, 0
    ].astype(np.float32)
    distrust = BandUpsampler(1.0 - trust, (height, width))
    fill = BandUpsampler(filled, (height, width))
    settled = np.empty_like(nearness, dtype=np.float32)

    def blend(start: int, stop: int) -> None:
        rows = nearness[start:stop]
        if distrust.is_zero(start, stop):
            settled[start:stop] = rows
            return
        share = distrust.rows(start, stop)
        settled[start:stop] = rows + share * (fill.rows(start, stop) - rows)

    each_band(height, blend)
    return settled


__all__ = ["depth_trust", "local_contrast", "settle_untrusted"]
