"""``depthfx studio``: a local page to choose the focus by clicking, preview and export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import ParameterError
from ._app import app
from .options import DepthRequest, load_photo_and_depth, progress_reporter, with_depth_options


@app.command("studio")
@with_depth_options
def studio_command(
    image: Annotated[Path, typer.Argument(help="Photo (the left view of a stereo pair).")],
    depth_request: DepthRequest,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1; 0 picks a free one.")] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the URL only; do not open a browser.")
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", help="Folder exports are written to (default: the photo's)."),
    ] = None,
) -> None:
    """Open a local page to click the focus, watch the preview and export the result.

    Depth is computed once; the page then previews bokeh, fog, miniature, layers and the
    presets, shows the equivalent command and preset TOML, and exports at full resolution.
    It listens on 127.0.0.1 only, behind a random token in the printed URL. Ctrl-C stops it.

    Example: depthfx studio portrait.jpg --right portrait_r.jpg
    """
    from ..studio.server import StudioServer
    from ..studio.session import StudioSession

    if not 0 <= port <= 65535:
        raise ParameterError(f"--port must be in 0..65535, got {port}")
    folder = output_dir if output_dir is not None else image.parent
    with progress_reporter("depth") as progress:
        photo, depth = load_photo_and_depth(image, depth_request, progress=progress)
    session = StudioSession(image, photo, depth, depth_request, folder)
    server = StudioServer(session, port=port)
    typer.echo(f"depthfx studio: {server.url}", nl=True)
    if not no_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("depthfx studio: stopped")
    finally:
        server.server_close()
