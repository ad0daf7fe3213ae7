"""Layer folders: PNGs + manifest that recompose to the source, atomic and refusing to clobber."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depthfx.effects.layers import Layer, composite_layers, split_layers
from depthfx.errors import InputError
from depthfx.export import export_layers, read_layers
from depthfx.image import srgb_to_linear, to_display


def _photo_and_depth(
    height: int = 48, width: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An 8-bit source (as a file would give it), its linear pixels, and a stepped depth."""
    rng = np.random.default_rng(5)
    source = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    linear = srgb_to_linear(source.astype(np.float32) / 255)
    yy, xx = np.mgrid[:height, :width]
    nearness = (
        (xx > width // 3).astype(np.float32)
        + (xx > 2 * width // 3)
        + ((yy - 24) ** 2 + (xx - 20) ** 2 < 80)
    )
    return source, linear, nearness.astype(np.float32)


def _recompose_over(stack: list[Layer]) -> np.ndarray:
    """Plain back-to-front compositing of straight-alpha layers, as an editor does it."""
    result = np.zeros((*stack[0].rgba.shape[:2], 3), np.float32)
    for layer in stack:
        colour, alpha = layer.rgba[:, :, :3], layer.rgba[:, :, 3:]
        if layer.blend == "multiply":
            result = result * (1 - alpha + alpha * colour)
        else:
            result = alpha * colour + (1 - alpha) * result
    return result


def test_exported_layers_recompose_to_the_source_where_nothing_is_shadowed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    source, linear, nearness = _photo_and_depth()
    stack = split_layers(
        linear, nearness, count=3, feather=4.0, shadow_opacity=0.6, shadow_length=8
    )
    folder = export_layers(stack, tmp_path / "layers")
    back = read_layers(folder)
    assert [layer.name for layer in back] == [layer.name for layer in stack]
    recomposed = to_display(_recompose_over(back)).astype(int)
    shadowed = np.zeros(nearness.shape, bool)
    for layer in back:
        if layer.kind == "shadow":
            shadowed |= layer.alpha > 0
    assert shadowed.any() and not shadowed.all()
    difference = np.abs(recomposed - source.astype(int)).max(axis=2)
    assert difference[~shadowed].max() <= 1
    # Where shadows fall, the picture only gets darker.
    assert (recomposed[shadowed] <= source[shadowed].astype(int) + 1).all()


def test_manifest_lists_order_files_kinds_and_depth_ranges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, linear, nearness = _photo_and_depth()
    stack = split_layers(linear, nearness, count=3)
    folder = export_layers(stack, tmp_path / "out")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["width"], manifest["height"]) == (64, 48)
    assert manifest["order"] == "back-to-front"
    entries = manifest["layers"]
    assert [entry["file"] for entry in entries] == sorted(entry["file"] for entry in entries)
    assert all((folder / entry["file"]).is_file() for entry in entries)
    depth_entries = [entry for entry in entries if entry["kind"] == "depth"]
    shadow_entries = [entry for entry in entries if entry["kind"] == "shadow"]
    assert len(depth_entries) == 3 and len(shadow_entries) == 2
    assert all(
        "shadow" in entry["name"] and entry["blend"] == "multiply" for entry in shadow_entries
    )
    ranges = [entry["nearness_range"] for entry in depth_entries]
    assert all(low <= high for low, high in ranges)
    assert [low for low, _ in ranges] == sorted(low for low, _ in ranges)
    assert ranges[0][1] < ranges[1][0]  # disjoint, back to front
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*(e["file"] for e in entries), "manifest.json"]
    )


def test_existing_folder_is_refused_unless_forced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, linear, nearness = _photo_and_depth()
    stack = split_layers(linear, nearness, count=2, shadow_opacity=0)
    target = tmp_path / "layers"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty") as info:
        export_layers(stack, target)
    assert "\n" not in str(info.value)
    assert (target / "keep.txt").read_text() == "mine"
    export_layers(stack, target, force=True)
    assert not (target / "keep.txt").exists() and (target / "manifest.json").is_file()
    # Nothing is left behind beside the target (temporary build or parked folders).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers"]


def test_empty_folder_is_used(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, linear, nearness = _photo_and_depth()
    stack = split_layers(linear, nearness, count=2)
    (tmp_path / "empty").mkdir()
    export_layers(stack, tmp_path / "empty")
    assert (tmp_path / "empty" / "manifest.json").is_file()


def test_missing_parent_and_bad_folders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, linear, nearness = _photo_and_depth()
    stack = split_layers(linear, nearness, count=2)
    with pytest.raises(InputError, match="does not exist"):
        export_layers(stack, tmp_path / "no" / "such")
    with pytest.raises(InputError, match="manifest"):
        read_layers(tmp_path)


def test_real_scene_export_recomposes(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from depthfx.depthmap import DepthMap
    from depthfx.image import read_image

    scene = shared_data / "stereo" / "cones"
    photo = read_image(scene / "left.png")
    depth = DepthMap.load(scene / "gt_disp.png")
    stack = split_layers(photo.pixels, depth, count=5, split="gaps", shadow_opacity=0)
    back = read_layers(export_layers(stack, tmp_path / "cones"))
    source = to_display(photo.pixels).astype(int)
    assert np.abs(to_display(_recompose_over(back)).astype(int) - source).max() <= 1
    assert np.abs(to_display(composite_layers(back)).astype(int) - source).max() <= 1
