"""``depthfx layers`` and ``depthfx insert`` through typer's CliRunner."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image, write_image

runner = CliRunner()


@pytest.fixture()
def scene(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    image = (rng.random((60, 80, 3)) * 0.6 + 0.2).astype(np.float32)
    photo = write_image(tmp_path / "photo.png", image)
    nearness = np.zeros((60, 80), np.float32)
    nearness[:, 40:] = 0.5
    nearness[20:40, 20:50] = 1.0
    depth = tmp_path / "depth.npy"
    np.save(depth, nearness)
    return tmp_path, photo, depth


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("depthfx: error:")
    return lines[0]


def test_layers_writes_output_exports_and_parallax(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = runner.invoke(
        app,
        [
            "layers", str(photo), "--depth", str(depth), "-n", "3", "--split", "gaps",
            "-o", str(folder / "out.png"),
            "--export", str(folder / "stack"), "--export", str(folder / "stack.ora"),
            "--parallax", str(folder / "loop.gif"), "--parallax-frames", "6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = read_image(folder / "out.png").pixels
    source = read_image(photo).pixels
    assert (
        out.shape == source.shape and (out <= source + 1e-3).all() and (out < source - 0.01).any()
    )
    manifest = json.loads((folder / "stack" / "manifest.json").read_text())
    assert sum(entry["kind"] == "depth" for entry in manifest["layers"]) == 3
    with zipfile.ZipFile(folder / "stack.ora") as archive:
        assert archive.namelist()[0] == "mimetype"
    with Image.open(folder / "loop.gif") as animation:
        assert animation.n_frames == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-n", "1"], "count must be in 2..32"),
        (["-n", "9"], "count must be in 2..3"),  # the depth map has three distinct values
        (["--split", "middle"], "split must be"),
        (["--shadow-opacity", "3"], "shadow_opacity must be in 0..1"),
        (["--parallax", "x.mp4"], "extension"),
        (["--export", "stack.zip"], "--export takes a folder"),
    ],
)
def test_layers_bad_input_is_one_line_and_writes_nothing(scene, extra, message) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    extra = [str(folder / item) if item.endswith((".mp4", ".zip")) else item for item in extra]
    result = runner.invoke(
        app, ["layers", str(photo), "--depth", str(depth), "-o", str(folder / "out.png"), *extra]
    )
    assert message in _one_error_line(result)
    assert not (folder / "out.png").exists()


def test_export_into_a_non_empty_folder_needs_force(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    target = folder / "stack"
    target.mkdir()
    (target / "old.txt").write_text("old")
    arguments = [
        "layers",
        str(photo),
        "--depth",
        str(depth),
        "-n",
        "3",
        "-o",
        str(folder / "out.png"),
    ]
    arguments += ["--export", str(target)]
    assert "not empty" in _one_error_line(runner.invoke(app, arguments))
    assert not (folder / "out.png").exists() and (target / "old.txt").exists()
    result = runner.invoke(app, [*arguments, "--force"])
    assert result.exit_code == 0, result.output
    assert (target / "manifest.json").is_file() and not (target / "old.txt").exists()


def test_layers_without_depth_source_is_one_line(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, _ = scene
    assert "no depth given" in _one_error_line(
        runner.invoke(app, ["layers", str(photo), "-o", str(folder / "o.png")])
    )


def test_insert_places_overlay_behind_near_object(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    sticker = np.zeros((20, 70, 4), np.float32)
    sticker[:, :] = (0.0, 0.0, 1.0, 1.0)
    overlay = write_image(folder / "sticker.png", sticker)
    result = runner.invoke(
        app,
        [
            "insert", str(photo), str(overlay), "--at", "40,30", "--depth-of-overlay", "0.75",
            "--depth", str(depth), "--feather", "0", "-o", str(folder / "out.png"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = read_image(folder / "out.png").pixels
    source = read_image(photo).pixels
    assert np.allclose(out[30, 10], (0, 0, 1), atol=1e-3)  # far background: overlay shows
    assert np.allclose(out[30, 30], source[30, 30], atol=1e-3)  # near object (1.0) hides it
    assert np.allclose(out[30, 60], (0, 0, 1), atol=1e-3)  # middle plane (0.5) is behind it


@pytest.mark.parametrize(
    ("at", "depth_value", "message"),
    [("12", "0.5", "--at must be X,Y"), ("1,2", "1.5", "--depth-of-overlay must be in 0..1")],
)
def test_insert_bad_options(scene, at: str, depth_value: str, message: str) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    overlay = write_image(folder / "s.png", np.ones((4, 4, 3), np.float32))
    result = runner.invoke(
        app,
        ["insert", str(photo), str(overlay), "--at", at, "--depth-of-overlay", depth_value,
         "--depth", str(depth), "-o", str(folder / "out.png")],
    )  # fmt: skip
    assert message in _one_error_line(result)


def test_insert_unreadable_overlay(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    bad = folder / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    result = runner.invoke(
        app,
        ["insert", str(photo), str(bad), "--at", "1,2", "--depth-of-overlay", "0.5",
         "--depth", str(depth), "-o", str(folder / "out.png")],
    )  # fmt: skip
    assert "bad.png" in _one_error_line(result)
    assert not (folder / "out.png").exists()


def test_help_works() -> None:
    for command in ("layers", "insert"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_real_scene_with_gt_depth(shared_data, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scene = shared_data / "stereo" / "Art"
    result = runner.invoke(
        app,
        [
            "layers", str(scene / "left.png"), "--depth", str(scene / "gt_disp.png"), "-n", "5",
            "--split", "gaps", "-o", str(tmp_path / "art.jpg"), "--export", str(tmp_path / "art.ora"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    from depthfx.export import read_ora

    assert len(read_ora(tmp_path / "art.ora").layers) == 9


def test_shadows_command_darkens_beside_the_near_object(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = runner.invoke(
        app,
        [
            "shadows", str(photo), "--depth", str(depth), "--azimuth", "180", "--elevation", "30",
            "--height", "20", "--opacity", "0.8", "-o", str(folder / "lit.png"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lit = read_image(folder / "lit.png").pixels
    source = read_image(photo).pixels
    assert (lit <= source + 1e-3).all()
    # Light from the left: the near block (cols 20..49, rows 20..39) shades the floor to its right.
    assert (lit[30, 52] < 0.5 * source[30, 52]).all()
    assert np.allclose(lit[5, 5], source[5, 5], atol=1e-3)


def test_shadows_command_bad_elevation(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = runner.invoke(
        app,
        [
            "shadows",
            str(photo),
            "--depth",
            str(depth),
            "--elevation",
            "95",
            "-o",
            str(folder / "lit.png"),
        ],
    )
    assert "elevation must be in 1..89" in _one_error_line(result)
