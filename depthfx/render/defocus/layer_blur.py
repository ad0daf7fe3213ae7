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
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """One layer blurred at ``level`` inside ``box`` (level-1 coords): (pre planes, alpha).

        ``side`` and ``nearer_fixed`` are given at ``work_level``.
        """
        scale = 2 ** (work_level - 1)
        y0, y1, x0, x1 = (value // scale for value in box)
        position = side.position[y0:y1, x0:x1]
        coverage = side.coverage[y0:y1, x0:x1]
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
        # One plane at a time, each blurred before the next is made (planes, not
        # interleaved channels: OpenCV filters one float plane in a third less time per
        # channel than a 5-channel image, and every product below is contiguous); a
        # layer's five planes at once would be five more layer-sized buffers per worker.
        # Coverage and occupancy first: the colour planes are scaled as they come.
        plane = self.scratch.get("plane", membership.shape)
        blur_plane = self._plane_blur(radius, level, work_level, box)
        own = blur_plane(np.multiply(coverage, membership, out=plane))
        # Occupancy nearer than this layer: nearer layers of the same side, plus (behind
        # the focal plane) the fine layers and the whole foreground.
        nearer = ramp_from(position, float(index), rising=not back, out=plane)
        nearer *= coverage
        if back and nearer_fixed is not None:
            nearer += nearer_fixed[y0:y1, x0:x1]
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
        premultiplied = side.premultiplied[y0:y1, x0:x1]
        blurred_pre = []
        for channel in range(3):
            colour = blur_plane(np.multiply(premultiplied[:, :, channel], membership, out=plane))
            colour *= gain
            blurred_pre.append(colour)
        return blurred_pre, alpha

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
