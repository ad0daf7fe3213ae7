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

Where the depth map's confidence is low and the photo featureless (stereo on an empty sky),
the depth is noise: there the cuts take a smooth depth carried in from the trusted
surroundings, and shadows are cast only where caster and receiver are both trusted (see
:mod:`depthfx.effects.layer_trust`). Maps without a confidence are trusted everywhere.

The flat picture (:func:`layers`, :meth:`Layers.apply`) is the composite of that stack, but
computed without it: the inpainted colours never show in it, so it is the photo times a
modulation from the alphas and the shadows, made row band by row band. The stack itself is
built only for what shows the layers (:func:`split_layers`: exports, parallax).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np

from .._parallel import JobGroup
from ..colors import COLOR_HELP, color_option, parse_color
from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..filters import push_pull
from ..image import as_float_image, encode_srgb8, join_alpha, split_alpha, srgb_to_linear
from ..params import Params, option
from ..stats import median
from .layer_cuts import (
    FULL,
    BandUpsampler,
    coverages,
    each_band,
    extension_reach,
    guide_planes,
    resize,
)
from .layer_trust import depth_trust, settle_untrusted
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
# Coverage units to alpha.
_PER_UNIT = np.float32(1.0 / FULL)
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
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """The photo with these options' cast shadows (see :func:`layers`).

        This is the composite of :meth:`layer_stack`, computed without building the stack.
        ``out``, an (H, W, 3) float32 array, receives the colour instead of a new array; it
        may be ``image`` itself (each row is read before it is written), which spares a
        caller done with the photo a photo-sized allocation.
        """
        return _flat(image, depth, self, progress, out)

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
    return _thresholds(distinct, counts, count, split)


def _thresholds(
    distinct: np.ndarray, counts: np.ndarray, count: int, split: SplitMethod
) -> np.ndarray:
    """:func:`depth_thresholds` from the map's histogram (sorted distinct values, counts)."""
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
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


def _percentiles(
    distinct: np.ndarray, counts: np.ndarray, percents: Sequence[float]
) -> list[np.float64]:
    """``np.percentile`` (linear) of the values ``distinct`` repeated ``counts`` times.

    Examples
    --------
    >>> [float(v) for v in _percentiles(np.array([1.0, 2.0, 4.0]), np.array([2, 1, 1]), [50])]
    [1.5]
    """
    ends = np.cumsum(counts)
    last = int(ends[-1]) - 1
    result = []
    for percent in percents:
        virtual = last * (percent / 100.0)
        below = min(math.floor(virtual), last)
        index = np.searchsorted(ends, [below, min(below + 1, last)], side="right")
        low, high = (np.float64(value) for value in distinct[index])
        result.append(low + (high - low) * np.float64(virtual - below))
    return result


class _Levels:
    """:meth:`DepthMap.normalized` as a function, its bounds taken from the histogram."""

    def __init__(self, depth_map: DepthMap, distinct: np.ndarray, counts: np.ndarray) -> None:
        if depth_map.confidence is not None:
            trusted = depth_map.nearness[depth_map.confidence > 0.5]
            if trusted.size >= 16:
                distinct, counts = np.unique(trusted, return_counts=True)
        self.low, self.high = _percentiles(distinct, counts, (0.5, 99.5))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Nearness mapped to [0, 1] (0 = farthest, 1 = nearest)."""
        if not self.high > self.low:
            return np.zeros(np.shape(values), np.float32)
        return np.clip((values - self.low) / (self.high - self.low), 0.0, 1.0).astype(np.float32)

    def shrunk(
        self, nearness: np.ndarray, shrink: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """``shrink(self(nearness))``: clipped first, so that the average of a block holding
        values beyond the bounds is the one of their levels."""
        low, high = np.float32(self.low), np.float32(self.high)
        return self(shrink(np.clip(nearness, min(low, high), high)))


def _layer_statistics(
    distinct: np.ndarray,
    counts: np.ndarray,
    thresholds: np.ndarray,
    normalize: Callable[[np.ndarray], np.ndarray],
) -> tuple[list[tuple[float, float]], list[float], list[float]]:
    """Each layer's nearness range, plane (median normalized nearness) and top (highest)."""
    layer_of = np.searchsorted(thresholds, distinct, side="right")
    ranges, planes, tops = [], [], []
    for k in range(len(thresholds) + 1):
        values, value_counts = distinct[layer_of == k], counts[layer_of == k]
        ends = np.cumsum(value_counts)
        middle = (int(ends[-1]) - 1) // 2, int(ends[-1]) // 2
        # The median of a monotone function of the values is that of their middle ones.
        levels = normalize(values[np.searchsorted(ends, middle, side="right")])
        ranges.append((float(values[0]), float(values[-1])))
        planes.append(float(median(levels)))
        tops.append(float(normalize(values[-1:])[0]))
    return ranges, planes, tops


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
        small_known = resize(known, size, cv2.INTER_AREA)
        small_rgb = resize(rgb * known[:, :, None], size, cv2.INTER_AREA).reshape(
            size[1], size[0], 3
        )
        small_rgb = small_rgb / np.maximum(small_known, 1e-6)[:, :, None]
        small_fill = push_pull_fill(small_rgb, (small_known > 0.5).astype(np.float32) * small_known)
        fill = resize(small_fill, (width, height), cv2.INTER_LINEAR).reshape(height, width, 3)
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
        painted_linear = resize(painted_linear, (width, height), cv2.INTER_LINEAR).reshape(
            height, width, 3
        )
    return np.where(band[:, :, None], painted_linear, base).astype(np.float32)


