"""Miniature faking ("tilt-shift"): make a scene look like a small model.

A real miniature photographed up close has a shallow depth of field, so blur grows fast
with distance from the focal plane (Held et al., "Using blur to affect perceived distance
and size", ACM TOG 2010). Two ways to place that focal plane:

- ``band`` (no depth needed): a sharp band across the photo at a position, width and
  angle; blur grows smoothly away from it, as in classic tilt-shift tools. The side above
  the band is treated as behind the focal plane, the side below as in front.
- ``depth``: a plane is fitted to nearness over the band (nearness is disparity-like, so
  a flat surface in the scene is a plane in it); blur grows with each pixel's distance in
  nearness from that plane, as with a tilted lens, and occlusion comes out right.

All blur goes through :func:`depthfx.render.defocus.render_defocus` with a signed circle of
confusion. The look is finished with more saturation and contrast and a light vignette.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .._parallel import row_bands, run_all
from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..image import (
    as_float_image,
    checked_out,
    join_alpha,
    linear_to_srgb,
    split_alpha,
    srgb_to_linear,
)
from ..params import Params, option
from ..render.defocus import render_defocus
from ..stats import median, percentiles, sample_step

NAME = "miniature"
MODES = ("auto", "band", "depth")

Progress = Callable[[str, float], None]

# Pixels used to fit the focal plane (a random subset of the band keeps the fit cheap).
_FIT_SAMPLES = 5_000
# Entries of the contrast-curve table (indexed by a 16-bit sqrt of the value).
_CURVE_SAMPLES = 65536
_RANSAC_TRIALS = 200
# Rows graded per step (a chunk of a 12 MP photo that fits in the cache).
_GRADE_ROWS = 64
# Pixels of a chunk finished per step after its colour matrix: 1.5 MB of colour, half a
# chunk of a 12 MP photo, mostly in a core's L2 cache from one pass to the next (measured:
# whole chunks cost 20 % more CPU, quarters no less).
_CACHED_PIXELS = 128_000
# Pixels within this fraction of the image's nearness range are on a candidate plane.
_PLANE_TOLERANCE = 0.03


def miniature(
    image: np.ndarray,
    depth: DepthMap | np.ndarray | None = None,
    *,
    mode: str = "auto",
    strength: float = 1.0,
    position: float = 0.55,
    width: float = 0.15,
    angle: float = 0.0,
    transition: float = 0.3,
    saturation: float = 1.35,
    contrast: float = 1.15,
    vignette: float = 0.2,
    progress: Progress | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Make a photo look like a model scene: a narrow zone of focus, vivid colours.

    Parameters
    ----------
    image : ndarray (H, W, 3|4) float32, linear light
        The photo; a 4th channel is straight alpha.
    depth : DepthMap or ndarray (h, w), optional
        Nearness (larger = nearer). Needed for ``mode="depth"``.
    mode, strength, position, width, angle, transition, saturation, contrast, vignette
        The options of :class:`Miniature` (each field's help gives its meaning and range).
    progress : callable(stage, fraction), optional
        Progress reports.
    out : ndarray, optional
        float32 array of the image's shape to receive the result; it may be ``image``
        itself, which saves a full-size copy. The result is returned either way.

    Returns
    -------
    ndarray, same shape as ``image``, float32 linear light (``out`` when given).

    Raises
    ------
    ParameterError
        An option is out of range, ``mode="depth"`` without a depth map, or ``out`` is not
        a float32 array of the image's shape.

    Examples
    --------
    >>> photo = np.random.default_rng(0).random((60, 80, 3), dtype=np.float32)
    >>> out = miniature(photo, saturation=1.0, contrast=1.0, vignette=0.0)
    >>> bool(np.array_equal(out[33], photo[33]))  # the band centre stays sharp
    True
    """
    options = Miniature(
        mode=mode,
        strength=strength,
        position=position,
        width=width,
        angle=angle,
        transition=transition,
        saturation=saturation,
        contrast=contrast,
        vignette=vignette,
    )
    return options.apply(image, depth, progress=progress, out=out)


