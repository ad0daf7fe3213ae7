"""The ``depthfx`` command line: thin commands over the library."""

from __future__ import annotations

# Each module registers its commands on the shared app when imported.
from . import (  # noqa: F401
    apply_cmd,
    batch_cmd,
    bokeh_cmd,
    depth_cmd,
    fog_cmd,
    layers_cmd,
    miniature_cmd,
    models_cmd,
)
from ._app import app


def main() -> None:
    """Console-script entry point."""
    from .._parallel import configure_process

    configure_process(allocator=True)  # large image buffers are reused, not re-faulted
    app()


__all__ = ["app", "main"]
