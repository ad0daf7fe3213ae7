"""Depth layers: where each circle of confusion sits among the renderer's layers.

Layers sit at radii 0, 1, 2, 2.5, 3.2, 4, 5, 6.3, 8 ... (three per octave above 2 px) on
each side of the focal plane. A pixel between two layers is shared by both, with weights
that ramp over the middle half of the gap. Each coarse layer is blurred at a pyramid level
(half, quarter, ... resolution) where its aperture kernel stays a few pixels wide.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Largest aperture-kernel radius (pixels at the layer's own resolution). OpenCV filters
# kernels up to 11x11 directly and larger ones through the DFT, which is slower per pixel,
# so shallow levels keep kernels small; deep levels are tiny and afford crisper discs.
_MAX_KERNEL_RADIUS_SHALLOW = 6.5
_MAX_KERNEL_RADIUS_DEEP = 8.5
# Layers per doubling of the blur radius, and the share of the gap between two layers over
# which a pixel moves from one to the other.
LAYERS_PER_OCTAVE = 3.0
_TRANSITION = 0.5


def layer_radius(index: int) -> float:
    """CoC radius in pixels of layer ``index`` (0, 1, 2, 2.83, 4, 5.66, ...)."""
    index = abs(index)
    if index <= 2:
        return float(index)
    return 2.0 * 2.0 ** ((index - 2) / LAYERS_PER_OCTAVE)


def layer_position(coc_radius: np.ndarray) -> np.ndarray:
    """Signed continuous layer position of each CoC (inverse of :func:`layer_radius`)."""
    coc_radius = np.asarray(coc_radius, dtype=np.float32)
    magnitude = np.abs(coc_radius)
    # 2 + k log2(m / 2) = k log2(m) + (2 - k) for m >= 2; the identity below.
    position = np.maximum(magnitude, np.float32(2.0))
    if position.ndim in (1, 2) and position.size:
        # OpenCV's SIMD logarithm: ~8x NumPy's float32 log2, within 5e-7 of a layer.
        cv2.log(position, dst=position)
        position *= np.float32(LAYERS_PER_OCTAVE / math.log(2.0))
    else:
        position = np.log2(position) * np.float32(LAYERS_PER_OCTAVE)
    position += np.float32(2.0 - LAYERS_PER_OCTAVE)
    np.minimum(position, magnitude, out=position, where=magnitude <= 2.0)
    return np.copysign(position, coc_radius, out=position)


def coarse_layer_magnitude(coc_radius: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """``|layer_position(coc_radius)|`` where every ``|coc_radius| >= 2``, into ``out``.

    The same operations as :func:`layer_position` minus those that only matter below
    2 px or for the sign (``coc_radius`` is overwritten).
    """
    magnitude = np.abs(coc_radius, out=coc_radius)
    cv2.log(magnitude, dst=magnitude)
    magnitude *= np.float32(LAYERS_PER_OCTAVE / math.log(2.0))
    return np.add(magnitude, np.float32(2.0 - LAYERS_PER_OCTAVE), out=out)


def ramp_down(distance: np.ndarray) -> np.ndarray:
    """In place: 1 below the transition band, 0 above it, linear inside (distance in layer
    units): a layer's membership by distance from its position."""
    np.multiply(distance, np.float32(-1.0 / _TRANSITION), out=distance)
    distance += np.float32(0.5 + 0.5 / _TRANSITION)
    return np.clip(distance, 0.0, 1.0, out=distance)


def ramp_from(position: np.ndarray, index: float, *, rising: bool, out: np.ndarray) -> np.ndarray:
    """Into ``out``: 0 below the transition band, 1 above it, linear inside, of
    ``position - index`` (rising) or ``index - position``, in layer units."""
    slope = np.float32(1.0 / _TRANSITION if rising else -1.0 / _TRANSITION)
    np.multiply(position, slope, out=out)
    out += np.float32(0.5 - 0.5 / _TRANSITION) - slope * np.float32(index)
    return np.clip(out, 0.0, 1.0, out=out)


def blur_kernel_radius(radius: float, level: int) -> float:
    """Kernel radius at ``level`` that, with the resampling blur, gives a disc of ``radius``.

    Downsampling (box of 2^L) and the bilinear upsampling chain add blur; matching the
    variance (a disc of radius R has R^2/4 per axis) keeps small blurs the right size.
    """
    extra = 4.0**level / 12.0 + sum(4.0**j / 6.0 for j in range(1, level + 1))
    return math.sqrt(max(radius * radius - 4.0 * extra, 0.0)) / 2**level


def layer_level(radius: float) -> int:
    """Pyramid level (1 = half resolution) at which a layer of ``radius`` is blurred."""
    level = 1
    while radius / 2**level > (
        _MAX_KERNEL_RADIUS_SHALLOW if level <= 1 else _MAX_KERNEL_RADIUS_DEEP
    ):
        level += 1
    return level