def _render_miniature(
    image: np.ndarray,
    depth: DepthMap | np.ndarray | None,
    *,
    mode: str,
    strength: float,
    position: float,
    width: float,
    angle: float,
    transition: float,
    saturation: float,
    contrast: float,
    vignette: float,
    progress: Progress | None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`miniature` with checked options (:meth:`Miniature.apply` passes them)."""
    if mode == "depth" and depth is None:
        raise ParameterError("mode 'depth' needs a depth map; use mode 'band' without one")
    array = as_float_image(image)
    target = checked_out(out, array)
    report = progress or (lambda stage, fraction: None)
    height, width_px = array.shape[:2]
    use_depth = depth is not None and mode != "band"

    report("focus", 0.05)
    max_radius = strength / 100.0 * math.hypot(height, width_px)
    if use_depth:
        assert depth is not None
        depth_map = as_depthmap(depth).fit_to((height, width_px), guide=array[:, :, :3])
        coc_radius = _depth_coc(
            depth_map, position=position, angle=angle, half_width=width / 2, max_radius=max_radius
        )
        del depth_map  # when resized to the photo, an image-sized plane not to hold
    else:
        coc_radius = _band_image_coc(
            (height, width_px),
            position=position,
            angle=angle,
            half_width=width / 2,
            transition=transition,
            max_radius=max_radius,
        )

    def blur_progress(stage: str, fraction: float) -> None:
        report(f"blur: {stage}", 0.1 + 0.8 * fraction)

    blurred = render_defocus(array, coc_radius, progress=blur_progress, out=target)
    report("look", 0.92)
    rgb, alpha = split_alpha(blurred)
    # The renderer's output is a fresh array or the caller's ``out``: grading it in place
    # spares a 12 MP allocation (its page faults cost more than the arithmetic); never
    # when it could be the input the caller did not give as ``out``.
    in_place = target is not None or not np.may_share_memory(rgb, array)
    graded = _grade(
        rgb, saturation=saturation, contrast=contrast, vignette=vignette, in_place=in_place
    )
    report("done", 1.0)
    return blurred if graded is rgb else join_alpha(graded, alpha)


# --------------------------------------------------------------------------- focus


def _band_distance(
    shape: tuple[int, int], *, position: float, angle: float, step: int = 1
) -> np.ndarray:
    """Signed distance from the band's centre line, in units of the image height, at every
    ``step``-th row and column.

    Negative above the line (the far side), positive below.
    """
    height, width = shape
    theta = math.radians(angle)
    # Unit normal of the line, pointing down the image (y grows downwards).
    normal_x, normal_y = math.sin(theta), math.cos(theta)
    rows = np.arange(0, height, step, dtype=np.float32)
    columns = np.arange(0, width, step, dtype=np.float32)
    ys = (rows + 0.5 - position * height) / np.float32(height)
    xs = (columns + 0.5 - width / 2) / np.float32(height)
    return np.add(
        np.float32(normal_x) * xs[None, :], np.float32(normal_y) * ys[:, None], dtype=np.float32
    )


def _band_image_coc(
    shape: tuple[int, int],
    *,
    position: float,
    angle: float,
    half_width: float,
    transition: float,
    max_radius: float,
) -> np.ndarray:
    """The band mode's signed CoC at every pixel of an image of ``shape``."""
    height = shape[0]
    if math.sin(math.radians(angle)) != 0.0:
        distance = _band_distance(shape, position=position, angle=angle)
        return _band_coc(
            distance, half_width=half_width, transition=transition, max_radius=max_radius
        )
    # An untilted band's distance is the same along each row (each row's, exactly; the
    # columns add 0): the CoC of one column, seen across, has the same values for a
    # fraction of the work and without an image-sized plane of distances.
    # (Laid out as one row: one chunk of work, not one per 64 rows.)
    column = _band_distance((height, 1), position=position, angle=angle).reshape(1, height)
    column_coc = _band_coc(
        column, half_width=half_width, transition=transition, max_radius=max_radius
    )
    # A read-only view of that column across the width: the renderer reads the CoC tile by
    # tile, so no image-sized plane (53 MB at 12 MP) is ever made.
    return np.broadcast_to(column_coc.reshape(height, 1), shape)


def _band_coc(
    distance: np.ndarray, *, half_width: float, transition: float, max_radius: float
) -> np.ndarray:
    coc_radius = np.empty_like(distance)

    def coc_rows(rows: tuple[int, int]) -> None:
        # The same operations as one whole-image pass, chunk by chunk.
        y0, y1 = rows
        local = distance[y0:y1]
        excess = np.abs(local)
        excess -= np.float32(half_width)
        excess /= np.float32(transition)
        np.clip(excess, 0.0, 1.0, out=excess)
        ramp = np.multiply(excess, excess, out=coc_radius[y0:y1])
        excess *= np.float32(-2.0)
        excess += np.float32(3.0)
        ramp *= excess  # smoothstep
        ramp *= np.float32(max_radius)
        # Above the band is behind the focal plane (positive CoC), below is in front.
        sign = np.sign(local, out=excess)
        np.negative(sign, out=sign)
        ramp *= sign

    height = distance.shape[0]
    _over_row_chunks(coc_rows, height)
    return coc_radius


def fit_focal_plane(
    nearness: np.ndarray, mask: np.ndarray, *, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares plane ``a*x + b*y + c`` through ``nearness`` over ``mask``, robustly.

    The plane is the RANSAC candidate (planes through three sampled pixels, and a flat
    plane at the median) that most pixels lie within 3 % of the nearness range of, refined
    by least squares on them: it settles on the surface most of the region shows rather
    than between a subject and its background. Deterministic. Returns the plane evaluated
    over the whole image.

    Examples
    --------
    >>> yy, xx = np.mgrid[:20, :30].astype(np.float32)
    >>> plane = fit_focal_plane(0.1 * yy + 2.0, np.ones((20, 30), bool))
    >>> bool(np.allclose(plane, 0.1 * yy + 2.0, atol=1e-4))
    True
    """
    height = nearness.shape[0]
    # A regular subsample of the image is plenty for a plane (and fast at 12 MP).
    step = sample_step(nearness.size)
    sample_weights = None if weights is None else weights[::step, ::step]
    plane = _plane_through(nearness, mask[::step, ::step], sample_weights, step=step)
    return plane.rows(0, height)


@dataclass(frozen=True)
class _Plane:
    """``a*x + b*y + c`` over an image, x and y in units of its longer side."""

    a: float
    b: float
    c: float
    shape: tuple[int, int]

    def rows(self, first: int, last: int, *, step: int = 1) -> np.ndarray:
        """The plane at every ``step``-th column of every ``step``-th row in first..last."""
        scale = np.float32(max(self.shape))
        xs = np.arange(0, self.shape[1], step, dtype=np.float32) / scale
        ys = np.arange(first, last, step, dtype=np.float32) / scale
        # Written into one array (a 12 MP temporary costs more than the arithmetic on it).
        plane = np.add(
            np.float32(self.a) * xs[None, :], np.float32(self.b) * ys[:, None], dtype=np.float32
        )
        plane += np.float32(self.c)
        return plane


def _plane_through(
    nearness: np.ndarray, sample_mask: np.ndarray, sample_weights: np.ndarray | None, *, step: int
) -> _Plane:
    """The robust plane of :func:`fit_focal_plane` from its subsample (every ``step``-th
    pixel of ``nearness``; ``sample_mask`` and ``sample_weights`` already subsampled)."""
    height, width = nearness.shape
    grid_mask = sample_mask
    if sample_weights is not None:
        grid_mask = grid_mask & (sample_weights > 0.5)
    rows, cols = np.nonzero(grid_mask)
    if rows.size < 3:
        rows, cols = np.nonzero(sample_mask)
    rows, cols = rows * step, cols * step
    if rows.size < 3:
        return _Plane(0.0, 0.0, float(np.float32(median(nearness))), (height, width))
    if rows.size > _FIT_SAMPLES:
        pick = np.random.default_rng(0).choice(rows.size, _FIT_SAMPLES, replace=False)
        rows, cols = rows[pick], cols[pick]
    scale = float(max(height, width))
    design = np.stack([cols / scale, rows / scale, np.ones(rows.size)], axis=1)
    values = nearness[rows, cols].astype(np.float64)
    # RANSAC: the plane through three sampled pixels that most pixels agree with, refined
    # by least squares on those. It locks onto the surface most of the region shows,
    # where a plain least-squares fit would pass between a subject and its background.
    low, high = percentiles(nearness[::step, ::step], [1, 99])
    tolerance = max(_PLANE_TOLERANCE * float(high - low), 1e-6)
    rng = np.random.default_rng(0)
    triples = rng.integers(0, rows.size, size=(_RANSAC_TRIALS, 3))
    systems, targets = design[triples], values[triples]
    solvable = np.linalg.det(systems) != 0  # three distinct, non-collinear pixels
    candidates = np.linalg.solve(systems[solvable], targets[solvable][:, :, None])[:, :, 0]
    flat = np.array([[0.0, 0.0, float(median(values))]])
    planes = np.concatenate([candidates, flat])  # (trials, 3)
    # einsum, not matmul: this product is large enough for OpenBLAS to start threads,
    # which then spin on both cores for ~0.1 s, stealing them from the blur that follows.
    residuals = np.einsum("ij,kj->ik", design, planes) - values[:, None]
    support = (np.abs(residuals) <= tolerance).sum(axis=0)
    coefficients = planes[int(np.argmax(support))]
    for _ in range(2):
        keep = np.abs(design @ coefficients - values) <= tolerance
        if keep.sum() < 3:
            break
        coefficients = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
    a, b, c = (float(v) for v in coefficients)
    return _Plane(a, b, c, (height, width))


def _depth_coc(
    depth: DepthMap,
    *,
    position: float,
    angle: float,
    half_width: float,
    max_radius: float,
) -> np.ndarray:
    nearness = depth.nearness
    height, width = nearness.shape
    # The plane and the CoC scale come from the regular subsample; only the CoC itself is
    # computed at full size, in one pass of row chunks on two threads.
    step = sample_step(nearness.size)
    in_band = np.abs(_band_distance((height, width), position=position, angle=angle, step=step))
    sample_weights = None if depth.confidence is None else depth.confidence[::step, ::step]
    plane = _plane_through(nearness, in_band <= half_width, sample_weights, step=step)
    # Behind the plane (less near) is positive CoC, in front negative, as in a thin lens
    # where CoC is proportional to the difference in disparity.
    sample_offset = plane.rows(0, height, step=step) - nearness[::step, ::step]
    reach = float(percentiles(np.abs(sample_offset), [99])[0])
    if not reach > 0:
        return np.zeros_like(nearness)
    gain, limit = np.float32(max_radius / reach), np.float32(max_radius)
    coc_radius = np.empty_like(nearness)

    def coc_rows(rows: tuple[int, int]) -> None:
        offset = np.subtract(
            plane.rows(*rows), nearness[rows[0] : rows[1]], out=coc_radius[rows[0] : rows[1]]
        )
        offset *= gain
        # np.clip: one SIMD pass for both bounds (OpenCV's max and min take one each).
        np.clip(offset, -limit, limit, out=offset)

    _over_row_chunks(coc_rows, height)
    return coc_radius


def _grade(
    rgb: np.ndarray,
    *,
    saturation: float,
    contrast: float,
    vignette: float,
    in_place: bool = False,
) -> np.ndarray:
    if saturation == 1 and contrast == 1 and vignette == 0:
        return rgb
    height, width = rgb.shape[:2]
    out = rgb if in_place else np.empty((height, width, 3), np.float32)
    table = _contrast_curve(contrast) if contrast != 1 else None
    matrix = None
    if saturation != 1:
        # out = grey + s * (rgb - grey) is one 3x3 colour matrix: a single OpenCV pass.
        weights = np.array([0.2126, 0.7152, 0.0722], np.float32)
        matrix = np.float32(saturation) * np.eye(3, dtype=np.float32)
        matrix += np.float32(1.0 - saturation) * np.repeat(weights[None, :], 3, axis=0)
    xs = (np.arange(width, dtype=np.float32) + 0.5) / np.float32(width) - 0.5
    xs_sq = xs**2

    def grade_rows(rows: tuple[int, int]) -> None:
        y0, y1 = rows
        band = out[y0:y1]
        # OpenCV writes only into packed pixels: the colour of a 4-channel image (in
        # place) is graded in a copy of the band and put back.
        # (NumPy calls a single-pixel view contiguous whatever its strides; OpenCV does not.)
        packed = band.flags.c_contiguous and band.strides[1] == band.shape[2] * band.itemsize
        target = band if packed else band.copy()
        if matrix is not None:
            # Per-pixel, so OpenCV may write over its source (each pixel is read whole
            # before it is written): in place needs no copy of the rows.
            source = target if in_place else np.ascontiguousarray(rgb[y0:y1])
            cv2.transform(source, matrix, dst=target)
        elif not in_place:
            target[...] = rgb[y0:y1]
        # The colour matrix's last pixels in each call take OpenCV's scalar path (other
        # bits than its SIMD path): it stays on the whole chunk. The passes after it are
        # the same pixel by pixel however the rows are cut, and run on parts of the chunk
        # that stay in a core's L2 cache from one pass to the next.
        for first in range(0, y1 - y0, cached_rows):
            last = min(first + cached_rows, y1 - y0)
            finish_rows(target[first:last], y0 + first, y0 + last)
        if not packed:
            band[...] = target

    def finish_rows(target: np.ndarray, y0: int, y1: int) -> None:
        # max(x, 0) by OpenCV's SIMD threshold (several times faster than np.maximum).
        cv2.threshold(target, 0.0, 0.0, cv2.THRESH_TOZERO, dst=target)
        if table is not None:
            _apply_curve(target, table, out=target)
        if vignette > 0:
            ys = (np.arange(y0, y1, dtype=np.float32) + 0.5) / np.float32(height) - 0.5
            radius_sq = (xs_sq[None, :] + ys[:, None] ** 2) * 2  # 1 in the corners
            falloff = np.float32(1.0) - np.float32(vignette) * radius_sq * radius_sq
            falloff = falloff.astype(np.float32, copy=False)
            # OpenCV's per-pixel product with a 3-channel copy: NumPy broadcasting over a
            # trailing axis of 3 (or per-channel strided passes) is slower, same products.
            cv2.multiply(target, cv2.merge([falloff, falloff, falloff]), dst=target)

    cached_rows = max(1, _CACHED_PIXELS // width)
    _over_row_chunks(grade_rows, height)
    return out


def _over_row_chunks(work: Callable[[tuple[int, int]], None], height: int) -> None:
    """Run ``work((y0, y1))`` over row chunks that stay in the cache, on the shared workers
    (NumPy and OpenCV release the GIL; 12 MP temporaries would cost more than the arithmetic)."""
    run_all(work, row_bands(height, _GRADE_ROWS))


def _contrast_curve(contrast: float) -> np.ndarray:
    """The contrast curve tabulated over sqrt(linear) in 0..1 (fine steps in the shadows).

    An S-curve on display (sRGB) values: a blend of identity and smoothstep whose slope at
    mid-grey is ``contrast``, monotonic over 0.5..1.5.
    """
    root = np.linspace(0.0, 1.0, _CURVE_SAMPLES, dtype=np.float32)
    encoded = linear_to_srgb(root * root)
    curve = encoded * encoded * (np.float32(3.0) - np.float32(2.0) * encoded)
    encoded = encoded + np.float32(2.0 * (contrast - 1.0)) * (curve - encoded)
    return srgb_to_linear(encoded)


def _apply_curve(
    values: np.ndarray, table: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Look up ``values`` (>= 0, clipped to 1) in a table over sqrt(value); uses ``values``
    as scratch (``out`` may be ``values``). A 16-bit index keeps this a single gather (the
    fastest way at 12 MP); the index never exceeds the table, so ``take`` need not check."""
    cv2.threshold(values, 1.0, 1.0, cv2.THRESH_TRUNC, dst=values)  # min(x, 1), SIMD
    cv2.sqrt(values, dst=values)  # OpenCV's SIMD sqrt: half NumPy's time, the same values
    values *= np.float32(table.size - 1)
    values += np.float32(0.5)
    return np.take(table, values.astype(np.uint16), out=out, mode="wrap")


# --------------------------------------------------------------------------- options


_LOOK = "Miniature"


@dataclass(frozen=True)
class Miniature(Params):
    """The miniature effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`miniature`, the ``depthfx miniature``
    command and preset steps (``effect = "miniature"``) all take these names, ranges and
    defaults.

    Examples
    --------
    >>> out = Miniature(strength=0.5).apply(np.zeros((20, 30, 3), np.float32), None)
    >>> out.shape
    (20, 30, 3)
    >>> Miniature(position=3)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: position must be in 0..1, got 3.0
    """

    mode: str = option(
        "auto",
        choices=MODES,
        help="band (no depth), depth (tilted focal plane through the depth map), or auto: "
        "depth when a depth map is given, else band.",
        panel=_LOOK,
    )
    strength: float = option(
        1.0,
        low=0.0,
        high=5.0,
        unit="% of the image diagonal",
        help="Largest blur radius.",
        panel=_LOOK,
    )
    position: float = option(
        0.55,
        low=0.0,
        high=1.0,
        help="Centre of the sharp band as a fraction of the height, 0 = top; through the "
        "image centre when tilted.",
        panel=_LOOK,
    )
    width: float = option(
        0.15,
        above=0.0,
        high=1.0,
        unit="of the height",
        help="Width of the sharp band.",
        panel=_LOOK,
    )
    angle: float = option(
        0.0,
        low=-90.0,
        high=90.0,
        unit="degrees",
        help="Tilt of the band, counter-clockwise.",
        panel=_LOOK,
    )
    transition: float = option(
        0.3,
        above=0.0,
        high=2.0,
        unit="of the height",
        help="Band mode: distance beyond the band over which blur reaches full strength.",
        panel=_LOOK,
    )
    saturation: float = option(
        1.35, low=0.0, high=3.0, help="Saturation factor, 1 = unchanged.", panel=_LOOK
    )
    contrast: float = option(
        1.15,
        low=0.5,
        high=1.5,
        help="Contrast of an S-curve on display values, 1 = unchanged.",
        panel=_LOOK,
    )
    vignette: float = option(
        0.2, low=0.0, high=1.0, help="Corner darkening, 0 = none.", panel=_LOOK
    )

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray | None = None,
        *,
        progress: Progress | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Render ``image`` with these options (see :func:`miniature`)."""
        return _render_miniature(image, depth, **self.options(), progress=progress, out=out)


__all__ = ["MODES", "NAME", "Miniature", "fit_focal_plane", "miniature"]
