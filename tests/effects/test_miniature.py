"""Miniature faking: band and depth modes on synthetic scenes, then real photos."""

from __future__ import annotations

import dataclasses
import inspect
import json

import cv2
import numpy as np
import pytest

from depthfx.depthmap import DepthMap
from depthfx.effects.miniature import NAME, Miniature, fit_focal_plane, miniature
from depthfx.errors import InputError, ParameterError
from depthfx.image import read_image

NO_LOOK = {"saturation": 1.0, "contrast": 1.0, "vignette": 0.0}


def noise_image(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.05, 0.95, (*shape, 3)).astype(np.float32)


def sharpness(image: np.ndarray) -> np.ndarray:
    """Mean absolute horizontal difference per row (high = sharp)."""
    return np.abs(np.diff(image, axis=1)).mean(axis=(1, 2))


def test_band_centre_is_unchanged_and_blur_grows_away_from_it() -> None:
    image = noise_image((240, 180))
    out = miniature(image, position=0.5, width=0.1, transition=0.4, strength=3.0, **NO_LOOK)
    centre = slice(114, 126)  # the middle 12 rows of the band (rows 108..132)
    np.testing.assert_allclose(out[centre], image[centre], atol=1e-5)
    per_row = sharpness(out)
    # Average over blocks of 6 rows, then walk away from the centre both ways.
    blocks = per_row.reshape(-1, 6).mean(axis=1)
    middle = len(blocks) // 2
    below, above = blocks[middle:], blocks[:middle][::-1]
    for side in (below, above):
        assert np.all(np.diff(side) <= 1e-3), side
        assert side[-1] < 0.35 * side[0]


def test_band_tilted_and_off_centre() -> None:
    image = noise_image((200, 200), seed=1)
    out = miniature(image, position=0.3, angle=90.0, width=0.1, strength=3.0, **NO_LOOK)
    # A vertical band through x = 100 (tilted bands pass through the image centre).
    np.testing.assert_allclose(out[:, 97:103], image[:, 97:103], atol=1e-5)
    columns = np.abs(np.diff(out, axis=0)).mean(axis=(0, 2))
    assert columns[5] < 0.5 * columns[100] and columns[195] < 0.5 * columns[100]


def test_depth_mode_keeps_the_focal_plane_sharp_and_blurs_with_distance_from_it() -> None:
    height, width = 240, 320
    rows = np.arange(height, dtype=np.float32)[:, None]
    plane = np.repeat(2.0 + rows / height, width, axis=1)  # ground receding to the top
    nearness = plane.copy()
    offsets = (0.15, 0.4, 1.0)
    boxes = [(slice(150, 210), slice(20 + 100 * i, 80 + 100 * i)) for i in range(3)]
    for box, offset in zip(boxes, offsets, strict=True):
        nearness[box] += offset  # objects standing out in front of the ground
    image = noise_image((height, width), seed=2)
    out = miniature(image, DepthMap(nearness), position=0.5, width=0.3, strength=2.0, **NO_LOOK)
    # On the plane, away from the objects (further than the largest blur radius): sharp.
    np.testing.assert_allclose(out[:120], image[:120], atol=1e-5)
    inner = [
        (slice(box[0].start + 12, box[0].stop - 12), slice(box[1].start + 12, box[1].stop - 12))
        for box in boxes
    ]
    energy = [np.abs(np.diff(out[box], axis=1)).mean() for box in inner]
    original = np.abs(np.diff(image[inner[0]], axis=1)).mean()
    assert original > energy[0] > energy[1] > energy[2]


def test_fit_focal_plane_ignores_an_object_in_the_band() -> None:
    yy, xx = np.mgrid[:100, :150].astype(np.float32)
    ground = 0.02 * yy - 0.01 * xx + 3.0
    nearness = ground.copy()
    nearness[:, 40:90] += 2.0  # a third of the region is a near object
    plane = fit_focal_plane(nearness, np.ones((100, 150), bool))
    np.testing.assert_allclose(plane, ground, atol=1e-3)


def test_look_boosts_saturation_and_darkens_corners() -> None:
    image = np.full((60, 80, 3), (0.4, 0.2, 0.1), np.float32)
    graded = miniature(image, strength=0.0, saturation=1.5, contrast=1.0, vignette=0.0)
    assert graded[30, 40, 0] - graded[30, 40, 2] > image[30, 40, 0] - image[30, 40, 2]
    vignetted = miniature(image, strength=0.0, saturation=1.0, contrast=1.0, vignette=0.5)
    assert vignetted[0, 0, 0] < 0.6 * vignetted[30, 40, 0]
    contrasty = miniature(np.linspace(0, 1, 80, dtype=np.float32)[None, :, None].repeat(3, 2).repeat(4, 0),
                          strength=0.0, saturation=1.0, contrast=1.4, vignette=0.0)  # fmt: skip
    assert np.all(np.diff(contrasty[0, :, 0]) >= 0)  # the S-curve stays monotonic
    assert np.array_equal(miniature(image, strength=0.0, **NO_LOOK), image)


