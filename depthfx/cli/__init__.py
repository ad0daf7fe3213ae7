"""The ``depthfx`` command line: thin commands over the library."""

from __future__ import annotations

from ..allocator import tune_allocator

# Each module registers its commands on the shared app when imported.
from . import (  # noqa: F401
    apply_cmd,
    batch_cmd,
    bokeh_cmd,
    depth_cmd,
    fog_cmd,
    insert_cmd,
    layers_cmd,
    miniature_cmd,
    models_cmd,
    shadows_cmd,
)
from ._app import app


def main() -> None:
    """Console-script entry point."""
    tune_allocator()  # large image buffers are reused instead of re-faulted
    app()


__all__ = ["app", "main"]
