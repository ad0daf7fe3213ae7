"""Z-buffer insertion: an overlay at a depth is hidden where the photo is nearer."""

from __future__ import annotations

import numpy as np
import pytest

from depthfx.effects import insert as insert_module
from depthfx.effects.insert import Insert, insert, place_overlay
from depthfx.errors import InputError, ParameterError
from depthfx.image import write_image


def _scene() -> tuple[np.ndarray, np.ndarray]:
    """Grey far background (nearness 0) with a dark near object (nearness 1) at rows/cols 30..70."""
    image = np.full((100, 100, 3), 0.2, np.float32)
    nearness = np.zeros((100, 100), np.float32)
    nearness[30:70, 30:70] = 1.0
    image[30:70, 30:70] = 0.05
    return image, nearness


def test_overlay_behind_the_object_is_hidden_there_and_visible_elsewhere() -> None:
    image, nearness = _scene()
    sticker = np.zeros((40, 60, 4), np.float32)
    sticker[:, :] = (1.0, 0.0, 0.0, 1.0)  # opaque red, 60 wide x 40 tall
    out = insert(image, nearness, sticker, at=(40, 50), nearness=0.5, feather=0.0)
    region = np.zeros((100, 100), bool)
    region[30:70, 10:70] = True  # where the sticker lands (centre 40,50)
    behind = region & (nearness == 1)
    visible = region & (nearness == 0)
    assert np.array_equal(out[behind], image[behind])
    assert np.allclose(out[visible], (1.0, 0.0, 0.0))
    assert np.array_equal(out[~region], image[~region])


def test_soft_occlusion_edge_follows_the_photo() -> None:
    image, nearness = _scene()
    sticker = np.ones((40, 60, 3), np.float32)
    out = insert(image, nearness, sticker, at=(40, 50), nearness=0.5, feather=3.0)
    assert np.abs(out[50, 50] - image[50, 50]).max() < 0.02  # deep behind the object
    assert np.abs(out[50, 15] - 1.0).max() < 0.02  # well away from it
    # Along the boundary the coverage changes over a few pixels, not a hard stair.
    ramp = out[50, 20:40, 0]
    assert np.all(np.diff(ramp) <= 1e-4)


def test_overlay_in_front_covers_everything() -> None:
    image, nearness = _scene()
    sticker = np.ones((40, 60, 3), np.float32)
    out = insert(image, nearness, sticker, at=(40, 50), nearness=1.0, feather=0.0)
    assert np.allclose(out[30:70, 10:70], 1.0)


def test_overlay_transparency_and_top_left_anchor() -> None:
    sticker = np.zeros((4, 4, 4), np.float32)
    sticker[1:3, 1:3] = (0.0, 1.0, 0.0, 1.0)
    canvas = place_overlay(sticker, (10, 10), x=2, y=5, anchor="top-left")
    assert np.argwhere(canvas[:, :, 3] > 0.5).tolist() == [[6, 3], [6, 4], [7, 3], [7, 4]]
    image = np.full((10, 10, 3), 0.3, np.float32)
    out = insert(
        image, np.zeros((10, 10), np.float32), sticker, at=(2, 5), anchor="top-left", nearness=0.0
    )
    assert np.allclose(out[6, 3], (0.0, 1.0, 0.0))
    assert np.allclose(out[5, 2], 0.3)  # transparent part of the overlay


