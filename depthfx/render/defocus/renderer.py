"""The renderer: :func:`render_defocus` checks its inputs and runs the layered blur.

Full-resolution work is done in tiles on the shared workers (NumPy and OpenCV release the
GIL); tiles that are wholly sharp are copied and wholly blurred ones are just upsampled, so
the expensive per-pixel path only runs near the focal plane. Layers are blurred inside the
bounding box of their pixels plus the blur's reach, level by level, in bands of rows on
the workers (each band widened by its kernel's reach: the same sums as whole), so no
worker holds a whole layer; within a band only the window around the layer's own pixels is
blurred (outside it the blur is zero). The result may be written over the photo itself (``out=``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np

from ..._parallel import ThreadScratch, row_bands, run_all
from ...errors import ParameterError
from ...image import as_float_image, checked_out, split_alpha
from ...stats import extremes
from ..kernels import Aperture, aperture_kernel
from .highlights import Highlights
from .layer_blur import LayerBlur
from .layers import coarse_layer_magnitude, layer_level, layer_position, layer_radius
from .pixels import scaled
from .resample import (
    CoarseFill,
    box_union,
    even_size,
    half_size,
    level_shape,
    level_slices,
    reflect_into_padding,
    region_max,
    upsample2_rows,
    upsample2_within,
    upsample_region,
)
from .sides import TILE, FineColour, LevelOne, Side, layer_box, side_pyramid, tile_position_ranges
from .solid import fill_solid_interior
from .source_rows import Rows, SourceRows

ProgressCallback = Callable[[str, float], None]

# Full-resolution tiles (even-aligned), and rows per band of the level-1 passes.
_TILE_ROWS = 128
_TILE_COLS = 512
_BAND_ROWS = 64
# Rows per band of the layers (at their level; each band also blurs its kernel's reach
# above and below: a few rows more).
_LAYER_BAND_ROWS = 128


def render_defocus(
    image: np.ndarray,
    coc_radius: np.ndarray,
    *,
    aperture: Aperture | None = None,
    highlight_threshold: float | None = None,
    highlight_gain: float = 0.0,
    far_coc: np.ndarray | None = None,
    far_share: np.ndarray | None = None,
    progress: ProgressCallback | None = None,
    out: np.ndarray | None = None,
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
    far_coc, far_share : ndarray float32 (H, W), optional
        Pixels split between two depths (along depth edges matted to the photo,
        :func:`depthfx.matte.edge_matte`): ``far_share`` (0..1) of each pixel is blurred
        with ``far_coc`` instead of ``coc_radius``, in the far side's layers. Give both or
        neither.
    progress : callable(stage, fraction), optional
        Called as work advances.
    out : ndarray, optional
        float32 array of the image's shape to receive the result; it may be ``image``
        itself, which saves a full-size copy. The result is returned either way.

    Returns
    -------
    ndarray float32, the same shape as ``image`` (``out`` when given).

    Raises
    ------
    ParameterError
        Shapes differ, the CoC is not finite, highlight options are out of range, or
        ``out`` is not a float32 array of the image's shape.

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
    target = checked_out(out, image)
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
    split = _split_pixels(coc, far_coc, far_share)
    if split is not None:
        far_extremes = (float(split[0].min()), float(split[0].max()))
        extremes = (min(extremes[0], far_extremes[0]), max(extremes[1], far_extremes[1]))
    highlights = None
    if highlight_threshold is not None and highlight_gain > 0:
        if not 0.0 <= highlight_threshold < 1.0:
            raise ParameterError(
                f"highlight_threshold must be in 0..1 (linear luminance), got {highlight_threshold}"
            )
        highlights = Highlights(float(highlight_threshold), float(highlight_gain))
    if not 0.0 <= highlight_gain <= 100.0:
        raise ParameterError(f"highlight_gain must be in 0..100, got {highlight_gain}")
    aperture = aperture or Aperture()
    report = progress or (lambda stage, fraction: None)

    if max(extremes[1], -extremes[0], 0.0) < 0.5:
        report("done", 1.0)
        if target is None:
            return image.copy()
        np.copyto(target, image)
        return target
    rgb, alpha = split_alpha(image)
    result = np.empty(image.shape, np.float32) if target is None else target
    renderer = _Renderer(rgb, alpha, coc, extremes, aperture, highlights, report, split)
    renderer.run(result)
    report("done", 1.0)
    return result


def _merge_rows(planes: np.ndarray, target: np.ndarray) -> None:
    """(3, n, w) colour planes interleaved into ``target`` (n, w, 3)."""
    if planes.shape[1] == 0:
        return
    merged = cv2.merge(list(planes), dst=target)
    if merged is not target:  # OpenCV could not write into the view
        target[...] = merged


def _split_pixels(
    coc: np.ndarray, far_coc: np.ndarray | None, far_share: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """The checked far side of split pixels, or None when no pixel is split."""
    if far_coc is None and far_share is None:
        return None
    if far_coc is None or far_share is None:
        raise ParameterError("give both far_coc and far_share, or neither")
    far = np.asarray(far_coc, dtype=np.float32)
    share = np.asarray(far_share, dtype=np.float32)
    if far.shape != coc.shape or share.shape != coc.shape:
        raise ParameterError(
            f"far_coc {far.shape} and far_share {share.shape} must match coc_radius {coc.shape}"
        )
    low, high = extremes(share) if share.size else (0.0, 0.0)
    if not (math.isfinite(float(far.min(initial=0.0)) + float(far.max(initial=0.0)))):
        raise ParameterError("far_coc must be finite everywhere")
    if not (low >= 0.0 and high <= 1.0):
        raise ParameterError(f"far_share must lie in 0..1, got {low:g}..{high:g}")
    return (far, share) if high > 0.0 else None


# Columns of OpenCV's SIMD logarithm per step (at most): a box of whole steps from a
# multiple of it, in a tile of whole steps, has each pixel's logarithm rounded as over the
# whole tile (the few pixels past the last whole step take a scalar path).
_SIMD_STEP = 32


def _weighted_box(base: np.ndarray) -> tuple[slice, slice] | None:
    """Rows and columns of ``base`` (>= 0) holding all its positive values, or None.

    The columns are whole ``_SIMD_STEP`` steps where the width is; else the box is the
    whole array (a box of fewer rows would move the pixels past the last whole step).
    """
    row_max = cv2.reduce(base, 1, cv2.REDUCE_MAX)[:, 0]
    rows = np.flatnonzero(row_max > 0.0)
    if rows.size == 0:
        return None
    height, width = base.shape
    if width % _SIMD_STEP:
        return slice(0, height), slice(0, width)
    band = base[rows[0] : rows[-1] + 1]
    cols = np.flatnonzero(cv2.reduce(band, 0, cv2.REDUCE_MAX)[0] > 0.0)
    left = int(cols[0]) // _SIMD_STEP * _SIMD_STEP
    right = -(-(int(cols[-1]) + 1) // _SIMD_STEP) * _SIMD_STEP
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(left, right)


def _nonnegative(rgb: np.ndarray) -> bool:
    """Whether no colour value is negative (zero shares of it are then +0, not -0)."""
    return bool(rgb.min(initial=0.0) >= 0.0)


class _Renderer:
    def __init__(
        self,
        rgb: np.ndarray,
        alpha: np.ndarray | None,
        coc: np.ndarray,
        extremes: tuple[float, float],
        aperture: Aperture,
        highlights: Highlights | None,
        report: ProgressCallback,
        split: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.rgb = rgb
        # (far CoC, far share) of pixels split between two depths, or None.
        self.split = split
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
        deepest = layer_level(layer_radius(max(2, math.ceil(top))))
        # Level-1 arrays are padded so every deeper level divides them exactly.
        self.multiple = 2 ** (deepest - 1) * TILE
        self.transparent_near: np.ndarray | None = None
        # Band-sized buffers reused by each worker from layer to layer.
        self.scratch = ThreadScratch()
        self.layer_blur = LayerBlur(aperture, (self.height, self.width), self.scratch)

    # ------------------------------------------------------------------ orchestration

    def run(self, result: np.ndarray) -> None:
        """Render into ``result`` (H, W, 3|4), which may be the photo itself."""
        self.report("preparing layers", 0.0)
        level_one = self._downsample_coarse()
        self.report("blurring layers", 0.2)
        # One side after the other: the foreground's reduced copies take the place of
        # the background's.
        back = (
            self._composite_side(level_one.back, self._pyramid(level_one, True), back=True)
            if level_one.back is not None
            else None
        )
        self.report("blurring layers", 0.5)
        front = (
            self._composite_side(level_one.front, self._pyramid(level_one, False), back=False)
            if level_one.front is not None
            else None
        )
        if front is not None and level_one.front is not None:
            # Shared pixels leave the foreground see-through along its depth steps.
            reach = layer_radius(level_one.front.top_index) / 2.0
            fill_solid_interior(*front, level_one.front.coverage, reach=reach)
        fill, coarse = self._level_one_composite(level_one, back, front)
        self.report("compositing", 0.8)
        self.transparent_near = (
            self._transparency_reach(level_one) if self.alpha is not None else None
        )
        self._compose_full(back, front, fill, coarse, result)

    # ------------------------------------------------------------------ full -> half

    def _tiles(self) -> list[tuple[int, int, int, int]]:
        """Even-aligned tiles of the full-resolution image: (y0, y1, x0, x1)."""
        rows, cols = _TILE_ROWS, _TILE_COLS
        return [
            (y, min(y + rows, self.height), x, min(x + cols, self.width))
            for y in range(0, self.height, rows)
            for x in range(0, self.width, cols)
        ]

    def _downsample_coarse(self) -> LevelOne:
        """Split every pixel into its fine and coarse shares and average them to level 1.

        Membership is decided per full-resolution pixel before averaging, so a 2x2 block
        that straddles a depth edge never carries the sharp side's colour into a blurred
        layer. Tiles that are wholly sharp or wholly blurred skip most of the arithmetic.
        """
        half_h, half_w = self.half_shape
        m = self.multiple
        padded = (-(-half_h // m) * m, -(-half_w // m) * m)

        def empty_side(top: int) -> Side:
            # Sums over each tile: ``position`` holds coverage x |position| until finished.
            return Side(
                coverage=np.zeros(padded, np.float32),
                premultiplied=np.zeros((*padded, 3), np.float32),
                position=np.zeros(padded, np.float32),
                top_index=max(top, 2),
            )

        back_side = empty_side(self.back_top) if self.has_back else None
        front_side = empty_side(self.front_top) if self.has_front else None
        # (behind the focal plane, side) for the sides present.
        sides = [(back, side) for back, side in ((True, back_side), (False, front_side)) if side]
        fine = np.zeros(padded, np.float32)
        fine_pre = FineColour(padded)

        def work(tile: tuple[int, int, int, int]) -> None:
            y0, y1, x0, x1 = tile
            coc = self.coc[y0:y1, x0:x1]
            parts = self._parts(tile)
            smallest, largest = self._coc_extremes(tile, parts)
            high = max(-smallest, largest)
            low = 0.0 if smallest <= 0.0 <= largest else min(abs(smallest), abs(largest))
            self.tile_range[tile] = (low, high)
            rgb = even_size(self.rgb[y0:y1, x0:x1])
            alpha = None if self.alpha is None else even_size(self.alpha[y0:y1, x0:x1])
            region = (
                slice(y0 // 2, y0 // 2 + rgb.shape[0] // 2),
                slice(x0 // 2, x0 // 2 + rgb.shape[1] // 2),
            )
            if parts is not None:
                split_tile(parts, rgb, alpha, region)
                return
            if high <= 1.0:
                # Wholly fine: no layer position needed.
                fine[region] = 1.0 if alpha is None else half_size(alpha)
                fine_pre.put(region, half_size(rgb if alpha is None else scaled(rgb, alpha)))
                return
            if low >= 2.0 and alpha is None and (smallest > 0.0 or largest < 0.0):
                # Wholly coarse on one side of the focal plane: the common case, kept cheap.
                # Positions are averaged after mapping on 2x2 blocks of similar CoC.
                side = back_side if smallest > 0.0 else front_side
                assert side is not None
                lit = self.highlights.boost(rgb) if self.highlights is not None else rgb
                side.coverage[region] = 1.0
                half_size(lit, out=side.premultiplied[region])
                coarse_layer_magnitude(half_size(even_size(coc)), out=side.position[region])
                return
            position = even_size(layer_position(coc))
            magnitude = np.abs(position)
            # The coarse layers' share (None for "1 everywhere"); with pixels under 2 px
            # here, the fine layers take the rest.
            coarse: np.ndarray | None = alpha
            if low < 2.0:
                share = np.clip(2.0 - magnitude, 0.0, 1.0)
                fine_share = share if alpha is None else share * alpha
                coarse = (1.0 - share) if alpha is None else alpha - fine_share
                fine[region] = half_size(fine_share)
                fine_pre.put(region, half_size(scaled(rgb, fine_share)))
            lit = self.highlights.boost(rgb) if self.highlights is not None else rgb
            for back, side in sides:
                if back:
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
                    side.coverage[region] = 1.0
                    half_size(lit, out=side.premultiplied[region])
                    half_size(magnitude, out=side.position[region])
                else:
                    share_side = share_side.astype(np.float32, copy=False)
                    side.coverage[region] = half_size(share_side)
                    half_size(scaled(lit, share_side), out=side.premultiplied[region])
                    side.position[region] = half_size(share_side * magnitude)

        def split_tile(
            parts: list[tuple[np.ndarray, np.ndarray]],
            rgb: np.ndarray,
            alpha: np.ndarray | None,
            region: tuple[slice, slice],
        ) -> None:
            """A tile with split pixels: each part's shares are summed at full resolution.

            A part adds zeros where its weight is zero and to a side it has no pixel on, so
            only the box of its weighted pixels is summed, into the sides it reaches (most
            split tiles have a few split pixels along an edge, on one side of the focus).
            """
            fine_total = np.zeros(rgb.shape[:2], np.float32)
            shares = {back: np.zeros_like(fine_total) for back, _ in sides}
            weighted = {back: np.zeros_like(fine_total) for back, _ in sides}
            reached = dict.fromkeys(shares, False)
            for coc_part, weight in parts:
                base = even_size(weight) if alpha is None else even_size(weight) * alpha
                box = _weighted_box(base)
                if box is None:
                    continue
                base = base[box]
                signed = even_size(coc_part)[box]
                magnitude = np.abs(layer_position(signed))
                fine_part = np.clip(2.0 - magnitude, 0.0, 1.0) * base
                fine_total[box] += fine_part
                coarse = base - fine_part
                smallest, largest = extremes(signed)
                for back, _ in sides:
                    if not (largest > 0.0 if back else smallest < 0.0):
                        continue
                    reached[back] = True
                    share = coarse * ((signed > 0) if back else (signed < 0))
                    shares[back][box] += share
                    weighted[back][box] += share * magnitude
            fine[region] = half_size(fine_total)
            fine_pre.put(region, half_size(scaled(rgb, fine_total)))
            lit = self.highlights.boost(rgb) if self.highlights is not None else rgb
            for back, side in sides:
                if not reached[back] and _nonnegative(lit):
                    continue  # all its sums are zeros, as the side's arrays already hold
                side.coverage[region] = half_size(shares[back])
                half_size(scaled(lit, shares[back]), out=side.premultiplied[region])
                side.position[region] = half_size(weighted[back])

        self.tile_range: dict[tuple[int, int, int, int], tuple[float, float]] = {}
        run_all(work, self._tiles())

        def finish(item: Side | np.ndarray) -> Side | None:
            """Mirror into the padding; a side also gets its positions normalized and ranged."""
            if not isinstance(item, Side):
                reflect_into_padding(item, half_h, half_w)
                return None
            coverage, position = item.coverage, item.position
            reflect_into_padding(coverage, half_h, half_w)
            reflect_into_padding(position, half_h, half_w)
            # In bands: a whole-plane temporary is a level-1 plane more per side.
            for rows in row_bands(position.shape[0], _BAND_ROWS):
                band = slice(*rows)
                np.divide(position[band], np.maximum(coverage[band], 1e-12), out=position[band])
                np.clip(position[band], 2.0, item.top_index, out=position[band])
            return replace(item, tile_ranges=tile_position_ranges(position, coverage))

        # The sides' (larger) jobs first, so the workers finish together.
        jobs: list[Side | np.ndarray] = [side for _, side in sides]
        jobs += [side.premultiplied for _, side in sides] + [fine]
        done = run_all(finish, jobs)
        finished = {back: result for (back, _), result in zip(sides, done, strict=False)}
        return LevelOne(
            fine=fine,
            fine_pre=fine_pre,
            back=finished.get(True),
            front=finished.get(False),
        )

    # ------------------------------------------------------------------ coarse layers

    def _pyramid(self, level_one: LevelOne, back: bool) -> list[tuple[Side, np.ndarray | None]]:
        """A side's level-1 data and its reductions, with the occupancy nearer than all its
        layers (behind the focal plane: the fine layers and the whole foreground)."""
        side = level_one.back if back else level_one.front
        if side is None:
            return []
        nearer_fixed = None
        if back:
            # Only read from here on: the fine layers' own plane serves without a foreground.
            nearer_fixed = level_one.fine
            front = level_one.front
            if front is not None:
                fine, total = level_one.fine, np.empty_like(level_one.fine)

                def add_front(rows: tuple[int, int]) -> None:
                    band = slice(*rows)
                    np.add(fine[band], front.coverage[band], out=total[band])

                run_all(add_front, row_bands(total.shape[0], _BAND_ROWS))
                nearer_fixed = total
        deepest = layer_level(layer_radius(side.top_index))
        return side_pyramid(side, nearer_fixed, deepest - 1)

    def _composite_side(
        self,
        side: Side,
        pyramid: list[tuple[Side, np.ndarray | None]],
        *,
        back: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Blur and composite one side's layers at their levels; returns level-1 (pre, alpha).

        Behind the focal plane layers go far to near (``over``); in front they go near to
        far (``under``), so in both cases resolution only increases as work proceeds and
        the running composite is upsampled, never downsampled.
        """
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
            level = layer_level(radius)
            box = layer_box(tile_min, tile_max, index, radius, level, side.position.shape)
            plans.append((index, radius, level, box))

        def composite(
            layer: tuple[list[np.ndarray], np.ndarray],
            target: tuple[np.ndarray, np.ndarray],
            ys: slice,
            xs: slice,
        ) -> None:
            """One layer's (pre planes, alpha) over or under a running composite's (planes,
            alpha) there."""
            pre, alpha = layer
            target_alpha = target[1][ys, xs]
            # Behind the focal plane the layer goes over the composite, which keeps what the
            # layer leaves uncovered; in front it goes under, showing where the composite
            # leaves room. Either way the one scaled is then added to the other.
            keep = np.subtract(
                1.0, alpha if back else target_alpha, out=self.scratch.get("keep", alpha.shape)
            )
            for target_plane, plane in zip(target[0][:, ys, xs], pre, strict=True):
                faded = target_plane if back else plane
                np.multiply(faded, keep, out=faded)
                target_plane += plane
            faded_alpha = target_alpha if back else alpha
            np.multiply(faded_alpha, keep, out=faded_alpha)
            target_alpha += alpha

        def blur_rows(
            group: list[tuple[int, float, int, tuple[int, int, int, int] | None]],
            rows: tuple[int, int],
            target: tuple[np.ndarray, np.ndarray, int],
        ) -> None:
            """A level's layers, in depth order, over rows b0..b1 of the composite, whose
            (planes, alpha, first row) ``target`` holds those rows.

            Each layer is blurred over these rows plus its kernel's reach (the same sums as
            over its whole box), so a worker holds a band of each layer, not the whole
            layer (at level 1, among the largest arrays of a render).
            """
            b0, b1 = rows
            for index, radius, level, box in group:
                if box is None:
                    continue
                factor = 2 ** (level - 1)
                y0, y1 = box[0] // factor, box[1] // factor
                s0, s1 = max(y0, b0), min(y1, b1)
                if s0 >= s1:
                    continue
                reach = self.layer_blur.reach(radius, level)
                e0, e1 = max(y0, s0 - reach), min(y1, s1 + reach)
                # Layer membership is decided one level finer than the blur: at level 1
                # for small blurs (where it matters), cheaper for the wide ones.
                work_level = max(1, level - 1)
                source, nearer_source = pyramid[work_level - 1]
                rows_box = (e0 * factor, e1 * factor, box[2], box[3])
                blurred = self.layer_blur.blur(
                    source, index, radius, level, work_level, rows_box, nearer_source, back=back
                )
                if blurred is None:  # no pixel of the layer here: nothing to composite
                    continue
                # The band's own rows of the window the layer was blurred in (zero outside).
                w0 = e0 + blurred.top
                r0, r1 = max(s0, w0), min(s1, w0 + blurred.alpha.shape[0])
                if r0 >= r1:
                    continue
                inside = slice(r0 - w0, r1 - w0)
                layer = ([plane[inside] for plane in blurred.pre], blurred.alpha[inside])
                ys = slice(r0 - target[2], r1 - target[2])
                x0 = level_slices(box, level)[1].start + blurred.left
                composite(layer, target[:2], ys, slice(x0, x0 + blurred.alpha.shape[1]))

        def reported(group: list[tuple[int, float, int, tuple[int, int, int, int] | None]]) -> None:
            done = plans.index(group[-1]) + 1
            self.report("blurring layers", (0.2 if back else 0.5) + 0.3 * done / count)

        # Level by level, deepest first (levels only decrease toward layer 2); within a
        # level, bands of rows in parallel. The running composite is kept as colour
        # planes, like the layers.
        for level in sorted({plan[2] for plan in plans if plan[2] > 1}, reverse=True):
            group = [plan for plan in plans if plan[2] == level]
            if acc_pre is None:
                acc_level = level
                shape = level_shape(side.position.shape, level)
                acc_pre = np.zeros((3, *shape), np.float32)
                acc_alpha = np.zeros(shape, np.float32)
            assert acc_alpha is not None
            while acc_level > level:
                acc_pre, acc_alpha = upsample2_within((acc_pre, acc_alpha), acc_box, acc_level)
                acc_level -= 1
            bands = row_bands(acc_alpha.shape[0], _LAYER_BAND_ROWS)
            run_all(functools.partial(blur_rows, group, target=(acc_pre, acc_alpha, 0)), bands)
            for plan in group:
                if plan[3] is not None:
                    acc_box = plan[3] if acc_box is None else box_union(acc_box, plan[3])
            reported(group)
        while acc_pre is not None and acc_alpha is not None and acc_level > 2:
            acc_pre, acc_alpha = upsample2_within((acc_pre, acc_alpha), acc_box, acc_level)
            acc_level -= 1
        deep = None if acc_pre is None or acc_alpha is None else (acc_pre, acc_alpha)
        shallow = [plan for plan in plans if plan[2] == 1]
        # At level 1 each band of rows upsamples its own rows of the composite so far and
        # composites the layers there, and its result is written over the side's own
        # colour, which the layers no longer need there: no level-1 composite of colour
        # planes besides it. Rows that other bands' layers still read (within their reach)
        # are held and written once all bands are done.
        colour = side.premultiplied
        height, width = side.position.shape
        alpha_out = np.empty((height, width), np.float32)
        margin = max((self.layer_blur.reach(plan[1], 1) for plan in shallow), default=0)
        held: list[tuple[int, np.ndarray]] = []

        def level_one_rows(rows: tuple[int, int]) -> None:
            b0, b1 = rows
            if deep is None:
                band_pre = np.zeros((3, b1 - b0, width), np.float32)
                band_alpha = np.zeros((b1 - b0, width), np.float32)
            else:
                band_pre, band_alpha = upsample2_rows(deep, acc_box, 2, b0, b1)
            blur_rows(shallow, rows, target=(band_pre, band_alpha, b0))
            alpha_out[b0:b1] = band_alpha
            inner = slice(min(margin, b1 - b0), max(min(margin, b1 - b0), b1 - b0 - margin))
            _merge_rows(band_pre[:, inner], colour[b0 + inner.start : b0 + inner.stop])
            held.append((b0, band_pre[:, : inner.start].copy()))
            held.append((b0 + inner.stop, band_pre[:, inner.stop :].copy()))

        run_all(level_one_rows, row_bands(height, _LAYER_BAND_ROWS))
        for first, planes in held:
            _merge_rows(planes, colour[first : first + len(planes[0])])
        if shallow:
            reported(shallow)
        if self.highlights is not None:
            self.highlights.compress(colour, alpha_out)
        return colour, alpha_out

    # ------------------------------------------------------------------ level-1 composite

    def _level_one_composite(
        self,
        level_one: LevelOne,
        back: tuple[np.ndarray, np.ndarray] | None,
        front: tuple[np.ndarray, np.ndarray] | None,
    ) -> tuple[CoarseFill | None, tuple[np.ndarray, np.ndarray]]:
        """The whole composite at half resolution, and the fill colour behind the foreground.

        Tiles without any fine (nearly sharp) pixel are just this composite upsampled.
        Returns ``(fill, (colour, alpha))``; ``fill`` is None without a foreground.
        """
        fine = level_one.fine
        height = fine.shape[0]
        bands = row_bands(height, _BAND_ROWS)

        # The fine layers' colour is needed only here: the middle layers are summed into
        # it (the same sums, in the other order, so the same values).
        middle_pre = level_one.fine_pre.assemble(*self.half_shape)
        # The sides' layer positions are not needed once they are blurred: their buffers
        # take the middle layers' alpha and its clipped copy (wholly overwritten), instead
        # of fresh level-1 planes.
        spare = [side.position for side in level_one.coarse_sides]
        middle_alpha = spare.pop() if spare else np.empty_like(fine)

        def middle(rows: tuple[int, int]) -> None:
            """Fine layers over the background side, premultiplied."""
            band = slice(*rows)
            if back is None:
                middle_alpha[band] = fine[band]
                return
            keep = 1.0 - fine[band]
            middle_pre[band] += scaled(back[0][band], keep)
            np.multiply(back[1][band], keep, out=middle_alpha[band])
            middle_alpha[band] += fine[band]

        run_all(middle, bands)
        fill = None
        if front is not None:
            clipped = np.clip(middle_alpha, 0.0, 1.0, out=spare.pop() if spare else None)
            fill = CoarseFill(middle_pre, clipped)
            del clipped

        def compose(rows: tuple[int, int]) -> None:
            band = slice(*rows)
            pre, alpha = middle_pre[band], middle_alpha[band]
            if front is not None:
                assert fill is not None
                solid = fine[band].copy()
                for side in level_one.coarse_sides:
                    solid += side.coverage[band]
                missing = np.maximum(np.minimum(solid, 1.0) - alpha, 0.0)
                pre += scaled(fill.rows(*rows), missing)
                alpha += missing
                keep = 1.0 - front[1][band]
                scaled(pre, keep, out=pre)
                pre += front[0][band]
                alpha *= keep
                alpha += front[1][band]
            inverse = np.divide(1.0, alpha, out=np.ones_like(alpha), where=alpha > 1e-6)
            scaled(pre, inverse, out=pre)
            np.clip(alpha, 0.0, 1.0, out=alpha)

        run_all(compose, bands)
        # The composite is written over the middle layers (no fresh level-1 arrays).
        return fill, (middle_pre, middle_alpha)

    # ------------------------------------------------------------------ half -> full

    def _compose_full(
        self,
        back: tuple[np.ndarray, np.ndarray] | None,
        front: tuple[np.ndarray, np.ndarray] | None,
        fill: CoarseFill | None,
        coarse: tuple[np.ndarray, np.ndarray],
        result: np.ndarray,
    ) -> None:
        """Fine layers at full resolution, composited between the upsampled coarse sides,
        into ``result`` (which may be the photo itself)."""
        out_rgb = result[:, :, :3]
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
            (out_rgb[y0:y1, -1:],) = upsample_region(coarse[:1], y0, y1, self.width - 1, self.width)
            if y1 == self.height:
                (out_rgb[-1:],) = upsample_region(
                    coarse[:1], self.height - 1, self.height, 0, self.width
                )

        out_alpha = result[:, :, 3] if self.alpha is not None else None

        def put_alpha(target: tuple[slice, slice], value: float | np.ndarray) -> None:
            if out_alpha is not None:
                out_alpha[target] = value

        blur_one = aperture_kernel(1.0, self.aperture)

        def work(tile: tuple[int, int, int, int], source: Rows) -> None:
            low, high = self.tile_range[tile]
            if low < 2.0 <= high:
                # Part sharp, part blurred: upsample the blurred composite everywhere, then
                # redo only the box around the (nearly) sharp pixels at full resolution.
                y0, y1, x0, x1 = tile
                coc = self.coc[y0:y1, x0:x1]
                near_focus = np.abs(coc) < 2.0
                parts = self._parts(tile)
                if parts is not None:
                    far_coc, far_weight = parts[1]
                    near_focus |= (np.abs(far_coc) < 2.0) & (far_weight > 0.0)
                rows = np.flatnonzero(near_focus.any(axis=1))
                cols = np.flatnonzero(near_focus.any(axis=0))
                if rows.size == 0:  # both sides of the focal plane, nothing near it
                    render(tile, 2.0, high, source)
                    return
                box = (y0 + rows[0], y0 + rows[-1] + 1, x0 + cols[0], x0 + cols[-1] + 1)
                if (box[1] - box[0]) * (box[3] - box[2]) < 0.7 * (y1 - y0) * (x1 - x0):
                    render(tile, 2.0, high, source)
                    smallest, largest = self._coc_extremes(box, self._parts(box))
                    inner_low = (
                        0.0 if smallest <= 0.0 <= largest else min(-smallest, largest, key=abs)
                    )
                    render(box, abs(inner_low), max(-smallest, largest), source)
                    return
            render(tile, low, high, source)

        def render(tile: tuple[int, int, int, int], low: float, high: float, source: Rows) -> None:
            """Composite one rectangle whose |CoC| lies in low..high (source pixels are read
            only where low < 2)."""
            y0, y1, x0, x1 = tile
            target = (slice(y0, y1), slice(x0, x1))
            rgb, alpha = source.region(y0, y1, x0, x1)
            front_here = front is not None and region_max(front[1], y0, y1, x0, x1) > 0.0
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
                    (out_rgb[target],) = upsample_region(coarse[:1], y0, y1, x0, x1)
                    put_alpha(target, 1.0)
                else:
                    out_rgb[target], alpha_up = upsample_region(coarse, y0, y1, x0, x1)
                    put_alpha(target, alpha_up)
                return
            # Some |CoC| here is under 2 px: the fine layers, over the background side.
            parts = self._parts(tile)
            if parts is None:
                magnitude = np.abs(layer_position(self.coc[target]))
                pre, cover = self._fine_layers(source, magnitude, tile, blur_one, high)
            else:
                # Split pixels: each part's share of the fine layers, summed.
                shares = []
                for coc_part, weight in parts:
                    magnitude = np.abs(layer_position(coc_part))
                    part_pre, part_cover = self._fine_layers(
                        source, magnitude, tile, blur_one, high
                    )
                    shares.append((scaled(part_pre, weight), part_cover * weight))
                pre = shares[0][0] + shares[1][0]
                cover = shares[0][1] + shares[1][1]
            opaque_fine = alpha is None and high <= 1.0
            if back is not None and not opaque_fine:
                back_pre, back_alpha = upsample_region(back, y0, y1, x0, x1)
                keep = 1.0 - cover
                pre = pre + scaled(back_pre, keep)
                cover = cover + back_alpha * keep
            if front_here:
                assert front is not None and fill is not None
                solid = 1.0 if alpha is None else alpha
                missing = np.maximum(solid - cover, 0.0)
                if float(missing.max()) > 0.0:
                    # The fill's level-1 rows that upsampling reads (upsample_region's).
                    h0, h1 = max(0, y0 // 2 - 1), min(fill.shape[0], (y1 + 1) // 2 + 1)
                    (fill_colour,) = upsample_region(
                        (fill.rows(h0, h1),), y0 - 2 * h0, y1 - 2 * h0, x0, x1
                    )
                    pre = pre + scaled(fill_colour, missing)
                    cover = cover + missing
                front_pre, front_alpha = upsample_region(front, y0, y1, x0, x1)
                keep = 1.0 - front_alpha
                pre = front_pre + scaled(pre, keep)
                cover = front_alpha + cover * keep
            if alpha is None and opaque_fine and not front_here:
                out_rgb[target] = pre
                put_alpha(target, 1.0)
                return
            inverse = np.divide(1.0, cover, out=np.ones_like(cover), where=cover > 1e-6)
            scaled(pre, inverse, out=out_rgb[target])
            put_alpha(
                target, (1.0 if alpha is None or self._opaque(tile) else np.clip(cover, 0.0, 1.0))
            )

        rows_of_tiles: dict[int, list[tuple[int, int, int, int]]] = {}
        for tile in self._tiles():
            rows_of_tiles.setdefault(tile[0], []).append(tile)

        in_place = np.may_share_memory(result, self.rgb)
        sources = SourceRows(self.rgb, self.alpha, list(rows_of_tiles), in_place=in_place)

        def work_row(tiles: list[tuple[int, int, int, int]]) -> None:
            y0, y1 = tiles[0][0], tiles[0][1]
            # Only tiles with some |CoC| under 2 px read the photo (the rest is upsampled).
            source = sources.rows(y0, y1, read=any(self.tile_range[t][0] < 2.0 for t in tiles))
            if upsampled_whole:
                upsample_rows(y0, y1)
            for tile in tiles:
                work(tile, source)

        run_all(work_row, list(rows_of_tiles.values()))

    def _transparency_reach(self, level_one: LevelOne) -> np.ndarray:
        """Level-1 mask of pixels within blur reach of any (partly) transparent pixel.

        Where the photo is opaque all around, the output alpha is exactly 1; computing it
        through the layers would leave tiny deficits where half-resolution layers meet.
        """
        total = level_one.fine.copy()
        for side in level_one.coarse_sides:
            total += side.coverage
        transparent = (total < 0.999).astype(np.uint8)
        reach = math.ceil(self.largest_blur / 2.0) + 2
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
        return cv2.dilate(transparent, kernel)

    def _parts(self, tile: tuple[int, int, int, int]) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """(CoC, weight) of the near and far part of a rectangle's pixels, or None when no
        pixel there is split."""
        if self.split is None:
            return None
        y0, y1, x0, x1 = tile
        far_coc, far_share = (array[y0:y1, x0:x1] for array in self.split)
        if far_share.size == 0 or extremes(far_share)[1] <= 0.0:
            return None
        return [(self.coc[y0:y1, x0:x1], 1.0 - far_share), (far_coc, far_share)]

    def _coc_extremes(
        self, tile: tuple[int, int, int, int], parts: list[tuple[np.ndarray, np.ndarray]] | None
    ) -> tuple[float, float]:
        """Smallest and largest CoC in a rectangle, of any part with a share there."""
        y0, y1, x0, x1 = tile
        if parts is None:
            return extremes(self.coc[y0:y1, x0:x1])
        # Each part's extremes over its weighted pixels (a masked SIMD pass, no gathers).
        found = [
            cv2.minMaxLoc(coc_part, (weight > 0.0).view(np.uint8))[:2]
            for coc_part, weight in parts
            if extremes(weight)[1] > 0.0
        ]
        return min(low for low, _ in found), max(high for _, high in found)

    def _opaque(self, tile: tuple[int, int, int, int]) -> bool:
        y0, y1, x0, x1 = tile
        mask = self.transparent_near
        return mask is not None and region_max(mask, y0, y1, x0, x1) == 0

    def _fine_layers(
        self,
        source: Rows,
        magnitude: np.ndarray,
        tile: tuple[int, int, int, int],
        blur_one: np.ndarray,
        high: float,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Premultiplied colour and coverage of the fine layers (|CoC| < 2 px) in a tile."""
        y0, y1, x0, x1 = tile
        rgb, alpha = source.region(y0, y1, x0, x1)
        fine = np.clip(2.0 - magnitude, 0.0, 1.0) if high > 1.0 else None
        blurred = None
        if high > 0.0:
            # A 1-pixel aperture blur, mixed in as |position| goes from 0 to 1.
            m0, m1 = max(0, y0 - 1), min(self.height, y1 + 1)
            n0, n1 = max(0, x0 - 1), min(self.width, x1 + 1)
            around, around_alpha = source.region(m0, m1, n0, n1)
            if around_alpha is not None:
                around = np.dstack([around * around_alpha[:, :, None], around_alpha])
            blurred = cv2.filter2D(around, -1, blur_one, borderType=cv2.BORDER_REFLECT)
            blurred = blurred[y0 - m0 : y0 - m0 + (y1 - y0), x0 - n0 : x0 - n0 + (x1 - x0)]
        partial = np.minimum(magnitude, 1.0)
        if alpha is None:
            pre = rgb if blurred is None else rgb + scaled(blurred - rgb, partial)
            cover = np.ones_like(magnitude)
        else:
            sharp = scaled(rgb, alpha)
            if blurred is None:
                pre, cover = sharp, alpha.copy()
            else:
                pre = sharp + scaled(blurred[:, :, :3] - sharp, partial)
                cover = alpha + partial * (blurred[:, :, 3] - alpha)
        if fine is not None:
            pre = scaled(pre, fine)
            cover = cover * fine
        return pre, cover
