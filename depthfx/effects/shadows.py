"""Shadows from depth: cast shadows between depth layers, and ray-marched relighting.

Two ways of using a depth map the way a renderer uses a shadow map:

* :func:`cast_layer_shadows` — the "paper-cut diorama" look. Each depth layer is a flat card
  at its own nearness; a card casts a soft copy of its silhouette onto the cards behind it,
  shifted away from the light by an amount proportional to the depth gap.
* :func:`relight_shadows` — nearness as a height field; every pixel marches towards a light
  at a given angle and elevation and is darkened when the height field blocks the way
  (screen-space shadow mapping).

Both darken in linear light by multiplication, as a real shadow removes light.

Directions follow one convention, the ``light_angle`` option of both: an angle in degrees,
counter-clockwise from "to the right" on the picture, so 90 is "from the top" and 135 is
"from the upper left".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..image import as_float_image, join_alpha, split_alpha
from ..params import Params, option

NAME = "shadows"

ProgressCallback = Callable[[str, float], None]
# Relighting works on a copy no larger than this (longer side, px); the mask is smooth.
_RELIGHT_WORKING_SIDE = 640


# --------------------------------------------------------------------------- helpers


def light_angle_option(*, panel: str, aliases: tuple[str, ...] = ()) -> Any:
    """The ``light_angle`` option field, the same for cast shadows and relighting.

    Examples
    --------
    >>> from dataclasses import fields
    >>> from depthfx.params import spec_of
    >>> @dataclass(frozen=True)
    ... class Lit:
    ...     light_angle: float = light_angle_option(panel="Light")
    >>> spec_of(fields(Lit)[0]).range_text()
    '-360..360 degrees'
    """
    return option(
        135.0,
        low=-360.0,
        high=360.0,
        unit="degrees",
        help="Where the light comes from, counter-clockwise from the right; 135 = upper left.",
        panel=panel,
        aliases=aliases,
    )


def direction_away_from_light(angle_deg: float) -> tuple[float, float]:
    """Unit (dx, dy) in image coordinates (y down) pointing away from a light at ``angle_deg``.

    Examples
    --------
    >>> [round(v, 6) + 0.0 for v in direction_away_from_light(90)]  # light from the top
    [0.0, 1.0]
    """
    radians = math.radians(angle_deg)
    return (-math.cos(radians), math.sin(radians))


def shift_image(
    array: np.ndarray, dx: float, dy: float, *, border: int = cv2.BORDER_CONSTANT
) -> np.ndarray:
    """Translate an (H, W) or (H, W, C) float array by a sub-pixel (dx, dy), bilinear."""
    if dx == 0 and dy == 0:
        return array.copy()
    height, width = array.shape[:2]
    matrix = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float32)
    shifted = cv2.warpAffine(
        array, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=border, borderValue=0
    )
    return shifted.reshape(array.shape)


def _blur(mask: np.ndarray, sigma: float) -> np.ndarray:
    if sigma < 0.3:
        return mask
    # A wide blur loses nothing on a grid of blocks a quarter of sigma wide, and costs a
    # fraction there (the kernel is sigma wide). Padding to whole blocks keeps it aligned.
    step = int(sigma // 4)
    if step < 2:
        return cv2.GaussianBlur(
            mask, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_CONSTANT
        )
    height, width = mask.shape
    padded = cv2.copyMakeBorder(
        mask, 0, -height % step, 0, -width % step, cv2.BORDER_CONSTANT, value=0
    )
    small_size = (padded.shape[1] // step, padded.shape[0] // step)
    small = cv2.resize(padded, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(
        small, (0, 0), sigmaX=sigma / step, sigmaY=sigma / step, borderType=cv2.BORDER_CONSTANT
    )
    full = cv2.resize(small, padded.shape[1::-1], interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(full[:height, :width])


def _smoothstep(low: float, high: float, value: np.ndarray) -> np.ndarray:
    ratio = np.clip((value - low) / (high - low), 0.0, 1.0)
    return (ratio * ratio * (3.0 - 2.0 * ratio)).astype(np.float32)


def apply_shadow(rgb: np.ndarray, shadow_alpha: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Multiply ``rgb`` (linear) by a shadow: ``rgb * (1 - a + a * color)``.

    This is also what a paint program does with a ``color`` layer of alpha ``a`` in
    multiply mode, so exported shadow layers recompose the same way.
    """
    alpha = shadow_alpha[:, :, None]
    return (rgb * (1.0 - alpha + alpha * color[None, None, :])).astype(np.float32)