def test_scaled_overlay_lands_centred() -> None:
    sticker = np.ones((10, 10, 3), np.float32)
    canvas = place_overlay(sticker, (50, 50), x=25, y=25, scale=2.0)
    rows, cols = np.nonzero(canvas[:, :, 3] > 0.5)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (15, 34, 15, 34)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("nearness", 1.5, "nearness must be in 0..1"),
        ("scale", 0.0, "scale must be in"),
        ("feather", -1.0, "feather must be in 0..5"),
        ("anchor", "middle", "anchor must be"),
    ],
)
def test_bad_options(option: str, value: object, message: str) -> None:
    image, nearness = _scene()
    options: dict[str, object] = {"at": (10, 10), "nearness": 0.5, option: value}
    with pytest.raises(ParameterError, match=message):
        insert(image, nearness, np.ones((4, 4, 3), np.float32), **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"nearness": 1.5}, r"^nearness must be in 0\.\.1, got 1\.5"),
        ({"at": (float("nan"), 1)}, r"^at must be X,Y"),
        ({"at": "12"}, r"^at must be X,Y"),
        ({"at": (1, 2, 3)}, r"^at must be X,Y"),
        ({"anchor": "middle"}, r"^anchor must be one of center, top-left"),
        ({"scale": 0}, r"^scale must be in 0\.01\.\.100"),
        ({"feather": 6.0}, r"^feather must be in 0\.\.5"),
        ({"overlay": 3}, r"^overlay: expected a float array"),
    ],
)
def test_bad_option_fails_when_the_dataclass_is_built(options: dict, pattern: str) -> None:
    settings = {"overlay": "logo.png", "at": (10, 10), "nearness": 0.5, **options}
    with pytest.raises(ParameterError, match=pattern):
        Insert(**settings)


def test_bad_preset_step_fails_when_loaded() -> None:
    from depthfx.errors import PresetError
    from depthfx.presets import loads_preset

    text = "\n".join(
        ["version = 1", "[[steps]]", 'effect = "insert"', 'overlay = "logo.png"', "at = [5, 5]"]
    )
    text += "\nnearness = 2\n"
    with pytest.raises(PresetError, match=r"^bad\.toml:6: .*nearness must be in 0\.\.1"):
        loads_preset(text, source="bad.toml")
    step = loads_preset(text.replace("nearness = 2", "nearness = 1")).steps[0]
    assert step.effect == Insert(overlay="logo.png", at=(5.0, 5.0), nearness=1.0)


def test_dataclass_reads_the_overlay_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image, nearness = _scene()
    sticker = np.zeros((20, 20, 4), np.float32)
    sticker[:, :] = (0.0, 0.0, 1.0, 1.0)
    path = write_image(tmp_path / "sticker.png", sticker)
    out = Insert(overlay=str(path), at=(15, 15), nearness=0.5).apply(image, nearness)
    assert np.allclose(out[10, 10], (0.0, 0.0, 1.0), atol=1e-3)
    assert insert_module.NAME == "insert"
    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(InputError):
        Insert(overlay=str(bad), at=(1, 1), nearness=0.5).apply(image, nearness)


def test_real_scene_overlay_tucks_behind_the_near_objects(shared_data) -> None:  # type: ignore[no-untyped-def]
    from depthfx.depthmap import DepthMap
    from depthfx.image import read_image

    disparity = np.load(
        shared_data / "photos" / "pairs" / "skimage_motorcycle" / "motorcycle_disp.npz"
    )["arr_0"]
    nearness = np.where(
        np.isfinite(disparity), disparity, np.nanmin(disparity[np.isfinite(disparity)])
    )
    depth = DepthMap(nearness.astype(np.float32), units="disparity_px")
    photo = read_image(
        shared_data / "photos" / "pairs" / "skimage_motorcycle" / "motorcycle_left.png"
    )
    banner = np.ones((120, 700, 3), np.float32)
    out = insert(photo.pixels, depth, banner, at=(370, 250), nearness=0.5)
    normalized = depth.normalized()
    band = np.zeros(normalized.shape, bool)
    band[200:300, 40:700] = True
    hidden = band & (normalized > 0.7)
    shown = band & (normalized < 0.3)
    assert hidden.sum() > 1000 and shown.sum() > 1000
    assert np.median(np.abs(out[hidden] - photo.pixels[hidden]).max(axis=1)) < 0.01
    assert np.median(out[shown].min(axis=1)) > 0.98
