"""``depthfx layers``: depth planes with cast shadows, exported as layers or a parallax loop."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from ..effects.layers import Layer, Layers, composite_layers
from ..errors import InputError, ParameterError
from ..image import check_output_path, join_alpha, same_file, write_image
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)
from .params_options import with_params

_EXPORT = "Export"


def _check_targets(
    output: Path, exports: list[Path], parallax: list[Path], inputs: tuple[Path, ...], force: bool
) -> None:
    check_output_path(output, inputs=inputs)
    if not exports and not parallax:
        return  # (the exporters, and Pillow with them, are imported only when asked for)
    from ..export.layers import check_export_target
    from ..export.parallax import SUFFIXES

    targets = [output]
    for target in exports:
        for protected in inputs:
            if same_file(target, protected):
                raise InputError(f"{target}: export would overwrite an input; choose another name")
        if target.suffix.lower() not in ("", ".ora"):
            raise InputError(
                f"{target}: --export takes a folder (no extension) or an OpenRaster file (.ora)"
            )
        check_export_target(target, force=force)
        targets.append(target)
    for target in parallax:
        check_output_path(target, allowed=SUFFIXES, inputs=inputs)
        targets.append(target)
    for index, target in enumerate(targets):
        if any(same_file(target, other) for other in targets[:index]):
            raise InputError(f"{target}: given twice as an output")


@app.command("layers")
@with_depth_options
@with_params(Layers, argument="options")
def layers_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Layers,
    export: Annotated[
        list[Path] | None,
        typer.Option(
            "--export",
            "-e",
            help="Write the layers: a folder (RGBA PNGs + manifest.json) or an OpenRaster .ora file. Repeatable.",
            rich_help_panel=_EXPORT,
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace existing, non-empty export targets.", rich_help_panel=_EXPORT
        ),
    ] = False,
    parallax: Annotated[
        list[Path] | None,
        typer.Option(
            help="Write a looping parallax animation (.webp or .gif). Repeatable.",
            rich_help_panel=_EXPORT,
        ),
    ] = None,
    parallax_frames: Annotated[
        int, typer.Option(help="Frames in the parallax loop, 4..240.", rich_help_panel=_EXPORT)
    ] = 30,
    parallax_amplitude: Annotated[
        float,
        typer.Option(
            help="Parallax shift between far and near, % of the diagonal (0..20).",
            rich_help_panel=_EXPORT,
        ),
    ] = 2.5,
    parallax_seconds: Annotated[
        float, typer.Option(help="Length of one parallax loop in seconds.", rich_help_panel=_EXPORT)
    ] = 3.0,
    parallax_size: Annotated[
        int,
        typer.Option(
            help="Longer side of the animation in pixels, at most.", rich_help_panel=_EXPORT
        ),
    ] = 640,
) -> None:
    """Cut the photo into depth layers with cast shadows (the paper-cut diorama look).

    OUT is the photo with the shadows each layer casts on those behind it. --export writes
    the layers themselves (nothing baked in; shadows in layers of their own) to open in
    GIMP or Krita; --parallax writes a "3D photo" animation.

    Example: depthfx layers teddy_left.jpg --right teddy_right.jpg -n 5 --split gaps
    -o diorama.jpg --export teddy.ora --parallax teddy.webp
    """
    request = depth_request
    inputs = (image, *request.inputs())
    exports = list(export or [])
    animations = list(parallax or [])
    _check_targets(output, exports, animations, inputs, force)
    if animations and not 4 <= parallax_frames <= 240:
        raise ParameterError(f"--parallax-frames must be in 4..240, got {parallax_frames}")
    with progress_reporter("layers") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        if exports or animations:
            stack = options.layer_stack(photo.pixels, depth_map, progress=progress)
            result = join_alpha(composite_layers(stack), photo.alpha)
        else:
            # The picture alone needs no layer stack (no inpainting): its fast composite,
            # written over the photo's pixels, which are not needed any more.
            flat = options.apply(photo.pixels, depth_map, progress=progress, out=photo.pixels)
            result = join_alpha(flat, photo.alpha)
        written = [write_image(output, result, like=photo, inputs=inputs)]
        if exports or animations:
            written += _write_exports(
                stack,
                exports,
                animations,
                force=force,
                inputs=inputs,
                frames=parallax_frames,
                amplitude=parallax_amplitude,
                seconds=parallax_seconds,
                max_side=parallax_size,
            )
    for path in written:
        typer.echo(f"wrote {path}")


def _write_exports(
    stack: Sequence[Layer],
    exports: list[Path],
    animations: list[Path],
    *,
    force: bool,
    inputs: tuple[Path, ...],
    frames: int,
    amplitude: float,
    seconds: float,
    max_side: int,
) -> list[Path]:
    """The layer files and animations (imported here: the picture alone needs none)."""
    from ..export import export_layers, write_ora, write_parallax

    written: list[Path] = []
    for target in exports:
        if target.suffix.lower() == ".ora":
            written.append(write_ora(target, stack, force=force))
        else:
            written.append(export_layers(stack, target, force=force))
    for target in animations:
        written.append(
            write_parallax(
                target,
                stack,
                frames=frames,
                amplitude=amplitude,
                seconds=seconds,
                max_side=max_side,
                inputs=inputs,
            )
        )
    return written
