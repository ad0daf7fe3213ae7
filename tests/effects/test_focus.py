"""Focus selection: pixels robust to depth edges, depth values, faces, salient subjects."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depthmap import DepthMap
from depthfx.effects.focus import (
    choose_focus,
    find_largest_face,
    find_salient_subject,
    focus_at_pixel,
    parse_focus,
)
from depthfx.errors import ParameterError
from depthfx.image import read_image


def step_depth() -> DepthMap:
    nearness = np.ones((60, 80), np.float32)
    nearness[:, 40:] = 4.0  # right half near
    return DepthMap(nearness)


def test_pixel_inside_a_region_gives_its_nearness() -> None:
    depth = step_depth()
    assert focus_at_pixel(depth, 10, 30) == 1.0
    assert focus_at_pixel(depth, 70, 30) == 4.0


@pytest.mark.parametrize("x", [38, 39, 40, 41])
def test_click_on_a_depth_edge_prefers_the_nearer_side(x: int) -> None:
    assert focus_at_pixel(step_depth(), x, 30) == 4.0


def test_point_outside_the_image_names_the_image_size() -> None:
    with pytest.raises(ParameterError, match="80x60"):
        focus_at_pixel(step_depth(), 80, 10)
    with pytest.raises(ParameterError, match="outside"):
        choose_focus(np.zeros((60, 80, 3), np.float32), step_depth(), (-1, 5))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("auto", "auto"),
        ("12,34", (12.0, 34.0)),
        (" 5 , 6 ", (5.0, 6.0)),
        ("0.25", 0.25),
        (3, 3.0),
        ([1, 2], (1.0, 2.0)),
    ],
)
def test_parse_focus(spec: object, expected: object) -> None:
    assert parse_focus(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["middle", "1,2,3", [1.0], float("nan"), True])
def test_bad_focus_is_refused(spec: object) -> None:
    with pytest.raises(ParameterError):
        parse_focus(spec)  # type: ignore[arg-type]


def test_depth_value_focus_is_used_as_is() -> None:
    choice = choose_focus(np.zeros((60, 80, 3), np.float32), step_depth(), 2.5)
    assert (choice.nearness, choice.method, choice.point) == (2.5, "depth", None)
    assert "nearness 2.5" in choice.describe()


def test_auto_without_face_picks_the_near_central_subject() -> None:
    nearness = np.full((120, 160), 1.0, np.float32)
    nearness[40:90, 60:110] = 5.0  # central near object
    nearness[0:20, 0:20] = 6.0  # a small nearer object in a corner
    depth = DepthMap(nearness)
    x, y = find_salient_subject(depth)
    assert 60 <= x < 110 and 40 <= y < 90
    choice = choose_focus(np.zeros((120, 160, 3), np.float32), depth, "auto")
    assert choice.method == "subject" and choice.nearness == 5.0


def test_no_face_in_plain_texture() -> None:
    rng = np.random.default_rng(0)
    assert find_largest_face(rng.random((120, 160, 3), dtype=np.float32) * 0.2) is None


def test_auto_focuses_on_a_real_face(shared_data: Path) -> None:
    photo = shared_data / "photos" / "mono" / "astronaut.png"
    if not photo.exists():
        pytest.skip("astronaut.png not in the shared data")
    image = read_image(photo).pixels
    face = find_largest_face(image)
    assert face is not None
    x, y, w, h = face
    # The astronaut's face is in the upper middle of the picture (512x512).
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 220
    nearness = np.full(image.shape[:2], 1.0, np.float32)
    nearness[y : y + h, x : x + w] = 3.0
    choice = choose_focus(image, DepthMap(nearness), "auto")
    assert choice.method == "face" and choice.nearness == 3.0


def test_haar_cascade_ships_with_opencv() -> None:
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    assert path.exists()
