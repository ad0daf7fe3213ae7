"""Per-pixel products of colour and planes (the renderer's most frequent arithmetic)."""

from __future__ import annotations

import cv2
import numpy as np


def scaled(colour: np.ndarray, plane: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``colour * plane[:, :, None]``, one channel at a time (``out`` may be ``colour``).

    NumPy broadcasts over a trailing axis of 3 with a tiny inner loop; per-channel passes
    over tiles are several times faster, with the same result.
    """
    if out is None:
        out = np.empty(colour.shape, np.float32)
    if (
        colour.shape[2] == 3
        and plane.dtype == np.float32
        and packed_pixels(colour)
        and packed_pixels(out)
    ):
        # OpenCV's SIMD per-pixel product with a 3-channel copy of the plane: faster still
        # on tiles whose pixels are packed (any row stride), and the same IEEE products.
        cv2.multiply(colour, cv2.merge([plane, plane, plane]), dst=out)
        return out
    for channel in range(colour.shape[2]):
        np.multiply(colour[:, :, channel], plane, out=out[:, :, channel])
    return out


def packed_pixels(array: np.ndarray) -> bool:
    """Float32 pixels and channels packed within each row (what ``cv::Mat`` can view)."""
    return (
        array.dtype == np.float32
        and array.strides[2] == array.itemsize
        and array.strides[1] == array.itemsize * array.shape[2]
    )
