"""The typer application, its error handling, and commands loaded only when used.

Each command module registers its command on ``app`` when imported. The root group imports
a command's module only when that command runs (or its own ``--help`` is asked for), so
``depthfx --help`` and each command pay only for what they use: ``depthfx fog`` never
imports the batch runner, the exporters or the model downloader.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup

from .. import __version__
from ..errors import DepthfxError
from ._coercion import use_plain_coercion

# Command name -> (module under depthfx.cli, the one-line help --help lists).
COMMANDS: dict[str, tuple[str, str]] = {
    "bokeh": ("bokeh_cmd", "Lens blur: render the photo as if shot with a wide aperture."),
    "fog": (
        "fog_cmd",
        "Add fog or haze that thickens with distance (Koschmieder's law), in linear light.",
    ),
    "miniature": (
        "miniature_cmd",
        "Fake a miniature: a narrow zone of focus, blur growing away from it, vivid colours.",
    ),
    "layers": (
        "layers_cmd",
        "Cut the photo into depth layers with cast shadows (the paper-cut diorama look).",
    ),
    "shadows": (
        "shadows_cmd",
        "Relight: darken what a light at (light angle, elevation) would not reach, depth as relief.",
    ),
    "insert": (
        "insert_cmd",
        "Insert a picture at a depth so nearer parts of the photo hide it (z-buffer).",
    ),
    "depth": (
        "depth_cmd",
        "Compute a depth map: disparity in pixels of the left view, same size as it.",
    ),
    "apply": ("apply_cmd", "Apply a preset (a chain of effects) to one photo."),
    "batch": (
        "batch_cmd",
        "Apply a preset to many photos; stereo pairs and depth files are found by name.",
    ),
    "studio": (
        "studio_cmd",
        "Open a local page to click the focus, watch the preview and export the result.",
    ),
    "presets": ("presets_cmd", "List the shipped presets or show one as TOML."),
    "models": (
        "models_cmd",
        "Depth models for --mono: list them, download or install one, show where its file is.",
    ),
}


def load_command(name: str) -> Any:
    """The click command (or group) ``name``, importing its module to register it."""
    module, _ = COMMANDS[name]
    importlib.import_module(f"{__package__}.{module}")
    short, markup = app.pretty_exceptions_short, app.rich_markup_mode
    for info in app.registered_commands:
        callback_name = info.callback.__name__ if info.callback is not None else ""
        if (info.name or callback_name.replace("_", "-")) == name:
            return use_plain_coercion(
                typer.main.get_command_from_info(
                    info, pretty_exceptions_short=short, rich_markup_mode=markup
                )
            )
    for group in app.registered_groups:
        if group.name == name:
            return use_plain_coercion(
                typer.main.get_group_from_info(
                    group,
                    pretty_exceptions_short=short,
                    suggest_commands=app.suggest_commands,
                    rich_markup_mode=markup,
                )
            )
    raise LookupError(f"{module} registers no command {name!r}")


class _DepthfxGroup(TyperGroup):
    """Loads commands when used; turns library errors into one line on stderr and exit
    code 2, never a traceback."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *super().list_commands(ctx)]))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = load_command(cmd_name)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        # The listing comes from the table: --help imports no command module.
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        use_plain_coercion(self)  # the root's own options (--version)
        return super().make_context(*args, **kwargs)

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
