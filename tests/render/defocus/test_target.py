"""The caller's out= array: checked before any work."""

from __future__ import annotations

import numpy as np
import pytest

from depthfx.errors import ParameterError
from depthfx.render.defocus.target import checked_out


def test_none_and_fitting_arrays_pass_through() -> None:
    image = np.zeros((4, 6, 3), np.float32)
    assert checked_out(None, image) is None
    assert checked_out(image, image) is image
    other = np.empty_like(image)
    assert checked_out(other, image) is other


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (np.zeros((4, 6, 4), np.float32), "shape"),
        (np.zeros((4, 6, 3), np.float16), "float32"),
        ("pixels", "str"),
    ],
)
def test_misfits_are_refused_by_name(out: object, message: str) -> None:
    image = np.zeros((4, 6, 3), np.float32)
    with pytest.raises(ParameterError, match=rf"out must .*{message}"):
        checked_out(out, image)  # type: ignore[arg-type]


def test_read_only_and_partly_overlapping_arrays_are_refused() -> None:
    image = np.zeros((4, 6, 3), np.float32)
    frozen = image.copy()
    frozen.flags.writeable = False
    with pytest.raises(ParameterError, match="writeable"):
        checked_out(frozen, image)
    storage = np.zeros((5, 6, 3), np.float32)
    with pytest.raises(ParameterError, match="overlaps"):
        checked_out(storage[1:], storage[:4])
