"""The ``depthfx`` command line: thin commands over the library."""

from __future__ import annotations

from ._app import app


def main() -> None:
    """Console-script entry point."""
    from .._parallel import configure_process

    configure_process(allocator=True)  # large image buffers are reused, not re-faulted
    app()


__all__ = ["app", "main"]