# --------------------------------------------------------------------------- cast shadows


def cast_layer_shadows(
    silhouettes: Sequence[np.ndarray],
    alphas: Sequence[np.ndarray],
    planes: Sequence[float],
    *,
    light_angle: float = 135.0,
    length_px: float = 20.0,
    softness_px: float = 6.0,
    opacity: float = 0.5,
    nearness: np.ndarray | None = None,
    tops: Sequence[float] | None = None,
) -> list[np.ndarray]:
    """Shadow alpha cast by each depth layer onto the layers behind it.

    Layers are ordered back to front. Layer ``k`` (k >= 1) casts its ``silhouette`` (its own
    visible shape) onto every layer ``j < k``; on layer ``j`` the shadow is shifted away from
    the light by ``(planes[k] - planes[j]) * length_px`` and blurred with a Gaussian of sigma
    ``(planes[k] - planes[j]) * softness_px``, so gaps that are larger throw longer and softer
    shadows. Where several layers lie behind layer ``k``, the shadow on each pixel is the one
    on the layer seen there (its share of the composite of layers ``0..k-1``).

    Parameters
    ----------
    silhouettes : list of (H, W) float arrays
        Each layer's own shape (alpha of the part of the photo it holds).
    alphas : list of (H, W) float arrays
        Each layer's alpha in the stack (layer 0 is opaque).
    planes : list of float
        Nearness of each layer's plane, normalized (0 = farthest, 1 = nearest).
    light_angle : float
        Where the light comes from, degrees counter-clockwise from the right.
    length_px : float
        Shadow offset in pixels for a gap of 1 (the whole depth range).
    softness_px : float
        Blur sigma in pixels for a gap of 1.
    opacity : float
        Darkness of the shadow, 0..1.
    nearness : (H, W) float array, optional
        The actual normalized nearness. When given, a caster pixel darkens a receiver pixel
        only in proportion to how far it really stands in front of it (full strength from
        60 % of the planes' gap, none below 25 %), so a cut through a continuous surface (a
        floor, a slanted wall) throws no shadow while real depth edges do.
    tops : list of float, optional
        Highest normalized nearness in each layer; with ``nearness``, where a receiver is
        hidden by nearer things its nearness is taken as its layer's top.

    Returns
    -------
    list of (H, W) float32
        Shadow alpha (before colour) for layers 1..N-1, in order; darkening the composite
        of layers ``0..k-1`` by entry ``k-1`` just before drawing layer ``k`` gives the
        diorama.

    Examples
    --------
    >>> back = np.ones((40, 40), np.float32)
    >>> card = np.zeros((40, 40), np.float32); card[10:20, 10:20] = 1
    >>> (shadow,) = cast_layer_shadows([back, card], [back, card], [0.0, 1.0],
    ...                                light_angle=180, length_px=5, softness_px=0, opacity=1)
    >>> float(shadow[15, 22]), float(shadow[15, 27])  # light from the left: falls 5 px right
    (1.0, 0.0)
    """
    count = len(silhouettes)
    if not (len(alphas) == count == len(planes)):
        raise ParameterError("silhouettes, alphas and planes must have the same length")
    dx_unit, dy_unit = direction_away_from_light(light_angle)
    shadows: list[np.ndarray] = []
    for caster in range(1, count):
        shadow = np.zeros_like(alphas[0], dtype=np.float32)
        # Visible share of each layer behind the caster, front to back.
        remaining = np.ones_like(shadow)
        for receiver in range(caster - 1, -1, -1):
            share = alphas[receiver] * remaining
            remaining = (remaining * (1.0 - alphas[receiver])).astype(np.float32)
            if not share.any():
                continue
            gap = max(0.0, float(planes[caster]) - float(planes[receiver]))
            offset = gap * length_px
            silhouette = silhouettes[caster].astype(np.float32)
            cast = shift_image(silhouette, dx_unit * offset, dy_unit * offset)
            if nearness is not None and gap > 0:
                caster_nearness = shift_image(
                    silhouette * nearness, dx_unit * offset, dy_unit * offset
                )
                below = (
                    nearness if tops is None else np.minimum(nearness, np.float32(tops[receiver]))
                )
                standing = (caster_nearness / np.maximum(cast, 1e-6) - below) / np.float32(gap)
                cast = cast * _smoothstep(0.25, 0.6, standing)
            cast = _blur(cast, gap * softness_px)
            shadow += share * cast
        shadows.append(np.clip(shadow * np.float32(opacity), 0.0, 1.0).astype(np.float32))
    return shadows


