"""The layered defocus renderer against exact answers on synthetic scenes."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.errors import ParameterError
from depthfx.render.defocus import layer_position, layer_radius, render_defocus
from depthfx.render.kernels import Aperture, aperture_kernel

sys.path.insert(0, str(Path(__file__).parent))
from reference_renderer import (
    Plane,
    box_mask,
    central_view,
    everywhere,
    render_reference,
    smooth_texture,
)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)


def textured(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Photo-like texture: smoothed noise with strong contrast, in [0, 1]."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.random((*shape, 3)).astype(np.float32), (0, 0), 1.5)
    return np.clip((noise - noise.mean()) * 3 + 0.5, 0, 1).astype(np.float32)


# --------------------------------------------------------------------------- exact answers


def test_zero_blur_returns_the_input_bit_exactly() -> None:
    image = textured((50, 70))
    out = render_defocus(image, np.zeros((50, 70), np.float32))
    assert out.dtype == np.float32
    assert np.array_equal(out, image)
    assert out is not image


def test_sharp_pixels_stay_bit_exact_next_to_blur() -> None:
    image = textured((64, 64))
    coc = np.zeros((64, 64), np.float32)
    coc[:, 40:] = 6.0
    out = render_defocus(image, coc)
    # Beyond the 1-pixel fine-blur footprint the in-focus half is untouched...
    assert psnr(out[:, :30], image[:, :30]) > 60
    # ... and the blurred half really is blurred.
    assert float(np.abs(out[:, 50:] - image[:, 50:]).mean()) > 0.02


@pytest.mark.parametrize("index", [8, 10, 12, 14, 17])
def test_fronto_parallel_plane_equals_a_single_disc_blur(index: int) -> None:
    # Blur radii 8.0, 12.7, 20.2, 32.0, 64.0: the radii of the renderer's layers.
    radius = layer_radius(index)
    shape = (200, 240)
    image = textured(shape, seed=index)
    out = render_defocus(image, np.full(shape, radius, np.float32))
    expected = cv2.filter2D(image, -1, aperture_kernel(radius), borderType=cv2.BORDER_REFLECT)
    margin = int(radius) + 4
    inner = (slice(margin, -margin), slice(margin, -margin))
    assert psnr(out[inner], expected[inner]) >= 45.0


@pytest.mark.parametrize("radius", [12.0, 24.0, 45.0])
def test_plane_between_layer_radii_is_close_to_its_disc_blur(radius: float) -> None:
    # Between two layers the blur is a mix of the two neighbouring disc sizes.
    shape = (200, 240)
    image = textured(shape, seed=int(radius))
    out = render_defocus(image, np.full(shape, radius, np.float32))
    expected = cv2.filter2D(image, -1, aperture_kernel(radius), borderType=cv2.BORDER_REFLECT)
    margin = int(radius) + 4
    inner = (slice(margin, -margin), slice(margin, -margin))
    assert psnr(out[inner], expected[inner]) >= 40.0


@pytest.mark.parametrize("radius", [3.0, 5.0])
def test_small_blurs_are_close_to_a_disc_blur(radius: float) -> None:
    shape = (120, 120)
    image = textured(shape, seed=3)
    out = render_defocus(image, np.full(shape, -radius, np.float32))
    expected = cv2.filter2D(image, -1, aperture_kernel(radius), borderType=cv2.BORDER_REFLECT)
    inner = (slice(10, -10), slice(10, -10))
    assert psnr(out[inner], expected[inner]) >= 40.0


@pytest.mark.parametrize(
    "aperture",
    [Aperture(), Aperture("polygon", blades=6), Aperture("polygon", blades=5, rotation_deg=20)],
)
def test_point_light_becomes_the_aperture_shape_with_its_energy(aperture: Aperture) -> None:
    size, radius = 129, layer_radius(13)  # 25.4 px
    image = np.zeros((size, size, 3), np.float32)
    image[64, 64] = (50.0, 40.0, 30.0)
    out = render_defocus(image, np.full((size, size), radius, np.float32), aperture=aperture)
    assert float(out.sum()) == pytest.approx(float(image.sum()), rel=0.01)
    kernel = aperture_kernel(radius, aperture)
    half = kernel.shape[0] // 2
    spot = out[64 - half : 64 + half + 1, 64 - half : 64 + half + 1, 0]
    spot = spot / spot.sum()
    # Same shape: inside the aperture the light is spread evenly, outside there is ~none.
    inside = (
        cv2.erode((kernel > 0.9 * kernel.max()).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    )
    outside = np.ones_like(kernel, bool)
    # Allow the few pixels of softening that rendering at a reduced resolution brings.
    grown = cv2.dilate((kernel > 0).astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
    outside &= ~grown
    assert float(spot[outside].sum()) < 0.01
    core = spot[inside]
    assert float(core.std() / core.mean()) < 0.2
    assert float(np.abs(spot - kernel).sum()) < 0.3  # L1 distance between two unit masses


def test_point_light_between_layer_radii_keeps_energy_and_size() -> None:
    image = np.zeros((129, 129, 3), np.float32)
    image[64, 64] = 10.0
    for radius in (9.0, 15.0, 27.0):
        out = render_defocus(image, np.full((129, 129), radius, np.float32))[:, :, 0]
        assert float(out.sum()) == pytest.approx(10.0, rel=0.01)
        lit = np.argwhere(out > 0.02 * out.max())
        extent = (lit.max(axis=0) - lit.min(axis=0) + 1) / 2.0
        # The spot spans the apertures of the layers around the radius (plus resampling).
        position = float(layer_position(np.float32([radius]))[0])
        smaller, larger = layer_radius(int(position)), layer_radius(int(position) + 1)
        assert np.all(extent >= 0.9 * smaller)
        assert np.all(extent <= larger + 5)


def test_highlights_bloom_brighter_than_a_plain_blur() -> None:
    image = np.full((96, 96, 3), 0.05, np.float32)
    image[48, 48] = 1.0
    coc = np.full((96, 96), 10.0, np.float32)
    plain = render_defocus(image, coc)
    bright = render_defocus(image, coc, highlight_threshold=0.5, highlight_gain=20.0)
    assert float(bright[48, 48, 0]) > 3 * float(plain[48, 48, 0] - 0.05) + 0.05
    # Areas without highlights are unchanged by the boost.
    assert float(np.abs(bright[5:15, 5:15] - plain[5:15, 5:15]).max()) < 1e-3


def test_no_banding_blur_grows_smoothly_with_coc() -> None:
    # A ramp of CoC over a fine stripe pattern: local contrast must fall monotonically,
    # without plateaus and jumps at layer boundaries.
    height, width = 64, 400
    stripes = (np.indices((height, width)).sum(axis=0) % 6 < 3).astype(np.float32)
    image = np.repeat(stripes[:, :, None], 3, axis=2) * 0.8 + 0.1
    coc = np.tile(np.linspace(0.0, 12.0, width, dtype=np.float32), (height, 1))
    out = render_defocus(image, coc)
    contrast = out[20:44, :, 1].std(axis=0)
    smooth = np.convolve(contrast, np.ones(9) / 9, mode="same")[10:-10]
    assert float(np.abs(np.diff(smooth)).max()) < 0.01
    assert contrast[10] > 5 * contrast[-10]


# --------------------------------------------------------------------------- occlusion


def test_sharp_foreground_has_no_halo_and_does_not_bleed() -> None:
    # A red in-focus square in front of a blue-green blurred background.
    shape = (120, 120)
    background = textured(shape, seed=5)
    background[:, :, 0] = 0.0
    image = background.copy()
    square = (slice(40, 80), slice(40, 80))
    image[square] = (0.9, 0.1, 0.1)
    coc = np.full(shape, 10.0, np.float32)
    coc[square] = 0.0
    out = render_defocus(image, coc)
    # The in-focus foreground is unchanged.
    assert psnr(out[42:78, 42:78], image[42:78, 42:78]) >= 40.0
    # Background pixels next to it hold no red: its colour cannot leak behind.
    ring = np.zeros(shape, bool)
    ring[36:84, 36:84] = True
    ring[39:81, 39:81] = False
    assert float(out[ring][:, 0].max()) < 0.02
    # No dark halo: the background next to the square is as bright as the blurred background.
    expected = cv2.filter2D(background, -1, aperture_kernel(10.0), borderType=cv2.BORDER_REFLECT)
    assert float(np.abs(out[ring][:, 1:] - expected[ring][:, 1:]).mean()) < 0.05


def _disc_edge_fraction(distance: np.ndarray, radius: float) -> np.ndarray:
    """Share of a disc of ``radius`` lying beyond a straight edge at ``distance``."""
    t = np.clip(distance / radius, -1.0, 1.0)
    return (np.arccos(t) - t * np.sqrt(1 - t * t)) / math.pi


@pytest.mark.parametrize("radius", [6.0, 10.0, 20.0])
def test_blurred_foreground_edge_has_the_profile_of_a_disc_crossing_an_edge(radius: float) -> None:
    # White blurred foreground covering the left part, black sharp background.
    shape = (96, 200)
    image = np.zeros((*shape, 3), np.float32)
    edge = 100
    image[:, :edge] = 1.0
    coc = np.zeros(shape, np.float32)
    coc[:, :edge] = -radius
    out = render_defocus(image, coc)
    columns = np.arange(shape[1]) + 0.5
    expected = _disc_edge_fraction(columns - edge, radius)
    profile = out[48, :, 1]
    near = slice(edge - int(radius) - 3, edge + int(radius) + 3)
    assert float(np.abs(profile[near] - expected[near]).max()) <= 0.05
    # The foreground spreads softly over the sharp background: no hard cut-out edge.
    assert profile[edge + int(radius * 0.5)] > 0.05


def test_alpha_is_blurred_with_the_colour_and_kept() -> None:
    shape = (64, 64)
    image = np.zeros((*shape, 4), np.float32)
    image[:, :, :3] = 0.5
    image[16:48, 16:48, 3] = 1.0
    out = render_defocus(image, np.full(shape, 6.0, np.float32))
    assert out.shape == (*shape, 4)
    assert float(out[:, :, 3].sum()) == pytest.approx(float(image[:, :, 3].sum()), rel=0.02)
    # Straight alpha: colour stays 0.5 wherever there is coverage.
    covered = out[:, :, 3] > 0.05
    assert float(np.abs(out[covered][:, :3] - 0.5).max()) < 0.01


# --------------------------------------------------------------------------- reference


def test_matches_the_thin_lens_reference_renderer() -> None:
    shape = (112, 112)
    planes = [
        Plane(smooth_texture(1, base=(0.3, 0.5, 0.6)), everywhere, 7.0, 1.0),
        Plane(smooth_texture(2, base=(0.8, 0.4, 0.2)), box_mask(36, 28, 80, 88), -5.0, 2.0),
    ]
    image, _, coc = central_view(planes, shape)
    reference = render_reference(planes, shape, samples=400)
    out = render_defocus(image, coc)
    inner = (slice(10, -10), slice(10, -10))
    assert psnr(out[inner], reference[inner]) >= 35.0
    # A naive gather blur (each pixel blurred by its own CoC, no occlusion) is clearly worse.
    naive = cv2.filter2D(image, -1, aperture_kernel(6.0), borderType=cv2.BORDER_REFLECT)
    assert psnr(naive[inner], reference[inner]) < psnr(out[inner], reference[inner]) - 3


# --------------------------------------------------------------------------- layers & input


def test_layer_positions_invert_layer_radii() -> None:
    radii = np.array([layer_radius(i) for i in range(0, 14)], np.float32)
    assert np.allclose(layer_position(radii), np.arange(14), atol=1e-5)
    assert np.allclose(layer_position(-radii), -np.arange(14), atol=1e-5)


def test_bad_input_is_refused() -> None:
    image = np.zeros((10, 12, 3), np.float32)
    with pytest.raises(ParameterError, match="12x10"):
        render_defocus(image, np.zeros((10, 10), np.float32))
    bad = np.zeros((10, 12), np.float32)
    bad[0, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        render_defocus(image, bad)
    with pytest.raises(ParameterError, match="highlight_threshold"):
        render_defocus(
            image, np.ones((10, 12), np.float32), highlight_threshold=2.0, highlight_gain=1.0
        )
    with pytest.raises(ParameterError):
        render_defocus(image.astype(np.uint8), np.zeros((10, 12), np.float32))


def test_progress_is_reported_up_to_one() -> None:
    seen: list[tuple[str, float]] = []
    render_defocus(
        textured((40, 40)),
        np.full((40, 40), 4.0, np.float32),
        progress=lambda s, f: seen.append((s, f)),
    )
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


# --------------------------------------------------------------------------- seams


def _receding_stripes(shape: tuple[int, int], rows: int) -> tuple[list[Plane], np.ndarray]:
    """A blurred foreground over the whole frame whose depth steps every ``rows`` rows (grass
    receding toward the focal plane): CoC -4, -4.5, -5, ... px, one texture throughout."""
    texture = smooth_texture(3, scale=8.0, contrast=0.9, base=(0.45, 0.55, 0.3))
    planes = [
        Plane(texture, box_mask(-100, y, shape[1] + 100, y + rows), -4.0 - 0.5 * i, 1.0 + i)
        for i, y in enumerate(range(0, shape[0], rows))
    ]
    _, _, coc = central_view(planes, shape)
    return planes, coc


def test_blurred_foreground_with_depth_steps_renders_a_flat_colour_exactly() -> None:
    # Pixels between two layers are shared by both; the wider blur of the nearer share once
    # left the foreground a few per cent see-through along each step (up to 0.023 here).
    _, coc = _receding_stripes((120, 48), 5)
    image = np.full((*coc.shape, 3), 0.5, np.float32)
    out = render_defocus(image, coc)
    assert float(np.abs(out - 0.5).max()) < 1e-4


def test_blurred_foreground_depth_steps_leave_no_contour_lines() -> None:
    # Contour lines follow the steps (rows here), so the error is averaged along each row
    # (texture and sampling noise average out) and compared with its trend over +-8 rows
    # (the borders' own error does not count). Before the fix: 3.7 levels of 255 at the
    # steps; after: 1.8 (the reference's sampling noise at 128 samples).
    shape = (120, 48)
    planes, _ = _receding_stripes(shape, 5)
    image, _, coc = central_view(planes, shape)
    reference = render_reference(planes, shape, samples=128)
    out = render_defocus(image, coc)
    error = (out - reference).mean(axis=2)[16:-16, 8:-8]
    rows = error.mean(axis=1).astype(np.float32)[:, None]
    trend = cv2.GaussianBlur(rows, (1, 0), sigmaX=0.1, sigmaY=8, borderType=cv2.BORDER_REFLECT)
    assert float(np.abs(rows - trend).max()) * 255 < 2.5


# --------------------------------------------------------------------------- split pixels


def test_pixels_split_between_two_depths_blend_both_blurs() -> None:
    image = textured((64, 64), seed=5)
    sharp = np.zeros((64, 64), np.float32)
    blurred = np.full((64, 64), 6.0, np.float32)
    # No share: the plain render, bit for bit.
    plain = render_defocus(image, sharp + 3.0)
    none = render_defocus(image, sharp + 3.0, far_coc=blurred, far_share=np.zeros_like(sharp))
    assert np.array_equal(none, plain)
    # All of every pixel on the far side: the far CoC's render.
    whole = render_defocus(image, sharp, far_coc=blurred, far_share=np.ones_like(sharp))
    inner = (slice(8, -8), slice(8, -8))
    assert psnr(whole[inner], render_defocus(image, blurred)[inner]) > 45.0
    # A flat colour stays exact however its pixels are split.
    flat = np.full((64, 64, 3), 0.4, np.float32)
    share = np.random.default_rng(0).random((64, 64), dtype=np.float32)
    out = render_defocus(flat, sharp, far_coc=blurred, far_share=share)
    assert float(np.abs(out - 0.4).max()) < 1e-4
    # A split share keeps that share of the pixel sharp (centre of a sharp subject).
    half = np.full((64, 64), 0.5, np.float32)
    mixed = render_defocus(image, sharp, far_coc=blurred, far_share=half)
    far_only = render_defocus(image, blurred)
    expected = 0.5 * image + 0.5 * far_only
    assert psnr(mixed[inner], expected[inner]) > 30.0


def test_bad_split_input_is_refused() -> None:
    image = np.zeros((8, 8, 3), np.float32)
    coc = np.zeros((8, 8), np.float32)
    with pytest.raises(ParameterError, match="both"):
        render_defocus(image, coc, far_coc=coc)
    with pytest.raises(ParameterError, match="match"):
        render_defocus(image, coc, far_coc=coc, far_share=np.zeros((8, 9), np.float32))
    with pytest.raises(ParameterError, match=r"0\.\.1"):
        render_defocus(image, coc, far_coc=coc, far_share=np.full((8, 8), 2.0, np.float32))
    with pytest.raises(ParameterError, match="finite"):
        render_defocus(image, coc, far_coc=coc + np.inf, far_share=coc)


# --------------------------------------------------------------------------- out=


def _scene_with_several_tiles(channels: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """A photo over three rows and three columns of the renderer's tiles, with sharp,
    blurred and split pixels next to each other (4 channels: a varying alpha)."""
    height, width = 300, 1100
    rng = np.random.default_rng(3)
    image = rng.random((height, width, channels), dtype=np.float32)
    if channels == 4:
        image[:, :, 3] = np.clip(rng.random((height, width), dtype=np.float32) * 2, 0, 1)
    rows, cols = np.mgrid[:height, :width].astype(np.float32)
    coc = ((cols - 500) / 60.0 + 2 * np.sin(rows / 17)).astype(np.float32)
    far_share = np.zeros_like(coc)
    far_share[100:140, 480:560] = 0.5
    return image, coc, {"far_coc": coc + 5, "far_share": far_share}


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("split", [False, True])
def test_rendering_over_the_image_itself_gives_the_same_bits(channels: int, split: bool) -> None:
    image, coc, parts = _scene_with_several_tiles(channels)
    options = {"highlight_threshold": 0.5, "highlight_gain": 3.0, **(parts if split else {})}
    expected = render_defocus(image, coc, **options)
    target = image.copy()
    result = render_defocus(target, coc, **options, out=target)
    assert result is target
    assert np.array_equal(result, expected)


def test_out_receives_the_result_and_leaves_the_image_alone() -> None:
    image, coc, _ = _scene_with_several_tiles(3)
    before = image.copy()
    out = np.full_like(image, np.nan)
    result = render_defocus(image, coc, out=out)
    assert result is out
    assert np.array_equal(out, render_defocus(image, coc))
    assert np.array_equal(image, before)
    # Nothing to blur: the image is copied into out.
    still = np.full_like(image, np.nan)
    assert render_defocus(image, np.zeros_like(coc), out=still) is still
    assert np.array_equal(still, image)


@pytest.mark.parametrize(
    "out",
    [
        np.zeros((20, 30, 4), np.float32),
        np.zeros((20, 30, 3), np.float64),
        np.zeros((30, 20, 3), np.float32),
        [[0.0]],
    ],
)
def test_an_out_that_cannot_hold_the_result_is_refused(out: np.ndarray) -> None:
    image = textured((20, 30))
    with pytest.raises(ParameterError, match=r"\bout\b"):
        render_defocus(image, np.full((20, 30), 3.0, np.float32), out=out)


def test_an_out_overlapping_the_image_elsewhere_is_refused() -> None:
    storage = textured((21, 30))
    image, shifted = storage[:20], storage[1:]
    with pytest.raises(ParameterError, match=r"\bout\b"):
        render_defocus(image, np.full((20, 30), 3.0, np.float32), out=shifted)


# --------------------------------------------------------------------------- split tiles


def test_a_split_tiles_weighted_box_holds_every_weighted_pixel_in_whole_steps() -> None:
    from depthfx.render.defocus.renderer import _SIMD_STEP, _weighted_box

    base = np.zeros((128, 512), np.float32)
    assert _weighted_box(base) is None
    base[40:45, 100:130] = 0.5
    base[70, 200] = 1e-30
    rows, cols = _weighted_box(base)  # type: ignore[misc]
    assert (rows.start, rows.stop) == (40, 71)
    assert cols.start % _SIMD_STEP == 0 and cols.stop % _SIMD_STEP == 0
    assert cols.start <= 100 and cols.stop > 200
    outside = base.copy()
    outside[rows, cols] = 0.0
    assert not outside.any()
    # A width of no whole steps: the whole tile (fewer rows would move the scalar pixels).
    assert _weighted_box(base[:, :500]) == (slice(0, 128), slice(0, 500))


@pytest.mark.parametrize("width", [512, 416])
def test_layer_positions_of_a_box_of_whole_steps_are_those_of_the_whole_tile(width: int) -> None:
    from depthfx.render.defocus.renderer import _SIMD_STEP

    coc = np.random.default_rng(9).uniform(-40.0, 40.0, (128, width)).astype(np.float32)
    whole = layer_position(coc)
    for first, last in [(0, 1), (1, 3), (5, 9)]:
        cols = slice(first * _SIMD_STEP, last * _SIMD_STEP)
        assert np.array_equal(layer_position(coc[17:90, cols]), whole[17:90, cols])


# --------------------------------------------------------------------------- layer windows


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("aperture", [Aperture(), Aperture(cats_eye=0.6)])
def test_blurring_only_the_windows_around_layers_gives_the_bits_of_whole_boxes(
    channels: int, aperture: Aperture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from depthfx.render.defocus.layer_blur import LayerBlur

    image, coc, parts = _scene_with_several_tiles(channels)
    options = {"aperture": aperture, "highlight_threshold": 0.5, "highlight_gain": 3.0, **parts}
    windowed = render_defocus(image, coc * 2.0, **options)
    whole_blur = LayerBlur.blur

    def whole_boxes(self: LayerBlur, *args: object, **kwargs: object) -> object:
        return whole_blur(self, *args, **{**kwargs, "crop": False})  # type: ignore[arg-type]

    monkeypatch.setattr(LayerBlur, "blur", whole_boxes)
    assert np.array_equal(render_defocus(image, coc * 2.0, **options), windowed)
