"""Depth layers: thresholds, edge-aware alpha, inpainted layers, exact recomposition, cast shadows."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import fields

import cv2
import numpy as np
import pytest

from depthfx.depthmap import DepthMap
from depthfx.effects import layers as layers_module
from depthfx.effects.layers import (
    Layers,
    composite_layers,
    depth_thresholds,
    layers,
    push_pull_fill,
    split_layers,
)
from depthfx.errors import ParameterError, PresetError
from depthfx.presets import loads_preset


def _square_scene(size: int = 100, top: int = 40, side: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A flat grey background (nearness 0) and a square card floating in front (nearness 1)."""
    image = np.full((size, size, 3), 0.5, np.float32)
    nearness = np.zeros((size, size), np.float32)
    nearness[top : top + side, top : top + side] = 1.0
    return image, nearness


# --------------------------------------------------------------------------- thresholds


def test_quantile_thresholds_give_layers_of_equal_area() -> None:
    nearness = np.tile(np.arange(100, dtype=np.float32), (10, 1))
    thresholds = depth_thresholds(nearness, count=4, split="quantiles")
    labels = np.searchsorted(thresholds, nearness, side="right")
    assert np.bincount(labels.ravel()).tolist() == [250, 250, 250, 250]


def test_gap_thresholds_fall_in_the_histogram_gaps() -> None:
    rng = np.random.default_rng(0)
    # Three clusters of depth with empty stretches between them; unequal sizes, so
    # quantiles would cut inside the biggest cluster.
    values = np.concatenate(
        [rng.uniform(0, 1, 6000), rng.uniform(3, 4, 1500), rng.uniform(8, 9, 2500)]
    )
    nearness = values.astype(np.float32).reshape(100, 100)
    thresholds = depth_thresholds(nearness, count=3, split="gaps")
    assert 1 < thresholds[0] < 3
    assert 4 < thresholds[1] < 8
    quantiles = depth_thresholds(nearness, count=3, split="quantiles")
    assert quantiles[0] < 1  # inside the first cluster: not a gap


def test_thresholds_never_leave_a_layer_empty_with_ties() -> None:
    nearness = np.array([[0, 0, 0, 0, 0, 0, 0, 0, 1, 2]], np.float32)
    for split in ("quantiles", "gaps"):
        thresholds = depth_thresholds(nearness, count=3, split=split)  # type: ignore[arg-type]
        labels = np.searchsorted(thresholds, nearness, side="right")
        assert sorted(set(labels.ravel().tolist())) == [0, 1, 2]


@pytest.mark.parametrize("count", [1, 0, 4, 40])
def test_count_outside_the_depth_resolution_is_refused(count: int) -> None:
    nearness = np.array([[0, 1, 2]], np.float32)  # three distinct values
    with pytest.raises(ParameterError, match=r"count must be in 2\.\.3"):
        depth_thresholds(nearness, count=count)


def test_flat_depth_has_no_layers() -> None:
    with pytest.raises(ParameterError, match="flat"):
        split_layers(np.zeros((8, 8, 3), np.float32), np.ones((8, 8), np.float32), count=2)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("count", 1, "count must be in 2..32"),
        ("split", "kmeans", "split must be"),
        ("feather", 6.0, "feather must be in 0..5"),
        ("shadow_opacity", 1.5, "shadow_opacity must be in 0..1"),
        ("shadow_length", -1.0, "shadow_length must be in 0..50"),
        ("shadow_color", "purple-ish", "shadow_color must be a name"),
        ("light_angle", float("nan"), "light_angle must be a finite number"),
    ],
)
def test_bad_options_name_the_option(option: str, value: object, message: str) -> None:
    image, nearness = _square_scene(20, 5, 5)
    with pytest.raises(ParameterError, match=message) as info:
        split_layers(image, nearness, **{option: value})  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_a_bad_option_fails_when_the_options_are_built() -> None:
    with pytest.raises(ParameterError, match=r"count must be in 2\.\.32 layers, got 1"):
        Layers(count=1)


def test_a_preset_with_a_bad_value_fails_at_load_naming_file_and_line() -> None:
    text = 'version = 1\n\n[[steps]]\neffect = "layers"\nsplit = "gaps"\ncount = 1\n'
    with pytest.raises(PresetError, match=r"^x\.toml:6: step 1 \(layers\): count must be in 2"):
        loads_preset(text, source="x.toml")


@pytest.mark.parametrize("function", [layers, split_layers])
def test_the_functions_take_their_defaults_from_the_dataclass(function) -> None:  # type: ignore[no-untyped-def]
    keywords = {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "progress"
    }
    assert keywords == {item.name: item.default for item in fields(Layers)}