# --------------------------------------------------------------------------- relighting


def shadow_mask(
    height_field: np.ndarray,
    *,
    light_angle: float,
    elevation: float,
    softness: float = 1.0,
    bias: float = 0.5,
    max_steps: int = 160,
) -> np.ndarray:
    """Ray-marched shadow of a height field (heights in pixels), 0 = lit, 1 = in shadow.

    From each pixel a ray climbs towards the light (from ``light_angle``, see
    :func:`direction_away_from_light`) at ``elevation`` degrees. The pixel is in shadow
    where some sample of the height field along the ray stands above the ray; the margin
    (in pixels of height, minus ``bias``) over ``softness`` gives a soft edge. All pixels
    march together, one vectorized step at a time.

    Examples
    --------
    >>> field = np.zeros((20, 40), np.float32); field[:, 20:24] = 10  # a wall 10 px high
    >>> mask = shadow_mask(field, light_angle=0, elevation=45, softness=0.01, bias=0)
    >>> float(mask[10, 15]), float(mask[10, 30])  # light from the right: shadow on the left
    (1.0, 0.0)
    """
    height_field = np.asarray(height_field, dtype=np.float32)
    toward_x, toward_y = (-v for v in direction_away_from_light(light_angle))
    slope = math.tan(math.radians(elevation))
    reach = float(height_field.max() - height_field.min()) / max(slope, 1e-6)
    reach = min(reach, float(math.hypot(*height_field.shape)))
    steps = int(min(max_steps, max(1, math.ceil(reach))))
    step = reach / steps if steps else 1.0
    excess = np.full(height_field.shape, -np.inf, dtype=np.float32)
    for index in range(1, steps + 1):
        distance = index * step
        sample = cv2.warpAffine(
            height_field,
            np.array(
                [[1, 0, -toward_x * distance], [0, 1, -toward_y * distance]], dtype=np.float32
            ),
            (height_field.shape[1], height_field.shape[0]),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=-1e9,  # nothing outside the frame blocks the light
        )
        np.maximum(excess, sample - np.float32(distance * slope), out=excess)
    margin = excess - height_field - np.float32(bias)
    return np.clip(margin / np.float32(max(softness, 1e-6)), 0.0, 1.0).astype(np.float32)


_LIGHT = "Light"
_DIAGONAL = "% of the diagonal"


