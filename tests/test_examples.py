"""The scripts in examples/ run and write what they say (on the small teddy pair)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from depthfx.image import read_image
from depthfx.presets import preset_names

REPO = Path(__file__).resolve().parents[1]


def run_example(script: str, *args: str | Path) -> str:
    completed = subprocess.run(
        [sys.executable, str(REPO / "examples" / script), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_stereo_pair_then_single_photo_with_its_depth(tmp_path: Path) -> None:
    output = run_example("stereo_pair.py", "--preset", "diorama", "--out", tmp_path)
    assert "disparity" in output
    depth = tmp_path / "teddy_left.depth.npy"
    assert depth.is_file() and (tmp_path / "teddy_left_depth.png").is_file()
    assert read_image(tmp_path / "teddy_left_diorama.jpg").shape == (375, 450)
    out = tmp_path / "single"
    run_example(
        "single_photo.py",
        REPO / "examples" / "teddy_left.jpg",
        "--depth",
        depth,
        "--preset",
        "miniature-city",
        "--out",
        out,
    )
    assert read_image(out / "teddy_left_miniature-city.jpg").shape == (375, 450)


def test_single_photo_with_a_monocular_model(tmp_path: Path, shared_data: Path) -> None:
    model = shared_data / "models" / "pydnet_pp.onnx"
    if not model.is_file():
        pytest.skip("PyDNet model not in the shared data")
    run_example(
        "single_photo.py",
        REPO / "examples" / "teddy_left.jpg",
        "--model",
        model,
        "--preset",
        "diorama",
        "--out",
        tmp_path,
    )
    assert read_image(tmp_path / "teddy_left_diorama.jpg").shape == (375, 450)


def test_custom_chain_saves_a_preset_and_applies_it(tmp_path: Path) -> None:
    output = run_example("custom_chain.py", "--out", tmp_path)
    preset = tomllib.loads((tmp_path / "blue-toytown.toml").read_text(encoding="utf-8"))
    assert [step["effect"] for step in preset["steps"]] == ["fog", "miniature"]
    assert preset["steps"][1]["mask"] == [0.0, 0.5]
    assert "wrote" in output and (tmp_path / "teddy_blue-toytown.jpg").is_file()


def test_batch_folder_pairs_the_example_and_resumes(tmp_path: Path) -> None:
    output = run_example("batch_folder.py", "--out", tmp_path, "--jobs", "1")
    assert "done 1, skipped 0, failed 0" in output
    assert read_image(tmp_path / "teddy.jpg").shape == (375, 450)
    assert (tmp_path / "teddy.depth.npz").is_file()
    assert "done 0, skipped 1, failed 0" in run_example("batch_folder.py", "--out", tmp_path)


def test_gallery_renders_every_preset(tmp_path: Path) -> None:
    run_example("gallery.py", "--out", tmp_path, "--width", "200")
    for name in preset_names():
        assert read_image(tmp_path / f"presets_{name}.jpg").shape == (167, 200)
    assert (tmp_path / "presets_original.jpg").is_file() and (
        tmp_path / "presets_all.jpg"
    ).is_file()
