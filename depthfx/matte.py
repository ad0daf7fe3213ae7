"""Depth edges matted to the photo: how much of each pixel lies on the near and far side.

Real depth maps are blobs around thin structures: stereo and monocular networks mark hair,
fur, fibres, leaves and fences near together with the background seen between them, and a
coarse map upsampled to the photo blurs every outline. Effects that trust such a map cut the
subject out with a hard outline (a "sticker") and treat the background between the fibres
as part of the subject.

:func:`edge_matte` finds the bands around the depth map's steps and, in them, decides from
the photo's colours how much of each pixel belongs to the near side and how much to the far
side (a soft matte). Each side's colour is modelled locally by the mean colour of the pixels
just outside the band on that side; a pixel's share of the near side is the position of its
colour between the two means (a linear mix of the two colours is what a partly covered pixel
is). Where the two sides' colours do not differ, the depth map's own answer is kept.

Effects use the result once for every effect: the renderer splits each pixel between the
near and the far side's blur, fog mixes the two sides' transmission, and layers can take
:meth:`EdgeMatte.near_membership` as a fractional cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ParameterError

# Band radius as a share of the photo's longer side, and its smallest value in pixels.
_RADIUS_SHARE = 0.015
_MIN_RADIUS = 16
# Radius (pixels) at which the band's statistics are computed; the photo is reduced so the
# band radius comes close to it (box filters and morphology stay cheap at 12 MP).
_WORK_RADIUS = 8
# Reach (reduced pixels) over which a change of nearness counts as a step.
_STEP_REACH = 2
# Colour difference (linear RGB, squared) between the two sides below which the photo cannot
# tell them apart and the depth map decides; and the denominator's regularization.
_COLOUR_CONTRAST = 0.03**2
_EPS = 1e-6
# Local spread of the perceptual brightness below which the photo counts as featureless,
# and above which as textured.
_TEXTURE_LOW = 0.01
_TEXTURE_HIGH = 0.04
# Share of the colour model's local spread trimmed off each end of the near share, so the
# texture of each side does not read as partial membership.
_SPREAD_TRIM = 1.0


@dataclass(frozen=True)
class EdgeMatte:
    """Each pixel's near and far side, and its share of the near side.

    Outside the bands around depth steps ``near == far == nearness`` and the share is 1.

    Attributes
    ----------
    near : ndarray float32 (H, W)
        Nearness of the near side at each pixel.
    far : ndarray float32 (H, W)
        Nearness of the far side.
    near_share : ndarray float32 (H, W)
        0..1: the share of each pixel that belongs to the near side.
    """

    near: np.ndarray
    far: np.ndarray
    near_share: np.ndarray

    @property
    def far_share(self) -> np.ndarray:
        """0..1: the share of each pixel that belongs to the far side."""
        return np.float32(1.0) - self.near_share

    @property
    def is_trivial(self) -> bool:
        """True when no pixel is split (the depth map had no step)."""
        return bool(self.near_share.min(initial=1.0) >= 1.0)

    def mix(self, near_values: np.ndarray, far_values: np.ndarray) -> np.ndarray:
        """``near_share * near_values + (1 - near_share) * far_values``."""
        return (far_values + self.near_share * (near_values - far_values)).astype(np.float32)

    def near_membership(self, threshold: float) -> np.ndarray:
        """0..1: the share of each pixel nearer than ``threshold`` (a fractional cut).

        Examples
        --------
        >>> matte = EdgeMatte(
        ...     near=np.full((1, 2), 2.0, np.float32),
        ...     far=np.full((1, 2), 1.0, np.float32),
        ...     near_share=np.array([[1.0, 0.3]], np.float32),
        ... )
        >>> [round(float(v), 2) for v in matte.near_membership(1.5)[0]]
        [1.0, 0.3]
        """
        near = (self.near > threshold).astype(np.float32)
        far = (self.far > threshold).astype(np.float32)
        return self.mix(near, far)


def edge_matte(
    image: np.ndarray,
    nearness: np.ndarray,
    *,
    radius: float | None = None,
    step: float = 0.1,
) -> EdgeMatte:
    """Matte the depth map's steps to the photo.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4)
        Linear-light photo (a 4th channel is ignored).
    nearness : ndarray float32 (H, W)
        Nearness (larger = nearer) at the photo's size.
    radius : float, optional
        Half-width of the band around each step in pixels, how far the depth map's outlines
        may be off (1.5 % of the longer side by default, at least 16 px).
    step : float
        Smallest depth step that is matted, as a share of the nearness range (0.5 to 99.5
        percentiles); gentler slopes are left as they are.

    Returns
    -------
    EdgeMatte

    Raises
    ------
    ParameterError
        Shapes differ, or ``radius`` or ``step`` are out of range.

    Examples
    --------
    >>> photo = np.full((40, 40, 3), 0.1, np.float32)
    >>> photo[:, 20:] = 0.8  # a bright subject on the right half ...
    >>> nearness = np.zeros((40, 40), np.float32)
    >>> nearness[:, 14:] = 1.0  # ... whose depth reaches 6 px too far left
    >>> matte = edge_matte(photo, nearness)
    >>> [round(float(v), 2) for v in matte.near_share[20, 12:22]]
    [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    """
    rgb = np.asarray(image, dtype=np.float32)[:, :, :3]
    nearness = np.asarray(nearness, dtype=np.float32)
    if rgb.shape[:2] != nearness.shape:
        raise ParameterError(
            f"depth {nearness.shape} and photo {rgb.shape[:2]} differ in size; fit it first"
        )
    if not 0.0 < step <= 1.0:
        raise ParameterError(f"step must be in (0, 1], got {step}")
    height, width = nearness.shape
    if radius is None:
        radius = max(_MIN_RADIUS, _RADIUS_SHARE * max(height, width))
    if not radius >= 1.0:
        raise ParameterError(f"radius must be >= 1 px, got {radius}")
    trivial = EdgeMatte(nearness, nearness, np.ones_like(nearness))
    low, high = (float(v) for v in np.percentile(nearness[:: _stride(nearness)], [0.5, 99.5]))
    if not high > low:
        return trivial

    stats = _band_statistics(rgb, nearness, radius=radius, threshold=step * (high - low))
    if stats is None:
        return trivial
    return _matte_in_band(rgb, nearness, stats)


@dataclass(frozen=True)
class _BandStatistics:
    """Per-pixel colour and depth models of both sides, at a reduced size."""

    factor: int  # full-size pixels per reduced pixel
    threshold: float  # the smallest matted step, in nearness
    band: np.ndarray  # (h, w) 1 inside the band
    near_colour: np.ndarray  # (h, w, 3)
    far_colour: np.ndarray
    near_spread: np.ndarray  # (h, w) std of each side's colour along the axis between them
    far_spread: np.ndarray
    near: np.ndarray  # (h, w) nearness of each side
    far: np.ndarray
    smooth: np.ndarray  # (h, w) nearness averaged over the band radius
    colour_known: np.ndarray  # (h, w) 1 where both sides have pixels to model them


def _stride(array: np.ndarray) -> int:
    return max(1, int(math.sqrt(array.size / 250_000)))


def _band_statistics(
    rgb: np.ndarray, nearness: np.ndarray, *, radius: float, threshold: float
) -> _BandStatistics | None:
    height, width = nearness.shape
    factor = max(1, int(radius // _WORK_RADIUS))
    small = (max(1, -(-width // factor)), max(1, -(-height // factor)))
    near_s = cv2.resize(nearness, small, interpolation=cv2.INTER_AREA)
    rgb_s = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
    r = max(1, round(radius / factor))

    def square(size: int) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_RECT, (2 * size + 1, 2 * size + 1))

    # A step is a large change over a few pixels (a slope changes as much only over a
    # longer distance); the band is everything within the radius of one.
    steep = cv2.dilate(near_s, square(_STEP_REACH)) - cv2.erode(near_s, square(_STEP_REACH))
    edges = (steep > threshold).astype(np.uint8)
    if not edges.any():
        return None
    band = cv2.dilate(edges, square(r)).astype(np.float32)
    top = cv2.dilate(near_s, square(r))
    bottom = cv2.erode(near_s, square(r))
    # Which side a pixel outside the band is on: above or below the middle of the step.
    # The models are taken over twice the radius around band pixels, so the pixels they use
    # lie within three times the radius of a step, and see it from there.
    middle = (cv2.dilate(near_s, square(3 * r)) + cv2.erode(near_s, square(3 * r))) * 0.5
    sure = band < 0.5
    near_side = (sure & (near_s > middle)).astype(np.float32)
    far_side = (sure & (near_s <= middle)).astype(np.float32)

    size = (4 * r + 1, 4 * r + 1)

    def mean_over(side: np.ndarray, weight: np.ndarray, values: np.ndarray) -> np.ndarray:
        weighted = values * (side[:, :, None] if values.ndim == 3 else side)
        total = cv2.boxFilter(weighted, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)
        inverse = 1.0 / np.maximum(weight, _EPS)
        return total * (inverse[:, :, None] if values.ndim == 3 else inverse)

    def side_model(side: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        weight = cv2.boxFilter(side, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)
        colour = mean_over(side, weight, rgb_s)
        square_mean = mean_over(side, weight, np.einsum("ijk,ijk->ij", rgb_s, rgb_s))
        return weight, colour, square_mean, mean_over(side, weight, near_s)

    near_weight, near_colour, near_square, near_depth = side_model(near_side)
    far_weight, far_colour, far_square, far_depth = side_model(far_side)
    # Where a side has no modelled pixel (a thin structure narrower than the window), the
    # band's own extremes stand for its depth.
    known = (near_weight > 0.02) & (far_weight > 0.02)
    near_depth = np.where(near_weight > 0.02, near_depth, top)
    far_depth = np.where(far_weight > 0.02, far_depth, bottom)
    axis = near_colour - far_colour
    length = np.sqrt(np.einsum("ijk,ijk->ij", axis, axis)) + np.float32(_EPS)

    def spread(square_mean: np.ndarray, colour: np.ndarray) -> np.ndarray:
        # Total colour variance (trace of the covariance): an upper bound of the spread along
        # the axis, cheap to compute; expressed as a share of the distance between the sides.
        variance = square_mean - np.einsum("ijk,ijk->ij", colour, colour)
        return np.sqrt(np.maximum(variance, 0.0) / 3.0) / length

    return _BandStatistics(
        factor=factor,
        threshold=threshold,
        band=band,
        near_colour=near_colour,
        far_colour=far_colour,
        near_spread=spread(near_square, near_colour),
        far_spread=spread(far_square, far_colour),
        near=near_depth,
        far=far_depth,
        smooth=cv2.boxFilter(near_s, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT),
        colour_known=known.astype(np.float32),
    )


def _matte_in_band(rgb: np.ndarray, nearness: np.ndarray, stats: _BandStatistics) -> EdgeMatte:
    height, width = nearness.shape
    near = nearness.copy()
    far = nearness.copy()
    share = np.ones_like(nearness)
    # Only the band's bounding box is worked on at full size.
    rows = np.flatnonzero(stats.band.any(axis=1))
    cols = np.flatnonzero(stats.band.any(axis=0))
    f = stats.factor
    y0, y1 = max(0, (rows[0] - 1) * f), min(height, (rows[-1] + 2) * f)
    x0, x1 = max(0, (cols[0] - 1) * f), min(width, (cols[-1] + 2) * f)

    def up(array: np.ndarray) -> np.ndarray:
        if f == 1:
            return array[y0:y1, x0:x1]
        full = cv2.resize(
            array, (array.shape[1] * f, array.shape[0] * f), interpolation=cv2.INTER_LINEAR
        )
        return full[y0:y1, x0:x1]

    box = (slice(y0, y1), slice(x0, x1))
    in_band = up(stats.band) > 0.0
    colour = rgb[box]
    near_colour, far_colour = up(stats.near_colour), up(stats.far_colour)
    axis = near_colour - far_colour
    length2 = np.einsum("ijk,ijk->ij", axis, axis)
    offset = colour - far_colour
    position = np.einsum("ijk,ijk->ij", offset, axis) / (length2 + np.float32(_EPS))
    # Each side's texture spreads its colours around the mean: colours within that spread of
    # a side's mean belong wholly to it.
    low = up(stats.far_spread) * np.float32(_SPREAD_TRIM)
    high = 1.0 - up(stats.near_spread) * np.float32(_SPREAD_TRIM)
    width_between = np.maximum(high - low, np.float32(0.05))
    by_colour = np.clip((position - low) / width_between, 0.0, 1.0)
    near_side, far_side = up(stats.near), up(stats.far)
    own = nearness[box]
    step = near_side - far_side
    # Where the photo cannot tell the sides apart, the depth map decides, smoothly where
    # both sides were modelled: a step in the depth that the photo does not show (a filled
    # hole, a coarse map's outline) becomes a ramp across the band instead of an edge that
    # effects would draw. (Where a side has no model, the depth map is all there is.)
    known = up(stats.colour_known)
    contrast = length2 / (length2 + np.float32(_COLOUR_CONTRAST))
    depth_here = own + known * (1.0 - contrast) * (up(stats.smooth) - own)
    # (Where the two sides' depths hardly differ, the pixel is wholly on its own side.)
    by_depth = np.clip(
        np.divide(
            depth_here - far_side, step, out=np.ones_like(own), where=step > stats.threshold / 2
        ),
        0.0,
        1.0,
    )
    trust = known * contrast
    alpha = by_depth + trust * (by_colour - by_depth)
    share[box] = np.where(in_band, alpha, 1.0)
    near[box] = np.where(in_band, near_side, own)
    far[box] = np.where(in_band, far_side, own)
    return EdgeMatte(near=near, far=far, near_share=share.astype(np.float32))


def trusted_nearness(
    image: np.ndarray,
    nearness: np.ndarray,
    confidence: np.ndarray,
    *,
    radius: float | None = None,
) -> np.ndarray:
    """Nearness smoothed where it is not trusted and the photo has no features to follow.

    Stereo matching cannot measure a featureless sky or wall, and its guesses there are
    noise; effects that follow them invent edges (fog seams, shadows, layer cuts). Where the
    confidence is low and the photo is flat, the nearness is replaced by its average over
    ``radius``; where either the confidence or the photo's texture is high, it is kept.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4)
        Linear-light photo.
    nearness, confidence : ndarray float32 (H, W)
        The depth map's nearness and its confidence (0 = unmeasured, 1 = trusted).
    radius : float, optional
        Averaging radius in pixels (3 % of the longer side by default).

    Returns
    -------
    ndarray float32 (H, W)
    """
    rgb = np.asarray(image, dtype=np.float32)[:, :, :3]
    nearness = np.asarray(nearness, dtype=np.float32)
    if rgb.shape[:2] != nearness.shape or confidence.shape != nearness.shape:
        raise ParameterError("photo, nearness and confidence must have the same size")
    height, width = nearness.shape
    if radius is None:
        radius = max(_MIN_RADIUS, 2 * _RADIUS_SHARE * max(height, width))
    factor = max(1, int(radius // _WORK_RADIUS))
    small = (max(1, -(-width // factor)), max(1, -(-height // factor)))
    r = max(1, round(radius / factor))
    size = (2 * r + 1, 2 * r + 1)
    # Texture: local spread of the photo's perceptual brightness over a few pixels.
    grey = np.sqrt(np.maximum(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), 0.0))
    grey_s = cv2.resize(grey, small, interpolation=cv2.INTER_AREA)
    local = (3, 3)
    mean = cv2.blur(grey_s, local)
    spread = np.sqrt(np.maximum(cv2.blur(grey_s * grey_s, local) - mean * mean, 0.0))
    featureless = np.clip((_TEXTURE_HIGH - spread) / (_TEXTURE_HIGH - _TEXTURE_LOW), 0.0, 1.0)
    trust = cv2.resize(np.asarray(confidence, np.float32), small, interpolation=cv2.INTER_AREA)
    weight = featureless * (1.0 - np.clip(trust, 0.0, 1.0))
    if float(weight.max(initial=0.0)) <= 0.0:
        return nearness
    # The average of trusted pixels where there are some, else of all.
    near_s = cv2.resize(nearness, small, interpolation=cv2.INTER_AREA)
    trust_sum = cv2.boxFilter(trust, -1, size, borderType=cv2.BORDER_REFLECT)
    trusted_mean = cv2.boxFilter(near_s * trust, -1, size, borderType=cv2.BORDER_REFLECT)
    plain_mean = cv2.boxFilter(near_s, -1, size, borderType=cv2.BORDER_REFLECT)
    known = np.clip(trust_sum / 0.2, 0.0, 1.0)
    average = plain_mean + known * (trusted_mean / np.maximum(trust_sum, _EPS) - plain_mean)
    weight = cv2.GaussianBlur(weight, (0, 0), 1.0)

    def up(array: np.ndarray) -> np.ndarray:
        return cv2.resize(array, (width, height), interpolation=cv2.INTER_LINEAR)

    return (nearness + up(weight) * (up(average) - nearness)).astype(np.float32)
