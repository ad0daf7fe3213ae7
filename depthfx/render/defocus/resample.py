"""Resampling between the renderer's levels: exact 2x reductions, bilinear 2x enlargements
of boxes and regions, reflect padding, level geometry, and the coarse push-pull fill."""

from __future__ import annotations

import cv2
import numpy as np

from ...filters import push_pull


def even_size(array: np.ndarray) -> np.ndarray:
    """Pad rows and columns to even counts by repeating the last one."""
    height, width = array.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return array
    return cv2.copyMakeBorder(array, 0, height % 2, 0, width % 2, cv2.BORDER_REPLICATE)


def half_size(array: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Exact 2x2 box average (both dimensions even), written into ``out`` when given.

    Bilinear sampling at exactly half size lands on the centre of each 2x2 block with
    weights of 1/2, so it is the box average too (to 1 ulp); OpenCV runs it three times
    faster than INTER_AREA on 3-channel float images, and slower on 1-channel ones.
    """
    height, width = array.shape[:2]
    method = cv2.INTER_LINEAR if array.ndim == 3 and array.shape[2] == 3 else cv2.INTER_AREA
    result = cv2.resize(array, (width // 2, height // 2), dst=out, interpolation=method)
    if out is not None and result is not out:  # OpenCV could not write into the view
        out[...] = result
        return out
    return result


def upsample2_within(
    arrays: tuple[np.ndarray, np.ndarray], box: tuple[int, int, int, int] | None, level: int
) -> tuple[np.ndarray, np.ndarray]:
    """2x bilinear upsampling of (C, H, W) planes and an (H, W) plane at ``level`` that are zero
    outside the level-1 ``box``: only the box, plus a margin of zeros, is resampled.

    Bilinear 2x upsampling reads a pixel's neighbours at most one away, so a crop with one
    row and column of zeros around the data (or the array's own border, which OpenCV
    replicates either way) gives the same values as the whole array.
    """
    planes, alpha = arrays
    height, width = alpha.shape
    if box is None:
        return (
            np.zeros((planes.shape[0], height * 2, width * 2), np.float32),
            np.zeros((height * 2, width * 2), np.float32),
        )
    up_planes = np.empty((planes.shape[0], height * 2, width * 2), np.float32)
    up_alpha = np.empty((height * 2, width * 2), np.float32)
    factor = 2 ** (level - 1)
    y0, y1, x0, x1 = box
    y0, x0 = max(0, y0 // factor - 1), max(0, x0 // factor - 1)
    y1, x1 = min(height, -(-y1 // factor) + 1), min(width, -(-x1 // factor) + 1)
    size = (2 * (x1 - x0), 2 * (y1 - y0))
    target = (slice(2 * y0, 2 * y1), slice(2 * x0, 2 * x1))
    for plane, up in (*zip(planes, up_planes, strict=True), (alpha, up_alpha)):
        # Zeros around the box (written once, not under the resampled box as well).
        up[: 2 * y0] = 0.0
        up[2 * y1 :] = 0.0
        up[target[0], : 2 * x0] = 0.0
        up[target[0], 2 * x1 :] = 0.0
        cv2.resize(plane[y0:y1, x0:x1], size, dst=up[target], interpolation=cv2.INTER_LINEAR)
    return up_planes, up_alpha


def upsample2_rows(
    arrays: tuple[np.ndarray, np.ndarray],
    box: tuple[int, int, int, int] | None,
    level: int,
    y0: int,
    y1: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows y0..y1 of :func:`upsample2_within` ``(arrays, box, level)``, the same values.

    Only the rows of the box's crop that bilinear 2x upsampling reads for them are
    resampled: a row of margin each side where the crop goes on (its edges, which OpenCV
    replicates, are those of the whole crop's).
    """
    planes, alpha = arrays
    height, width = alpha.shape
    up_planes = np.zeros((planes.shape[0], y1 - y0, width * 2), np.float32)
    up_alpha = np.zeros((y1 - y0, width * 2), np.float32)
    if box is None:
        return up_planes, up_alpha
    factor = 2 ** (level - 1)
    top, left = max(0, box[0] // factor - 1), max(0, box[2] // factor - 1)
    bottom, right = min(height, -(-box[1] // factor) + 1), min(width, -(-box[3] // factor) + 1)
    first, last = max(y0, 2 * top), min(y1, 2 * bottom)
    if first >= last:
        return up_planes, up_alpha
    c0, c1 = max(top, first // 2 - 1), min(bottom, (last + 1) // 2 + 1)
    size = (2 * (right - left), 2 * (c1 - c0))
    kept = slice(first - 2 * c0, last - 2 * c0)
    for plane, up in (*zip(planes, up_planes, strict=True), (alpha, up_alpha)):
        piece = cv2.resize(plane[c0:c1, left:right], size, interpolation=cv2.INTER_LINEAR)
        up[first - y0 : last - y0, 2 * left : 2 * right] = piece[kept]
    return up_planes, up_alpha


def box_union(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    return (
        min(first[0], second[0]),
        max(first[1], second[1]),
        min(first[2], second[2]),
        max(first[3], second[3]),
    )


def upsample_region(
    arrays: tuple[np.ndarray, ...], y0: int, y1: int, x0: int, x1: int
) -> list[np.ndarray]:
    """Full-resolution region [y0:y1, x0:x1] of level-1 arrays (bilinear, exact 2x geometry)."""
    h0 = max(0, y0 // 2 - 1)
    h1 = min(arrays[0].shape[0], (y1 + 1) // 2 + 1)
    w0 = max(0, x0 // 2 - 1)
    w1 = min(arrays[0].shape[1], (x1 + 1) // 2 + 1)
    results = []
    for array in arrays:
        piece = array[h0:h1, w0:w1]
        up = cv2.resize(piece, ((w1 - w0) * 2, (h1 - h0) * 2), interpolation=cv2.INTER_LINEAR)
        results.append(up[y0 - 2 * h0 : y1 - 2 * h0, x0 - 2 * w0 : x1 - 2 * w0])
    return results


def region_max(array: np.ndarray, y0: int, y1: int, x0: int, x1: int) -> float:
    """Largest level-1 value that bilinear upsampling can bring into a full-res region."""
    piece = array[max(0, y0 // 2 - 1) : y1 // 2 + 2, max(0, x0 // 2 - 1) : x1 // 2 + 2]
    return float(piece.max(initial=0.0))


def reflect_into_padding(array: np.ndarray, height: int, width: int) -> None:
    """Fill rows >= height and columns >= width by mirroring the content (BORDER_REFLECT)."""
    total_h, total_w = array.shape[:2]
    if total_h > height:
        if total_h - height <= height:
            array[height:] = array[
                height - 1 : 2 * height - total_h - 1 if 2 * height - total_h > 0 else None : -1
            ]
        else:
            array[height:] = array[_reflect_indices(height, total_h - height)]
    if total_w > width:
        if total_w - width <= width:
            array[:, width:] = array[
                :, width - 1 : 2 * width - total_w - 1 if 2 * width - total_w > 0 else None : -1
            ]
        else:
            array[:, width:] = array[:, _reflect_indices(width, total_w - width)]


def _reflect_indices(size: int, count: int) -> np.ndarray:
    index = (np.arange(count) + size) % (2 * size)
    return np.where(index < size, index, 2 * size - 1 - index)


def level_shape(shape: tuple[int, ...], level: int) -> tuple[int, int]:
    factor = 2 ** (level - 1)
    return (shape[0] // factor, shape[1] // factor)


def level_slices(box: tuple[int, int, int, int], level: int) -> tuple[slice, slice]:
    factor = 2 ** (level - 1)
    y0, y1, x0, x1 = box
    return slice(y0 // factor, y1 // factor), slice(x0 // factor, x1 // factor)


class CoarseFill:
    """Opaque colour everywhere: premultiplied data where present, extrapolated elsewhere.

    :func:`depthfx.filters.push_pull` (``mode="over"``) run two levels coarser (the fill is
    smooth), enlarged to full size a run of rows at a time (:meth:`rows`): a whole-size
    copy would be three more planes of the arrays given.
    """

    def __init__(self, pre: np.ndarray, alpha: np.ndarray) -> None:
        height, width = alpha.shape
        self.shape = (height, width)
        size = ((width + 3) // 4, (height + 3) // 4)
        self._small = push_pull(
            cv2.resize(pre, size, interpolation=cv2.INTER_AREA),
            cv2.resize(alpha, size, interpolation=cv2.INTER_AREA),
            mode="over",
        )
        # Rows of an exact 4x bilinear enlargement depend only on the small rows around
        # them (the weights repeat every 4 rows), so a crop with a margin row gives the
        # same values; any other ratio is enlarged whole, once.
        self._whole: np.ndarray | None = None
        if height % 4 or width % 4:
            self._whole = cv2.resize(self._small, (width, height), interpolation=cv2.INTER_LINEAR)

    def rows(self, y0: int, y1: int) -> np.ndarray:
        """Rows y0..y1 of the full-size fill, (y1 - y0, W, 3)."""
        if self._whole is not None:
            return self._whole[y0:y1]
        height, width = self.shape
        first = max(0, y0 // 4 - 1)
        last = min(height // 4, -(-y1 // 4) + 1)
        enlarged = cv2.resize(
            self._small[first:last],
            (width, 4 * (last - first)),
            interpolation=cv2.INTER_LINEAR,
        )
        return enlarged[y0 - 4 * first : y1 - 4 * first]
