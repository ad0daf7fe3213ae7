"""Synthetic shallow depth of field (lens blur) from a photo and its depth.

The blur radius of each pixel is its circle of confusion (CoC). For a thin lens the CoC is
linear in inverse distance, i.e. in *nearness*::

    coc = k * (focus_nearness - nearness)     (positive behind the focal plane)

``strength`` fixes ``k`` so that the most blurred pixel of the photo gets a radius of
``strength`` percent of the image diagonal (resolution independent). With metric depth
and lens settings the CoC is physical instead::

    c = f^2 / (N (s_f - f)) * |1 - s_f / s|      (blur-circle diameter on the sensor)

converted to pixels with the sensor width. The blur itself is rendered by
:func:`depthfx.render.defocus.render_defocus`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .._parallel import JobGroup
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
from ..matte import edge_matte
from ..params import Params, option
from ..render.defocus import render_defocus
from ..render.kernels import SHAPES, Aperture
from ..stats import percentiles, sample_step
from .focus import FOCUS_HELP, FocusChoice, FocusSpec, choose_focus, parse_focus

NAME = "bokeh"

Progress = Callable[[str, float], None]

MAX_STRENGTH = 10.0
# Physical CoC is capped at this share of the diagonal (a macro shot at f/1.4 can ask for
# more than any photo can show).
_MAX_LENS_COC = 0.10
# Robust depth range: percentiles that ignore stray outliers of a depth map.
_RANGE_PERCENTILES = (0.5, 99.5)


def circle_of_confusion(
    depth: DepthMap,
    focus_nearness: float,
    *,
    strength: float = 1.5,
    depth_of_field: float = 0.0,
    focal_length_mm: float | None = None,
    f_number: float | None = None,
    sensor_width_mm: float = 36.0,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """Signed CoC radius in pixels (negative = in front of the focal plane).

    Parameters
    ----------
    depth : DepthMap
        Nearness of the photo (already at the photo's size).
    focus_nearness : float
        Nearness rendered sharp.
    strength : float
        0..10: largest blur radius in percent of the image diagonal (relative mode).
    depth_of_field : float
        0..1: share of the depth range (in nearness) around the focus that stays sharp.
    focal_length_mm, f_number : float, optional
        Lens settings; both given with a metric depth map switch to a physical CoC.
    sensor_width_mm : float
        Sensor width for the physical CoC (36 = full frame).
    values : ndarray (H, W), optional
        Nearness values to map instead of ``depth.nearness`` (the two sides of matted depth
        edges); the depth range is still that of ``depth``.

    Examples
    --------
    >>> near = np.array([[1.0, 2.0, 3.0]], np.float32)
    >>> coc = circle_of_confusion(DepthMap(near), 2.0, strength=10)
    >>> [round(float(v), 3) for v in coc[0]]  # diagonal ~3.16 px, 10 % of it
    [0.316, 0.0, -0.316]
    """
    height, width = depth.shape
    nearness = depth.nearness
    diagonal = math.hypot(width, height)
    step = sample_step(nearness.size)
    low, high = (float(v) for v in percentiles(nearness[::step, ::step], _RANGE_PERCENTILES))
    half_sharp = 0.5 * depth_of_field * max(high - low, 0.0)
    mapped = nearness if values is None else np.asarray(values, np.float32)
    offset = (np.float32(focus_nearness) - mapped).astype(np.float32, copy=False)
    # offset > 0 behind the focal plane
    if depth_of_field > 0:
        offset = np.sign(offset) * np.maximum(np.abs(offset) - np.float32(half_sharp), 0.0)
    if focal_length_mm is not None and f_number is not None:
        if depth.metric_scale is None:
            raise ParameterError(
                "focal_length_mm and f_number need metric depth (a stereo pair with "
                "--baseline and --focal, or --calib); use strength otherwise"
            )
        focal_m = focal_length_mm / 1000.0
        focus_m = depth.metric_scale / max(focus_nearness, 1e-12)
        if focus_m <= focal_m:
            raise ParameterError(
                f"focus distance {focus_m:.3g} m is not beyond the focal length ({focal_length_mm} mm)"
            )
        # Diameter on the sensor per unit of (1 - s_f / s) = (n_f - n) / n_f.
        diameter_m = focal_m**2 / (f_number * (focus_m - focal_m))
        pixels_per_m = width / (sensor_width_mm / 1000.0)
        scale = 0.5 * diameter_m * pixels_per_m / focus_nearness
        coc = (offset * np.float32(scale)).astype(np.float32)
        limit = _MAX_LENS_COC * diagonal
        return np.clip(coc, -limit, limit).astype(np.float32)
    largest = max(abs(focus_nearness - low), abs(high - focus_nearness)) - half_sharp
    radius = strength / 100.0 * diagonal
    if largest <= 1e-12 or radius <= 0:
        return np.zeros(mapped.shape, np.float32)
    # In place: each fresh full-size temporary costs more than the arithmetic on it.
    coc = np.multiply(offset, np.float32(radius / largest), out=offset)
    return np.clip(coc, -radius, radius, out=coc)


def bokeh(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    focus: FocusSpec = "auto",
    strength: float = 1.5,
    depth_of_field: float = 0.0,
    shape: str = "disc",
    blades: int = 6,
    rotation: float = 0.0,
    curvature: float = 0.0,
    highlight_threshold: float = 0.7,
    highlight_gain: float = 3.0,
    cats_eye: float = 0.0,
    grain: float = 0.0,
    focal_length_mm: float | None = None,
    f_number: float | None = None,
    sensor_width_mm: float = 36.0,
    progress: Progress | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Render a photo as if shot with a wide aperture focused at ``focus``.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4)
        Linear-light photo; alpha (4th channel) is preserved.
    depth : DepthMap or ndarray (H, W)
        Nearness (larger = nearer); resized to the photo if only the scale differs.
    focus, strength, depth_of_field, shape, blades, rotation, curvature, \
highlight_threshold, highlight_gain, cats_eye, grain, focal_length_mm, f_number, \
sensor_width_mm
        The options of :class:`Bokeh` (each field's help gives its meaning and range).
    progress : callable(stage, fraction), optional
    out : ndarray, optional
        float32 array of the image's shape to receive the result; it may be ``image``
        itself, which saves a full-size copy. The result is returned either way.

    Returns
    -------
    ndarray float32 with the shape of ``image`` (``out`` when given).

    Raises
    ------
    ParameterError
        An option out of its range (the message names it and the range), or ``out`` is not
        a float32 array of the image's shape.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> photo = rng.random((60, 80, 3), dtype=np.float32)
    >>> near = np.tile(np.linspace(0, 1, 80, dtype=np.float32), (60, 1))
    >>> out = bokeh(photo, near, focus=(40, 30), strength=2)
    >>> out.shape
    (60, 80, 3)
    """
    options = Bokeh(
        focus=focus,
        strength=strength,
        depth_of_field=depth_of_field,
        shape=shape,
        blades=blades,
        rotation=rotation,
        curvature=curvature,
        highlight_threshold=highlight_threshold,
        highlight_gain=highlight_gain,
        cats_eye=cats_eye,
        grain=grain,
        focal_length_mm=focal_length_mm,
        f_number=f_number,
        sensor_width_mm=sensor_width_mm,
    )
    return options.apply(image, depth, progress=progress, out=out)


_LENS = "Lens"
_PHYSICAL = "Real lens (needs metric depth)"


@dataclass(frozen=True)
class Bokeh(Params):
    """The lens-blur effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`bokeh`, the ``depthfx bokeh`` command and
    preset steps (``effect = "bokeh"``) all take these names, ranges and defaults.

    Examples
    --------
    >>> Bokeh(strength=2.0, focus="120,80").focus
    (120.0, 80.0)
    >>> Bokeh(strength=99)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: strength must be in 0..10 % of the image diagonal, got 99.0
    """

    focus: FocusSpec = option(
        "auto",
        kind=str,
        parse=parse_focus,
        help=FOCUS_HELP,
        panel=_LENS,
    )
    strength: float = option(
        1.5,
        low=0.0,
        high=MAX_STRENGTH,
        unit="% of the image diagonal",
        help="Largest blur radius.",
        panel=_LENS,
    )
    depth_of_field: float = option(
        0.0,
        low=0.0,
        high=1.0,
        unit="share of the depth range",
        help="In-focus range kept sharp around the focus.",
        panel=_LENS,
        aliases=("--dof",),
    )
    shape: str = option("disc", choices=SHAPES, help="Aperture shape.", panel=_LENS)
    blades: int = option(6, low=3, high=16, help="Blades of a polygon aperture.", panel=_LENS)
    rotation: float = option(0.0, unit="degrees", help="Polygon rotation.", panel=_LENS)
    curvature: float = option(
        0.0, low=0.0, high=1.0, help="Blade roundness, 0 straight, 1 a disc.", panel=_LENS
    )
    highlight_threshold: float = option(
        0.7,
        low=0.0,
        high=0.999,
        unit="linear luminance",
        help="Brightness above which highlights bloom into bright discs.",
        panel=_LENS,
    )
    highlight_gain: float = option(
        3.0,
        low=0.0,
        high=100.0,
        help="Boost of the brightest highlights before blurring, 0 = off.",
        panel=_LENS,
    )
    cats_eye: float = option(
        0.0, low=0.0, high=1.0, help="Cat's-eye bokeh toward the corners.", panel=_LENS
    )
    grain: float = option(
        0.0,
        low=0.0,
        high=2.0,
        help="Grain in blurred areas, 1 = the noise measured in the sharp areas.",
        panel=_LENS,
    )
    focal_length_mm: float | None = option(
        None,
        kind=float,
        low=1.0,
        high=2000.0,
        unit="mm",
        help="Real lens focal length, with f_number: a physically sized blur.",
        panel=_PHYSICAL,
        aliases=("--lens-mm",),
    )
    f_number: float | None = option(
        None, kind=float, low=0.5, high=64.0, help="Real lens f-number.", panel=_PHYSICAL
    )
    sensor_width_mm: float = option(
        36.0,
        low=1.0,
        high=100.0,
        unit="mm",
        help="Sensor width for the real lens, 36 = full frame.",
        panel=_PHYSICAL,
        aliases=("--sensor-mm",),
    )

    def check_together(self) -> None:
        if (self.focal_length_mm is None) != (self.f_number is None):
            raise ParameterError(
                "give both focal_length_mm and f_number for a physical lens, or neither"
            )

    def aperture(self) -> Aperture:
        """The aperture these options describe."""
        return Aperture(
            shape=self.shape,
            blades=self.blades,
            rotation_deg=self.rotation,
            curvature=self.curvature,
            cats_eye=self.cats_eye,
        )

    def resolve(self, image: np.ndarray, depth: DepthMap) -> tuple[Bokeh, str]:
        """These options with the focus chosen on ``image`` (for ``"auto"``, a point or a
        level), and a line that says what was chosen."""
        choice = choose_focus(as_float_image(image), depth, self.focus)
        return dataclasses.replace(self, focus=choice), choice.describe()

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: Progress | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Render ``image`` with these options (see :func:`bokeh`)."""
        image = as_float_image(image)
        checked_out(out, image)
        depth_map = as_depthmap(depth).fit_to(image.shape[:2], guide=image[:, :, :3])
        choice = choose_focus(image, depth_map, self.focus)
        return render_bokeh(image, depth_map, choice, self, progress=progress, out=out)


@dataclass(frozen=True)
class BlurPlan:
    """How much each pixel is blurred: all a lens blur needs of the depth map.

    Attributes
    ----------
    coc : ndarray float32 (H, W)
        Signed circle-of-confusion radius in pixels (negative in front of the focus).
    far_coc, far_share : ndarray float32 (H, W) or None
        Pixels split along matted depth edges: the far side's radius and share
        (see :func:`depthfx.matte.edge_matte`); None where the matte found no edge.
    noise : float
        The photo's noise level that grain in blurred areas matches; 0 for no grain.
    """

    coc: np.ndarray
    far_coc: np.ndarray | None
    far_share: np.ndarray | None
    noise: float


def plan_bokeh(image: np.ndarray, depth: DepthMap, focus: FocusChoice, options: Bokeh) -> BlurPlan:
    """The blur of each pixel for ``focus`` (after :func:`choose_focus`).

    Once planned, the depth map is not needed: the ``depthfx bokeh`` command lets its memory
    go to the render.
    """

    def coc_of(values: np.ndarray | None = None) -> np.ndarray:
        return circle_of_confusion(
            depth,
            focus.nearness,
            strength=options.strength,
            depth_of_field=options.depth_of_field,
            focal_length_mm=options.focal_length_mm,
            f_number=options.f_number,
            sensor_width_mm=options.sensor_width_mm,
            values=values,
        )

    # Along depth edges each pixel is split between the near and the far side's blur as
    # the photo's colours say (hair, fur and fibres over the background).
    # The CoC on a worker while the matte's serial start (reducing the depth) runs here.
    with JobGroup() as jobs:
        coc_job = jobs.submit(coc_of)
        matte = edge_matte(image, depth.nearness)
    coc = coc_job.result()
    far_coc = far_share = None
    if not matte.is_trivial:
        far_coc, far_share = matte.split(coc, coc_of)
    del matte  # its tiles are in the split now (a few dozen MB at 12 MP)
    grain = options.grain > 0 and float(np.abs(coc).max(initial=0.0)) >= 0.5
    # Measured on the photo before the render may write over it.
    noise = estimate_noise(split_alpha(image)[0], np.abs(coc) < 0.5) if grain else 0.0
    return BlurPlan(coc=coc, far_coc=far_coc, far_share=far_share, noise=noise)


def render_planned(
    image: np.ndarray,
    plan: BlurPlan,
    options: Bokeh,
    *,
    progress: Progress | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The lens blur of ``image`` as ``plan`` says, with ``options``' aperture, highlights
    and grain (``out`` as in :func:`bokeh`)."""
    target = checked_out(out, as_float_image(image))
    result = render_defocus(
        image,
        plan.coc,
        aperture=options.aperture(),
        highlight_threshold=options.highlight_threshold if options.highlight_gain > 0 else None,
        highlight_gain=options.highlight_gain,
        far_coc=plan.far_coc,
        far_share=plan.far_share,
        progress=progress,
        out=target,
    )
    if options.grain > 0 and plan.noise > 0:
        grained = _grain(result, plan.coc, plan.noise, amount=options.grain)
        if target is None:
            return grained
        np.copyto(target, grained)
    return result


def render_bokeh(
    image: np.ndarray,
    depth: DepthMap,
    focus: FocusChoice,
    options: Bokeh,
    *,
    progress: Progress | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`bokeh` after the focus is chosen (the CLI reports the focus in between)."""
    checked_out(out, as_float_image(image))
    plan = plan_bokeh(image, depth, focus, options)
    return render_planned(image, plan, options, progress=progress, out=out)


def add_matching_grain(
    rendered: np.ndarray,
    original: np.ndarray,
    coc: np.ndarray,
    *,
    amount: float = 1.0,
    seed: int = 0,
) -> np.ndarray:
    """Add noise to blurred areas matching the noise measured in the sharp ones.

    Noise is measured and added in the sRGB-encoded domain, where camera noise is roughly
    uniform across brightness. Deterministic for a given ``seed``.
    """
    source, _ = split_alpha(original)
    sigma = estimate_noise(source, np.abs(coc) < 0.5)
    if sigma <= 0:
        return rendered
    return _grain(rendered, coc, sigma, amount=amount, seed=seed)


def _grain(
    rendered: np.ndarray, coc: np.ndarray, sigma: float, *, amount: float, seed: int = 0
) -> np.ndarray:
    """:func:`add_matching_grain` with the noise level ``sigma`` measured (> 0)."""
    rgb, alpha = split_alpha(rendered)
    weight = np.clip(np.abs(coc) / 2.0, 0.0, 1.0) * np.float32(amount * sigma)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(rgb.shape[:2], dtype=np.float32)
    encoded = linear_to_srgb(np.clip(rgb, 0.0, None)) + (noise * weight)[:, :, None]
    return join_alpha(srgb_to_linear(np.clip(encoded, 0.0, None)), alpha)


def estimate_noise(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Noise standard deviation (sRGB-encoded, 0..1) in ``mask``, robust to texture."""
    if int(mask.sum()) < 64:
        return 0.0
    grey = cv2.cvtColor(linear_to_srgb(np.clip(rgb, 0.0, 1.0)), cv2.COLOR_RGB2GRAY)
    # Residual after a 3x3 mean; for white noise its std is sigma * sqrt(8/9).
    residual = grey - cv2.blur(grey, (3, 3))
    values = np.abs(residual[mask])
    return float(1.4826 * np.median(values) / math.sqrt(8.0 / 9.0))


__all__ = [
    "MAX_STRENGTH",
    "NAME",
    "BlurPlan",
    "Bokeh",
    "add_matching_grain",
    "bokeh",
    "circle_of_confusion",
    "estimate_noise",
    "plan_bokeh",
    "render_bokeh",
    "render_planned",
]
