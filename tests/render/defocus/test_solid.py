import numpy as np

from depthfx.render.defocus.solid import fill_solid_interior


def test_alpha_rises_to_one_only_where_the_side_covers_the_whole_reach() -> None:
    coverage = np.zeros((40, 40), np.float32)
    coverage[:, 20:] = 1.0
    alpha = np.full((40, 40), 0.9, np.float32)
    premultiplied = np.repeat((alpha * 0.25)[:, :, None], 3, axis=2)
    fill_solid_interior(premultiplied, alpha, coverage, reach=4)
    # Deep inside the side: opaque, the colour kept.
    assert np.allclose(alpha[:, 30:], 1.0)
    assert np.allclose(premultiplied[:, 30:] / alpha[:, 30:, None], 0.25)
    # Within the reach of its edge, and outside: untouched.
    assert np.allclose(alpha[:, :24], 0.9)
    assert np.allclose(premultiplied[:, :24], 0.9 * 0.25)
