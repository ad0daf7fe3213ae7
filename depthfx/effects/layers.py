"""Depth layers: split a photo into depth planes, fill what they hide, cast shadows between them.

The photo is cut into ``count`` layers at nearness thresholds (by quantiles, or at the gaps of
the depth histogram). Each cut's coverage ("nearer than this threshold") is a hard mask from
the depth map refined by a guided filter steered by the photo, so the layer edges follow the
photo's edges (hair, leaves) instead of the depth map's blocky ones.

Every layer holds the photo's own pixels wherever it can be seen, and an inpainted
continuation (push-pull fill from its own pixels) behind the nearer layers, up to ``extend``
% of the diagonal away from its visible part; the farthest layer is opaque and filled
everywhere. So layers can be moved (parallax) without holes, while recomposing the stack
gives the photo back exactly.

With ``shadow_opacity > 0`` each layer casts a soft shadow onto the layers behind it (see
:func:`depthfx.effects.shadows.cast_layer_shadows`), kept in layers of their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from ..colors import COLOR_HELP, color_option, parse_color
from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..filters import guided_filter, push_pull
from ..image import as_float_image, encode_srgb8, join_alpha, split_alpha, srgb_to_linear
from ..params import Params, option
from .shadows import cast_layer_shadows, light_angle_option

NAME = "layers"

ProgressCallback = Callable[[str, float], None]
SplitMethod = Literal["quantiles", "gaps"]
SPLITS: tuple[SplitMethod, ...] = ("quantiles", "gaps")
MAX_LAYERS = 32
# Bins of the depth histogram searched for gaps (distinct values are used when fewer).
_GAP_BINS = 512
# Soft cast shadows are computed on a copy no larger than this (longer side, px).
_SHADOW_SIDE = 1280
# Push-pull fills are computed on a copy no larger than this (longer side, px).
_FILL_SIDE = 1024
# A layer colour is the photo's wherever more than this share of it can show through.
_VISIBLE = 1e-6


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of the stack, back to front.

    Attributes
    ----------
    name : str
        Human-readable name, unique in the stack (``"layer 0 (far)"``, ``"shadow on 0"``).
    kind : {"depth", "shadow"}
        A cut of the photo, or a shadow cast onto the layers below it.
    rgba : ndarray (H, W, 4) float32
        Linear colour with straight alpha. For depth layers the colour is the photo's
        wherever the layer can show, and inpainted where nearer layers hide it.
    blend : {"normal", "multiply"}
        How it composes onto what is below: "over", or multiplied (shadows).
    nearness_range : (float, float) or None
        [low, high) nearness of the pixels in a depth layer, in the depth map's units.
    plane : float or None
        The depth layer's representative nearness, normalized (0 = farthest, 1 = nearest).
    """

    name: str
    kind: Literal["depth", "shadow"]
    rgba: np.ndarray
    blend: Literal["normal", "multiply"] = "normal"
    nearness_range: tuple[float, float] | None = None
    plane: float | None = None

    @property
    def alpha(self) -> np.ndarray:
        return self.rgba[:, :, 3]

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.rgba.shape[0]), int(self.rgba.shape[1]))


# --------------------------------------------------------------------------- options

_LAYERS = "Layers"
_SHADOWS = "Cast shadows"
_DIAGONAL = "% of the diagonal"


