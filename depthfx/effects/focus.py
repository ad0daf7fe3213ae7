"""Choosing where a synthetic lens focuses: a pixel, a depth value, or automatically.

A click on a photo often lands on the edge of the subject, where a window of depth mixes
the subject and the background. :func:`focus_at_pixel` takes the median nearness of a small
window and, when the window straddles a depth edge, of its *nearer* part: the subject a
photographer points at is usually in front of what surrounds it.

``"auto"`` focuses on the largest face found by OpenCV's Haar cascade (shipped inside
opencv-python); without a face, on the near, salient region closest to the image centre.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import cv2
import numpy as np

from ..depthmap import DepthMap
from ..errors import ParameterError
from ..image import linear_to_srgb

# Focus may be "auto", a point (x, y) as a tuple/list or an "X,Y" string, or a nearness value.
FocusSpec = str | float | int | tuple[float, float] | list[float]

# Detection runs on a copy whose longer side is at most this (faces stay > 20 px).
_DETECT_SIDE = 800
_CASCADE_FILE = "haarcascade_frontalface_default.xml"


@dataclass(frozen=True)
class FocusChoice:
    """Where the lens focuses.

    Attributes
    ----------
    nearness : float
        Nearness (in the depth map's units) that is rendered sharp.
    point : (int, int) or None
        Pixel (x, y) the focus was taken from, if any.
    method : str
        "point", "depth", "face" or "subject".
    """

    nearness: float
    point: tuple[int, int] | None
    method: str

    def describe(self) -> str:
        """One line for the user, e.g. ``focus: face at (412, 230), nearness 0.734``."""
        where = f" at ({self.point[0]}, {self.point[1]})" if self.point is not None else ""
        label = {"point": "point", "depth": "depth value", "face": "face", "subject": "subject"}[
            self.method
        ]
        return f"focus: {label}{where}, nearness {self.nearness:.4g}"


def parse_focus(focus: FocusSpec) -> str | float | tuple[float, float]:
    """Normalize a focus option: ``"auto"``, a float nearness, or an (x, y) point.

    Strings may be ``"auto"``, ``"X,Y"`` (a pixel) or a number (a nearness value).

    Examples
    --------
    >>> parse_focus("120, 80")
    (120.0, 80.0)
    >>> parse_focus("0.5")
    0.5
    """
    if isinstance(focus, bool):
        raise ParameterError(f"focus must be 'auto', 'X,Y' or a depth value, got {focus!r}")
    if isinstance(focus, (int, float)):
        if not math.isfinite(float(focus)):
            raise ParameterError(f"focus depth value must be finite, got {focus}")
        return float(focus)
    if isinstance(focus, (tuple, list)):
        if len(focus) != 2:
            raise ParameterError(f"focus point must be (x, y), got {focus!r}")
        try:
            x, y = float(focus[0]), float(focus[1])
        except (TypeError, ValueError):
            raise ParameterError(f"focus point must be two numbers (x, y), got {focus!r}") from None
        return (x, y)
    if isinstance(focus, str):
        text = focus.strip().lower()
        if text == "auto":
            return "auto"
        match = re.fullmatch(r"\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*", text)
        if match:
            return (float(match.group(1)), float(match.group(2)))
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            return parse_focus(value)
    raise ParameterError(
        f"focus must be 'auto', a pixel 'X,Y' or a depth value (nearness), got {focus!r}"
    )


def choose_focus(image: np.ndarray, depth: DepthMap, focus: FocusSpec = "auto") -> FocusChoice:
    """Resolve a focus option against a photo and its depth.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4), linear light
        The photo (used by ``"auto"`` to find faces).
    depth : DepthMap
        Depth of the photo, same size.
    focus : "auto", (x, y), "X,Y" or float
        What to focus on; a float is a nearness value.

    Raises
    ------
    ParameterError
        The point lies outside the image, or the option is malformed.

    Examples
    --------
    >>> near = np.ones((40, 60), np.float32); near[10:30, 20:40] = 3.0
    >>> choose_focus(np.zeros((40, 60, 3), np.float32), DepthMap(near), (30, 20)).nearness
    3.0
    """
    spec = parse_focus(focus)
    if isinstance(spec, float):
        return FocusChoice(spec, None, "depth")
    if isinstance(spec, tuple):
        x, y = spec
        return FocusChoice(focus_at_pixel(depth, x, y), (round(x), round(y)), "point")
    face = find_largest_face(image)
    if face is not None:
        fx, fy, fw, fh = face
        # The central part of the face box: skin and eyes, not the background at its corners.
        cx, cy = fx + fw // 2, fy + fh // 2
        radius = max(2, min(fw, fh) // 4)
        return FocusChoice(_window_nearness(depth.nearness, cx, cy, radius), (cx, cy), "face")
    x, y = find_salient_subject(depth)
    return FocusChoice(focus_at_pixel(depth, x, y), (x, y), "subject")


def focus_at_pixel(depth: DepthMap, x: float, y: float, *, radius: int | None = None) -> float:
    """Nearness to focus on for a click at (x, y), robust to clicks on depth edges.

    Raises
    ------
    ParameterError
        (x, y) is outside the image; the message names the image size.
    """
    height, width = depth.shape
    if not (0 <= x < width and 0 <= y < height) or not (math.isfinite(x) and math.isfinite(y)):
        raise ParameterError(
            f"focus point ({x:g}, {y:g}) is outside the image, which is {width}x{height} "
            f"(x in 0..{width - 1}, y in 0..{height - 1})"
        )
    if radius is None:
        radius = max(2, round(min(height, width) * 0.01))
    return _window_nearness(depth.nearness, int(x), int(y), radius)


def _window_nearness(nearness: np.ndarray, x: int, y: int, radius: int) -> float:
    height, width = nearness.shape
    window = nearness[
        max(0, y - radius) : min(height, y + radius + 1),
        max(0, x - radius) : min(width, x + radius + 1),
    ].ravel()
    low, high = np.percentile(window, [10, 90])
    step = max(1, int(math.sqrt(nearness.size / 250_000)))
    low_all, high_all = np.percentile(nearness[::step, ::step], [5, 95])
    spread = float(high_all - low_all)
    if spread > 0 and (high - low) > 0.1 * spread:
        # The window straddles a depth edge: keep the nearer side.
        window = window[window >= (low + high) / 2.0]
    return float(np.median(window))


def find_largest_face(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """Largest frontal face (x, y, w, h) in full-image pixels, or None.

    Uses the Haar cascade that ships inside opencv-python.
    """
    path = cv2.data.haarcascades + _CASCADE_FILE  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        return None
    rgb = np.asarray(image, dtype=np.float32)[:, :, :3]
    height, width = rgb.shape[:2]
    scale = min(1.0, _DETECT_SIDE / max(height, width))
    small = (
        rgb
        if scale >= 1.0
        else cv2.resize(
            rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    )
    grey = cv2.cvtColor(
        np.clip(linear_to_srgb(small) * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY
    )
    grey = cv2.equalizeHist(grey)
    smallest = max(20, round(min(grey.shape) * 0.06))
    faces = cascade.detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=6, minSize=(smallest, smallest)
    )
    if len(faces) == 0:
        return None
    fx, fy, fw, fh = max(faces, key=lambda box: int(box[2]) * int(box[3]))
    return (round(fx / scale), round(fy / scale), round(fw / scale), round(fh / scale))


def find_salient_subject(depth: DepthMap) -> tuple[int, int]:
    """A point on the near subject closest to the centre: high nearness, central, large."""
    nearness = depth.normalized()
    height, width = nearness.shape
    scale = min(1.0, 256 / max(height, width))
    small = cv2.resize(
        nearness,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    rows, cols = small.shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    dy = (yy + 0.5) / rows - 0.5
    dx = (xx + 0.5) / cols - 0.5
    centre = np.exp(-(dx * dx + dy * dy) / (2 * 0.22**2))
    # Smoothing favours large near regions over thin near slivers (a twig, a railing).
    size = max(3, (min(rows, cols) // 12) | 1)
    score = cv2.GaussianBlur(small, (size, size), 0) * centre
    if depth.confidence is not None:
        confidence = cv2.resize(depth.confidence, (cols, rows), interpolation=cv2.INTER_AREA)
        score = score * (0.25 + 0.75 * confidence)
    iy, ix = np.unravel_index(int(np.argmax(score)), score.shape)
    x = min(width - 1, int((ix + 0.5) / scale))
    y = min(height - 1, int((iy + 0.5) / scale))
    return x, y


__all__ = [
    "FocusChoice",
    "FocusSpec",
    "choose_focus",
    "find_largest_face",
    "find_salient_subject",
    "focus_at_pixel",
    "parse_focus",
]
