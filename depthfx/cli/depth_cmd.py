"""``depthfx depth``: a depth (disparity) map from a stereo pair, an MPO or side-by-side file."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..depth.plausibility import ADVICE
from ..depth.source import is_stereo_request
from ..depthmap import DEPTH_SUFFIXES, DepthMap
from ..errors import InputError, ModelError, ParameterError
from ..image import check_output_path, read_image
from ._app import app
from .options import (
    DepthRequest,
    OutputOption,
    load_photo_and_depth,
    progress_reporter,
    with_depth_options,
)

_OUTPUTS = "Outputs"
_MATCHING = "Matching"
PREVIEW_SUFFIXES = (".png", ".jpg", ".jpeg")


@app.command()
@with_depth_options
def depth(
    image: Annotated[
        Path,
        typer.Argument(
            help="Left photo of a stereo pair (with --right), a side-by-side picture (--sbs), or an MPO file from a 3D camera.",
            show_default=False,
        ),
    ],
    output: OutputOption,
    depth_request: DepthRequest,
    preview: Annotated[
        Path | None,
        typer.Option(
            "--preview",
            help="Also write a colour-mapped picture (.png/.jpg), warm = near.",
            rich_help_panel=_OUTPUTS,
        ),
    ] = None,
    ply: Annotated[
        Path | None,
        typer.Option(
            "--ply",
            help="Also write a coloured 3-D point cloud (.ply; metric with --calib or --baseline/--focal).",
            rich_help_panel=_OUTPUTS,
        ),
    ] = None,
    min_disparity: Annotated[
        int | None,
        typer.Option(
            "--min-disparity",
            help="Smallest disparity to search, px of LEFT (default: estimated from the photos).",
            rich_help_panel=_MATCHING,
        ),
    ] = None,
    num_disparities: Annotated[
        int | None,
        typer.Option(
            "--num-disparities",
            help="Width of the disparity search range, px (default: estimated).",
            rich_help_panel=_MATCHING,
        ),
    ] = None,
) -> None:
    """Compute a depth map: disparity in pixels of the left view, same size as it.

    OUTPUT: .npy / .pfm / .tiff keep float32 disparity (larger = nearer; negative values are
    normal for 3D cameras that shift their frames); .png is a 16-bit picture normalized for
    viewing. Hand-held pairs are rectified automatically; the disparity range is estimated.

    Examples: depthfx depth left.jpg --right right.jpg -o depth.npy --preview depth.png;
    depthfx depth photo.mpo -o depth.tiff; depthfx depth pair.jpg --sbs cross -o depth.pfm
    """
    started = time.perf_counter()
    inputs = (image, *depth_request.inputs())
    # Every output is checked before any work, so bad input writes nothing.
    check_output_path(output, allowed=DEPTH_SUFFIXES, inputs=inputs)
    if preview is not None:
        check_output_path(preview, allowed=PREVIEW_SUFFIXES, inputs=inputs)
    if ply is not None:
        check_output_path(ply, allowed=(".ply",), inputs=inputs)
    _check_distinct([p for p in (output, preview, ply) if p is not None])
    _check_stereo_only(depth_request, min_disparity, num_disparities)
    request = replace(depth_request, min_disparity=min_disparity, num_disparities=num_disparities)
    stereo = is_stereo_request(image, request)
    if not stereo and not request.mono and request.depth_file is None:
        read_image(image)  # a missing or broken file says so first
        raise InputError(
            f"{image}: is one photo, not a stereo pair; give --right RIGHT (a stereo pair), "
            "--depth FILE, or --mono (depth from one photo)"
        )

    with progress_reporter("depth") as report:
        try:
            photo, depth_map = load_photo_and_depth(image, request, progress=report)
        except ImportError as exc:  # the monocular module is optional in this build
            if not request.mono:
                raise
            raise ModelError(f"--mono is not available: {exc}") from exc

    depth_map.save(output, inputs=inputs)
    if preview is not None:
        depth_map.save_preview(preview, inputs=inputs)
    points = None
    if ply is not None:
        from ..depth.pointcloud import write_ply

        points = write_ply(
            ply, depth_map, photo.pixels, focal_px=_focal_for(depth_map, request), inputs=inputs
        )
    unit = _distance_unit(request)
    seconds = time.perf_counter() - started
    typer.echo(
        summary_line(output, depth_map, seconds, points=points, distance_unit=unit, stereo=stereo)
    )


def _distance_unit(request: DepthRequest) -> str:
    if request.calibration is None:
        return "m"
    from ..depth.calibration import StereoCalibration

    units = StereoCalibration.load(request.calibration).units
    return (
        "m" if units.lower() in ("m", "cm", "mm", "metre", "meter", "metres", "meters") else units
    )


def _check_distinct(paths: list[Path]) -> None:
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise ParameterError("-o, --preview and --ply must name different files")


def _check_stereo_only(
    request: DepthRequest, min_disparity: int | None, num_disparities: int | None
) -> None:
    stereo_only = [
        name
        for name, given in (
            ("--min-disparity", min_disparity is not None),
            ("--num-disparities", num_disparities is not None),
            ("--calib", request.calibration is not None),
            ("--baseline", request.baseline is not None),
            ("--focal", request.focal is not None),
        )
        if given
    ]
    if (request.mono or request.depth_file is not None) and stereo_only:
        source = "--mono" if request.mono else "--depth"
        raise ParameterError(f"{stereo_only[0]} applies to stereo pairs only, not to {source}")


def _focal_for(depth_map: DepthMap, request: DepthRequest) -> float | None:
    """Focal length in pixels for the point cloud: --focal, or the calibration's."""
    if request.focal is not None:
        return request.focal
    if request.calibration is not None and depth_map.metric_scale is not None:
        from ..depth.calibration import StereoCalibration

        calibration = StereoCalibration.load(request.calibration)
        # metric_scale = rectified focal * baseline in metres.
        return depth_map.metric_scale / (calibration.baseline * calibration.metres_per_unit)
    return None


