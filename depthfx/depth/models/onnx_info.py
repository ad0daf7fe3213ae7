"""The declared input shape of an ONNX file, read without the ``onnx`` package.

Just enough protobuf reading for it: ModelProto.graph (7) -> GraphProto.input (11) ->
ValueInfoProto.type (2) -> TypeProto.tensor_type (1) -> shape (2) -> dim (1) ->
dim_value (1) | dim_param (2). It lets a wrong ``input_size`` in a record fail with a clear
message before OpenCV runs the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ModelError

if TYPE_CHECKING:
    from .records import ModelRecord

Dim = int | str | None


def _varint(buffer: Any, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _message_fields(
    buffer: Any, start: int, end: int
) -> Iterator[tuple[int, int | tuple[int, int]]]:
    """(field number, varint value or (start, end) of a length-delimited field)."""
    position = start
    while position < end:
        key, position = _varint(buffer, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(buffer, position)
            yield number, value
        elif wire_type == 2:
            length, position = _varint(buffer, position)
            yield number, (position, position + length)
            position += length
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    if position != end:
        raise ValueError("truncated protobuf message")


def _sub(buffer: Any, span: int | tuple[int, int], number: int) -> Iterator[tuple[int, int]]:
    if isinstance(span, tuple):
        for field_number, value in _message_fields(buffer, *span):
            if field_number == number and isinstance(value, tuple):
                yield value


def onnx_input_shapes(path: str | os.PathLike[str]) -> list[tuple[Dim, ...]]:
    """Declared shapes of an ONNX file's graph inputs (ints, symbolic names or None).

    Returns an empty list when the file cannot be read this way (cv2 then decides).

    Examples
    --------
    >>> onnx_input_shapes("pydnet_pp.onnx")  # doctest: +SKIP
    [(1, 3, 448, 640)]
    """
    import mmap

    shapes: list[tuple[Dim, ...]] = []
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            for graph in _sub(data, (0, len(data)), 7):
                for value_info in _sub(data, graph, 11):
                    dims: list[Dim] = []
                    for type_proto in _sub(data, value_info, 2):
                        for tensor in _sub(data, type_proto, 1):
                            for shape in _sub(data, tensor, 2):
                                for dim in _sub(data, shape, 1):
                                    size: Dim = None
                                    for number, value in _message_fields(data, *dim):
                                        if number == 1 and isinstance(value, int):
                                            size = value
                                        elif number == 2 and isinstance(value, tuple):
                                            size = bytes(data[value[0] : value[1]]).decode(
                                                "utf-8", "replace"
                                            )
                                    dims.append(size)
                    shapes.append(tuple(dims))
    except (OSError, ValueError, IndexError):
        return []
    return shapes


def image_input_size(path: str | os.PathLike[str]) -> tuple[Dim, Dim] | None:
    """(width, height) of the image input an ONNX file declares, or None when it has none.

    The image is the first rank-4 (NCHW) input; older exports also list weights as inputs.
    Each side is an int, a symbolic name, or None when undeclared.
    """
    images = [shape for shape in onnx_input_shapes(path) if len(shape) == 4]
    if not images:
        return None
    return images[0][3], images[0][2]


def check_input_size(record: ModelRecord, path: Path) -> None:
    """Compare the record's input size with the image input the ONNX file declares.

    Fully convolutional networks run at any size, so a wrong ``input_size`` would not fail
    at inference; it would silently give worse depth. Inputs with symbolic sizes pass.

    Raises
    ------
    ModelError
        The network declares a fixed image size that the record does not match.
    """
    declared = image_input_size(path)
    if declared is None:
        return
    width, height = declared
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        return
    if record.input_multiple == 0 and record.input_size != (width, height):
        raise ModelError(
            f"{record.source}: input_size is {record.input_size[0]}x{record.input_size[1]} but "
            f"{path.name} expects {width}x{height}; set input_size = [{width}, {height}]"
        )
    if record.input_multiple > 0:
        raise ModelError(
            f"{record.source}: input_multiple is {record.input_multiple} (variable input) but "
            f"{path.name} has a fixed {width}x{height} input; set input_size = [{width}, {height}] "
            "and input_multiple = 0"
        )


__all__ = ["check_input_size", "image_input_size", "onnx_input_shapes"]
