"""Shadows: cast shadows between layers (exact offsets) and ray-marched relighting."""

from __future__ import annotations

import inspect
import math
from dataclasses import fields

import cv2
import numpy as np
import pytest

from depthfx.effects import shadows as shadows_module
from depthfx.effects.shadows import (
    Shadows,
    cast_layer_shadows,
    direction_away_from_light,
    relight_shadows,
    shadow_mask,
)
from depthfx.errors import ParameterError, PresetError
from depthfx.presets import loads_preset


def test_direction_convention() -> None:
    assert direction_away_from_light(0) == pytest.approx((-1.0, 0.0), abs=1e-12)  # from the right
    assert direction_away_from_light(90) == pytest.approx((0.0, 1.0), abs=1e-12)  # from the top
    dx, dy = direction_away_from_light(135)  # from the upper left: falls to the lower right
    assert dx > 0 and dy > 0


@pytest.mark.parametrize(("gap", "length"), [(1.0, 10.0), (0.5, 10.0), (0.25, 16.0)])
def test_cast_shadow_offset_is_proportional_to_the_gap(gap: float, length: float) -> None:
    back = np.ones((60, 60), np.float32)
    card = np.zeros((60, 60), np.float32)
    card[20:30, 20:30] = 1
    (shadow,) = cast_layer_shadows(
        [back, card],
        [back, card],
        [0.0, gap],
        light_angle=90,
        length_px=length,
        softness_px=0,
        opacity=1,
    )
    yy, xx = np.mgrid[:60, :60]
    assert (shadow * yy).sum() / shadow.sum() == pytest.approx(24.5 + gap * length, abs=1e-3)
    assert (shadow * xx).sum() / shadow.sum() == pytest.approx(24.5, abs=1e-3)


def test_shadow_falls_on_the_visible_receiver_with_its_own_gap() -> None:
    # Three layers: background (plane 0), a middle card covering the right half (plane 0.5),
    # a small near card (plane 1). Its shadow is 10 px away on the background, 5 px on the card.
    size = 80
    back = np.ones((size, size), np.float32)
    middle = np.zeros((size, size), np.float32)
    middle[:, 40:] = 1
    near = np.zeros((size, size), np.float32)
    near[10:20, 30:40] = 1
    near[50:60, 30:40] = 1
    alphas = [back, middle, near]
    shadows = cast_layer_shadows(
        [back, middle, near],
        alphas,
        [0.0, 0.5, 1.0],
        light_angle=180,
        length_px=10,
        softness_px=0,
        opacity=1,
    )
    on_near = shadows[1]
    # Caster columns 30..39; on the middle card (x >= 40) the shadow reaches x = 44.
    row = on_near[15]
    assert row[44] == 1.0 and row[45] == 0.0


@pytest.mark.parametrize("sigma", [3.0, 9.0, 17.5])
def test_a_wide_blur_on_a_coarser_grid_matches_the_full_gaussian(sigma: float) -> None:
    mask = np.zeros((203, 317), np.float32)
    mask[60:140, 90:200] = 1
    mask[150:155, 20:300] = 0.7
    expected = cv2.GaussianBlur(
        mask, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_CONSTANT
    )
    blurred = shadows_module._blur(mask, sigma)
    assert blurred.shape == mask.shape and blurred.dtype == np.float32
    assert np.abs(blurred - expected).max() < 4e-3
    # No shift: the same centre of mass.
    rows = np.arange(203)[:, None]
    assert (
        abs((blurred * rows).sum() / blurred.sum() - (expected * rows).sum() / expected.sum())
        < 0.05
    )


def test_shadow_mask_of_a_wall_has_the_exact_length() -> None:
    field = np.zeros((20, 80), np.float32)
    field[:, 50:52] = 12.0  # a wall 12 px high
    mask = shadow_mask(field, light_angle=0, elevation=45, softness=0.01, bias=0)
    row = mask[10]
    # Light from the right at 45 degrees: the wall shades 12 px to its left.
    assert row[40:50].min() == 1.0
    assert row[:37].max() == 0.0 and row[52:].max() == 0.0


def test_lower_light_makes_longer_shadows() -> None:
    field = np.zeros((10, 120), np.float32)
    field[:, 100:104] = 10.0
    high = shadow_mask(field, light_angle=0, elevation=60, softness=0.01, bias=0)[5].sum()
    low = shadow_mask(field, light_angle=0, elevation=20, softness=0.01, bias=0)[5].sum()
    assert low > 3 * high


def test_relight_flat_depth_changes_nothing() -> None:
    image = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32)
    assert np.array_equal(relight_shadows(image, np.ones((30, 40), np.float32)), image)


