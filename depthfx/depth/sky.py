"""Sky and featureless far regions: bright, plain, unmatched areas touching the top of the frame.

A matcher finds nothing to hold on to in an overcast sky; filling it from the nearest
measurements spreads whatever lies below the horizon (trees, hills, wrong matches on the
haze) over it as blocks of nearer depth. Such a region is given the farthest depth of its
surroundings instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from .texture import mean_grey

# Local contrast (std of grey, 0..1 sRGB) below which a pixel counts as plain.
_PLAIN = 0.02
# A sky region is brighter than this share of the picture's pixels...
_BRIGHT_PERCENTILE = 60.0
# ...at most this share of it is matched (a smooth sky still gets streaks of wrong
# matches: 28 % in the GoPro sample; plain walls of the Middlebury scenes that touch the
# top are 48 % matched or more), and it covers at least this share of the frame.
_MAX_MATCHED = 0.4
_MIN_AREA = 0.01
# The surroundings: a ring this share of the image side wide; their farthest depth is this
# low percentile of the measurements in it.
_RING = 0.03
_FAR_PERCENTILE = 5.0


def sky_mask(guide: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Bright, plain, mostly unmatched regions that touch the top of the frame.

    Parameters
    ----------
    guide : ndarray (H, W, 3) or (H, W) float
        The left view, sRGB-encoded, values in [0, 1].
    valid : ndarray (H, W) bool
        Pixels with a confident match.

    Returns
    -------
    ndarray (H, W) bool

    Examples
    --------
    >>> guide = np.random.default_rng(0).random((60, 80)).astype(np.float32) * 0.5
    >>> guide[:20] = 0.95  # a plain bright band along the top
    >>> valid = np.ones((60, 80), bool); valid[:20] = False
    >>> mask = sky_mask(guide, valid)
    >>> bool(mask[:15].all() and not mask[30:].any())
    True
    """
    grey = mean_grey(guide)
    side = max(grey.shape)
    size = max(3, 2 * round(0.004 * side) + 1)
    mean = cv2.blur(grey, (size, size))
    contrast = np.sqrt(np.maximum(cv2.blur(grey * grey, (size, size)) - mean * mean, 0.0))
    bright = mean > np.percentile(mean[::3, ::3], _BRIGHT_PERCENTILE)
    candidate = (bright & (contrast < _PLAIN)).astype(np.uint8)
    mask = np.zeros(grey.shape, bool)
    if not candidate[0].any():
        return mask  # nothing plain and bright touches the top: no labelling needed
    _, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=4)
    top_labels = set(np.unique(labels[0][candidate[0] > 0]).tolist())
    for label in top_labels:
        if stats[label, cv2.CC_STAT_AREA] < _MIN_AREA * grey.size:
            continue
        region = labels == label
        if valid[region].mean() <= _MAX_MATCHED:
            mask |= region
    return mask


def far_fill(disparity: np.ndarray, valid: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """``disparity`` with each sky region set to the farthest depth of its surroundings.

    The farthest depth is a low percentile of the measurements in a ring around the
    region (the horizon's), never nearer than what the fill put there.
    """
    if not sky.any():
        return disparity
    out = disparity.copy()
    width = max(3, 2 * round(_RING * max(sky.shape)) + 1)
    count, labels = cv2.connectedComponents(sky.astype(np.uint8), connectivity=4)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))
    for label in range(1, count):
        region = labels == label
        ring = cv2.dilate(region.astype(np.uint8), kernel).astype(bool) & ~region & valid
        source = disparity[ring] if ring.sum() >= 16 else disparity[valid]
        if source.size == 0:
            continue
        far = float(np.percentile(source, _FAR_PERCENTILE))
        out[region] = np.minimum(out[region], far)
    return out


__all__ = ["far_fill", "sky_mask"]
