"""Fog and haze by depth, following Koschmieder's law.

A pixel of scene colour ``J`` seen through fog of colour ``A`` along a ray of length ``d``
becomes ``I = J * t + A * (1 - t)`` with transmission ``t = exp(-tau)``. For uniform fog the
optical depth is ``tau = beta * d``; ``beta = ln(20) / visibility`` makes the contrast at the
visibility distance 5 %. Height fog thins out exponentially above eye level (the horizon
line) and has a closed-form optical depth (:func:`height_fog_optical_depth`).

Everything is computed in linear light. The transmission is computed per pixel at full
size and refined by a guided filter steered by the photo (colour guide up to 1024 px, a
grey guide with reused buffers above), so fog edges follow object outlines without halos.
Full-size work runs in row bands on the shared workers: each band computes its transmission
(with a halo for the guided filter, so the result is the same as one whole-image pass),
refines it and blends it while it is still in the cache.
The subsampled "fast" guided filter was tried and rejected: its interpolated coefficients
leak fog a few pixels onto near silhouettes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .._parallel import JobGroup, WorkerBuffers, split_rows, with_halo, workers
from ..colors import COLOR_HELP, parse_color
from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..filters import guided_filter
from ..image import as_float_image, checked_out, split_alpha
from ..matte import correction_step, nearness_correction, trusted_nearness
from ..params import Params, option
from ..stats import extremes, percentiles, sample_step
from .noise import fractal_noise

NAME = "fog"

Progress = Callable[[str, float], None]

# Photos whose longer side exceeds this have their transmission refined with a grey guide,
# in row bands (smaller ones with the full colour guide, in one pass).
_WORK_SIDE = 1024
# Longer side of the reduced copy whose depth edges are matted to the photo.
_MATTE_SIDE = 256
# Longest side at which the patch noise is made (at 1 / n of the photo's size, n whole); its
# finest detail spans dozens of pixels, so it is upsampled n times band by band.
_NOISE_SIDE = 512
# Longer side of the reduced copy the fog colour is estimated on (up to 1.25x for large photos).
_ESTIMATE_SIDE = 512
# Horizontal field of view assumed for height fog when no focal length is given.
_DEFAULT_FOV_DEG = 45.0
_LN20 = math.log(20.0)
# Height fog: below this |u| the effect uses the series of (1 - exp(-u)) / u, where the
# closed form loses digits (see _TransmissionField).
_SERIES_BELOW = 1e-2
# Guided-filter regularization: small, so fog does not leak across object outlines (a
# bright halo around a near silhouette is the most visible fault of depth fog).
_EDGE_EPS = 1e-4
# Fraction of the estimated airlight's tint that "auto" keeps.
_AUTO_TINT = 0.5
# Full-size work runs in row bands on the shared workers (see depthfx._parallel); a few
# bands per worker keep the guided filter's scratch buffers small and reused. Four rather
# than two: at 12 MP each worker's planes take 40 MB instead of 73 (memory first touched
# costs more here than the 5 % of compute the extra halo rows add).
_BANDS_PER_WORKER = 4
_BLEND_ROWS = 32
_CHUNK_ROWS = 32
_TRANSMIT_ROWS = 64

_COLOR_HELP = f"'auto' or {COLOR_HELP}"


# --------------------------------------------------------------------------- colour


def parse_fog_color(color: str | tuple[float, ...] | list[float]) -> np.ndarray | None:
    """Turn a fog colour as a user writes it into linear RGB; ``None`` for ``"auto"``.

    Parameters
    ----------
    color : str or sequence of 3 floats
        ``"auto"`` or a colour as :func:`depthfx.colors.parse_color` reads it: a name,
        ``"#rgb"``, ``"#rrggbb"``, or ``"r,g,b"`` / a list with sRGB values in 0..1.

    Examples
    --------
    >>> parse_fog_color("white")
    array([1., 1., 1.], dtype=float32)
    >>> parse_fog_color("auto") is None
    True
    """
    if isinstance(color, str) and color.strip().lower() == "auto":
        return None
    try:
        return parse_color(color, name="color")
    except ParameterError:
        raise ParameterError(f"color must be {_COLOR_HELP}, got {color!r}") from None


def _check_color(color: str | tuple[float, ...] | list[float]) -> str | tuple[float, ...]:
    """The ``parse`` hook of :attr:`Fog.color`: ``"auto"`` or a colour, kept as written."""
    parse_fog_color(color)
    return color if isinstance(color, str) else tuple(float(v) for v in color)


def estimate_fog_color(image: np.ndarray) -> np.ndarray:
    """Estimate the fog (airlight) colour from the photo's brightest hazy region.

    As in dark-channel dehazing (He, Sun, Tang 2009): the dark channel is the minimum over
    colour channels and a small window; the fog colour is the mean colour of the 0.1 % of
    pixels where it is largest (the densest haze or the sky), computed at a reduced size,
    with half of its tint removed (the brightest region of a clear photo is often a warm
    wall or a lamp rather than haze).

    Examples
    --------
    >>> sky = np.zeros((40, 40, 3), np.float32); sky[:10] = (0.6, 0.7, 0.8)
    >>> [round(float(v), 2) for v in estimate_fog_color(sky)]
    [0.65, 0.7, 0.75]
    """
    array = as_float_image(image)
    rgb = split_alpha(array)[0]
    longer = max(rgb.shape[:2])
    # The reductions take alpha along and drop it after: OpenCV reduces every channel on
    # its own (same colour), and would first copy the colour out of an RGBA array.
    if longer >= 4 * _ESTIMATE_SIDE:
        # Large photos: means over k x k blocks, k whole, to between 1 and 1.25 times the
        # estimate's size. OpenCV's INTER_AREA has a fast path for whole factors (a third
        # of the time of others at 12 MP); the last k - 1 rows and columns at most are
        # left out.
        factor = longer // _ESTIMATE_SIDE
        size = (max(1, rgb.shape[1] // factor), max(1, rgb.shape[0] // factor))
        whole = array[: size[1] * factor, : size[0] * factor]
        rgb = cv2.resize(whole, size, interpolation=cv2.INTER_AREA)[:, :, :3]
    elif longer > _ESTIMATE_SIDE:
        factor = _ESTIMATE_SIDE / longer
        size = (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor)))
        rgb = cv2.resize(array, size, interpolation=cv2.INTER_AREA)[:, :, :3]
    window = max(3, (max(rgb.shape[:2]) // 40) | 1)
    darkest = np.minimum(np.minimum(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2])
    dark = cv2.erode(darkest, cv2.getStructuringElement(cv2.MORPH_RECT, (window, window)))
    count = max(1, round(dark.size * 0.001))
    brightest = np.argpartition(dark.ravel(), dark.size - count)[dark.size - count :]
    colour = rgb.reshape(-1, 3)[brightest].mean(axis=0)
    # In a clear photo the brightest region is often a lamp or a warm wall, not haze; half
    # of its tint is kept so the fog matches the scene's light without looking dirty.
    grey = float(colour.mean())
    return (grey + _AUTO_TINT * (colour - grey)).astype(np.float32)


# --------------------------------------------------------------------------- optics


def height_fog_optical_depth(
    beta: float | np.ndarray,
    distance: np.ndarray,
    sin_elevation: np.ndarray,
    falloff: float,
) -> np.ndarray:
    """Optical depth of exponential height fog along a straight ray, in closed form.

    The extinction at height ``h`` above eye level is ``beta * exp(-h / falloff)``; along a
    ray rising with ``sin_elevation`` the height at distance ``s`` is ``s * sin_elevation``,
    so ``tau = beta * D * (1 - exp(-u)) / u`` with ``u = D * sin_elevation / falloff`` (and
    ``beta * D`` when ``u = 0``). Rays into the sky reach a finite ``tau`` even at infinite
    distance; rays pointing down get denser fog. (:func:`fog` evaluates the same in float32
    row chunks; this is the reference its tests compare with.)

    Parameters
    ----------
    beta : float or ndarray
        Extinction coefficient at eye level (1 / distance unit).
    distance : ndarray
        Length of the ray (may be ``inf``).
    sin_elevation : ndarray
        Sine of the ray's angle above the horizon, broadcastable to ``distance``.
    falloff : float
        Height over which the density falls by a factor e, > 0, same unit as ``distance``.

    Examples
    --------
    >>> tau = height_fog_optical_depth(0.5, np.array([2.0]), np.array([0.0]), 10.0)
    >>> float(tau[0])
    1.0
    """
    if not falloff > 0:
        raise ParameterError(f"height_falloff must be > 0, got {falloff}")
    distance = np.asarray(distance, np.float32)
    rate = np.asarray(np.asarray(sin_elevation, np.float32) / np.float32(falloff), np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # beta * D * (1 - exp(-u)) / u is beta * (1 - exp(-u)) / rate, which also holds at
        # infinite distance: a rising ray leaves the fog (beta / rate), a falling one meets
        # +inf. expm1 keeps the digits that 1 - exp(-u) loses for small u.
        leaving = np.float32(beta) * -np.expm1(-(distance * rate)) / rate
        tau = np.where(rate != 0, leaving, np.float32(beta) * distance)
    return np.asarray(tau, np.float32)


# --------------------------------------------------------------------------- the effect


def fog(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    visibility: float | None = None,
    density: float = 0.2,
    near: float = 0.5,
    far: float = 10.0,
    color: str = "auto",
    max_fog: float = 0.9,
    height_falloff: float = 0.0,
    horizon: float = 0.5,
    patchiness: float = 0.0,
    patch_size: float = 0.3,
    seed: int = 0,
    focal_px: float | None = None,
    edge_aware: bool = True,
    progress: Progress | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Add fog or haze that thickens with distance (Koschmieder's law).

    Parameters
    ----------
    image : ndarray (H, W, 3|4) float32, linear light
        The photo; a 4th channel (straight alpha) is passed through.
    depth : DepthMap or ndarray (h, w)
        Nearness (larger = nearer). Resized to the photo if only the scale differs.
    visibility, density, near, far, color, max_fog, height_falloff, horizon, patchiness, \
patch_size, seed, focal_px, edge_aware
        The options of :class:`Fog` (each field's help gives its meaning and range).
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
        An option is out of range, the colour is unknown, ``visibility`` is given for a
        depth map without metric scale, or ``out`` does not fit the image.

    Examples
    --------
    >>> photo = np.zeros((8, 8, 3), np.float32)
    >>> plane = DepthMap(np.full((8, 8), 2.0, np.float32), metric_scale=20.0)  # 10 m away
    >>> out = fog(photo, plane, visibility=10.0, color="white", max_fog=1.0)
    >>> round(float(out[4, 4, 0]), 3)  # 1 - exp(-ln 20) = 0.95 of the way to white
    0.95
    """
    options = Fog(
        visibility=visibility,
        density=density,
        near=near,
        far=far,
        color=color,
        max_fog=max_fog,
        height_falloff=height_falloff,
        horizon=horizon,
        patchiness=patchiness,
        patch_size=patch_size,
        seed=seed,
        focal_px=focal_px,
        edge_aware=edge_aware,
    )
    return options.apply(image, depth, progress=progress, out=out)


