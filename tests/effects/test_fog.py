"""Fog: exact Koschmieder answers first, then real scenes."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import tracemalloc
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from depthfx._parallel import set_workers
from depthfx.depthmap import DepthMap
from depthfx.effects.fog import (
    NAME,
    Fog,
    estimate_fog_color,
    fog,
    height_fog_optical_depth,
    parse_fog_color,
)
from depthfx.effects.noise import fractal_noise
from depthfx.errors import InputError, ParameterError
from depthfx.image import read_image, srgb_to_linear
from depthfx.matte import matted_nearness

FOCAL_BASELINE = 700.0 * 0.1  # metric_scale: depth_m = 70 / nearness


def metric_plane(shape: tuple[int, int], distance_m: float) -> DepthMap:
    nearness = np.full(shape, FOCAL_BASELINE / distance_m, np.float32)
    return DepthMap(nearness, metric_scale=FOCAL_BASELINE, units="disparity_px")


def random_image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (*shape, 3)).astype(np.float32)


# --------------------------------------------------------------------------- exact answers


def test_plane_gets_exactly_the_koschmieder_colour() -> None:
    image = random_image((40, 60))
    out = fog(image, metric_plane((40, 60), 10.0), visibility=25.0, color="#808080")
    t = math.exp(-math.log(20) * 10.0 / 25.0)
    airlight = srgb_to_linear(np.float32(128 / 255))
    np.testing.assert_allclose(out, image * t + airlight * (1 - t), atol=1e-5)


def test_relative_plane_sits_at_far_distance() -> None:
    image = random_image((30, 30), seed=1)
    out = fog(image, np.ones((30, 30), np.float32), density=0.1, far=5.0, color="white")
    t = math.exp(-0.1 * 5.0)
    np.testing.assert_allclose(out, image * t + (1 - t), atol=1e-5)


def test_contrast_at_visibility_distance_is_five_percent() -> None:
    image = np.zeros((64, 64, 3), np.float32)
    image[:, ::2] = 0.8  # stripes of contrast 0.8
    out = fog(image, metric_plane((64, 64), 300.0), visibility=300.0, color="silver", max_fog=1.0)
    contrast = (out[:, 0::2].mean() - out[:, 1::2].mean()) / 0.8
    assert abs(contrast - 0.05) <= 0.005


def test_zero_density_returns_input_bit_exactly() -> None:
    image = random_image((20, 24), seed=2)
    depth = np.random.default_rng(3).uniform(1, 9, (20, 24)).astype(np.float32)
    out = fog(image, depth, density=0.0, patchiness=0.5, height_falloff=2.0)
    assert out.dtype == np.float32 and np.array_equal(out, image) and out is not image
    assert np.array_equal(fog(image, metric_plane((20, 24), 5.0), visibility=math.inf), image)


@pytest.mark.parametrize("distance", [0.5, 3.0, 40.0, math.inf])
@pytest.mark.parametrize("sin_elevation", [-0.3, -0.01, 0.0, 1e-7, 0.05, 0.6])
def test_height_fog_closed_form_matches_numerical_integration(
    distance: float, sin_elevation: float
) -> None:
    beta, falloff = 0.2, 2.5
    closed = float(
        height_fog_optical_depth(beta, np.array([distance]), np.array([sin_elevation]), falloff)[0]
    )
    if math.isinf(distance) and sin_elevation <= 0:
        assert closed == math.inf
        return
    end = distance if math.isfinite(distance) else 60 * falloff / sin_elevation
    s = np.linspace(0.0, end, 200_001)
    numeric = float(np.trapezoid(beta * np.exp(-s * sin_elevation / falloff), s))
    assert abs(closed - numeric) <= 1e-3 * max(1.0, numeric)


def test_height_fog_per_row_layout_matches_pixel_by_pixel() -> None:
    # A photo passes one elevation per row (the fast path, with the series only in the
    # rows near the horizon); every pixel must match the same ray computed on its own.
    rng = np.random.default_rng(5)
    distance = rng.uniform(0.001, 80.0, (41, 7)).astype(np.float32)
    distance[:5] = np.inf  # sky
    sin_elevation = np.linspace(0.3, -0.3, 41, dtype=np.float32)[:, None]
    sin_elevation[20] = 0.0  # the horizon row: u = 0 and, in the sky, inf * 0
    distance[20, 0] = np.inf
    photo = height_fog_optical_depth(0.3, distance, sin_elevation, 2.0)
    rays = height_fog_optical_depth(
        0.3, distance.ravel(), np.broadcast_to(sin_elevation, distance.shape).ravel(), 2.0
    ).reshape(distance.shape)
    np.testing.assert_allclose(photo, rays, rtol=2e-6)
    assert photo[20, 0] == math.inf and np.isfinite(photo[20, 1:]).all()
    assert float(height_fog_optical_depth(0.5, 2.0, 0.0, 10.0)) == 1.0  # scalars work


@pytest.mark.parametrize("focal_px", [None, 30.0])
def test_height_fog_in_the_photo_matches_the_closed_form_ray_by_ray(focal_px: float | None) -> None:
    # The effect computes tau per row chunk from 1 / distance, with the series only in the
    # rows next to the horizon; every pixel must match the reference formula, including
    # the exact horizon row (u = 0) and the sky (infinitely far) on both sides of it.
    height, width, falloff, visibility = 41, 30, 2.0, 20.0
    rng = np.random.default_rng(8)
    image = random_image((height, width), seed=9)
    distance = rng.uniform(0.5, 80.0, (height, width)).astype(np.float32)
    nearness = FOCAL_BASELINE / distance
    nearness[:3] = 0.0  # sky above the horizon
    nearness[19:22, :4] = 0.0  # sky through the horizon row
    depth = DepthMap(nearness, metric_scale=FOCAL_BASELINE, units="disparity_px")
    out = fog(image, depth, visibility=visibility, color="white", max_fog=1.0,
              height_falloff=falloff, horizon=0.5, focal_px=focal_px, edge_aware=False)  # fmt: skip

    focal = focal_px if focal_px is not None else width / (2 * math.tan(math.radians(22.5)))
    rise = 0.5 * height - (np.arange(height) + 0.5)  # row 20 is exactly on the horizon
    sin_elevation = (rise / np.sqrt(rise**2 + focal**2))[:, None]
    with np.errstate(divide="ignore"):
        ray = np.where(nearness > 0, FOCAL_BASELINE / nearness.astype(np.float64), np.inf)
    if focal_px is not None:
        yy, xx = np.mgrid[:height, :width]
        ray = ray * np.sqrt(1 + ((yy - (height - 1) / 2) ** 2 + (xx - (width - 1) / 2) ** 2)
                            / focal_px**2)  # fmt: skip
    tau = height_fog_optical_depth(math.log(20) / visibility, ray, sin_elevation, falloff)
    transmission = np.exp(-tau.astype(np.float64))[:, :, None]
    np.testing.assert_allclose(out, image * transmission + (1 - transmission), atol=2e-6)
    assert out[20, 0, 0] == 1.0  # along the horizon to infinity: all fog
    assert out[0, 5, 0] < 1.0  # up into the sky: the fog ends


def test_patch_noise_rows_equal_one_whole_upsampling() -> None:
    from depthfx.effects.fog import _upsampled_rows

    grid = fractal_noise((13, 17), scale=0.5, seed=4)
    padded = cv2.copyMakeBorder(grid, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    for step in (1, 3, 8):
        height, width = 13 * step - (step // 2), 17 * step - 1  # not multiples of the step
        whole = cv2.resize(grid, (17 * step, 13 * step), interpolation=cv2.INTER_LINEAR)
        for rows in [(0, height), (0, 5), (step + 1, 2 * step + 7), (height - 4, height)]:
            band = _upsampled_rows(padded, step, rows, width)
            np.testing.assert_array_equal(band, whole[rows[0] : rows[1], :width])


def test_height_fog_thins_above_the_horizon() -> None:
    image = np.zeros((100, 80, 3), np.float32)
    out = fog(image, metric_plane((100, 80), 50.0), visibility=40.0, color="white",
              height_falloff=5.0, horizon=0.5, max_fog=1.0)  # fmt: skip
    fog_by_row = out[:, :, 0].mean(axis=1)
    assert np.all(np.diff(fog_by_row) >= -1e-6)  # more fog lower down
    assert fog_by_row[5] < 0.9 * fog_by_row[50] < fog_by_row[95]


def test_no_foreground_pixel_brighter_than_its_fog_blend_allows() -> None:
    # Near disc (dark, 2 m) in front of a far bright wall (30 m): edge-aware refinement
    # must not leak the wall's thick fog onto the disc's silhouette.
    for size in ((200, 260), (1300, 1700)):  # full-size refinement and the upsampled path
        height, width = size
        yy, xx = np.mgrid[:height, :width]
        disc = (yy - height / 2) ** 2 + (xx - width / 2) ** 2 < (height / 3) ** 2
        image = np.where(disc[:, :, None], np.float32(0.05), np.float32(0.6)).astype(np.float32)
        image = np.repeat(image, 3, axis=2)
        nearness = np.where(disc, FOCAL_BASELINE / 2.0, FOCAL_BASELINE / 30.0).astype(np.float32)
        depth = DepthMap(nearness, metric_scale=FOCAL_BASELINE)
        out = fog(image, depth, visibility=20.0, color="white")
        t_near = math.exp(-math.log(20) * 2.0 / 20.0)
        allowed = 0.05 * t_near + (1 - t_near)
        assert out[disc].max() <= allowed + 2e-3, size
        t_far = max(math.exp(-math.log(20) * 30.0 / 20.0), 0.1)
        assert out[~disc].min() >= 0.6 * t_far + (1 - t_far) - 2e-3


def test_large_photo_refinement_in_bands_equals_one_whole_guided_filter() -> None:
    # Above 1024 px the transmission is refined with a grey guide band by band, each band
    # with a halo, and the filter's last step runs inside the blend: the result must be
    # the reference guided filter over the whole photo, then Koschmieder's blend.
    from depthfx.filters import guided_filter

    height, width = 1100, 48  # 4 bands
    rng = np.random.default_rng(11)
    image = cv2.GaussianBlur(rng.uniform(0, 1, (height, width, 3)).astype(np.float32), (0, 0), 2)
    image[:, : width // 2] *= 0.3  # an edge for the filter to keep
    distance = np.where(np.arange(width) < width // 3, 2.0, 25.0) * np.ones((height, 1))
    distance *= 1 + 0.5 * np.sin(np.arange(height) / 90.0)[:, None]
    depth = DepthMap((FOCAL_BASELINE / distance).astype(np.float32), metric_scale=FOCAL_BASELINE)
    out = fog(image, depth, visibility=15.0, color="#c0c8d0", max_fog=0.85)

    # The depth edge (a third across) is matted to the photo (whose edge is halfway), on a
    # copy reduced to 256 px.
    matted_depth = matted_nearness(image, depth.nearness, max_side=256)
    assert matted_depth is not None
    matted = FOCAL_BASELINE / matted_depth.astype(np.float64)
    raw = np.maximum(np.exp(-math.log(20) / 15.0 * matted), 0.15).astype(np.float32)
    guide = np.sqrt(np.maximum(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), 0))
    refined = np.clip(guided_filter(guide, raw, radius=round(height / 200), eps=1e-4), 0.15, 1)
    airlight = parse_fog_color("#c0c8d0")
    expected = image * refined[:, :, None] + airlight * (1 - refined[:, :, None])
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert np.abs(refined - raw).max() > 0.01  # the refinement did change something


def test_viewing_ray_distance_fogs_the_corners_more() -> None:
    image = np.zeros((50, 50, 3), np.float32)
    out = fog(
        image,
        metric_plane((50, 50), 10.0),
        visibility=30.0,
        color="white",
        focal_px=40.0,
        edge_aware=False,
    )
    t_centre = math.exp(-math.log(20) * 10.0 * math.sqrt(1 + 2 * (0.5 / 40) ** 2) / 30.0)
    assert out[25, 25, 0] == pytest.approx(1 - t_centre, abs=1e-4)
    assert out[0, 0, 0] > out[25, 25, 0] + 0.1


def test_max_fog_keeps_the_sky_textured() -> None:
    image = random_image((30, 30), seed=4)
    sky = DepthMap(np.zeros((30, 30), np.float32), metric_scale=FOCAL_BASELINE)  # infinitely far
    out = fog(image, sky, visibility=100.0, color="white", max_fog=0.8)
    np.testing.assert_allclose(out, image * 0.2 + 0.8, atol=1e-5)


def test_patchy_fog_is_deterministic_by_seed() -> None:
    image = np.zeros((64, 96, 3), np.float32)
    depth = np.ones((64, 96), np.float32)
    first = fog(image, depth, patchiness=0.8, seed=7, color="white")
    assert np.array_equal(first, fog(image, depth, patchiness=0.8, seed=7, color="white"))
    other = fog(image, depth, patchiness=0.8, seed=8, color="white")
    assert np.abs(first - other).max() > 0.05
    assert first.std() > 0.02  # patches vary the fog; no patchiness gives a flat plane
    assert fog(image, depth, color="white").std() < 1e-6


def test_alpha_passes_through_and_small_depth_is_fitted() -> None:
    image = np.concatenate([random_image((40, 60)), np.full((40, 60, 1), 0.5, np.float32)], axis=2)
    out = fog(image, np.ones((20, 30), np.float32), color="white")
    assert out.shape == (40, 60, 4) and np.array_equal(out[:, :, 3], image[:, :, 3])
    with pytest.raises(InputError, match="aspect"):
        fog(image, np.ones((40, 40), np.float32))


def test_auto_colour_comes_from_the_hazy_region() -> None:
    image = np.full((100, 100, 3), 0.05, np.float32)
    image[:20] = (0.7, 0.72, 0.74)  # hazy sky band
    colour = estimate_fog_color(image)
    assert np.all(np.abs(colour - np.array([0.7, 0.72, 0.74])) < 0.02)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("white", (1.0, 1.0, 1.0)), ("#000000", (0.0, 0.0, 0.0)), ("1, 0, 1", (1.0, 0.0, 1.0))],
)
def test_parse_fog_color(text: str, expected: tuple[float, float, float]) -> None:
    np.testing.assert_allclose(parse_fog_color(text), expected, atol=1e-6)
    np.testing.assert_allclose(
        parse_fog_color("#d8dde3"), srgb_to_linear(np.array([216, 221, 227]) / 255), atol=1e-6
    )


def test_short_hex_colour_is_accepted() -> None:
    # Colours are read by depthfx.colors: "#rgb" means "#rrggbb" (fog refused it before).
    assert np.array_equal(parse_fog_color("#fff"), parse_fog_color("white"))
    image = random_image((16, 16))
    depth = np.random.default_rng(1).uniform(1, 2, (16, 16)).astype(np.float32)
    assert np.array_equal(fog(image, depth, color="#cde"), fog(image, depth, color="#ccddee"))


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"visibility": -5.0}, r"^visibility must be > 0"),
        ({"color": "purplish"}, r"^color must be 'auto'.*got 'purplish'$"),
        ({"color": "1.5,0,0"}, r"^color must be"),
        ({"density": -1.0}, r"^density must be in 0\.\.100"),
        ({"near": 5.0, "far": 2.0}, r"^near and far must satisfy"),
        ({"max_fog": 0.0}, r"^max_fog must be > 0"),
        ({"patchiness": 2.0}, r"^patchiness must be in 0\.\.1"),
        ({"horizon": 5.0}, r"^horizon must be in -1\.\.2"),
        ({"visibility": 10.0}, r"^visibility needs metric depth"),
    ],
)
def test_bad_options_give_one_line_errors(options: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern) as info:
        fog(np.zeros((8, 8, 3), np.float32), np.ones((8, 8), np.float32), **options)
    assert "\n" not in str(info.value)


def test_dataclass_mirrors_the_function() -> None:
    assert NAME == "fog"
    keywords = [
        name
        for name, parameter in inspect.signature(fog).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("progress", "out")
    ]
    fields = dataclasses.fields(Fog)
    assert [field.name for field in fields] == keywords
    defaults = {name: inspect.signature(fog).parameters[name].default for name in keywords}
    assert {field.name: field.default for field in fields} == defaults
    image, depth = (
        random_image((16, 16)),
        np.random.default_rng(0).uniform(1, 2, (16, 16)).astype(np.float32),
    )
    effect = Fog(density=0.5, color="silver", patchiness=0.3)
    assert np.array_equal(
        effect.apply(image, depth), fog(image, depth, density=0.5, color="silver", patchiness=0.3)
    )


def test_progress_is_reported() -> None:
    stages: list[tuple[str, float]] = []
    fog(
        np.zeros((8, 8, 3), np.float32),
        np.ones((8, 8), np.float32),
        progress=lambda s, f: stages.append((s, f)),
    )
    assert stages[-1] == ("done", 1.0)
    assert [f for _, f in stages] == sorted(f for _, f in stages)


# --------------------------------------------------------------------------- real data


def test_real_scene_fog_grows_with_distance(shared_data) -> None:
    scene = shared_data / "stereo" / "Art"
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    known = raw > 0
    disparity = np.where(
        known, raw / meta["gt_scale"], np.median(raw[known]) / meta["gt_scale"]
    ).astype(np.float32)
    photo = read_image(scene / "left.png")
    # Pretend a 1000 px focal length and a 10 cm baseline: 1.3 m .. 4.5 m.
    depth = DepthMap(disparity, metric_scale=100.0, units="disparity_px")
    out = fog(photo.pixels, depth, visibility=8.0, color="white")
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1.0 + 1e-5
    fog_amount = (out - photo.pixels).mean(axis=2) / np.maximum(1 - photo.pixels.mean(axis=2), 1e-3)
    near = known & (disparity > np.percentile(disparity[known], 80))
    far = known & (disparity < np.percentile(disparity[known], 20))
    assert np.median(fog_amount[far]) > np.median(fog_amount[near]) + 0.25


def test_dataclass_checks_options_when_built() -> None:
    with pytest.raises(ParameterError, match=r"^visibility must be > 0"):
        Fog(visibility=-1.0)
    with pytest.raises(ParameterError, match=r"^color must be"):
        Fog(color="not-a-colour")


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"max_fog": 7}, r"^max_fog must be > 0 and <= 1, got 7"),
        ({"patch_size": 0.0}, r"^patch_size must be > 0"),
        ({"patch_size": 5.0}, r"^patch_size must be > 0 and <= 4"),
        ({"focal_px": 0.0}, r"^focal_px must be > 0"),
        ({"near": 0.0}, r"^near must be > 0"),
        ({"near": 2.0, "far": 1.0}, r"^near and far must satisfy"),
        ({"far": math.inf}, r"^far must be a finite number"),
        ({"visibility": True}, r"^visibility must be a number"),
        ({"visibility": 0}, r"^visibility must be > 0 metres"),
        ({"seed": 1.5}, r"^seed must be a whole number"),
        ({"edge_aware": "yes"}, r"^edge_aware must be true or false"),
    ],
)
def test_bad_option_fails_when_the_dataclass_is_built(options: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        Fog(**options)


def test_dataclass_keeps_options_in_their_checked_form() -> None:
    assert Fog(visibility=math.inf).visibility == math.inf  # inf = no fog
    assert Fog(visibility=8, density=1).visibility == 8.0
    assert Fog(color=[1, 1, 1]).color == (1.0, 1.0, 1.0)
    assert Fog(color="AUTO").color == "AUTO"


# --------------------------------------------------------------------------- matted edges


def test_background_between_fibres_gets_the_background_fog() -> None:
    # Without the matte the blob depth left the background between the fibres with 44 %
    # of the surrounding background's fog; matted, 96 %.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from wispy_scene import wispy_scene

    scene = wispy_scene()
    out = fog(scene.image, scene.nearness, color="white", density=0.5)
    added = (out - scene.image).mean(axis=2)
    ratio = added[scene.between_fibres].mean() / added[scene.surrounding_background].mean()
    assert ratio >= 0.8
    assert added[scene.fibres].mean() < 0.2 * added[scene.surrounding_background].mean()


def test_a_fill_step_in_the_depth_of_a_smooth_hillside_does_not_show() -> None:
    # The depth map steps where the photo is smooth (a filled hole): the fog ramps across
    # the band instead of drawing the step (before: 24 % of the difference in one row).
    rng = np.random.default_rng(1)
    photo = (0.4 + 0.01 * rng.standard_normal((160, 120, 3))).astype(np.float32)
    nearness = np.repeat(np.where(np.arange(160)[:, None] < 80, 0.3, 0.6), 120, axis=1)
    out = fog(photo, nearness.astype(np.float32), color="white", density=1.0)
    profile = out[:, 40:80].mean(axis=(1, 2))
    total = abs(float(profile[-1] - profile[0]))
    assert total > 0.05
    assert float(np.abs(np.diff(profile)).max()) < 0.1 * total


def test_no_fog_edges_from_unmeasured_depth_on_a_featureless_sky() -> None:
    # Stereo noise on a flat sky with low confidence: the fog stays even there (before:
    # the noise showed as blotches), while a confident depth map keeps its values.
    rng = np.random.default_rng(2)
    photo = np.full((120, 160, 3), 0.5, np.float32)
    nearness = np.full((120, 160), 0.2, np.float32)
    nearness[80:] = 1.0  # confident ground
    noise = cv2.GaussianBlur(rng.standard_normal((120, 160)).astype(np.float32), (0, 0), 3)
    nearness[:70] += 0.3 * noise[:70] / float(noise.std())
    confidence = np.ones((120, 160), np.float32)
    confidence[:70] = 0.1
    sky = (slice(5, 60), slice(5, -5))
    trusting = fog(photo, DepthMap(nearness), color="white", density=1.0)
    aware = fog(photo, DepthMap(nearness, confidence=confidence), color="white", density=1.0)
    assert float(trusting[sky].std()) > 0.02
    assert float(aware[sky].std()) < 0.25 * float(trusting[sky].std())


# --------------------------------------------------------------------------- out=


@pytest.fixture
def two_workers() -> Iterator[None]:
    # Bands are cut per worker: with two, the panorama's halo spans more than a band.
    set_workers(2)
    yield
    set_workers(None)


def foggy_scene(
    shape: tuple[int, int], channels: int, seed: int = 0
) -> tuple[np.ndarray, DepthMap]:
    """A blurred random photo (alpha too for 4 channels) and a relative depth with an edge."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.uniform(0, 1, (*shape, channels)).astype(np.float32), (0, 0), 2)
    nearness = np.where(np.arange(shape[1]) < shape[1] // 3, 4.0, 1.0) * np.ones((shape[0], 1))
    nearness *= 1 + 0.3 * np.sin(np.arange(shape[0]) / 40.0)[:, None]
    return image, DepthMap(nearness.astype(np.float32))


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize(
    "shape",
    [(1100, 64), (300, 6600), (120, 90)],
    ids=["large-banded", "panorama-halo-over-a-band", "small"],
)
@pytest.mark.parametrize(
    "options",
    [{}, {"patchiness": 0.5, "height_falloff": 2.0}, {"edge_aware": False, "color": "white"}],
    ids=["auto-colour", "patchy-height", "plain"],
)
def test_fog_into_the_image_itself_gives_the_bits_of_a_fresh_result(
    two_workers: None, shape: tuple[int, int], channels: int, options: dict
) -> None:
    # Bands read guide rows of their neighbours and the colour estimate reads the whole
    # photo, so writing over the photo must wait for neither to see fogged pixels.
    image, depth = foggy_scene(shape, channels)
    expected = fog(image, depth, **options)
    target = image.copy()
    result = fog(target, depth, out=target, **options)
    assert result is target and np.array_equal(result, expected)
    if channels == 4:  # the colour is fogged as without alpha; the alpha is kept
        assert np.array_equal(result[:, :, 3], image[:, :, 3])
        colour = np.ascontiguousarray(image[:, :, :3])
        assert np.array_equal(result[:, :, :3], fog(colour, depth, **options))
    elsewhere = np.full_like(image, np.nan)
    assert Fog(**options).apply(image, depth, out=elsewhere) is elsewhere
    assert np.array_equal(elsewhere, expected)


def test_no_fog_into_out_copies_the_image() -> None:
    image = random_image((20, 24), seed=2)
    out = np.zeros_like(image)
    assert fog(image, np.ones((20, 24), np.float32), density=0.0, out=out) is out
    assert np.array_equal(out, image)
    same = image.copy()
    assert fog(same, np.ones((20, 24), np.float32), density=0.0, out=same) is same
    assert np.array_equal(same, image)


@pytest.mark.parametrize(
    ("out", "pattern"),
    [
        (np.zeros((16, 16, 3), np.float64), r"^out must be a float32 array of shape \(16, 16, 3\)"),
        (np.zeros((16, 15, 3), np.float32), r"^out must be a float32 array of shape"),
        (np.zeros((16, 16, 4), np.float32), r"^out must be a float32 array of shape"),
        ([[0.0]], r"^out must be a float32 array .*got list$"),
    ],
)
def test_out_of_the_wrong_shape_or_type_is_refused(out: object, pattern: str) -> None:
    image, depth = random_image((16, 16)), np.ones((16, 16), np.float32)
    with pytest.raises(ParameterError, match=pattern):
        fog(image, depth, out=out)  # type: ignore[arg-type]


def test_out_must_be_writeable_and_not_a_shifted_view_of_the_image() -> None:
    image, depth = random_image((16, 16)), np.ones((16, 16), np.float32)
    frozen = np.zeros_like(image)
    frozen.flags.writeable = False
    with pytest.raises(ParameterError, match=r"^out must be writeable"):
        fog(image, depth, out=frozen)
    wider = np.zeros((17, 16, 3), np.float32)
    wider[1:] = image
    with pytest.raises(ParameterError, match=r"^out must be the image itself or not overlap"):
        fog(wider[1:], depth, out=wider[:-1])


def test_fog_into_the_image_needs_few_planes_of_scratch(two_workers: None) -> None:
    # Deterministic memory check (NumPy's allocations are traced, unlike resident memory):
    # the result goes into the photo and each worker reuses its band planes, so the fog
    # of a 2 MP photo takes well under three float planes (one colour copy of the photo
    # alone would be three; before out= it took about seven).
    image, depth = foggy_scene((1200, 1600), 3)
    plane = image.shape[0] * image.shape[1] * 4
    tracemalloc.start()
    try:
        fog(image, depth, out=image)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.6 * plane, f"{peak / plane:.2f} planes"
