"""Aperture kernels: shape, normalization, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from depthfx.errors import ParameterError
from depthfx.render.kernels import Aperture, aperture_kernel, aperture_mask


@pytest.mark.parametrize("radius", [0.6, 1.0, 3.0, 7.5, 20.0])
def test_kernel_sums_to_one_and_is_symmetric_for_a_disc(radius: float) -> None:
    kernel = aperture_kernel(radius)
    assert kernel.dtype == np.float32
    assert abs(float(kernel.sum()) - 1.0) < 1e-5
    assert np.allclose(kernel, kernel[::-1, ::-1], atol=1e-7)
    assert np.allclose(kernel, kernel.T, atol=1e-7)


def test_disc_kernel_area_matches_the_circle() -> None:
    radius = 12.0
    kernel = aperture_kernel(radius)
    covered = float((kernel / kernel.max()).sum())  # pixels of full coverage
    assert covered == pytest.approx(math.pi * radius**2, rel=0.01)


def test_tiny_radius_is_identity() -> None:
    assert aperture_kernel(0.2).tolist() == [[1.0]]


def test_hexagon_has_six_fold_shape() -> None:
    aperture = Aperture("polygon", blades=6)
    kernel = aperture_kernel(15.0, aperture)
    covered = float((kernel / kernel.max()).sum())
    hexagon_area = 3 * math.sqrt(3) / 2 * 15.0**2
    assert covered == pytest.approx(hexagon_area, rel=0.02)
    # Rotation 0 puts a vertex at the top: the top row reaches farther than the side column.
    centre = kernel.shape[0] // 2
    column = kernel[:, centre] > 0
    row = kernel[centre, :] > 0
    assert column.sum() > row.sum()


def test_curvature_one_is_a_disc() -> None:
    rounded = aperture_kernel(10.0, Aperture("polygon", blades=5, curvature=1.0))
    assert np.allclose(rounded, aperture_kernel(10.0), atol=1e-7)


def test_cats_eye_offset_makes_a_centred_lens_shape() -> None:
    kernel = aperture_kernel(10.0, offset=(0.8, 0.0))
    ys, xs = np.nonzero(kernel)
    width = xs.max() - xs.min()
    height = ys.max() - ys.min()
    assert width < 0.7 * height  # squeezed along the offset
    centroid_x = float((kernel.sum(axis=0) * np.arange(kernel.shape[1])).sum())
    assert centroid_x == pytest.approx(kernel.shape[1] // 2, abs=0.05)


def test_mask_uses_circumradius() -> None:
    aperture = Aperture("polygon", blades=4, rotation_deg=45.0)
    inside = aperture_mask(np.array([0.7, 0.72]), np.array([0.0, 0.0]), aperture)
    assert inside.tolist() == [True, False]  # a square's side is at cos(45 deg) = 0.707


@pytest.mark.parametrize(
    "kwargs",
    [{"shape": "star"}, {"blades": 2}, {"blades": 5.5}, {"curvature": 1.5}, {"cats_eye": -0.1}],
)
def test_bad_apertures_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        Aperture(**kwargs)  # type: ignore[arg-type]
