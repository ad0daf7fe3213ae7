"""The stereo inputs people have: two files, one side-by-side picture, or an MPO file.

* Two files: ``read_stereo_pair("left.jpg", "right.jpg")``.
* Side-by-side: ``sbs="parallel"`` (left half = left view, for parallel viewing) or
  ``sbs="cross"`` (left half = right view, for cross-eyed viewing). A file whose name says
  ``left-right`` or ``right-left`` (the ``photo.left-right.jpg`` convention of stereo web
  viewers) is recognised without the option.
* MPO (3D cameras such as the Fujifilm W3 or Nintendo 3DS): both frames are read with
  Pillow; frame 1 is the left eye.

Every view is returned upright (EXIF orientation applied) as a :class:`~depthfx.image.Photo`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, ParameterError, StereoMatchError
from ..image import (
    Photo,
    _apply_orientation,
    _array_to_photo,
    _orientation_and_exif,
    _pil_to_array,
    _short,
    read_image,
)
from ..jpeg import read_jpeg_header

if TYPE_CHECKING:  # Pillow is imported where an MPO file needs it
    from PIL import Image

SBS_LAYOUTS = ("parallel", "cross")
# The start of a file read to tell a plain JPEG from an MPO: its markers before the first
# scan (EXIF, ICC, the MPO index) sit in the first few hundred kB.
_HEADER_BYTES = 512 * 1024
_NAME_LAYOUTS = (
    (re.compile(r"(^|[._\-\s])left[._\-]?right([._\-\s]|$)", re.IGNORECASE), "parallel"),
    (re.compile(r"(^|[._\-\s])right[._\-]?left([._\-\s]|$)", re.IGNORECASE), "cross"),
)
# Share of matched features with a negative disparity (x_left < x_right) from which a
# side-by-side picture's halves are judged swapped. Cameras side by side see near things
# further left in the right view: positive disparities, negative ones only for the odd
# wrong match or cameras turned slightly inwards (GoPro rig: 8% right, 95% swapped).
SWAPPED_SHARE = 0.8


def sbs_layout_from_name(path: str | os.PathLike[str]) -> str | None:
    """ "parallel" for ``*.left-right.*`` names, "cross" for ``*.right-left.*``, else None.

    Examples
    --------
    >>> sbs_layout_from_name("GOPR0.left-right.jpg")
    'parallel'
    >>> sbs_layout_from_name("holiday.jpg") is None
    True
    """
    stem = Path(path).stem
    for pattern, layout in _NAME_LAYOUTS:
        if pattern.search(stem):
            return layout
    return None


def _mpo_frame_count(path: Path) -> int:
    try:
        with open(path, "rb") as file:
            head = file.read(_HEADER_BYTES)
    except OSError:
        return 0
    header = read_jpeg_header(head)
    if header is not None and not header.multi_picture:
        return 0  # a plain JPEG: no need to import Pillow to know
    from PIL import Image

    try:
        with Image.open(path) as pil:
            if pil.format != "MPO":
                return 0
            return int(getattr(pil, "n_frames", 1))
    except Exception:  # not an image, unreadable: not a stereo file
        return 0


def is_stereo_file(path: str | os.PathLike[str]) -> bool:
    """True when one file holds both views: an MPO with two or more frames, or a
    side-by-side picture named ``*.left-right.*`` / ``*.right-left.*``.

    Examples
    --------
    >>> is_stereo_file("fujifilm.mpo")  # doctest: +SKIP
    True
    """
    path = Path(path)
    if not path.is_file():
        return False
    return _mpo_frame_count(path) >= 2 or sbs_layout_from_name(path) is not None


def side_by_side_layout(path: str | os.PathLike[str], *, sbs: str | None = None) -> str | None:
    """The side-by-side layout :func:`read_stereo_pair` reads ``path`` with when it is given
    alone: ``sbs`` when given, else the layout its name says; None for MPO files and photos.

    Examples
    --------
    >>> side_by_side_layout("GOPR0.left-right.jpg")
    'parallel'
    >>> side_by_side_layout("GOPR0.left-right.jpg", sbs="cross")
    'cross'
    """
    if sbs is not None:
        return sbs
    path = Path(path)
    if path.is_file() and _mpo_frame_count(path) >= 2:
        return None
    return sbs_layout_from_name(path)


def negative_disparity_share(left: np.ndarray, right: np.ndarray) -> float | None:
    """Share of the views' matched features whose disparity ``x_left - x_right`` is negative.

    SIFT matches checked against one stereo geometry (fundamental-matrix RANSAC), measured
    on the views as they are (before rectification, which may shift disparities). None
    when too few features match to tell.
    """
    from .rectify import match_features

    try:
        matches = match_features(left, right)
    except StereoMatchError:
        return None
    return float(np.mean(matches.dx < 0))


def check_side_by_side_layout(
    left: np.ndarray,
    right: np.ndarray,
    *,
    layout: str,
    path: str | os.PathLike[str] = "",
    from_name: bool = False,
) -> None:
    """Refuse side-by-side views that look swapped (read as "cross" but "parallel", or back).

    A swapped pair gives a depth map with near and far inverted. The views are judged
    swapped when at least ``SWAPPED_SHARE`` of their matched features have a negative
    disparity. Only for side-by-side pictures: 3D cameras store MPO frames shifted so that
    every disparity is negative, and such files are never checked.

    Parameters
    ----------
    left, right : ndarray (H, W, 3) float32
        The views as read with ``layout``.
    layout : {"parallel", "cross"}
        The layout they were read with.
    path : path, optional
        The picture, for the message.
    from_name : bool
        The layout came from the file's name rather than from ``--sbs``.

    Raises
    ------
    StereoMatchError
        The halves look swapped; the message names the other layout.
    """
    share = negative_disparity_share(left, right)
    if share is None or share < SWAPPED_SHARE:
        return
    other = "cross" if layout == "parallel" else "parallel"
    given = f"its name says {layout}" if from_name else f"--sbs {layout}"
    raise StereoMatchError(
        f"{path}: the side-by-side views look swapped ({given}, but {100 * share:.0f}% of "
        f"matched features lie further right in the right view, as when left and right are "
        f"exchanged); try --sbs {other}"
    )


def read_stereo_pair(
    left_path: str | os.PathLike[str],
    right_path: str | os.PathLike[str] | None = None,
    *,
    sbs: str | None = None,
) -> tuple[Photo, Photo]:
    """Read the left and right views of a stereo pair.

    Parameters
    ----------
    left_path : path
        The left photo; or, without ``right_path``, a side-by-side picture or an MPO file.
    right_path : path, optional
        The right photo.
    sbs : {"parallel", "cross"}, optional
        ``left_path`` is a side-by-side picture: "parallel" means its left half is the left
        view, "cross" (cross-eyed viewing) that its left half is the right view.

    Returns
    -------
    (Photo, Photo)
        Left and right views, upright, same size. Each ``Photo.path`` is the file read.

    Raises
    ------
    ParameterError
        ``sbs`` is not "parallel" or "cross", or is given together with ``right_path``.
    InputError
        A file is missing or not an image; the views differ in size; the file is not a
        stereo file and no right view was given.

    Examples
    --------
    >>> left, right = read_stereo_pair("fujifilm.mpo")  # doctest: +SKIP
    >>> left.shape  # doctest: +SKIP
    (2736, 3648)
    >>> left, right = read_stereo_pair("pair.jpg", sbs="cross")  # doctest: +SKIP
    """
    left_path = Path(left_path)
    if sbs is not None and sbs not in SBS_LAYOUTS:
        raise ParameterError(f"sbs must be 'parallel' or 'cross', got {sbs!r}")
    if sbs is not None and right_path is not None:
        raise ParameterError("give either a right view or a side-by-side layout (--sbs), not both")

    if right_path is not None:
        right_path = Path(right_path)
        if _same_path(left_path, right_path):
            raise InputError(f"{right_path}: the right view is the same file as the left view")
        left, right = read_image(left_path), read_image(right_path)
        if left.shape != right.shape:
            raise InputError(
                f"left view {left_path.name} is {left.shape[1]}x{left.shape[0]} but right view "
                f"{right_path.name} is {right.shape[1]}x{right.shape[0]}; a stereo pair needs two "
                "photos of the same size"
            )
        return left, right

    layout = sbs
    if layout is None:
        frames = _mpo_frame_count(left_path) if left_path.is_file() else 0
        if frames >= 2:
            return _read_mpo(left_path)
        layout = sbs_layout_from_name(left_path)
        if layout is None:
            read_image(left_path)  # a missing or broken file says so first
            detail = "an MPO file with one frame" if frames == 1 else "one photo"
            raise InputError(
                f"{left_path}: is {detail}, not a stereo pair; give the right view with --right, "
                "or --sbs parallel|cross for a side-by-side picture"
            )
    return _split_side_by_side(read_image(left_path), layout)


def _same_path(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and os.path.samefile(first, second)
    except OSError:
        return False


def _split_side_by_side(photo: Photo, layout: str) -> tuple[Photo, Photo]:
    height, width = photo.shape
    half = width // 2
    if half < 8:
        raise InputError(
            f"{photo.path}: {width}x{height} is too narrow to hold two side-by-side views"
        )
    # An odd width leaves one middle column that belongs to neither view.
    first = _crop(photo, 0, half)
    second = _crop(photo, width - half, width)
    return (first, second) if layout == "parallel" else (second, first)


def _crop(photo: Photo, start: int, stop: int) -> Photo:
    pixels = photo.pixels[:, start:stop].copy()
    alpha = photo.alpha[:, start:stop].copy() if photo.alpha is not None else None
    return Photo(
        pixels=pixels, alpha=alpha, bit_depth=photo.bit_depth, is_gray=photo.is_gray,
        icc_profile=photo.icc_profile, exif=photo.exif, path=photo.path,
    )  # fmt: skip


def _read_mpo(path: Path) -> tuple[Photo, Photo]:
    from PIL import Image

    views: list[_Frame] = []
    try:
        with Image.open(path) as pil:
            for index in range(2):
                pil.seek(index)
                frame = pil.copy()
                frame.load()
                fallback = views[0].exif_orientation if views else 1
                views.append(_decode_frame(frame, path, index, default_orientation=fallback))
    except InputError:
        raise
    except Exception as exc:  # Pillow raises many types for broken frames
        raise InputError(
            f"{path}: MPO frame {len(views) + 1} is not readable ({_short(exc)})"
        ) from exc
    left, right = views[0].photo, views[1].photo
    if left.shape != right.shape:
        raise InputError(
            f"{path}: MPO frames differ in size ({left.shape[1]}x{left.shape[0]} and "
            f"{right.shape[1]}x{right.shape[0]}); not a stereo MPO"
        )
    return left, right


def _decode_frame(
    frame: Image.Image, path: Path, index: int, *, default_orientation: int = 1
) -> _Frame:
    # A second frame without its own orientation tag is turned like the first.
    label = f"{path} (frame {index + 1})"
    orientation, exif_bytes = _orientation_and_exif(frame, default_orientation=default_orientation)
    array = _apply_orientation(_pil_to_array(frame, label), orientation)
    icc = frame.info.get("icc_profile") or None
    photo = _array_to_photo(array, icc=icc, exif=exif_bytes, source=path, label=label)
    return _Frame(photo, orientation)


@dataclass(frozen=True)
class _Frame:
    photo: Photo
    exif_orientation: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.photo.shape


__all__ = [
    "SBS_LAYOUTS",
    "SWAPPED_SHARE",
    "check_side_by_side_layout",
    "is_stereo_file",
    "negative_disparity_share",
    "read_stereo_pair",
    "sbs_layout_from_name",
    "side_by_side_layout",
]
