"""Choosing where a synthetic lens focuses: a pixel, a depth value, or automatically.

A click on a photo often lands on the edge of the subject, where a window of depth mixes
the subject and the background. :func:`focus_at_pixel` takes the median nearness of a small
window and, when the window straddles a depth edge, of its *nearer* part: the subject a
photographer points at is usually in front of what surrounds it.

``"auto"`` focuses on the largest face found by OpenCV's Haar cascades (shipped inside
opencv-python) that also passes a second cascade, a skin-tone check and, against the depth,
a coherence check: charts, posters and textures behind a scene fool a single cascade.
Without a face, it focuses inside the main near subject: a region of the nearer depth
quantiles that is large, central and textured (see :func:`find_salient_subject`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Union

import cv2
import numpy as np

from ..depthmap import DepthMap
from ..errors import ParameterError
from ..image import linear_to_srgb
from ..params import parse_point
from ..stats import median, percentiles, sample_step

# Focus may be "auto", a point (x, y) as a tuple/list or an "X,Y" string, or a depth level.
FocusSpec = Union[str, float, int, tuple[float, float], list[float], "FocusChoice"]
FOCUS_HELP = (
    "Where to focus: 'auto' (the largest face, else the near subject closest to the centre), "
    "a pixel 'X,Y', or a depth level 0..1 (0 = farthest, 1 = nearest, as preset masks)."
)

# Detection runs on a copy whose longer side is at most this (faces stay > 20 px).
_DETECT_SIDE = 800
_CASCADE_FILE = "haarcascade_frontalface_default.xml"
_CONFIRM_CASCADE_FILE = "haarcascade_frontalface_alt2.xml"
# A face smaller than this share of the shorter side is too small to be the subject.
_MIN_FACE_SHARE = 0.06
# Share of skin-coloured pixels over the cheeks and nose for a colour photo.
_MIN_SKIN_SHARE = 0.3
# Subject search runs on a copy whose longer side is at most this.
_SUBJECT_SIDE = 256
# Width of the centre preference, as a share of the image sides (photographers frame the
# subject near the middle; monocular depth is often wrong toward the corners).
_CENTRE_SIGMA = 0.25


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


def parse_focus(focus: FocusSpec) -> str | float | tuple[float, float] | FocusChoice:
    """Normalize a focus option: ``"auto"``, a depth level in 0..1, or an (x, y) point.

    Strings may be ``"auto"``, ``"X,Y"`` (a pixel) or a number (a depth level: 0 = the
    farthest, 1 = the nearest part of the scene, the scale of preset masks).

    Examples
    --------
    >>> parse_focus("120, 80")
    (120.0, 80.0)
    >>> parse_focus("0.5")
    0.5
    """
    expected = "focus must be 'auto', a pixel 'X,Y' or a depth level 0..1"
    if isinstance(focus, FocusChoice):  # already resolved against a photo
        return focus
    if isinstance(focus, bool):
        raise ParameterError(f"{expected}, got {focus!r}")
    if isinstance(focus, (int, float)):
        level = float(focus)
        if not 0.0 <= level <= 1.0:  # also refuses NaN
            raise ParameterError(f"{expected}; a depth level must be in 0..1, got {focus!r}")
        return level
    if isinstance(focus, (tuple, list)):
        return parse_point(focus, name="focus")
    if isinstance(focus, str):
        text = focus.strip().lower()
        if text == "auto":
            return "auto"
        if "," in text:
            return parse_point(text, name="focus")
        try:
            value = float(text)
        except ValueError:
            pass
        else:
            return parse_focus(value)
    raise ParameterError(f"{expected}, got {focus!r}")


def choose_focus(image: np.ndarray, depth: DepthMap, focus: FocusSpec = "auto") -> FocusChoice:
    """Resolve a focus option against a photo and its depth.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4), linear light
        The photo (used by ``"auto"`` to find faces and to judge texture).
    depth : DepthMap
        Depth of the photo, same size.
    focus : "auto", (x, y), "X,Y" or float
        What to focus on; a float is a depth level in 0..1 (0 = farthest, 1 = nearest,
        as :meth:`DepthMap.normalized` maps the scene).

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
    if isinstance(spec, FocusChoice):
        return spec
    if isinstance(spec, float):
        return FocusChoice(depth.nearness_at_level(spec), None, "depth")
    if isinstance(spec, tuple):
        x, y = spec
        return FocusChoice(focus_at_pixel(depth, x, y), (round(x), round(y)), "point")
    face = find_largest_face(image, depth=depth)
    if face is not None:
        fx, fy, fw, fh = face
        # The central part of the face box: skin and eyes, not the background at its corners.
        cx, cy = fx + fw // 2, fy + fh // 2
        radius = max(2, min(fw, fh) // 4)
        return FocusChoice(_window_nearness(depth.nearness, cx, cy, radius), (cx, cy), "face")
    x, y = find_salient_subject(depth, image=image)
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
    low, high = percentiles(window, [10, 90])
    step = sample_step(nearness.size)
    low_all, high_all = percentiles(nearness[::step, ::step], [5, 95])
    spread = float(high_all - low_all)
    if spread > 0 and (high - low) > 0.1 * spread:
        # The window straddles a depth edge: keep the nearer side.
        window = window[window >= (low + high) / 2.0]
    return float(median(window))


def find_largest_face(
    image: np.ndarray, *, depth: DepthMap | None = None
) -> tuple[int, int, int, int] | None:
    """Largest plausible frontal face (x, y, w, h) in full-image pixels, or None.

    Haar cascades (shipped inside opencv-python) fire on charts, posters and busy textures,
    so a detection counts as a face only when it also passes:

    * a second, differently trained cascade (``frontalface_alt2``) around the box;
    * a skin-tone check in YCrCb over the cheeks and nose (skipped for grey photos);
    * with ``depth``: depth coherence, i.e. the middle of the box has near-uniform
      nearness and is not farther than 90% of the scene.

    Parameters
    ----------
    image : ndarray float32 (H, W, 3|4), linear light
        The photo.
    depth : DepthMap, optional
        Depth of the photo, same size; enables the depth-coherence check.

    Examples
    --------
    >>> find_largest_face(np.zeros((120, 160, 3), np.float32)) is None
    True
    """
    primary = _cascade(_CASCADE_FILE)
    if primary.empty():
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
    srgb = np.clip(linear_to_srgb(small) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    grey = cv2.equalizeHist(cv2.cvtColor(srgb, cv2.COLOR_RGB2GRAY))
    smallest = max(20, round(min(grey.shape) * _MIN_FACE_SHARE))
    boxes = primary.detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=6, minSize=(smallest, smallest)
    )
    ycrcb = cv2.cvtColor(srgb, cv2.COLOR_RGB2YCrCb)
    for fx, fy, fw, fh in sorted(
        (tuple(int(v) for v in box) for box in boxes), key=lambda b: -b[2] * b[3]
    ):
        box = (round(fx / scale), round(fy / scale), round(fw / scale), round(fh / scale))
        if not _confirmed_by_second_cascade(grey, (fx, fy, fw, fh)):
            continue
        if not _skin_plausible(ycrcb, (fx, fy, fw, fh)):
            continue
        if depth is not None and not _depth_coherent(depth, box):
            continue
        return box
    return None


@functools.lru_cache(maxsize=4)
def _cascade(name: str) -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + name)  # type: ignore[attr-defined]