def test_alpha_and_depth_size_handling() -> None:
    image = np.concatenate([noise_image((40, 60)), np.full((40, 60, 1), 1.0, np.float32)], axis=2)
    out = miniature(image, np.ones((20, 30), np.float32), strength=1.0)
    assert out.shape == (40, 60, 4)
    with pytest.raises(InputError, match="aspect"):
        miniature(image, np.ones((40, 40), np.float32))


def test_band_mode_ignores_a_given_depth() -> None:
    image = noise_image((50, 70), seed=3)
    depth = np.random.default_rng(4).uniform(1, 2, (50, 70)).astype(np.float32)
    assert np.array_equal(miniature(image, depth, mode="band"), miniature(image))


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"position": 1.5}, r"^position must be in 0\.\.1"),
        ({"width": 0.0}, r"^width must be > 0"),
        ({"angle": 120.0}, r"^angle must be in -90\.\.90"),
        ({"strength": 9.0}, r"^strength must be in 0\.\.5"),
        ({"contrast": 3.0}, r"^contrast must be in 0\.5\.\.1\.5"),
        ({"mode": "tilt"}, r"^mode must be one of auto, band, depth"),
        ({"mode": "depth"}, r"^mode 'depth' needs a depth map"),
    ],
)
def test_bad_options_give_one_line_errors(options: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern) as info:
        miniature(np.zeros((8, 8, 3), np.float32), **options)
    assert "\n" not in str(info.value)


def test_dataclass_mirrors_the_function() -> None:
    assert NAME == "miniature"
    signature = inspect.signature(miniature)
    keywords = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("progress", "out")
    ]
    fields = dataclasses.fields(Miniature)
    assert [field.name for field in fields] == keywords
    assert {field.name: field.default for field in fields} == {
        name: signature.parameters[name].default for name in keywords
    }
    image = noise_image((30, 40))
    assert np.array_equal(Miniature(position=0.3).apply(image), miniature(image, position=0.3))


def test_progress_reaches_done() -> None:
    stages: list[tuple[str, float]] = []
    miniature(
        noise_image((30, 40)), progress=lambda stage, fraction: stages.append((stage, fraction))
    )
    assert stages[-1] == ("done", 1.0)


# --------------------------------------------------------------------------- real data


def test_aerial_photo_band_mode(shared_data) -> None:
    photo = read_image(shared_data / "photos" / "mono" / "aero1.jpg")
    out = miniature(photo.pixels, position=0.5, **NO_LOOK)
    assert out.shape == photo.pixels.shape and np.isfinite(out).all()
    rows = sharpness(out)
    height = len(rows)
    centre = rows[int(0.47 * height) : int(0.53 * height)].mean()
    assert rows[: int(0.1 * height)].mean() < 0.5 * centre
    assert rows[int(0.9 * height) :].mean() < 0.5 * centre


def test_stereo_scene_depth_mode(shared_data) -> None:
    scene = shared_data / "stereo" / "Art"
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    disparity = np.where(raw > 0, raw / meta["gt_scale"], 0).astype(np.float32)
    confidence = (raw > 0).astype(np.float32)
    photo = read_image(scene / "left.png")
    depth = DepthMap(disparity, confidence=confidence, units="disparity_px")
    out = miniature(photo.pixels, depth, position=0.5, strength=1.5, **NO_LOOK)
    assert np.isfinite(out).all()
    changed = np.abs(out - photo.pixels).mean(axis=2) > 0.01
    assert 0.2 < changed.mean() < 0.95  # part sharp, part blurred


def test_dataclass_checks_options_when_built() -> None:
    with pytest.raises(ParameterError, match=r"^position must be in 0\.\.1"):
        Miniature(position=2.0)
    with pytest.raises(ParameterError, match=r"^position must be in 0\.\.1, got 3"):
        Miniature(position=3)
    with pytest.raises(ParameterError, match=r"^transition must be > 0"):
        Miniature(transition=0.0)
    with pytest.raises(ParameterError, match=r"^mode must be a string"):
        Miniature(mode=1)  # type: ignore[arg-type]
    assert Miniature(strength=2).strength == 2.0  # an int where a float goes is converted


def test_grading_in_place_equals_grading_a_copy() -> None:
    # The renderer's fresh output is graded in place (OpenCV's colour matrix writes over
    # its source): the pixels must be those of grading into a new array.
    from depthfx.effects.miniature import _grade

    photo = np.random.default_rng(4).random((150, 97, 3), dtype=np.float32) * 1.2
    options = {"saturation": 1.6, "contrast": 1.3, "vignette": 0.4}
    expected = _grade(photo, **options, in_place=False)
    graded = photo.copy()
    result = _grade(graded, **options, in_place=True)
    assert result is graded
    np.testing.assert_array_equal(result, expected)
    assert not np.array_equal(expected, photo)


