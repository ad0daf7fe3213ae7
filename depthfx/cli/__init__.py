"""The ``depthfx`` command line: thin commands over the library."""

from __future__ import annotations

from ._app import app


def main() -> None:
    """Console-script entry point."""
    from ..allocator import tune_allocator

    tune_allocator()  # large image buffers are reused instead of re-faulted
    app()


__all__ = ["app", "main"]
