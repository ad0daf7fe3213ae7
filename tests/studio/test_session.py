"""Previews use the effects on a downscaled copy; exports equal the equivalent command."""

from __future__ import annotations

import shlex
from pathlib import Path

import cv2
import numpy as np
import pytest
from studio_helpers import open_session
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.errors import InputError
from depthfx.image import read_image
from depthfx.studio.session import StudioSession, preview_shape
from depthfx.studio.settings import parse_settings

runner = CliRunner()


def run_command(command: str, output: Path) -> Path:
    """Run a shown ``depthfx`` command in-process, writing to ``output`` instead."""
    words = shlex.split(command)
    assert words[0] == "depthfx"
    words[words.index("-o") + 1] = str(output)
    result = runner.invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    return output


@pytest.mark.parametrize(
    "data",
    [
        {"choice": "bokeh", "steps": [{"focus": "150,100", "strength": 2.5}]},
        {"choice": "bokeh", "steps": [{"focus": "0.8", "shape": "polygon", "blades": 5}]},
        {"choice": "miniature", "steps": [{"position": 0.3}]},
        {"choice": "miniature", "steps": [{"mode": "band", "position": 0.7}]},
        {"choice": "fog", "steps": [{"density": 0.5, "color": "white", "edge_aware": False}]},
        {"choice": "layers", "steps": [{"count": 3}]},
        {"choice": "preset:portrait", "steps": [{}]},
        {"choice": "preset:dreamy-haze", "steps": [{}, {"focus": "100,120"}]},
    ],
    ids=lambda data: f"{data['choice']}-{len(str(data))}",
)
def test_export_is_what_the_shown_command_writes(
    session: StudioSession, tmp_path: Path, data: dict
) -> None:
    settings = parse_settings(data)
    written = session.export(settings)
    assert written.parent == session.photo_path.parent and written != session.photo_path
    expected = run_command(session.command(settings), tmp_path / f"cli{written.suffix}")
    assert np.array_equal(read_image(written).pixels, read_image(expected).pixels)


def test_preview_is_downscaled_and_scales_the_focus_point(scene: tuple[Path, Path]) -> None:
    session = open_session(*scene, preview_pixels=160 * 120)
    assert session.preview_size == (160, 120) and session.scale == 0.5
    near = parse_settings({"choice": "bokeh", "steps": [{"focus": "160,120", "strength": 3}]})
    far = parse_settings({"choice": "bokeh", "steps": [{"focus": "5,5", "strength": 3}]})
    sharp_square = session.preview_image[50:70, 70:90]
    near_square = session.render_preview(near)[50:70, 70:90]
    far_square = session.render_preview(far)[50:70, 70:90]
    # Focused on the square (full-size 160,120 is the preview's 80,60) it stays sharp.
    assert np.abs(near_square - sharp_square).mean() < np.abs(far_square - sharp_square).mean()
    assert session.preview_jpeg(near)[:2] == b"\xff\xd8"


def test_preview_shape_keeps_the_aspect_and_never_enlarges() -> None:
    assert preview_shape((3000, 4000), 2_000_000) == (1224, 1632)
    assert preview_shape((100, 200), 2_000_000) == (100, 200)


def test_export_never_overwrites_an_input(scene: tuple[Path, Path]) -> None:
    photo, depth = scene
    # A depth picture named as the bokeh export would be.
    clashing = photo.with_name("photo.bokeh.png")
    nearness = np.load(depth)
    cv2.imwrite(str(clashing), np.round(nearness / nearness.max() * 65535).astype(np.uint16))
    before = clashing.read_bytes()
    session = open_session(photo, clashing)
    with pytest.raises(InputError, match="overwrite"):
        session.export(parse_settings({"choice": "bokeh", "steps": [{}]}))
    assert clashing.read_bytes() == before