@dataclass(frozen=True)
class Layers(Params):
    """The depth-layers effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`layers`, :func:`split_layers`, the
    ``depthfx layers`` command and preset steps (``effect = "layers"``) all take these
    names, ranges and defaults.

    Examples
    --------
    >>> effect = Layers(count=2, shadow_opacity=0.3)
    >>> effect.apply(np.zeros((8, 8, 3), np.float32), np.eye(8)).shape
    (8, 8, 3)
    >>> Layers(count=1)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: count must be in 2..32 layers, got 1
    """

    count: int = option(
        4,
        low=2,
        high=MAX_LAYERS,
        unit="layers",
        help="Number of depth layers, at most the number of distinct depth values.",
        panel=_LAYERS,
        aliases=("-n",),
    )
    split: SplitMethod = option(
        "quantiles",
        kind=str,
        choices=SPLITS,
        help="Where to cut: at equal-area quantiles of depth, or at the gaps of its histogram.",
        panel=_LAYERS,
    )
    feather: float = option(
        0.5,
        low=0.0,
        high=5.0,
        unit=_DIAGONAL,
        help="Edge-aware softness of the layer edges, 0 = hard cuts.",
        panel=_LAYERS,
    )
    extend: float = option(
        4.0,
        low=0.0,
        high=100.0,
        unit=_DIAGONAL,
        help="How far each layer is inpainted behind nearer ones; the farthest is filled everywhere.",
        panel=_LAYERS,
    )
    light_angle: float = light_angle_option(panel=_SHADOWS)
    shadow_opacity: float = option(
        0.5, low=0.0, high=1.0, help="Darkness of cast shadows, 0 = none.", panel=_SHADOWS
    )
    shadow_length: float = option(
        6.0,
        low=0.0,
        high=50.0,
        unit=_DIAGONAL,
        help="Shadow offset for a gap spanning the whole depth range; smaller gaps cast "
        "in proportion.",
        panel=_SHADOWS,
    )
    shadow_softness: float = option(
        1.5,
        low=0.0,
        high=20.0,
        unit=_DIAGONAL,
        help="Shadow blur (Gaussian sigma) for a gap spanning the whole depth range.",
        panel=_SHADOWS,
    )
    shadow_color: str | Sequence[float] = option(
        "#000000",
        kind=str,
        parse=color_option("shadow_color"),
        help=f"Colour the shadows tint towards: {COLOR_HELP}.",
        panel=_SHADOWS,
    )

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """The photo with these options' cast shadows (see :func:`layers`)."""
        rgb, alpha = split_alpha(as_float_image(image))
        stack = self.layer_stack(rgb, depth, progress=progress)
        return join_alpha(composite_layers(stack), alpha)

    def layer_stack(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: ProgressCallback | None = None,
    ) -> list[Layer]:
        """The layers of the photo with these options (see :func:`split_layers`)."""
        return _split(image, depth, self, progress)


# --------------------------------------------------------------------------- thresholds


def depth_thresholds(
    nearness: np.ndarray, *, count: int, split: SplitMethod = Layers.split
) -> np.ndarray:
    """Nearness thresholds ``t_1 < ... < t_{count-1}`` that cut the map into ``count`` layers.

    Layer ``k`` holds the pixels with ``t_k <= nearness < t_{k+1}`` (``t_0 = -inf``,
    ``t_count = +inf``); every layer is non-empty.

    ``"quantiles"`` gives layers of about equal area. ``"gaps"`` puts the cuts where the
    depth histogram has its gaps: an optimal 1-D clustering (multi-level Otsu / Jenks) of the
    histogram, which places each threshold in the middle of the empty stretch between two
    clusters of depth.

    Raises
    ------
    ParameterError
        ``count`` < 2, or more than the map has distinct depth values (or more than 32).

    Examples
    --------
    >>> nearness = np.array([0, 0, 1, 1, 1, 5, 5, 9, 9, 9], np.float32)
    >>> depth_thresholds(nearness, count=3, split="gaps").tolist()
    [3.0, 7.0]
    """
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    values = np.asarray(nearness, dtype=np.float32).ravel()
    distinct, counts = np.unique(values, return_counts=True)
    limit = min(MAX_LAYERS, len(distinct))
    if not isinstance(count, int | np.integer) or not 2 <= count <= limit:
        if len(distinct) < 2:
            raise ParameterError(
                f"count: the depth map is flat (one value), so it has no layers (got {count})"
            )
        raise ParameterError(
            f"count must be in 2..{limit} (layers; this depth map has {len(distinct)} distinct "
            f"values, at most {MAX_LAYERS} layers), got {count}"
        )
    if split == "quantiles":
        return _quantile_thresholds(distinct, counts, count)
    return _gap_thresholds(distinct, counts, count)


