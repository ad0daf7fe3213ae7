"""``depthfx miniature``: make a photo look like a model scene (tilt-shift)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..depth.source import load_photo
from ..depthmap import DepthMap
from ..effects.miniature import Miniature
from ..effects.miniature import miniature as apply_miniature
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

_LOOK = "Miniature"


@app.command("miniature")
@with_depth_options
def miniature_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    mode: Annotated[
        str,
        typer.Option(
            help="band (no depth), depth (tilted focal plane through the depth map), or auto: "
            "depth when a depth source is given, else band.",
            rich_help_panel=_LOOK,
        ),
    ] = "auto",
    strength: Annotated[
        float,
        typer.Option(
            help="Largest blur radius, % of the image diagonal, 0..5.", rich_help_panel=_LOOK
        ),
    ] = 1.0,
    position: Annotated[
        float,
        typer.Option(
            help="Centre of the sharp band, fraction of the height (0 = top), 0..1.",
            rich_help_panel=_LOOK,
        ),
    ] = 0.55,
    width: Annotated[
        float,
        typer.Option(
            help="Width of the sharp band, fraction of the height, (0, 1].", rich_help_panel=_LOOK
        ),
    ] = 0.15,
    angle: Annotated[
        float,
        typer.Option(
            help="Tilt of the band in degrees, counter-clockwise, -90..90.", rich_help_panel=_LOOK
        ),
    ] = 0.0,
    transition: Annotated[
        float,
        typer.Option(
            help="Band mode: distance over which blur reaches full strength, fraction of the height.",
            rich_help_panel=_LOOK,
        ),
    ] = 0.3,
    saturation: Annotated[
        float, typer.Option(help="Saturation factor, 0..3 (1 = unchanged).", rich_help_panel=_LOOK)
    ] = 1.35,
    contrast: Annotated[
        float,
        typer.Option(
            help="Contrast of the S-curve, 0.5..1.5 (1 = unchanged).", rich_help_panel=_LOOK
        ),
    ] = 1.15,
    vignette: Annotated[
        float, typer.Option(help="Corner darkening, 0..1.", rich_help_panel=_LOOK)
    ] = 0.2,
) -> None:
    """Fake a miniature: a narrow zone of focus, blur growing away from it, vivid colours.

    Without a depth source the sharp zone is a band (classic tilt-shift); with one
    (--right, --depth, --mono, --sbs) it is a tilted plane through the depth map. A stereo
    file (side-by-side picture, MPO) gives its left view, in band mode too.

    Example: depthfx miniature town.jpg --position 0.6 --strength 1.5 -o model.jpg
    """
    request = depth_request
    if mode not in ("auto", "band", "depth"):
        raise ParameterError(f"--mode must be auto, band or depth, got {mode!r}")
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
    if mode == "band" and needs_depth:
        raise ParameterError(
            "--mode band uses no depth; leave out the depth source or use --mode depth"
        )
    # Options are checked before any depth is computed, so a typo costs no time.
    settings = Miniature(
        mode=mode,
        strength=strength,
        position=position,
        width=width,
        angle=angle,
        transition=transition,
        saturation=saturation,
        contrast=contrast,
        vignette=vignette,
    )
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("miniature") as progress:
        depth_map: DepthMap | None = None
        if mode == "depth" or (mode == "auto" and has_source):
            photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        else:
            # The left view of a stereo file (side-by-side picture, MPO), as other commands use.
            photo = load_photo(image, request)
        result = apply_miniature(photo.rgba(), depth_map, **asdict(settings), progress=progress)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