def test_shadow_color_takes_every_colour_spelling() -> None:
    image, nearness = _square_scene(40, 10, 10)
    options = {"count": 2, "shadow_opacity": 1.0, "feather": 0}
    black = layers(image, nearness, **options)  # type: ignore[arg-type]
    assert black.min() < 0.1  # the shadows are there
    assert np.array_equal(layers(image, nearness, shadow_color="black", **options), black)  # type: ignore[arg-type]
    # A white shadow multiplies by one: the photo comes back unchanged.
    assert np.array_equal(layers(image, nearness, shadow_color="white", **options), image)  # type: ignore[arg-type]
    assert np.array_equal(
        layers(image, nearness, shadow_color=(1, 1, 1), **options),  # type: ignore[arg-type]
        layers(image, nearness, shadow_color="#fff", **options),  # type: ignore[arg-type]
    )
    assert Layers(shadow_color=[0, 0.5, 1]).shadow_color == (0.0, 0.5, 1.0)


# --------------------------------------------------------------------------- layers


def test_recomposing_the_layers_gives_the_photo_back_exactly() -> None:
    rng = np.random.default_rng(1)
    image = rng.random((60, 80, 3)).astype(np.float32)
    yy, xx = np.mgrid[:60, :80]
    nearness = ((xx // 20) + (yy > 30)).astype(np.float32)  # 5 steps
    stack = split_layers(image, nearness, count=5, feather=3.0, shadow_opacity=0)
    assert [layer.kind for layer in stack] == ["depth"] * 5
    assert np.abs(composite_layers(stack) - image).max() < 1e-5


def test_layers_are_ordered_back_to_front_with_ranges_and_planes() -> None:
    image, nearness = _square_scene()
    nearness = nearness + np.linspace(0, 0.2, 100, dtype=np.float32)[None, :] * (nearness == 0)
    stack = [layer for layer in split_layers(image, nearness, count=3) if layer.kind == "depth"]
    lows = [layer.nearness_range[0] for layer in stack if layer.nearness_range]
    planes = [layer.plane for layer in stack]
    assert lows == sorted(lows) and len(lows) == 3
    assert planes == sorted(planes)  # type: ignore[type-var]
    assert stack[0].alpha.min() == 1.0  # the farthest layer is opaque everywhere


def test_hidden_background_is_filled_from_the_layer_itself() -> None:
    image = np.zeros((60, 60, 3), np.float32)
    image[:, :, 0] = 0.8  # red background
    nearness = np.zeros((60, 60), np.float32)
    nearness[20:40, 20:40] = 1
    image[20:40, 20:40] = (0.0, 0.0, 0.9)  # blue card in front
    stack = split_layers(image, nearness, count=2, shadow_opacity=0, feather=1.0)
    background = stack[0].rgba
    # Behind the card the background layer holds red, not the card's blue: no hole, no ghost.
    assert background[30, 30, 0] > 0.7 and background[30, 30, 2] < 0.1
    assert background[:, :, 3].min() == 1.0
    card = stack[1].rgba
    assert card[30, 30, 3] == 1.0 and card[5, 5, 3] == 0.0


def test_alpha_follows_the_photo_edge_not_the_blocky_depth() -> None:
    size = 128
    yy, xx = np.mgrid[:size, :size]
    disk = ((yy - 64) ** 2 + (xx - 60) ** 2 < 35**2).astype(np.float32)
    image = np.where(
        disk[:, :, None] > 0, np.float32([0.8, 0.6, 0.2]), np.float32([0.05, 0.1, 0.3])
    )
    # Depth known only at 1/8 of the resolution: its edge is a staircase.
    coarse = cv2.resize(disk, (size // 8, size // 8), interpolation=cv2.INTER_AREA)
    blocky = (cv2.resize(coarse, (size, size), interpolation=cv2.INTER_NEAREST) > 0.5).astype(
        np.float32
    )
    stack = split_layers(image.astype(np.float32), blocky, count=2, feather=3.0, shadow_opacity=0)
    own = stack[1].alpha  # no nearer layer, so its alpha is its own shape
    error_depth = np.abs(blocky - disk).mean()
    error_alpha = np.abs(own - disk).mean()
    assert error_alpha < 0.4 * error_depth


def test_push_pull_fill_keeps_known_pixels_and_fills_any_hole() -> None:
    rng = np.random.default_rng(2)
    rgb = rng.random((33, 47, 3)).astype(np.float32)
    known = np.ones((33, 47), np.float32)
    known[5:30, 10:40] = 0
    filled = push_pull_fill(rgb, known)
    assert np.array_equal(filled[known == 1], rgb[known == 1])
    assert np.isfinite(filled).all()
    assert filled[known == 0].min() >= 0 and filled[known == 0].max() <= 1
    # A constant colour around the hole is continued exactly.
    flat = np.full_like(rgb, 0.3)
    assert np.allclose(push_pull_fill(flat, known), 0.3, atol=1e-5)


# --------------------------------------------------------------------------- cast shadows


@pytest.mark.parametrize("light_angle", [0.0, 90.0, 135.0, 210.0])
def test_square_card_casts_a_shadow_offset_by_the_expected_amount(light_angle: float) -> None:
    image, nearness = _square_scene()
    length = 12.0  # % of the diagonal for the whole depth range; the card spans all of it
    stack = split_layers(
        image,
        nearness,
        count=2,
        feather=0,
        light_angle=light_angle,
        shadow_length=length,
        shadow_softness=0,
        shadow_opacity=1.0,
    )
    shadow = next(layer for layer in stack if layer.kind == "shadow").alpha
    distance = length / 100 * math.hypot(100, 100)  # 16.97 px
    expected_x = 49.5 - math.cos(math.radians(light_angle)) * distance
    expected_y = 49.5 + math.sin(math.radians(light_angle)) * distance
    yy, xx = np.mgrid[:100, :100]
    total = shadow.sum()
    assert total == pytest.approx(400, rel=1e-3)  # the whole 20x20 card, moved
    assert (shadow * xx).sum() / total == pytest.approx(expected_x, abs=0.05)
    assert (shadow * yy).sum() / total == pytest.approx(expected_y, abs=0.05)


def test_soft_shadow_keeps_its_position_and_darkens_in_linear_light() -> None:
    image, nearness = _square_scene()
    out = layers(
        image,
        nearness,
        count=2,
        feather=0,
        light_angle=180,  # from the left: the shadow falls to the right
        shadow_length=10,
        shadow_softness=2,
        shadow_opacity=0.6,
    )
    offset = 0.1 * math.hypot(100, 100)
    darkening = 1 - out[:, :, 0] / 0.5
    darkening[40:60, 40:60] = 0  # the card itself is not shadowed
    _yy, xx = np.mgrid[:100, :100]
    assert (darkening * xx).sum() / darkening.sum() > 49.5 + 0.5 * offset
    # Multiply in linear light: at most the opacity, never brighter.
    assert darkening.max() == pytest.approx(0.6, abs=0.01)
    assert out.max() <= 0.5 + 1e-6
    # Far from the card nothing changes.
    assert out[5, 5, 0] == pytest.approx(0.5) and out[95, 5, 0] == pytest.approx(0.5)


def test_a_cut_through_a_continuous_slope_throws_no_shadow() -> None:
    image = np.full((80, 120, 3), 0.5, np.float32)
    nearness = np.tile(np.linspace(0, 1, 120, dtype=np.float32), (80, 1))  # a ramp
    out = layers(image, nearness, count=4, light_angle=0, shadow_opacity=1.0, shadow_length=6)
    assert np.abs(out - image).max() < 0.02


def test_shadow_colour_tints_towards_the_colour() -> None:
    image, nearness = _square_scene()
    out = layers(
        image,
        nearness,
        count=2,
        feather=0,
        light_angle=180,
        shadow_length=10,
        shadow_softness=0,
        shadow_opacity=1.0,
        shadow_color="#0000ff",
    )
    shadowed = out[50, 64]
    assert shadowed[0] == pytest.approx(0.0, abs=1e-6) and shadowed[2] == pytest.approx(0.5)


def test_dataclass_matches_function_and_keeps_alpha() -> None:
    image, nearness = _square_scene(40, 10, 10)
    rgba = np.dstack([image, np.full((40, 40), 0.5, np.float32)])
    effect = Layers(count=2, shadow_opacity=0.7)
    out = effect.apply(rgba, nearness)
    assert out.shape == (40, 40, 4) and np.all(out[:, :, 3] == 0.5)
    assert np.array_equal(out, layers(rgba, nearness, count=2, shadow_opacity=0.7))
    assert layers_module.NAME == "layers"
    assert json.dumps({"shadow_color": effect.shadow_color, "count": effect.count})


# --------------------------------------------------------------------------- flat composite


def _textured_scene(height: int = 150, width: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """A textured photo with nested cards and a receding floor: soft, overlapping cuts."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    image = rng.random((height, width, 3)).astype(np.float32) * 0.3 + 0.35
    nearness = 0.3 * yy / height
    for centre, radius, level in (((60, 70), 45, 0.6), ((75, 90), 22, 0.8), ((140, 60), 30, 1.0)):
        card = (xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 < radius**2
        nearness = np.where(card, level, nearness)
        image[card] = image[card] * 0.5 + np.float32(level) * 0.4
    return image, nearness.astype(np.float32)


FLAT_CASES = {
    "shadows": {},
    "no shadows": {"shadow_opacity": 0.0},
    "tinted": {"shadow_color": "#3060c0", "shadow_opacity": 0.9, "count": 5},
    "grey tint, sharp": {"shadow_color": (0.4, 0.4, 0.4), "shadow_softness": 0.0},
    "hard cuts": {"feather": 0.0, "extend": 0.0},
    # Wide feather and reach: the subsampled guided filter and the coarse reach grid.
    "wide": {"feather": 4.0, "extend": 90.0, "light_angle": 20.0, "shadow_length": 20.0},
    "gaps": {"split": "gaps", "count": 3, "light_angle": -90.0},
}


@pytest.mark.parametrize("case", FLAT_CASES)
@pytest.mark.parametrize("shadow_side", [1280, 90])  # 90: shadows on a smaller copy
def test_flat_composite_equals_the_composite_of_the_stack(
    case: str, shadow_side: int, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(layers_module, "_SHADOW_SIDE", shadow_side)
    image, nearness = _textured_scene()
    effect = Layers(**FLAT_CASES[case])  # type: ignore[arg-type]
    stack = effect.layer_stack(image, nearness)
    flat = effect.apply(image, nearness)
    assert flat.shape == image.shape and flat.dtype == np.float32
    assert np.abs(flat - composite_layers(stack)).max() < 1e-5
    if effect.shadow_opacity > 0:
        assert (flat < image - 0.02).any()  # the shadows are there
    else:
        assert np.array_equal(flat, image)


def test_flat_composite_keeps_the_alpha_channel_of_the_input() -> None:
    image, nearness = _textured_scene(90, 120)
    alpha = np.linspace(0, 1, 120, dtype=np.float32)[None, :].repeat(90, axis=0)
    effect = Layers(count=3, shadow_color="#802010")
    flat = effect.apply(np.dstack([image, alpha]), nearness)
    assert flat.shape == (90, 120, 4) and np.array_equal(flat[:, :, 3], alpha)
    expected = composite_layers(effect.layer_stack(image, nearness))
    assert np.abs(flat[:, :, :3] - expected).max() < 1e-5


@pytest.mark.parametrize("shadow_opacity", [0.5, 0.0])
def test_flat_composite_can_be_written_over_the_photo(shadow_opacity: float) -> None:
    image, nearness = _textured_scene(90, 120)
    effect = Layers(count=3, shadow_opacity=shadow_opacity)
    expected = effect.apply(image, nearness)
    photo = image.copy()
    written = effect.apply(photo, nearness, out=photo)
    assert written is photo and np.array_equal(photo, expected)
    with pytest.raises(ParameterError, match="out: expected a"):
        effect.apply(image, nearness, out=np.empty((90, 120, 3), np.float64))


def test_flat_composite_reports_its_stages_in_order() -> None:
    image, nearness = _textured_scene(60, 80)
    seen: list[tuple[str, float]] = []
    Layers(count=3).apply(image, nearness, progress=lambda stage, done: seen.append((stage, done)))
    stages = [stage for stage, _ in seen]
    assert stages[0] == "cutting layers" and stages[-1] == "done"
    assert {"casting shadows", "composing"} <= set(stages)
    fractions = [done for _, done in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_flat_composite_refuses_what_the_stack_refuses() -> None:
    image, nearness = _textured_scene(40, 50)
    with pytest.raises(ParameterError, match="count must be in 2"):
        Layers(count=9, shadow_opacity=0).apply(image, (nearness > 0.5).astype(np.float32))


def test_layer_planes_come_from_the_depth_histogram() -> None:
    rng = np.random.default_rng(4)
    nearness = np.round(rng.random((50, 60)) * 40).astype(np.float32) / 4
    depth = DepthMap(nearness)
    stack = split_layers(np.full((50, 60, 3), 0.5, np.float32), depth, count=4)
    labels = np.searchsorted(depth_thresholds(nearness, count=4), nearness, side="right")
    normalized = depth.normalized()
    planes = [layer.plane for layer in stack if layer.kind == "depth"]
    assert planes == [float(np.median(normalized[labels == k])) for k in range(4)]
    ranges = [layer.nearness_range for layer in stack if layer.kind == "depth"]
    assert ranges == [
        (float(nearness[labels == k].min()), float(nearness[labels == k].max())) for k in range(4)
    ]


@pytest.mark.parametrize("percent", [0.0, 0.5, 37.0, 99.5, 100.0])
def test_percentiles_from_the_histogram_match_numpy(percent: float) -> None:
    values = np.random.default_rng(5).integers(0, 30, 1001).astype(np.float32) / 7
    distinct, counts = np.unique(values, return_counts=True)
    (found,) = layers_module._percentiles(distinct, counts, [percent])
    assert found == pytest.approx(np.percentile(values, percent), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------- real data


def _gt_depth(scene_dir) -> DepthMap:  # type: ignore[no-untyped-def]
    meta = json.loads((scene_dir / "meta.json").read_text())
    raw = cv2.imread(str(scene_dir / "gt_disp.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    return DepthMap(raw / meta["gt_scale"], units="disparity_px")


@pytest.mark.parametrize("split", ["quantiles", "gaps"])
def test_real_scene_layers_recompose_and_shadows_only_darken(shared_data, split: str) -> None:  # type: ignore[no-untyped-def]
    from depthfx.image import read_image

    scene = shared_data / "stereo" / "teddy"
    photo = read_image(scene / "left.png")
    depth = _gt_depth(scene)
    stack = split_layers(photo.pixels, depth, count=4, split=split)
    depth_layers = [layer for layer in stack if layer.kind == "depth"]
    assert len(depth_layers) == 4 and len(stack) == 7
    without_shadows = composite_layers(depth_layers)
    assert np.abs(without_shadows - photo.pixels).max() < 1e-5
    with_shadows = composite_layers(stack)
    assert (with_shadows <= photo.pixels + 1e-5).all()
    darkened = (photo.pixels - with_shadows).max(axis=2) > 0.01
    assert 0.005 < darkened.mean() < 0.4  # visible shadows, not a darkened picture


# --------------------------------------------------------------------------- confidence


def _sky_scene(size: tuple[int, int] = (240, 320)) -> tuple[np.ndarray, DepthMap, np.ndarray]:
    """A featureless bright sky over textured, confidently measured ground and a near house.

    The sky's depth is what stereo gives there: noisy blobs reaching the ground's levels,
    with low confidence (0 where filled, just above 0.5 where matched at all).
    """
    height, width = size
    rng = np.random.default_rng(14)
    horizon = height // 2
    image = np.empty((height, width, 3), np.float32)
    rows = np.linspace(0.75, 0.85, horizon, dtype=np.float32)[:, None]
    image[:horizon] = np.dstack([rows * 0.9, rows * 0.95, rows]) * np.ones((1, width, 1))
    image[horizon:] = (0.1 + 0.3 * rng.random((height - horizon, width, 3))).astype(np.float32)
    nearness = np.empty((height, width), np.float32)
    nearness[horizon:] = np.linspace(0.3, 0.7, height - horizon, dtype=np.float32)[:, None]
    blobs = cv2.GaussianBlur(rng.standard_normal((horizon, width)).astype(np.float32), (0, 0), 5)
    nearness[:horizon] = 0.1 + 2.5 * blobs  # noise as high as the ground's levels
    house = (slice(horizon + 30, horizon + 80), slice(120, 200))
    nearness[house] = 0.95
    image[house] = (0.3 + 0.2 * rng.random((50, 80, 3))).astype(np.float32)
    confidence = np.full((height, width), 0.9, np.float32)
    confidence[:horizon] = np.where(rng.random((horizon, width)) < 0.5, 0.0, 0.55)
    sky = np.zeros((height, width), bool)
    sky[:horizon] = True
    return image, DepthMap(nearness, confidence=confidence), sky


def _darkened_share(image: np.ndarray, result: np.ndarray, where: np.ndarray) -> float:
    """Share of ``where``'s pixels the result darkens by more than 4/255 in 8-bit sRGB."""
    from depthfx.image import to_display

    drop = to_display(image).astype(int) - to_display(result).astype(int)
    return float(np.mean(drop.max(axis=2)[where] > 4))


def test_no_shadows_on_a_featureless_sky_with_noisy_low_confidence_depth() -> None:
    image, depth, sky = _sky_scene()
    result = layers(image, depth, count=5)
    assert _darkened_share(image, result, sky) <= 0.01
    # The confidently measured house still casts its shadow on the ground.
    assert _darkened_share(image, result, ~sky) > 0.01


def test_without_confidence_the_noisy_sky_is_cut_as_before() -> None:
    image, depth, sky = _sky_scene()
    plain = DepthMap(depth.nearness)  # a depth file: nothing says the sky is unsure
    assert _darkened_share(image, layers(image, plain, count=5), sky) > 0.01
