"""Continuous 0..1 confidence of a stereo disparity map.

The matcher's checks (left-right consistency, uniqueness, range ends, speckles) say
*whether* a pixel was measured; how far to trust a measurement also depends on how much
texture the window had and on whether the neighbouring measurements agree with it.
Measured pixels get 0.5..1, filled pixels 0, so ``confidence > 0.5`` still means
"measured" for the code that only needs that.
"""

from __future__ import annotations

import cv2
import numpy as np

from .texture import mean_grey

# Local contrast (std of the grey guide, 0..1 scale) at which texture is fully trusted.
_TEXTURE_FULL = 0.03
# Local disparity spread (px) at which agreement with the neighbours falls to exp(-1/2).
_AGREEMENT_SIGMA = 1.0
_WINDOW = 5


def match_confidence(disparity: np.ndarray, valid: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """Per-pixel trust of a disparity map: 0 where filled, 0.5..1 where measured.

    Parameters
    ----------
    disparity : ndarray (H, W) float
        The matcher's disparity (values at invalid pixels are ignored).
    valid : ndarray (H, W) bool
        Pixels that passed the matcher's checks.
    guide : ndarray (H, W) or (H, W, 3) float
        The left view, values in [0, 1] (sRGB-encoded).

    Returns
    -------
    ndarray (H, W) float32 in [0, 1]
        ``0.5 + 0.5 * texture * agreement * support`` where measured, 0 elsewhere:
        texture = local contrast of the guide, agreement = how close the measured
        neighbours are to each other, support = share of the window measured.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> guide = rng.random((32, 32)).astype(np.float32)
    >>> disparity = np.full((32, 32), 7.0, np.float32)
    >>> valid = np.ones((32, 32), bool); valid[:, :8] = False
    >>> confidence = match_confidence(disparity, valid, guide)
    >>> float(confidence[:, :8].max()), bool(confidence[16, 20] > 0.95)
    (0.0, True)
    """
    valid = np.asarray(valid, dtype=bool)
    grey = mean_grey(guide)
    window = (_WINDOW, _WINDOW)
    mean = cv2.blur(grey, window)
    contrast = np.sqrt(np.maximum(cv2.blur(grey * grey, window) - mean * mean, 0.0))
    texture = np.clip(contrast / _TEXTURE_FULL, 0.0, 1.0)
    weight = valid.astype(np.float32)
    values = np.where(valid, disparity, 0.0).astype(np.float32)
    support = cv2.blur(weight, window)
    tiny = np.float32(1e-6)
    local_mean = cv2.blur(values, window) / np.maximum(support, tiny)
    local_square = cv2.blur(values * values, window) / np.maximum(support, tiny)
    spread = np.maximum(local_square - local_mean * local_mean, 0.0)
    agreement = np.exp(-spread / np.float32(2 * _AGREEMENT_SIGMA**2))
    confidence = 0.5 + 0.5 * texture * agreement * support
    return np.where(valid, confidence, 0.0).astype(np.float32)


__all__ = ["match_confidence"]