def test_relight_darkens_only_by_multiplication() -> None:
    image = np.random.default_rng(1).random((40, 60, 3)).astype(np.float32) * 0.8 + 0.1
    nearness = np.zeros((40, 60), np.float32)
    nearness[10:30, 25:35] = 1
    out = relight_shadows(image, nearness, light_angle=0, elevation=30, height=20, opacity=0.7)
    ratio = out / image
    assert ratio.max() <= 1 + 1e-6 and ratio.min() >= 0.3 - 1e-3
    # Per pixel the three channels are scaled alike (a multiply, no colour shift).
    assert np.allclose(ratio[:, :, 0], ratio[:, :, 1], atol=1e-4)
    assert ratio[20, 15, 0] < 0.5 and ratio[20, 50, 0] == pytest.approx(1.0)


def test_relight_large_image_uses_a_working_copy_and_keeps_alpha() -> None:
    image = np.full((700, 900, 4), 0.5, np.float32)
    nearness = np.zeros((700, 900), np.float32)
    nearness[300:400, 400:500] = 1
    out = relight_shadows(image, nearness, light_angle=90, elevation=40, height=10, opacity=1)
    assert out.shape == image.shape and np.all(out[:, :, 3] == 0.5)
    assert out[420, 450, 0] < 0.1 and out[200, 450, 0] == pytest.approx(0.5)  # falls downwards


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("elevation", 0.0),
        ("elevation", 95.0),
        ("opacity", 2.0),
        ("height", -1.0),
        ("softness", 11.0),
    ],
)
def test_relight_bad_options(option: str, value: float) -> None:
    with pytest.raises(ParameterError, match=option):
        relight_shadows(np.zeros((8, 8, 3), np.float32), np.eye(8), **{option: value})  # type: ignore[arg-type]


def test_dataclass() -> None:
    image = np.full((20, 20, 3), 0.5, np.float32)
    nearness = np.zeros((20, 20), np.float32)
    nearness[5:10, 5:10] = 1
    effect = Shadows(light_angle=45, elevation=30, opacity=0.8)
    assert np.array_equal(
        effect.apply(image, nearness),
        relight_shadows(image, nearness, light_angle=45, elevation=30, opacity=0.8),
    )
    assert shadows_module.NAME == "shadows"
    assert math.isfinite(effect.height)


def test_a_bad_option_fails_when_the_options_are_built() -> None:
    with pytest.raises(ParameterError, match=r"opacity must be in 0\.\.1, got 5"):
        Shadows(opacity=5)


def test_the_function_takes_its_defaults_from_the_dataclass() -> None:
    parameters = inspect.signature(relight_shadows).parameters
    assert list(parameters)[2:] == [item.name for item in fields(Shadows)] + ["progress"]
    for item in fields(Shadows):
        assert parameters[item.name].default == item.default, item.name


def test_a_preset_with_a_bad_value_fails_at_load_naming_file_and_line() -> None:
    text = 'version = 1\n\n[[steps]]\neffect = "shadows"\nopacity = 5\n'
    with pytest.raises(PresetError, match=r"^x\.toml:5: step 1 \(shadows\): opacity must be in"):
        loads_preset(text, source="x.toml")


def test_a_preset_written_with_the_former_name_azimuth_still_loads() -> None:
    text = 'version = 1\n[[steps]]\neffect = "shadows"\nazimuth = 160\n'
    chain = loads_preset(text, source="old.toml")
    assert chain.steps[0].effect == Shadows(light_angle=160)
    assert chain.to_dict()["steps"] == [{"effect": "shadows", "light_angle": 160.0}]
    with pytest.raises(PresetError, match=r"^old\.toml:4: .*former name of light_angle"):
        loads_preset(text + "light_angle = 100\n", source="old.toml")
    with pytest.raises(PresetError, match=r"^old\.toml:4: .*light_angle must be in -360\.\.360"):
        loads_preset(text.replace("160", "400"), source="old.toml")


@pytest.mark.parametrize("light_angle", [0.0, 90.0, 135.0, 200.0, -60.0])
def test_relighting_and_cast_shadows_fall_the_same_way(light_angle: float) -> None:
    # One light_angle convention for both: a near block's shadow lies away from the light.
    nearness = np.zeros((80, 80), np.float32)
    nearness[35:45, 35:45] = 1
    relit = relight_shadows(
        np.full((80, 80, 3), 0.5, np.float32),
        nearness,
        light_angle=light_angle,
        elevation=30,
        height=20,
        opacity=1,
        softness=0,
    )[:, :, 0]
    back = np.ones((80, 80), np.float32)
    block = (nearness > 0).astype(np.float32)
    (cast,) = cast_layer_shadows(
        [back, block], [back, block], [0.0, 1.0], light_angle=light_angle, length_px=15,
        softness_px=0, opacity=1,
    )  # fmt: skip
    away = np.array(direction_away_from_light(light_angle))
    for shadow in (relit < 0.25, (cast > 0.5) & (block == 0)):
        rows, cols = np.nonzero(shadow)
        offset = np.array([cols.mean() - 39.5, rows.mean() - 39.5])
        assert rows.size > 20
        assert float(offset @ away) / float(np.linalg.norm(offset)) > 0.95
