import numpy as np
import pytest

from depthfx.stats import percentiles


@pytest.mark.parametrize("q", [[0.5, 99.5], [5, 95], [25, 50, 75], [0, 100], [99]])
@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).random((300, 401), dtype=np.float32),
        np.repeat(np.linspace(0.1, 1.0, 97, dtype=np.float32), 50),  # long runs of ties
        np.random.default_rng(1).standard_normal(1001),
        np.arange(7, dtype=np.float32),
    ],
)
def test_percentiles_equal_numpy_linear_method(values, q):
    expected = np.percentile(values, q)
    result = percentiles(values, q)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_percentiles_of_empty_array_raise():
    with pytest.raises(ValueError, match="empty"):
        percentiles(np.zeros((0, 3), np.float32), [50])


def test_sample_step_leaves_about_the_requested_count() -> None:
    from depthfx.stats import sample_step

    assert sample_step(100) == 1
    step = sample_step(4000 * 3000)
    assert 250_000 <= (3000 // step) * (4000 // step) <= 4 * 250_000


def test_extremes_equal_numpy_min_and_max() -> None:
    from depthfx.stats import extremes

    values = np.random.default_rng(2).normal(size=(301, 257)).astype(np.float32)
    assert extremes(values) == (float(values.min()), float(values.max()))
    assert extremes(values[10:50, 3:90]) == (
        float(values[10:50, 3:90].min()),
        float(values[10:50, 3:90].max()),
    )
