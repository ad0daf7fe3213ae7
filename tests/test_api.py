"""The public Python API: everything in ``depthfx.__all__`` exists and works end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import depthfx


def test_every_public_name_resolves() -> None:
    missing = [name for name in depthfx.__all__ if not hasattr(depthfx, name)]
    assert missing == []


def test_the_top_level_is_small_and_lists_what_it_exports() -> None:
    assert len(depthfx.__all__) <= 30
    assert sorted(depthfx.__all__) == sorted(["__version__", *depthfx._EXPORTS])
    assert set(dir(depthfx)) >= set(depthfx.__all__)
    with pytest.raises(AttributeError, match="no attribute 'render_defocus'"):
        _ = depthfx.render_defocus


def test_importing_depthfx_imports_no_heavy_module() -> None:
    code = (
        "import sys, depthfx; "
        "print(sorted(m for m in ('numpy', 'cv2', 'PIL', 'typer') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=Path(depthfx.__file__).parents[1],
    )  # fmt: skip
    assert found.stdout.strip() == "[]"


def test_subpackages_hold_the_rest() -> None:
    from depthfx.depth.calibration import StereoCalibration
    from depthfx.effects.shadows import Shadows
    from depthfx.export import write_ora
    from depthfx.presets import preset_names

    assert callable(write_ora) and "portrait" in preset_names()
    assert StereoCalibration.__name__ == "StereoCalibration" and Shadows.__name__ == "Shadows"


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
