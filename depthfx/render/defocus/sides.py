"""What the renderer keeps at level 1 (half resolution): the fine layers and the coarse
layers of each side of the focal plane, and what is derived from a side: its pyramid of
reductions, per-tile position ranges and each layer's bounding box."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ..._parallel import row_bands, run_all
from .resample import half_size, reflect_into_padding

# Tile size (level-1 pixels) of the per-tile position ranges; level-1 arrays are padded to
# a multiple of it.
TILE = 16


@dataclass(frozen=True)
class Side:
    """Level-1 (half resolution) data of the coarse layers on one side of the focal plane.

    Frozen, but the arrays are filled and reused in place.
    """

    coverage: np.ndarray  # (h, w) share of each pixel in this side's layers, times alpha
    premultiplied: np.ndarray  # (h, w, 3)
    position: np.ndarray  # (h, w) coverage-weighted mean |layer position|, clamped >= 2
    top_index: int
    # Per-tile (TILE px) min and max position over covered pixels.
    tile_ranges: tuple[np.ndarray, np.ndarray] | None = None


class FineColour:
    """The fine layers' premultiplied colour at level 1, kept per tile until it is needed
    (after the coarse layers are blurred): most tiles of a photo have no fine pixel, and
    the whole array would be three more level-1 planes alive while the layers blur."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self._blocks: dict[tuple[int, int], np.ndarray] = {}

    def put(self, region: tuple[slice, slice], block: np.ndarray) -> None:
        """The colour of a region (a tile's) that has fine pixels."""
        self._blocks[(region[0].start or 0, region[1].start or 0)] = block

    def assemble(self, height: int, width: int) -> np.ndarray:
        """The whole (h, w, 3) array, zero where no tile was put and mirrored beyond
        ``height`` x ``width`` into the padding; the tiles are let go."""
        colour = np.zeros((*self.shape, 3), np.float32)
        while self._blocks:
            (y, x), block = self._blocks.popitem()
            colour[y : y + block.shape[0], x : x + block.shape[1]] = block
        reflect_into_padding(colour, height, width)
        return colour


@dataclass(frozen=True)
class LevelOne:
    """The photo split at level 1 (padded to a multiple of every deeper level)."""

    fine: np.ndarray  # (h, w) share of each pixel in the fine layers (|CoC| < 2 px), times alpha
    fine_pre: FineColour  # their premultiplied colour
    back: Side | None  # the coarse layers behind the focal plane, if any
    front: Side | None  # and in front of it

    @property
    def coarse_sides(self) -> list[Side]:
        """The sides present, behind the focal plane first."""
        return [side for side in (self.back, self.front) if side is not None]


def side_pyramid(
    side: Side, nearer_fixed: np.ndarray | None, levels: int
) -> list[tuple[Side, np.ndarray | None]]:
    """The side's level-1 data and ``levels - 1`` successive 2x reductions of it.

    Positions are averaged weighted by coverage, so a reduced pixel keeps the layer
    position of what it covers. Each reduction is made in bands of rows on the workers
    (a reduced row reads two rows of the level above: the same values as whole).
    """
    pyramid = [(side, nearer_fixed)]
    for _ in range(max(0, levels - 1)):
        pyramid.append(_reduced(*pyramid[-1]))
    return pyramid


def _reduced(side: Side, nearer: np.ndarray | None) -> tuple[Side, np.ndarray | None]:
    """One 2x reduction of a side (and of the occupancy nearer than it)."""
    height, width = side.coverage.shape
    shape = (height // 2, width // 2)
    reduced = Side(
        coverage=np.empty(shape, np.float32),
        premultiplied=np.empty((*shape, 3), np.float32),
        position=np.empty(shape, np.float32),
        top_index=side.top_index,
    )
    reduced_nearer = None if nearer is None else np.empty(shape, np.float32)

    def band(rows: tuple[int, int]) -> None:
        above, here = slice(2 * rows[0], 2 * rows[1]), slice(*rows)
        coverage = half_size(side.coverage[above], out=reduced.coverage[here])
        weighted = half_size(side.position[above] * side.coverage[above])
        position = reduced.position[here]
        position.fill(2.0)
        np.divide(weighted, coverage, out=position, where=coverage > 1e-6)
        np.clip(position, 2.0, side.top_index, out=position)
        half_size(side.premultiplied[above], out=reduced.premultiplied[here])
        if nearer is not None and reduced_nearer is not None:
            half_size(nearer[above], out=reduced_nearer[here])

    run_all(band, row_bands(shape[0], _REDUCE_BAND_ROWS))
    return reduced, reduced_nearer


# Rows (of the reduced level) per band of :func:`side_pyramid`'s reductions.
_REDUCE_BAND_ROWS = 64


def tile_position_ranges(
    position: np.ndarray, coverage: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile min and max layer position over covered pixels (+inf/-inf when empty)."""
    height, width = position.shape
    tiles = (height // TILE, width // TILE)
    low = np.empty(tiles, np.float32)
    high = np.empty(tiles, np.float32)
    # A few rows of tiles at a time: the temporaries stay small (whole-plane ones would be
    # three more level-1 planes), and min and max are exact in any grouping.
    step = _RANGE_BAND_TILES * TILE
    for y0 in range(0, height, step):
        band = slice(y0, min(y0 + step, height))
        rows = slice(y0 // TILE, band.stop // TILE)
        low[rows], high[rows] = _band_ranges(position[band], coverage[band])
    return low, high


# Rows of tiles per band of :func:`tile_position_ranges`.
_RANGE_BAND_TILES = 4


def _band_ranges(position: np.ndarray, coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = position.shape
    # +inf where nothing is covered, else 0 (OpenCV's SIMD threshold and sums: several times
    # NumPy's where() with a scalar, and the same values, as x + 0 = x).
    _, absent = cv2.threshold(coverage, 1e-6, math.inf, cv2.THRESH_BINARY_INV)
    # Rows of tiles first (long contiguous passes), then the short runs within a row:
    # the same values as one reduction over both axes, in less time.
    low = cv2.add(position, absent).reshape(height // TILE, TILE, width).min(axis=1)
    high = cv2.subtract(position, absent).reshape(height // TILE, TILE, width).max(axis=1)
    tiles = (height // TILE, width // TILE, TILE)
    return low.reshape(tiles).min(axis=2), high.reshape(tiles).max(axis=2)


def layer_box(
    tile_min: np.ndarray,
    tile_max: np.ndarray,
    index: int,
    radius: float,
    level: int,
    shape: tuple[int, ...],
) -> tuple[int, int, int, int] | None:
    """Level-1 box holding a layer's pixels plus its blur reach, aligned to its level."""
    touched = (tile_min < index + 1) & (tile_max > index - 1)
    if not touched.any():
        return None
    rows = np.flatnonzero(touched.any(axis=1))
    cols = np.flatnonzero(touched.any(axis=0))
    # Reach: the blur radius at level 1, plus kernel rounding and the downsampling footprint.
    factor = 2 ** (level - 1)
    margin = math.ceil(radius / 2.0) + 2 * factor + 2
    align = factor
    y0 = max(0, (rows[0] * TILE - margin) // align * align)
    x0 = max(0, (cols[0] * TILE - margin) // align * align)
    y1 = min(shape[0], -(-((rows[-1] + 1) * TILE + margin) // align) * align)
    x1 = min(shape[1], -(-((cols[-1] + 1) * TILE + margin) // align) * align)
    return int(y0), int(y1), int(x0), int(x1)
