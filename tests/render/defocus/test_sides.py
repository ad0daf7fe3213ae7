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
