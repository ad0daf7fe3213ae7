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
