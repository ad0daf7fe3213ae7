"""Filters shared by depth sources, effects and the renderer (guided filter, joint
upsampling, push-pull fill).

They live outside ``depth/`` because effects use them too (fog transmission, layer alpha),
and effects must not import depth sources; the push-pull fill serves both the renderer
(background behind a blurred foreground) and the layer effects (hidden background).
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from .errors import ParameterError


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    size = 2 * radius + 1
    return cv2.boxFilter(array, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)


def guided_filter(
    guide: np.ndarray, source: np.ndarray, *, radius: int, eps: float = 1e-3
) -> np.ndarray:
    """Edge-preserving smoothing of ``source`` steered by ``guide`` (He, Sun, Tang 2010).

    Parameters
    ----------
    guide : ndarray (H, W) or (H, W, 3), float
        Image whose edges the output follows. A colour guide uses the full 3x3 covariance,
        so edges between colours of equal brightness are kept.
    source : ndarray (H, W), float
        The map to filter (depth, transmission, alpha).
    radius : int
        Window radius in pixels, >= 1.
    eps : float
        Regularization; larger smooths across weaker edges.

    Returns
    -------
    ndarray (H, W) float32

    Examples
    --------
    >>> step = np.zeros((8, 8), np.float32); step[:, 4:] = 1
    >>> out = guided_filter(step, step, radius=2, eps=1e-6)
    >>> bool(np.abs(out - step).max() < 1e-2)
    True
    """
    if radius < 1:
        raise ParameterError(f"radius must be >= 1, got {radius}")
    if eps <= 0:
        raise ParameterError(f"eps must be > 0, got {eps}")
    guide = np.asarray(guide, dtype=np.float32)
    source = np.asarray(source, dtype=np.float32)
    if guide.shape[:2] != source.shape[:2]:
        raise ParameterError(
            f"guide {guide.shape[:2]} and source {source.shape[:2]} differ in size"
        )
    if guide.ndim == 2:
        mean_i = _box(guide, radius)
        mean_p = _box(source, radius)
        var_i = _box(guide * guide, radius) - mean_i * mean_i
        cov_ip = _box(guide * source, radius) - mean_i * mean_p
        a = cov_ip / (var_i + eps)
        b = mean_p - a * mean_i
        return (_box(a, radius) * guide + _box(b, radius)).astype(np.float32)
    return _guided_filter_color(guide[:, :, :3], source, radius, eps)


def _guided_filter_color(
    guide: np.ndarray, source: np.ndarray, radius: int, eps: float
) -> np.ndarray:
    mean_i = [_box(guide[:, :, c], radius) for c in range(3)]
    mean_p = _box(source, radius)
    cov_ip = [_box(guide[:, :, c] * source, radius) - mean_i[c] * mean_p for c in range(3)]
    # Per-pixel 3x3 covariance of the guide, regularized, inverted in closed form.
    var = {}
    for i in range(3):
        for j in range(i, 3):
            var[i, j] = _box(guide[:, :, i] * guide[:, :, j], radius) - mean_i[i] * mean_i[j]
    rr, rg, rb = var[0, 0] + eps, var[0, 1], var[0, 2]
    gg, gb, bb = var[1, 1] + eps, var[1, 2], var[2, 2] + eps
    inv_rr = gg * bb - gb * gb
    inv_rg = gb * rb - rg * bb
    inv_rb = rg * gb - gg * rb
    inv_gg = rr * bb - rb * rb
    inv_gb = rb * rg - rr * gb
    inv_bb = rr * gg - rg * rg
    det = rr * inv_rr + rg * inv_rg + rb * inv_rb
    a_r = (inv_rr * cov_ip[0] + inv_rg * cov_ip[1] + inv_rb * cov_ip[2]) / det
    a_g = (inv_rg * cov_ip[0] + inv_gg * cov_ip[1] + inv_gb * cov_ip[2]) / det
    a_b = (inv_rb * cov_ip[0] + inv_gb * cov_ip[1] + inv_bb * cov_ip[2]) / det
    b = mean_p - a_r * mean_i[0] - a_g * mean_i[1] - a_b * mean_i[2]
    out = (
        _box(a_r, radius) * guide[:, :, 0]
        + _box(a_g, radius) * guide[:, :, 1]
        + _box(a_b, radius) * guide[:, :, 2]
        + _box(b, radius)
    )
    return out.astype(np.float32)


def guided_upsample(
    low_res: np.ndarray, guide: np.ndarray, *, radius: int | None = None, eps: float = 1e-4
) -> np.ndarray:
    """Upsample a low-resolution map to the guide's size so its edges follow the guide.

    Bilinear upsampling followed by a guided filter whose coefficients are computed at low
    resolution and upsampled (the "fast guided filter", He & Sun 2015), so the cost is that
    of a few box filters at full size.
    """
    low_res = np.asarray(low_res, dtype=np.float32)
    guide = np.asarray(guide, dtype=np.float32)
    height, width = guide.shape[:2]
    if low_res.shape[:2] == (height, width):
        return low_res.copy()
    scale = max(height / low_res.shape[0], width / low_res.shape[1])
    radius = radius if radius is not None else max(2, round(2 * scale))
    gray_guide = guide if guide.ndim == 2 else cv2.cvtColor(guide[:, :, :3], cv2.COLOR_RGB2GRAY)
    small_guide = cv2.resize(gray_guide, low_res.shape[::-1], interpolation=cv2.INTER_AREA)
    small_radius = max(1, round(radius / scale))
    mean_i = _box(small_guide, small_radius)
    mean_p = _box(low_res, small_radius)
    var_i = _box(small_guide * small_guide, small_radius) - mean_i * mean_i
    cov_ip = _box(small_guide * low_res, small_radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    a = cv2.resize(_box(a, small_radius), (width, height), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(_box(b, small_radius), (width, height), interpolation=cv2.INTER_LINEAR)
    return (a * gray_guide + b).astype(np.float32)


def push_pull(
    premultiplied: np.ndarray, weight: np.ndarray, *, mode: Literal["over", "fill"]
) -> np.ndarray:
    """Fill where ``weight`` is low with a smooth continuation of the colour around it.

    Push-pull (normalized convolution over an image pyramid): weighted colours and weights
    are averaged down to a few pixels, then each level is completed from the coarser one on
    the way back up, trusting a level's own average where its weight is 1/4 or more. Any
    hole size is filled. The two modes are the renderer's and the layer effects' variants,
    each kept bit for bit:

    ``"over"`` (the renderer: the background behind a blurred foreground)
        Returns the input composited over the fill, ``premultiplied + (1 - weight) fill``,
        opaque everywhere. Each coarser level averages the one before after its partly
        covered pixels were made present (so the fill comes from the nearest data, not from
        far-away averages); levels go down until the shorter side is 2 px, whose gaps take
        the mean colour.
    ``"fill"`` (the layer effects: what a layer hides)
        Returns the fill itself at every pixel, the blend of each level's average colour
        (by its trust) and the coarser fill; callers keep their known pixels. Each coarser
        level averages the plain weights; levels go down until the longer side is 2 px.

    Parameters
    ----------
    premultiplied : ndarray (H, W, 3), float
        Colour times ``weight``.
    weight : ndarray (H, W), float
        Coverage or confidence, 0..1.
    mode : {"over", "fill"}

    Returns
    -------
    ndarray (H, W, 3)
        float32 for ``"over"``; for ``"fill"``, the inputs' float type.

    Raises
    ------
    ParameterError
        An unknown mode.

    Examples
    --------
    >>> colour = np.zeros((8, 8, 3), np.float32); colour[:, :4] = 0.5
    >>> weight = np.zeros((8, 8), np.float32); weight[:, :4] = 1
    >>> out = push_pull(colour, weight, mode="over")
    >>> float(out[3, 1, 0]), float(out[3, 6, 0])
    (0.5, 0.5)
    """
    if mode == "over":
        levels, filled = _cascaded_levels(premultiplied, weight)
    elif mode == "fill":
        levels, filled = _averaged_levels(premultiplied, weight)
    else:
        raise ParameterError(f"push-pull mode must be 'over' or 'fill', got {mode!r}")
    for present, trust in reversed(levels):
        height, width = trust.shape
        up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR).reshape(
            height, width, 3
        )
        filled = present + (1.0 - trust)[:, :, None] * up
    return filled.astype(np.float32) if mode == "over" else filled


def _cascaded_levels(
    pre: np.ndarray, alpha: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Levels of ``push_pull(mode="over")`` as (trusted colour, trust), finest first, and the
    filled coarsest level."""
    levels = [(pre, alpha)]
    while min(levels[-1][1].shape) > 2:
        p, a = levels[-1]
        height, width = a.shape
        size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
        p2 = cv2.resize(p, size, interpolation=cv2.INTER_AREA)
        a2 = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        # Partly covered coarse pixels count as present, so the fill comes from the
        # nearest data rather than from far-away averages.
        boost = np.minimum(1.0, 4.0 * a2) / np.maximum(a2, 1e-6)
        levels.append((p2 * boost[:, :, None], np.minimum(1.0, 4.0 * a2)))
    p, a = levels[-1]
    total = float(a.sum())
    mean = p.reshape(-1, 3).sum(axis=0) / total if total > 1e-6 else np.zeros(3, np.float32)
    filled = p + (1.0 - a)[:, :, None] * mean.astype(np.float32)
    return [(p, np.minimum(a, 1.0)) for p, a in levels[:-1]], filled


def _averaged_levels(
    premultiplied: np.ndarray, weight: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Levels of ``push_pull(mode="fill")`` as (trusted colour, trust), finest first, and the
    filled coarsest level."""
    weighted = [np.dstack([premultiplied, weight])]
    while max(weighted[-1].shape[:2]) > 2:
        height, width = weighted[-1].shape[:2]
        size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
        weighted.append(
            cv2.resize(weighted[-1], size, interpolation=cv2.INTER_AREA).reshape(
                size[1], size[0], 4
            )
        )
    levels = []
    for level in weighted[:-1]:
        level_weight = level[:, :, 3:]
        colour = level[:, :, :3] / np.maximum(level_weight, 1e-12)
        # Confidence of this level's average: a few known pixels already make it trusted.
        trust = np.clip(level_weight * 4.0, 0.0, 1.0)
        levels.append((colour * trust, trust[:, :, 0]))
    coarse = weighted[-1]
    return levels, coarse[:, :, :3] / np.maximum(coarse[:, :, 3:], 1e-12)


__all__ = ["guided_filter", "guided_upsample", "push_pull"]
