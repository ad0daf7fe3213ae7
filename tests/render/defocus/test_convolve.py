"""Aperture kernels applied in row bands, on OpenCV's direct path."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depthfx.render.defocus.convolve import convolve, kernel_bands
from depthfx.render.kernels import Aperture, aperture_kernel


@pytest.mark.parametrize("radius", [4.9, 6.3, 7.9, 12.0])
@pytest.mark.parametrize("aperture", [Aperture(), Aperture("polygon", blades=5, rotation_deg=13.0)])
def test_banded_direct_filter_equals_opencv_filter2d(radius: float, aperture: Aperture) -> None:
    # Large aperture kernels are applied in row bands (to stay on OpenCV's direct path);
    # the bands must hold every kernel cell once and sum to the plain filter2D result.
    kernel = aperture_kernel(radius, aperture, offset=(0.4, -0.3))
    assembled = np.zeros_like(kernel)
    for row, col, band in kernel_bands(kernel):
        assembled[row : row + band.shape[0], col : col + band.shape[1]] += band
    assert np.array_equal(assembled, kernel)
    stack = np.random.default_rng(3).random((37, 53, 5), dtype=np.float32)
    expected = cv2.filter2D(stack, -1, kernel, borderType=cv2.BORDER_REFLECT)
    result = convolve(stack, kernel)
    assert result.shape == expected.shape
    assert float(np.abs(result - expected).max()) < 2e-6
