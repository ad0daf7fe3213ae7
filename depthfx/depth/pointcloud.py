"""Coloured 3-D point clouds (PLY) from a depth map, as OpenCV's ``stereo_match.py`` writes.

Every pixel with a usable depth becomes a vertex ``x y z red green blue``: ``z`` along the
optical axis, ``x`` to the right, ``y`` up (the sample's convention, so MeshLab and Open3D
show the scene upright). With a metric scale (a calibration, or ``--baseline`` and
``--focal``) the coordinates are in metres (or the calibration's unit); otherwise they are
relative (a baseline of 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..depthmap import DepthMap, as_depthmap
from ..errors import InputError, ParameterError
from ..image import atomic_output, check_output_path, to_display

# OpenCV's stereo_match.py sample guesses the focal length as 0.8 x the image width.
_DEFAULT_FOCAL_FACTOR = 0.8
# Points nearer than this share of the nearness range are "far" (sky, infinity) and dropped:
# a tiny disparity puts them at an enormous, meaningless distance.
_FAR_FRACTION = 0.02


def point_cloud(
    depth: DepthMap | np.ndarray,
    colors: np.ndarray,
    *,
    focal_px: float | None = None,
    max_points: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """3-D points and their colours for every pixel with a usable depth.

    Parameters
    ----------
    depth : DepthMap or ndarray (H, W)
        Nearness (disparity in pixels for stereo). Pixels with nearness <= 0, non-finite
        values, confidence 0 (filled, not measured) or nearly infinite distance are dropped.
    colors : ndarray (H, W, 3)
        The photo: float linear light (as ``Photo.pixels``) or 8-bit sRGB.
    focal_px : float, optional
        Focal length in pixels of the depth map's grid; 0.8 x width when unknown.
    max_points : int, optional
        Keep at most this many points (an even subsample).

    Returns
    -------
    points : ndarray (N, 3) float32
        x (right), y (up), z (forward); metric when ``depth.metric_scale`` is known.
    rgb : ndarray (N, 3) uint8
        sRGB colours.

    Examples
    --------
    >>> depth = DepthMap(np.full((2, 3), 10.0, np.float32), metric_scale=100.0)
    >>> points, rgb = point_cloud(depth, np.zeros((2, 3, 3), np.uint8), focal_px=50.0)
    >>> points.shape, float(points[0, 2])  # 100 / 10 = 10 m away
    ((6, 3), 10.0)
    """
    depth = as_depthmap(depth)
    height, width = depth.shape
    _check_colors(colors, (height, width))
    if focal_px is not None and not focal_px > 0:
        raise ParameterError(f"focal_px must be > 0 (pixels), got {focal_px}")
    if max_points is not None and max_points < 1:
        raise ParameterError(f"max_points must be >= 1, got {max_points}")
    focal = float(focal_px) if focal_px is not None else _DEFAULT_FOCAL_FACTOR * width

    nearness = _positive_nearness(depth)
    usable = np.isfinite(nearness) & (nearness > 0)
    if depth.confidence is not None:
        measured = usable & (depth.confidence > 0)
        if measured.sum() >= 0.1 * usable.sum():  # keep fills when almost nothing was measured
            usable = measured
    if usable.any():
        far_limit = _FAR_FRACTION * _percentile(nearness[usable], 99)
        usable &= nearness > far_limit
    rows, cols = np.nonzero(usable)
    if max_points is not None and rows.size > max_points:
        keep = np.linspace(0, rows.size - 1, max_points).round().astype(np.int64)
        rows, cols = rows[keep], cols[keep]

    # Stereo: z = focal * baseline / disparity; metric_scale already is focal * baseline.
    scale = depth.metric_scale if depth.metric_scale is not None else focal
    z = np.float32(scale) / nearness[rows, cols]
    x = (cols.astype(np.float32) - np.float32((width - 1) / 2.0)) * z / np.float32(focal)
    y = -(rows.astype(np.float32) - np.float32((height - 1) / 2.0)) * z / np.float32(focal)
    points = np.stack([x, y, z], axis=1).astype(np.float32, copy=False)
    return points, _colors_at(colors, rows, cols)


def write_ply(
    path: str | os.PathLike[str],
    depth: DepthMap | np.ndarray,
    colors: np.ndarray,
    *,
    focal_px: float | None = None,
    max_points: int | None = None,
    binary: bool = True,
    inputs: tuple[str | os.PathLike[str], ...] = (),
) -> int:
    """Write a coloured point cloud as a PLY file, atomically.

    Parameters
    ----------
    path : path
        Output ``.ply`` file.
    depth, colors, focal_px, max_points
        As :func:`point_cloud`.
    binary : bool
        Binary little-endian (default, compact) or ASCII PLY.
    inputs : paths
        Files that must not be overwritten.

    Returns
    -------
    int
        Number of points written.

    Raises
    ------
    InputError
        The path does not end in ``.ply``, its folder is missing, or it is an input;
        or no pixel has a usable depth.

    Examples
    --------
    >>> depth = stereo_depth(left, right)  # doctest: +SKIP
    >>> write_ply("scene.ply", depth, left)  # doctest: +SKIP
    301577
    """
    path = check_output_path(path, allowed=(".ply",), inputs=inputs)
    points, rgb = point_cloud(depth, colors, focal_px=focal_px, max_points=max_points)
    if len(points) == 0:
        raise InputError(f"{path}: no pixel has a usable depth, nothing to write")
    header = "\n".join(
        [
            "ply",
            f"format {'binary_little_endian' if binary else 'ascii'} 1.0",
            "comment written by depthfx",
            f"element vertex {len(points)}",
            "property float x",
            "property float y",
            "property float z",
            "property uchar red",
            "property uchar green",
            "property uchar blue",
            "end_header",
        ]
    )
    with atomic_output(path) as temp, open(temp, "wb") as handle:
        handle.write(header.encode("ascii") + b"\n")
        if binary:
            record = np.dtype([("xyz", "<f4", (3,)), ("rgb", "u1", (3,))])
            vertices = np.empty(len(points), dtype=record)
            vertices["xyz"] = points
            vertices["rgb"] = rgb
            handle.write(vertices.tobytes())
        else:
            for (x, y, z), (r, g, b) in zip(points.tolist(), rgb.tolist(), strict=True):
                handle.write(f"{x:.6g} {y:.6g} {z:.6g} {r} {g} {b}\n".encode("ascii"))
    return len(points)


def read_ply(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read back a PLY written by :func:`write_ply` (points (N, 3) float32, colours (N, 3) uint8)."""
    data = Path(path).read_bytes()
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        raise InputError(f"{path}: not a PLY file")
    header = data[:end].decode("ascii").splitlines()
    count = next(int(line.split()[2]) for line in header if line.startswith("element vertex"))
    body = data[end + len(b"end_header\n") :]
    if any("binary_little_endian" in line for line in header):
        record = np.dtype([("xyz", "<f4", (3,)), ("rgb", "u1", (3,))])
        vertices = np.frombuffer(body, dtype=record, count=count)
        return vertices["xyz"].copy(), vertices["rgb"].copy()
    table = np.loadtxt(body.decode("ascii").splitlines(), ndmin=2)
    return table[:, :3].astype(np.float32), table[:, 3:6].astype(np.uint8)


