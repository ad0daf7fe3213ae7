"""One depth layer blurred on its own: its membership, the aperture blur of its colour and
coverage (with cat's-eye vignetting where asked), and normalized convolution that extends
it under nearer occluders with its own colour only."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ..._parallel import ThreadScratch
from ..kernels import Aperture, aperture_kernel
from .convolve import cached_bands, convolve
from .layers import blur_kernel_radius, ramp_down, ramp_from
from .sides import Side

# A layer is extended under nearer occluders where its blurred coverage exceeds this share
# (normalized-convolution confidence).
_EXTEND_CONFIDENCE = 0.1
# OpenCV's SIMD loops leave the last few pixels of a row (under 8 floats here) to scalar
# code whose rounding differs, and a window's pixels keep their values only at the same
# SIMD phase: a layer's window starts a multiple of this many columns into its box and
# ends at the box's right edge or this far beyond what it must hold exactly.
_COLUMN_STEP = 32


@dataclass(frozen=True)
class BlurredLayer:
    """A layer blurred at its level inside a window of its box; zero outside the window.

    ``pre`` (three premultiplied colour planes) and ``alpha`` cover the window, whose first
    row and column lie ``top`` and ``left`` pixels (at the layer's level) into the box.
    """

    pre: list[np.ndarray]
    alpha: np.ndarray
    top: int
    left: int


@dataclass(frozen=True)
class LayerBlur:
    """Blurs the layers of a photo of ``image_shape`` (full resolution) with ``aperture``,
    in the calling thread's ``scratch`` buffers."""

    aperture: Aperture
    image_shape: tuple[int, int]
    scratch: ThreadScratch

    def blur(
        self,
        side: Side,
        index: int,
        radius: float,
        level: int,
        work_level: int,
        box: tuple[int, int, int, int],
        nearer_fixed: np.ndarray | None,
        *,
        back: bool,
        crop: bool = True,
    ) -> BlurredLayer | None:
        """One layer blurred at ``level`` inside ``box`` (level-1 coords), or None where it
        has no pixel.

        ``side`` and ``nearer_fixed`` are given at ``work_level``. With ``crop`` only the
        window around the layer's pixels is blurred (outside it the blur is zero): the
        values are those of blurring the whole box, bit for bit.
        """
        scale = 2 ** (work_level - 1)
        y0, y1, x0, x1 = (value // scale for value in box)
        position = side.position[y0:y1, x0:x1]
        membership = self.scratch.get("membership", position.shape)
        if index == 2 or index == side.top_index:
            np.subtract(position, np.float32(index), out=membership)
            if index == 2:
                np.maximum(membership, 0.0, out=membership)  # all below layer 2 is in it
            if index == side.top_index:
                np.minimum(membership, 0.0, out=membership)  # all above the top too
            np.abs(membership, out=membership)
        else:
            cv2.absdiff(position, float(index), dst=membership)  # type: ignore[call-overload]
        ramp_down(membership)
        # The layer's own coverage, whose extent says which window needs blurring (its
        # buffer then takes the nearer occupancy).
        present = self.scratch.get("plane", membership.shape)
        np.multiply(side.coverage[y0:y1, x0:x1], membership, out=present)
        factor = 2 ** (level - work_level)
        if crop:
            window = _active_window(present, factor, self.reach(radius, level))
            if window is None:
                return None
        else:
            window = (0, position.shape[0] // factor, 0, position.shape[1] // factor)
        top, bottom, left, right = window
        rows, cols = slice(top * factor, bottom * factor), slice(left * factor, right * factor)
        step = 2 ** (level - 1)
        window_box = (
            box[0] + top * step,
            box[0] + bottom * step,
            box[2] + left * step,
            box[2] + right * step,
        )
        # One plane at a time, each blurred before the next is made (planes, not
        # interleaved channels: OpenCV filters one float plane in a third less time per
        # channel than a 5-channel image, and every product below is contiguous); a
        # layer's five planes at once would be five more layer-sized buffers per worker.
        # Coverage and occupancy first: the colour planes are scaled as they come.
        blur_plane = self._plane_blur(radius, level, work_level, window_box)
        own = blur_plane(present[rows, cols])
        membership = membership[rows, cols]
        position = position[rows, cols]
        # Occupancy nearer than this layer: nearer layers of the same side, plus (behind
        # the focal plane) the fine layers and the whole foreground.
        plane = self.scratch.get("plane", membership.shape)
        nearer = ramp_from(position, float(index), rising=not back, out=plane)
        nearer *= side.coverage[y0:y1, x0:x1][rows, cols]
        if back and nearer_fixed is not None:
            nearer += nearer_fixed[y0:y1, x0:x1][rows, cols]
        nearer_blurred = blur_plane(np.minimum(nearer, 1.0, out=nearer))
        # Both planes hold sums of non-negative values weighted by a non-negative kernel,
        # so they are >= 0 as they are.
        # Normalized convolution: extend the layer under nearer occluders (where it is
        # confidently present) with its own colour only. The alpha is made in the nearer
        # plane's buffer (the same products: multiplication commutes exactly).
        gain = self.scratch.get("gain", own.shape)
        confident = np.multiply(own, np.float32(1.0 / _EXTEND_CONFIDENCE), out=gain)
        np.minimum(confident, 1.0, out=confident)
        alpha = np.multiply(nearer_blurred, confident, out=nearer_blurred)
        alpha += own
        np.minimum(alpha, 1.0, out=alpha)
        gain.fill(0.0)
        np.divide(alpha, own, out=gain, where=own > 1e-6)
        del own
        premultiplied = side.premultiplied[y0:y1, x0:x1][rows, cols]
        blurred_pre = []
        for channel in range(3):
            colour = blur_plane(np.multiply(premultiplied[:, :, channel], membership, out=plane))
            colour *= gain
            blurred_pre.append(colour)
        return BlurredLayer(blurred_pre, alpha, top, left)

    def reach(self, radius: float, level: int) -> int:
        """Rows (at ``level``) a layer's blur reads beyond each pixel: a layer blurred over
        a band of rows widened by this much has the values of blurring it whole there."""
        return aperture_kernel(blur_kernel_radius(radius, level), self.aperture).shape[0] // 2

    def _plane_blur(
        self, radius: float, level: int, work_level: int, box: tuple[int, int, int, int]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """Blur of one plane at ``work_level`` into a fresh plane at ``level``."""
        factor = 2 ** (level - work_level)
        kernel_radius = blur_kernel_radius(radius, level)
        cats_eye = self.aperture.cats_eye > 0
        kernel = None if cats_eye else aperture_kernel(kernel_radius, self.aperture)
        bands = None if kernel is None else cached_bands(kernel)

        def blur(plane: np.ndarray) -> np.ndarray:
            if factor > 1:
                size = (plane.shape[1] // factor, plane.shape[0] // factor)
                plane = cv2.resize(plane, size, interpolation=cv2.INTER_AREA)
            if kernel is None:
                return self._cats_eye_blur([plane], kernel_radius, box, level)[0]
            return convolve(plane, kernel, bands)

        return blur

    def _cats_eye_blur(
        self, planes: list[np.ndarray], radius: float, box: tuple[int, int, int, int], level: int
    ) -> list[np.ndarray]:
        """Blur with kernels clipped toward the corners, blended bilinearly by position."""
        factor = 2 ** (level - 1)
        y0, _, x0, _ = box
        height, width = planes[0].shape
        rows = (np.arange(height) + 0.5) * factor * 2 + y0 * 2
        cols = (np.arange(width) + 0.5) * factor * 2 + x0 * 2
        v = np.clip((rows / self.image_shape[0]) * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
        u = np.clip((cols / self.image_shape[1]) * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
        strength = self.aperture.cats_eye / math.sqrt(2.0)
        result = [np.zeros((height, width), np.float32) for _ in planes]
        for gy in (-1, 0, 1):
            wy = np.maximum(1.0 - np.abs(v - gy), 0.0)
            if not wy.any():
                continue
            for gx in (-1, 0, 1):
                wx = np.maximum(1.0 - np.abs(u - gx), 0.0)
                if not wx.any():
                    continue
                kernel = aperture_kernel(
                    radius, self.aperture, offset=(gx * strength, gy * strength)
                )
                weight = (wy[:, None] * wx[None, :]).astype(np.float32)
                bands = cached_bands(kernel)
                for total, plane in zip(result, planes, strict=True):
                    total += convolve(plane, kernel, bands) * weight
        return result


def _active_window(
    present: np.ndarray, factor: int, reach: int
) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) at the blur level, ``factor`` times coarser than
    ``present`` (a layer's own coverage), outside which its blur is zero; None when it has
    no pixel.

    The blurred coverage is zero beyond ``reach`` of the layer's pixels, and with it the
    layer's alpha and colour; inside that, the blur of the nearer occupancy reads one reach
    further. So the window is the pixels' extent widened by twice the reach: what it holds
    within one reach has the values of blurring the whole box, and the rest is zero as it
    should be (see ``_COLUMN_STEP`` for the columns).
    """
    # Row and column maxima (coverage is >= 0, so a positive maximum marks a pixel).
    row_max = cv2.reduce(present, 1, cv2.REDUCE_MAX)[:, 0]
    rows = np.flatnonzero(row_max > 0.0)
    if rows.size == 0:
        return None
    col_max = cv2.reduce(present[rows[0] : rows[-1] + 1], 0, cv2.REDUCE_MAX)[0]
    cols = np.flatnonzero(col_max > 0.0)
    height, width = present.shape[0] // factor, present.shape[1] // factor
    first_row, last_row = int(rows[0]) // factor, int(rows[-1]) // factor + 1
    first_col, last_col = int(cols[0]) // factor, int(cols[-1]) // factor + 1
    top, bottom = max(0, first_row - 2 * reach), min(height, last_row + 2 * reach)
    left = max(0, first_col - 2 * reach) // _COLUMN_STEP * _COLUMN_STEP
    right = last_col + 2 * reach + _COLUMN_STEP
    return top, bottom, left, width if right >= width else right