def _quantile_thresholds(distinct: np.ndarray, counts: np.ndarray, count: int) -> np.ndarray:
    cumulative = np.cumsum(counts) / counts.sum()
    wanted = np.arange(1, count) / count
    # Index of the first distinct value of each upper layer, kept strictly increasing and
    # inside 1..K-1 so that no layer is empty even when many pixels share one value.
    index = np.searchsorted(cumulative, wanted, side="left") + 1
    last = len(distinct) - 1
    for k in range(len(index)):
        low = 1 if k == 0 else index[k - 1] + 1
        index[k] = max(index[k], low)
    for k in range(len(index) - 1, -1, -1):
        high = last - (len(index) - 1 - k)
        index[k] = min(index[k], high)
    return distinct[index].astype(np.float32)


def _gap_thresholds(distinct: np.ndarray, counts: np.ndarray, count: int) -> np.ndarray:
    if len(distinct) <= _GAP_BINS:
        centers, weights = distinct.astype(np.float64), counts.astype(np.float64)
        sums = centers * weights
        squares = centers * centers * weights
    else:
        edges = np.linspace(distinct[0], distinct[-1], _GAP_BINS + 1)
        bin_of = np.clip(np.searchsorted(edges, distinct, side="right") - 1, 0, _GAP_BINS - 1)
        weights = np.bincount(bin_of, counts, _GAP_BINS).astype(np.float64)
        sums = np.bincount(bin_of, distinct * counts, _GAP_BINS).astype(np.float64)
        squares = np.bincount(bin_of, distinct.astype(np.float64) ** 2 * counts, _GAP_BINS).astype(
            np.float64
        )
        keep = weights > 0
        weights, sums, squares = weights[keep], sums[keep], squares[keep]
        centers = sums / weights
        if len(centers) < count:
            raise ParameterError(
                f"count: the depth histogram has only {len(centers)} separate levels, "
                f"too few for {count} layers by gaps; use split='quantiles' or fewer layers"
            )
    starts = _jenks_breaks(weights, sums, squares, count)
    # Threshold halfway across the gap between the two clusters.
    upper_first = centers[starts]
    lower_last = centers[starts - 1]
    if len(distinct) <= _GAP_BINS:
        return ((lower_last + upper_first) / 2).astype(np.float32)
    # Binned: the halfway value must still separate the two bins' actual values.
    lower_max = np.array([distinct[distinct <= c].max() for c in lower_last])
    upper_min = np.array([distinct[distinct >= c].min() for c in upper_first])
    return np.maximum((lower_max + upper_min) / 2, np.nextafter(lower_max, np.inf)).astype(
        np.float32
    )


