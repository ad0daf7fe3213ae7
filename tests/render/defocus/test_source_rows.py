"""Source rows for compositing in place: copies taken before the rows are written."""

from __future__ import annotations

import numpy as np

from depthfx.render.defocus.source_rows import SourceRows


def _photo(alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(0)
    rgb = rng.random((10, 5, 3), dtype=np.float32)
    return rgb, (rng.random((10, 5), dtype=np.float32) if alpha else None)


def test_not_in_place_reads_the_photo_itself() -> None:
    rgb, alpha = _photo(alpha=True)
    rows = SourceRows(rgb, alpha, [0, 4, 8], in_place=False).rows(4, 8)
    colour, opacity = rows.region(3, 9, 1, 4)
    assert np.shares_memory(colour, rgb)
    assert np.array_equal(colour, rgb[3:9, 1:4])
    assert opacity is not None and np.array_equal(opacity, alpha[3:9, 1:4])


def test_in_place_rows_keep_their_margins_from_before_any_row_is_written() -> None:
    for with_alpha in (False, True):
        rgb, alpha = _photo(alpha=with_alpha)
        before_rgb = rgb.copy()
        before_alpha = None if alpha is None else alpha.copy()
        sources = SourceRows(rgb, alpha, [0, 4, 8], in_place=True)
        # The rows of tiles above and below are written first (as another worker would).
        rgb[:4] = -1.0
        rgb[8:] = -2.0
        if alpha is not None:
            alpha[:4] = -1.0
            alpha[8:] = -2.0
        rows = sources.rows(4, 8)
        rgb[4:8] = -3.0  # and then its own rows
        colour, opacity = rows.region(3, 9, 0, 5)
        assert np.array_equal(colour, before_rgb[3:9])
        if before_alpha is not None:
            assert opacity is not None and np.array_equal(opacity, before_alpha[3:9])
        first, last = sources.rows(0, 4), sources.rows(8, 10)
        assert first.first == 0 and first.rgb.shape[0] == 5
        assert last.first == 7 and last.rgb.shape[0] == 3


def test_rows_that_read_nothing_get_no_copy() -> None:
    rgb, alpha = _photo(alpha=False)
    sources = SourceRows(rgb, alpha, [0, 4, 8], in_place=True)
    assert np.shares_memory(sources.rows(4, 8, read=False).rgb, rgb)
    assert not np.shares_memory(sources.rows(4, 8).rgb, rgb)