def _positive_nearness(depth: DepthMap) -> np.ndarray:
    """Nearness as a positive disparity-like value.

    3-D cameras shift their frames, so their disparities carry an unknown offset and are
    often negative. Without a metric scale the cloud is relative anyway: such maps are
    shifted so the farthest point (1st percentile) sits at a tenth of the nearest's
    disparity, i.e. ten times as far. Metric maps are used as they are.
    """
    nearness = depth.nearness
    finite = nearness[np.isfinite(nearness)]
    if depth.metric_scale is not None or finite.size == 0:
        return nearness
    low, high = (float(v) for v in np.percentile(finite, [1, 99]))
    if low > 0 or not high > low:
        return nearness
    offset = low - (high - low) / 9.0  # after the shift, low -> (high - low) / 9, high -> 10x that
    return (nearness - np.float32(offset)).astype(np.float32)


def _percentile(values: np.ndarray, q: float) -> float:
    # A regular subsample is plenty for a cut-off and saves sorting 12 million values.
    step = max(1, values.size // 200_000)
    return float(np.percentile(values[::step], q))


def _check_colors(colors: np.ndarray, shape: tuple[int, int]) -> None:
    array = np.asarray(colors)
    if (
        array.ndim not in (2, 3)
        or array.shape[:2] != shape
        or (array.ndim == 3 and array.shape[2] not in (3, 4))
    ):
        raise InputError(
            f"colors must be an (H, W, 3) image of the depth map's size {shape}, got {array.shape}"
        )
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"colors must be float linear light or uint8 sRGB, got {array.dtype}")


def _colors_at(colors: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """sRGB 8-bit colours of the chosen pixels only (not the whole 12 MP photo)."""
    array = np.asarray(colors)
    height, width = array.shape[:2]
    flat = array.reshape(height * width, -1)
    picked = np.take(flat, rows * width + cols, axis=0)
    if picked.shape[1] == 1:
        picked = np.repeat(picked, 3, axis=1)
    picked = picked[:, :3]
    if array.dtype == np.uint8:
        return np.ascontiguousarray(picked)
    return to_display(picked[:, None, :].astype(np.float32, copy=False))[:, 0, :]


__all__ = ["point_cloud", "read_ply", "write_ply"]
