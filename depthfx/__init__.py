"""depthfx: depth-based photo effects.

Compute depth for a photo (stereo pair, single photo with a monocular model, or a depth
file), then apply effects driven by it (lens blur, fog, miniature, depth layers), alone or
in preset chains.

>>> import depthfx
>>> photo = depthfx.read_image("examples/teddy_left.png")  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .depthmap import DepthMap, as_depthmap
from .errors import (
    DepthfxError,
    DownloadError,
    InputError,
    ModelError,
    ParameterError,
    PresetError,
    StereoMatchError,
)
from .image import Photo, linear_to_srgb, read_image, srgb_to_linear, write_image

__all__ = [
    "DepthMap",
    "DepthfxError",
    "DownloadError",
    "InputError",
    "ModelError",
    "ParameterError",
    "Photo",
    "PresetError",
    "StereoMatchError",
    "__version__",
    "as_depthmap",
    "linear_to_srgb",
    "read_image",
    "srgb_to_linear",
    "write_image",
]