def _render_fog(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    visibility: float | None,
    density: float,
    near: float,
    far: float,
    color: str | tuple[float, ...],
    max_fog: float,
    height_falloff: float,
    horizon: float,
    patchiness: float,
    patch_size: float,
    seed: int,
    focal_px: float | None,
    edge_aware: bool,
    progress: Progress | None,
    out: np.ndarray | None,
) -> np.ndarray:
    """:func:`fog` with checked options (:meth:`Fog.apply` passes them)."""
    fog_color = parse_fog_color(color)
    array = as_float_image(image)
    result = checked_out(out, array)
    if result is None:
        result = np.empty(array.shape, np.float32)
    depth_map = as_depthmap(depth)
    if visibility is not None and not depth_map.is_metric:
        raise ParameterError(
            "visibility needs metric depth (a baseline and focal length or a calibration); "
            "for relative depth use density with near/far"
        )
    no_fog = visibility == math.inf if visibility is not None else density == 0
    if no_fog:
        if result is not array:
            np.copyto(result, array)
        return result
    report = progress or (lambda stage, fraction: None)

    rgb, alpha = split_alpha(array)
    out_rgb, out_alpha = split_alpha(result)
    height, width = rgb.shape[:2]
    report("depth", 0.1)
    depth_map = depth_map.fit_to((height, width), guide=rgb)
    if edge_aware and depth_map.confidence is not None:
        # Unmeasured depth on a featureless sky or wall is noise: no fog edges there.
        depth_map = depth_map.with_nearness(
            trusted_nearness(rgb, depth_map.nearness, depth_map.confidence)
        )
    large = max(height, width) > _WORK_SIDE
    with JobGroup() as pool:
        if fog_color is None:
            # The colour estimate needs only the photo: it runs on a worker thread while the
            # first bands compute their transmission.
            colour_job = pool.submit(estimate_fog_color, rgb)

        report("transmission", 0.3)
        # Only the nearness range (relative depth) and the patch noise are computed for the
        # whole photo; everything else is pointwise and runs band by band on the workers.
        noise_job = None
        patch_step = max(1, -(-max(height, width) // _NOISE_SIDE))
        if patchiness > 0:
            noise_shape = (-(-height // patch_step), -(-width // patch_step))
            noise_job = pool.submit(fractal_noise, noise_shape, scale=patch_size, seed=seed)
        field = _TransmissionField.build(
            depth_map,
            beta=_LN20 / visibility if visibility is not None else density,
            metric=visibility is not None,
            near=near,
            far=far,
            focal_px=focal_px,
            height_falloff=height_falloff,
            horizon=horizon,
            noise=noise_job.result() if noise_job is not None else None,
            patch_step=patch_step,
            patchiness=patchiness,
            floor=np.float32(1.0 - max_fog),
        )
        # Along depth edges each pixel takes the near and the far side's depth in the shares
        # the photo's colours give (the background between hair or fibres is fogged as
        # background), and is smooth where the photo cannot tell the sides apart.
        # (The field keeps the depth map's range; only split pixels change.) Fog varies
        # smoothly with depth and is refined by the guided filter afterwards, so the matte
        # is made on a reduced copy and its correction enlarged band by band.
        if edge_aware:
            step = correction_step((height, width), _MATTE_SIDE)
            correction = nearness_correction(array, depth_map.nearness, step=step)
            if correction is not None:
                padded = cv2.copyMakeBorder(correction, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
                field = replace(field, correction=padded, correction_step=step)
        radius = max(2, round(max(height, width) / 200))
        bands = split_rows(height, _BANDS_PER_WORKER * workers())
        transmission: np.ndarray | None = None
        if edge_aware and not large:
            # Small photos: one guided filter over the whole photo with the colour guide.
            raw = np.empty((height, width), np.float32)
            list(pool.map(lambda rows: field.compute(rows, out=raw[rows[0] : rows[1]]), bands))
            transmission = guided_filter(_perceptual(rgb), raw, radius=radius, eps=_EDGE_EPS)
            _clamp(transmission, field.floor)
        # The result may be the image itself (out=image): a band writes only its own rows,
        # and only after the colour estimate (which reads the whole photo) is done, and
        # the guide rows it needs from its neighbours are made before any band starts.
        halo = 2 * radius  # the guided filter boxes twice
        if edge_aware and transmission is None:
            # One set of band-sized planes per worker, reused for all its bands.
            band_rows = max(y1 - y0 for y0, y1 in bands) + 2 * halo
            band_planes = WorkerBuffers((5, band_rows, width))
            strips = {
                y0: _gray_guide(rgb[s0:s1], out=np.empty((s1 - s0, width), np.float32))
                for y0, _ in bands[1:]
                for s0, s1 in [with_halo((y0, y0), halo, height)]
            }

        def airlight() -> tuple[float, float, float, float]:
            colour = colour_job.result() if fog_color is None else fog_color
            red, green, blue = (float(value) for value in np.asarray(colour, np.float32)[:3])
            return (red, green, blue, 0.0)

        def band_job(rows: tuple[int, int]) -> None:
            y0, y1 = rows
            if transmission is not None:
                _koschmieder_blend(rgb[y0:y1], transmission[y0:y1], airlight(), out=out_rgb[y0:y1])
            elif edge_aware:
                # Large photos: each band computes its transmission with a halo and refines
                # it with a grey guide at full size, which gives the same result as one
                # whole-image pass. (The fast, subsampled guided filter would leak fog a
                # few pixels across outlines, where halos show most.)
                h0, h1 = with_halo(rows, halo, height)
                with band_planes.lend() as all_planes:
                    planes = all_planes[:, : h1 - h0]
                    halo_band = field.compute((h0, h1), out=planes[0])
                    guide = planes[1]
                    if h0 < y0:
                        strip = strips[y0]
                        guide[: y0 - h0] = strip[: y0 - h0]
                    _gray_guide(rgb[y0:y1], out=guide[y0 - h0 : y1 - h0])
                    if y1 < h1:
                        strip = strips[y1]
                        guide[y1 - h0 :] = strip[len(strip) - (h1 - y1) :]
                    refined = _GrayGuidedFilter(
                        guide, halo_band, radius=radius, eps=_EDGE_EPS, buffers=planes[2:]
                    )
                    # The filter's last step runs inside the blend's chunks, in the cache.
                    _koschmieder_blend(
                        rgb[y0:y1],
                        refined.rows(y0 - h0, y1 - h0, floor=field.floor),
                        airlight(),
                        out=out_rgb[y0:y1],
                    )
            else:
                local = field.compute(rows, out=np.empty((y1 - y0, width), np.float32))
                _koschmieder_blend(rgb[y0:y1], local, airlight(), out=out_rgb[y0:y1])

        report("edges" if edge_aware else "blending", 0.5)
        list(pool.map(band_job, bands))
    if out_alpha is not None and alpha is not None and not np.may_share_memory(out_alpha, alpha):
        np.copyto(out_alpha, alpha)
    report("done", 1.0)
    return result


def _koschmieder_blend(
    rgb: np.ndarray,
    transmission: np.ndarray | Callable[[int, int, np.ndarray], np.ndarray],
    airlight: tuple[float, float, float, float],
    *,
    out: np.ndarray,
) -> None:
    """``out = J t + A (1 - t)``, in row chunks that stay in the cache.

    ``transmission`` is an array, or a function filling rows ``[c0, c1)`` into a scratch
    array and returning them. OpenCV's ``blendLinear`` does the per-pixel colour arithmetic
    in one pass (NumPy broadcasting over a trailing axis of 3 is several times slower).
    ``out`` may be ``rgb`` itself; an ``out`` OpenCV cannot write into (the colour of a
    4-channel array) gets each chunk through a scratch array.
    """
    height, width = rgb.shape[:2]
    rows = min(_BLEND_ROWS, height)
    fog_chunk = np.empty((rows, width, 3), np.float32)
    fog_chunk[:] = airlight[:3]
    scratch, keep, lose = (np.empty((rows, width), np.float32) for _ in range(3))
    blended = None if out.flags.c_contiguous else np.empty((rows, width, 3), np.float32)
    for c0 in range(0, height, _BLEND_ROWS):
        c1 = min(c0 + _BLEND_ROWS, height)
        count = c1 - c0
        if callable(transmission):
            t_chunk = transmission(c0, c1, scratch[:count])
        else:
            t_chunk = transmission[c0:c1]
        # blendLinear divides by w1 + w2 + 1e-5; weights of 1000 t and 1000 (1 - t) make
        # that 1e-8 of the result instead of 1e-5.
        np.multiply(t_chunk, np.float32(1000.0), out=keep[:count])
        np.subtract(np.float32(1000.0), keep[:count], out=lose[:count])
        cv2.blendLinear(
            np.ascontiguousarray(rgb[c0:c1]),
            fog_chunk[:count],
            keep[:count],
            lose[:count],
            dst=out[c0:c1] if blended is None else blended[:count],
        )
        if blended is not None:
            out[c0:c1] = blended[:count]


@dataclass(frozen=True)
class _TransmissionField:
    """The transmission of one photo, computed for any rows on demand.

    It works with closeness, 1 / distance along the ray (0 = infinitely far): nearness maps
    to it by one affine step and a clamp in both modes, and every optical depth is a
    quotient by it, so no pass computes the distance itself. Steps run in row chunks that
    stay in the cache.
    """

    nearness: np.ndarray
    # closeness = clamp(nearness * scale + offset, low, high), before the ray's obliquity
    scale: float
    offset: float
    low: float
    high: float
    obliquity: tuple[np.ndarray, np.ndarray] | None  # 1 + (y/f)^2 per row, (x/f)^2 per column
    beta: float
    # Height fog (None: uniform): -rate and beta / rate per row, rate = sin(elevation) /
    # falloff, and the rows where the closed form loses digits.
    neg_rate: np.ndarray | None
    tau_per_rate: np.ndarray | None
    series_rows: tuple[int, int]
    patches: np.ndarray | None  # 1 + patchiness * noise at 1 / patch_step size, padded
    patch_step: int
    floor: np.float32
    # Added to the nearness: the depth edges matted to the photo, at 1 / correction_step
    # size, padded like ``patches``.
    correction: np.ndarray | None = None
    correction_step: int = 1

    @classmethod
    def build(
        cls,
        depth: DepthMap,
        *,
        beta: float,
        metric: bool,
        near: float,
        far: float,
        focal_px: float | None,
        height_falloff: float,
        horizon: float,
        noise: np.ndarray | None,
        patch_step: int,
        patchiness: float,
        floor: np.float32,
    ) -> _TransmissionField:
        height, width = depth.shape
        if metric:
            assert depth.metric_scale is not None
            # distance = metric_scale / nearness; nearness <= 0 is infinitely far.
            scale, offset, low, high = 1.0 / depth.metric_scale, 0.0, 0.0, math.inf
            nearest = max(0.0, extremes(depth.nearness)[1]) * scale
        else:
            # Nearness mapped to 0..1 over its robust range; 1 / distance is linear in it
            # between 1 / far and 1 / near (nearness is disparity-like).
            nearness_low, nearness_high = _nearness_range(depth)
            low, high = 1.0 / far, 1.0 / near
            scale = 0.0  # a flat depth map: everything at the far distance
            if nearness_high > nearness_low:
                scale = (high - low) / (nearness_high - nearness_low)
            offset = low - nearness_low * scale
            nearest = high
        obliquity = None
        if focal_px is not None:
            ys = (np.arange(height, dtype=np.float32) - (height - 1) / 2) / np.float32(focal_px)
            xs = (np.arange(width, dtype=np.float32) - (width - 1) / 2) / np.float32(focal_px)
            obliquity = (1.0 + ys[:, None] ** 2, xs[None, :] ** 2)
        neg_rate = tau_per_rate = None
        series_rows = (0, 0)
        if height_falloff > 0:
            rate = _sin_elevation((height, width), horizon=horizon, focal_px=focal_px)
            rate /= np.float32(height_falloff)
            with np.errstate(divide="ignore"):
                tau_per_rate = (np.float32(beta) / rate).astype(np.float32)
            neg_rate = -rate
            # u = rate * distance and distance >= 1 / nearest: rows whose rate is large
            # enough never need the series. |rate| grows away from the horizon, so the
            # others form one range.
            needs_series = np.flatnonzero(~(np.abs(rate[:, 0]) >= _SERIES_BELOW * nearest))
            if needs_series.size:
                series_rows = (int(needs_series[0]), int(needs_series[-1]) + 1)
        patches = None
        if noise is not None:
            # Noise lies in [-1, 1] and patchiness in 0..1, so the factor is never negative;
            # being affine, it can be applied before the bilinear upsampling.
            factor = noise * np.float32(patchiness) + np.float32(1.0)
            patches = cv2.copyMakeBorder(factor, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        return cls(
            nearness=depth.nearness,
            scale=scale,
            offset=offset,
            low=low,
            high=high,
            obliquity=obliquity,
            beta=beta,
            neg_rate=neg_rate,
            tau_per_rate=tau_per_rate,
            series_rows=series_rows,
            patches=patches,
            patch_step=patch_step,
            floor=floor,
        )

    def compute(self, rows: tuple[int, int], *, out: np.ndarray) -> np.ndarray:
        """Transmission ``max(exp(-tau), floor)`` of image rows ``rows``, into ``out``."""
        for c0 in range(rows[0], rows[1], _TRANSMIT_ROWS):
            c1 = min(c0 + _TRANSMIT_ROWS, rows[1])
            chunk = out[c0 - rows[0] : c1 - rows[0]]
            closeness = self._closeness(c0, c1, out=chunk)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                neg_tau = self._neg_optical_depth(c0, c1, closeness)
            if self.patches is not None:
                neg_tau *= _upsampled_rows(self.patches, self.patch_step, (c0, c1), chunk.shape[1])
            cv2.exp(neg_tau, dst=neg_tau)  # OpenCV's SIMD exp: ~6x NumPy's, within 3e-7
            cv2.max(neg_tau, float(self.floor), dst=neg_tau)  # type: ignore[call-overload]
        return out

    def _closeness(self, y0: int, y1: int, *, out: np.ndarray) -> np.ndarray:
        nearness = self.nearness[y0:y1]
        if self.correction is not None:
            nearness = nearness + _upsampled_rows(
                self.correction, self.correction_step, (y0, y1), out.shape[1]
            )
        np.multiply(nearness, np.float32(self.scale), out=out)
        if self.offset:
            out += np.float32(self.offset)
        np.clip(out, np.float32(self.low), np.float32(self.high), out=out)  # one pass
        if self.obliquity is not None:
            # Along the viewing ray: distance * sqrt(1 + (x^2 + y^2) / f^2).
            rows, columns = self.obliquity
            ray = np.add(rows[y0:y1], columns, dtype=np.float32)
            np.divide(out, np.sqrt(ray, out=ray), out=out)
        return out

    def _neg_optical_depth(self, y0: int, y1: int, closeness: np.ndarray) -> np.ndarray:
        """-tau from ``closeness``, in its place."""
        if self.neg_rate is None or self.tau_per_rate is None:
            return np.divide(np.float32(-self.beta), closeness, out=closeness)
        # Height fog: tau = beta * (1 - exp(-u)) / rate with u = rate * distance (see
        # height_fog_optical_depth), one factor per row.
        s0, s1 = max(y0, self.series_rows[0]), min(y1, self.series_rows[1])
        near_horizon = closeness[s0 - y0 : s1 - y0].copy() if s0 < s1 else None
        neg_tau = np.divide(self.neg_rate[y0:y1], closeness, out=closeness)  # -u
        cv2.exp(neg_tau, dst=neg_tau)
        neg_tau -= np.float32(1.0)
        neg_tau *= self.tau_per_rate[y0:y1]
        if near_horizon is not None:
            # 1 - exp(-u) loses digits to cancellation for small u (and rate = 0 gives
            # 0 / 0); there the series is exact to float32 (the next term, u^4 / 120, is
            # below 1e-9). Along the horizon to infinity (0 / 0) the fog never ends.
            block = neg_tau[s0 - y0 : s1 - y0]
            u = np.divide(-self.neg_rate[s0:s1], near_horizon)
            small = np.abs(u) < _SERIES_BELOW
            values = u[small]
            series = 1.0 - values / 2 * (1.0 - values / 3 * (1.0 - values / 4))
            block[small] = np.float32(-self.beta) / near_horizon[small] * series
            cv2.patchNaNs(block, -math.inf)
        return neg_tau


def _upsampled_rows(grid: np.ndarray, step: int, rows: tuple[int, int], width: int) -> np.ndarray:
    """Rows ``rows`` of ``grid`` (padded by one replicated cell) upsampled ``step`` times.

    Bilinear with pixel centres aligned, as ``cv2.resize`` of the unpadded grid by exactly
    ``step`` would give, without making the full-size array: a crop of source rows with a
    margin is resized, and the rows its edges touch are dropped.
    """
    first = rows[0] // step
    last = min(grid.shape[0], int((rows[1] - 0.5) / step + 1.5) + 1)
    upsampled = cv2.resize(
        grid[first:last],
        (grid.shape[1] * step, (last - first) * step),
        interpolation=cv2.INTER_LINEAR,
    )
    top = rows[0] - step * (first - 1)
    return upsampled[top : top + rows[1] - rows[0], step : step + width]


def _clamp(transmission: np.ndarray, floor: np.float32) -> np.ndarray:
    # NumPy's clip: one SIMD pass for both bounds (np.maximum alone is slower than
    # OpenCV's max, which takes a pass per bound).
    return np.clip(transmission, floor, np.float32(1.0), out=transmission)


class _GrayGuidedFilter:
    """The grey guided filter of :func:`depthfx.filters.guided_filter`, with reused buffers.

    Same result; on a 12 MP photo, fresh 48 MB temporaries for each step cost more than the
    box filters themselves. Construction computes the averaged coefficients (overwriting
    ``source``); :meth:`rows` gives the output rows, so the last step can run chunk by
    chunk where the result is used.
    """

    def __init__(
        self,
        guide: np.ndarray,
        source: np.ndarray,
        *,
        radius: int,
        eps: float,
        buffers: np.ndarray | None = None,
    ):
        size = (2 * radius + 1, 2 * radius + 1)

        def box(array: np.ndarray, out: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(array, -1, size, dst=out, borderType=cv2.BORDER_REFLECT)

        if buffers is None:  # 3 guide-sized arrays to work in
            buffers = np.empty((3, *guide.shape), np.float32)
        mean_i, mean_p, cov = buffers[:3]
        box(guide, mean_i)
        box(source, mean_p)
        box(cv2.multiply(guide, source, dst=cov), cov)
        var = source  # no longer needed: one band-sized plane less per worker
        box(cv2.multiply(guide, guide, dst=var), var)
        # The pointwise steps run in row chunks that stay in the cache (each full-band step
        # would stream 3 x 13 MB through memory); the values are the same.
        rows = guide.shape[0]
        scratch, variance = (np.empty((_CHUNK_ROWS, guide.shape[1]), np.float32) for _ in "ab")
        for y0 in range(0, rows, _CHUNK_ROWS):
            y1 = min(y0 + _CHUNK_ROWS, rows)
            tmp, v_i = scratch[: y1 - y0], variance[: y1 - y0]
            m_i, m_p, c_ip = mean_i[y0:y1], mean_p[y0:y1], cov[y0:y1]
            cv2.subtract(c_ip, cv2.multiply(m_i, m_p, dst=tmp), dst=c_ip)
            cv2.subtract(var[y0:y1], cv2.multiply(m_i, m_i, dst=tmp), dst=v_i)
            v_i += np.float32(eps)
            a = cv2.divide(c_ip, v_i, dst=c_ip)
            cv2.subtract(m_p, cv2.multiply(a, m_i, dst=tmp), dst=m_p)  # b
        self.guide = guide
        self.mean_a, self.mean_b = box(cov, mean_i), box(mean_p, var)

    def rows(
        self, first: int, last: int, *, floor: np.float32
    ) -> Callable[[int, int, np.ndarray], np.ndarray]:
        """A function filling output rows ``first + c0 .. first + c1``, clamped to
        ``[floor, 1]``, into a given array (the form :func:`_koschmieder_blend` takes)."""

        def fill(c0: int, c1: int, out: np.ndarray) -> np.ndarray:
            y0, y1 = first + c0, first + c1
            cv2.multiply(self.mean_a[y0:y1], self.guide[y0:y1], dst=out)
            out += self.mean_b[y0:y1]
            return _clamp(out, floor)

        assert 0 <= first <= last <= self.guide.shape[0]
        return fill


def _gray_guide(rgb: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """The grey guide of large photos, into ``out``: square root of the linear luminance
    (perceptual edges, see :func:`_perceptual`), made in row chunks that stay in the
    cache."""
    for y0 in range(0, rgb.shape[0], _CHUNK_ROWS):
        gray = cv2.cvtColor(rgb[y0 : y0 + _CHUNK_ROWS], cv2.COLOR_RGB2GRAY)
        cv2.threshold(gray, 0.0, 0.0, cv2.THRESH_TOZERO, dst=gray)  # max(x, 0)
        cv2.sqrt(gray, dst=out[y0 : y0 + _CHUNK_ROWS])  # SIMD: half NumPy's time, same values
    return out


def _perceptual(rgb: np.ndarray) -> np.ndarray:
    # The guide's edges should be judged as the eye sees them, not in linear light where
    # everything dark looks flat.
    return np.sqrt(np.maximum(rgb, 0.0))


def _nearness_range(depth: DepthMap) -> tuple[float, float]:
    """0.5 and 99.5 percentiles of the (trusted) nearness, from a regular subsample."""
    values = depth.nearness
    step = sample_step(values.size)
    sample = values[::step, ::step]
    trusted = sample
    if depth.confidence is not None:
        trusted = sample[depth.confidence[::step, ::step] > 0.5]
        if trusted.size < 16:
            trusted = sample
    low, high = (float(v) for v in percentiles(trusted, [0.5, 99.5]))
    return low, high


def _sin_elevation(shape: tuple[int, int], *, horizon: float, focal_px: float | None) -> np.ndarray:
    height, width = shape
    focal = (
        focal_px
        if focal_px is not None
        else width / (2 * math.tan(math.radians(_DEFAULT_FOV_DEG / 2)))
    )
    rise = horizon * height - (np.arange(height, dtype=np.float32) + 0.5)
    return (rise / np.sqrt(rise * rise + np.float32(focal) ** 2))[:, None].astype(np.float32)


_FOG = "Fog"


@dataclass(frozen=True)
class Fog(Params):
    """The fog effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`fog`, the ``depthfx fog`` command and
    preset steps (``effect = "fog"``) all take these names, ranges and defaults.

    With ``visibility`` the fog is metric: ``beta = ln 20 / visibility``, which needs a
    depth map with a metric scale (``inf`` means no fog). Without it the nearest pixels
    are placed at ``near`` and the farthest at ``far`` and, nearness being disparity-like,
    ``1 / distance`` is interpolated linearly between them (the far end also clamps the
    sky). With ``focal_px`` the distance is measured along each pixel's viewing ray,
    ``depth * sqrt(1 + r^2 / f^2)``, instead of along the optical axis; height fog then
    assumes a 45 degree horizontal field of view without it.

    Examples
    --------
    >>> effect = Fog(density=0.3, color="white")
    >>> out = effect.apply(np.zeros((4, 4, 3), np.float32), np.ones((4, 4), np.float32))
    >>> out.shape
    (4, 4, 3)
    >>> Fog(max_fog=7)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: max_fog must be > 0 and <= 1, got 7.0
    """

    visibility: float | None = option(
        None,
        kind=float,
        above=0.0,
        finite=False,
        unit="metres, inf = no fog",
        help="Metric fog: distance at which contrast falls to 5 % (needs metric depth).",
        panel=_FOG,
    )
    density: float = option(
        0.2,
        low=0.0,
        high=100.0,
        help="Without visibility: fog per unit of pseudo-distance, 0 = none.",
        panel=_FOG,
    )
    near: float = option(
        0.5, above=0.0, help="Pseudo-distance of the nearest pixels (relative depth).", panel=_FOG
    )
    far: float = option(
        10.0,
        help="Pseudo-distance of the farthest pixels (relative depth), beyond near.",
        panel=_FOG,
    )
    color: str | tuple[float, ...] = option(
        "auto",
        parse=_check_color,
        help=f"Fog colour: 'auto' (estimated from the photo's haziest region) or {COLOR_HELP}.",
        panel=_FOG,
    )
    max_fog: float = option(
        0.9,
        above=0.0,
        high=1.0,
        help="Most fog any pixel gets; below 1 the sky and the farthest pixels keep their texture.",
        panel=_FOG,
    )
    height_falloff: float = option(
        0.0,
        low=0.0,
        help="Height fog: height (in the distance unit) over which the density falls by e "
        "above eye level; 0 = uniform fog.",
        panel=_FOG,
    )
    horizon: float = option(
        0.5,
        low=-1.0,
        high=2.0,
        help="Eye-level row as a fraction of the height, 0 = top.",
        panel=_FOG,
    )
    patchiness: float = option(
        0.0, low=0.0, high=1.0, help="Patchy fog from seeded fractal noise.", panel=_FOG
    )
    patch_size: float = option(
        0.3,
        above=0.0,
        high=4.0,
        unit="of the longer side",
        help="Size of the largest fog patches.",
        panel=_FOG,
    )
    seed: int = option(0, help="Seed of the fog patches.", panel=_FOG)
    focal_px: float | None = option(
        None,
        kind=float,
        above=0.0,
        unit="px",
        help="Focal length in pixels: distance is measured along each pixel's viewing ray.",
        panel=_FOG,
    )
    edge_aware: bool = option(True, help="Let fog edges follow the photo's outlines.", panel=_FOG)

    def check_together(self) -> None:
        if not 0 < self.near < self.far:
            raise ParameterError(
                "near and far must satisfy 0 < near < far < inf, "
                f"got near={self.near}, far={self.far}"
            )

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: Progress | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Render ``image`` with these options (see :func:`fog`).

        Parameters
        ----------
        out : ndarray, optional
            float32 array of the image's shape to receive the result; it may be ``image``
            itself, which saves a full-size copy. The result is returned either way.
        """
        return _render_fog(image, depth, **self.options(), progress=progress, out=out)


__all__ = [
    "NAME",
    "Fog",
    "estimate_fog_color",
    "fog",
    "height_fog_optical_depth",
    "parse_fog_color",
]
