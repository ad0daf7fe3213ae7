"""Resampling between the renderer's levels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from depthfx.filters import push_pull
from depthfx.render.defocus.resample import CoarseFill, upsample2_rows, upsample2_within


def composite_in_box(
    level: int, shape: tuple[int, int], box: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Random (3, H, W) planes and alpha at ``level``, zero outside the level-1 ``box``."""
    rng = np.random.default_rng(level)
    factor = 2 ** (level - 1)
    y0, y1, x0, x1 = (value // factor for value in box)
    planes = np.zeros((3, *shape), np.float32)
    alpha = np.zeros(shape, np.float32)
    planes[:, y0:y1, x0:x1] = rng.random((3, y1 - y0, x1 - x0))
    alpha[y0:y1, x0:x1] = rng.random((y1 - y0, x1 - x0))
    return planes, alpha


@pytest.mark.parametrize(
    ("level", "shape", "box"),
    [
        (2, (96, 128), (16, 76, 32, 176)),  # inside
        (3, (48, 64), (0, 192, 0, 256)),  # the whole array
        (2, (96, 128), (176, 192, 224, 256)),  # a corner
    ],
)
def test_running_composite_upsampled_within_its_box_equals_whole_upsampling(
    level: int, shape: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    def whole(plane: np.ndarray) -> np.ndarray:
        height, width = plane.shape
        return cv2.resize(plane, (width * 2, height * 2), interpolation=cv2.INTER_LINEAR)

    planes, alpha = composite_in_box(level, shape, box)
    up_planes, up_alpha = upsample2_within((planes, alpha), box, level)
    np.testing.assert_array_equal(up_planes, np.stack([whole(plane) for plane in planes]))
    np.testing.assert_array_equal(up_alpha, whole(alpha))


@pytest.mark.parametrize(
    ("level", "shape", "box"),
    [
        (2, (96, 128), (16, 76, 32, 176)),  # inside
        (2, (48, 64), (0, 96, 0, 128)),  # the whole array
        (2, (96, 128), (176, 192, 224, 256)),  # a corner
        (3, (48, 64), (40, 120, 8, 200)),
    ],
)
def test_rows_of_the_upsampled_composite_are_those_of_upsampling_it_whole(
    level: int, shape: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    planes, alpha = composite_in_box(level, shape, box)
    whole_planes, whole_alpha = upsample2_within((planes, alpha), box, level)
    height = 2 * shape[0]
    edge = 2 * (box[0] // 2 ** (level - 1))  # the box's first row, upsampled
    for first, last in (
        (0, height),
        (0, 1),
        (5, 6),
        (7, 40),
        (edge - 3, edge + 2),
        (height - 5, height),
    ):
        first, last = max(0, first), min(height, last)
        rows_planes, rows_alpha = upsample2_rows((planes, alpha), box, level, first, last)
        np.testing.assert_array_equal(rows_planes, whole_planes[:, first:last])
        np.testing.assert_array_equal(rows_alpha, whole_alpha[first:last])
    none_planes, none_alpha = upsample2_rows((planes, alpha), None, level, 4, 9)
    assert none_planes.shape == (3, 5, 2 * shape[1]) and not none_planes.any()
    assert not none_alpha.any()


@pytest.mark.parametrize("shape", [(96, 80), (90, 78)])
def test_coarse_fill_rows_are_those_of_the_whole_enlargement(shape: tuple[int, int]) -> None:
    height, width = shape
    rng = np.random.default_rng(8)
    alpha = (rng.random(shape, dtype=np.float32) > 0.6).astype(np.float32)
    pre = rng.random((*shape, 3), dtype=np.float32) * alpha[:, :, None]
    size = ((width + 3) // 4, (height + 3) // 4)
    small = push_pull(
        cv2.resize(pre, size, interpolation=cv2.INTER_AREA),
        cv2.resize(alpha, size, interpolation=cv2.INTER_AREA),
        mode="over",
    )
    whole = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    fill = CoarseFill(pre, alpha)
    for y0, y1 in ((0, height), (0, 1), (5, 6), (7, 33), (40, 64), (height - 3, height)):
        np.testing.assert_array_equal(fill.rows(y0, y1), whole[y0:y1])
