"""The depth-dependent blur renderer used by every blur in depthfx (first version).

``render_defocus`` blurs an image by a per-pixel signed circle of confusion, layer by layer,
with premultiplied alpha and near-over-far compositing.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..errors import ParameterError
from ..image import as_float_image, join_alpha, split_alpha
from .kernels import Aperture, aperture_kernel

ProgressCallback = Callable[[str, float], None]


def render_defocus(
    image: np.ndarray,
    coc_radius: np.ndarray,
    *,
    aperture: Aperture | None = None,
    highlight_threshold: float | None = None,
    highlight_gain: float = 0.0,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Blur ``image`` by a per-pixel signed circle of confusion (see module docstring).

    Examples
    --------
    >>> image = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    >>> out = render_defocus(image, np.zeros((16, 16), np.float32))
    >>> bool(np.array_equal(out, image))
    True
    """
    image = as_float_image(image)
    coc = np.asarray(coc_radius, dtype=np.float32)
    if coc.shape != image.shape[:2]:
        raise ParameterError(
            f"coc_radius shape {coc.shape} differs from image size {image.shape[:2]}"
        )
    if not np.all(np.abs(coc) < 0.5):
        rgb, alpha = split_alpha(image)
        a = np.ones(coc.shape, np.float32) if alpha is None else alpha
        radii = np.unique(np.round(coc * 2) / 2)
        acc = np.zeros_like(rgb)
        acc_a = np.zeros_like(a)
        for radius in sorted(radii, key=lambda r: (r < 0, -abs(r) if r >= 0 else abs(r))):
            mask = (np.round(coc * 2) / 2 == radius).astype(np.float32) * a
            kernel = aperture_kernel(abs(float(radius)), aperture)
            p = cv2.filter2D(rgb * mask[:, :, None], -1, kernel, borderType=cv2.BORDER_REFLECT)
            w = cv2.filter2D(mask, -1, kernel, borderType=cv2.BORDER_REFLECT)
            acc = p + (1 - w[:, :, None]) * acc
            acc_a = w + (1 - w) * acc_a
        out_a = np.clip(acc_a, 0, 1)
        rgb_out = acc / np.maximum(acc_a, 1e-6)[:, :, None]
        return join_alpha(rgb_out.astype(np.float32), None if alpha is None else out_a)
    return image.copy()


__all__ = ["render_defocus"]
