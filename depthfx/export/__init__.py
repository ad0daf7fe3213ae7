"""Exporting depth-layer stacks: PNG folder + manifest, OpenRaster, parallax animation."""

from __future__ import annotations

from .layers import check_export_target, export_layers, read_layers
from .ora import OraDocument, OraLayer, read_ora, write_ora
from .parallax import parallax_frames, write_parallax

__all__ = [
    "OraDocument",
    "OraLayer",
    "check_export_target",
    "export_layers",
    "parallax_frames",
    "read_layers",
    "read_ora",
    "write_ora",
    "write_parallax",
]
