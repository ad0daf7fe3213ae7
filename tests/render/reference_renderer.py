"""Slow, exact thin-lens rendering of textured fronto-parallel planes (tests only).

A thin lens focused at some distance images a point of a plane at signed blur radius ``c``
(pixels; positive behind the focal plane) as a disc: seen from the lens point ``(u, v)``
of the unit aperture disc, the plane appears shifted by ``c * (u, v)`` relative to the
central (pinhole) view. Averaging many such pinhole views over the aperture, each with
correct occlusion (the nearest opaque plane along every ray wins), gives the exact
defocused image, including the background that is hidden in the central view but seen
around the edges of a blurred foreground.

Planes are functions, evaluated exactly at shifted coordinates (no resampling blur).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# A function of pixel coordinates (x, y) -> values: colour (H, W, 3) or mask (H, W) in [0, 1].
Field = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Plane:
    """A textured plane as seen in the central view, with its signed blur radius."""

    colour: Field
    mask: Field
    coc_radius: float
    nearness: float


def aperture_samples(count: int) -> np.ndarray:
    """``count`` points evenly covering the unit disc (Vogel's sunflower spiral)."""
    index = np.arange(count) + 0.5
    radius = np.sqrt(index / count)
    angle = index * math.pi * (3.0 - math.sqrt(5.0))
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def central_view(
    planes: list[Plane], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pinhole image, its nearness and its signed CoC map: depthfx's input."""
    return _view(planes, shape, 0.0, 0.0)


def render_reference(
    planes: list[Plane], shape: tuple[int, int], *, samples: int = 1024
) -> np.ndarray:
    """Thin-lens image: the mean of pinhole views over ``samples`` aperture points."""
    total = np.zeros((*shape, 3), np.float64)
    for u, v in aperture_samples(samples):
        image, _, _ = _view(planes, shape, float(u), float(v))
        total += image
    return (total / samples).astype(np.float32)


def _view(
    planes: list[Plane], shape: tuple[int, int], u: float, v: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.zeros((height, width, 3), np.float64)
    nearness = np.zeros((height, width), np.float64)
    coc = np.zeros((height, width), np.float64)
    # Far to near: nearer planes overwrite what they cover.
    for plane in sorted(planes, key=lambda p: p.nearness):
        sx = x - plane.coc_radius * u
        sy = y - plane.coc_radius * v
        cover = np.clip(plane.mask(sx, sy), 0.0, 1.0)
        image = image * (1.0 - cover[:, :, None]) + plane.colour(sx, sy) * cover[:, :, None]
        nearness = np.where(cover >= 0.5, plane.nearness, nearness)
        coc = np.where(cover >= 0.5, plane.coc_radius, coc)
    return image.astype(np.float32), nearness.astype(np.float32), coc.astype(np.float32)


def smooth_texture(
    seed: int, *, scale: float = 6.0, contrast: float = 0.35, base=(0.4, 0.4, 0.4)
) -> Field:
    """A band-limited colour texture: a sum of random sinusoids (exact at any position)."""
    rng = np.random.default_rng(seed)
    count = 12
    freq = rng.uniform(0.3, 1.0, count) / scale
    angle = rng.uniform(0, 2 * math.pi, count)
    phase = rng.uniform(0, 2 * math.pi, count)
    weight = rng.uniform(-1, 1, (count, 3))
    base_array = np.asarray(base, np.float64)

    def colour(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.zeros((*x.shape, 3), np.float64)
        for f, a, p, w in zip(freq, angle, phase, weight, strict=True):
            wave = np.sin(2 * math.pi * f * (x * math.cos(a) + y * math.sin(a)) + p)
            out += wave[:, :, None] * w
        return np.clip(base_array + contrast * out / math.sqrt(count), 0.0, 1.0)

    return colour


def box_mask(x0: float, y0: float, x1: float, y1: float) -> Field:
    """Anti-aliased rectangle [x0, x1) x [y0, y1) (pixel centres at integers)."""

    def mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cover_x = np.clip(np.minimum(x + 0.5 - x0, x1 - (x - 0.5)), 0.0, 1.0)
        cover_y = np.clip(np.minimum(y + 0.5 - y0, y1 - (y - 0.5)), 0.0, 1.0)
        return cover_x * cover_y

    return mask


def everywhere(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.ones_like(x)
