"""Reading an ONNX file's declared input shape without the onnx package."""

from __future__ import annotations

from pathlib import Path

import pytest

from depthfx.depth.models.onnx_info import image_input_size, onnx_input_shapes


def test_onnx_input_shapes_without_the_onnx_package(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from onnx_factory import channel_model

    assert onnx_input_shapes(channel_model(tmp_path / "a.onnx", width=8, height=6)) == [
        (1, 3, 6, 8)
    ]
    symbolic = channel_model(tmp_path / "b.onnx", width=8, height=6, fixed_size=False)
    assert onnx_input_shapes(symbolic) == [(1, 3, "h", "w")]
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff")
    assert onnx_input_shapes(junk) == []
    assert image_input_size(symbolic) == ("w", "h") and image_input_size(junk) is None
    assert image_input_size(tmp_path / "a.onnx") == (8, 6)