def summary_line(
    output: Path,
    depth_map: DepthMap,
    seconds: float,
    *,
    points: int | None = None,
    distance_unit: str = "m",
    stereo: bool = False,
) -> str:
    """One line about the result: size, value range, density, metric range, time.

    Ranges are the 1st to 99th percentile (what the map mostly holds; a few stray values
    would make the extremes misleading), with the full range beside them. ``stereo`` adds the
    share of matched pixels, which only stereo matching measures.

    Examples
    --------
    >>> summary_line(Path("d.npy"), DepthMap(np.full((2, 4), 5.0, np.float32), units="disparity_px"), 1.25)
    'd.npy: 4x2, disparity 1-99%: 5.0..5.0 px (full 5.0..5.0), 100% dense, 1.2 s'
    """
    height, width = depth_map.shape
    nearness = depth_map.nearness
    finite = np.isfinite(nearness)
    values = nearness[finite] if finite.any() else np.zeros(1, np.float32)
    low, high = (float(v) for v in np.percentile(values, [1, 99]))
    full = f"full {float(values.min()):.1f}..{float(values.max()):.1f}"
    if depth_map.units == "disparity_px":
        value_range = f"disparity 1-99%: {low:.1f}..{high:.1f} px ({full})"
    else:
        value_range = f"nearness 1-99%: {low:.1f}..{high:.1f} ({full}, relative)"
    parts = [f"{output}: {width}x{height}", value_range, f"{100 * finite.mean():.0f}% dense"]
    if stereo and depth_map.confidence is not None:
        parts.append(f"{100 * float(np.mean(depth_map.confidence > 0.5)):.0f}% matched")
    if depth_map.metric_scale is not None:
        distance = depth_map.depth_m()
        near_far = distance[np.isfinite(distance)]
        if near_far.size:
            near, far = (float(v) for v in np.percentile(near_far, [1, 99]))
            parts.append(f"depth 1-99%: {near:.2f}..{far:.2f} {distance_unit}")
    if points is not None:
        parts.append(f"{points} points")
    parts.append(f"{seconds:.1f} s")
    report = depth_map.report
    if report is not None and report.implausible:
        # Never fail silently: say why the map is doubtful and what to do about it.
        parts.append(f"WARNING: {'; '.join(report.warnings)}; {ADVICE}")
    return ", ".join(parts)
