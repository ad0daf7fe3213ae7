"""``depthfx bokeh``: synthetic shallow depth of field (lens blur)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..effects.bokeh import BokehOptions, render_bokeh
from ..effects.focus import choose_focus, parse_focus
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

_LENS = "Lens"


@app.command("bokeh")
@with_depth_options
def bokeh_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    focus: Annotated[
        str,
        typer.Option(
            help="Where to focus: 'auto' (largest face, else the near central subject) or a pixel 'X,Y'.",
            rich_help_panel=_LENS,
        ),
    ] = "auto",
    focus_depth: Annotated[
        float | None,
        typer.Option(
            help="Focus on this depth value instead (nearness, in the depth map's units).",
            rich_help_panel=_LENS,
        ),
    ] = None,
    strength: Annotated[
        float,
        typer.Option(
            help="Largest blur radius, % of the image diagonal (0..10).", rich_help_panel=_LENS
        ),
    ] = 1.5,
    dof: Annotated[
        float,
        typer.Option(
            "--dof",
            help="In-focus range: share of the depth range kept sharp (0..1).",
            rich_help_panel=_LENS,
        ),
    ] = 0.0,
    shape: Annotated[
        str, typer.Option(help="Aperture shape: disc or polygon.", rich_help_panel=_LENS)
    ] = "disc",
    blades: Annotated[
        int, typer.Option(help="Blades of a polygon aperture (3..16).", rich_help_panel=_LENS)
    ] = 6,
    rotation: Annotated[
        float, typer.Option(help="Polygon rotation in degrees.", rich_help_panel=_LENS)
    ] = 0.0,
    curvature: Annotated[
        float,
        typer.Option(help="Blade roundness, 0 (straight) .. 1 (disc).", rich_help_panel=_LENS),
    ] = 0.0,
    highlight_threshold: Annotated[
        float,
        typer.Option(
            help="Linear luminance above which highlights bloom (0..1).", rich_help_panel=_LENS
        ),
    ] = 0.7,
    highlight_gain: Annotated[
        float,
        typer.Option(
            help="Boost of highlights before blurring (0 = off, up to 100).", rich_help_panel=_LENS
        ),
    ] = 3.0,
    cats_eye: Annotated[
        float,
        typer.Option(help="Cat's-eye bokeh toward the corners (0..1).", rich_help_panel=_LENS),
    ] = 0.0,
    grain: Annotated[
        float,
        typer.Option(
            help="Grain in blurred areas, 1 = the noise of the sharp areas (0..2).",
            rich_help_panel=_LENS,
        ),
    ] = 0.0,
    lens_mm: Annotated[
        float | None,
        typer.Option(
            help="Real lens focal length in mm (with --f-number; needs metric depth).",
            rich_help_panel=_LENS,
        ),
    ] = None,
    f_number: Annotated[
        float | None,
        typer.Option(help="Real lens f-number (with --lens-mm).", rich_help_panel=_LENS),
    ] = None,
    sensor_mm: Annotated[
        float,
        typer.Option(
            help="Sensor width in mm for --lens-mm (36 = full frame).", rich_help_panel=_LENS
        ),
    ] = 36.0,
) -> None:
    """Lens blur: render the photo as if shot with a wide aperture.

    Example: depthfx bokeh portrait.jpg --right portrait_r.jpg --focus 812,440 --strength 2 -o out.jpg
    """
    request = depth_request
    options = BokehOptions(
        strength=strength,
        depth_of_field=dof,
        shape=shape,
        blades=blades,
        rotation=rotation,
        curvature=curvature,
        highlight_threshold=highlight_threshold,
        highlight_gain=highlight_gain,
        cats_eye=cats_eye,
        grain=grain,
        focal_length_mm=lens_mm,
        f_number=f_number,
        sensor_width_mm=sensor_mm,
    )
    if focus_depth is not None and focus.strip().lower() != "auto":
        raise ParameterError("give --focus X,Y or --focus-depth VALUE, not both")
    focus_spec = focus_depth if focus_depth is not None else parse_focus(focus)
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("bokeh") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        pixels = photo.rgba()
        choice = choose_focus(pixels, depth_map, focus_spec)
        typer.echo(choice.describe())
        result = render_bokeh(pixels, depth_map, choice, options, progress=progress)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
