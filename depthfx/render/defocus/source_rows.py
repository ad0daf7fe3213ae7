"""The photo's pixels as the full-resolution compositing reads them, intact even when the
result is written over the photo itself.

Compositing goes row of tiles by row of tiles, on several workers, and a tile reads its own
pixels plus a one-pixel margin (the 1-pixel blur of the fine layers). Written in place, a
row of tiles would overwrite what it still reads (the coarse composite is upsampled into
it first), and its neighbours' rows as they are written. So, in place, each row of tiles
works from a copy of its own rows taken before it writes any, and of the two margin rows
kept from before compositing started: a few rows of copies instead of a second image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Rows:
    """Source pixels of a run of rows, addressed in image coordinates."""

    rgb: np.ndarray
    alpha: np.ndarray | None
    first: int  # image row of the arrays' row 0

    def region(self, y0: int, y1: int, x0: int, x1: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Colour and alpha (None when opaque) of rows y0..y1, columns x0..x1."""
        rows = slice(y0 - self.first, y1 - self.first)
        alpha = None if self.alpha is None else self.alpha[rows, x0:x1]
        return self.rgb[rows, x0:x1], alpha


class SourceRows:
    """What each row of tiles reads, for rows of tiles starting at ``starts``.

    Parameters
    ----------
    rgb, alpha : ndarray
        The photo's colour (H, W, 3) and alpha (H, W) or None.
    starts : list of int
        First row of each row of tiles, ascending, starting at 0.
    in_place : bool
        The output is written over ``rgb`` and ``alpha``: keep the rows at the borders
        between rows of tiles now, before any is written.
    """

    def __init__(
        self, rgb: np.ndarray, alpha: np.ndarray | None, starts: list[int], *, in_place: bool
    ) -> None:
        self._whole = Rows(rgb, alpha, 0)
        self._in_place = in_place
        # Row start -> copies of the row above it and of itself.
        self._margins: dict[int, Rows] = {}
        if in_place:
            for start in starts[1:]:
                self._margins[start] = _copy(self._whole, start - 1, start + 1)

    def rows(self, y0: int, y1: int, *, read: bool = True) -> Rows:
        """Source of the row of tiles y0..y1 and its margin (call before writing it).

        ``read=False`` says the row of tiles reads no source pixel (it is wholly blurred):
        then no copy is made, and what is returned must not be read.
        """
        if not (self._in_place and read):
            return self._whole
        height = self._whole.rgb.shape[0]
        first, last = max(0, y0 - 1), min(height, y1 + 1)
        copy = _copy(self._whole, first, last)
        if y0 > 0:
            _put_row(copy, self._margins[y0], y0 - 1)
        if y1 < height:
            _put_row(copy, self._margins[y1], y1)
        return copy


def _copy(source: Rows, y0: int, y1: int) -> Rows:
    alpha = None if source.alpha is None else source.alpha[y0:y1].copy()
    return Rows(source.rgb[y0:y1].copy(), alpha, y0)


def _put_row(target: Rows, margin: Rows, row: int) -> None:
    """Row ``row`` of ``margin`` into ``target``."""
    rgb, alpha = margin.region(row, row + 1, 0, margin.rgb.shape[1])
    target.rgb[row - target.first] = rgb[0]
    if target.alpha is not None and alpha is not None:
        target.alpha[row - target.first] = alpha[0]
