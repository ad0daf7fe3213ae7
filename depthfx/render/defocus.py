"""The depth-dependent blur renderer: every blur in depthfx goes through ``render_defocus``.

How it works (a layered, multi-resolution lens blur):

* Each pixel's signed circle of confusion (CoC) is mapped to a continuous *layer position*.
  Layers sit at radii 0, 1, 2, 2.5, 3.2, 4, 5, 6.3, 8 ... (three per octave above 2 px) on
  each side of the focal plane. A pixel between two layers is shared by both with weights
  that ramp over the middle half of the gap, so blur grows smoothly with depth (no banding)
  while most pixels, and so most point lights, get one clean aperture shape rather than
  two superimposed ones.
* The *fine* layers (|CoC| < 2 px, the in-focus subject) are rendered at full resolution.
  Every coarser layer is rendered at a reduced resolution proportional to its radius
  (half, quarter, ...), where its aperture kernel is only a few pixels wide, and upsampled.
  The split between fine and coarse is made per full-resolution pixel before any
  downsampling, so sharp pixels never leak into blurred layers; among the coarse layers,
  membership is decided at half resolution (one level finer than the blur for the widest).
* Colour is premultiplied by coverage (and the image's alpha). A layer behind the focal
  plane is blurred with *normalized convolution* and extended under the nearer pixels that
  occlude it, with its own colour only: background hidden behind the subject is filled from
  the background, never from the subject (no halo, no colour bleeding).
* Layers are composited near over far. The blurred foreground (in front of the focal
  plane) is composited last over the sharp subject, which is first completed under the
  foreground by push-pull extrapolation, so the foreground's soft edge shows what is behind
  it instead of a dark or cut-out fringe.
* Highlights are boosted above a threshold before blurring (in linear light) and
  compressed back afterwards, so small bright lights bloom into bright aperture shapes.

Full-resolution work is done in tiles on two threads (NumPy and OpenCV release the GIL);
tiles that are wholly sharp are copied and wholly blurred ones are just upsampled, so the
expensive per-pixel path only runs near the focal plane. Layers are blurred in parallel
inside the bounding box of their pixels plus the blur's reach.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ..errors import ParameterError
from ..image import as_float_image, join_alpha, split_alpha
from ..stats import extremes
from .kernels import Aperture, aperture_kernel

ProgressCallback = Callable[[str, float], None]

# Largest aperture-kernel radius (pixels at the layer's own resolution). OpenCV filters
# kernels up to 11x11 directly and larger ones through the DFT, which is slower per pixel,
# so shallow levels keep kernels small; deep levels are tiny and afford crisper discs.
_MAX_KERNEL_RADIUS_SHALLOW = 6.5
_MAX_KERNEL_RADIUS_DEEP = 8.5
# A layer is extended under nearer occluders where its blurred coverage exceeds this share
# (normalized-convolution confidence).
_EXTEND_CONFIDENCE = 0.1
# Layers per doubling of the blur radius, and the share of the gap between two layers over
# which a pixel moves from one to the other.
_LAYERS_PER_OCTAVE = 3.0
_TRANSITION = 0.5
# OpenCV's filter2D uses the DFT from this many kernel cells on (float32, SSE3).
_DIRECT_FILTER_AREA = 130
_TILE_ROWS = 128
_TILE_COLS = 512
_TILE = 16
_WORKERS = 2


# --------------------------------------------------------------------------- layers


def layer_radius(index: int) -> float:
    """CoC radius in pixels of layer ``index`` (0, 1, 2, 2.83, 4, 5.66, ...)."""
    index = abs(index)
    if index <= 2:
        return float(index)
    return 2.0 * 2.0 ** ((index - 2) / _LAYERS_PER_OCTAVE)


def layer_position(coc_radius: np.ndarray) -> np.ndarray:
    """Signed continuous layer position of each CoC (inverse of :func:`layer_radius`)."""
    coc_radius = np.asarray(coc_radius, dtype=np.float32)
    magnitude = np.abs(coc_radius)
    # 2 + k log2(m / 2) = k log2(m) + (2 - k) for m >= 2; the identity below.
    position = np.maximum(magnitude, np.float32(2.0))
    if position.ndim in (1, 2) and position.size:
        # OpenCV's SIMD logarithm: ~8x NumPy's float32 log2, within 5e-7 of a layer.
        cv2.log(position, dst=position)
        position *= np.float32(_LAYERS_PER_OCTAVE / math.log(2.0))
    else:
        position = np.log2(position) * np.float32(_LAYERS_PER_OCTAVE)
    position += np.float32(2.0 - _LAYERS_PER_OCTAVE)
    np.minimum(position, magnitude, out=position, where=magnitude <= 2.0)
    return np.copysign(position, coc_radius, out=position)


def _coarse_layer_magnitude(coc_radius: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """``|layer_position(coc_radius)|`` where every ``|coc_radius| >= 2``, into ``out``.

    The same operations as :func:`layer_position` minus those that only matter below
    2 px or for the sign (``coc_radius`` is overwritten).
    """
    magnitude = np.abs(coc_radius, out=coc_radius)
    cv2.log(magnitude, dst=magnitude)
    magnitude *= np.float32(_LAYERS_PER_OCTAVE / math.log(2.0))
    return np.add(magnitude, np.float32(2.0 - _LAYERS_PER_OCTAVE), out=out)


def _ramp_down(distance: np.ndarray) -> np.ndarray:
    """In place: 1 below the transition band, 0 above it, linear inside (distance in layer
    units): a layer's membership by distance from its position."""
    np.multiply(distance, np.float32(-1.0 / _TRANSITION), out=distance)
    distance += np.float32(0.5 + 0.5 / _TRANSITION)
    return np.clip(distance, 0.0, 1.0, out=distance)


def _ramp_from(position: np.ndarray, index: float, *, rising: bool, out: np.ndarray) -> np.ndarray:
    """Into ``out``: 0 below the transition band, 1 above it, linear inside, of
    ``position - index`` (rising) or ``index - position``, in layer units."""
    slope = np.float32(1.0 / _TRANSITION if rising else -1.0 / _TRANSITION)
    np.multiply(position, slope, out=out)
    out += np.float32(0.5 - 0.5 / _TRANSITION) - slope * np.float32(index)
    return np.clip(out, 0.0, 1.0, out=out)


def _kernel_radius(radius: float, level: int) -> float:
    """Kernel radius at ``level`` that, with the resampling blur, gives a disc of ``radius``.

    Downsampling (box of 2^L) and the bilinear upsampling chain add blur; matching the
    variance (a disc of radius R has R^2/4 per axis) keeps small blurs the right size.
    """
    extra = 4.0**level / 12.0 + sum(4.0**j / 6.0 for j in range(1, level + 1))
    return math.sqrt(max(radius * radius - 4.0 * extra, 0.0)) / 2**level


def _layer_level(radius: float) -> int:
    """Pyramid level (1 = half resolution) at which a layer of ``radius`` is blurred."""
    level = 1
    while radius / 2**level > (
        _MAX_KERNEL_RADIUS_SHALLOW if level <= 1 else _MAX_KERNEL_RADIUS_DEEP
    ):
        level += 1
    return level


