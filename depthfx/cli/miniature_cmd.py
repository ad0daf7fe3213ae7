"""``depthfx miniature``: make a photo look like a model scene (tilt-shift)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..depthmap import DepthMap
from ..effects.miniature import Miniature
from ..errors import ParameterError
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


@app.command("miniature")
@with_depth_options
@with_params(Miniature, argument="options")
def miniature_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Miniature,
) -> None:
    """Fake a miniature: a narrow zone of focus, blur growing away from it, vivid colours.

    Without a depth source the sharp zone is a band (classic tilt-shift); with one
    (--right, --depth, --mono, --sbs) it is a tilted plane through the depth map.

    Example: depthfx miniature town.jpg --position 0.6 --strength 1.5 -o model.jpg
    """
    request = depth_request
    has_source = any(
        (
            request.right is not None,
            request.depth_file is not None,
            request.mono,
            request.sbs is not None,
            request.calibration is not None,
        )
    )
    # The options were checked when built, before any depth is computed.
    if options.mode == "band" and has_source:
        raise ParameterError(
            "--mode band uses no depth; leave out the depth source or use --mode depth"
        )
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("miniature") as progress:
        depth_map: DepthMap | None = None
        if options.mode == "depth" or (options.mode == "auto" and has_source):
            photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        else:
            photo = read_image(image)
        result = options.apply(photo.rgba(), depth_map, progress=progress)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
