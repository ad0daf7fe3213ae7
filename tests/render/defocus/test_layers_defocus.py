"""Layer maths of the defocus renderer (depthfx/render/defocus/layers.py)."""

from __future__ import annotations

import numpy as np

from depthfx.render.defocus.layers import ramp_down, ramp_from


def test_layer_ramps_are_linear_between_the_transition_band() -> None:
    distance = np.linspace(-1.0, 3.0, 401, dtype=np.float32)
    expected = np.clip(2.0 * distance - 0.5, 0.0, 1.0)  # transition of half a layer
    np.testing.assert_allclose(ramp_down(distance.copy()), 1.0 - expected, atol=1e-6)
    position = np.linspace(0.0, 8.0, 801, dtype=np.float32)
    out = np.empty_like(position)
    rising = np.clip(2.0 * (position - 5.0) - 0.5, 0.0, 1.0)
    falling = np.clip(2.0 * (5.0 - position) - 0.5, 0.0, 1.0)
    np.testing.assert_allclose(ramp_from(position, 5.0, rising=True, out=out), rising, atol=1e-6)
    np.testing.assert_allclose(ramp_from(position, 5.0, rising=False, out=out), falling, atol=1e-6)
