"""Highlights: bright linear values boosted before blurring and compressed back after.

Boosting above a threshold (in linear light) makes small bright lights bloom into bright
aperture shapes; the inverse, applied to the blurred composite, keeps the rest unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..._parallel import row_bands, run_all
from .pixels import packed_pixels

# Rows per band of the compressing passes.
_BAND_ROWS = 64


@dataclass(frozen=True)
class Highlights:
    """Boost of bright linear values before blurring and its inverse after."""

    threshold: float
    gain: float

    def factor(self, luma: np.ndarray) -> np.ndarray:
        # In place after the first step; same operations as 1 + gain * ramp^2.
        ramp = np.subtract(luma, self.threshold, dtype=np.float32)
        ramp /= np.float32(1.0 - self.threshold)
        np.clip(ramp, 0.0, 1.0, out=ramp)
        factor = ramp * np.float32(self.gain)
        factor *= ramp
        factor += np.float32(1.0)
        return factor

    def boost(self, rgb: np.ndarray) -> np.ndarray:
        luma = _luma(rgb)
        if not float(luma.max(initial=0.0)) > self.threshold:
            return rgb
        # Dense over the tile: the factor is exactly 1 at or below the threshold, and a
        # few passes over a small tile beat boolean gathers and scatters.
        factor = self.factor(luma)
        spread = cv2.merge([factor, factor, factor])
        # OpenCV reads a tile of a photo in place when each row's pixels are packed.
        return cv2.multiply(
            rgb if packed_pixels(rgb) else np.ascontiguousarray(rgb), spread, dst=spread
        )

    def compress(self, premultiplied: np.ndarray, alpha: np.ndarray) -> None:
        """Undo :meth:`boost` on the colour of premultiplied data, in place (in row bands,
        on the shared workers)."""
        bands = [slice(*rows) for rows in row_bands(alpha.shape[0], _BAND_ROWS)]
        boosted_luma = np.empty(alpha.shape, np.float32)
        band_max = np.zeros(len(bands), np.float32)

        def measure(band: slice) -> None:
            luma = _luma(premultiplied[band])
            np.divide(luma, np.maximum(alpha[band], 1e-6), out=boosted_luma[band])
            band_max[band.start // _BAND_ROWS] = boosted_luma[band].max(initial=0.0)

        run_all(measure, bands)
        largest = float(band_max.max(initial=0.0))
        if not largest > self.threshold:
            return
        top = max(1.0, largest)
        plain = np.linspace(0.0, top, 2048, dtype=np.float32)
        boosted = plain * self.factor(plain)

        def restore(band: slice) -> None:
            values_band = boosted_luma[band]
            bright = values_band > self.threshold
            if not bright.any():
                return
            values = values_band[bright]
            original = np.interp(values, boosted, plain).astype(np.float32)
            premultiplied[band][bright] *= (original / values)[:, None]

        run_all(restore, bands)


_LUMA_WEIGHTS = np.array([[0.2126, 0.7152, 0.0722]], np.float32)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB (OpenCV's SIMD transform)."""
    return cv2.transform(rgb if packed_pixels(rgb) else np.ascontiguousarray(rgb), _LUMA_WEIGHTS)