def test_grading_a_four_channel_images_colour_in_place() -> None:
    from depthfx.effects.miniature import _grade

    image = np.random.default_rng(5).random((150, 97, 4), dtype=np.float32) * 1.2
    options = {"saturation": 1.6, "contrast": 1.3, "vignette": 0.4}
    expected = _grade(np.ascontiguousarray(image[:, :, :3]), **options, in_place=False)
    graded = image.copy()
    result = _grade(graded[:, :, :3], **options, in_place=True)
    assert np.shares_memory(result, graded)
    np.testing.assert_array_equal(graded[:, :, :3], expected)
    np.testing.assert_array_equal(graded[:, :, 3], image[:, :, 3])


@pytest.mark.parametrize("channels", [3, 4])
def test_rendering_over_the_photo_itself_gives_the_same_bits(channels: int) -> None:
    rng = np.random.default_rng(6)
    image = rng.random((300, 1100, channels), dtype=np.float32)
    options = {"strength": 2.0, "position": 0.5}
    expected = miniature(image, **options)
    target = image.copy()
    result = Miniature(**options).apply(target, out=target)
    assert result is target
    assert np.array_equal(result, expected)


def test_an_out_of_another_dtype_is_refused() -> None:
    image = np.zeros((20, 30, 3), np.float32)
    with pytest.raises(ParameterError, match=r"\bout\b"):
        miniature(image, out=np.zeros((20, 30, 3), np.float64))


def test_rendering_in_place_holds_few_image_sized_arrays() -> None:
    # A regression bound on memory, not time: fresh memory is what a whole command pays
    # for on first touch. NumPy's allocations are traced, so the count is exact.
    import tracemalloc

    height, width = 1200, 1800
    image = np.random.default_rng(0).random((height, width, 3), dtype=np.float32)
    plane = height * width * 4
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        miniature(image, out=image)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    # About 12 planes before out= and the renderer's bands (about 7 now).
    assert peak < 9.5 * plane, peak / plane


@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (97, 7), (130, 260)])
@pytest.mark.parametrize("position", [0.0, 0.25, 0.55, 1.0 / 3.0, 1.0])
def test_untilted_band_coc_has_the_bits_of_a_coc_worked_out_at_every_pixel(
    shape: tuple[int, int], position: float
) -> None:
    from depthfx.effects.miniature import _band_coc, _band_distance, _band_image_coc

    # (0.25 of 2 rows puts the band's centre line exactly on a pixel centre: distance 0.)
    for half_width, transition, max_radius in ((0.075, 0.3, 12.5), (0.0, 1e-3, 3.0)):
        options = {"half_width": half_width, "transition": transition, "max_radius": max_radius}
        for angle in (0.0, 10.0):
            distance = _band_distance(shape, position=position, angle=angle)
            expected = _band_coc(distance, **options)
            result = _band_image_coc(shape, position=position, angle=angle, **options)
            assert result.shape == shape and result.dtype == np.float32
            assert result.tobytes() == expected.tobytes()
            if angle == 0.0 and shape[1] > 1:
                assert result.strides[1] == 0  # one column seen across: no image-sized plane


def test_the_contrast_curve_looks_up_the_table_entry_nearest_the_root() -> None:
    from depthfx.effects.miniature import _apply_curve, _contrast_curve

    table = _contrast_curve(1.3)
    values = np.array([[0.0, 1e-12, 0.25, 0.5, 0.999999, 1.0, 1.5, 3e38]], np.float32)
    roots = np.sqrt(np.minimum(values, np.float32(1.0)))
    index = (roots * np.float32(table.size - 1) + np.float32(0.5)).astype(np.uint16)
    assert index.max() == table.size - 1  # the last entry is reached, none beyond
    result = _apply_curve(values.copy(), table)
    assert result.tobytes() == np.take(table, index, mode="clip").tobytes()


@pytest.mark.parametrize("shape", [(1, 1, 4), (1, 2, 4), (2, 1, 4), (1, 1, 3)])
def test_a_photo_of_one_row_or_column_is_graded(shape: tuple[int, int, int]) -> None:
    image = np.full(shape, 0.5, np.float32)
    result = Miniature().apply(image, None)
    assert result.shape == shape
    assert not np.array_equal(result[:, :, :3], image[:, :, :3])  # graded
    np.testing.assert_array_equal(result[:, :, 3:], image[:, :, 3:])


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("cached_pixels", [1, 500, 10**9])
def test_grading_has_the_same_bits_however_a_chunk_is_finished(
    monkeypatch: pytest.MonkeyPatch, channels: int, cached_pixels: int
) -> None:
    # After the colour matrix (on whole chunks), each chunk is finished in parts that stay
    # in the cache; a part of one row or the whole chunk must give the same pixels.
    from depthfx.effects import miniature as module

    image = np.random.default_rng(8).random((150, 97, channels), dtype=np.float32) * 1.2
    options = {"saturation": 1.6, "contrast": 1.3, "vignette": 0.4}
    expected = image.copy()
    module._grade(expected[:, :, :3], **options, in_place=True)
    monkeypatch.setattr(module, "_CACHED_PIXELS", cached_pixels)
    graded = image.copy()
    module._grade(graded[:, :, :3], **options, in_place=True)
    assert graded.tobytes() == expected.tobytes()
