"""The public Python API: everything in ``depthfx.__all__`` exists and works end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import depthfx


def test_every_public_name_resolves() -> None:
    missing = [name for name in depthfx.__all__ if not hasattr(depthfx, name)]
    assert missing == []


def test_python_round_trip_photo_depth_effect_file(tmp_path: Path, examples_dir: Path) -> None:
    photo = depthfx.read_image(examples_dir / "teddy_left.jpg")
    height, width = photo.shape
    # A synthetic depth file: the lower half is nearer.
    nearness = np.where(np.arange(height)[:, None] > height // 2, 1.0, 0.2)
    np.save(tmp_path / "depth.npy", np.broadcast_to(nearness, (height, width)).astype(np.float32))
    depth = depthfx.read_depth(tmp_path / "depth.npy")
    foggy = depthfx.fog(photo.pixels, depth, density=0.5)
    out = depthfx.write_image(tmp_path / "foggy.png", foggy, like=photo)
    back = depthfx.read_image(out)
    assert back.shape == photo.shape
    # fog is thicker far away (top) than near (bottom): less contrast at the top
    top_contrast = back.pixels[: height // 3].std()
    assert top_contrast < photo.pixels[: height // 3].std()
