"""``depthfx fog``: fog and haze that thicken with depth."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from ..effects.fog import Fog
from ..effects.fog import fog as apply_fog
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

_FOG = "Fog"


@app.command("fog")
@with_depth_options
def fog_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    visibility: Annotated[
        float | None,
        typer.Option(
            help="Metres at which contrast falls to 5% (needs metric depth: --calib, or --baseline with --focal).",
            rich_help_panel=_FOG,
        ),
    ] = None,
    density: Annotated[
        float,
        typer.Option(
            help="Without --visibility: fog per unit of pseudo-distance, 0..100 (0 = none).",
            rich_help_panel=_FOG,
        ),
    ] = 0.2,
    near: Annotated[
        float,
        typer.Option(
            help="Pseudo-distance of the nearest pixels (relative depth).", rich_help_panel=_FOG
        ),
    ] = 0.5,
    far: Annotated[
        float,
        typer.Option(
            help="Pseudo-distance of the farthest pixels (relative depth).", rich_help_panel=_FOG
        ),
    ] = 10.0,
    color: Annotated[
        str,
        typer.Option(
            help="Fog colour: auto, a name (white, silver ...), '#rrggbb' or 'r,g,b' in 0..1.",
            rich_help_panel=_FOG,
        ),
    ] = "auto",
    max_fog: Annotated[
        float,
        typer.Option(
            help="Most fog any pixel gets, (0, 1]; < 1 keeps the sky textured.",
            rich_help_panel=_FOG,
        ),
    ] = 0.9,
    height_falloff: Annotated[
        float,
        typer.Option(
            help="Height fog: height over which density falls by e above eye level (0 = uniform).",
            rich_help_panel=_FOG,
        ),
    ] = 0.0,
    horizon: Annotated[
        float,
        typer.Option(
            help="Eye-level row as a fraction of the height (0 = top).", rich_help_panel=_FOG
        ),
    ] = 0.5,
    patchiness: Annotated[
        float,
        typer.Option(help="Patchy fog from seeded fractal noise, 0..1.", rich_help_panel=_FOG),
    ] = 0.0,
    patch_size: Annotated[
        float,
        typer.Option(
            help="Size of the largest fog patches, fraction of the longer side.",
            rich_help_panel=_FOG,
        ),
    ] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the fog patches.", rich_help_panel=_FOG)] = 0,
    edge_aware: Annotated[
        bool, typer.Option(help="Let fog edges follow the photo's outlines.", rich_help_panel=_FOG)
    ] = True,
) -> None:
    """Add fog or haze that thickens with distance (Koschmieder's law), in linear light.

    Example: depthfx fog street.jpg --mono --color white --density 0.3 -o foggy.jpg
    """
    request = depth_request
    # Options are checked before any depth is computed, so a typo costs no time.
    settings = Fog(
        visibility=visibility,
        density=density,
        near=near,
        far=far,
        color=color,
        max_fog=max_fog,
        height_falloff=height_falloff,
        horizon=horizon,
        patchiness=patchiness,
        patch_size=patch_size,
        seed=seed,
        focal_px=request.focal,
        edge_aware=edge_aware,
    )
    if visibility is not None and request.depth_file is not None:
        raise ParameterError(
            "visibility needs metric depth, and a --depth file is relative; "
            "use --density with --near/--far, or a stereo pair with --calib or --baseline and --focal"
        )
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("fog") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        result = apply_fog(photo.rgba(), depth_map, **asdict(settings), progress=progress)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
