"""``depthfx insert``: a picture placed at a depth, hidden by what is nearer (z-buffer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..effects.insert import insert as insert_overlay
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

_INSERT = "Insert"


def _parse_point(text: str) -> tuple[float, float]:
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError(text)
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise ParameterError(f"--at must be X,Y in pixels (e.g. 320,180), got {text!r}") from None


@app.command("insert")
@with_depth_options
def insert_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    overlay: Annotated[
        Path, typer.Argument(help="Picture to insert (PNG with transparency, JPEG, ...).")
    ],
    output: OutputOption,
    depth_request: DepthRequest,
    at: Annotated[
        str,
        typer.Option(
            help="Where the overlay's centre goes, X,Y in photo pixels (see --anchor).",
            rich_help_panel=_INSERT,
        ),
    ],
    depth_of_overlay: Annotated[
        float,
        typer.Option(
            "--depth-of-overlay",
            help="Nearness of the overlay, 0..1: 0 = as far as the farthest thing in the photo, 1 = as near as the nearest.",
            rich_help_panel=_INSERT,
        ),
    ],
    anchor: Annotated[
        str,
        typer.Option(
            help="Which point of the overlay --at places: center or top-left.",
            rich_help_panel=_INSERT,
        ),
    ] = "center",
    scale: Annotated[
        float, typer.Option(help="Resize the overlay by this factor.", rich_help_panel=_INSERT)
    ] = 1.0,
    feather: Annotated[
        float,
        typer.Option(
            help="Softness of the occlusion edge, % of the diagonal (0..5).",
            rich_help_panel=_INSERT,
        ),
    ] = 0.4,
) -> None:
    """Insert a picture at a depth so nearer parts of the photo hide it (z-buffer).

    Example: depthfx insert teddy_left.jpg logo.png --right teddy_right.jpg --at 200,150
    --depth-of-overlay 0.3 -o teddy_logo.jpg
    """
    request = depth_request
    inputs = (image, overlay, *request.inputs())
    check_output_path(output, inputs=inputs)
    x, y = _parse_point(at)
    if not 0 <= depth_of_overlay <= 1:
        raise ParameterError(
            f"--depth-of-overlay must be in 0..1 (0 = farthest, 1 = nearest), got {depth_of_overlay:g}"
        )
    if anchor not in ("center", "top-left"):
        raise ParameterError(f"--anchor must be center or top-left, got {anchor!r}")
    sticker = read_image(overlay)
    with progress_reporter("insert") as progress:
        photo, depth_map = load_photo_and_depth(image, request, progress=progress)
        result = insert_overlay(
            photo.rgba(),
            depth_map,
            sticker.rgba(),
            x=x,
            y=y,
            nearness=depth_of_overlay,
            anchor=anchor,  # type: ignore[arg-type]
            scale=scale,
            feather=feather,
        )
    written = write_image(output, result, like=photo, inputs=inputs)
    typer.echo(f"wrote {written}")
