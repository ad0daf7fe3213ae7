"""Point clouds: exact geometry of planes, filtering, PLY files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from depthfx.depth.pointcloud import point_cloud, read_ply, write_ply
from depthfx.depthmap import DepthMap
from depthfx.errors import InputError, ParameterError
from depthfx.image import srgb_to_linear


def plane(value: float = 10.0, shape: tuple[int, int] = (5, 7), **kwargs: object) -> DepthMap:
    return DepthMap(np.full(shape, value, np.float32), units="disparity_px", **kwargs)  # type: ignore[arg-type]


def test_metric_plane_is_at_the_right_distance() -> None:
    # focal 50 px, baseline 2 m -> metric_scale 100; disparity 10 px -> 10 m.
    depth = plane(10.0, metric_scale=100.0)
    colors = np.zeros((5, 7, 3), np.uint8)
    points, rgb = point_cloud(depth, colors, focal_px=50.0)
    assert points.shape == (35, 3) and rgb.shape == (35, 3)
    assert np.allclose(points[:, 2], 10.0)
    # Centre pixel (row 2, col 3) is on the optical axis; x grows right, y grows up.
    centre = points[2 * 7 + 3]
    assert np.allclose(centre, [0.0, 0.0, 10.0])
    top_right = points[6]  # row 0, col 6: 3 px right, 2 px up of the centre
    assert np.allclose(top_right, [3 * 10 / 50, 2 * 10 / 50, 10.0])


def test_nearer_pixels_are_closer() -> None:
    nearness = np.full((4, 4), 5.0, np.float32)
    nearness[:, 2:] = 20.0
    points, _ = point_cloud(DepthMap(nearness, units="disparity_px"), np.zeros((4, 4, 3), np.uint8))
    z = points[:, 2].reshape(4, 4)
    assert np.allclose(
        z[:, 2:] * 4, z[:, :2]
    )  # four times the disparity, a quarter of the distance


def test_colours_are_srgb_of_the_photo() -> None:
    linear = np.zeros((5, 7, 3), np.float32)
    linear[..., 0] = 1.0
    linear[..., 1] = srgb_to_linear(np.float32(128 / 255))
    _, rgb = point_cloud(plane(), linear)
    assert tuple(rgb[0]) == (255, 128, 0)


def test_unmeasured_invalid_and_far_points_are_dropped() -> None:
    nearness = np.full((4, 5), 10.0, np.float32)
    nearness[0, 0] = np.nan
    nearness[0, 1] = 0.0
    nearness[0, 2] = 0.01  # almost at infinity
    confidence = np.ones((4, 5), np.float32)
    confidence[3, 4] = 0.0  # filled, not measured
    depth = DepthMap(
        np.nan_to_num(nearness, nan=-1.0),
        confidence=confidence,
        metric_scale=1.0,
        units="disparity_px",
    )
    points, _ = point_cloud(depth, np.zeros((4, 5, 3), np.uint8))
    assert len(points) == 20 - 4
    assert np.allclose(points[:, 2], 0.1)


def test_negative_disparities_of_3d_cameras_give_a_relative_cloud() -> None:
    nearness = np.linspace(-110, -90, 40, dtype=np.float32).reshape(5, 8)
    points, _ = point_cloud(DepthMap(nearness, units="disparity_px"), np.zeros((5, 8, 3), np.uint8))
    assert len(points) >= 38 and np.all(points[:, 2] > 0)
    assert points[0, 2] > points[-1, 2]  # the smallest disparity is the farthest


def test_max_points_subsamples_evenly() -> None:
    points, _ = point_cloud(plane(shape=(20, 30)), np.zeros((20, 30, 3), np.uint8), max_points=100)
    assert len(points) == 100


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="colors must be an"):
        point_cloud(plane(), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ParameterError, match="focal_px must be > 0"):
        point_cloud(plane(), np.zeros((5, 7, 3), np.uint8), focal_px=0.0)
    with pytest.raises(ParameterError, match="max_points"):
        point_cloud(plane(), np.zeros((5, 7, 3), np.uint8), max_points=0)


@pytest.mark.parametrize("binary", [True, False])
def test_ply_round_trip(tmp_path: Path, binary: bool) -> None:
    colors = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    path = tmp_path / "cloud.ply"
    count = write_ply(path, plane(metric_scale=100.0), colors, focal_px=50.0, binary=binary)
    assert count == 35
    text = path.read_bytes()
    assert text.startswith(
        b"ply\nformat " + (b"binary_little_endian" if binary else b"ascii") + b" 1.0\n"
    )
    assert b"element vertex 35\n" in text and b"property uchar red\n" in text
    points, rgb = read_ply(path)
    expected_points, expected_rgb = point_cloud(plane(metric_scale=100.0), colors, focal_px=50.0)
    assert np.allclose(points, expected_points, atol=1e-5)
    assert np.array_equal(rgb, expected_rgb)
    assert [p.name for p in tmp_path.iterdir()] == ["cloud.ply"]  # no temporary file left


def test_ply_path_is_checked_before_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown output extension"):
        write_ply(tmp_path / "cloud.obj", plane(), np.zeros((5, 7, 3), np.uint8))
    source = tmp_path / "in.ply"
    source.write_bytes(b"keep")
    with pytest.raises(InputError, match="overwrite the input"):
        write_ply(source, plane(), np.zeros((5, 7, 3), np.uint8), inputs=(source,))
    assert source.read_bytes() == b"keep"


def test_nothing_usable_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no pixel has a usable depth"):
        write_ply(
            tmp_path / "cloud.ply", plane(0.0, metric_scale=1.0), np.zeros((5, 7, 3), np.uint8)
        )
    assert not (tmp_path / "cloud.ply").exists()
