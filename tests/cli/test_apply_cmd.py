"""``depthfx apply`` and ``depthfx presets list|show``."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image, to_display
from depthfx.presets import load_preset, preset_names

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_batch import write_depth, write_photo, write_teddy_pair


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def test_presets_list_shows_every_shipped_preset() -> None:
    code, output = run("presets", "list")
    assert code == 0
    lines = output.strip().splitlines()
    assert [line.split()[0] for line in lines] == preset_names()
    assert "cannot be loaded" not in output


def test_presets_show_prints_loadable_toml(tmp_path: Path) -> None:
    code, output = run("presets", "show", "diorama")
    assert code == 0
    assert tomllib.loads(output) == load_preset("diorama").to_dict()
    copy = tmp_path / "mine.toml"
    copy.write_text(output, encoding="utf-8")
    code, again = run("presets", "show", copy)
    assert code == 0 and again.replace("# preset: mine", "# preset: diorama") == output


def test_presets_show_unknown_name_lists_presets() -> None:
    code, output = run("presets", "show", "vintage")
    assert code == 2 and "unknown preset 'vintage'" in output and "portrait" in output


def test_apply_with_depth_file_matches_the_library(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.png", size=(40, 60))
    depth = write_depth(image)
    out = tmp_path / "out.png"
    code, output = run("apply", image, "--preset", "diorama", "--depth", depth, "-o", out)
    assert code == 0, output
    photo = read_image(image)
    expected = load_preset("diorama").apply(photo.pixels, np.load(depth))
    np.testing.assert_array_equal(
        read_image(out).pixels, read_image_from(to_display(expected), tmp_path)
    )


def read_image_from(display: np.ndarray, folder: Path) -> np.ndarray:
    import cv2

    path = folder / "expected.png"
    cv2.imwrite(str(path), cv2.cvtColor(display, cv2.COLOR_RGB2BGR))
    return read_image(path).pixels


def test_apply_finds_the_depth_file_beside_the_photo(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.jpg")
    write_depth(image, suffix=".png")
    out = tmp_path / "p_out.jpg"
    code, output = run("apply", image, "-p", "diorama", "-o", out)
    assert code == 0, output
    assert read_image(out).shape == (48, 64)


def test_apply_stereo_pair_and_user_preset(tmp_path: Path, examples_dir: Path) -> None:
    left, right = tmp_path / "l.png", tmp_path / "r.png"
    write_teddy_pair(examples_dir, left, right)
    preset = tmp_path / "haze.toml"
    preset.write_text('version = 1\ndescription = "x"\n[[steps]]\neffect = "fog"\ndensity = 0.6\n')
    out = tmp_path / "out.jpg"
    code, output = run("apply", left, "-p", preset, "--right", right, "-o", out)
    assert code == 0, output
    assert read_image(out).shape == (125, 150)


@pytest.mark.parametrize(
    ("preset_text", "message"),
    [
        ('[[steps]]\neffect = "fgo"\n', "bad.toml:2: unknown effect 'fgo'"),
        ('[[steps]]\neffect = "fog"\ndensty = 1\n', "bad.toml:3: unknown key 'densty'"),
    ],
)
def test_apply_bad_preset_is_one_line_with_file_and_line(
    tmp_path: Path, preset_text: str, message: str
) -> None:
    image = write_photo(tmp_path / "p.png")
    write_depth(image)
    preset = tmp_path / "bad.toml"
    preset.write_text(preset_text)
    out = tmp_path / "out.png"
    code, output = run("apply", image, "-p", preset, "-o", out)
    assert code == 2 and output.count("\n") == 1 and message in output, output
    assert not out.exists()


def test_apply_refuses_bad_output_before_work(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.png")
    depth = write_depth(image)
    code, output = run("apply", image, "-p", "diorama", "-d", depth, "-o", image)
    assert code == 2 and "overwrite the input" in output
    code, output = run("apply", image, "-p", "diorama", "-d", depth, "-o", tmp_path / "x.gif")
    assert code == 2 and "extension" in output


def test_apply_help() -> None:
    code, output = run("apply", "--help")
    assert code == 0 and "--preset" in output and "--mono" in output


def test_apply_finds_the_right_view_by_name(tmp_path: Path, examples_dir: Path) -> None:
    left, right = tmp_path / "toy_L.png", tmp_path / "toy_R.png"
    write_teddy_pair(examples_dir, left, right)
    out = tmp_path / "out.png"
    code, output = run("apply", left, "-p", "miniature-city", "-o", out)
    assert code == 0, output
    assert read_image(out).shape == (125, 150)


def test_apply_says_which_focus_each_bokeh_step_chose(tmp_path: Path) -> None:
    image = write_photo(tmp_path / "p.png", size=(40, 60))
    depth = write_depth(image)
    preset = tmp_path / "point.toml"
    preset.write_text('[[steps]]\neffect = "bokeh"\nfocus = [10, 20]\n', encoding="utf-8")
    code, output = run("apply", image, "-p", preset, "--depth", depth, "-o", tmp_path / "o.png")
    assert code == 0, output
    nearness = float(np.load(depth)[20, 10])
    assert f"step 1 (Bokeh): focus: point at (10, 20), nearness {nearness:.4g}" in output
    code, output = run("apply", image, "-p", "portrait", "--depth", depth, "-o", tmp_path / "q.png")
    assert code == 0 and "(Bokeh): focus: " in output, output
