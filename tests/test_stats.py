import numpy as np
import pytest

from depthfx.stats import median, percentiles


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_is_numpys_to_the_bit(dtype: type) -> None:
    rng = np.random.default_rng(5)
    for size in [1, 2, 3, 10, 11, 1000, 1001]:
        for scale in (1.0, 1e-3, 1e3):
            values = (rng.random(size) * scale).astype(dtype)
            values[::3] = values[0]  # ties, as depth maps have
            expected, got = np.median(values), median(values)
            assert got == expected and np.asarray(got).dtype == np.asarray(expected).dtype


def test_median_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        median(np.array([], np.float32))


def test_order_statistics_do_not_import_numpy_ma() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\nfrom depthfx.stats import median, percentiles\n"
        "v = np.arange(10.0)\nmedian(v); percentiles(v, [5, 95])\nprint('numpy.ma' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
