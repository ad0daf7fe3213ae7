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


def test_the_correction_is_the_same_over_many_bands_of_rows() -> None:
    # Taller than one band of the per-pixel correction: its values are those of the
    # whole-array formula.
    import cv2

    rng = np.random.default_rng(4)
    coverage = (rng.random((150, 60)) > 0.1).astype(np.float32)
    alpha = rng.random((150, 60), dtype=np.float32)
    alpha[:5] = 0.0
    premultiplied = rng.random((150, 60, 3), dtype=np.float32) * alpha[:, :, None]
    interior = cv2.boxFilter(coverage, cv2.CV_32F, (7, 7), borderType=cv2.BORDER_REFLECT)
    interior = np.clip((interior - 0.98) / 0.02, 0.0, 1.0).astype(np.float32)
    target = (1.0 - alpha) * interior + alpha
    gain = np.divide(target, alpha, out=np.ones_like(alpha), where=alpha > 1e-6)
    expected_pre = premultiplied * gain[:, :, None]
    expected_alpha = np.where(alpha > 1e-6, target, alpha)
    fill_solid_interior(premultiplied, alpha, coverage, reach=3)
    np.testing.assert_array_equal(alpha, expected_alpha)
    np.testing.assert_array_equal(premultiplied, expected_pre)
