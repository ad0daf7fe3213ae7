"""The caller's array for a full-size result (the ``out=`` of the effects that blur)."""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError


def checked_out(out: np.ndarray | None, image: np.ndarray) -> np.ndarray | None:
    """``out`` if it can receive a result the shape of ``image``, else ParameterError.

    It must be a writeable float32 array of the image's shape, and either ``image`` itself
    or an array that shares no memory with it (a partial overlap would be overwritten
    while it is still read).

    Examples
    --------
    >>> image = np.zeros((4, 6, 3), np.float32)
    >>> checked_out(image, image) is image
    True
    >>> checked_out(np.zeros((4, 6), np.float32), image)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ParameterError: out must be a float32 array of shape (4, 6, 3), got float32 (4, 6)
    """
    if out is None:
        return None
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != image.shape:
        got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
        raise ParameterError(f"out must be a float32 array of shape {image.shape}, got {got}")
    if not out.flags.writeable:
        raise ParameterError("out must be writeable")
    if np.may_share_memory(out, image) and not _same_pixels(out, image):
        raise ParameterError(
            "out overlaps the image without being it; give the image or a new array"
        )
    return out


def _same_pixels(first: np.ndarray, second: np.ndarray) -> bool:
    """Whether two arrays of one shape and dtype view the very same memory."""
    return (
        first.__array_interface__["data"][0] == second.__array_interface__["data"][0]
        and first.strides == second.strides
    )
