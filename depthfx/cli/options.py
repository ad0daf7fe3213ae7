"""Options shared by several commands, declared once.

Every effect command takes the same depth options (``--right``, ``--depth``, ``--mono`` …);
they are declared here as ``Annotated`` aliases and turned into the library's
:class:`~depthfx.depth.source.DepthRequest` by :func:`with_depth_options`. Choosing and
loading the depth source is the library's job (:mod:`depthfx.depth.source`); its names are
re-exported here for the commands.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer

from ..depth.source import DepthRequest, check_depth_near, load_photo_and_depth

_DEPTH = "Depth source"

RightOption = Annotated[
    Path | None,
    typer.Option(
        "--right",
        "-r",
        help="Right photo of a stereo pair (IMAGE is the left).",
        rich_help_panel=_DEPTH,
    ),
]
DepthFileOption = Annotated[
    Path | None,
    typer.Option(
        "--depth",
        "-d",
        help="Depth/disparity file: .npy, .pfm, float .tiff, or an 8/16-bit grey picture.",
        rich_help_panel=_DEPTH,
    ),
]
DepthNearOption = Annotated[
    str,
    typer.Option(
        "--depth-near", help="Which end of --depth is near: white or black.", rich_help_panel=_DEPTH
    ),
]
SbsOption = Annotated[
    str | None,
    typer.Option(
        "--sbs",
        help="IMAGE is a side-by-side stereo picture: 'parallel' (left view on the left) or 'cross'.",
        rich_help_panel=_DEPTH,
    ),
]
MonoOption = Annotated[
    bool,
    typer.Option(
        "--mono",
        help="Estimate depth from the single photo with a depth model.",
        rich_help_panel=_DEPTH,
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Depth model for --mono: a known name, an .onnx file or a .toml record.",
        rich_help_panel=_DEPTH,
    ),
]
DownloadOption = Annotated[
    bool,
    typer.Option(
        "--download",
        help="Allow downloading the --mono model if it is not cached.",
        rich_help_panel=_DEPTH,
    ),
]
CalibrationOption = Annotated[
    Path | None,
    typer.Option(
        "--calib",
        help="Stereo calibration (OpenCV YAML/XML or .npz with K1 D1 K2 D2 R T): rectify and give metric depth.",
        rich_help_panel=_DEPTH,
    ),
]
BaselineOption = Annotated[
    float | None,
    typer.Option(
        "--baseline",
        help="Stereo baseline in metres (with --focal: metric depth).",
        rich_help_panel=_DEPTH,
    ),
]
FocalOption = Annotated[
    float | None,
    typer.Option(
        "--focal",
        help="Focal length in pixels of the left photo (with --baseline).",
        rich_help_panel=_DEPTH,
    ),
]
OutputOption = Annotated[Path, typer.Option("--output", "-o", help="Output file.")]


# name, CLI declaration, default: the depth options every depth-using command shares.
_DEPTH_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("right", RightOption, None),
    ("depth", DepthFileOption, None),
    ("depth_near", DepthNearOption, "white"),
    ("sbs", SbsOption, None),
    ("mono", MonoOption, False),
    ("model", ModelOption, None),
    ("download", DownloadOption, False),
    ("calibration", CalibrationOption, None),
    ("baseline", BaselineOption, None),
    ("focal", FocalOption, None),
)

CommandT = TypeVar("CommandT", bound=Callable[..., Any])


def with_depth_options(command: CommandT) -> CommandT:
    """Give a command the shared depth options; it receives them as ``depth_request``.

    The options are declared once, here, and appear in every such command's ``--help``
    right after ``--output``. The decorated function takes a keyword ``depth_request:
    DepthRequest`` instead of ten separate parameters.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in signature.parameters.values()
        if parameter.name != "depth_request"
    ]
    names = [parameter.name for parameter in own]
    split = names.index("output") + 1 if "output" in names else len(own)
    shared = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=declared
        )
        for name, declared, default in _DEPTH_OPTIONS
    ]
    parameters = own[:split] + shared + own[split:]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name, _, _ in _DEPTH_OPTIONS}
        given["depth_file"] = given.pop("depth")
        return command(depth_request=DepthRequest(**given), **kwargs)

    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return cast(CommandT, wrapper)


ProgressCallback = Callable[[str, float], None]


@contextlib.contextmanager
def progress_reporter(description: str) -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr, driven by the library's ``progress(stage, fraction)``.

    Shown only on a terminal; when stderr is piped nothing is printed (and rich is not even
    imported, which saves a command ~15 ms).
    """
    if not sys.stderr.isatty():
        yield _no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=1.0)

        def report(stage: str, fraction: float) -> None:
            progress.update(task, description=f"{description}: {stage}", completed=fraction)

        yield report


def _no_progress(stage: str, fraction: float) -> None:
    """Progress reports with nowhere to go."""


__all__ = [
    "DepthRequest",
    "OutputOption",
    "ProgressCallback",
    "check_depth_near",
    "load_photo_and_depth",
    "progress_reporter",
    "with_depth_options",
]
