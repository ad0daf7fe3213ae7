"""depthfx: depth-based photo effects.

Compute depth for a photo (a stereo pair, a single photo with a monocular model, or a depth
file), then apply effects driven by it (lens blur, fog, miniature, depth layers), alone or
in preset chains, on one photo, a folder, or from Python.

Images are float32 arrays in linear light, (H, W, 3) or (H, W, 4): pass ``photo.pixels``
(what :func:`read_image` read, with alpha if the file has it). Depth is a :class:`DepthMap`
of nearness (larger = nearer).

The top level holds the everyday names; the rest lives in subpackages:
:mod:`depthfx.depth` (stereo, rectification, calibration, monocular models, point clouds),
:mod:`depthfx.effects` (every effect, shadows, insert, the effect registry),
:mod:`depthfx.presets`, :mod:`depthfx.batch`, :mod:`depthfx.export`, :mod:`depthfx.render`.
Names are imported when first used, so ``import depthfx`` is instant.

Examples
--------
>>> import depthfx
>>> photo, depth = depthfx.load_photo_and_depth(  # doctest: +SKIP
...     "examples/teddy_left.jpg", depthfx.DepthRequest(right="examples/teddy_right.jpg"))
>>> blurred = depthfx.bokeh(photo.pixels, depth, focus=(300, 280), strength=2.0)  # doctest: +SKIP
>>> depthfx.write_image("bokeh.jpg", blurred, like=photo)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # photos and depth
    "Photo": ".image",
    "read_image": ".image",
    "write_image": ".image",
    "DepthMap": ".depthmap",
    "read_depth": ".depthmap",
    # depth sources
    "DepthRequest": ".depth.source",
    "depth_for": ".depth.source",
    "load_photo_and_depth": ".depth.source",
    "read_stereo_pair": ".depth.stereo_input",
    "stereo_depth": ".depth.stereo",
    "estimate_depth": ".depth.mono",
    "new_session": ".depth.mono",
    # effects: a function and its parameter object each
    "bokeh": ".effects.bokeh",
    "Bokeh": ".effects.bokeh",
    "fog": ".effects.fog",
    "Fog": ".effects.fog",
    "miniature": ".effects.miniature",
    "Miniature": ".effects.miniature",
    "layers": ".effects.layers",
    "Layers": ".effects.layers",
    # chains and presets
    "Chain": ".chain",
    "Step": ".chain",
    "load_preset": ".presets",
    # errors
    "DepthfxError": ".errors",
    "InputError": ".errors",
    "ParameterError": ".errors",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = [
    "Bokeh",
    "Chain",
    "DepthMap",
    "DepthRequest",
    "DepthfxError",
    "Fog",
    "InputError",
    "Layers",
    "Miniature",
    "ParameterError",
    "Photo",
    "Step",
    "__version__",
    "bokeh",
    "depth_for",
    "estimate_depth",
    "fog",
    "layers",
    "load_photo_and_depth",
    "load_preset",
    "miniature",
    "new_session",
    "read_depth",
    "read_image",
    "read_stereo_pair",
    "stereo_depth",
    "write_image",
]

if TYPE_CHECKING:
    from .chain import Chain, Step
    from .depth.mono import estimate_depth, new_session
    from .depth.source import DepthRequest, depth_for, load_photo_and_depth
    from .depth.stereo import stereo_depth
    from .depth.stereo_input import read_stereo_pair
    from .depthmap import DepthMap, read_depth
    from .effects.bokeh import Bokeh, bokeh
    from .effects.fog import Fog, fog
    from .effects.layers import Layers, layers
    from .effects.miniature import Miniature, miniature
    from .errors import DepthfxError, InputError, ParameterError
    from .image import Photo, read_image, write_image
    from .presets import load_preset
