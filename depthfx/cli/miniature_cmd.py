"""``depthfx miniature``: make a photo look like a model scene (tilt-shift)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .._parallel import opencv_threads
from ..depth.source import load_photo
from ..depthmap import DepthMap
from ..effects.miniature import Miniature
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
    (--right, --depth, --mono, --sbs) it is a tilted plane through the depth map. A stereo
    file (side-by-side picture, MPO) gives its left view, in band mode too.

    Example: depthfx miniature town.jpg --position 0.6 --strength 1.5 -o model.jpg
    """
    request = depth_request
    # --sbs only says how to read a side-by-side picture: band mode takes its left view.
    needs_depth = any(
        (
            request.right is not None,
            request.depth_file is not None,
            request.mono,
            request.calibration is not None,
        )
    )
    has_source = needs_depth or request.sbs is not None
    # The options were checked when built, before any depth is computed.
    if options.mode == "band" and needs_depth:
        raise ParameterError(
            "--mode band uses no depth; leave out the depth source or use --mode depth"
        )
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("miniature") as progress:
        depth_map: DepthMap | None = None
        if options.mode == "depth" or (options.mode == "auto" and has_source):
            photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        else:
            # The left view of a stereo file (side-by-side picture, MPO), as other commands use.
            photo = load_photo(image, request)
        # Rendered over the pixels this command owns (only the photo's metadata is used
        # after this): no second full-size image.
        pixels = photo.rgba()
        # The render runs OpenCV calls on depthfx's own workers; OpenCV's pool would only
        # spin beside them.
        with opencv_threads(1):
            result = options.apply(pixels, depth_map, progress=progress, out=pixels)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
