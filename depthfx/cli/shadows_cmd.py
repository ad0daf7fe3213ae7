"""``depthfx shadows``: relight a photo, its depth map as relief."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..effects.shadows import Shadows
from ..image import check_output_path, write_image
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)
from .params_options import with_params


@app.command("shadows")
@with_depth_options
@with_params(Shadows, argument="options")
def shadows_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Shadows,
) -> None:
    """Relight: darken what a light at (light angle, elevation) would not reach, depth as relief.

    Example: depthfx shadows art.png --depth art_disp.png --light-angle 160 --elevation 25 -o lit.jpg
    """
    request = depth_request
    inputs = (image, *request.inputs())
    check_output_path(output, inputs=inputs)
    with progress_reporter("shadows") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        result = options.apply(photo.rgba(), depth_map, progress=progress)
    written = write_image(output, result, like=photo, inputs=inputs)
    typer.echo(f"wrote {written}")
