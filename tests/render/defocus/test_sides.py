"""Level-1 data of the renderer: per-tile position ranges and the fine layers' colour."""

from __future__ import annotations

import numpy as np

from depthfx.render.defocus.resample import reflect_into_padding
from depthfx.render.defocus.sides import TILE, FineColour, tile_position_ranges


def test_tile_position_ranges_are_the_extremes_over_covered_pixels() -> None:
    rng = np.random.default_rng(2)
    # More rows of tiles than one band of the computation, and an uneven last band.
    height, width = TILE * 11, TILE * 3
    position = rng.uniform(2.0, 9.0, (height, width)).astype(np.float32)
    coverage = (rng.random((height, width)) > 0.3).astype(np.float32)
    coverage[:TILE, :TILE] = 0.0  # one tile with nothing covered
    low, high = tile_position_ranges(position, coverage)
    assert low.shape == high.shape == (11, 3)
    for row in range(11):
        for col in range(3):
            cells = (slice(row * TILE, (row + 1) * TILE), slice(col * TILE, (col + 1) * TILE))
            covered = position[cells][coverage[cells] > 1e-6]
            if covered.size == 0:
                assert low[row, col] == np.inf and high[row, col] == -np.inf
            else:
                assert low[row, col] == covered.min() and high[row, col] == covered.max()


def test_fine_colour_is_assembled_from_its_tiles_and_mirrored_into_the_padding() -> None:
    rng = np.random.default_rng(1)
    shape = (32, 48)
    colour = FineColour(shape)
    expected = np.zeros((*shape, 3), np.float32)
    for y, x in ((0, 0), (8, 16), (16, 32)):
        block = rng.random((8, 16, 3), dtype=np.float32)
        colour.put((slice(y, y + 8), slice(x, x + 16)), block)
        expected[y : y + 8, x : x + 16] = block
    reflect_into_padding(expected, 27, 40)
    np.testing.assert_array_equal(colour.assemble(27, 40), expected)
    # The tiles were let go: a second assembly is all zeros.
    assert not colour.assemble(27, 40).any()


def test_a_sides_reductions_made_in_bands_are_those_of_the_whole_planes() -> None:
    from depthfx._parallel import set_workers
    from depthfx.render.defocus.resample import half_size
    from depthfx.render.defocus.sides import Side, side_pyramid

    rng = np.random.default_rng(4)
    # Reduced rows over more than two bands of the computation, the last one short.
    height, width = 4 * 150, 96
    coverage = rng.random((height, width), dtype=np.float32)
    coverage[rng.random((height, width)) < 0.2] = 0.0
    side = Side(
        coverage=coverage,
        premultiplied=rng.random((height, width, 3), dtype=np.float32),
        position=rng.uniform(2.0, 9.0, (height, width)).astype(np.float32),
        top_index=9,
    )
    nearer = rng.random((height, width), dtype=np.float32)
    set_workers(2)
    try:
        pyramid = side_pyramid(side, nearer, 3)
    finally:
        set_workers(None)
    assert len(pyramid) == 3
    current, current_nearer = side, nearer
    for reduced, reduced_nearer in pyramid[1:]:
        # The reduction as made on whole planes.
        expected_coverage = half_size(current.coverage)
        weighted = half_size(current.position * current.coverage)
        expected_position = np.divide(
            weighted,
            expected_coverage,
            out=np.full_like(expected_coverage, 2.0),
            where=expected_coverage > 1e-6,
        )
        np.clip(expected_position, 2.0, 9, out=expected_position)
        assert np.array_equal(reduced.coverage, expected_coverage)
        assert np.array_equal(reduced.position, expected_position)
        assert np.array_equal(reduced.premultiplied, half_size(current.premultiplied))
        assert reduced_nearer is not None
        assert np.array_equal(reduced_nearer, half_size(current_nearer))
        current, current_nearer = reduced, reduced_nearer
