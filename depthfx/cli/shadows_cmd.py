"""``depthfx shadows``: relight a photo, its depth map as relief."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..image import check_output_path, write_image
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)

_RELIGHT = "Light"


@app.command("shadows")
@with_depth_options
def shadows_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    azimuth: Annotated[
        float,
        typer.Option(
            help="Where the light comes from, degrees counter-clockwise from the right (135 = upper left).",
            rich_help_panel=_RELIGHT,
        ),
    ] = 135.0,
    elevation: Annotated[
        float,
        typer.Option(
            help="Height of the light above the picture, degrees (1..89).", rich_help_panel=_RELIGHT
        ),
    ] = 35.0,
    height: Annotated[
        float,
        typer.Option(
            help="Relief of the whole depth range, % of the diagonal (0..100).",
            rich_help_panel=_RELIGHT,
        ),
    ] = 10.0,
    opacity: Annotated[
        float, typer.Option(help="Darkness of the shadows, 0..1.", rich_help_panel=_RELIGHT)
    ] = 0.5,
    softness: Annotated[
        float,
        typer.Option(
            help="Width of the shadow edge, % of the diagonal (0..10).", rich_help_panel=_RELIGHT
        ),
    ] = 1.0,
) -> None:
    """Relight: darken what a light at (azimuth, elevation) would not reach, depth as relief.

    Example: depthfx shadows art.png --depth art_disp.png --azimuth 160 --elevation 25 -o lit.jpg
    """
    from ..effects.shadows import Shadows, relight_shadows

    request = depth_request
    inputs = (image, *request.inputs())
    check_output_path(output, inputs=inputs)
    options = Shadows(
        azimuth=azimuth, elevation=elevation, height=height, opacity=opacity, softness=softness
    )
    # Validate the options on a tiny picture before the (possibly long) depth computation.
    options.apply(np.zeros((2, 2, 3), np.float32), np.zeros((2, 2), np.float32))
    with progress_reporter("shadows") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        result = relight_shadows(
            photo.rgba(),
            depth_map,
            azimuth=azimuth,
            elevation=elevation,
            height=height,
            opacity=opacity,
            softness=softness,
            progress=progress,
        )
    written = write_image(output, result, like=photo, inputs=inputs)
    typer.echo(f"wrote {written}")
