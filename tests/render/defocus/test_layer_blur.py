"""One layer's blur: a band of rows widened by the kernel's reach gives the whole's values,
and so does the window around the layer's pixels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from depthfx._parallel import ThreadScratch
from depthfx.render.defocus.layer_blur import BlurredLayer, LayerBlur
from depthfx.render.defocus.layers import layer_level, layer_radius
from depthfx.render.defocus.sides import Side, side_pyramid
from depthfx.render.kernels import Aperture


def _side(shape: tuple[int, int], top: int) -> tuple[Side, np.ndarray]:
    rng = np.random.default_rng(5)
    coverage = rng.random(shape, dtype=np.float32)
    side = Side(
        coverage=coverage,
        premultiplied=rng.random((*shape, 3), dtype=np.float32) * coverage[:, :, None],
        position=rng.uniform(2.0, top, shape).astype(np.float32),
        top_index=top,
    )
    return side, rng.random(shape, dtype=np.float32) * 0.5


def _layer_blurrer(
    side: Side, nearer: np.ndarray, index: int, aperture: Aperture
) -> tuple[Callable[..., BlurredLayer | None], int, int]:
    """``blur(box, back=, crop=)`` of layer ``index`` of ``side`` over a level-1 box, the
    layer's level and its blur's reach there."""
    height, width = side.coverage.shape
    radius = layer_radius(index)
    level = layer_level(radius)
    work_level = max(1, level - 1)
    source, nearer_source = side_pyramid(side, nearer, work_level)[work_level - 1]
    blur = LayerBlur(aperture, (2 * height, 2 * width), ThreadScratch())

    def blur_box(box: tuple[int, int, int, int], *, back: bool, crop: bool) -> BlurredLayer | None:
        return blur.blur(
            source, index, radius, level, work_level, box, nearer_source, back=back, crop=crop
        )

    return blur_box, level, blur.reach(radius, level)


@pytest.mark.parametrize("aperture", [Aperture(), Aperture(cats_eye=0.7)])
@pytest.mark.parametrize("index", [3, 6, 11])
def test_a_band_widened_by_the_reach_has_the_values_of_the_whole_layer(
    aperture: Aperture, index: int
) -> None:
    height, width = 128, 96
    side, nearer = _side((height, width), top=12)
    blur_box, level, reach = _layer_blurrer(side, nearer, index, aperture)
    factor = 2 ** (level - 1)

    def rows_blurred(first: int, last: int) -> tuple[list[np.ndarray], np.ndarray]:
        """The layer blurred over rows first..last of its level (the box's full width)."""
        blurred = blur_box((first * factor, last * factor, 0, width), back=True, crop=False)
        assert blurred is not None
        return blurred.pre, blurred.alpha

    rows = height // factor
    whole_pre, whole_alpha = rows_blurred(0, rows)
    start, stop = rows // 3, rows // 2
    first, last = max(0, start - reach), min(rows, stop + reach)
    assert first > 0  # the band's own edges are inside the layer, not at its border
    band_pre, band_alpha = rows_blurred(first, last)
    inside = slice(start - first, stop - first)
    np.testing.assert_array_equal(band_alpha[inside], whole_alpha[start:stop])
    for band_plane, whole_plane in zip(band_pre, whole_pre, strict=True):
        np.testing.assert_array_equal(band_plane[inside], whole_plane[start:stop])
    # Without the widening the band's edges would be blurred as the layer's border.
    short_pre, _ = rows_blurred(start, stop)
    assert not np.array_equal(short_pre[0], whole_pre[0][start:stop])


def _sparse_side(shape: tuple[int, int], top: int, present: tuple[slice, slice]) -> Side:
    """A side whose pixels lie only in ``present`` (a rectangle), at random positions."""
    side, _ = _side(shape, top)
    outside = np.ones(shape, bool)
    outside[present] = False
    side.coverage[outside] = 0.0
    side.premultiplied[outside] = 0.0
    return side


@pytest.mark.parametrize("aperture", [Aperture(), Aperture(cats_eye=0.7)])
@pytest.mark.parametrize("index", [2, 3, 6, 11])
@pytest.mark.parametrize("back", [True, False])
@pytest.mark.parametrize(
    ("width", "present"),
    [
        (600, (slice(40, 70), slice(150, 230))),  # a window inside the box on all sides
        (333, (slice(0, 20), slice(250, 333))),  # at the top and right edges
        (517, (slice(100, 128), slice(0, 9))),  # at the bottom and left edges
    ],
)
def test_the_window_around_the_layers_pixels_has_the_values_of_the_whole_box(
    aperture: Aperture, index: int, back: bool, width: int, present: tuple[slice, slice]
) -> None:
    height = 128
    side = _sparse_side((height, width), 12, present)
    nearer = np.random.default_rng(7).random((height, width), dtype=np.float32) * 0.5
    blur_box, level, _ = _layer_blurrer(side, nearer, index, aperture)
    # A box of the level's whole rows and columns (a multiple of its factor).
    factor = 2 ** (level - 1)
    box = (0, height // factor * factor, 0, width // factor * factor)
    whole, window = blur_box(box, back=back, crop=False), blur_box(box, back=back, crop=True)
    assert whole is not None and window is not None
    rows, cols = window.alpha.shape
    assert rows * cols < whole.alpha.size  # the window is smaller than the box
    inside = (slice(window.top, window.top + rows), slice(window.left, window.left + cols))
    placed = np.zeros_like(whole.alpha)
    placed[inside] = window.alpha
    np.testing.assert_array_equal(placed, whole.alpha)
    for window_plane, whole_plane in zip(window.pre, whole.pre, strict=True):
        placed[inside] = window_plane
        np.testing.assert_array_equal(placed, whole_plane)


def test_a_layer_without_pixels_in_the_box_is_not_blurred() -> None:
    side = _sparse_side((64, 64), 12, (slice(0, 0), slice(0, 0)))
    blur = LayerBlur(Aperture(), (128, 128), ThreadScratch())
    radius = layer_radius(3)
    box = (0, 64, 0, 64)
    assert blur.blur(side, 3, radius, layer_level(radius), 1, box, None, back=True) is None
