"""Depth-correct insertion (z-buffer): place an overlay at a depth so nearer things hide it.

An overlay (a sticker, text, a logo; RGBA) is given a nearness and drawn only where it is at
least as near as the photo, like a z-buffer test. The visibility mask is made soft along the
occlusion boundary with a guided filter steered by the photo, so the overlay tucks behind
hair and leaves instead of being cut by the depth map's blocky edge.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass
from typing import Literal

import cv2
import numpy as np

from ..depthmap import DepthMap, as_depthmap
from ..errors import ParameterError
from ..filters import guided_filter
from ..image import as_float_image, join_alpha, linear_to_srgb, read_image, split_alpha
from ..params import Params, option, parse_point

NAME = "insert"

Anchor = Literal["center", "top-left"]
ANCHORS = ("center", "top-left")


def place_overlay(
    overlay: np.ndarray,
    shape: tuple[int, int],
    *,
    x: float,
    y: float,
    anchor: Anchor = "center",
    scale: float = 1.0,
) -> np.ndarray:
    """The overlay drawn on an empty (H, W, 4) canvas, straight alpha, sub-pixel position.

    ``(x, y)`` is where the overlay's centre (``anchor="center"``) or top-left corner
    (``anchor="top-left"``) goes, in photo pixels; parts outside the photo are cut off.

    Examples
    --------
    >>> sticker = np.ones((2, 2, 4), np.float32)
    >>> canvas = place_overlay(sticker, (6, 6), x=1, y=3, anchor="top-left")
    >>> canvas[:, :, 3].astype(int).tolist()[3]
    [0, 1, 1, 0, 0, 0]
    """
    if anchor not in ANCHORS:
        raise ParameterError(f"anchor must be one of {', '.join(ANCHORS)}, got {anchor!r}")
    overlay = as_float_image(overlay, name="overlay")
    rgb, alpha = split_alpha(overlay)
    if alpha is None:
        alpha = np.ones(rgb.shape[:2], np.float32)
    # Resample premultiplied colour so transparent pixels do not bleed their colour.
    premultiplied = np.dstack([rgb * alpha[:, :, None], alpha]).astype(np.float32)
    height, width = shape
    left, top = float(x), float(y)
    if anchor == "center":
        left -= overlay.shape[1] * scale / 2.0
        top -= overlay.shape[0] * scale / 2.0
    matrix = np.array([[scale, 0, left], [0, scale, top]], dtype=np.float32)
    # Pixel centres: overlay pixel i covers [i, i+1) and lands on [left + i*s, left + (i+1)*s).
    matrix[:, 2] += np.float32(0.5 * scale - 0.5)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    canvas = cv2.warpAffine(
        premultiplied, matrix, (width, height), flags=interpolation, borderMode=cv2.BORDER_CONSTANT
    ).reshape(height, width, 4)
    canvas_alpha = np.clip(canvas[:, :, 3], 0.0, 1.0)
    colour = canvas[:, :, :3] / np.maximum(canvas_alpha, 1e-6)[:, :, None]
    return join_alpha(
        np.where(canvas_alpha[:, :, None] > 0, colour, 0.0).astype(np.float32), canvas_alpha
    )


def insert(
    image: np.ndarray,
    depth: DepthMap | np.ndarray,
    overlay: np.ndarray,
    *,
    at: tuple[float, float] | str,
    nearness: float,
    anchor: Anchor = "center",
    scale: float = 1.0,
    feather: float = 0.4,
) -> np.ndarray:
    """Composite ``overlay`` into the photo at a depth, hidden where the photo is nearer.

    Parameters
    ----------
    image : ndarray (H, W, 3|4) float, linear light
    depth : DepthMap or (H, W) nearness
        Larger = nearer.
    overlay : ndarray (h, w, 3|4) float, linear light
        What to insert; a 4th channel is its straight alpha.
    at, nearness, anchor, scale, feather
        The options of :class:`Insert` (each field's help gives its meaning and range).
        The overlay shows where ``nearness >=`` the photo's normalized nearness.

    Returns
    -------
    ndarray like ``image``

    Examples
    --------
    >>> photo = np.zeros((20, 20, 3), np.float32)
    >>> near = np.zeros((20, 20), np.float32); near[:, :10] = 1   # left half is near
    >>> sticker = np.ones((20, 20, 3), np.float32)
    >>> out = insert(photo, near, sticker, at=(10, 10), nearness=0.5, feather=0)
    >>> float(out[5, 5, 0]), float(out[5, 15, 0])  # hidden on the left, shown on the right
    (0.0, 1.0)
    """
    options = Insert(
        overlay=overlay, at=at, nearness=nearness, anchor=anchor, scale=scale, feather=feather
    )
    return options.apply(image, depth)


def _composite(
    image: np.ndarray, depth: DepthMap | np.ndarray, overlay: np.ndarray, options: Insert
) -> np.ndarray:
    """:func:`insert` with checked options and the overlay's pixels."""
    image = as_float_image(image)
    rgb, alpha = split_alpha(image)
    depth_map = as_depthmap(depth).fit_to(rgb.shape[:2], guide=rgb)
    x, y = _check_point(options.at)  # already checked: a tuple of two floats
    placed = place_overlay(
        overlay,
        rgb.shape[:2],
        x=x,
        y=y,
        anchor=options.anchor,  # type: ignore[arg-type]
        scale=options.scale,
    )
    placed_rgb, placed_alpha = placed[:, :, :3], placed[:, :, 3]

    in_front = (np.float32(options.nearness) >= depth_map.normalized()).astype(np.float32)
    radius = round(options.feather / 100.0 * math.hypot(*rgb.shape[:2]))
    if radius >= 1:
        guide = np.clip(linear_to_srgb(rgb), 0.0, 1.0)
        in_front = np.clip(guided_filter(guide, in_front, radius=radius, eps=2e-3), 0.0, 1.0)
    coverage = (placed_alpha * in_front)[:, :, None]
    out = coverage * placed_rgb + (1.0 - coverage) * rgb
    if alpha is not None:  # the overlay also adds opacity to a transparent photo
        alpha = alpha + coverage[:, :, 0] * (1.0 - alpha)
    return join_alpha(out.astype(np.float32), alpha)


def _check_overlay(overlay: str | os.PathLike[str] | np.ndarray) -> str | np.ndarray:
    """The ``parse`` hook of :attr:`Insert.overlay`: a file name (a path becomes text, as a
    preset writes it) or the overlay's pixels (checked, kept as given)."""
    if isinstance(overlay, str | os.PathLike):
        return os.fspath(overlay)
    as_float_image(overlay, name="overlay")  # anything else must be a float image
    return overlay


_INSERT = "Insert"


def _check_point(point: tuple[float, float] | list[float] | str) -> tuple[float, float]:
    """The ``parse`` hook of :attr:`Insert.at`: ``(x, y)`` or ``"X,Y"`` in photo pixels."""
    return parse_point(point, name="at")


@dataclass(frozen=True)
class Insert(Params):
    """The insert effect's options; ``apply(image, depth)`` runs it.

    Each option is declared once, here: :func:`insert` and preset steps
    (``effect = "insert"``) take these names and ranges. ``overlay`` is a picture file (read
    when applied) or, as :func:`insert` passes it, the picture's pixels.

    Examples
    --------
    >>> Insert(overlay="logo.png", at="100,50", nearness=0.5).at
    (100.0, 50.0)
    >>> Insert(overlay="logo.png", at=(100, 50), nearness=2)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: nearness must be in 0..1, got 2.0
    """

    overlay: str | np.ndarray = option(
        MISSING,
        kind=str,
        parse=_check_overlay,
        help="Picture to insert (PNG with transparency, JPEG, ...).",
        panel=_INSERT,
    )
    at: tuple[float, float] | str = option(
        MISSING,
        kind=tuple,
        parse=_check_point,
        help="Where the overlay goes: X,Y in photo pixels of its centre (or top-left corner, "
        "see anchor).",
        panel=_INSERT,
    )
    nearness: float = option(
        MISSING,
        kind=float,
        low=0.0,
        high=1.0,
        help="Depth of the overlay: 0 = as far as the farthest thing in the photo, "
        "1 = as near as the nearest.",
        panel=_INSERT,
        aliases=("--depth-of-overlay",),
    )
    anchor: str = option(
        "center", choices=ANCHORS, help='Which point of the overlay "at" places.', panel=_INSERT
    )
    scale: float = option(
        1.0, low=0.01, high=100.0, help="Resize factor of the overlay.", panel=_INSERT
    )
    feather: float = option(
        0.4,
        low=0.0,
        high=5.0,
        unit="% of the image diagonal",
        help="Softness of the occlusion edge, which follows the photo's outlines.",
        panel=_INSERT,
    )

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: Callable[[str, float], None] | None = None,
    ) -> np.ndarray:
        """Composite the overlay into ``image`` (see :func:`insert`); reads the overlay file.

        ``progress`` is taken for the common effect interface; inserting is quick and does
        not report.
        """
        overlay = self.overlay
        picture = read_image(overlay).rgba() if isinstance(overlay, str) else overlay
        return _composite(image, depth, picture, self)


__all__ = ["ANCHORS", "NAME", "Insert", "insert", "place_overlay"]
