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
from depthfx.image import read_image, srgb_to_linear


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
        (1, 1.0),
        ([1, 2], (1.0, 2.0)),
    ],
)
def test_parse_focus(spec: object, expected: object) -> None:
    assert parse_focus(spec) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("spec", ["middle", "1,2,3", [1.0], float("nan"), True, 1.5, "-0.1"])
def test_bad_focus_is_refused(spec: object) -> None:
    with pytest.raises(ParameterError):
        parse_focus(spec)  # type: ignore[arg-type]


def test_depth_level_focus_is_on_the_scale_of_preset_masks() -> None:
    # 0 = farthest, 1 = nearest, whatever the depth map's own units (here 1..4).
    image = np.zeros((60, 80, 3), np.float32)
    choice = choose_focus(image, step_depth(), 0.5)
    assert (choice.nearness, choice.method, choice.point) == (2.5, "depth", None)
    assert "nearness 2.5" in choice.describe()
    assert choose_focus(image, step_depth(), 1.0).nearness == 4.0
    assert choose_focus(image, step_depth(), 0.0).nearness == 1.0


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


@pytest.fixture
def astronaut(shared_data: Path) -> np.ndarray:
    """The shared astronaut portrait (512x512), linear light; skips when it is absent."""
    photo = shared_data / "photos" / "mono" / "astronaut.png"
    if not photo.exists():
        pytest.skip("astronaut.png not in the shared data")
    return read_image(photo).pixels


def test_auto_focuses_on_a_real_face(astronaut: np.ndarray) -> None:
    image = astronaut
    face = find_largest_face(image)
    assert face is not None
    x, y, w, h = face
    # The astronaut's face is in the upper middle of the picture (512x512).
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 220
    nearness = np.full(image.shape[:2], 1.0, np.float32)
    nearness[y : y + h, x : x + w] = 3.0
    choice = choose_focus(image, DepthMap(nearness), "auto")
    assert choice.method == "face" and choice.nearness == 3.0