@dataclass(frozen=True)
class Shadows(Params):
    """The relighting effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`relight_shadows`, the ``depthfx shadows``
    command and preset steps (``effect = "shadows"``) all take these names, ranges and
    defaults. ``azimuth``, the light direction's name before it was ``light_angle`` (same
    convention), is still read from presets and the command line (``--azimuth``).

    Examples
    --------
    >>> out = Shadows(light_angle=45).apply(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8)))
    >>> out.shape
    (8, 8, 3)
    >>> Shadows(opacity=5)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: opacity must be in 0..1, got 5.0
    """

    RENAMED: ClassVar[dict[str, str]] = {"azimuth": "light_angle"}

    light_angle: float = light_angle_option(panel=_LIGHT, aliases=("--azimuth",))
    elevation: float = option(
        35.0,
        low=1.0,
        high=89.0,
        unit="degrees",
        help="Height of the light above the picture plane.",
        panel=_LIGHT,
    )
    height: float = option(
        10.0,
        low=0.0,
        high=100.0,
        unit=_DIAGONAL,
        help="Relief of the whole depth range.",
        panel=_LIGHT,
    )
    opacity: float = option(0.5, low=0.0, high=1.0, help="Darkness of the shadows.", panel=_LIGHT)
    softness: float = option(
        1.0,
        low=0.0,
        high=10.0,
        unit=_DIAGONAL,
        help="Width of the shadow edge, 0 = hard edges.",
        panel=_LIGHT,
    )

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Relight ``image`` with these options (see :func:`relight_shadows`)."""
        image = as_float_image(image)
        rgb, alpha = split_alpha(image)
        depth_map = as_depthmap(depth).fit_to(rgb.shape[:2], guide=rgb)
        if self.opacity == 0 or self.height == 0:
            return image.copy()
        if progress:
            progress("relighting", 0.0)
        full_height, full_width = rgb.shape[:2]
        scale = min(1.0, _RELIGHT_WORKING_SIDE / max(full_height, full_width))
        nearness = depth_map.normalized()
        if scale < 1.0:
            size = (max(1, round(full_width * scale)), max(1, round(full_height * scale)))
            nearness = cv2.resize(nearness, size, interpolation=cv2.INTER_AREA)
        diagonal = math.hypot(*nearness.shape)
        mask = shadow_mask(
            nearness * np.float32(self.height / 100.0 * diagonal),
            light_angle=self.light_angle,
            elevation=self.elevation,
            softness=max(self.softness / 100.0 * diagonal, 0.05),
            bias=0.5,
        )
        if scale < 1.0:
            mask = cv2.resize(mask, (full_width, full_height), interpolation=cv2.INTER_LINEAR)
        if progress:
            progress("relighting", 1.0)
        darkened = rgb * (1.0 - np.float32(self.opacity) * mask)[:, :, None]
        return join_alpha(darkened.astype(np.float32), alpha)


def relight_shadows(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    *,
    light_angle: float = Shadows.light_angle,
    elevation: float = Shadows.elevation,
    height: float = Shadows.height,
    opacity: float = Shadows.opacity,
    softness: float = Shadows.softness,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Darken what a light at (light_angle, elevation) would not reach, with depth as relief.

    Nearness, normalized to 0..1, is a height field whose full range stands ``height`` % of
    the picture diagonal tall. Each pixel marches towards the light; where the relief blocks
    it, the pixel is darkened (multiplied) in linear light.

    Parameters
    ----------
    image : ndarray (H, W, 3|4) float, linear light
    depth : DepthMap or (H, W) nearness
    light_angle, elevation, height, opacity, softness
        The options of :class:`Shadows` (each field's help gives its meaning and range).
    progress : callable(stage, fraction), optional

    Returns
    -------
    ndarray like ``image``

    Raises
    ------
    ParameterError
        An option out of its range (the message names it and the range).

    Examples
    --------
    >>> image = np.full((40, 60, 3), 0.5, np.float32)
    >>> nearness = np.zeros((40, 60), np.float32); nearness[:, 30:34] = 1
    >>> out = relight_shadows(image, nearness, light_angle=0, elevation=45, height=20, opacity=1)
    >>> float(out[20, 20, 0]) < 0.1, float(out[20, 50, 0])
    (True, 0.5)
    """
    options = Shadows(
        light_angle=light_angle,
        elevation=elevation,
        height=height,
        opacity=opacity,
        softness=softness,
    )
    return options.apply(image, depth, progress=progress)


__all__ = [
    "NAME",
    "Shadows",
    "apply_shadow",
    "cast_layer_shadows",
    "direction_away_from_light",
    "light_angle_option",
    "relight_shadows",
    "shadow_mask",
]
