"""The bokeh effect: circle of confusion, options, focus, and results on real scenes."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depthmap import DepthMap
from depthfx.effects.bokeh import NAME, Bokeh, bokeh, circle_of_confusion, estimate_noise
from depthfx.errors import InputError, ParameterError
from depthfx.image import read_image


def ramp_scene(height: int = 60, width: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.0)
    nearness = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    return image, nearness


# --------------------------------------------------------------------------- CoC


def test_coc_is_linear_in_nearness_signed_and_scaled_by_strength() -> None:
    nearness = np.tile(np.linspace(0.0, 1.0, 101, dtype=np.float32), (40, 1))
    depth = DepthMap(nearness)
    coc = circle_of_confusion(depth, 0.25, strength=2.0)
    diagonal = math.hypot(101, 40)
    # The most different end (nearness 1, in front) gets exactly strength % of the diagonal.
    assert float(coc.min()) == pytest.approx(-0.02 * diagonal, rel=1e-3)
    assert float(coc[0, 25]) == pytest.approx(0.0, abs=1e-5)
    assert float(coc[0, 0]) > 0  # behind the focal plane
    steps = np.diff(coc[0])
    assert np.allclose(steps, steps[0], rtol=1e-3)  # linear in nearness


def test_depth_of_field_keeps_a_band_sharp() -> None:
    nearness = np.tile(np.linspace(0.0, 1.0, 101, dtype=np.float32), (10, 1))
    coc = circle_of_confusion(DepthMap(nearness), 0.5, strength=1.0, depth_of_field=0.2)
    sharp = np.abs(coc[0]) < 1e-6
    assert sharp[41:60].all() and not sharp[30] and not sharp[70]
    assert float(np.abs(coc).max()) == pytest.approx(0.01 * math.hypot(101, 10), rel=1e-3)


def test_lens_settings_give_the_physical_blur() -> None:
    # Stereo-like metric depth: depth_m = 42 / nearness. Focus at 2 m, background at 6 m.
    scale = 42.0
    nearness = np.full((30, 6000), scale / 6.0, np.float32)
    nearness[:, :100] = scale / 2.0
    depth = DepthMap(nearness, metric_scale=scale, units="disparity_px")
    coc = circle_of_confusion(
        depth, scale / 2.0, focal_length_mm=50, f_number=2.0, sensor_width_mm=36
    )
    f, n, s_f, s = 0.05, 2.0, 2.0, 6.0
    diameter_mm = f * f / (n * (s_f - f)) * abs(1 - s_f / s) * 1000
    expected_radius_px = diameter_mm / 36.0 * 6000 / 2
    assert float(coc[0, 500]) == pytest.approx(expected_radius_px, rel=1e-3)
    assert float(coc[0, 50]) == pytest.approx(0.0, abs=1e-4)


def test_lens_settings_need_metric_depth() -> None:
    image, nearness = ramp_scene()
    with pytest.raises(ParameterError, match="metric"):
        bokeh(image, nearness, focus=0.5, focal_length_mm=50, f_number=2)


# --------------------------------------------------------------------------- bokeh()


def test_zero_strength_returns_the_input_bit_exactly() -> None:
    image, nearness = ramp_scene()
    out = bokeh(image, nearness, focus=(40, 30), strength=0.0)
    assert np.array_equal(out, image)


def test_focused_region_stays_sharp_and_the_rest_blurs() -> None:
    image, nearness = ramp_scene(80, 200)
    out = bokeh(image, nearness, focus=(100, 40), strength=3.0)
    assert float(np.abs(out[:, 98:103] - image[:, 98:103]).max()) < 0.02
    assert float(out[:, 10:30].std()) < 0.5 * float(image[:, 10:30].std())


def test_alpha_is_preserved() -> None:
    image, nearness = ramp_scene()
    rgba = np.dstack([image, np.ones(image.shape[:2], np.float32)])
    out = bokeh(rgba, nearness, focus=(40, 30), strength=2.0)
    assert out.shape == rgba.shape
    assert np.allclose(out[10:-10, 10:-10, 3], 1.0, atol=1e-3)


def test_depth_of_another_size_is_resized_only_when_the_aspect_matches() -> None:
    image, nearness = ramp_scene(60, 80)
    half = cv2.resize(nearness, (40, 30), interpolation=cv2.INTER_AREA)
    assert bokeh(image, half, focus=(40, 30), strength=1.0).shape == image.shape
    with pytest.raises(InputError, match="aspect"):
        bokeh(image, np.zeros((60, 60), np.float32), focus=(40, 30))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("strength", 12.0, "strength must be in 0..10"),
        ("strength", -1.0, "strength"),
        ("shape", "star", "shape"),
        ("depth_of_field", 1.5, "depth_of_field"),
        ("blades", 2, "blades"),
        ("grain", 5.0, "grain"),
        ("focus", "middle", "focus"),
        ("focus", (500, 10), "outside the image"),
    ],
)
def test_bad_options_are_refused_with_one_line(option: str, value: object, message: str) -> None:
    image, nearness = ramp_scene()
    with pytest.raises(ParameterError, match=message) as info:
        bokeh(image, nearness, **{option: value})  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_dataclass_mirrors_the_function() -> None:
    keywords = {
        name
        for name, p in inspect.signature(bokeh).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("progress", "out")
    }
    assert {f.name for f in fields(Bokeh)} == keywords
    assert NAME == "bokeh"
    image, nearness = ramp_scene()
    effect = Bokeh(focus="40,30", strength=2.0, shape="polygon", blades=5)
    assert np.array_equal(
        effect.apply(image, nearness),
        bokeh(image, nearness, focus=(40, 30), strength=2.0, shape="polygon", blades=5),
    )


def test_grain_matches_the_noise_of_sharp_regions() -> None:
    rng = np.random.default_rng(3)
    height, width = 120, 240
    from depthfx.image import linear_to_srgb, srgb_to_linear

    encoded = np.full((height, width, 3), 0.5, np.float32) + rng.normal(
        0, 0.02, (height, width, 1)
    ).astype(np.float32)
    image = srgb_to_linear(encoded)
    nearness = np.ones((height, width), np.float32)
    nearness[:, :120] = 0.0  # left half far (blurred), right half in focus
    sigma = estimate_noise(image, np.ones((height, width), bool))
    assert sigma == pytest.approx(0.02, rel=0.25)
    clean = bokeh(image, nearness, focus=(200, 60), strength=3.0)
    grainy = bokeh(image, nearness, focus=(200, 60), strength=3.0, grain=1.0)
    left = (slice(20, -20), slice(20, 90))
    clean_std = float(linear_to_srgb(clean)[left].std())
    grainy_std = float(linear_to_srgb(grainy)[left].std())
    assert clean_std < 0.01
    assert grainy_std == pytest.approx(0.02, rel=0.35)


def _spread(spot: np.ndarray) -> tuple[float, float]:
    """Second moments of a light spot along the diagonal (1, 1) and across it (1, -1)."""
    weights = spot / spot.sum()
    ys, xs = np.indices(spot.shape)
    cy, cx = float((weights * ys).sum()), float((weights * xs).sum())
    along = ((xs - cx) + (ys - cy)) / math.sqrt(2)
    across = ((xs - cx) - (ys - cy)) / math.sqrt(2)
    return float((weights * along**2).sum()), float((weights * across**2).sum())


def test_cats_eye_squeezes_corner_discs_radially_and_keeps_the_centre() -> None:
    height, width = 160, 160
    image = np.zeros((height, width, 3), np.float32)
    image[24, 24] = image[80, 80] = 30.0
    nearness = np.zeros((height, width), np.float32)
    nearness[-2:] = 1.0  # a near strip far from the lights: focus on it (level 1)
    options = {"focus": 1.0, "strength": 5.0, "highlight_gain": 0.0}
    plain = bokeh(image, nearness, **options)[:, :, 0]
    eye = bokeh(image, nearness, cats_eye=1.0, **options)[:, :, 0]
    centre = (slice(60, 101), slice(60, 101))
    corner = (slice(4, 45), slice(4, 45))
    along, across = _spread(eye[corner])
    assert along < 0.75 * across  # squeezed toward the corner (radially)
    along, across = _spread(eye[centre])
    assert along == pytest.approx(across, rel=0.1)
    # Vignetting clips the shape but keeps about the energy of each light (kernels are
    # blended by output position, which conserves energy only approximately).
    assert float(eye[corner].sum()) == pytest.approx(float(plain[corner].sum()), rel=0.06)
    assert float(eye[centre].sum()) == pytest.approx(float(plain[centre].sum()), rel=0.06)


# --------------------------------------------------------------------------- real data


def test_real_scene_focus_plane_sharp_background_blurred(shared_data: Path) -> None:
    scene = shared_data / "stereo" / "Art"
    if not scene.exists():
        pytest.skip("Middlebury Art not in the shared data")
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED).astype(np.float32)
    known = raw > 0
    disparity = cv2.inpaint(raw / meta["gt_scale"], (~known).astype(np.uint8), 3, cv2.INPAINT_NS)
    photo = read_image(scene / "left.png")
    depth = DepthMap(disparity, units="disparity_px")
    focus = (180, 120)  # the plaster bust
    out = bokeh(photo.pixels, depth, focus=focus, strength=1.5)
    focus_disparity = float(np.median(disparity[115:126, 175:186]))
    in_focus = known & (np.abs(disparity - focus_disparity) < 1.0)
    far = known & (disparity < focus_disparity - 15)
    assert in_focus.sum() > 500 and far.sum() > 500
    error = np.abs(out - photo.pixels).mean(axis=2)
    assert float(np.median(error[in_focus])) < 0.01

    def detail(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        return np.abs(cv2.Laplacian(grey, cv2.CV_32F))

    assert float(detail(out)[far].mean()) < 0.4 * float(detail(photo.pixels)[far].mean())


# --------------------------------------------------------------------------- matted edges


def _high_frequency_energy(image: np.ndarray, mask: np.ndarray) -> float:
    detail = image - cv2.GaussianBlur(image, (0, 0), 1.0)
    return float((detail[mask] ** 2).mean())


def test_background_between_fibres_is_blurred_and_the_fibres_stay_sharp() -> None:
    # The wispy subject: depth marks the whole silhouette near (a blob), so without
    # the matte the background between the fibres stayed as sharp as the subject (1.7 %
    # less high-frequency energy than the source); matted, 98 % less, fibres at 40 dB.
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from wispy_scene import wispy_scene

    scene = wispy_scene()
    out = bokeh(scene.image, scene.nearness, focus=scene.centre)
    between = scene.between_fibres
    before = _high_frequency_energy(scene.image, between)
    assert _high_frequency_energy(out, between) <= 0.5 * before
    error = float(((out - scene.image)[scene.fibres] ** 2).mean())
    assert 10 * math.log10(1.0 / max(error, 1e-12)) >= 30.0


# --------------------------------------------------------------------------- out=


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("grain", [0.0, 1.0])
def test_rendering_over_the_photo_itself_gives_the_same_bits(channels: int, grain: float) -> None:
    image, nearness = ramp_scene(300, 1100)
    if channels == 4:
        alpha = np.clip(np.random.default_rng(2).random((300, 1100), dtype=np.float32) * 2, 0, 1)
        image = np.dstack([image, alpha])
    options = {"focus": (550, 150), "strength": 2.0, "grain": grain}
    expected = bokeh(image, nearness, **options)
    target = image.copy()
    result = Bokeh(**options).apply(target, nearness, out=target)
    assert result is target
    assert np.array_equal(result, expected)
    other = np.empty_like(image)
    assert bokeh(image, nearness, **options, out=other) is other
    assert np.array_equal(other, expected)


def test_an_out_of_another_shape_is_refused() -> None:
    image, nearness = ramp_scene()
    with pytest.raises(ParameterError, match=r"\bout\b"):
        bokeh(image, nearness, out=np.empty((60, 80, 4), np.float32))


def test_rendering_in_place_holds_few_image_sized_arrays() -> None:
    # A regression bound on memory, not time: fresh memory is what a whole command pays
    # for on first touch. NumPy's allocations are traced, so the count is exact.
    import tracemalloc

    height, width = 1200, 1800
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    nearness = cols / width + 0.3 * np.sin(rows / 97)
    image = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    plane = height * width * 4
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        bokeh(image, nearness, focus=(900, 600), strength=1.5, out=image)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # About 15 planes before out= and the renderer's bands (about 8 now).
    assert peak < 11 * plane, peak / plane


def test_a_planned_render_is_the_render_and_the_plan_lets_the_depth_go() -> None:
    import gc
    import weakref

    from depthfx.effects.bokeh import choose_focus, plan_bokeh, render_planned

    rng = np.random.default_rng(11)
    image = (0.2 + 0.6 * rng.random((90, 130, 3))).astype(np.float32)
    nearness = np.full((90, 130), 0.2, np.float32)
    nearness[20:70, 30:90] = 0.9  # a near block with fine noise for the grain to match
    depth = DepthMap(nearness)
    options = Bokeh(focus=(60, 45), strength=3.0, grain=1.0)
    expected = options.apply(image, depth)
    choice = choose_focus(image, depth, options.focus)
    plan = plan_bokeh(image, depth, choice, options)
    assert plan.noise > 0 and plan.coc.shape == nearness.shape
    gone = weakref.ref(nearness)
    del depth, nearness
    gc.collect()
    assert gone() is None  # nothing in the plan holds the depth map
    assert np.array_equal(render_planned(image, plan, options), expected)
