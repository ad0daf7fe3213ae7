"""``depthfx apply``: a preset on one photo."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ..batch import (
    BatchItem,
    BatchTask,
    depth_request_for,
    find_depth_file,
    find_right_view,
)
from ..errors import ParameterError
from ..image import check_output_path, write_image
from ..presets import load_preset
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)

PresetOption = Annotated[
    str,
    typer.Option(
        "--preset",
        "-p",
        help="Preset name (see 'depthfx presets list') or a preset .toml file.",
    ),
]


@app.command()
@with_depth_options
def apply(
    image: Annotated[Path, typer.Argument(help="Photo to process (the left view of a pair).")],
    preset: PresetOption,
    output: OutputOption,
    depth_request: DepthRequest,
    quality: Annotated[int, typer.Option("--quality", help="JPEG/WebP quality, 1-100.")] = 95,
) -> None:
    """Apply a preset (a chain of effects) to one photo.

    Depth comes from the options given; without any, from the preset's [depth] settings:
    a depth file beside the photo (photo.depth.png/.npy), the right view found by name
    (x_L/x_R, left/right), a stereo file (MPO), or a monocular estimate.
    """
    chain = load_preset(preset)
    if not 1 <= quality <= 100:
        raise ParameterError(f"--quality must be in 1..100, got {quality}")
    request = replace(depth_request, model=depth_request.model or chain.depth.model)
    check_output_path(output, inputs=(image, *request.inputs()))
    if (
        request.right is None
        and request.depth_file is None
        and request.sbs is None
        and not request.mono
    ):
        # No depth option: the preset's settings decide (depth file, stereo pair by name,
        # stereo file, or mono), as in a batch.
        item = BatchItem(
            image=image,
            right=find_right_view(image),
            depth_file=find_depth_file(image),
            name=image.stem,
        )
        # The options as given (model not yet defaulted) are the batch's fallback.
        task = BatchTask(item=item, chain=chain, output=output, fallback=depth_request)
        request, _ = depth_request_for(task)
    with progress_reporter(f"{chain.name or 'preset'}") as progress:
        photo, depth = load_photo_and_depth(image, request, progress=progress)
        result = chain.apply(photo.rgba(), depth, progress=progress, report=typer.echo)
        written = write_image(
            output, result, like=photo, quality=quality, inputs=(image, *request.inputs())
        )
    typer.echo(f"wrote {written}")
