"""``depthfx presets list|show``: the shipped presets."""

from __future__ import annotations

from typing import Annotated

import typer

from ..errors import DepthfxError
from ..presets import dumps_preset, load_preset, preset_names
from ._app import app

presets_app = typer.Typer(
    help="List the shipped presets or show one as TOML.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(presets_app, name="presets")


@presets_app.command("list")
def list_presets() -> None:
    """List the presets shipped with depthfx, with their descriptions."""
    names = preset_names()
    width = max((len(name) for name in names), default=0)
    for name in names:
        try:
            description = load_preset(name).description
        except DepthfxError as exc:  # one broken preset must not hide the others
            description = f"(cannot be loaded: {exc})"
        typer.echo(f"{name:<{width}}  {description}")


@presets_app.command("show")
def show_preset(
    preset: Annotated[str, typer.Argument(help="Preset name or .toml file.")],
) -> None:
    """Print a preset as TOML (a starting point for your own preset file)."""
    chain = load_preset(preset)
    typer.echo(f"# preset: {chain.name}")
    typer.echo(dumps_preset(chain), nl=False)