def _confirmed_by_second_cascade(grey: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """The alt2 cascade also finds a face of similar size centred inside the box."""
    second = _cascade(_CONFIRM_CASCADE_FILE)
    if second.empty():
        return True  # nothing to confirm with; keep the primary detection
    x, y, w, h = box
    rows, cols = grey.shape
    x0, y0 = max(0, x - w // 4), max(0, y - h // 4)
    x1, y1 = min(cols, x + w + w // 4), min(rows, y + h + h // 4)
    found = second.detectMultiScale(
        grey[y0:y1, x0:x1], scaleFactor=1.1, minNeighbors=3, minSize=(w // 2, h // 2)
    )
    for sx, sy, sw, sh in found:
        cx, cy = x0 + sx + sw / 2, y0 + sy + sh / 2
        if x <= cx < x + w and y <= cy < y + h:
            return True
    return False


def _skin_plausible(ycrcb: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Enough skin-coloured pixels over the cheeks and nose (any skin tone, YCrCb)."""
    chroma = ycrcb[::4, ::4, 1:].astype(np.int16) - 128
    if float(np.percentile(np.abs(chroma).sum(axis=2), 90)) < 6:
        return True  # a grey (or nearly grey) photo carries no skin colour to check
    x, y, w, h = box
    centre = ycrcb[y + h // 3 : y + h * 4 // 5, x + w // 4 : x + w * 3 // 4].reshape(-1, 3)
    if centre.size == 0:
        return False
    cr, cb = centre[:, 1], centre[:, 2]
    skin = (cr >= 135) & (cr <= 180) & (cb >= 85) & (cb <= 135)
    return float(skin.mean()) >= _MIN_SKIN_SHARE


def _depth_coherent(depth: DepthMap, box: tuple[int, int, int, int]) -> bool:
    """The face centre is near-uniform in nearness and not on the farthest plane."""
    nearness = depth.nearness
    x, y, w, h = box
    centre = nearness[y + h // 4 : y + h * 3 // 4, x + w // 4 : x + w * 3 // 4]
    if centre.size == 0:
        return False
    scene = _scene_sample(depth)
    low, high = np.percentile(scene, [5, 95])
    spread = float(high - low)
    if spread <= 0:  # mostly one plane: measure against the full range
        spread = float(scene.max() - scene.min())
    if spread <= 0:
        return True  # flat depth: nothing to check against
    q25, face_nearness, q75 = np.percentile(centre, [25, 50, 75])
    if (q75 - q25) > 0.25 * spread:
        return False  # a face is compact; this box straddles different depths
    farther = float(np.mean(scene < face_nearness))
    return farther >= 0.1


def _scene_sample(depth: DepthMap) -> np.ndarray:
    """Nearness of trusted pixels, subsampled to about 60 000 values."""
    step = sample_step(depth.nearness.size, 60_000)
    sample = depth.nearness[::step, ::step]
    if depth.confidence is not None:
        trusted = depth.confidence[::step, ::step] > 0.5
        if trusted.mean() > 0.2:
            return sample[trusted]
    return sample.ravel()


def find_salient_subject(depth: DepthMap, *, image: np.ndarray | None = None) -> tuple[int, int]:
    """A point well inside the main near subject: near, large, central and textured.

    The nearer half of the scene is cut at several nearness quantiles into connected
    regions; each region scores ``nearness² × size × centrality × contrast × border``
    (size saturates at 15% of the frame; contrast, from ``image``, is the region's local
    contrast relative to the whole photo, so a flat floor or wall counts less than a
    textured subject; regions spanning several image edges, like a floor, count less).
    The point returned is the most interior pixel of the best region, nudged toward the
    centre, so the focus never sits on the subject's outline.

    Parameters
    ----------
    depth : DepthMap
        Depth of the photo.
    image : ndarray float32 (H, W, 3|4), linear light, optional
        The photo, same size as ``depth``; without it all regions count as textured.

    Examples
    --------
    >>> near = np.ones((120, 160), np.float32); near[40:90, 60:110] = 5.0
    >>> find_salient_subject(DepthMap(near))
    (79, 59)
    """
    height, width = depth.shape
    scale = min(1.0, _SUBJECT_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(depth.nearness, size, interpolation=cv2.INTER_AREA)
    rows, cols = small.shape
    scene = np.sort(_scene_sample(depth))
    # Nearness as a quantile: the share of the scene that lies farther away.
    rank = (np.searchsorted(scene, small.ravel(), side="left") / scene.size).reshape(small.shape)
    rank = rank.astype(np.float32)
    confidence = (
        None
        if depth.confidence is None
        else cv2.resize(depth.confidence, size, interpolation=cv2.INTER_AREA)
    )
    contrast = _local_contrast(image, size) if image is not None else np.ones_like(small)
    typical_contrast = max(float(median(contrast)), 1e-6)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    centre = np.exp(
        -(((xx + 0.5) / cols - 0.5) ** 2 + ((yy + 0.5) / rows - 0.5) ** 2) / (2 * _CENTRE_SIGMA**2)
    )
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    best_score, best_mask = -1.0, None
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        mask = cv2.morphologyEx((rank >= threshold).astype(np.uint8), cv2.MORPH_OPEN, kernel)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        for label in range(1, count):
            area = int(stats[label, cv2.CC_STAT_AREA])
            share = area / (rows * cols)
            if share < 0.005:
                continue
            region = labels == label
            nearness_term = float(rank[region].mean()) ** 2
            size_term = math.sqrt(min(share, 0.15) / 0.15)
            centrality = float(centre[region].mean())
            texture = float(np.clip(contrast[region].mean() / typical_contrast, 0.25, 2.0))
            score = nearness_term * size_term * centrality * math.sqrt(texture)
            score *= 1.0 - 0.2 * _sides_spanned(stats[label], rows, cols)
            if confidence is not None:
                score *= 0.25 + 0.75 * float(confidence[region].mean())
            if score > best_score:
                best_score, best_mask = score, region
    if best_mask is None:  # no near region at all (flat depth): the centre
        return width // 2, height // 2
    # The most central pixel that is well inside the region (a margin from its outline, so
    # the window of focus_at_pixel does not straddle the subject's edge).
    padded = np.pad(best_mask.astype(np.uint8), 1)
    inside = cv2.distanceTransform(padded, cv2.DIST_L2, 3)[1:-1, 1:-1]
    margin = max(2.0, 0.04 * min(rows, cols))
    iy, ix = np.unravel_index(
        int(np.argmax(np.minimum(inside, margin) * centre * rank)), inside.shape
    )
    x = min(width - 1, int((ix + 0.5) / scale))
    y = min(height - 1, int((iy + 0.5) / scale))
    return x, y


def _local_contrast(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Local standard deviation of perceptual grey, at the reduced ``size``."""
    rgb = np.asarray(image, dtype=np.float32)[:, :, :3]
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(linear_to_srgb(small).astype(np.float32), cv2.COLOR_RGB2GRAY)
    window = (max(3, (min(size) // 24) | 1),) * 2
    mean = cv2.blur(grey, window)
    variance = cv2.blur(grey * grey, window) - mean * mean
    return np.sqrt(np.maximum(variance, 0.0)).astype(np.float32)


def _sides_spanned(stats: np.ndarray, rows: int, cols: int) -> int:
    """How many image sides a region's bounding box spans edge to edge (a floor: 3)."""
    x, y = int(stats[cv2.CC_STAT_LEFT]), int(stats[cv2.CC_STAT_TOP])
    w, h = int(stats[cv2.CC_STAT_WIDTH]), int(stats[cv2.CC_STAT_HEIGHT])
    wide, tall = w >= 0.9 * cols, h >= 0.9 * rows
    sides = 0
    sides += int(wide and y == 0) + int(wide and y + h == rows)
    sides += int(tall and x == 0) + int(tall and x + w == cols)
    return sides


__all__ = [
    "FocusChoice",
    "FocusSpec",
    "choose_focus",
    "find_largest_face",
    "find_salient_subject",
    "focus_at_pixel",
    "parse_focus",
]
