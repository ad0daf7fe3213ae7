"""A side's composite made opaque where the side covers everything within blur reach.

A pixel whose depth lies between two layers is shared by both, and each share is blurred
as a semi-transparent layer. The nearer layer's blur is wider, so it spreads the
see-through part of the shared pixels further than the farther layer's extension can
fill: a few per cent of alpha go missing along every depth step. In front of the focal
plane that hole shows whatever is composited under the foreground (the fill behind it) as
thin light or dark contour lines. But an opaque side that covers every pixel within the
largest blur radius cannot be seen through there, so its composite is scaled up to alpha
1, ramping off toward the side's own edges (whose soft profile stays as blurred).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..._parallel import row_bands, run_all
from .pixels import scaled

# Share of the reach that may be uncovered before the correction starts to fade out.
_FADE = 0.02
# Rows per band of the per-pixel correction.
_BAND_ROWS = 64


def fill_solid_interior(
    premultiplied: np.ndarray, alpha: np.ndarray, coverage: np.ndarray, *, reach: float
) -> None:
    """In place: raise ``alpha`` toward 1 (and ``premultiplied`` with it, keeping the colour)
    where ``coverage`` is full within ``reach`` pixels.

    Parameters
    ----------
    premultiplied : ndarray float32 (H, W, 3)
        The side's composite colour, premultiplied by ``alpha``.
    alpha : ndarray float32 (H, W)
        Its alpha.
    coverage : ndarray float32 (H, W)
        The side's unblurred coverage (share of each pixel in the side's layers).
    reach : float
        The side's largest blur radius, in pixels of these arrays.
    """
    size = 2 * math.ceil(reach) + 1
    interior = cv2.boxFilter(coverage, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)

    def correct(rows: tuple[int, int]) -> None:
        # Per pixel from here on, so band by band: a few rows of temporaries instead of
        # several image-sized ones (the same operations, in place where they can be).
        band = slice(*rows)
        # 0 where more than _FADE of the reach is uncovered, 1 where all of it is covered.
        share = np.subtract(interior[band], 1.0 - _FADE, out=interior[band])
        np.divide(share, _FADE, out=share)
        np.clip(share, 0.0, 1.0, out=share)
        opacity = alpha[band]
        target = 1.0 - opacity
        target *= share
        target += opacity
        seen = opacity > 1e-6
        gain = np.divide(target, opacity, out=np.ones_like(opacity), where=seen)
        # Per channel (the same products as broadcasting, several times faster).
        scaled(premultiplied[band], gain, out=premultiplied[band])
        np.copyto(opacity, target, where=seen)

    run_all(correct, row_bands(alpha.shape[0], _BAND_ROWS))