# --------------------------------------------------------------------------- highlights


@dataclass(frozen=True)
class _Highlights:
    """Boost of bright linear values before blurring and its inverse after."""

    threshold: float
    gain: float

    def factor(self, luma: np.ndarray) -> np.ndarray:
        # In place after the first step; same operations as 1 + gain * ramp^2.
        ramp = np.subtract(luma, self.threshold, dtype=np.float32)
        ramp /= np.float32(1.0 - self.threshold)
        np.clip(ramp, 0.0, 1.0, out=ramp)
        factor = ramp * np.float32(self.gain)
        factor *= ramp
        factor += np.float32(1.0)
        return factor

    def boost(self, rgb: np.ndarray) -> np.ndarray:
        luma = _luma(rgb)
        if not float(luma.max(initial=0.0)) > self.threshold:
            return rgb
        # Dense over the tile: the factor is exactly 1 at or below the threshold, and a
        # few passes over a small tile beat boolean gathers and scatters.
        factor = self.factor(luma)
        spread = cv2.merge([factor, factor, factor])
        return cv2.multiply(np.ascontiguousarray(rgb), spread, dst=spread)

    def compress(
        self,
        premultiplied: np.ndarray,
        alpha: np.ndarray,
        map_bands: Callable[[Callable[[slice], None], list[slice]], object] | None = None,
    ) -> None:
        """Undo :meth:`boost` on the colour of premultiplied data, in place.

        Works in row bands through ``map_bands`` (e.g. a thread pool's map).
        """
        run = map_bands or _serial_map
        height = alpha.shape[0]
        bands = [slice(y, min(y + 64, height)) for y in range(0, height, 64)]
        boosted_luma = np.empty(alpha.shape, np.float32)
        band_max = np.zeros(len(bands), np.float32)

        def measure(band: slice) -> None:
            luma = _luma(premultiplied[band])
            np.divide(luma, np.maximum(alpha[band], 1e-6), out=boosted_luma[band])
            band_max[band.start // 64] = boosted_luma[band].max(initial=0.0)

        list(run(measure, bands))  # type: ignore[call-overload]
        largest = float(band_max.max(initial=0.0))
        if not largest > self.threshold:
            return
        top = max(1.0, largest)
        plain = np.linspace(0.0, top, 2048, dtype=np.float32)
        boosted = plain * self.factor(plain)

        def restore(band: slice) -> None:
            values_band = boosted_luma[band]
            bright = values_band > self.threshold
            if not bright.any():
                return
            values = values_band[bright]
            original = np.interp(values, boosted, plain).astype(np.float32)
            premultiplied[band][bright] *= (original / values)[:, None]

        list(run(restore, bands))  # type: ignore[call-overload]


def _serial_map(function: Callable[[slice], None], items: list[slice]) -> list[None]:
    for item in items:
        function(item)
    return []


_LUMA_WEIGHTS = np.array([[0.2126, 0.7152, 0.0722]], np.float32)


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of linear RGB (OpenCV's SIMD transform)."""
    return cv2.transform(np.ascontiguousarray(rgb) if rgb.strides[1] != 12 else rgb, _LUMA_WEIGHTS)


# --------------------------------------------------------------------------- entry point


def render_defocus(
    image: np.ndarray,
    coc_radius: np.ndarray,
    *,
    aperture: Aperture | None = None,
    highlight_threshold: float | None = None,
    highlight_gain: float = 0.0,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Blur ``image`` by a per-pixel signed circle of confusion, occlusion-correctly.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3) or (H, W, 4)
        Linear-light colour; a 4th channel is straight alpha and is carried through.
    coc_radius : ndarray float32 (H, W)
        Signed circle-of-confusion radius in pixels: negative = in front of the focal
        plane (nearer), positive = behind, 0 = sharp.
    aperture : Aperture, optional
        Aperture shape (disc by default); ``aperture.cats_eye`` clips discs toward corners.
    highlight_threshold : float, optional
        Linear luminance (0..1) above which highlights are boosted before blurring.
    highlight_gain : float
        0..100: how much the brightest highlights are boosted (0 = off).
    progress : callable(stage, fraction), optional
        Called as work advances.

    Returns
    -------
    ndarray float32, the same shape as ``image``.

    Raises
    ------
    ParameterError
        Shapes differ, the CoC is not finite, or highlight options are out of range.

    Examples
    --------
    >>> image = np.random.default_rng(0).random((16, 16, 3), dtype=np.float32)
    >>> out = render_defocus(image, np.zeros((16, 16), np.float32))
    >>> bool(np.array_equal(out, image))
    True
    >>> blurred = render_defocus(image, np.full((16, 16), 3.0, np.float32))
    >>> blurred.shape
    (16, 16, 3)
    """
    image = as_float_image(image)
    coc = np.asarray(coc_radius, dtype=np.float32)
    if coc.shape != image.shape[:2]:
        raise ParameterError(
            f"coc_radius has shape {coc.shape} but the image is {image.shape[1]}x{image.shape[0]}"
        )
    # The extremes, once (each pass over a 12 MP map counts); they are NaN or infinite
    # iff some value is, which is cheaper to check than a full-size isfinite.
    extremes = (float(coc.min()), float(coc.max())) if coc.size else (0.0, 0.0)
    if not math.isfinite(extremes[0] + extremes[1]):
        raise ParameterError("coc_radius must be finite everywhere")
    highlights = None
    if highlight_threshold is not None and highlight_gain > 0:
        if not 0.0 <= highlight_threshold < 1.0:
            raise ParameterError(
                f"highlight_threshold must be in 0..1 (linear luminance), got {highlight_threshold}"
            )
        highlights = _Highlights(float(highlight_threshold), float(highlight_gain))
    if not 0.0 <= highlight_gain <= 100.0:
        raise ParameterError(f"highlight_gain must be in 0..100, got {highlight_gain}")
    aperture = aperture or Aperture()
    report = progress or (lambda stage, fraction: None)

    if max(extremes[1], -extremes[0], 0.0) < 0.5:
        report("done", 1.0)
        return image.copy()
    rgb, alpha = split_alpha(image)
    renderer = _Renderer(rgb, alpha, coc, extremes, aperture, highlights, report)
    out_rgb, out_alpha = renderer.run()
    report("done", 1.0)
    return join_alpha(out_rgb, out_alpha if alpha is not None else None)


# --------------------------------------------------------------------------- renderer


@dataclass
class _Side:
    """Level-1 (half resolution) data of the coarse layers on one side of the focal plane."""

    coverage: np.ndarray  # (h, w) share of each pixel in this side's layers, times alpha
    premultiplied: np.ndarray  # (h, w, 3)
    position: np.ndarray  # (h, w) coverage-weighted mean |layer position|, clamped >= 2
    top_index: int
    # Per-tile (_TILE px) min and max position over covered pixels.
    tile_ranges: tuple[np.ndarray, np.ndarray] | None = None


class _Renderer:
    def __init__(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray | None,
        coc: np.ndarray,
        extremes: tuple[float, float],
        aperture: Aperture,
        highlights: _Highlights | None,
        report: ProgressCallback,
    ) -> None:
        self.rgb = rgb
        self.alpha = alpha
        self.coc = coc
        self.aperture = aperture
        self.highlights = highlights
        self.report = report
        self.height, self.width = coc.shape
        self.half_shape = ((self.height + 1) // 2, (self.width + 1) // 2)
        smallest, largest = extremes
        self.largest_blur = max(largest, -smallest)
        top = float(layer_position(np.array([largest, -smallest], np.float32)).max())
        self.has_back = largest > 1.0
        self.has_front = smallest < -1.0
        tops = layer_position(np.array([max(largest, 0.0), max(-smallest, 0.0)], np.float32))
        self.back_top = math.ceil(float(tops[0]))
        self.front_top = math.ceil(float(tops[1]))
        deepest = _layer_level(layer_radius(max(2, math.ceil(top))))
        # Level-1 arrays are padded so every deeper level divides them exactly.
        self.multiple = 2 ** (deepest - 1) * _TILE
        self.pool = ThreadPoolExecutor(_WORKERS)
        self.transparent_near: np.ndarray | None = None
        self.thread_scratch = threading.local()

    def _scratch(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 array of ``shape`` reused by the calling thread from layer to layer.

        Touching fresh memory costs more than the arithmetic done on it (a 12 MP photo's
        layer stacks run to hundreds of MB), so each worker keeps one growing buffer.
        """
        size = math.prod(shape)
        buffer = getattr(self.thread_scratch, name, None)
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, np.float32)
            setattr(self.thread_scratch, name, buffer)
        return buffer[:size].reshape(shape)

    # ------------------------------------------------------------------ orchestration

    def run(self) -> tuple[np.ndarray, np.ndarray]:
        try:
            self.report("preparing layers", 0.0)
            half = self._downsample_coarse()
            self.report("blurring layers", 0.2)
            # The foreground's reduced copies are made on a worker while the background's
            # layers start.
            front_pyramid = self.pool.submit(self._pyramid, half, back=False)
            back = (
                self._composite_side(half["back"], self._pyramid(half, back=True), back=True)
                if self.has_back
                else None
            )
            self.report("blurring layers", 0.5)
            front = (
                self._composite_side(half["front"], front_pyramid.result(), back=False)
                if self.has_front
                else None
            )
            fill, coarse = self._level_one_composite(half, back, front)
            self.report("compositing", 0.8)
            self.transparent_near = (
                self._transparency_reach(half) if self.alpha is not None else None
            )
            return self._compose_full(back, front, fill, coarse)
        finally:
            self.pool.shutdown()

    # ------------------------------------------------------------------ full -> half

    def _tiles(self) -> list[tuple[int, int, int, int]]:
        """Even-aligned tiles of the full-resolution image: (y0, y1, x0, x1)."""
        rows, cols = _TILE_ROWS, _TILE_COLS
        return [
            (y, min(y + rows, self.height), x, min(x + cols, self.width))
            for y in range(0, self.height, rows)
            for x in range(0, self.width, cols)
        ]

    def _downsample_coarse(self) -> dict[str, _Side | np.ndarray | None]:
        """Split every pixel into its fine and coarse shares and average them to level 1.

        Membership is decided per full-resolution pixel before averaging, so a 2x2 block
        that straddles a depth edge never carries the sharp side's colour into a blurred
        layer. Tiles that are wholly sharp or wholly blurred skip most of the arithmetic.
        """
        half_h, half_w = self.half_shape
        m = self.multiple
        padded = (-(-half_h // m) * m, -(-half_w // m) * m)
        sides = [
            name
            for name, present in (("back", self.has_back), ("front", self.has_front))
            if present
        ]
        outputs: dict[str, np.ndarray] = {"fine": np.zeros(padded, np.float32)}
        for name in sides:
            outputs[f"{name}_cov"] = np.zeros(padded, np.float32)
            outputs[f"{name}_pre"] = np.zeros((*padded, 3), np.float32)
            outputs[f"{name}_pos"] = np.zeros(padded, np.float32)
        outputs["fine_pre"] = np.zeros((*padded, 3), np.float32)

        def work(tile: tuple[int, int, int, int]) -> None:
            y0, y1, x0, x1 = tile
            coc = self.coc[y0:y1, x0:x1]
            smallest, largest = extremes(coc)
            high = max(-smallest, largest)
            low = 0.0 if smallest <= 0.0 <= largest else min(abs(smallest), abs(largest))
            self.tile_range[tile] = (low, high)
            rgb = _even(self.rgb[y0:y1, x0:x1])
            alpha = None if self.alpha is None else _even(self.alpha[y0:y1, x0:x1])
            region = (
                slice(y0 // 2, y0 // 2 + rgb.shape[0] // 2),
                slice(x0 // 2, x0 // 2 + rgb.shape[1] // 2),
            )
            if high <= 1.0:
                # Wholly fine: no layer position needed.
                outputs["fine"][region] = 1.0 if alpha is None else _half(alpha)
                _half(
                    rgb if alpha is None else _scaled(rgb, alpha), out=outputs["fine_pre"][region]
                )
                return
            if low >= 2.0 and alpha is None and (smallest > 0.0 or largest < 0.0):
                # Wholly coarse on one side of the focal plane: the common case, kept cheap.
                # Positions are averaged after mapping on 2x2 blocks of similar CoC.
                name = "back" if smallest > 0.0 else "front"
                lit = self.highlights.boost(rgb) if self.highlights is not None else rgb
                outputs[f"{name}_cov"][region] = 1.0
                _half(lit, out=outputs[f"{name}_pre"][region])
                _coarse_layer_magnitude(_half(_even(coc)), out=outputs[f"{name}_pos"][region])
                return
            position = _even(layer_position(coc))
            magnitude = np.abs(position)
            # Shares as arrays, or None for "1 everywhere" (0 everywhere is skipped).
            fine: np.ndarray | None
            coarse: np.ndarray | None
            if high <= 1.0:
                fine, coarse = alpha, None
                all_fine, no_fine = True, False
            elif low >= 2.0:
                fine, coarse = None, alpha
                all_fine, no_fine = False, True
            else:
                share = np.clip(2.0 - magnitude, 0.0, 1.0)
                fine = share if alpha is None else share * alpha
                coarse = (1.0 - share) if alpha is None else alpha - fine
                all_fine = no_fine = False
            if not no_fine:
                outputs["fine"][region] = 1.0 if fine is None else _half(fine)
                _half(rgb if fine is None else _scaled(rgb, fine), out=outputs["fine_pre"][region])
            if all_fine:
                return
            lit = self.highlights.boost(rgb) if self.highlights is not None else rgb
            for name in sides:
                if name == "back":
                    if float(position.max()) <= 0.0:
                        continue
                    whole = float(position.min()) > 0.0
                    mask = None if whole else (position > 0)
                else:
                    if float(position.min()) >= 0.0:
                        continue
                    whole = float(position.max()) < 0.0
                    mask = None if whole else (position < 0)
                share_side = coarse if mask is None else (mask if coarse is None else coarse * mask)
                if share_side is None:
                    outputs[f"{name}_cov"][region] = 1.0
                    _half(lit, out=outputs[f"{name}_pre"][region])
                    _half(magnitude, out=outputs[f"{name}_pos"][region])
                else:
                    share_side = share_side.astype(np.float32, copy=False)
                    outputs[f"{name}_cov"][region] = _half(share_side)
                    _half(_scaled(lit, share_side), out=outputs[f"{name}_pre"][region])
                    outputs[f"{name}_pos"][region] = _half(share_side * magnitude)

        self.tile_range: dict[tuple[int, int, int, int], tuple[float, float]] = {}
        list(self.pool.map(work, self._tiles()))
        tops = {"back": max(self.back_top, 2), "front": max(self.front_top, 2)}
        ranges: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        def finish(name: str) -> None:
            """Mirror into the padding; for a side also normalize positions and range them."""
            if name in sides:
                coverage, position = outputs[f"{name}_cov"], outputs[f"{name}_pos"]
                _reflect_into_padding(coverage, half_h, half_w)
                _reflect_into_padding(position, half_h, half_w)
                np.divide(position, np.maximum(coverage, 1e-12), out=position)
                np.clip(position, 2.0, tops[name], out=position)
                ranges[name] = _tile_ranges(position, coverage)
            else:
                _reflect_into_padding(outputs[name], half_h, half_w)

        # The sides' (larger) jobs first, so the two threads finish together.
        jobs = sides + [name for name in outputs if name.endswith("_pre")] + ["fine"]
        list(self.pool.map(finish, jobs))

        result: dict[str, _Side | np.ndarray | None] = {
            "fine": outputs["fine"],
            "fine_pre": outputs["fine_pre"],
        }
        for name in ("back", "front"):
            if name not in sides:
                result[name] = None
                continue
            result[name] = _Side(
                coverage=outputs[f"{name}_cov"],
                premultiplied=outputs[f"{name}_pre"],
                position=outputs[f"{name}_pos"],
                top_index=tops[name],
                tile_ranges=ranges[name],
            )
        return result

    # ------------------------------------------------------------------ coarse layers

    def _pyramid(
        self, half: dict[str, _Side | np.ndarray | None], *, back: bool
    ) -> list[tuple[_Side, np.ndarray | None]]:
        """A side's level-1 data and its reductions, with the occupancy nearer than all its
        layers (behind the focal plane: the fine layers and the whole foreground)."""
        side = half["back" if back else "front"]
        if not isinstance(side, _Side):
            return []
        fine = half["fine"]
        assert isinstance(fine, np.ndarray)
        others = half["front"] if back else None
        nearer_fixed = fine.copy() if back else None
        if back and isinstance(others, _Side):
            assert nearer_fixed is not None
            nearer_fixed += others.coverage
        deepest = _layer_level(layer_radius(side.top_index))
        return _side_pyramid(side, nearer_fixed, deepest - 1)

    def _composite_side(
        self,
        side: _Side | np.ndarray | None,
        pyramid: list[tuple[_Side, np.ndarray | None]],
        *,
        back: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blur and composite one side's layers at their levels; returns level-1 (pre, alpha).

        Behind the focal plane layers go far to near (``over``); in front they go near to
        far (``under``), so in both cases resolution only increases as work proceeds and
        the running composite is upsampled, never downsampled.
        """
        assert isinstance(side, _Side)
        assert side.tile_ranges is not None
        tile_min, tile_max = side.tile_ranges

        acc_pre: np.ndarray | None = None
        acc_alpha: np.ndarray | None = None
        acc_level = 0
        # Level-1 box outside which the running composite is still zero: upsampling only
        # inside it gives the same arrays (bilinear weights of zeros are zeros).
        acc_box: tuple[int, int, int, int] | None = None
        indices = range(side.top_index, 1, -1)
        count = max(1, len(indices))
        plans = []
        for index in indices:
            radius = layer_radius(index)
            level = _layer_level(radius)
            box = _layer_box(tile_min, tile_max, index, radius, level, side.position.shape)
            plans.append((index, radius, level, box))

        def blur(
            plan: tuple[int, float, int, tuple[int, int, int, int] | None],
        ) -> tuple[list[np.ndarray], np.ndarray] | None:
            index, radius, level, box = plan
            if box is None:
                return None
            # Layer membership is decided one level finer than the blur: at level 1 for
            # small blurs (where it matters), cheaper for the wide ones.
            work_level = max(1, level - 1)
            source, nearer_source = pyramid[work_level - 1]
            return self._layer(
                source, index, radius, level, work_level, box, nearer_source, back=back
            )

        # Layers blur independently (in parallel); compositing is in depth order. The
        # running composite is kept as colour planes, like the layers.
        for step, (plan, layer) in enumerate(zip(plans, self.pool.map(blur, plans), strict=True)):
            index, radius, level, box = plan
            if acc_pre is None:
                acc_level = level
                shape = _level_shape(side.position.shape, level)
                acc_pre = np.zeros((3, *shape), np.float32)
                acc_alpha = np.zeros(shape, np.float32)
            assert acc_alpha is not None
            while acc_level > level:
                acc_pre, acc_alpha = _upsample2_within((acc_pre, acc_alpha), acc_box, acc_level)
                acc_level -= 1
            if box is None or layer is None:
                continue
            acc_box = box if acc_box is None else _union(acc_box, box)
            pre, alpha = layer
            ys, xs = _level_slices(box, level)
            target_alpha = acc_alpha[ys, xs]
            if back:
                keep = np.subtract(1.0, alpha, out=self._scratch("keep", alpha.shape))
                for target, plane in zip(acc_pre[:, ys, xs], pre, strict=True):
                    target *= keep
                    target += plane
                target_alpha *= keep
                target_alpha += alpha
            else:
                room = np.subtract(1.0, target_alpha, out=self._scratch("keep", alpha.shape))
                for target, plane in zip(acc_pre[:, ys, xs], pre, strict=True):
                    plane *= room
                    target += plane
                alpha *= room
                target_alpha += alpha
            base = 0.2 if back else 0.5
            self.report("blurring layers", base + 0.3 * (step + 1) / count)
        assert acc_pre is not None and acc_alpha is not None
        while acc_level > 1:
            acc_pre, acc_alpha = _upsample2_within((acc_pre, acc_alpha), acc_box, acc_level)
            acc_level -= 1
        # Written over the side's own level-1 colour, which no layer needs any more (one
        # image-sized array fewer to fault in).
        interleaved = cv2.merge(list(acc_pre), dst=side.premultiplied)
        if self.highlights is not None:
            self.highlights.compress(interleaved, acc_alpha, self.pool.map)
        return interleaved, acc_alpha

    def _layer(
        self,
        side: _Side,
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
        membership = self._scratch("membership", position.shape)
        if index == 2 or index == side.top_index:
            np.subtract(position, np.float32(index), out=membership)
            if index == 2:
                np.maximum(membership, 0.0, out=membership)  # all below layer 2 is in it
            if index == side.top_index:
                np.minimum(membership, 0.0, out=membership)  # all above the top too
            np.abs(membership, out=membership)
        else:
            cv2.absdiff(position, float(index), dst=membership)  # type: ignore[call-overload]
        _ramp_down(membership)
        # Planes, not interleaved channels: OpenCV filters one float plane in a third less
        # time per channel than a 5-channel image, and every product below is contiguous.
        stack = self._scratch("stack", (5, y1 - y0, x1 - x0))
        premultiplied = side.premultiplied[y0:y1, x0:x1]
        for channel in range(3):
            np.multiply(premultiplied[:, :, channel], membership, out=stack[channel])
        np.multiply(coverage, membership, out=stack[3])
        # Occupancy nearer than this layer: nearer layers of the same side, plus (behind
        # the focal plane) the fine layers and the whole foreground. (Reuses the
        # membership buffer.)
        nearer = _ramp_from(position, float(index), rising=not back, out=membership)
        nearer *= coverage
        if back and nearer_fixed is not None:
            nearer += nearer_fixed[y0:y1, x0:x1]
        np.minimum(nearer, 1.0, out=stack[4])
        planes: list[np.ndarray] = list(stack)
        factor = 2 ** (level - work_level)
        if factor > 1:
            size = (stack.shape[2] // factor, stack.shape[1] // factor)
            planes = [cv2.resize(plane, size, interpolation=cv2.INTER_AREA) for plane in planes]
        kernel_radius = _kernel_radius(radius, level)
        if self.aperture.cats_eye > 0:
            blurred = self._cats_eye_blur(planes, kernel_radius, box, level)
        else:
            kernel = aperture_kernel(kernel_radius, self.aperture)
            bands = _cached_bands(kernel)
            blurred = [_convolve(plane, kernel, bands) for plane in planes]
        blurred_pre = blurred[:3]
        plane_shape = blurred[3].shape
        # Both planes hold sums of non-negative values weighted by a non-negative kernel,
        # so they are >= 0 as they are.
        own, nearer_blurred = blurred[3], blurred[4]
        # Normalized convolution: extend the layer under nearer occluders (where it is
        # confidently present) with its own colour only.
        alpha = own * np.float32(1.0 / _EXTEND_CONFIDENCE)
        np.minimum(alpha, 1.0, out=alpha)
        alpha *= nearer_blurred
        alpha += own
        np.minimum(alpha, 1.0, out=alpha)
        gain = self._scratch("gain", plane_shape)
        gain.fill(0.0)
        np.divide(alpha, own, out=gain, where=own > 1e-6)
        for plane in blurred_pre:
            plane *= gain
        return blurred_pre, alpha

    def _cats_eye_blur(
        self, planes: list[np.ndarray], radius: float, box: tuple[int, int, int, int], level: int
    ) -> list[np.ndarray]:
        """Blur with kernels clipped toward the corners, blended bilinearly by position."""
        factor = 2 ** (level - 1)
        y0, _, x0, _ = box
        height, width = planes[0].shape
        rows = (np.arange(height) + 0.5) * factor * 2 + y0 * 2
        cols = (np.arange(width) + 0.5) * factor * 2 + x0 * 2
        v = np.clip((rows / self.height) * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
        u = np.clip((cols / self.width) * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
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
                bands = _cached_bands(kernel)
                for total, plane in zip(result, planes, strict=True):
                    total += _convolve(plane, kernel, bands) * weight
        return result

    # ------------------------------------------------------------------ level-1 composite

    def _level_one_composite(
        self,
        half: dict[str, _Side | np.ndarray | None],
        back: tuple[np.ndarray, np.ndarray] | None,
        front: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
        """The whole composite at half resolution, and the fill colour behind the foreground.

        Tiles without any fine (nearly sharp) pixel are just this composite upsampled.
        Returns ``(fill, (colour, alpha))``; ``fill`` is None without a foreground.
        """
        fine = half["fine"]
        fine_pre = half["fine_pre"]
        assert isinstance(fine, np.ndarray) and isinstance(fine_pre, np.ndarray)
        height = fine.shape[0]
        bands = [(y, min(y + 64, height)) for y in range(0, height, 64)]

        # The fine layers' colour is needed only here: the middle layers are summed into
        # it (the same sums, in the other order, so the same values).
        middle_pre = fine_pre
        middle_alpha = np.empty_like(fine)

        def middle(rows: tuple[int, int]) -> None:
            """Fine layers over the background side, premultiplied."""
            band = slice(*rows)
            if back is None:
                middle_alpha[band] = fine[band]
                return
            keep = 1.0 - fine[band]
            middle_pre[band] += _scaled(back[0][band], keep)
            np.multiply(back[1][band], keep, out=middle_alpha[band])
            middle_alpha[band] += fine[band]

        list(self.pool.map(middle, bands))
        fill = None
        if front is not None:
            fill = _push_pull_half(middle_pre, np.clip(middle_alpha, 0.0, 1.0))

        def compose(rows: tuple[int, int]) -> None:
            band = slice(*rows)
            pre, alpha = middle_pre[band], middle_alpha[band]
            if front is not None:
                assert fill is not None
                solid = fine[band].copy()
                for name in ("back", "front"):
                    side = half[name]
                    if isinstance(side, _Side):
                        solid += side.coverage[band]
                missing = np.maximum(np.minimum(solid, 1.0) - alpha, 0.0)
                pre += _scaled(fill[band], missing)
                alpha += missing
                keep = 1.0 - front[1][band]
                _scaled(pre, keep, out=pre)
                pre += front[0][band]
                alpha *= keep
                alpha += front[1][band]
            inverse = np.divide(1.0, alpha, out=np.ones_like(alpha), where=alpha > 1e-6)
            _scaled(pre, inverse, out=pre)
            np.clip(alpha, 0.0, 1.0, out=alpha)

        list(self.pool.map(compose, bands))
        # The composite is written over the middle layers (no fresh level-1 arrays).
        return fill, (middle_pre, middle_alpha)

    # ------------------------------------------------------------------ half -> full

    def _compose_full(
        self,
        back: tuple[np.ndarray, np.ndarray] | None,
        front: tuple[np.ndarray, np.ndarray] | None,
        fill: np.ndarray | None,
        coarse: tuple[np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fine layers at full resolution, composited between the upsampled coarse sides."""
        out_rgb = np.empty((self.height, self.width, 3), np.float32)
        # An opaque photo of even size gets the coarse composite upsampled into the output
        # a whole row of tiles at a time, on the workers; tiles with any sharp or nearer
        # pixel then overwrite their part. Same values as per-tile upsampling (bilinear 2x
        # weights do not depend on the crop).
        upsampled_whole = self.alpha is None and self.height % 2 == 0 and self.width % 2 == 0

        def upsample_rows(y0: int, y1: int) -> None:
            half_h, half_w = self.half_shape
            h0, h1 = max(0, y0 // 2 - 1), min(half_h, y1 // 2 + 1)
            rows = cv2.resize(
                coarse[0][h0:h1, :half_w],
                (self.width, 2 * (h1 - h0)),
                interpolation=cv2.INTER_LINEAR,
            )
            out_rgb[y0:y1] = rows[y0 - 2 * h0 : y1 - 2 * h0]
            # The last row and column interpolate toward the level-1 padding, as per tile.
            (out_rgb[y0:y1, -1:],) = _upsample_region(
                coarse[:1], y0, y1, self.width - 1, self.width
            )
            if y1 == self.height:
                (out_rgb[-1:],) = _upsample_region(
                    coarse[:1], self.height - 1, self.height, 0, self.width
                )

        # An opaque photo needs no alpha plane (a full-size array is 4 bytes a pixel).
        out_alpha = np.empty(
            (self.height, self.width) if self.alpha is not None else (1, 1), np.float32
        )

        def put_alpha(target: tuple[slice, slice], value: float | np.ndarray) -> None:
            if self.alpha is not None:
                out_alpha[target] = value

        blur_one = aperture_kernel(1.0, self.aperture)

        def work(tile: tuple[int, int, int, int]) -> None:
            low, high = self.tile_range[tile]
            if low < 2.0 <= high:
                # Part sharp, part blurred: upsample the blurred composite everywhere, then
                # redo only the box around the (nearly) sharp pixels at full resolution.
                y0, y1, x0, x1 = tile
                coc = self.coc[y0:y1, x0:x1]
                near_focus = np.abs(coc) < 2.0
                rows = np.flatnonzero(near_focus.any(axis=1))
                cols = np.flatnonzero(near_focus.any(axis=0))
                if rows.size == 0:  # both sides of the focal plane, nothing near it
                    render(tile, 2.0, high)
                    return
                box = (y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1)
                if (box[1] - box[0]) * (box[3] - box[2]) < 0.7 * (y1 - y0) * (x1 - x0):
                    render(tile, 2.0, high)
                    inner = coc[box[0] - y0 : box[1] - y0, box[2] - x0 : box[3] - x0]
                    smallest, largest = float(inner.min()), float(inner.max())
                    inner_low = (
                        0.0 if smallest <= 0.0 <= largest else min(-smallest, largest, key=abs)
                    )
                    render(box, abs(inner_low), max(-smallest, largest))
                    return
            render(tile, low, high)

        def render(tile: tuple[int, int, int, int], low: float, high: float) -> None:
            """Composite one rectangle whose |CoC| lies in low..high."""
            y0, y1, x0, x1 = tile
            target = (slice(y0, y1), slice(x0, x1))
            rgb = self.rgb[target]
            alpha = None if self.alpha is None else self.alpha[target]
            front_here = front is not None and _region_max(front[1], y0, y1, x0, x1) > 0.0
            if high == 0.0 and not front_here:
                # Wholly in focus: the input, bit for bit.
                out_rgb[target] = rgb
                put_alpha(target, 1.0 if alpha is None else alpha)
                return
            if low >= 2.0:
                # Nothing sharp here: the half-resolution composite is exact enough.
                if upsampled_whole:
                    return
                if alpha is None or self._opaque(tile):
                    (out_rgb[target],) = _upsample_region(coarse[:1], y0, y1, x0, x1)
                    put_alpha(target, 1.0)
                else:
                    out_rgb[target], alpha_up = _upsample_region(coarse, y0, y1, x0, x1)
                    put_alpha(target, alpha_up)
                return
            pre: np.ndarray | None = None
            cover: np.ndarray | None = None
            if low < 2.0:
                magnitude = np.abs(layer_position(self.coc[target]))
                pre, cover = self._fine_layers(rgb, alpha, magnitude, tile, blur_one, high)
            opaque_fine = alpha is None and high <= 1.0
            if back is not None and not opaque_fine:
                back_pre, back_alpha = _upsample_region(back, y0, y1, x0, x1)
                if cover is None or pre is None:
                    pre, cover = back_pre, back_alpha
                else:
                    keep = 1.0 - cover
                    pre = pre + _scaled(back_pre, keep)
                    cover = cover + back_alpha * keep
            if pre is None or cover is None:
                pre = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
                cover = np.zeros((y1 - y0, x1 - x0), np.float32)
            if front_here:
                assert front is not None and fill is not None
                solid = 1.0 if alpha is None else alpha
                missing = np.maximum(solid - cover, 0.0)
                if float(missing.max()) > 0.0:
                    (fill_colour,) = _upsample_region((fill,), y0, y1, x0, x1)
                    pre = pre + _scaled(fill_colour, missing)
                    cover = cover + missing
                front_pre, front_alpha = _upsample_region(front, y0, y1, x0, x1)
                keep = 1.0 - front_alpha
                pre = front_pre + _scaled(pre, keep)
                cover = front_alpha + cover * keep
            if alpha is None and opaque_fine and not front_here:
                out_rgb[target] = pre
                put_alpha(target, 1.0)
                return
            inverse = np.divide(1.0, cover, out=np.ones_like(cover), where=cover > 1e-6)
            _scaled(pre, inverse, out=out_rgb[target])
            put_alpha(
                target, (1.0 if alpha is None or self._opaque(tile) else np.clip(cover, 0.0, 1.0))
            )

        rows_of_tiles: dict[int, list[tuple[int, int, int, int]]] = {}
        for tile in self._tiles():
            rows_of_tiles.setdefault(tile[0], []).append(tile)

        def work_row(tiles: list[tuple[int, int, int, int]]) -> None:
            if upsampled_whole:
                upsample_rows(tiles[0][0], tiles[0][1])
            for tile in tiles:
                work(tile)

        list(self.pool.map(work_row, rows_of_tiles.values()))
        return out_rgb, out_alpha

    def _transparency_reach(self, half: dict[str, _Side | np.ndarray | None]) -> np.ndarray:
        """Level-1 mask of pixels within blur reach of any (partly) transparent pixel.

        Where the photo is opaque all around, the output alpha is exactly 1; computing it
        through the layers would leave tiny deficits where half-resolution layers meet.
        """
        fine = half["fine"]
        assert isinstance(fine, np.ndarray)
        total = fine.copy()
        for name in ("back", "front"):
            side = half[name]
            if isinstance(side, _Side):
                total += side.coverage
        transparent = (total < 0.999).astype(np.uint8)
        reach = math.ceil(self.largest_blur / 2.0) + 2
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
        return cv2.dilate(transparent, kernel)

    def _opaque(self, tile: tuple[int, int, int, int]) -> bool:
        y0, y1, x0, x1 = tile
        mask = self.transparent_near
        return mask is not None and _region_max(mask, y0, y1, x0, x1) == 0

    def _fine_layers(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray | None,
        magnitude: np.ndarray,
        tile: tuple[int, int, int, int],
        blur_one: np.ndarray,
        high: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Premultiplied colour and coverage of the fine layers (|CoC| < 2 px) in a tile."""
        y0, y1, x0, x1 = tile
        fine = np.clip(2.0 - magnitude, 0.0, 1.0) if high > 1.0 else None
        blurred = None
        if high > 0.0:
            # A 1-pixel aperture blur, mixed in as |position| goes from 0 to 1.
            m0, m1 = max(0, y0 - 1), min(self.height, y1 + 1)
            n0, n1 = max(0, x0 - 1), min(self.width, x1 + 1)
            source = self.rgb[m0:m1, n0:n1]
            if self.alpha is not None:
                source = np.dstack(
                    [source * self.alpha[m0:m1, n0:n1, None], self.alpha[m0:m1, n0:n1]]
                )
            blurred = cv2.filter2D(source, -1, blur_one, borderType=cv2.BORDER_REFLECT)
            blurred = blurred[y0 - m0 : y0 - m0 + (y1 - y0), x0 - n0 : x0 - n0 + (x1 - x0)]
        partial = np.minimum(magnitude, 1.0)
        if alpha is None:
            pre = rgb if blurred is None else rgb + _scaled(blurred - rgb, partial)
            cover = np.ones_like(magnitude)
        else:
            sharp = _scaled(rgb, alpha)
            if blurred is None:
                pre, cover = sharp, alpha.copy()
            else:
                pre = sharp + _scaled(blurred[:, :, :3] - sharp, partial)
                cover = alpha + partial * (blurred[:, :, 3] - alpha)
        if fine is not None:
            pre = _scaled(pre, fine)
            cover = cover * fine
        return pre, cover


# --------------------------------------------------------------------------- helpers


def _scaled(colour: np.ndarray, plane: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``colour * plane[:, :, None]``, one channel at a time (``out`` may be ``colour``).

    NumPy broadcasts over a trailing axis of 3 with a tiny inner loop; per-channel passes
    over tiles are several times faster, with the same result.
    """
    if out is None:
        out = np.empty(colour.shape, np.float32)
    if colour.shape[2] == 3 and plane.dtype == np.float32 and _packed(colour) and _packed(out):
        # OpenCV's SIMD per-pixel product with a 3-channel copy of the plane: faster still
        # on tiles whose pixels are packed (any row stride), and the same IEEE products.
        cv2.multiply(colour, cv2.merge([plane, plane, plane]), dst=out)
        return out
    for channel in range(colour.shape[2]):
        np.multiply(colour[:, :, channel], plane, out=out[:, :, channel])
    return out


def _packed(array: np.ndarray) -> bool:
    """Float32 pixels and channels packed within each row (what ``cv::Mat`` can view)."""
    return (
        array.dtype == np.float32
        and array.strides[2] == array.itemsize
        and array.strides[1] == array.itemsize * array.shape[2]
    )


def _convolve(
    source: np.ndarray,
    kernel: np.ndarray,
    bands: list[tuple[int, int, np.ndarray]] | None = None,
) -> np.ndarray:
    """``cv2.filter2D(source, -1, kernel, borderType=cv2.BORDER_REFLECT)``, always direct.

    OpenCV switches to DFT filtering for kernels of 130 or more cells, which costs two to
    three times the direct sum for aperture kernels of 13x13 to 19x19. Such a kernel is
    cut into bands of rows whose non-zero boxes stay below that size; each band filters
    the reflect-padded source directly and the bands are summed (the same sum, in another
    order: differences are float32 rounding, ~3e-7). ``bands`` is ``_kernel_bands(kernel)``
    when the caller filters several planes with one kernel.
    """
    size = kernel.shape[0]
    if size * kernel.shape[1] < _DIRECT_FILTER_AREA:
        return cv2.filter2D(source, -1, kernel, borderType=cv2.BORDER_REFLECT)
    half_y, half_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    height, width = source.shape[:2]
    padded = cv2.copyMakeBorder(source, half_y, half_y, half_x, half_x, cv2.BORDER_REFLECT)
    result: np.ndarray | None = None
    for row, col, piece in bands if bands is not None else _cached_bands(kernel):
        rows, cols = piece.shape
        window = padded[row : row + height + rows - 1, col : col + width + cols - 1]
        part = cv2.filter2D(window, -1, piece, anchor=(0, 0), borderType=cv2.BORDER_REFLECT)
        if result is None:
            result = part[:height, :width]
        else:
            result += part[:height, :width]
    if result is None:  # an all-zero kernel
        return np.zeros_like(source)
    return result


def _cached_bands(kernel: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """:func:`_kernel_bands`, remembered per kernel (a render uses a few dozen, many times)."""
    return _bands_of(kernel.tobytes(), kernel.shape)


@lru_cache(maxsize=256)
def _bands_of(cells: bytes, shape: tuple[int, ...]) -> list[tuple[int, int, np.ndarray]]:
    return _kernel_bands(np.frombuffer(cells, np.float32).reshape(shape))


def _kernel_bands(kernel: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """Row bands of ``kernel`` cropped to their non-zero columns, each under the DFT size.

    Returns (first row, first column, band) triples that together hold every non-zero cell.
    """
    present = kernel != 0
    bands = []
    start = 0
    size = kernel.shape[0]
    while start < size:
        end, box = start + 1, None
        while end <= size:
            cols = np.flatnonzero(present[start:end].any(axis=0))
            candidate = (int(cols[0]), int(cols[-1]) + 1) if cols.size else None
            area = 0 if candidate is None else (end - start) * (candidate[1] - candidate[0])
            if area >= _DIRECT_FILTER_AREA and end > start + 1:
                end -= 1
                break
            box = candidate
            end += 1
        end = min(end, size)
        if box is not None:
            piece = np.ascontiguousarray(kernel[start:end, box[0] : box[1]])
            bands.append((start, box[0], piece))
        start = end
    return bands


def _even(array: np.ndarray) -> np.ndarray:
    """Pad rows and columns to even counts by repeating the last one."""
    height, width = array.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return array
    return cv2.copyMakeBorder(array, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)


def _half(array: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Exact 2x2 box average (both dimensions even), written into ``out`` when given.

    Bilinear sampling at exactly half size lands on the centre of each 2x2 block with
    weights of 1/2, so it is the box average too (to 1 ulp); OpenCV runs it three times
    faster than INTER_AREA on 3-channel float images, and slower on 1-channel ones.
    """
    height, width = array.shape[:2]
    method = cv2.INTER_LINEAR if array.ndim == 3 and array.shape[2] == 3 else cv2.INTER_AREA
    result = cv2.resize(array, (width // 2, height // 2), dst=out, interpolation=method)
    if out is not None and result is not out:  # OpenCV could not write into the view
        out[...] = result
        return out
    return result


def _upsample2_within(
    arrays: tuple[np.ndarray, np.ndarray], box: tuple[int, int, int, int] | None, level: int
) -> tuple[np.ndarray, np.ndarray]:
    """2x bilinear upsampling of (C, H, W) planes and an (H, W) plane at ``level`` that are zero
    outside the level-1 ``box``: only the box, plus a margin of zeros, is resampled.

    Bilinear 2x upsampling reads a pixel's neighbours at most one away, so a crop with one
    row and column of zeros around the data (or the array's own border, which OpenCV
    replicates either way) gives the same values as the whole array.
    """
    planes, alpha = arrays
    height, width = alpha.shape
    if box is None:
        return (
            np.zeros((planes.shape[0], height * 2, width * 2), np.float32),
            np.zeros((height * 2, width * 2), np.float32),
        )
    up_planes = np.empty((planes.shape[0], height * 2, width * 2), np.float32)
    up_alpha = np.empty((height * 2, width * 2), np.float32)
    factor = 2 ** (level - 1)
    y0, y1, x0, x1 = box
    y0, x0 = max(0, y0 // factor - 1), max(0, x0 // factor - 1)
    y1, x1 = min(height, -(-y1 // factor) + 1), min(width, -(-x1 // factor) + 1)
    size = (2 * (x1 - x0), 2 * (y1 - y0))
    target = (slice(2 * y0, 2 * y1), slice(2 * x0, 2 * x1))
    for plane, up in (*zip(planes, up_planes, strict=True), (alpha, up_alpha)):
        # Zeros around the box (written once, not under the resampled box as well).
        up[: 2 * y0] = 0.0
        up[2 * y1 :] = 0.0
        up[target[0], : 2 * x0] = 0.0
        up[target[0], 2 * x1 :] = 0.0
        cv2.resize(plane[y0:y1, x0:x1], size, dst=up[target], interpolation=cv2.INTER_LINEAR)
    return up_planes, up_alpha


def _union(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    return (
        min(first[0], second[0]),
        max(first[1], second[1]),
        min(first[2], second[2]),
        max(first[3], second[3]),
    )


def _upsample_region(
    arrays: tuple[np.ndarray, ...], y0: int, y1: int, x0: int, x1: int
) -> list[np.ndarray]:
    """Full-resolution region [y0:y1, x0:x1] of level-1 arrays (bilinear, exact 2x geometry)."""
    h0 = max(0, y0 // 2 - 1)
    h1 = min(arrays[0].shape[0], (y1 + 1) // 2 + 1)
    w0 = max(0, x0 // 2 - 1)
    w1 = min(arrays[0].shape[1], (x1 + 1) // 2 + 1)
    results = []
    for array in arrays:
        piece = array[h0:h1, w0:w1]
        up = cv2.resize(piece, ((w1 - w0) * 2, (h1 - h0) * 2), interpolation=cv2.INTER_LINEAR)
        results.append(up[y0 - 2 * h0 : y1 - 2 * h0, x0 - 2 * w0 : x1 - 2 * w0])
    return results


def _region_max(array: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> float:
    """Largest level-1 value that bilinear upsampling can bring into a full-res region."""
    piece = array[max(0, y0 // 2 - 1) : y1 // 2 + 2, max(0, x0 // 2 - 1) : x1 // 2 + 2]
    return float(piece.max(initial=0.0))


def _reflect_into_padding(array: np.ndarray, height: int, width: int) -> None:
    """Fill rows >= height and columns >= width by mirroring the content (BORDER_REFLECT)."""
    total_h, total_w = array.shape[:2]
    if total_h > height:
        if total_h - height <= height:
            array[height:] = array[
                height - 1 : 2 * height - total_h - 1 if 2 * height - total_h > 0 else None : -1
            ]
        else:
            array[height:] = array[_reflect_indices(height, total_h - height)]
    if total_w > width:
        if total_w - width <= width:
            array[:, width:] = array[
                :, width - 1 : 2 * width - total_w - 1 if 2 * width - total_w > 0 else None : -1
            ]
        else:
            array[:, width:] = array[:, _reflect_indices(width, total_w - width)]


def _reflect_indices(size: int, count: int) -> np.ndarray:
    index = (np.arange(count) + size) % (2 * size)
    return np.where(index < size, index, 2 * size - 1 - index)


def _level_shape(shape: tuple[int, ...], level: int) -> tuple[int, int]:
    factor = 2 ** (level - 1)
    return (shape[0] // factor, shape[1] // factor)


def _level_slices(box: tuple[int, int, int, int], level: int) -> tuple[slice, slice]:
    factor = 2 ** (level - 1)
    y0, y1, x0, x1 = box
    return slice(y0 // factor, y1 // factor), slice(x0 // factor, x1 // factor)


def _side_pyramid(
    side: _Side, nearer_fixed: np.ndarray | None, levels: int
) -> list[tuple[_Side, np.ndarray | None]]:
    """The side's level-1 data and ``levels - 1`` successive 2x reductions of it.

    Positions are averaged weighted by coverage, so a reduced pixel keeps the layer
    position of what it covers.
    """
    pyramid = [(side, nearer_fixed)]
    for _ in range(max(0, levels - 1)):
        current, nearer = pyramid[-1]
        coverage = _half(current.coverage)
        weighted = _half(current.position * current.coverage)
        position = np.divide(
            weighted, coverage, out=np.full_like(coverage, 2.0), where=coverage > 1e-6
        )
        np.clip(position, 2.0, current.top_index, out=position)
        reduced = _Side(
            coverage=coverage,
            premultiplied=_half(current.premultiplied),
            position=position,
            top_index=current.top_index,
        )
        pyramid.append((reduced, None if nearer is None else _half(nearer)))
    return pyramid


def _tile_ranges(position: np.ndarray, coverage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile min and max layer position over covered pixels (+inf/-inf when empty)."""
    height, width = position.shape
    # +inf where nothing is covered, else 0 (OpenCV's SIMD threshold and sums: several times
    # NumPy's where() with a scalar, and the same values, as x + 0 = x).
    _, absent = cv2.threshold(coverage, 1e-6, math.inf, cv2.THRESH_BINARY_INV)
    # Rows of tiles first (long contiguous passes), then the short runs within a row:
    # the same values as one reduction over both axes, in less time.
    low = cv2.add(position, absent).reshape(height // _TILE, _TILE, width).min(axis=1)
    high = cv2.subtract(position, absent).reshape(height // _TILE, _TILE, width).max(axis=1)
    tiles = (height // _TILE, width // _TILE, _TILE)
    return low.reshape(tiles).min(axis=2), high.reshape(tiles).max(axis=2)


def _layer_box(
    tile_min: np.ndarray,
    tile_max: np.ndarray,
    index: int,
    radius: float,
    level: int,
    shape: tuple[int, ...],
) -> tuple[int, int, int, int] | None:
    """Level-1 box holding a layer's pixels plus its blur reach, aligned to its level."""
    touched = (tile_min < index + 1) & (tile_max > index - 1)
    if not touched.any():
        return None
    rows = np.flatnonzero(touched.any(axis=1))
    cols = np.flatnonzero(touched.any(axis=0))
    # Reach: the blur radius at level 1, plus kernel rounding and the downsampling footprint.
    factor = 2 ** (level - 1)
    margin = math.ceil(radius / 2.0) + 2 * factor + 2
    align = factor
    y0 = max(0, (rows[0] * _TILE - margin) // align * align)
    x0 = max(0, (cols[0] * _TILE - margin) // align * align)
    y1 = min(shape[0], -(-((rows[-1] + 1) * _TILE + margin) // align) * align)
    x1 = min(shape[1], -(-((cols[-1] + 1) * _TILE + margin) // align) * align)
    return int(y0), int(y1), int(x0), int(x1)


def _push_pull_half(pre: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """:func:`_push_pull` run two levels coarser (the fill is smooth), returned at full size."""
    height, width = alpha.shape
    size = ((width + 3) // 4, (height + 3) // 4)
    small = _push_pull(
        cv2.resize(pre, size, interpolation=cv2.INTER_AREA),
        cv2.resize(alpha, size, interpolation=cv2.INTER_AREA),
    )
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _push_pull(pre: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Opaque colour everywhere: premultiplied data where present, extrapolated elsewhere."""
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
    for p, a in reversed(levels[:-1]):
        up = cv2.resize(filled, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_LINEAR)
        filled = p + (1.0 - np.minimum(a, 1.0))[:, :, None] * up
    return filled.astype(np.float32)


__all__ = ["layer_position", "layer_radius", "render_defocus"]
