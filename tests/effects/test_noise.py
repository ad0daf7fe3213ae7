"""Fractal noise: range, determinism, and its two interpolation paths agreeing."""

from __future__ import annotations

import numpy as np
import pytest

from depthfx.effects import noise as noise_module
from depthfx.effects.noise import fractal_noise
from depthfx.errors import ParameterError


def test_fractal_noise_range_and_determinism() -> None:
    noise = fractal_noise((120, 80), scale=0.3, octaves=5, seed=11)
    assert noise.shape == (120, 80) and noise.dtype == np.float32
    assert -1 <= noise.min() < -0.2 and 0.2 < noise.max() <= 1
    assert np.array_equal(noise, fractal_noise((120, 80), scale=0.3, octaves=5, seed=11))
    assert not np.array_equal(noise, fractal_noise((120, 80), scale=0.3, octaves=5, seed=12))


@pytest.mark.parametrize(
    ("shape", "scale"),
    [
        ((375, 500), 0.3),
        ((61, 23), 0.05),
        ((9, 7), 0.01),
        ((40, 90), 4.0),
        ((200, 150), 0.02),
        ((3, 2), 0.1),
    ],
)
def test_direct_interpolation_equals_opencv_resize(
    shape: tuple[int, int], scale: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Octaves with few cells are interpolated directly instead of resizing the
    # whole padded grid with OpenCV; both must give the same noise (float rounding apart),
    # including the tiny-cell octaves that resize straight to the output.
    dense = fractal_noise(shape, scale=scale, octaves=6, seed=5)
    monkeypatch.setattr(noise_module, "_FEW_CELLS", 0)
    resized = fractal_noise(shape, scale=scale, octaves=6, seed=5)
    np.testing.assert_allclose(dense, resized, atol=2e-6)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [({"scale": 0.0}, "scale"), ({"octaves": 9}, "octaves"), ({"persistence": 1.5}, "persistence")],
)
def test_bad_options_name_the_parameter(options: dict, pattern: str) -> None:
    with pytest.raises(ParameterError, match=pattern):
        fractal_noise((10, 10), **options)
