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
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ._parallel import JobGroup, run_all
from .errors import ParameterError
from .stats import percentiles

# Band radius as a share of the photo's longer side, and its smallest value in pixels.
_RADIUS_SHARE = 0.008
_MIN_RADIUS = 16
# Radius (pixels) at which the band's statistics are computed; the photo is reduced so the
# band radius comes close to it (box filters and morphology stay cheap at 12 MP).
_WORK_RADIUS = 4
# Shares this close to 0 or 1 count as wholly one side (no pixel is split for less).
_SNAP = 0.05
# Tiles where the colours can tell the sides apart by less than this keep the depth map.
_DECISIVE = 0.1
# Tiles (reduced pixels) in which the band is worked on at full size.
_TILE = 16
# Tiles split per job on the workers.
_SPLIT_GROUP = 8
# Reach (reduced pixels) over which a change of nearness counts as a step.
_STEP_REACH = 1
# Colour difference (linear RGB, squared) between the two sides below which the photo cannot
# tell them apart and the depth map decides; and the denominator's regularization.
_COLOUR_CONTRAST = 0.03**2
_EPS = 1e-6
# Local spread of the perceptual brightness below which the photo counts as featureless,
# and above which as textured.
_TEXTURE_LOW = 0.01
_TEXTURE_HIGH = 0.04
# Share of the distance between the sides left free by their spreads at which the colours
# are trusted fully (less: in proportion).
_SEPARABLE = 0.5
# Share of the colour model's local spread trimmed off each end of the near share, so the
# texture of each side does not read as partial membership.
_SPREAD_TRIM = 1.0


@dataclass(frozen=True)
class MatteTile:
    """One rectangle of the photo with split pixels: each side's nearness and the near share."""

    box: tuple[int, int, int, int]  # (y0, y1, x0, x1)
    near: np.ndarray
    far: np.ndarray
    near_share: np.ndarray

    @property
    def slices(self) -> tuple[slice, slice]:
        y0, y1, x0, x1 = self.box
        return slice(y0, y1), slice(x0, x1)


