"""Aperture shapes: the blur kernel a defocused point light spreads into.

A kernel is the lens aperture seen out of focus: a disc for a round aperture, a polygon for
an iris of straight blades, something between for rounded blades. Kernels are drawn with
sub-pixel coverage (anti-aliased) and normalized to sum 1, so blurring keeps energy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ParameterError

SHAPES = ("disc", "polygon")
# Sub-samples per pixel side when measuring how much of a pixel the aperture covers.
_OVERSAMPLE = 8


@dataclass(frozen=True)
class Aperture:
    """Shape of the lens aperture, hence of the bokeh.

    Attributes
    ----------
    shape : {"disc", "polygon"}
        Round aperture, or an iris of ``blades`` straight blades.
    blades : int
        Number of blades of a polygon aperture, 3..16.
    rotation_deg : float
        Rotation of the polygon in degrees (0 = a vertex points up).
    curvature : float
        0..1: 0 = straight blades, 1 = fully rounded (a disc).
    cats_eye : float
        0..1: how strongly out-of-focus discs are clipped toward the image corners
        (optical vignetting: 0 = off, 1 = corner discs become lens-shaped halves).

    Examples
    --------
    >>> Aperture("polygon", blades=6).shape
    'polygon'
    """

    shape: str = "disc"
    blades: int = 6
    rotation_deg: float = 0.0
    curvature: float = 0.0
    cats_eye: float = 0.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ParameterError(f"shape must be one of {', '.join(SHAPES)}, got {self.shape!r}")
        if not 3 <= int(self.blades) <= 16 or int(self.blades) != self.blades:
            raise ParameterError(f"blades must be an integer in 3..16, got {self.blades}")
        if not math.isfinite(self.rotation_deg):
            raise ParameterError(f"rotation_deg must be a finite number, got {self.rotation_deg}")
        if not 0.0 <= self.curvature <= 1.0:
            raise ParameterError(f"curvature must be in 0..1, got {self.curvature}")
        if not 0.0 <= self.cats_eye <= 1.0:
            raise ParameterError(f"cats_eye must be in 0..1, got {self.cats_eye}")


def aperture_mask(x: np.ndarray, y: np.ndarray, aperture: Aperture | None = None) -> np.ndarray:
    """Whether points (x, y), in units of the aperture radius (y down), lie inside it.

    The radius is the circumradius: a polygon's vertices touch the unit circle.
    """
    aperture = aperture or Aperture()
    rho = np.hypot(x, y)
    if aperture.shape == "disc" or aperture.curvature >= 1.0:
        return rho <= 1.0
    sector = 2.0 * math.pi / aperture.blades
    # Angle measured from "up" (negative y), so rotation 0 puts a vertex at the top.
    phi = np.arctan2(x, -y) - math.radians(aperture.rotation_deg)
    local = np.mod(phi, sector) - sector / 2.0
    polygon_radius = math.cos(sector / 2.0) / np.cos(local)
    boundary = (1.0 - aperture.curvature) * polygon_radius + aperture.curvature
    return rho <= boundary


def aperture_kernel(
    radius: float,
    aperture: Aperture | None = None,
    *,
    offset: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """The normalized blur kernel of a point light defocused to ``radius`` pixels.

    Parameters
    ----------
    radius : float
        Circumradius in pixels, >= 0. Below 0.5 the kernel is a single pixel (no blur).
    aperture : Aperture, optional
        Shape; a disc when omitted.
    offset : (float, float)
        Cat's-eye clipping: the aperture is intersected with a unit disc displaced from it
        by this vector (in radius units, x right, y down); the overlap stays centred.
        (0, 0) = no clipping.

    Returns
    -------
    ndarray float32, (2n+1, 2n+1), sums to 1.

    Examples
    --------
    >>> kernel = aperture_kernel(3.0)
    >>> kernel.shape, round(float(kernel.sum()), 6)
    ((9, 9), 1.0)
    """
    if not radius >= 0 or not math.isfinite(radius):
        raise ParameterError(f"radius must be a finite number >= 0, got {radius}")
    aperture = aperture or Aperture()
    return _kernel_cached(
        round(float(radius), 4), aperture, (round(offset[0], 3), round(offset[1], 3))
    ).copy()


@lru_cache(maxsize=256)
def _kernel_cached(radius: float, aperture: Aperture, offset: tuple[float, float]) -> np.ndarray:
    if radius < 0.5:
        return np.ones((1, 1), np.float32)
    half = math.ceil(radius + 0.5)
    size = 2 * half + 1
    steps = (np.arange(size * _OVERSAMPLE) + 0.5) / _OVERSAMPLE - half - 0.5
    y, x = np.meshgrid(steps / radius, steps / radius, indexing="ij")
    if offset == (0.0, 0.0):
        inside = aperture_mask(x, y, aperture)
    else:
        # Aperture and clipping disc are shifted half each way so the lens-shaped overlap
        # stays centred: vignetting must not move the image.
        half_x, half_y = offset[0] / 2.0, offset[1] / 2.0
        inside = aperture_mask(x + half_x, y + half_y, aperture)
        inside &= np.hypot(x - half_x, y - half_y) <= 1.0
    coverage = inside.reshape(size, _OVERSAMPLE, size, _OVERSAMPLE).mean(axis=(1, 3))
    total = coverage.sum()
    if total <= 0:
        return np.ones((1, 1), np.float32)
    return (coverage / total).astype(np.float32)


__all__ = ["SHAPES", "Aperture", "aperture_kernel", "aperture_mask"]
