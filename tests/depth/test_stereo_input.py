"""Stereo inputs: two files, side-by-side pictures, MPO files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from depthfx.depth.stereo_input import is_stereo_file, read_stereo_pair, sbs_layout_from_name
from depthfx.errors import InputError, ParameterError


def gradient(width: int, height: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def save(path: Path, pixels: np.ndarray, **options: object) -> Path:
    Image.fromarray(pixels).save(path, **options)
    return path


def test_two_files(tmp_path: Path) -> None:
    left_pixels, right_pixels = gradient(40, 30, 1), gradient(40, 30, 2)
    left, right = read_stereo_pair(
        save(tmp_path / "l.png", left_pixels), save(tmp_path / "r.png", right_pixels)
    )
    assert left.shape == right.shape == (30, 40)
    assert left.path == tmp_path / "l.png" and right.path == tmp_path / "r.png"
    # Pixels decoded through sRGB: compare the encoded values.
    assert np.allclose(np.round(left.pixels ** (1 / 2.2) * 255), left_pixels, atol=12)


def test_two_files_of_different_sizes_name_both_sizes(tmp_path: Path) -> None:
    left = save(tmp_path / "l.png", gradient(40, 30))
    right = save(tmp_path / "r.png", gradient(42, 30))
    with pytest.raises(InputError, match=r"l\.png is 40x30 but right view r\.png is 42x30"):
        read_stereo_pair(left, right)


def test_same_file_twice_is_refused(tmp_path: Path) -> None:
    left = save(tmp_path / "l.png", gradient(40, 30))
    with pytest.raises(InputError, match="same file"):
        read_stereo_pair(left, left)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = gradient(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    left = save(tmp_path / "l.jpg", pixels, exif=exif.tobytes())
    right = save(tmp_path / "r.jpg", pixels, exif=exif.tobytes())
    first, second = read_stereo_pair(left, right)
    assert first.shape == second.shape == (40, 30)


@pytest.mark.parametrize(("layout", "left_seed"), [("parallel", 1), ("cross", 2)])
def test_side_by_side_halves(tmp_path: Path, layout: str, left_seed: int) -> None:
    halves = {1: gradient(20, 16, 1), 2: gradient(20, 16, 2)}
    path = save(tmp_path / "sbs.png", np.concatenate([halves[1], halves[2]], axis=1))
    left, right = read_stereo_pair(path, sbs=layout)
    assert left.shape == right.shape == (16, 20)
    reference, _ = read_stereo_pair(
        save(tmp_path / "a.png", halves[left_seed]), save(tmp_path / "b.png", halves[3 - left_seed])
    )
    assert np.array_equal(left.pixels, reference.pixels)


def test_side_by_side_with_odd_width_drops_the_middle_column(tmp_path: Path) -> None:
    path = save(tmp_path / "sbs.png", gradient(41, 16))
    left, right = read_stereo_pair(path, sbs="parallel")
    assert left.shape == right.shape == (16, 20)


def test_side_by_side_layout_is_checked(tmp_path: Path) -> None:
    path = save(tmp_path / "sbs.png", gradient(40, 16))
    with pytest.raises(ParameterError, match="'parallel' or 'cross'"):
        read_stereo_pair(path, sbs="diagonal")
    with pytest.raises(ParameterError, match="not both"):
        read_stereo_pair(path, path, sbs="parallel")


def test_side_by_side_named_file_needs_no_option(tmp_path: Path) -> None:
    pixels = np.concatenate([gradient(20, 16, 1), gradient(20, 16, 2)], axis=1)
    parallel = save(tmp_path / "holiday.left-right.png", pixels)
    cross = save(tmp_path / "holiday.right-left.png", pixels)
    assert is_stereo_file(parallel) and is_stereo_file(cross)
    first, _ = read_stereo_pair(parallel)
    _, second = read_stereo_pair(cross)
    assert np.array_equal(first.pixels, second.pixels)  # both are the left half
    assert sbs_layout_from_name("copyright.jpg") is None  # "right" alone is not a layout


def test_mpo_frames_are_left_then_right(tmp_path: Path) -> None:
    first, second = Image.fromarray(gradient(48, 32, 1)), Image.fromarray(gradient(48, 32, 2))
    path = tmp_path / "pair.mpo"
    first.save(path, format="MPO", save_all=True, append_images=[second], quality=100)
    assert is_stereo_file(path)
    left, right = read_stereo_pair(path)
    assert left.shape == right.shape == (32, 48)
    assert left.path == path
    assert not np.array_equal(left.pixels, right.pixels)
    # frame 1 is the left eye
    with Image.open(path) as pil:
        pil.seek(0)
        frame0 = np.asarray(pil.convert("RGB"), dtype=np.float32) / 255
    assert np.allclose(left.pixels ** (1 / 2.4), frame0, atol=0.1)


def test_single_photo_is_not_a_stereo_pair(tmp_path: Path) -> None:
    path = save(tmp_path / "photo.jpg", gradient(40, 30))
    assert not is_stereo_file(path)
    with pytest.raises(
        InputError, match="is one photo, not a stereo pair; give the right view with --right"
    ):
        read_stereo_pair(path)


def test_single_frame_mpo_is_not_a_stereo_pair(tmp_path: Path) -> None:
    path = tmp_path / "one.mpo"
    Image.fromarray(gradient(40, 30)).save(path, format="MPO")
    assert not is_stereo_file(path)
    with pytest.raises(InputError, match="not a stereo pair"):
        read_stereo_pair(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("gone.jpg", None, "not found"), ("bad.jpg", b"\xff\xd8garbage", "not a readable image")],
)
def test_missing_or_corrupt_files(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert not is_stereo_file(path)
    with pytest.raises(InputError, match=message):
        read_stereo_pair(path)
    good = save(tmp_path / "good.png", gradient(40, 30))
    with pytest.raises(InputError, match=message):
        read_stereo_pair(good, path)


def test_real_mpo_files(shared_data: Path) -> None:
    folder = shared_data / "photos" / "mpo"
    for name in ("sugarshack.mpo", "frozenpond.mpo"):
        assert is_stereo_file(folder / name)
        left, right = read_stereo_pair(folder / name)
        assert left.shape == right.shape == (480, 640)
        assert left.pixels.dtype == np.float32


def test_real_side_by_side_file(shared_data: Path) -> None:
    path = shared_data / "photos" / "sbs" / "GOPR0.left-right.jpg"
    assert is_stereo_file(path)
    left, right = read_stereo_pair(path)
    assert left.shape == right.shape == (3000, 4000)


def test_mpo_frames_are_turned_upright(tmp_path: Path) -> None:
    first, second = Image.fromarray(gradient(48, 32, 1)), Image.fromarray(gradient(48, 32, 2))
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held upright: rotate 90 degrees clockwise
    path = tmp_path / "portrait.mpo"
    first.save(path, format="MPO", save_all=True, append_images=[second], exif=exif.tobytes())
    left, right = read_stereo_pair(path)
    assert left.shape == right.shape == (48, 32)


@pytest.mark.slow
def test_real_fujifilm_mpo(shared_data: Path) -> None:
    from depthfx.depth.rectify import rectify_pair

    left, right = read_stereo_pair(shared_data / "photos" / "mpo" / "fujifilm.mpo")
    assert left.shape == right.shape == (2736, 3648)
    rect = rectify_pair(left.pixels, right.pixels)
    # photos/README.md: ~9.4 px vertical offset and ~0.3 degrees of roll before.
    assert rect.method == "hand-held"
    assert rect.vertical_error < 0.7
    assert rect.feature_disparities is not None
    assert np.median(rect.feature_disparities) == pytest.approx(-108, abs=6)