def _jenks_breaks(
    weights: np.ndarray, sums: np.ndarray, squares: np.ndarray, count: int
) -> np.ndarray:
    """First bin of classes 1..count-1 minimizing the total within-class squared deviation."""
    bins = len(weights)
    cw = np.concatenate([[0.0], np.cumsum(weights)])
    cs = np.concatenate([[0.0], np.cumsum(sums)])
    cq = np.concatenate([[0.0], np.cumsum(squares)])
    # cost[i, j]: bins i..j-1 as one class (i < j).
    start = np.arange(bins + 1)[:, None]
    end = np.arange(bins + 1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = cw[end] - cw[start]
        s = cs[end] - cs[start]
        cost = (cq[end] - cq[start]) - np.where(w > 0, s * s / w, 0.0)
    cost = np.where(end > start, np.maximum(cost, 0.0), np.inf)
    best = cost[0].copy()  # one class covering bins 0..j-1
    choice = np.zeros((count, bins + 1), dtype=np.int64)
    for klass in range(1, count):
        total = best[:, None] + cost
        choice[klass] = np.argmin(total, axis=0)
        best = total[choice[klass], np.arange(bins + 1)]
    starts = []
    end_index = bins
    for klass in range(count - 1, 0, -1):
        end_index = int(choice[klass, end_index])
        starts.append(end_index)
    return np.array(starts[::-1], dtype=np.int64)


# --------------------------------------------------------------------------- filling


def push_pull_fill(rgb: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill where ``known`` is 0 with a smooth continuation of the known colours.

    Push-pull (normalized convolution over an image pyramid): weighted colours and weights
    are averaged down to 1-2 px, then holes are filled from the coarser level on the way
    back up. Known pixels (``known`` = 1) keep their colour; any hole size is filled.

    Examples
    --------
    >>> rgb = np.zeros((16, 16, 3), np.float32); rgb[:, :8] = 1
    >>> known = np.zeros((16, 16), np.float32); known[:, :8] = 1
    >>> filled = push_pull_fill(rgb, known)
    >>> float(filled[8, 2, 0]), bool(0 < filled[8, 12, 0] <= 1)
    (1.0, True)
    """
    known = np.clip(known.astype(np.float32), 0.0, 1.0)
    if not known.any():
        return np.broadcast_to(rgb.reshape(-1, 3).mean(axis=0), rgb.shape).astype(np.float32)
    height, width = known.shape
    if max(height, width) > _FILL_SIDE:
        # The fill is smooth: compute it on a smaller copy, keep known pixels at full size.
        scale = _FILL_SIDE / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small_known = _resize(known, size, cv2.INTER_AREA)
        small_rgb = _resize(rgb * known[:, :, None], size, cv2.INTER_AREA).reshape(
            size[1], size[0], 3
        )
        small_rgb = small_rgb / np.maximum(small_known, 1e-6)[:, :, None]
        small_fill = push_pull_fill(small_rgb, (small_known > 0.5).astype(np.float32) * small_known)
        fill = _resize(small_fill, (width, height), cv2.INTER_LINEAR).reshape(height, width, 3)
        return np.where(known[:, :, None] >= 1.0, rgb, fill).astype(np.float32)
    filled = push_pull(rgb * known[:, :, None], known, mode="fill")
    return np.where(known[:, :, None] >= 1.0, rgb, filled).astype(np.float32)


def inpaint_hidden(
    rgb: np.ndarray, known: np.ndarray, *, region: np.ndarray, band_px: float, max_side: int = 768
) -> np.ndarray:
    """Fill what a layer hides: Telea inpainting near its visible pixels, push-pull beyond.

    Everything outside ``known`` first gets the smooth push-pull fill. Then the part of
    ``region`` (where the fill will be seen) within ``band_px`` of the known pixels is
    inpainted with OpenCV's Telea method on a copy no larger than ``max_side``, which carries
    colours and edges straight on from the layer's boundary; this is what a moved layer
    uncovers first.

    Examples
    --------
    >>> rgb = np.zeros((20, 20, 3), np.float32); rgb[:, :10] = (0.8, 0.1, 0.1)
    >>> known = np.zeros((20, 20), np.float32); known[:, :10] = 1
    >>> filled = inpaint_hidden(rgb, known, region=known == 0, band_px=5)
    >>> bool(abs(float(filled[10, 11, 0]) - 0.8) < 0.05)
    True
    """
    known_mask = known >= 1.0
    base = push_pull_fill(rgb, known_mask.astype(np.float32))
    if not known_mask.any() or band_px <= 0:
        return base
    distance = cv2.distanceTransform((~known_mask).astype(np.uint8), cv2.DIST_L2, 3)
    band = region & ~known_mask & (distance <= band_px)
    if not band.any():
        return base
    height, width = known.shape
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    codes: np.ndarray = encode_srgb8(base)
    mask: np.ndarray = band.astype(np.uint8) * 255
    if scale < 1.0:
        codes = cv2.resize(codes, size, interpolation=cv2.INTER_AREA)
        mask = cv2.dilate(
            cv2.resize(mask, size, interpolation=cv2.INTER_AREA), np.ones((3, 3), np.uint8)
        )
    radius = max(2, round(3 * scale + 1))
    painted = cv2.inpaint(codes, (mask > 0).astype(np.uint8), radius, cv2.INPAINT_TELEA)
    painted_linear = srgb_to_linear(painted.astype(np.float32) / np.float32(255))
    if scale < 1.0:
        painted_linear = _resize(painted_linear, (width, height), cv2.INTER_LINEAR).reshape(
            height, width, 3
        )
    return np.where(band[:, :, None], painted_linear, base).astype(np.float32)


# --------------------------------------------------------------------------- splitting


def _box(array: np.ndarray, radius: int) -> np.ndarray:
    size = 2 * radius + 1
    return cv2.boxFilter(array, cv2.CV_32F, (size, size), borderType=cv2.BORDER_REFLECT)


def _resize(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    return np.asarray(cv2.resize(array, size, interpolation=interpolation), dtype=np.float32)


def _edge_aware_alpha(guide: np.ndarray, mask: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Colour guided filter of ``mask``; coefficients on a subsampled grid for large radii.

    The "fast guided filter" (He & Sun 2015): the linear coefficients vary slowly, so they
    are fitted at 1/s resolution and upsampled, then applied to the full-resolution guide;
    fine edges (hair) still come from the full-resolution photo.
    """
    step = max(1, radius // 3)
    if step == 1:
        return guided_filter(guide, mask, radius=radius, eps=eps)
    height, width = mask.shape
    small = (max(1, width // step), max(1, height // step))
    small_guide = _resize(guide, small, cv2.INTER_AREA)
    small_mask = _resize(mask, small, cv2.INTER_AREA)
    small_radius = max(1, round(radius / step))
    mean_i = [_box(small_guide[:, :, c], small_radius) for c in range(3)]
    mean_p = _box(small_mask, small_radius)
    cov = [
        _box(small_guide[:, :, c] * small_mask, small_radius) - mean_i[c] * mean_p for c in range(3)
    ]
    var = {}
    for i in range(3):
        for j in range(i, 3):
            var[i, j] = (
                _box(small_guide[:, :, i] * small_guide[:, :, j], small_radius)
                - mean_i[i] * mean_i[j]
            )
    rr, rg, rb = var[0, 0] + eps, var[0, 1], var[0, 2]
    gg, gb, bb = var[1, 1] + eps, var[1, 2], var[2, 2] + eps
    inv = (
        gg * bb - gb * gb,
        gb * rb - rg * bb,
        rg * gb - gg * rb,
        rr * bb - rb * rb,
        rb * rg - rr * gb,
        rr * gg - rg * rg,
    )
    det = rr * inv[0] + rg * inv[1] + rb * inv[2]
    a_r = (inv[0] * cov[0] + inv[1] * cov[1] + inv[2] * cov[2]) / det
    a_g = (inv[1] * cov[0] + inv[3] * cov[1] + inv[4] * cov[2]) / det
    a_b = (inv[2] * cov[0] + inv[4] * cov[1] + inv[5] * cov[2]) / det
    b = mean_p - a_r * mean_i[0] - a_g * mean_i[1] - a_b * mean_i[2]
    coefficients = np.dstack([_box(c, small_radius) for c in (a_r, a_g, a_b, b)])
    full = _resize(coefficients, (width, height), cv2.INTER_LINEAR).reshape(height, width, 4)
    return np.asarray(
        full[:, :, 0] * guide[:, :, 0]
        + full[:, :, 1] * guide[:, :, 1]
        + full[:, :, 2] * guide[:, :, 2]
        + full[:, :, 3],
        dtype=np.float32,
    )


def _coverages(
    nearness: np.ndarray, thresholds: np.ndarray, guide: np.ndarray, radius: int
) -> list[np.ndarray]:
    """Soft "nearer than t_k" masks, k = 0..N (C_0 = 1, C_N = 0), nested and edge-aware."""
    shape = nearness.shape
    coverages = [np.ones(shape, np.float32)]
    for threshold in thresholds:
        hard = (nearness >= threshold).astype(np.float32)
        if radius > 0:
            # First pass: move the cut towards the photo's edges; cut again at one half; the
            # second pass turns that cut into soft alpha. One pass alone only blurs a depth
            # edge that is off by a few pixels, the second snaps it onto the photo's edge.
            snapped = (_edge_aware_alpha(guide, hard, radius, 2e-3) > 0.5).astype(np.float32)
            soft = np.clip(_edge_aware_alpha(guide, snapped, radius, 2e-3), 0.0, 1.0)
            # Faint halos of the filter in flat areas are dropped.
            soft = np.where(soft < 0.02, 0.0, np.where(soft > 0.98, 1.0, (soft - 0.02) / 0.96))
        else:
            soft = hard
        # Nested: whatever is nearer than t_k is also nearer than t_{k-1}.
        coverages.append(np.minimum(soft.astype(np.float32), coverages[-1]))
    coverages.append(np.zeros(shape, np.float32))
    return coverages


def _extension(own: np.ndarray, reach_px: float) -> np.ndarray:
    """1 within ``reach_px`` of the layer's own pixels, fading to 0 over the last third."""
    solid = (own > 0.5).astype(np.uint8)
    if not solid.any():
        return np.zeros(own.shape, np.float32)
    distance = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 3)
    ramp = max(reach_px / 3.0, 1.0)
    return np.clip((reach_px - distance) / ramp, 0.0, 1.0).astype(np.float32)


def split_layers(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    count: int = Layers.count,
    split: SplitMethod = Layers.split,
    feather: float = Layers.feather,
    extend: float = Layers.extend,
    light_angle: float = Layers.light_angle,
    shadow_opacity: float = Layers.shadow_opacity,
    shadow_length: float = Layers.shadow_length,
    shadow_softness: float = Layers.shadow_softness,
    shadow_color: str | Sequence[float] = Layers.shadow_color,
    progress: ProgressCallback | None = None,
) -> list[Layer]:
    """Cut a photo into depth layers (and their shadow layers), back to front.

    Parameters
    ----------
    image : ndarray (H, W, 3|4) float, linear light
        The photo (a 4th channel is ignored here).
    depth : DepthMap or (H, W) nearness
        Larger = nearer.
    count, split, feather, extend, light_angle, shadow_opacity, shadow_length, \
shadow_softness, shadow_color
        The options of :class:`Layers` (each field's help gives its meaning and range).
    progress : callable(stage, fraction), optional

    Returns
    -------
    list of Layer
        Back to front: depth layer 0 (opaque, farthest), then for each nearer layer its shadow
        layer (``kind="shadow"``, ``blend="multiply"``; when shadows are on) and the layer.

    Raises
    ------
    ParameterError
        An option out of its range (the message names it and the range), or more layers
        than the depth map has distinct values.

    Examples
    --------
    >>> image = np.full((30, 40, 3), 0.25, np.float32)
    >>> nearness = np.zeros((30, 40), np.float32); nearness[10:20, 10:20] = 1
    >>> stack = split_layers(image, nearness, count=2)
    >>> [layer.name for layer in stack]
    ['layer 0 (far)', 'shadow on layers below 1', 'layer 1 (near)']
    """
    options = Layers(
        count=count,
        split=split,
        feather=feather,
        extend=extend,
        light_angle=light_angle,
        shadow_opacity=shadow_opacity,
        shadow_length=shadow_length,
        shadow_softness=shadow_softness,
        shadow_color=shadow_color,
    )
    return options.layer_stack(image, depth, progress=progress)


def _split(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    options: Layers,
    progress: ProgressCallback | None,
) -> list[Layer]:
    """:func:`split_layers` with its options checked."""
    count = options.count
    rgb, _ = split_alpha(as_float_image(image))
    depth_map = as_depthmap(depth).fit_to(rgb.shape[:2], guide=rgb)
    shadow_rgb = parse_color(options.shadow_color, name="shadow_color")

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    nearness = depth_map.nearness
    thresholds = depth_thresholds(nearness, count=count, split=options.split)
    report("cutting layers", 0.0)
    height, width = nearness.shape
    diagonal = math.hypot(height, width)
    guide = encode_srgb8(rgb).astype(np.float32) / np.float32(255)  # edges as the eye sees them
    radius = round(options.feather / 100.0 * diagonal)
    coverages = _coverages(nearness, thresholds, guide, radius)
    report("cutting layers", 0.3)

    labels = np.searchsorted(thresholds, nearness, side="right")
    normalized = depth_map.normalized()
    own = [coverages[k] - coverages[k + 1] for k in range(count)]
    alphas: list[np.ndarray] = [np.ones((height, width), np.float32)]
    for k in range(1, count):
        behind_nearer = coverages[k + 1]
        reach = _extension(own[k], options.extend / 100.0 * diagonal)
        alphas.append(np.clip(own[k] + behind_nearer * reach, 0.0, 1.0).astype(np.float32))

    # Share of each layer that can show through the layers in front of it.
    see_through = [np.ones((height, width), np.float32) for _ in range(count)]
    for k in range(count - 2, -1, -1):
        see_through[k] = (see_through[k + 1] * (1.0 - alphas[k + 1])).astype(np.float32)

    # Parallax uncovers at most a few % of the diagonal next to an edge: inpaint that band.
    band_px = max(options.extend, 2.0) / 100.0 * diagonal
    depth_layers: list[Layer] = []
    tops: list[float] = []
    for k in range(count):
        report("filling hidden background", 0.3 + 0.5 * k / count)
        weight = alphas[k] * see_through[k]
        clean = cv2.erode((weight > 0.95).astype(np.uint8), np.ones((3, 3), np.uint8))
        if not clean.any():
            clean = (weight > 0).astype(np.uint8)
        hidden = see_through[k] <= _VISIBLE
        fill = inpaint_hidden(
            rgb, clean.astype(np.float32), region=hidden & (alphas[k] > 0), band_px=band_px
        )
        colour = np.where(hidden[:, :, None], fill, rgb)
        in_layer = labels == k
        values = nearness[in_layer]
        plane = float(np.median(normalized[in_layer])) if values.size else 0.0
        tops.append(float(normalized[in_layer].max()) if values.size else plane)
        depth_layers.append(
            Layer(
                name=_layer_name(k, count),
                kind="depth",
                rgba=join_alpha(colour.astype(np.float32), alphas[k]),
                nearness_range=(
                    float(values.min()) if values.size else float(thresholds[k - 1]),
                    float(values.max()) if values.size else float(thresholds[k - 1]),
                ),
                plane=plane,
            )
        )

    stack: list[Layer] = [depth_layers[0]]
    if options.shadow_opacity > 0 and options.shadow_length > 0:
        report("casting shadows", 0.8)
        # Soft shadows lose nothing on a smaller copy; sharp ones (softness 0) stay full size.
        scale = min(1.0, _SHADOW_SIDE / max(height, width)) if options.shadow_softness > 0 else 1.0
        size = (max(1, round(width * scale)), max(1, round(height * scale)))

        def shrink(array: np.ndarray) -> np.ndarray:
            return array if scale == 1.0 else _resize(array, size, cv2.INTER_AREA)

        shadows = cast_layer_shadows(
            [shrink(item) for item in own],
            [shrink(item) for item in alphas],
            [layer.plane or 0.0 for layer in depth_layers],
            light_angle=options.light_angle,
            length_px=options.shadow_length / 100.0 * diagonal * scale,
            softness_px=options.shadow_softness / 100.0 * diagonal * scale,
            opacity=options.shadow_opacity,
            nearness=shrink(normalized),
            tops=tops,
        )
        if scale < 1.0:
            shadows = [_resize(item, (width, height), cv2.INTER_LINEAR) for item in shadows]
        tint = np.broadcast_to(shadow_rgb, (height, width, 3))
        for k in range(1, count):
            stack.append(
                Layer(
                    name=f"shadow on layers below {k}",
                    kind="shadow",
                    rgba=join_alpha(np.ascontiguousarray(tint, dtype=np.float32), shadows[k - 1]),
                    blend="multiply",
                )
            )
            stack.append(depth_layers[k])
    else:
        stack.extend(depth_layers[1:])
    report("done", 1.0)
    return stack


def _layer_name(index: int, count: int) -> str:
    if index == 0:
        return "layer 0 (far)"
    if index == count - 1:
        return f"layer {index} (near)"
    return f"layer {index}"


def composite_layers(stack: Sequence[Layer]) -> np.ndarray:
    """Compose a stack back to front in linear light: "over" for normal, multiply for shadows.

    Examples
    --------
    >>> image = np.random.default_rng(0).random((20, 20, 3)).astype(np.float32)
    >>> nearness = np.zeros((20, 20), np.float32); nearness[5:15, 5:15] = 1
    >>> stack = split_layers(image, nearness, count=2, shadow_opacity=0)
    >>> bool(np.abs(composite_layers(stack) - image).max() < 1e-5)
    True
    """
    if not stack:
        raise ParameterError("stack: expected at least one layer")
    height, width = stack[0].shape
    result = np.zeros((height, width, 3), np.float32)
    for layer in stack:
        if layer.shape != (height, width):
            raise ParameterError(
                f"layer {layer.name!r} is {layer.shape}, expected {(height, width)}"
            )
        colour, alpha = layer.rgba[:, :, :3], layer.rgba[:, :, 3]
        if layer.blend == "multiply":
            result = result * (1.0 - alpha[:, :, None] + alpha[:, :, None] * colour)
        else:
            result = alpha[:, :, None] * colour + (1.0 - alpha[:, :, None]) * result
    return result.astype(np.float32)


def layers(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    count: int = Layers.count,
    split: SplitMethod = Layers.split,
    feather: float = Layers.feather,
    extend: float = Layers.extend,
    light_angle: float = Layers.light_angle,
    shadow_opacity: float = Layers.shadow_opacity,
    shadow_length: float = Layers.shadow_length,
    shadow_softness: float = Layers.shadow_softness,
    shadow_color: str | Sequence[float] = Layers.shadow_color,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """The "paper-cut diorama": the photo with each depth layer casting a shadow on those behind.

    Options are those of :func:`split_layers`; the layers are composed back in linear light
    (shadows multiply). Without shadows the photo comes back unchanged. An alpha channel in
    ``image`` is kept.

    Returns
    -------
    ndarray like ``image``

    Examples
    --------
    >>> image = np.full((40, 40, 3), 0.5, np.float32)
    >>> nearness = np.zeros((40, 40), np.float32); nearness[10:20, 10:20] = 1
    >>> out = layers(image, nearness, count=2, light_angle=180, shadow_length=10,
    ...              shadow_softness=0, shadow_opacity=1, feather=0)
    >>> float(out[15, 24, 0]), float(out[15, 15, 0]), float(out[30, 30, 0])  # 5.7 px to the right
    (0.0, 0.5, 0.5)
    """
    options = Layers(
        count=count,
        split=split,
        feather=feather,
        extend=extend,
        light_angle=light_angle,
        shadow_opacity=shadow_opacity,
        shadow_length=shadow_length,
        shadow_softness=shadow_softness,
        shadow_color=shadow_color,
    )
    return options.apply(image, depth, progress=progress)


__all__ = [
    "MAX_LAYERS",
    "NAME",
    "SPLITS",
    "Layer",
    "Layers",
    "composite_layers",
    "depth_thresholds",
    "inpaint_hidden",
    "layers",
    "push_pull_fill",
    "split_layers",
]
