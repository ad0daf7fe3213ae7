"""Presets: effect chains as TOML files, the ones shipped with depthfx and your own.

Examples
--------
>>> from depthfx.presets import load_preset, dumps_preset
>>> chain = load_preset("portrait")
>>> loads_preset(dumps_preset(chain)) == chain
True
"""

from __future__ import annotations

from .files import (
    dumps_preset,
    iter_presets,
    load_preset,
    loads_preset,
    preset_names,
    read_preset_text,
    save_preset,
)
from .schema import PRESET_VERSION, chain_from_dict, chain_to_dict
from .toml import dumps_toml

__all__ = [
    "PRESET_VERSION",
    "chain_from_dict",
    "chain_to_dict",
    "dumps_preset",
    "dumps_toml",
    "iter_presets",
    "load_preset",
    "loads_preset",
    "preset_names",
    "read_preset_text",
    "save_preset",
]
