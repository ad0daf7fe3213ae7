"""One photo open in the studio: its depth, a downscaled copy for previews, and exports.

Previews run the same effect objects as an export on a copy of the photo and depth
downscaled once to about ``preview_pixels``; options in pixels (a focus point) are scaled
to it. Export renders the full-resolution photo exactly as the equivalent command does.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from pathlib import Path

import cv2
import numpy as np

from ..chain import Chain
from ..depth.source import DepthRequest
from ..depthmap import DepthMap
from ..effects.bokeh import Bokeh
from ..effects.fog import Fog
from ..errors import InputError
from ..image import Photo, check_output_path, encode_srgb8, write_bytes_atomic, write_image
from .settings import StudioSettings, equivalent_command, preset_toml, uses_depth

DEFAULT_PREVIEW_PIXELS = 1_500_000
_PREVIEW_QUALITY = 88


def preview_shape(shape: tuple[int, int], pixels: int) -> tuple[int, int]:
    """(height, width) of a copy of ``shape`` with at most ``pixels`` pixels, same aspect.

    Examples
    --------
    >>> preview_shape((3000, 4000), 1_000_000)
    (866, 1154)
    """
    height, width = shape
    scale = min(1.0, math.sqrt(pixels / (height * width)))
    return max(1, int(height * scale)), max(1, int(width * scale))


def encode_jpeg(image: np.ndarray, *, quality: int = _PREVIEW_QUALITY) -> bytes:
    """Linear float RGB(A) pixels as sRGB JPEG bytes (alpha dropped), for the page."""
    codes = encode_srgb8(image[:, :, :3])
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(codes, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise InputError("OpenCV could not encode the preview")
    return buffer.tobytes()


class StudioSession:
    """A photo and its depth, ready for previews and exports.

    Parameters
    ----------
    photo_path : Path
        The photo as the user named it (the command shows this path).
    photo : Photo
        The photo (the left view of a stereo source).
    depth : DepthMap
        Its depth, same size.
    request : DepthRequest
        Where the depth came from (the command repeats these options).
    output_dir : Path
        Folder exports are written to.
    preview_pixels : int
        Size of the preview copy, in pixels.
    """

    def __init__(
        self,
        photo_path: Path,
        photo: Photo,
        depth: DepthMap,
        request: DepthRequest,
        output_dir: Path,
        *,
        preview_pixels: int = DEFAULT_PREVIEW_PIXELS,
    ) -> None:
        if not output_dir.is_dir():
            raise InputError(f"{output_dir}: output folder does not exist")
        self.photo_path = photo_path
        self.photo = photo
        self.depth = depth.fit_to(photo.shape, guide=photo.pixels)
        self.request = request
        self.output_dir = output_dir
        height, width = preview_shape(photo.shape, preview_pixels)
        self.scale = width / photo.shape[1]
        pixels = photo.rgba()
        self.preview_image = (
            pixels
            if (height, width) == photo.shape
            else cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
        )
        self.preview_depth = self.depth.resized((height, width))
        self._export_lock = threading.Lock()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the full-resolution photo."""
        return self.photo.shape[1], self.photo.shape[0]

    @property
    def preview_size(self) -> tuple[int, int]:
        """(width, height) of the previews."""
        return self.preview_image.shape[1], self.preview_image.shape[0]

    def output_path(self, settings: StudioSettings) -> Path:
        """Where Export writes: ``PHOTO-STEM.EFFECT.SUFFIX`` in the output folder."""
        suffix = self.photo_path.suffix.lower()
        if suffix not in (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"):
            suffix = ".png"
        return self.output_dir / f"{self.photo_path.stem}.{settings.label}{suffix}"

    def preset_path(self, settings: StudioSettings) -> Path:
        """Where Export writes the preset TOML of a changed preset."""
        return self.output_dir / f"{self.photo_path.stem}.{settings.label}.toml"

    def command(self, settings: StudioSettings) -> str:
        """The equivalent ``depthfx`` command of ``settings``."""
        return equivalent_command(
            settings,
            photo=self.photo_path,
            request=self.request,
            output=self.output_path(settings),
            preset_file=self.preset_path(settings),
        )

    def toml(self, settings: StudioSettings) -> str:
        """The preset TOML of ``settings``."""
        return preset_toml(settings, self.request)

    def _command_chain(self, settings: StudioSettings) -> Chain:
        # As the fog command: its --focal serves as focal_px when that is not given.
        steps = []
        for step in settings.chain.steps:
            effect = step.effect
            if isinstance(effect, Fog) and effect.focal_px is None and self.request.focal:
                effect = dataclasses.replace(effect, focal_px=self.request.focal)
            steps.append(dataclasses.replace(step, effect=effect))
        return dataclasses.replace(settings.chain, steps=tuple(steps))

    def render_preview(self, settings: StudioSettings) -> np.ndarray:
        """The preview of ``settings``: linear float pixels at the preview size."""
        chain = self._command_chain(settings)
        steps = []
        for step in chain.steps:
            effect = step.effect
            if isinstance(effect, Bokeh) and isinstance(effect.focus, tuple):
                x, y = effect.focus
                effect = dataclasses.replace(effect, focus=(x * self.scale, y * self.scale))
            steps.append(dataclasses.replace(step, effect=effect))
        chain = dataclasses.replace(chain, steps=tuple(steps))
        return chain.apply(self.preview_image, self.preview_depth)

    def preview_jpeg(self, settings: StudioSettings) -> bytes:
        """The preview of ``settings`` as JPEG bytes."""
        return encode_jpeg(self.render_preview(settings))

    def depth_jpeg(self) -> bytes:
        """The depth map at the preview size, colour-mapped (warm = near), as JPEG bytes."""
        ok, buffer = cv2.imencode(
            ".jpg", cv2.cvtColor(self.preview_depth.preview(), cv2.COLOR_RGB2BGR)
        )
        if not ok:
            raise InputError("OpenCV could not encode the depth view")
        return buffer.tobytes()

    def render_full(self, settings: StudioSettings) -> np.ndarray:
        """The full-resolution result, as the equivalent command renders it."""
        chain = self._command_chain(settings)
        pixels = self.photo.rgba()
        if settings.preset is not None:
            return chain.apply(pixels, self.depth)
        effect = chain.steps[0].effect
        return effect.apply(pixels, self.depth if uses_depth(settings) else None)

    def export(self, settings: StudioSettings) -> Path:
        """Render at full resolution and write into the output folder (atomically).

        A changed preset's TOML is written beside it, as the command names it. The photo
        and the depth inputs are never overwritten.
        """
        output = self.output_path(settings)
        inputs = (self.photo_path, *self.request.inputs())
        check_output_path(output, inputs=inputs)
        with self._export_lock:
            result = self.render_full(settings)
            if settings.preset is not None and str(self.preset_path(settings)) in self.command(
                settings
            ):
                write_bytes_atomic(self.preset_path(settings), self.toml(settings).encode())
            return write_image(output, result, like=self.photo, inputs=inputs)


__all__ = ["DEFAULT_PREVIEW_PIXELS", "StudioSession", "encode_jpeg", "preview_shape"]
