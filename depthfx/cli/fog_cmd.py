"""``depthfx fog``: fog and haze that thicken with depth."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from ..effects.fog import Fog
from ..errors import ParameterError
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


@app.command("fog")
@with_depth_options
@with_params(Fog, argument="options")
def fog_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Fog,
) -> None:
    """Add fog or haze that thickens with distance (Koschmieder's law), in linear light.

    --visibility needs metric depth (--calib, or --baseline with --focal); --focal also
    serves as --focal-px when that is not given.

    Example: depthfx fog street.jpg --mono --color white --density 0.3 -o foggy.jpg
    """
    request = depth_request
    # The options were checked when built, before any depth is computed.
    if options.focal_px is None and request.focal is not None:
        options = dataclasses.replace(options, focal_px=request.focal)
    if options.visibility is not None and request.depth_file is not None:
        raise ParameterError(
            "visibility needs metric depth, and a --depth file is relative; "
            "use --density with --near/--far, or a stereo pair with --calib or --baseline and --focal"
        )
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("fog") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        # The fog is written over the photo's own pixels (no full-size copy): write_image
        # takes only the photo's metadata from ``like``.
        pixels = photo.rgba()
        result = options.apply(pixels, depth_map, progress=progress, out=pixels)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
