"""``depthfx bokeh``: synthetic shallow depth of field (lens blur)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from .._parallel import opencv_threads
from ..effects.bokeh import Bokeh, plan_bokeh, render_planned
from ..effects.focus import choose_focus
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


@app.command("bokeh")
@with_depth_options
@with_params(Bokeh, argument="options")
def bokeh_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    output: OutputOption,
    depth_request: DepthRequest,
    options: Bokeh,
    focus_depth: Annotated[
        float | None,
        typer.Option(
            help="Focus on this depth level instead: 0..1, 0 = farthest, 1 = nearest "
            "(the same as --focus LEVEL).",
            rich_help_panel="Lens",
        ),
    ] = None,
) -> None:
    """Lens blur: render the photo as if shot with a wide aperture.

    Example: depthfx bokeh portrait.jpg --right portrait_r.jpg --focus 812,440 --strength 2 -o out.jpg
    """
    request = depth_request
    if focus_depth is not None:
        if options.focus != "auto":
            raise ParameterError("give --focus or --focus-depth, not both")
        options = dataclasses.replace(options, focus=focus_depth)
    check_output_path(output, inputs=(image, *request.inputs()))
    with progress_reporter("bokeh") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        pixels = photo.rgba()
        choice = choose_focus(pixels, depth_map, options.focus)
        typer.echo(choice.describe())
        # The matte and the render run OpenCV calls on depthfx's own workers; OpenCV's
        # pool would only spin beside them (12 MP: 0.03-0.1 s less with it off).
        with opencv_threads(1):
            plan = plan_bokeh(pixels, depth_map, choice, options)
            del depth_map  # planned: its memory (50 MB at 12 MP) goes to the render
            # Rendered over the pixels this command owns (photo.rgba() may be the photo's
            # own array; only its metadata is used after this): no second full-size image.
            result = render_planned(pixels, plan, options, progress=progress, out=pixels)
    written = write_image(output, result, like=photo, inputs=(image, *request.inputs()))
    typer.echo(f"wrote {written}")
