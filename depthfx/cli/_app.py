"""The typer application and its error handling; commands register on ``app``."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from .. import __version__
from ..errors import DepthfxError


class _DepthfxGroup(TyperGroup):
    """Turns library errors into one line on stderr and exit code 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DepthfxError as exc:
            typer.echo(f"depthfx: error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("depthfx: interrupted", err=True)
            raise typer.Exit(130) from None


app = typer.Typer(
    name="depthfx",
    cls=_DepthfxGroup,
    help="Depth-based photo effects: depth from stereo pairs, single photos or files; "
    "lens blur, fog, miniature, depth layers; presets and batches.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"depthfx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        help="Show the version and exit.",
        callback=_print_version,
        is_eager=True,
    ),
) -> None:
    """depthfx command line."""
