"""Parallax preview: layers move by nearness, no holes, a looping animated WebP/GIF."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from depthfx.effects.layers import split_layers
from depthfx.errors import InputError, ParameterError
from depthfx.export import parallax_frames, write_parallax


def _scene():  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    image = (rng.random((90, 120, 3)) * 0.5 + 0.25).astype(np.float32)  # no black anywhere
    nearness = np.zeros((90, 120), np.float32)
    nearness[30:60, 45:75] = 1
    image[30:60, 45:75] = (0.9, 0.05, 0.05)  # a red card in front
    return image, nearness


def _red_centre(frame: np.ndarray) -> np.ndarray:
    red = (frame[:, :, 0] > 200) & (frame[:, :, 1] < 100)
    rows, cols = np.nonzero(red)
    return np.array([cols.mean(), rows.mean()])


def test_near_layer_moves_and_no_holes_open() -> None:
    image, nearness = _scene()
    stack = split_layers(image, nearness, count=2, shadow_opacity=0)
    frames = parallax_frames(stack, frames=8, amplitude=10, ellipse=0.5)
    assert len(frames) == 8 and all(frame.dtype == np.uint8 for frame in frames)
    diagonal = np.hypot(90, 120)
    # Planes 0 and 1 swing about 0.5: each moves half the amplitude, in opposite directions.
    shift = _red_centre(frames[0]) - _red_centre(frames[4])
    assert shift[0] == pytest.approx(0.10 * diagonal, abs=1.0)
    assert abs(shift[1]) < 1.0
    vertical = _red_centre(frames[2]) - _red_centre(frames[6])
    assert vertical[1] == pytest.approx(0.5 * 0.10 * diagonal, abs=1.0)
    # The uncovered background is inpainted: nothing black or transparent shows.
    darkest = min(int(frame.min()) for frame in frames)
    assert darkest >= 40


def test_zero_amplitude_reproduces_the_composite() -> None:
    image, nearness = _scene()
    stack = split_layers(image, nearness, count=2, shadow_opacity=0)
    (frame, *_) = parallax_frames(stack, frames=4, amplitude=0)
    from depthfx.image import to_display

    expected = to_display(image)[1:-1, 1:-1]
    assert frame.shape == expected.shape
    # Only the edge of the card differs (its colour there is refilled for motion).
    assert np.mean(np.abs(frame.astype(int) - expected.astype(int)).max(axis=2) <= 1) > 0.97


@pytest.mark.parametrize("suffix", [".webp", ".gif"])
def test_write_looping_animation(tmp_path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    image, nearness = _scene()
    stack = split_layers(image, nearness, count=2)
    path = write_parallax(tmp_path / f"loop{suffix}", stack, frames=6, seconds=1.2)
    with Image.open(path) as animation:
        assert animation.is_animated and animation.n_frames == 6
        assert animation.info.get("loop") == 0
        width, height = animation.size  # cropped by the largest shift
        assert 100 < width < 120 and 75 < height < 90


def test_bad_arguments(tmp_path) -> None:  # type: ignore[no-untyped-def]
    image, nearness = _scene()
    stack = split_layers(image, nearness, count=2)
    with pytest.raises(InputError, match="extension"):
        write_parallax(tmp_path / "loop.mp4", stack)
    with pytest.raises(ParameterError, match=r"frames must be in 4\.\.240"):
        parallax_frames(stack, frames=2)
    with pytest.raises(ParameterError, match="amplitude"):
        parallax_frames(stack, amplitude=25)
    assert not any(tmp_path.iterdir())


def _magenta(frame: np.ndarray) -> np.ndarray:
    return (frame[:, :, 0] > 180) & (frame[:, :, 1] < 90) & (frame[:, :, 2] > 180)


def test_a_frame_shows_no_pixel_of_a_layer_twice() -> None:
    """A uniquely coloured near disc over a busy background, its depth noisy enough to
    straddle a cut (as real depth does on a featureless object): in every frame the disc
    shows in one place, whole, at its own area (not split into see-through copies)."""
    import cv2

    rng = np.random.default_rng(7)
    height, width = 160, 220
    texture = cv2.GaussianBlur(rng.random((height, width, 3)).astype(np.float32), (0, 0), 1.5)
    image = (0.15 + 0.5 * texture * np.array([0.6, 1.0, 0.5], np.float32)).astype(np.float32)
    yy, xx = np.mgrid[:height, :width]
    disc = (yy - 80) ** 2 + (xx - 110) ** 2 <= 22**2
    image[disc] = (0.95, 0.02, 0.95)
    nearness = np.tile(np.linspace(0, 0.5, width, dtype=np.float32), (height, 1))
    nearness[disc] = rng.uniform(0.2, 0.6, int(disc.sum()))
    stack = split_layers(image, nearness, count=3, shadow_opacity=0)
    frames = parallax_frames(stack, frames=8, amplitude=6, ellipse=0.5)
    area = int(disc.sum())
    for frame in frames:
        shown = _magenta(frame)
        places = cv2.connectedComponents(shown.astype(np.uint8), connectivity=8)[0] - 1
        assert places == 1, f"the disc shows in {places} places"
        assert abs(int(shown.sum()) - area) <= 0.05 * area
