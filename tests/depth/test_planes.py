"""Plain regions filled from robust plane fits."""

from __future__ import annotations

import numpy as np

from depthfx.depth.planes import fill_plain_regions, fit_plane, plain_regions


def test_plane_fit_ignores_outliers() -> None:
    rng = np.random.default_rng(0)
    xs, ys = rng.random(300) * 200, rng.random(300) * 100
    values = 0.05 * xs - 0.1 * ys + 20.0
    values[:60] += rng.uniform(-15, 15, 60)  # 20 % wrong matches
    found = fit_plane(xs, ys, values, rng)
    assert found is not None
    plane, share = found
    assert np.allclose(plane, [0.05, -0.1, 20.0], atol=0.05)
    assert 0.78 <= share <= 0.85


def test_plain_wall_holes_get_the_wall_plane() -> None:
    rng = np.random.default_rng(1)
    height, width = 90, 160
    guide = rng.random((height, width, 3)).astype(np.float32)
    guide[10:80, 40:140] = 0.6  # a plain wall
    columns = np.arange(width, dtype=np.float32)[None, :]
    truth = np.broadcast_to(10.0 + 0.05 * columns, (height, width)).astype(np.float32)
    valid = rng.random((height, width)) < 0.9
    valid[10:80, 40:140] = rng.random((70, 100)) < 0.1  # few matches on the wall...
    raw = truth + np.where(rng.random((height, width)) < 0.15, 8.0, 0.0).astype(np.float32)
    raw[~valid] = -1.0
    streaky = np.where(valid, raw, 30.0).astype(np.float32)  # ...and a bad fill
    out, replaced = fill_plain_regions(streaky, raw, valid, guide)
    inner = (slice(13, 77), slice(43, 137))  # the wall less the contrast window's reach
    holes = ~valid[inner]
    assert replaced[inner][holes].all()
    assert float(np.abs(out[inner][holes] - truth[inner][holes]).max()) < 0.5
    # Measured pixels and textured areas are left alone.
    assert np.array_equal(out[valid], streaky[valid])
    assert not replaced[:, :30].any()


def test_precomputed_regions_and_grey_guide_give_the_same_fill() -> None:
    rng = np.random.default_rng(3)
    guide = rng.random((60, 90, 3)).astype(np.float32)
    guide[5:55, 20:80] = 0.4
    raw = (5.0 + 0.1 * np.arange(90, dtype=np.float32))[None, :].repeat(60, axis=0)
    valid = rng.random((60, 90)) < 0.5
    filled = np.where(valid, raw, 0.0).astype(np.float32)
    expected = fill_plain_regions(filled, raw, valid, guide)
    grey = guide.mean(axis=2)
    for found in (
        fill_plain_regions(filled, raw, valid, grey),
        fill_plain_regions(filled, raw, valid, guide, regions=plain_regions(grey)),
    ):
        assert np.array_equal(found[0], expected[0])
        assert np.array_equal(found[1], expected[1])
    assert expected[1].any()


def test_textured_picture_has_no_plain_regions() -> None:
    guide = np.random.default_rng(2).random((50, 50, 3)).astype(np.float32)
    count, labels = plain_regions(guide)
    assert count == 1 and not labels.any()
