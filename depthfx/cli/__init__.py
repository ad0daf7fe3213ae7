"""The ``depthfx`` command line: thin commands over the library."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

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
    _tune_allocator()
    app()


def _tune_allocator() -> None:
    """Keep freed image-sized blocks in the heap (glibc only; skipped silently elsewhere).

    By default glibc serves blocks above 32 MB with fresh mmap pages and returns them on
    free, so every full-size temporary pays for page faults and zeroing again (~0.3 s per
    12 MP float image here). Set for the command-line process only; the library never
    changes process-wide settings.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 256 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 1024 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


__all__ = ["app", "main"]
