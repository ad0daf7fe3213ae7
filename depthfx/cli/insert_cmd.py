"""``depthfx insert``: a picture placed at a depth, hidden by what is nearer (z-buffer)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from ..effects.insert import Insert
from ..image import check_output_path, read_image, write_image
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)
from .params_options import with_params


@app.command("insert")
@with_depth_options
@with_params(Insert, argument="options")
def insert_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Insert,
) -> None:
    """Insert a picture at a depth so nearer parts of the photo hide it (z-buffer).

    Example: depthfx insert teddy_left.jpg --overlay logo.png --right teddy_right.jpg
    --at 200,150 --nearness 0.3 -o teddy_logo.jpg
    """
    request = depth_request
    overlay = Path(str(options.overlay))
    inputs = (image, overlay, *request.inputs())
    check_output_path(output, inputs=inputs)
    sticker = read_image(overlay)
    with progress_reporter("insert") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        placed = dataclasses.replace(options, overlay=sticker.rgba())
        result = placed.apply(photo.rgba(), depth_map)
    written = write_image(output, result, like=photo, inputs=inputs)
    typer.echo(f"wrote {written}")