@dataclass(frozen=True)
class EdgeMatte:
    """Each pixel's near and far side, and its share of the near side.

    Only the rectangles (tiles) around depth steps are stored; everywhere else a pixel is
    wholly on its own side (``near == far == nearness``, share 1). The full-size views are
    made on request.

    Attributes
    ----------
    nearness : ndarray float32 (H, W)
        The depth map's nearness (not copied).
    tiles : tuple of MatteTile
        The rectangles with split pixels.
    """

    nearness: np.ndarray
    tiles: tuple[MatteTile, ...] = ()

    @property
    def is_trivial(self) -> bool:
        """True when no pixel is split (the depth map had no step)."""
        return not self.tiles

    def _full(self, base: np.ndarray, field: str) -> np.ndarray:
        out = base.copy()
        for tile in self.tiles:
            out[tile.slices] = getattr(tile, field)
        return out

    @property
    def near(self) -> np.ndarray:
        """(H, W) nearness of the near side at each pixel."""
        return self._full(self.nearness, "near")

    @property
    def far(self) -> np.ndarray:
        """(H, W) nearness of the far side at each pixel."""
        return self._full(self.nearness, "far")

    @property
    def near_share(self) -> np.ndarray:
        """(H, W) 0..1: the share of each pixel that belongs to the near side."""
        return self._full(np.ones_like(self.nearness), "near_share")

    @property
    def far_share(self) -> np.ndarray:
        """(H, W) 0..1: the share of each pixel that belongs to the far side."""
        return np.float32(1.0) - self.near_share

    def mix(self, near_values: np.ndarray, far_values: np.ndarray) -> np.ndarray:
        """``near_share * near_values + (1 - near_share) * far_values`` (full size)."""
        share = self.near_share
        return (far_values + share * (near_values - far_values)).astype(np.float32)

    def matted_nearness(self) -> np.ndarray:
        """Nearness with each split pixel at its shares' mix of the two sides."""
        out = self.nearness.copy()
        for tile in self.tiles:
            out[tile.slices] = tile.far + tile.near_share * (tile.near - tile.far)
        return out

    def near_membership(self, threshold: float) -> np.ndarray:
        """0..1: the share of each pixel nearer than ``threshold`` (a fractional cut).

        Examples
        --------
        >>> tile = MatteTile(
        ...     (0, 1, 0, 2),
        ...     near=np.full((1, 2), 2.0, np.float32),
        ...     far=np.full((1, 2), 1.0, np.float32),
        ...     near_share=np.array([[1.0, 0.3]], np.float32),
        ... )
        >>> matte = EdgeMatte(np.full((1, 2), 2.0, np.float32), (tile,))
        >>> [round(float(v), 2) for v in matte.near_membership(1.5)[0]]
        [1.0, 0.3]
        """
        out = (self.nearness > threshold).astype(np.float32)
        for tile in self.tiles:
            near = (tile.near > threshold).astype(np.float32)
            far = (tile.far > threshold).astype(np.float32)
            out[tile.slices] = far + tile.near_share * (near - far)
        return out

    def split(
        self, mapped: np.ndarray, map_values: Callable[[np.ndarray], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """A per-pixel quantity for both sides of every split pixel, for the renderer.

        ``mapped`` is ``map_values(nearness)`` (full size); its tiles are overwritten, in
        place, with the near side's value (the far side's where a pixel is wholly far).
        Returns ``(far_mapped, far_share)``: the far side's value and each pixel's far share
        where a pixel is split (0 elsewhere). ``map_values`` is called once, on both sides
        of all the tiles' pixels together (it must be pointwise).
        """
        # np.zeros, not zeros_like: calloc'd pages, where zeros_like writes 0 over them all.
        far_mapped = np.zeros(mapped.shape, mapped.dtype)
        far_share = np.zeros(self.nearness.shape, np.float32)
        if not self.tiles:
            return far_mapped, far_share
        # Tile i's pixels are packed at starts[i]:starts[i + 1], the near sides first.
        starts = np.cumsum([0] + [tile.near.size for tile in self.tiles])
        count = int(starts[-1])
        packed = np.concatenate(
            [tile.near.ravel() for tile in self.tiles] + [tile.far.ravel() for tile in self.tiles]
        )
        both_sides = map_values(packed[None, :])[0]

        def split_group(group: range) -> None:
            for index in group:
                tile, start, stop = self.tiles[index], starts[index], starts[index + 1]
                near = both_sides[start:stop].reshape(tile.near.shape)
                far = both_sides[count + start : count + stop].reshape(tile.near.shape)
                outputs = (mapped, far_mapped, far_share)
                _split_tile(tile, near, far, *(output[tile.slices] for output in outputs))

        # On the workers: in a fresh process most of this is the first touch of the far
        # side's pages (the tiles' rows each reach a page of their own).
        tile_count = len(self.tiles)
        run_all(
            split_group,
            [
                range(first, min(first + _SPLIT_GROUP, tile_count))
                for first in range(0, tile_count, _SPLIT_GROUP)
            ],
        )
        return far_mapped, far_share


def _split_tile(
    tile: MatteTile,
    near: np.ndarray,
    far: np.ndarray,
    mapped: np.ndarray,
    far_mapped: np.ndarray,
    far_share: np.ndarray,
) -> None:
    """:meth:`EdgeMatte.split` on one tile: writes the tile's views of the three outputs
    (``far_mapped`` and ``far_share`` hold 0 on entry)."""
    share = tile.near_share
    # Pixels wholly on one side take that side's value and are not split.
    mapped[...] = near
    np.copyto(mapped, far, where=share <= _SNAP)
    split = share > _SNAP
    split &= share < 1.0 - _SNAP
    np.copyto(far_mapped, far, where=split)
    np.subtract(np.float32(1.0), share, out=far_share, where=split)


def edge_matte(
    image: np.ndarray,
    nearness: np.ndarray,
    *,
    radius: float | None = None,
    step: float = 0.1,
    ramp_unseen: bool = False,
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
        may be off (0.8 % of the longer side by default, at least 16 px).
    step : float
        Smallest depth step that is matted, as a share of the nearness range (0.5 to 99.5
        percentiles); gentler slopes are left as they are.
    ramp_unseen : bool
        Where the photo shows no edge between the sides (alike colours), spread the step
        over the band as a ramp (for effects that vary smoothly with depth, like fog: a
        filled hole's step does not show) instead of keeping it where the depth map has it.

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
    photo = np.asarray(image, dtype=np.float32)
    rgb = photo[:, :, :3]
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
    trivial = EdgeMatte(nearness)
    low, high = (float(v) for v in percentiles(nearness[:: _stride(nearness)], [0.5, 99.5]))
    if not high > low:
        return trivial

    stats = _band_statistics(photo, nearness, radius=radius, threshold=step * (high - low))
    if stats is None:
        return trivial
    return _matte_in_band(rgb, nearness, stats, ramp_unseen=ramp_unseen)


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
    alike: np.ndarray  # (h, w) 1 where both are modelled and their colours do not differ
    decides: np.ndarray  # (h, w) how far the colours can tell the sides apart


def _channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pixel dot product over a last axis of 3: ``np.einsum("ijk,ijk->ij", a, b)``.

    The same sums in the same order (einsum adds each pixel's products one by one onto +0),
    in three passes over whole planes instead of a loop per pixel (3-4 times faster).

    Examples
    --------
    >>> a = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    >>> _channel_dot(a, a)
    array([[14.]], dtype=float32)
    """
    total = np.multiply(a[..., 0], b[..., 0])
    product = np.multiply(a[..., 1], b[..., 1])
    total += product
    np.multiply(a[..., 2], b[..., 2], out=product)
    total += product
    total += np.float32(0.0)  # einsum's start: a sum of -0 products is +0
    return total


def _stride(array: np.ndarray) -> int:
    return max(1, int(math.sqrt(array.size / 60_000)))


def _band_statistics(
    photo: np.ndarray, nearness: np.ndarray, *, radius: float, threshold: float
) -> _BandStatistics | None:
    height, width = nearness.shape
    factor = max(1, int(radius // _WORK_RADIUS))
    small = (max(1, -(-width // factor)), max(1, -(-height // factor)))
    # Colours are only averaged over wide windows here: sampling them (bilinear) is enough,
    # and a fraction of an area average's time on a 12 MP photo. Alpha is sampled along and
    # dropped after (OpenCV samples each channel on its own, and would first copy the
    # colour out of an RGBA photo); on a worker, while the depth is reduced here.
    with JobGroup() as jobs:
        sampling = jobs.submit(cv2.resize, photo, small, interpolation=cv2.INTER_LINEAR)
        near_s = cv2.resize(nearness, small, interpolation=cv2.INTER_AREA)
    rgb_s = np.ascontiguousarray(sampling.result()[:, :, :3])
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
    reach = 3 * r + _STEP_REACH + 1
    highest, lowest = cv2.dilate(near_s, square(reach)), cv2.erode(near_s, square(reach))
    middle = (highest + lowest) * 0.5
    # (Pixels that see no step from there are on no side: they are out of every window.)
    sure = (band < 0.5) & (highest - lowest > threshold)
    near_side = (sure & (near_s > middle)).astype(np.float32)
    far_side = (sure & (near_s <= middle)).astype(np.float32)

    size = (4 * r + 1, 4 * r + 1)

    # Each colour's squared length, for the spread of both sides' colours.
    colour_square = _channel_dot(rgb_s, rgb_s)

    def side_model(side: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        weight = cv2.boxFilter(side, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)
        inverse = 1.0 / np.maximum(weight, _EPS)

        def mean_over(values: np.ndarray) -> np.ndarray:
            weighted = values * (side[:, :, None] if values.ndim == 3 else side)
            total = cv2.boxFilter(weighted, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)
            return total * (inverse[:, :, None] if values.ndim == 3 else inverse)

        return weight, mean_over(rgb_s), mean_over(colour_square), mean_over(near_s)

    # The two sides' models on two workers (this part of the matte runs on its own).
    near_model, far_model = run_all(side_model, [near_side, far_side])
    near_weight, near_colour, near_square, near_depth = near_model
    far_weight, far_colour, far_square, far_depth = far_model
    # Where a side has no modelled pixel (a thin structure narrower than the window), the
    # band's own extremes stand for its depth.
    known = (near_weight > 0.02) & (far_weight > 0.02)
    near_depth = np.where(near_weight > 0.02, near_depth, top)
    far_depth = np.where(far_weight > 0.02, far_depth, bottom)
    # Where both sides are modelled and their colours alike, the photo shows no edge.
    difference = near_colour - far_colour
    length2 = _channel_dot(difference, difference)
    alike = known * (np.float32(_COLOUR_CONTRAST) / (length2 + np.float32(_COLOUR_CONTRAST)))
    length = np.sqrt(length2) + np.float32(_EPS)

    def spread(square_mean: np.ndarray, colour: np.ndarray) -> np.ndarray:
        # Total colour variance (trace of the covariance): an upper bound of the spread along
        # the axis, cheap to compute; expressed as a share of the distance between the sides
        # (0 where a side is not modelled).
        variance = square_mean - _channel_dot(colour, colour)
        share = np.minimum(np.sqrt(np.maximum(variance, 0.0) / 3.0) / length, 1.0)
        return np.where(known, share, 0.0)

    near_spread, far_spread = spread(near_square, near_colour), spread(far_square, far_colour)
    # Where the colours can decide at all (see _matte_tile).
    separable = np.clip((1.0 - near_spread - far_spread) / np.float32(_SEPARABLE), 0.0, 1.0)
    decides = known * (1.0 - alike) * separable
    near_colour, far_colour = _fill_unmodelled(near_colour, far_colour, near_weight, far_weight)

    return _BandStatistics(
        factor=factor,
        threshold=threshold,
        band=band,
        near_colour=near_colour,
        far_colour=far_colour,
        near_spread=near_spread.astype(np.float32),
        far_spread=far_spread.astype(np.float32),
        near=near_depth,
        far=far_depth,
        smooth=cv2.boxFilter(near_s, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT),
        colour_known=known.astype(np.float32),
        alike=alike.astype(np.float32),
        decides=decides.astype(np.float32),
    )


def _fill_unmodelled(
    near_colour: np.ndarray, far_colour: np.ndarray, near_weight: np.ndarray, far_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each side's colour model, the other side's where a side has no model (weight <= 0.02).

    No colour contrast there, so the depth decides; it also keeps the models smooth where
    they are enlarged. (OpenCV's masked copy into a copy: the pixels np.where would copy
    are few, and it copied them all.)
    """

    def filled(colour: np.ndarray, weight: np.ndarray, other: np.ndarray) -> np.ndarray:
        unmodelled = np.logical_not(weight > 0.02).view(np.uint8)
        return cv2.copyTo(other, unmodelled, colour.copy())

    return filled(near_colour, near_weight, far_colour), filled(far_colour, far_weight, near_colour)


def _matte_in_band(
    rgb: np.ndarray, nearness: np.ndarray, stats: _BandStatistics, *, ramp_unseen: bool
) -> EdgeMatte:
    """The matte, tile by tile over the band (full-size work only where it is needed)."""
    height, width = nearness.shape
    f = stats.factor
    small_h, small_w = stats.band.shape
    step = _TILE
    tiles = _marked_tiles(stats.band, step)

    def work(tile: tuple[int, int]) -> MatteTile | None:
        ty, tx = tile
        y0, x0 = ty * f, tx * f
        y1, x1 = min(height, (ty + step) * f), min(width, (tx + step) * f)
        if y0 >= y1 or x0 >= x1:
            return None
        # Small-array crop with one pixel of margin, upsampled exactly f times.
        s0, t0 = max(0, ty - 1), max(0, tx - 1)
        s1, t1 = min(small_h, ty + step + 1), min(small_w, tx + step + 1)
        top, left = y0 - s0 * f, x0 - t0 * f

        def up(array: np.ndarray) -> np.ndarray:
            crop = array[s0:s1, t0:t1]
            if f > 1:
                size = ((t1 - t0) * f, (s1 - s0) * f)
                crop = cv2.resize(crop, size, interpolation=cv2.INTER_LINEAR)
            return crop[top : top + y1 - y0, left : left + x1 - x0]

        if not ramp_unseen and float(stats.decides[s0:s1, t0:t1].max()) < _DECISIVE:
            return None  # the photo cannot tell the sides apart here: the depth map stands
        return _matte_tile(
            rgb[y0:y1, x0:x1], nearness[y0:y1, x0:x1], up, stats, (y0, y1, x0, x1), ramp_unseen
        )

    done = run_all(work, tiles)
    return EdgeMatte(nearness, tuple(tile for tile in done if tile is not None))


def _marked_tiles(band: np.ndarray, step: int) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of the ``step``-sized tiles of ``band`` that hold a
    non-zero pixel, row by row.

    Examples
    --------
    >>> band = np.zeros((5, 7), np.float32)
    >>> band[4, 6] = 1.0
    >>> _marked_tiles(band, 4)
    [(4, 4)]
    """
    height, width = band.shape
    rows, columns = -(-height // step), -(-width // step)
    # (Padded to whole tiles, so one reduction over a 4-D view finds them all.)
    padded = np.zeros((rows * step, columns * step), bool)
    padded[:height, :width] = band != 0
    marked = padded.reshape(rows, step, columns, step).any(axis=(1, 3))
    return [(int(ty) * step, int(tx) * step) for ty, tx in np.argwhere(marked)]


def _matte_tile(
    colour: np.ndarray,
    own: np.ndarray,
    up: Callable[[np.ndarray], np.ndarray],
    stats: _BandStatistics,
    box: tuple[int, int, int, int],
    ramp_unseen: bool,
) -> MatteTile | None:
    in_band = up(stats.band) > 0.0
    if not in_band.any():
        return None
    near_colour, far_colour = up(stats.near_colour), up(stats.far_colour)
    axis = near_colour - far_colour
    length2 = _channel_dot(axis, axis)
    offset = colour - far_colour
    position = _channel_dot(offset, axis) / (length2 + np.float32(_EPS))
    # Each side's texture spreads its colours around the mean: colours within that spread of
    # a side's mean belong wholly to it.
    near_spread, far_spread = up(stats.near_spread), up(stats.far_spread)
    low = far_spread * np.float32(_SPREAD_TRIM)
    high = 1.0 - near_spread * np.float32(_SPREAD_TRIM)
    width_between = np.maximum(high - low, np.float32(0.05))
    by_colour = np.clip((position - low) / width_between, 0.0, 1.0)
    near_side, far_side = up(stats.near), up(stats.far)
    step = near_side - far_side
    # Where the photo cannot tell the sides apart, the depth map decides; with
    # ``ramp_unseen``, smoothly where both sides were modelled: a step in the depth that the
    # photo does not show (a filled hole, a coarse map's outline) becomes a ramp across the
    # band instead of an edge that fog would draw. (Where a side has no model, the depth
    # map is all there is.)
    known = up(stats.colour_known)
    contrast = length2 / (length2 + np.float32(_COLOUR_CONTRAST))
    if ramp_unseen:
        depth_here = own + up(stats.alike) * (up(stats.smooth) - own)
        # (Where the two sides' depths hardly differ, the pixel is wholly on its own side.)
        by_depth = np.clip(
            np.divide(
                depth_here - far_side, step, out=np.ones_like(own), where=step > stats.threshold / 2
            ),
            0.0,
            1.0,
        )
    else:
        by_depth = (own >= 0.5 * (near_side + far_side)).astype(np.float32)
    # The colours decide in proportion to how well they separate the sides: textures
    # whose spreads overlap (the same noise on both sides) cannot tell them apart.
    overlap = near_spread + far_spread
    separable = np.clip((1.0 - overlap) / np.float32(_SEPARABLE), 0.0, 1.0)
    trust = known * contrast * separable
    alpha = by_depth + trust * (by_colour - by_depth)
    return MatteTile(
        box=box,
        near=np.where(in_band, near_side, own).astype(np.float32, copy=False),
        far=np.where(in_band, far_side, own).astype(np.float32, copy=False),
        near_share=np.where(in_band, alpha, 1.0).astype(np.float32, copy=False),
    )


def matted_nearness(
    image: np.ndarray, nearness: np.ndarray, *, max_side: int | None = None
) -> np.ndarray | None:
    """Nearness with each split pixel at its shares' mix of the near and far side.

    For effects whose result varies smoothly with depth (fog), so steps the photo does not
    show are ramped (see :func:`edge_matte`'s ``ramp_unseen``). With ``max_side``, larger
    photos are matted on a reduced copy and the correction is enlarged back
    (:func:`nearness_correction`; the depth map's own steps stay as sharp as they were).
    Returns None when the depth map has no step to matte.
    """
    nearness = np.asarray(nearness, dtype=np.float32)
    height, width = nearness.shape
    if max_side is None or max(height, width) <= max_side:
        matte = edge_matte(image, nearness, ramp_unseen=True)
        return None if matte.is_trivial else matte.matted_nearness()
    step = correction_step(nearness.shape, max_side)
    correction = nearness_correction(image, nearness, step=step)
    if correction is None:
        return None
    size = (correction.shape[1] * step, correction.shape[0] * step)
    enlarged = cv2.resize(correction, size, interpolation=cv2.INTER_LINEAR)
    return nearness + enlarged[:height, :width]


def correction_step(shape: tuple[int, int], max_side: int) -> int:
    """Whole reduction factor that brings the longer side of ``shape`` to ``max_side`` or less."""
    return max(1, -(-max(shape) // max_side))


def nearness_correction(image: np.ndarray, nearness: np.ndarray, *, step: int) -> np.ndarray | None:
    """What matting adds to the nearness, on a copy reduced ``step`` times.

    The grid is ``ceil(H / step) x ceil(W / step)``: enlarged exactly ``step`` times
    (bilinear, pixel centres aligned) and cropped, it is added to the full-size nearness.
    None when the depth map has no step to matte.
    """
    nearness = np.asarray(nearness, dtype=np.float32)
    height, width = nearness.shape
    small = (-(-width // step), -(-height // step))
    # Sampled, not averaged (a fraction of the time; see _band_statistics): the matte of the
    # reduced copy only steers the depth, which the effect refines at full size. Alpha is
    # reduced along and dropped after: OpenCV reduces every channel on its own (same
    # colour), and would first copy the colour out of an RGBA array.
    small_image = cv2.resize(np.asarray(image, np.float32), small, interpolation=cv2.INTER_LINEAR)
    small_rgb = np.ascontiguousarray(small_image[:, :, :3])
    small_nearness = cv2.resize(nearness, small, interpolation=cv2.INTER_LINEAR)
    radius = max(_MIN_RADIUS, _RADIUS_SHARE * max(height, width)) / step
    matte = edge_matte(small_rgb, small_nearness, radius=max(1.0, radius), ramp_unseen=True)
    if matte.is_trivial:
        return None
    return matte.matted_nearness() - small_nearness


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
    # (Moments of each reduced pixel's area and its neighbours: the texture at full size.)
    local = (3, 3)
    mean = cv2.blur(cv2.resize(grey, small, interpolation=cv2.INTER_AREA), local)
    square = cv2.blur(cv2.resize(grey * grey, small, interpolation=cv2.INTER_AREA), local)
    spread = np.sqrt(np.maximum(square - mean * mean, 0.0))
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
