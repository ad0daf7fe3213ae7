"""Stereo calibration: the two cameras' intrinsics and their relative pose.

A :class:`StereoCalibration` holds what ``cv2.stereoCalibrate`` gives (K1, D1, K2, D2, R, T)
plus the image size it was made for and the unit of ``T``. It is read from an OpenCV
FileStorage file (``.yml``/``.yaml``/``.xml``/``.json``) or a NumPy ``.npz`` file, with the
usual key spellings (``K1``/``M1``/``cameraMatrix1``, ``D1``/``distCoeffs1`` …).

Units: the baseline is ``|T|`` in the unit the calibration target was measured in. A file may
say which with a ``units`` entry (``m``, ``cm``, ``mm`` or any other word); without one, metres
are assumed. A chessboard calibrated with ``square_size=1`` (OpenCV's own sample) measures
``T`` in *squares*, and depth computed from it comes out in squares too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import InputError, ParameterError
from ..image import atomic_output, check_output_path

CALIBRATION_SUFFIXES = (".npz", ".yml", ".yaml", ".xml", ".json")
_TO_METRES = {"m": 1.0, "metre": 1.0, "meter": 1.0, "metres": 1.0, "meters": 1.0,
              "cm": 0.01, "mm": 0.001}  # fmt: skip
_KEYS = {
    "K1": (
        "K1",
        "M1",
        "cameraMatrix1",
        "camera_matrix_1",
        "camera_matrix_left",
        "left_camera_matrix",
        "mtx_l",
        "mtxL",
    ),
    "D1": (
        "D1",
        "distCoeffs1",
        "dist_coeffs_1",
        "dist_coeffs_left",
        "left_dist_coeffs",
        "dist_l",
        "distL",
    ),
    "K2": (
        "K2",
        "M2",
        "cameraMatrix2",
        "camera_matrix_2",
        "camera_matrix_right",
        "right_camera_matrix",
        "mtx_r",
        "mtxR",
    ),
    "D2": (
        "D2",
        "distCoeffs2",
        "dist_coeffs_2",
        "dist_coeffs_right",
        "right_dist_coeffs",
        "dist_r",
        "distR",
    ),
    "R": ("R", "rotation", "R_stereo"),
    "T": ("T", "translation", "T_stereo"),
}
_SIZE_KEYS = ("image_size", "imageSize", "size", "img_size")


@dataclass(frozen=True, eq=False)
class StereoCalibration:
    """Intrinsics of both cameras and the pose of the right camera relative to the left.

    Attributes
    ----------
    K1, K2 : ndarray (3, 3)
        Camera matrices (focal lengths and principal points in pixels).
    D1, D2 : ndarray (N,)
        Distortion coefficients in OpenCV's order (k1, k2, p1, p2[, k3 ...]).
    R, T : ndarray (3, 3), (3,)
        Rotation and translation taking left-camera coordinates to right-camera ones, as
        ``cv2.stereoCalibrate`` returns them.
    image_size : (width, height) or None
        Size of the calibration images; photos of another size with the same aspect ratio
        are handled by scaling the camera matrices.
    units : str
        Unit of ``T`` ("m" unless the file says otherwise).
    rms : float or None
        Stereo RMS reprojection error in pixels, when known (set by
        :func:`calibrate_from_chessboards`).

    Examples
    --------
    >>> calib = StereoCalibration.load("rig.npz")  # doctest: +SKIP
    >>> round(calib.baseline, 3), calib.units  # doctest: +SKIP
    (0.065, 'm')
    """

    K1: np.ndarray
    D1: np.ndarray
    K2: np.ndarray
    D2: np.ndarray
    R: np.ndarray
    T: np.ndarray
    image_size: tuple[int, int] | None = None
    units: str = "m"
    rms: float | None = None

    def __post_init__(self) -> None:
        for name in ("K1", "K2", "R"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.shape != (3, 3) or not np.isfinite(value).all():
                raise InputError(
                    f"calibration {name} must be a finite 3x3 matrix, got shape {value.shape}"
                )
            object.__setattr__(self, name, value)
        for name in ("D1", "D2"):
            value = np.asarray(getattr(self, name), dtype=np.float64).ravel()
            if value.size not in (0, 4, 5, 8, 12, 14) or not np.isfinite(value).all():
                raise InputError(
                    f"calibration {name} must hold 4, 5, 8, 12 or 14 distortion coefficients, got {value.size}"
                )
            object.__setattr__(self, name, value)
        translation = np.asarray(self.T, dtype=np.float64).ravel()
        if translation.size != 3 or not np.isfinite(translation).all():
            raise InputError(f"calibration T must be 3 numbers, got {translation.size}")
        if not np.linalg.norm(translation) > 0:
            raise InputError("calibration T is zero: the two cameras are at the same place")
        object.__setattr__(self, "T", translation)
        if self.K1[0, 0] <= 0 or self.K2[0, 0] <= 0:
            raise InputError("calibration focal lengths (K1[0,0], K2[0,0]) must be > 0")
        if self.image_size is not None:
            width, height = (int(v) for v in self.image_size)
            if width < 1 or height < 1:
                raise InputError(f"calibration image size must be positive, got {width}x{height}")
            object.__setattr__(self, "image_size", (width, height))

    @property
    def baseline(self) -> float:
        """Distance between the two camera centres, in :attr:`units`."""
        return float(np.linalg.norm(self.T))

    @property
    def metres_per_unit(self) -> float:
        """Factor from :attr:`units` to metres; 1 for units that are not lengths (e.g. squares)."""
        return _TO_METRES.get(self.units.lower(), 1.0)

    def for_size(self, size: tuple[int, int]) -> StereoCalibration:
        """The calibration for photos of ``size`` = (width, height).

        Raises
        ------
        InputError
            The aspect ratio differs from the calibration images' (another camera or a crop).
        """
        width, height = size
        if self.image_size is None or self.image_size == (width, height):
            return self
        cal_w, cal_h = self.image_size
        if abs((width / height) / (cal_w / cal_h) - 1) > 0.01:
            raise InputError(
                f"calibration is for {cal_w}x{cal_h} photos but the pair is {width}x{height}: "
                "aspect ratios differ (another camera or a crop)"
            )
        scale = np.diag([width / cal_w, height / cal_h, 1.0])
        return StereoCalibration(
            K1=scale @ self.K1, D1=self.D1, K2=scale @ self.K2, D2=self.D2,
            R=self.R, T=self.T, image_size=(width, height), units=self.units, rms=self.rms,
        )  # fmt: skip

    # ------------------------------------------------------------------ files

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> StereoCalibration:
        """Read a calibration from ``.npz`` or an OpenCV FileStorage file (YAML/XML/JSON).

        Raises
        ------
        InputError
            The file is missing, unreadable, or lacks one of K1, D1, K2, D2, R, T.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: calibration file not found")
        suffix = path.suffix.lower()
        if suffix not in CALIBRATION_SUFFIXES:
            raise InputError(
                f"{path}: unknown calibration file type {suffix or '(none)'!r}; "
                f"use one of {', '.join(CALIBRATION_SUFFIXES)}"
            )
        entries = _read_npz(path) if suffix == ".npz" else _read_filestorage(path)
        values: dict[str, np.ndarray] = {}
        for name, spellings in _KEYS.items():
            found = next((entries[key] for key in spellings if key in entries), None)
            if found is None:
                raise InputError(
                    f"{path}: calibration has no {name} (looked for {', '.join(spellings[:3])}); "
                    "expected K1 D1 K2 D2 R T as cv2.stereoCalibrate gives"
                )
            values[name] = np.asarray(found, dtype=np.float64)
        size = _read_size(entries)
        units = entries.get("units")
        units_text = (
            str(units.item() if isinstance(units, np.ndarray) else units)
            if units is not None
            else "m"
        )
        try:
            return cls(
                K1=values["K1"], D1=values["D1"], K2=values["K2"], D2=values["D2"],
                R=values["R"], T=values["T"], image_size=size, units=units_text.strip() or "m",
            )  # fmt: skip
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the calibration atomically as ``.npz`` or OpenCV ``.yml``/``.yaml``/``.xml``/``.json``.

        Examples
        --------
        >>> calib.save("rig.yml")  # doctest: +SKIP
        PosixPath('rig.yml')
        """
        path = check_output_path(path, allowed=CALIBRATION_SUFFIXES)
        size = np.array(self.image_size if self.image_size is not None else (0, 0), dtype=np.int32)
        arrays: dict[str, Any] = {
            "K1": self.K1,
            "D1": self.D1,
            "K2": self.K2,
            "D2": self.D2,
            "R": self.R,
            "T": self.T.reshape(3, 1),
        }
        with atomic_output(path) as temp:
            if path.suffix.lower() == ".npz":
                with open(temp, "wb") as handle:
                    np.savez(handle, image_size=size, units=np.array(self.units), **arrays)
            else:
                # FileStorage picks the format from the name, so give it the real suffix.
                storage = cv2.FileStorage(str(temp), cv2.FILE_STORAGE_WRITE | _format_flag(path))
                for key, value in arrays.items():
                    storage.write(key, np.asarray(value, dtype=np.float64))
                storage.write("image_size", size.reshape(1, 2).astype(np.float64))
                storage.write("units", self.units)
                storage.release()
        return path


def _format_flag(path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return int(cv2.FILE_STORAGE_FORMAT_XML)
    if suffix == ".json":
        return int(cv2.FILE_STORAGE_FORMAT_JSON)
    return int(cv2.FILE_STORAGE_FORMAT_YAML)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except Exception as exc:  # zipfile, pickle and value errors
        raise InputError(
            f"{path}: not a readable .npz calibration ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from exc


def _read_filestorage(path: Path) -> dict[str, np.ndarray]:
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except Exception as exc:  # cv2.error, or SystemError from OpenCV's parser on binary junk
        raise InputError(f"{path}: not a readable OpenCV calibration file (YAML/XML/JSON)") from exc
    if not storage.isOpened():
        raise InputError(f"{path}: not a readable OpenCV calibration file (YAML/XML/JSON)")
    entries: dict[str, np.ndarray] = {}
    try:
        root = storage.root()
        for key in root.keys():  # noqa: SIM118 - a FileNode, not a dict
            node = storage.getNode(key)
            if node.isNone():
                continue
            if node.isMap():  # an !!opencv-matrix is stored as a map
                matrix = node.mat()
                if matrix is not None:
                    entries[key] = matrix
            elif node.isString():
                entries[key] = np.array(node.string())
            elif node.isSeq():
                entries[key] = np.array([node.at(i).real() for i in range(node.size())])
            elif node.isReal() or node.isInt():
                entries[key] = np.array(node.real())
    finally:
        storage.release()
    return entries


def _read_size(entries: dict[str, np.ndarray]) -> tuple[int, int] | None:
    for key in _SIZE_KEYS:
        if key in entries:
            values = np.asarray(entries[key]).ravel()
            if values.size == 2 and values.min() > 0:
                return (int(values[0]), int(values[1]))
    width = entries.get("image_width", entries.get("width"))
    height = entries.get("image_height", entries.get("height"))
    if width is not None and height is not None:
        return (int(np.asarray(width).ravel()[0]), int(np.asarray(height).ravel()[0]))
    return None


def as_calibration(calibration: StereoCalibration | str | os.PathLike[str]) -> StereoCalibration:
    """Accept a :class:`StereoCalibration` or a path to one."""
    if isinstance(calibration, StereoCalibration):
        return calibration
    if isinstance(calibration, (str, os.PathLike)):
        return StereoCalibration.load(calibration)
    raise ParameterError(
        f"calibration must be a StereoCalibration or a file path, got {type(calibration).__name__}"
    )


def calibrate_from_chessboards(
    left_paths: Sequence[str | os.PathLike[str]],
    right_paths: Sequence[str | os.PathLike[str]],
    *,
    pattern: tuple[int, int] = (9, 6),
    square_size: float = 1.0,
    units: str | None = None,
) -> StereoCalibration:
    """Calibrate a stereo rig from photos of a chessboard seen by both cameras.

    Each camera is calibrated on its own, then ``cv2.stereoCalibrate`` finds their relative
    pose with the intrinsics fixed (OpenCV's ``stereo_calib.cpp`` recipe).

    Parameters
    ----------
    left_paths, right_paths : sequences of paths
        Pictures taken at the same moments by the left and right cameras, in the same order.
    pattern : (columns, rows)
        Inner corners of the board.
    square_size : float
        Side of one square, in ``units``. With the default 1.0 distances come out in squares.
    units : str, optional
        Unit of ``square_size``; default "squares" when ``square_size`` is 1, else "m".

    Returns
    -------
    StereoCalibration
        The calibration; its ``rms`` is the stereo RMS reprojection error in pixels.

    Raises
    ------
    InputError
        Fewer than 3 pairs in which the board is found in both pictures, or images of
        different sizes.

    Examples
    --------
    >>> calib = calibrate_from_chessboards(lefts, rights, pattern=(9, 6))  # doctest: +SKIP
    >>> calib.rms < 1.0  # doctest: +SKIP
    True
    """
    if len(left_paths) != len(right_paths):
        raise ParameterError(
            f"left_paths and right_paths must be as many, got {len(left_paths)} and {len(right_paths)}"
        )
    if not square_size > 0:
        raise ParameterError(f"square_size must be > 0, got {square_size}")
    columns, rows = (int(v) for v in pattern)
    if columns < 2 or rows < 2:
        raise ParameterError(f"pattern must be at least (2, 2) inner corners, got {pattern}")
    board = np.zeros((rows * columns, 3), np.float32)
    board[:, :2] = np.mgrid[0:columns, 0:rows].T.reshape(-1, 2) * np.float32(square_size)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)

    object_points: list[np.ndarray] = []
    left_points: list[np.ndarray] = []
    right_points: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    for left_path, right_path in zip(left_paths, right_paths, strict=True):
        corners = []
        for path in (left_path, right_path):
            grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                raise InputError(f"{path}: not a readable image")
            this_size = (grey.shape[1], grey.shape[0])
            if size is None:
                size = this_size
            elif this_size != size:
                raise InputError(
                    f"{path}: is {this_size[0]}x{this_size[1]}, the first picture is {size[0]}x{size[1]}"
                )
            found, points = cv2.findChessboardCorners(grey, (columns, rows))
            if not found:
                break
            corners.append(cv2.cornerSubPix(grey, points, (11, 11), (-1, -1), criteria))
        if len(corners) == 2:
            object_points.append(board)
            left_points.append(corners[0])
            right_points.append(corners[1])
    if len(object_points) < 3 or size is None:
        raise InputError(
            f"the {columns}x{rows} chessboard was found in both pictures of only {len(object_points)} pairs; need 3 or more"
        )

    _, K1, D1, _, _ = cv2.calibrateCamera(object_points, left_points, size, None, None)
    _, K2, D2, _, _ = cv2.calibrateCamera(object_points, right_points, size, None, None)
    rms, K1, D1, K2, D2, R, T, _, _ = cv2.stereoCalibrate(
        object_points, left_points, right_points, K1, D1, K2, D2, size,
        flags=cv2.CALIB_FIX_INTRINSIC, criteria=(cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-6),
    )  # fmt: skip
    chosen_units = units or ("squares" if square_size == 1.0 else "m")
    return StereoCalibration(
        K1=K1, D1=D1, K2=K2, D2=D2, R=R, T=T, image_size=size, units=chosen_units, rms=float(rms)
    )


__all__ = [
    "CALIBRATION_SUFFIXES",
    "StereoCalibration",
    "as_calibration",
    "calibrate_from_chessboards",
]
