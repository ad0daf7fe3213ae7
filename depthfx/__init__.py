"""depthfx: depth-based photo effects.

Compute depth for a photo (a stereo pair, a single photo with a monocular model, or a depth
file), then apply effects driven by it (lens blur, fog, miniature, depth layers), alone or
in preset chains, on one photo, a folder, or from Python.

Images are float32 arrays in linear light, (H, W, 3) or (H, W, 4); depth is a
:class:`DepthMap` of nearness (larger = nearer).

Examples
--------
>>> import depthfx
>>> left, right = depthfx.read_stereo_pair("examples/teddy_left.jpg", "examples/teddy_right.jpg")  # doctest: +SKIP
>>> depth = depthfx.stereo_depth(left.pixels, right.pixels)  # doctest: +SKIP
>>> blurred = depthfx.bokeh(left.pixels, depth, focus=(300, 280), strength=2.0)  # doctest: +SKIP
>>> depthfx.write_image("bokeh.jpg", blurred, like=left)  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from .allocator import tune_allocator
from .batch import ItemResult, batch_apply, discover_inputs, plan_batch, run_batch, summarize
from .chain import Chain, DepthSettings, Step
from .contact_sheet import write_contact_sheet
from .depth.calibration import StereoCalibration, calibrate_from_chessboards
from .depth.models import KNOWN_MODELS, ModelRecord, download_model, load_model_record
from .depth.mono import estimate_depth
from .depth.pointcloud import point_cloud, write_ply
from .depth.rectify import Rectification, rectify_pair
from .depth.stereo import estimate_disparity_range, match_rectified, stereo_depth
from .depth.stereo_input import is_stereo_file, read_stereo_pair
from .depthmap import DepthMap, as_depthmap, read_depth
from .effects.bokeh import Bokeh, bokeh
from .effects.fog import Fog, fog
from .effects.insert import Insert, insert
from .effects.layers import Layer, Layers, composite_layers, layers, split_layers
from .effects.miniature import Miniature, miniature
from .effects.registry import available_effects, register_effect
from .effects.shadows import Shadows, relight_shadows
from .errors import (
    DepthfxError,
    DownloadError,
    InputError,
    ModelError,
    ParameterError,
    PresetError,
    StereoMatchError,
)
from .export import export_layers, read_layers, read_ora, write_ora, write_parallax
from .filters import guided_filter, guided_upsample
from .image import Photo, linear_to_srgb, read_image, srgb_to_linear, to_display, write_image
from .presets import dumps_preset, load_preset, loads_preset, preset_names, save_preset
from .render.defocus import render_defocus
from .render.kernels import Aperture

__all__ = [
    "KNOWN_MODELS",
    "Aperture",
    "Bokeh",
    "Chain",
    "DepthMap",
    "DepthSettings",
    "DepthfxError",
    "DownloadError",
    "Fog",
    "InputError",
    "Insert",
    "ItemResult",
    "Layer",
    "Layers",
    "Miniature",
    "ModelError",
    "ModelRecord",
    "ParameterError",
    "Photo",
    "PresetError",
    "Rectification",
    "Shadows",
    "Step",
    "StereoCalibration",
    "StereoMatchError",
    "__version__",
    "as_depthmap",
    "available_effects",
    "batch_apply",
    "bokeh",
    "calibrate_from_chessboards",
    "composite_layers",
    "discover_inputs",
    "download_model",
    "dumps_preset",
    "estimate_depth",
    "estimate_disparity_range",
    "export_layers",
    "fog",
    "guided_filter",
    "guided_upsample",
    "insert",
    "is_stereo_file",
    "layers",
    "linear_to_srgb",
    "load_model_record",
    "load_preset",
    "loads_preset",
    "match_rectified",
    "miniature",
    "plan_batch",
    "point_cloud",
    "preset_names",
    "read_depth",
    "read_image",
    "read_layers",
    "read_ora",
    "read_stereo_pair",
    "rectify_pair",
    "register_effect",
    "relight_shadows",
    "render_defocus",
    "run_batch",
    "save_preset",
    "split_layers",
    "srgb_to_linear",
    "stereo_depth",
    "summarize",
    "to_display",
    "tune_allocator",
    "write_contact_sheet",
    "write_image",
    "write_ora",
    "write_parallax",
    "write_ply",
]
