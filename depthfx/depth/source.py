"""The depth of a photo from whatever source is given, in one call.

A :class:`DepthRequest` says where depth comes from: a stereo pair (a right photo, a
side-by-side picture, an MPO file from a 3D camera), a depth file, or a monocular model.
:func:`load_photo_and_depth` reads the photo and computes or loads its depth;
:func:`depth_for` is the same for callers who want only the depth map. The command line
builds its request from the shared depth options and batches build one per photo, so every
entry point reads and checks sources the same way.

:class:`DepthSettings` is the preset's ``[depth]`` table: which kind of source a preset
wants when the user names none.

Examples
--------
>>> from depthfx.depth.source import DepthRequest, depth_for
>>> depth = depth_for("left.jpg", DepthRequest(right="right.jpg"))  # doctest: +SKIP
>>> depth = depth_for("pair.left-right.jpg")  # doctest: +SKIP
>>> depth = depth_for("photo.jpg", mono=True, model="pydnet")  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._parallel import JobGroup
from ..depthmap import DepthMap
from ..errors import InputError, ParameterError
from ..image import Photo, read_image
from .stereo_input import (
    SBS_LAYOUTS,
    check_side_by_side_layout,
    is_stereo_file,
    read_stereo_pair,
    side_by_side_layout,
)

ProgressCallback = Callable[[str, float], None]

DEPTH_SOURCES = ("auto", "stereo", "mono", "file")
DEPTH_NEAR = ("white", "black")
DEFAULT_MONO_MODEL = "midas_small"
# Largest disparity search range (px) a user may ask for, either way.
_MAX_DISPARITIES = 4096


def check_depth_near(depth_near: str) -> None:
    """``--depth-near`` is white or black (checked before any work)."""
    if depth_near not in DEPTH_NEAR:
        raise ParameterError(f"--depth-near must be white or black, got {depth_near!r}")


@dataclass(frozen=True)
class DepthRequest:
    """Where a photo's depth comes from, and how to compute or read it.

    Give at most one source: ``right``, ``sbs``, ``depth_file`` or ``mono``. A photo that is
    a stereo file (an MPO, or a side-by-side picture named ``*.left-right.*``) needs none.
    Paths may be given as strings. Every value is checked when the request is made.

    Attributes
    ----------
    right : Path or None
        Right photo of a stereo pair (the image is the left).
    sbs : {"parallel", "cross"} or None
        The image is a side-by-side stereo picture: "parallel" (left half = left view) or
        "cross" (left half = right view).
    depth_file : Path or None
        A depth/disparity file (.npy, .pfm, float .tiff, or an 8/16-bit grey picture).
    depth_near : {"white", "black"}
        Which end of ``depth_file`` is near.
    mono : bool
        Estimate depth from the single photo with a depth model.
    model : str or None
        Depth model for ``mono`` (a known name, an .onnx file or a .toml record); None =
        the default model.
    download : bool
        Allow downloading the ``mono`` model if it is not cached.
    calibration : Path or None
        Stereo calibration (OpenCV YAML/XML or .npz): rectify and give metric depth.
    baseline, focal : float or None
        Stereo baseline in metres and focal length in pixels of the left photo, for metric
        depth of a rectified pair. Give both or neither.
    min_disparity, num_disparities : int or None
        Stereo search range in pixels of the left view; estimated from the photos when None.
    """

    right: Path | None = None
    sbs: str | None = None
    depth_file: Path | None = None
    depth_near: str = "white"
    mono: bool = False
    model: str | None = None
    download: bool = False
    calibration: Path | None = None
    baseline: float | None = None
    focal: float | None = None
    min_disparity: int | None = None
    num_disparities: int | None = None

    def __post_init__(self) -> None:
        for name in ("right", "depth_file", "calibration"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(os.fspath(value)))
        check_depth_near(self.depth_near)
        if self.sbs is not None and self.sbs not in SBS_LAYOUTS:
            raise ParameterError(f"--sbs must be 'parallel' or 'cross', got {self.sbs!r}")
        chosen = self.sources()
        if len(chosen) > 1:
            raise ParameterError(f"give one depth source, not {' and '.join(chosen)}")
        self._check_metric()
        if self.num_disparities is not None and not 1 <= self.num_disparities <= _MAX_DISPARITIES:
            raise ParameterError(
                f"--num-disparities must be in 1..{_MAX_DISPARITIES} pixels, got {self.num_disparities}"
            )
        if self.min_disparity is not None and not abs(self.min_disparity) <= _MAX_DISPARITIES:
            raise ParameterError(
                f"--min-disparity must be in -{_MAX_DISPARITIES}..{_MAX_DISPARITIES} pixels, "
                f"got {self.min_disparity}"
            )

    def _check_metric(self) -> None:
        if (self.baseline is None) != (self.focal is None):
            raise ParameterError(
                "give both --baseline (metres) and --focal (pixels) for metric depth, or neither"
            )
        if self.baseline is not None and not self.baseline > 0:
            raise ParameterError(f"--baseline must be > 0 (metres), got {self.baseline}")
        if self.focal is not None and not self.focal > 0:
            raise ParameterError(f"--focal must be > 0 (pixels), got {self.focal}")
        if self.calibration is not None and self.baseline is not None:
            raise ParameterError(
                "give --calib or --baseline/--focal, not both (the calibration has both)"
            )

    def sources(self) -> tuple[str, ...]:
        """The depth sources this request names, as options (``("--right",)``); may be empty."""
        return tuple(
            name
            for name, given in (
                ("--right", self.right is not None),
                ("--depth", self.depth_file is not None),
                ("--mono", self.mono),
                ("--sbs", self.sbs is not None),
            )
            if given
        )

    def inputs(self) -> tuple[Path, ...]:
        """Files that outputs must never overwrite."""
        return tuple(p for p in (self.right, self.depth_file, self.calibration) if p is not None)


@dataclass(frozen=True)
class DepthSettings:
    """How a preset wants depth computed; a request's own source overrides it.

    Attributes
    ----------
    source : {"auto", "stereo", "mono", "file"}
        ``auto``: a depth file beside the photo if there is one, else the stereo pair if
        there is one, else a monocular estimate. ``stereo``/``mono``/``file`` insist on one.
    model : str or None
        Monocular depth model name or file; None = the default model.
    """

    source: str = "auto"
    model: str | None = None

    def __post_init__(self) -> None:
        if self.source not in DEPTH_SOURCES:
            raise ParameterError(
                f"depth source must be one of {', '.join(DEPTH_SOURCES)}, got {self.source!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """``{"source": ..., "model": ...}`` without absent (None) values."""
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}


def is_stereo_request(image_path: str | os.PathLike[str], request: DepthRequest) -> bool:
    """True when ``request`` takes depth from a stereo pair: a right photo, ``sbs``, or an
    image that is a stereo file itself (and no depth file or mono estimate is asked for)."""
    if request.depth_file is not None or request.mono:
        return False
    return request.right is not None or request.sbs is not None or is_stereo_file(image_path)


def load_photo(image_path: str | os.PathLike[str], request: DepthRequest | None = None) -> Photo:
    """The photo that ``request``'s depth belongs to, without computing any depth.

    For a stereo source that is one file (a side-by-side picture, an MPO) this is its left
    view, as :func:`load_photo_and_depth` gives; otherwise the image itself.
    """
    request = request or DepthRequest()
    if request.right is None and is_stereo_request(image_path, request):
        left, _ = read_stereo_pair(image_path, sbs=request.sbs)
        return left
    return read_image(image_path)


def load_photo_and_depth(
    image_path: str | os.PathLike[str],
    request: DepthRequest | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> tuple[Photo, DepthMap]:
    """Read a photo and compute or load its depth as ``request`` says.

    Parameters
    ----------
    image_path : path
        The photo; the left view of a pair, or a side-by-side picture or MPO file.
    request : DepthRequest, optional
        Where depth comes from; the default finds it only in a stereo file.
    progress : callable(stage, fraction), optional

    Returns
    -------
    (Photo, DepthMap)
        The photo (the left view for every stereo source) and its depth, same size.

    Raises
    ------
    InputError
        No depth source is given and the image is not a stereo file (the message names the
        ways to get depth), or a file cannot be read.
    StereoMatchError
        The pair cannot be matched, or a side-by-side picture's halves look swapped.
    ModelError
        The monocular model is unknown or missing.
    """
    request = request or DepthRequest()
    image_path = Path(image_path)
    if request.depth_file is not None:
        depth_file = request.depth_file
        # Both decoders release the GIL: the depth file is read while the photo is.
        with JobGroup() as reader:
            pending = reader.submit(DepthMap.load, depth_file, near=request.depth_near)
            photo = read_image(image_path)
            depth = pending.result()
        return photo, depth.fit_to(photo.shape, guide=photo.pixels)

    if request.mono:
        from .mono import estimate_depth

        photo = read_image(image_path)
        model = request.model or DEFAULT_MONO_MODEL
        return photo, estimate_depth(
            photo.pixels, model=model, download=request.download, progress=progress
        )

    if is_stereo_request(image_path, request):
        return _stereo_photo_and_depth(image_path, request, progress)

    raise InputError(
        f"{image_path}: no depth given; pass --right RIGHT (a stereo pair), --depth FILE "
        "(a depth map you have), or --mono (estimate it from this photo)"
    )


def _stereo_photo_and_depth(
    image_path: Path, request: DepthRequest, progress: ProgressCallback | None
) -> tuple[Photo, DepthMap]:
    from .stereo import stereo_depth

    calibration = None
    if request.calibration is not None:
        from .calibration import StereoCalibration

        calibration = StereoCalibration.load(request.calibration)  # fail before reading photos
    left, right = read_stereo_pair(image_path, request.right, sbs=request.sbs)
    layout = side_by_side_layout(image_path, sbs=request.sbs) if request.right is None else None
    if layout is not None:
        check_side_by_side_layout(
            left.pixels, right.pixels, layout=layout, path=image_path, from_name=request.sbs is None
        )
    depth = stereo_depth(
        left.pixels,
        right.pixels,
        min_disparity=request.min_disparity,
        num_disparities=request.num_disparities,
        calibration=calibration,
        baseline_m=request.baseline,
        focal_px=request.focal,
        progress=progress,
    )
    return left, depth


def depth_for(
    image_path: str | os.PathLike[str],
    request: DepthRequest | None = None,
    *,
    progress: ProgressCallback | None = None,
    **options: Any,
) -> DepthMap:
    """The depth map of a photo, from the source ``request`` (or ``options``) names.

    ``options`` are :class:`DepthRequest` fields, applied over ``request``:
    ``depth_for("photo.jpg", mono=True)`` is ``depth_for("photo.jpg", DepthRequest(mono=True))``.
    The map has the size of the photo (the left view for stereo sources). Raises as
    :func:`load_photo_and_depth` does, and :class:`ParameterError` for an unknown option.

    Examples
    --------
    >>> depth = depth_for("left.jpg", right="right.jpg")  # doctest: +SKIP
    >>> depth.units  # doctest: +SKIP
    'disparity_px'
    """
    known = {item.name for item in dataclasses.fields(DepthRequest)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ParameterError(
            f"unknown depth option {unknown[0]!r}; use one of {', '.join(sorted(known))}"
        )
    request = dataclasses.replace(request or DepthRequest(), **options)
    return load_photo_and_depth(image_path, request, progress=progress)[1]


__all__ = [
    "DEPTH_NEAR",
    "DEPTH_SOURCES",
    "DepthRequest",
    "DepthSettings",
    "check_depth_near",
    "depth_for",
    "is_stereo_request",
    "load_photo",
    "load_photo_and_depth",
]