# --------------------------------------------------------------------------- splitting


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
    report = _reporter(progress)
    rgb, _ = split_alpha(as_float_image(image))
    depth_map = as_depthmap(depth).fit_to(rgb.shape[:2], guide=rgb)
    cuts = _cut(rgb, depth_map, options, report)
    count = cuts.count
    height, width = depth_map.shape
    diagonal = math.hypot(height, width)
    alphas = [cuts.full(cuts.alpha, k) for k in range(count)]

    # Share of each layer that can show through the layers in front of it.
    see_through = [np.ones((height, width), np.float32) for _ in range(count)]
    for k in range(count - 2, -1, -1):
        see_through[k] = (see_through[k + 1] * (1.0 - alphas[k + 1])).astype(np.float32)

    # Parallax uncovers at most a few % of the diagonal next to an edge: inpaint that band.
    band_px = max(options.extend, 2.0) / 100.0 * diagonal
    depth_layers: list[Layer] = []
    for k in range(count):
        report("filling hidden background", 0.6 + 0.35 * k / count)
        weight = alphas[k] * see_through[k]
        clean = cv2.erode((weight > 0.95).astype(np.uint8), np.ones((3, 3), np.uint8))
        if not clean.any():
            clean = (weight > 0).astype(np.uint8)
        hidden = see_through[k] <= _VISIBLE
        fill = inpaint_hidden(
            rgb, clean.astype(np.float32), region=hidden & (alphas[k] > 0), band_px=band_px
        )
        colour = np.where(hidden[:, :, None], fill, rgb)
        depth_layers.append(
            Layer(
                name=_layer_name(k, count),
                kind="depth",
                rgba=join_alpha(colour.astype(np.float32), alphas[k]),
                nearness_range=cuts.ranges[k],
                plane=cuts.planes[k],
            )
        )

    stack: list[Layer] = [depth_layers[0]]
    if cuts.shadows:
        tint = np.ascontiguousarray(np.broadcast_to(cuts.tint, (height, width, 3)))
        for k in range(1, count):
            stack.append(
                Layer(
                    name=f"shadow on layers below {k}",
                    kind="shadow",
                    rgba=join_alpha(tint, cuts.full(cuts.shadow, k)),
                    blend="multiply",
                )
            )
            stack.append(depth_layers[k])
    else:
        stack.extend(depth_layers[1:])
    report("done", 1.0)
    return stack