def chart_scene() -> tuple[np.ndarray, DepthMap, np.ndarray]:
    """A colour chart on the far wall, a textured object in front, slightly off-centre."""
    rng = np.random.default_rng(3)
    rows, cols, cell = 150, 200, 10
    patches = rng.random((rows // cell, cols // cell, 3)).astype(np.float32)
    srgb = np.repeat(np.repeat(patches, cell, axis=0), cell, axis=1)
    srgb[::cell] = 0.05  # dark grid lines between the patches, like a chart
    srgb[:, ::cell] = 0.05
    nearness = np.full((rows, cols), 1.0, np.float32)
    near = np.zeros((rows, cols), bool)
    near[60:130, 95:160] = True  # the object, right of centre and low
    srgb[near] = 0.3 + 0.4 * rng.random((int(near.sum()), 3), dtype=np.float32)
    nearness[near] = 4.0
    return srgb_to_linear(srgb), DepthMap(nearness), near


def test_auto_focus_lands_on_the_near_object_in_front_of_a_chart() -> None:
    image, depth, near = chart_scene()
    choice = choose_focus(image, depth, "auto")
    assert choice.method == "subject" and choice.nearness == 4.0
    assert choice.point is not None
    x, y = choice.point
    # Well inside the object, not on its outline.
    assert near[y - 4 : y + 5, x - 4 : x + 5].all()
    assert "subject at" in choice.describe()


def test_textured_region_beats_an_equally_near_flat_one() -> None:
    rng = np.random.default_rng(1)
    image = np.full((100, 200, 3), 0.2, np.float32)
    image[30:70, 120:160] = rng.random((40, 40, 3), dtype=np.float32)  # textured, right
    nearness = np.ones((100, 200), np.float32)
    nearness[30:70, 40:80] = 3.0  # flat grey, left
    nearness[30:70, 120:160] = 3.0
    x, y = find_salient_subject(DepthMap(nearness), image=image)
    assert 120 <= x < 160 and 30 <= y < 70
    # Without the photo both count alike; the tie is broken by position, not texture.
    x_blind, _ = find_salient_subject(DepthMap(nearness))
    assert 40 <= x_blind < 80 or 120 <= x_blind < 160


def test_a_near_floor_does_not_steal_focus_from_the_subject_on_it() -> None:
    rows, cols = 120, 160
    horizon = 70
    nearness = np.full((rows, cols), 1.0, np.float32)
    # The floor comes nearer toward the bottom edge, spanning the full width.
    ramp = np.linspace(2.0, 7.0, rows - horizon, dtype=np.float32)
    nearness[horizon:] = ramp[:, None]
    nearness[25:95, 60:100] = 4.5  # the subject standing on it
    x, y = find_salient_subject(DepthMap(nearness))
    assert 60 <= x < 100 and 25 <= y < 95


def test_flat_depth_focuses_on_the_centre() -> None:
    assert find_salient_subject(DepthMap(np.ones((40, 60), np.float32))) == (30, 20)


def test_chart_false_face_in_the_teddy_example_is_rejected(examples_dir: Path) -> None:
    # The frontal-face cascade alone fires on the colour chart behind the teddy scene.
    image = read_image(examples_dir / "teddy_left.jpg").pixels
    assert find_largest_face(image) is None


def test_teddy_auto_focus_is_on_a_near_subject(shared_data: Path) -> None:
    scene = shared_data / "stereo" / "teddy"
    if not (scene / "gt_disp.png").exists():
        pytest.skip("teddy not in the shared data")
    image = read_image(scene / "left.png").pixels
    raw = np.asarray(cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED))
    known = np.asarray(raw > 0)
    disparity = raw.astype(np.float32) / 4.0
    disparity[~known] = disparity[known].min()
    choice = choose_focus(image, DepthMap(disparity, confidence=known.astype(np.float32)), "auto")
    assert choice.method == "subject"
    # In the nearest 40% of the scene (the chart behind is in the farthest 15%).
    assert float(np.mean(disparity[known] < choice.nearness)) >= 0.6
    assert choice.point is not None
    x, y = choice.point
    assert not (180 < x < 260 and 60 < y < 150)  # the patch of chart that looked like a face


def test_a_face_on_the_farthest_plane_is_not_trusted(astronaut: np.ndarray) -> None:
    image = astronaut
    face = find_largest_face(image)
    assert face is not None
    x, y, w, h = face
    # Depth that puts the face behind everything else: not a face a lens would focus on.
    nearness = np.full(image.shape[:2], 3.0, np.float32)
    nearness[y : y + h, x : x + w] = 1.0
    assert find_largest_face(image, depth=DepthMap(nearness)) is None
    # A depth whose centre blob is nearer (like a portrait) keeps the face.
    yy, xx = np.mgrid[0:512, 0:512].astype(np.float32)
    portrait = np.exp(-((xx - 256) ** 2 + (yy - 200) ** 2) / (2 * 120.0**2)).astype(np.float32)
    choice = choose_focus(image, DepthMap(1.0 + portrait), "auto")
    assert choice.method == "face"
    assert choice.point is not None
    assert x <= choice.point[0] < x + w and y <= choice.point[1] < y + h


def test_grey_photo_skips_the_skin_check(astronaut: np.ndarray) -> None:
    grey = np.repeat(astronaut[:, :, :3].mean(axis=2, keepdims=True), 3, axis=2)
    assert find_largest_face(grey) is not None


def test_haar_cascade_ships_with_opencv() -> None:
    for name in ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml"):
        path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
        assert path.exists()


def test_focus_help_and_error_name_the_same_forms() -> None:
    from depthfx.effects.focus import FOCUS_HELP

    with pytest.raises(ParameterError) as refused:
        parse_focus("middle")
    for form in ("'auto'", "'X,Y'", "depth level 0..1"):
        assert form in FOCUS_HELP and form in str(refused.value), form
