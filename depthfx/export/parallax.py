"""Parallax preview: a looping animation that moves depth layers by their nearness ("3D photo").

The virtual camera circles (an ellipse) in front of the picture; each layer shifts in
proportion to how far its plane is from the middle of the depth range, so near layers swing
one way and far layers the other. Each pixel of the picture moves with one layer only (the
one that shows most of it), so nothing shows twice or see-through; what a moving layer
uncovers is filled from the layers behind it (their inpainted continuations), and the frame
is cropped by the largest shift so no edge ever shows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..effects.layers import Layer, inpaint_hidden
from ..errors import InputError, ParameterError
from ..filters import guided_filter
from ..image import atomic_output, check_output_path, to_display
from .layers import validate_stack

SUFFIXES = (".webp", ".gif")
# Who owns a pixel is decided on layer shares smoothed over this radius (% of the diagonal)
# by a guided filter with this regularization, steered by the picture.
_OWNER_RADIUS = 1.0
_OWNER_EPS = 1e-3


def _check(name: str, value: float, low: float, high: float, unit: str = "") -> float:
    value = float(value)
    if not (math.isfinite(value) and low <= value <= high):
        raise ParameterError(f"{name} must be in {low:g}..{high:g}{unit}, got {value:g}")
    return value


def _layer_planes(stack: Sequence[Layer]) -> list[float]:
    """Plane of each layer; a shadow moves with the depth layer it falls on (the one below)."""
    planes: list[float] = []
    below = 0.0
    for layer in stack:
        if layer.kind == "depth" and layer.plane is not None:
            below = float(layer.plane)
            planes.append(below)
        else:
            planes.append(below)
    return planes


def _owned_layers(
    stack: Sequence[Layer], premultiplied: list[np.ndarray], band_px: float
) -> list[np.ndarray]:
    """Give each pixel of the picture to one depth layer; behind it, the others hold fills.

    Soft cuts share a pixel between layers (a trunk whose noisy depth straddles a cut can be
    half in each), and the stack keeps the photo's colour in every share so that it
    recomposes exactly. Moved apart, those shares show the pixel twice, each copy
    see-through. For the animation each pixel goes whole to the layer that shows most of it
    (with the photo's colour there), layers in front of that owner let it through, and
    layers behind it hold a fill inpainted from their own pixels only, within ``band_px``
    of them (the farthest layer everywhere): what a moving layer uncovers comes from the
    layers behind it, never from a copy of itself.
    """
    depth_indices = [i for i, layer in enumerate(stack) if layer.kind == "depth"]
    alphas = [premultiplied[i][:, :, 3] for i in depth_indices]
    # The picture (depth layers composed) and each layer's visible share of it.
    picture = np.zeros((*premultiplied[0].shape[:2], 3), np.float32)
    for index, alpha in zip(depth_indices, alphas, strict=True):
        picture = picture * (1.0 - alpha[:, :, None]) + premultiplied[index][:, :, :3]
    shares = []
    remaining = np.ones_like(alphas[0])
    for alpha in reversed(alphas):
        shares.append(alpha * remaining)
        remaining = remaining * (1.0 - alpha)
    # Shares smoothed where the photo is smooth: a uniform region whose noisy depth splits
    # it between layers goes whole to one of them instead of tearing into specks.
    guide = np.sqrt(np.clip(picture, 0.0, 1.0))
    radius = max(1, round(_OWNER_RADIUS / 100.0 * math.hypot(*picture.shape[:2])))
    smooth = [guided_filter(guide, share, radius=radius, eps=_OWNER_EPS) for share in shares]
    owner = len(alphas) - 1 - np.argmax(np.stack(smooth), axis=0)
    owned = list(premultiplied)
    for position, index in enumerate(depth_indices):
        own = owner == position
        behind = (owner > position) & (alphas[position] > 0)
        if position > 0 and own.any():
            # A layer shows behind a moving one only next to its own pixels (no farther than
            # a layer moves): farther on, what is uncovered belongs to the layers behind it.
            distance = cv2.distanceTransform((~own).astype(np.uint8), cv2.DIST_L2, 3)
            behind &= distance <= band_px
        alpha = np.where(own, np.float32(1), np.where(behind, alphas[position], np.float32(0)))
        colour = picture
        clean = cv2.erode(own.astype(np.uint8), np.ones((3, 3), np.uint8))
        if not clean.any():
            clean = own.astype(np.uint8)
        if clean.any() and behind.any():
            fill = inpaint_hidden(picture, clean.astype(np.float32), region=behind, band_px=band_px)
            colour = np.where(behind[:, :, None], fill, picture)
        elif not own.any():
            alpha = np.zeros_like(alpha)
        owned[index] = np.dstack([colour * alpha[:, :, None], alpha]).astype(np.float32)
    return owned


def parallax_frames(
    stack: Sequence[Layer],
    *,
    frames: int = 30,
    amplitude: float = 2.5,
    ellipse: float = 0.5,
    max_side: int = 640,
) -> list[np.ndarray]:
    """Frames (8-bit sRGB, (h, w, 3)) of the parallax loop.

    Parameters
    ----------
    stack : list of Layer
        Back to front, from :func:`depthfx.effects.layers.split_layers` (depth layers carry
        their ``plane``).
    frames : int
        Frames in one loop, 4..240.
    amplitude : float
        Shift between the farthest and the nearest plane, % of the diagonal (0..20).
    ellipse : float
        Vertical over horizontal extent of the camera's path (0..1).
    max_side : int
        Frames are made no larger than this (longer side, px), 16..8192.

    Examples
    --------
    >>> from depthfx.effects.layers import split_layers
    >>> image = np.random.default_rng(1).random((40, 60, 3)).astype(np.float32)
    >>> nearness = np.zeros((40, 60), np.float32); nearness[10:30, 20:40] = 1
    >>> clip = parallax_frames(split_layers(image, nearness, count=2), frames=8)
    >>> len(clip), clip[0].dtype, clip[0].shape[2]
    (8, dtype('uint8'), 3)
    """
    if not isinstance(frames, int | np.integer) or not 4 <= frames <= 240:
        raise ParameterError(f"frames must be in 4..240, got {frames}")
    _check("amplitude", amplitude, 0, 20, " (% of the diagonal)")
    _check("ellipse", ellipse, 0, 1)
    if not isinstance(max_side, int | np.integer) or not 16 <= max_side <= 8192:
        raise ParameterError(f"max_side must be in 16..8192 px, got {max_side}")
    height, width = validate_stack(stack)
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    premultiplied = []
    for layer in stack:
        rgba = layer.rgba.astype(np.float32)
        stacked = np.dstack([rgba[:, :, :3] * rgba[:, :, 3:], rgba[:, :, 3:]])
        if scale < 1.0:
            stacked = cv2.resize(stacked, size, interpolation=cv2.INTER_AREA)
        premultiplied.append(stacked)
    planes = _layer_planes(stack)
    pivot = (min(planes) + max(planes)) / 2.0
    reach = amplitude / 100.0 * math.hypot(*size)
    premultiplied = _owned_layers(stack, premultiplied, band_px=reach + 2.0)
    # Crop by the largest shift so replicated borders never enter the frame.
    margin_x = math.ceil(max(abs(p - pivot) for p in planes) * reach) + 1
    margin_y = math.ceil(max(abs(p - pivot) for p in planes) * reach * ellipse) + 1
    if 2 * margin_x >= size[0] or 2 * margin_y >= size[1]:
        raise ParameterError(
            f"amplitude {amplitude:g} moves layers by more than the picture; use a smaller one"
        )
    clip = []
    for index in range(frames):
        angle = 2.0 * math.pi * index / frames
        direction = (math.cos(angle), ellipse * math.sin(angle))
        result = np.zeros((size[1], size[0], 3), np.float32)
        for layer, stacked, plane in zip(stack, premultiplied, planes, strict=True):
            shift = (plane - pivot) * reach
            matrix = np.array(
                [[1, 0, direction[0] * shift], [0, 1, direction[1] * shift]], dtype=np.float32
            )
            moved = cv2.warpAffine(
                stacked, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            ).reshape(size[1], size[0], 4)
            colour, alpha = moved[:, :, :3], moved[:, :, 3:]
            if layer.blend == "multiply":  # result * (1 - a + a * colour), premultiplied
                result *= colour + (1.0 - alpha)
            else:
                result *= 1.0 - alpha
                result += colour
        cropped = result[margin_y : size[1] - margin_y, margin_x : size[0] - margin_x]
        clip.append(to_display(np.ascontiguousarray(cropped)))
    return clip


def write_parallax(
    path: str | os.PathLike[str],
    stack: Sequence[Layer],
    *,
    frames: int = 30,
    amplitude: float = 2.5,
    ellipse: float = 0.5,
    max_side: int = 640,
    seconds: float = 3.0,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Write the parallax loop as an animated WebP or GIF (by extension), looping forever.

    Options are those of :func:`parallax_frames`; ``seconds`` is the length of one loop
    (0.2..60). The file is written atomically.

    Examples
    --------
    >>> write_parallax("preview.webp", stack)  # doctest: +SKIP
    PosixPath('preview.webp')
    """
    path = check_output_path(path, allowed=SUFFIXES, inputs=inputs)
    _check("seconds", seconds, 0.2, 60, " s")
    clip = parallax_frames(
        stack, frames=frames, amplitude=amplitude, ellipse=ellipse, max_side=max_side
    )
    pictures = [Image.fromarray(frame) for frame in clip]
    duration = max(20, round(1000.0 * seconds / len(pictures)))
    options: dict[str, Any] = {
        "save_all": True,
        "append_images": pictures[1:],
        "loop": 0,
        "duration": duration,
    }
    if path.suffix.lower() == ".webp":
        options.update(format="WEBP", quality=80, method=4)
    else:
        # One palette for the whole loop: faster, and colours do not flicker between frames.
        palette = pictures[0].quantize(colors=255, method=Image.Quantize.MEDIANCUT)
        pictures = [picture.quantize(palette=palette) for picture in pictures]
        options.update(format="GIF", append_images=pictures[1:], disposal=1, optimize=False)
    with atomic_output(path) as temp:
        try:
            pictures[0].save(temp, **options)
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: could not encode the animation ({exc})") from exc
    return path


__all__ = ["SUFFIXES", "parallax_frames", "write_parallax"]