def _flat(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    options: Layers,
    progress: ProgressCallback | None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The composite of :func:`_split`'s stack without building it: ``rgb * F``.

    Every colour a layer holds that is not the photo's own lies where nearer layers let at
    most ``_VISIBLE`` of it through, so the composite is the photo times a modulation ``F``
    from the alphas and the shadows alone: ``F_0 = 1``,
    ``F_k = a_k + (1 - a_k) * F_{k-1} * (1 - s_k + s_k * tint)``. No inpainting, no layer
    stack; computed band by band.
    """
    report = _reporter(progress)
    rgb, alpha = split_alpha(as_float_image(image))
    depth_map = as_depthmap(depth).fit_to(rgb.shape[:2], guide=rgb)
    if out is None:
        result = np.empty(rgb.shape, np.float32)
    elif out.shape != rgb.shape or out.dtype != np.float32:
        raise ParameterError(
            f"out: expected a {rgb.shape} float32 array, got {out.shape} {out.dtype}"
        )
    else:
        result = out
    if not _casts_shadows(options):
        # Without shadows every F is 1: the photo comes back (the options are still checked).
        depth_thresholds(depth_map.nearness, count=options.count, split=options.split)
        result[...] = rgb
        report("done", 1.0)
        return join_alpha(result, alpha)
    cuts = _cut(rgb, depth_map, options, report)
    report("composing", 0.9)
    # A grey tint darkens every channel alike: one modulation plane instead of three.
    tints = [np.float32(value) for value in cuts.tint]
    if tints[0] == tints[1] == tints[2]:
        tints = tints[:1]

    def compose(start: int, stop: int) -> None:
        # F per tint channel; None while it is still 1 (no shadow reached these rows yet).
        factors: list[np.ndarray | None] = [None] * len(tints)
        for k in range(1, cuts.count):
            shade = (
                None if cuts.shadows[k - 1].is_zero(start, stop) else cuts.shadow(k, start, stop)
            )
            if shade is None and factors[0] is None:
                continue  # F stays 1 whatever the alpha
            layer_alpha = cuts.alpha(k, start, stop)
            for index, tint in enumerate(tints):
                below = factors[index]
                if shade is not None:
                    lit = 1.0 - shade * (1.0 - tint)
                    below = lit if below is None else below * lit
                assert below is not None
                factors[index] = below + layer_alpha * (1.0 - below)
        if factors[0] is None:
            result[start:stop] = rgb[start:stop]
        else:
            planes = [factor for factor in factors if factor is not None]
            np.multiply(
                rgb[start:stop], cv2.merge(planes * (3 // len(planes))), out=result[start:stop]
            )

    each_band(rgb.shape[0], compose)
    report("done", 1.0)
    return join_alpha(result, alpha)


def _reporter(progress: ProgressCallback | None) -> ProgressCallback:
    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            progress(stage, fraction)

    return report


def _casts_shadows(options: Layers) -> bool:
    return options.shadow_opacity > 0 and options.shadow_length > 0


@dataclass(frozen=True, eq=False)
class _Cuts:
    """What the layer stack and its flat composite share, at the resolution each needs.

    Coverages are full size (their edges follow the photo's); the extension reach and the
    shadows are smooth and kept small, upsampled one row band at a time.
    """

    coverages: list[np.ndarray]  # C_0..C_N, (H, W) uint16 in units of FULL
    shortfalls: list[BandUpsampler]  # 1 - layer k's extension reach, at index k - 1
    shadows: list[BandUpsampler]  # shadow on the layers below k at index k - 1; [] = none
    tint: np.ndarray  # (3,) float32, linear
    ranges: list[tuple[float, float]]
    planes: list[float]

    @property
    def count(self) -> int:
        return len(self.coverages) - 1

    def alpha(self, k: int, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of layer ``k``'s alpha: its own part, and behind nearer
        layers, its extension: ``C_k - C_{k+1} * (1 - reach)``."""
        if k == 0:
            return np.ones((stop - start, self.coverages[0].shape[1]), np.float32)
        coverage = self.coverages[k][start:stop]
        shortfall = self.shortfalls[k - 1]
        if shortfall.is_zero(start, stop):
            return coverage * _PER_UNIT
        alpha = coverage - self.coverages[k + 1][start:stop] * shortfall.rows(start, stop)
        alpha *= _PER_UNIT
        return alpha

    def shadow(self, k: int, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` of the shadow alpha cast by layer ``k`` on those below."""
        return self.shadows[k - 1].rows(start, stop)

    def full(self, rows: Callable[[int, int, int], np.ndarray], k: int) -> np.ndarray:
        """A whole (H, W) plane of ``alpha`` or ``shadow``."""
        height, width = self.coverages[0].shape
        plane = np.empty((height, width), np.float32)

        def fill(start: int, stop: int) -> None:
            plane[start:stop] = rows(k, start, stop)

        each_band(height, fill)
        return plane


def _cut(rgb: np.ndarray, depth_map: DepthMap, options: Layers, report: ProgressCallback) -> _Cuts:
    """Thresholds, edge-aware coverages, extension reaches, layer planes and shadows."""
    # The guide (the photo's sRGB codes) needs nothing of the depth: made meanwhile.
    with JobGroup() as beside:
        guide = beside.submit(guide_planes, rgb)
        return _cut_with(guide, depth_map, options, report)


def _cut_with(
    guide: Future[np.ndarray], depth_map: DepthMap, options: Layers, report: ProgressCallback
) -> _Cuts:
    """:func:`_cut` once the guide is under way."""
    height, width = depth_map.shape
    diagonal = math.hypot(height, width)
    # Soft shadows lose nothing on a smaller copy; sharp ones (softness 0) stay full size.
    scale = min(1.0, _SHADOW_SIDE / max(height, width)) if options.shadow_softness > 0 else 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Unsure depth on a featureless photo is noise: no cuts through it, no shadows on or from it.
    trust = None
    if depth_map.confidence is not None:  # else the guide is awaited only after the histogram
        trust = depth_trust(depth_map.confidence, guide.result(), size)
        depth_map = replace(depth_map, nearness=settle_untrusted(depth_map.nearness, trust))
    nearness = depth_map.nearness
    distinct, counts = np.unique(nearness, return_counts=True)
    thresholds = _thresholds(distinct, counts, options.count, options.split)
    levels = _Levels(depth_map, distinct, counts)
    ranges, planes, tops = _layer_statistics(distinct, counts, thresholds, levels)
    del distinct, counts
    report("cutting layers", 0.0)

    def shrink(array: np.ndarray, interpolation: int = cv2.INTER_AREA) -> np.ndarray:
        if array.shape == (size[1], size[0]):
            return array
        return resize(array, size, interpolation).reshape(size[1], size[0])

    # Before the full-size planes below are made, so its full-size temporary adds no peak.
    small_levels = levels.shrunk(nearness, shrink) if _casts_shadows(options) else None
    coverage = coverages(
        nearness,
        thresholds,
        guide.result(),
        round(options.feather / 100.0 * diagonal),
        progress=lambda fraction: report("cutting layers", 0.5 * fraction),
    )
    reach_px = options.extend / 100.0 * diagonal
    shortfalls = [
        1.0 - extension_reach(coverage[k], coverage[k + 1], reach_px)
        for k in range(1, options.count)
    ]
    shadows: list[np.ndarray] = []
    if small_levels is not None:
        report("casting shadows", 0.6)
        small = [np.ones_like(small_levels)]
        small += [shrink(item) * _PER_UNIT for item in coverage[1:-1]]
        small.append(np.zeros_like(small_levels))
        own = [small[k] - small[k + 1] for k in range(options.count)]
        if trust is not None:
            own = [item * trust for item in own]  # the casters' side of "both confident"
        alphas = [small[0]] + [
            small[k] - small[k + 1] * shrink(grid, _shrinking(grid.shape, size))
            for k, grid in enumerate(shortfalls, start=1)
        ]
        del small  # before the shadows' own temporaries
        shadows = cast_layer_shadows(
            own,
            alphas,
            planes,
            light_angle=options.light_angle,
            length_px=options.shadow_length / 100.0 * diagonal * scale,
            softness_px=options.shadow_softness / 100.0 * diagonal * scale,
            opacity=options.shadow_opacity,
            nearness=small_levels,
            tops=tops,
        )
        if trust is not None:
            shadows = [item * trust for item in shadows]  # and the receivers'
    return _Cuts(
        coverages=coverage,
        shortfalls=[BandUpsampler(grid, (height, width)) for grid in shortfalls],
        shadows=[BandUpsampler(item, (height, width)) for item in shadows],
        tint=parse_color(options.shadow_color, name="shadow_color"),
        ranges=ranges,
        planes=planes,
    )


def _shrinking(shape: tuple[int, ...], size: tuple[int, int]) -> int:
    """Area averaging to shrink to ``size``, bilinear to grow."""
    return cv2.INTER_AREA if shape[1] > size[0] else cv2.INTER_LINEAR


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
