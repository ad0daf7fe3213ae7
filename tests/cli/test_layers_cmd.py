"""``depthfx layers`` through typer's CliRunner."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import encode_srgb8, read_image

runner = CliRunner()


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


def test_layers_without_exports_composes_without_building_the_stack(scene, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from depthfx.effects.layers import Layers, composite_layers

    folder, photo, depth = scene
    source = read_image(photo).pixels
    expected = composite_layers(Layers(count=3).layer_stack(source, np.load(depth)))

    def no_stack(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the layer stack was built for a plain output")

    monkeypatch.setattr(Layers, "layer_stack", no_stack)
    result = runner.invoke(
        app, ["layers", str(photo), "--depth", str(depth), "-n", "3", "-o", str(folder / "o.png")]
    )
    assert result.exit_code == 0, result.output
    out = read_image(folder / "o.png").pixels
    written = encode_srgb8(out).astype(int)
    assert np.abs(written - encode_srgb8(expected)).max() <= 1  # 8-bit rounding
    assert (out < source - 0.01).any()


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
def test_layers_bad_input_is_one_line_and_writes_nothing(
    scene, one_error_line, extra, message
) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    extra = [str(folder / item) if item.endswith((".mp4", ".zip")) else item for item in extra]
    result = runner.invoke(
        app, ["layers", str(photo), "--depth", str(depth), "-o", str(folder / "out.png"), *extra]
    )
    assert message in one_error_line(result)
    assert not (folder / "out.png").exists()


def test_export_into_a_non_empty_folder_needs_force(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
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
    assert "not empty" in one_error_line(runner.invoke(app, arguments))
    assert not (folder / "out.png").exists() and (target / "old.txt").exists()
    result = runner.invoke(app, [*arguments, "--force"])
    assert result.exit_code == 0, result.output
    assert (target / "manifest.json").is_file() and not (target / "old.txt").exists()


def test_layers_without_depth_source_is_one_line(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    folder, photo, _ = scene
    assert "no depth given" in one_error_line(
        runner.invoke(app, ["layers", str(photo), "-o", str(folder / "o.png")])
    )


def test_help_works() -> None:
    result = runner.invoke(app, ["layers", "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_layers_help_lists_the_options_of_the_layers_dataclass() -> None:
    result = runner.invoke(app, ["layers", "--help"])
    assert result.exit_code == 0
    for option in ("--count", "-n", "--split", "--light-angle", "--shadow-color", "--parallax"):
        assert option in result.output


def test_layers_options_by_their_own_names_and_aliases(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    common = ["layers", str(photo), "--depth", str(depth), "--feather", "0"]
    for name, extra in [("short", ["-n", "2"]), ("long", ["--count", "2"])]:
        result = runner.invoke(app, [*common, *extra, "-o", str(folder / f"{name}.png")])
        assert result.exit_code == 0, result.output
    assert (folder / "short.png").read_bytes() == (folder / "long.png").read_bytes()
    # A white shadow multiplies by one: the photo comes back.
    white = ["-n", "3", "--shadow-color", "white"]
    result = runner.invoke(app, [*common, *white, "-o", str(folder / "w.png")])
    assert result.exit_code == 0, result.output
    assert np.allclose(read_image(folder / "w.png").pixels, read_image(photo).pixels, atol=1e-3)
    result = runner.invoke(app, [*common, "--shadow-color", "nope", "-o", str(folder / "x.png")])
    assert "shadow_color must be a name" in one_error_line(result)


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
