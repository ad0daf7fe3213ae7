"""Image I/O: exact round trips, bit depth, EXIF orientation, ICC/EXIF carry-over, atomic writes."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from depthfx.errors import InputError, ParameterError
from depthfx.image import (
    Photo,
    as_float_image,
    checked_out,
    encode_srgb8,
    linear_to_srgb,
    read_image,
    srgb_to_linear,
    write_image,
)


def _gradient(height: int, width: int, dtype: type = np.uint8) -> np.ndarray:
    top = 255 if dtype == np.uint8 else 65535
    ramp = np.linspace(0, top, width * height * 3, dtype=np.float64).reshape(height, width, 3)
    return np.round(ramp).astype(dtype)


def test_srgb_curve_round_trips_every_8_and_16_bit_code() -> None:
    for top in (255, 65535):
        codes = np.arange(top + 1, dtype=np.float32) / np.float32(top)
        back = np.floor(linear_to_srgb(srgb_to_linear(codes)) * top + 0.5)
        assert np.array_equal(back, np.arange(top + 1))


def test_srgb_curve_known_values() -> None:
    assert float(srgb_to_linear(np.float32(1.0))) == pytest.approx(1.0, abs=1e-6)
    assert float(srgb_to_linear(np.float32(0.5))) == pytest.approx(0.21404, abs=1e-4)
    assert float(linear_to_srgb(np.float32(0.0031308))) == pytest.approx(0.04045, abs=1e-5)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_8bit_rgb_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    pixels = _gradient(20, 30)
    source = tmp_path / f"in{suffix}"
    Image.fromarray(pixels).save(source, **({"lossless": True} if suffix == ".webp" else {}))
    photo = read_image(source)
    assert photo.bit_depth == 8 and photo.pixels.dtype == np.float32
    out = write_image(tmp_path / f"out{suffix}", photo.pixels, like=photo)
    if suffix == ".webp":
        return  # lossy by default on write
    assert np.array_equal(np.asarray(Image.open(out)), pixels)


def test_16bit_rgb_png_keeps_16_bits(tmp_path: Path) -> None:
    import cv2

    pixels = _gradient(16, 40, np.uint16)
    source = tmp_path / "in16.png"
    cv2.imwrite(str(source), pixels[:, :, ::-1])
    photo = read_image(source)
    assert photo.bit_depth == 16
    out = write_image(tmp_path / "out16.png", photo.pixels, like=photo)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert back.dtype == np.uint16
    assert np.array_equal(back, pixels)


def test_16bit_tiff_round_trip(tmp_path: Path) -> None:
    import cv2

    pixels = _gradient(12, 10, np.uint16)
    source = tmp_path / "in16.tif"
    cv2.imwrite(str(source), pixels[:, :, ::-1])
    photo = read_image(source)
    assert photo.bit_depth == 16
    out = write_image(tmp_path / "out16.tif", photo.pixels, like=photo)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert back.dtype == np.uint16 and np.array_equal(back, pixels)


def test_grey_and_rgba_are_kept(tmp_path: Path) -> None:
    grey = np.arange(0, 200, dtype=np.uint8).reshape(10, 20)
    Image.fromarray(grey, mode="L").save(tmp_path / "g.png")
    photo = read_image(tmp_path / "g.png")
    assert photo.is_gray and photo.pixels.shape == (10, 20, 3)
    out = write_image(tmp_path / "g_out.png", photo.pixels, like=photo)
    assert Image.open(out).mode == "L"
    assert np.array_equal(np.asarray(Image.open(out)), grey)

    rgba = np.dstack([_gradient(8, 8), np.full((8, 8), 77, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    photo = read_image(tmp_path / "a.png")
    assert photo.alpha is not None and photo.alpha[0, 0] == pytest.approx(77 / 255)
    out = write_image(tmp_path / "a_out.png", photo.rgba(), like=photo)
    assert np.array_equal(np.asarray(Image.open(out)), rgba)


def test_exif_orientation_is_applied_and_reset(tmp_path: Path) -> None:
    pixels = np.zeros((10, 20, 3), np.uint8)
    pixels[:, :5] = 255  # bright left edge
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: viewer must rotate 90 degrees clockwise
    exif[0x010F] = "TestCam"
    source = tmp_path / "rot.jpg"
    image.save(source, exif=exif.tobytes(), quality=100)
    photo = read_image(source)
    assert photo.shape == (20, 10)  # upright: rotated
    assert photo.pixels[:5, :, 0].mean() > 0.9  # left edge became the top edge
    out = write_image(tmp_path / "out.jpg", photo.pixels, like=photo)
    written = Image.open(out).getexif()
    assert written.get(0x0112) == 1 and written.get(0x010F) == "TestCam"


def test_icc_profile_is_carried_to_png_and_jpeg(tmp_path: Path) -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(_gradient(8, 8)).save(tmp_path / "icc.jpg", icc_profile=icc)
    photo = read_image(tmp_path / "icc.jpg")
    assert photo.icc_profile == icc
    for suffix in (".png", ".jpg", ".tif"):
        out = write_image(tmp_path / f"o{suffix}", photo.pixels, like=photo)
        assert Image.open(out).info.get("icc_profile") == icc


def test_read_errors_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "text.jpg").write_text("this is not a photo")
    with pytest.raises(InputError, match="not a readable image"):
        read_image(tmp_path / "text.jpg")
    buffer = io.BytesIO()
    Image.fromarray(_gradient(64, 64)).save(buffer, format="JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[:300])
    with pytest.raises(InputError):
        read_image(tmp_path / "cut.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_image(tmp_path / "empty.png")


def test_write_refuses_input_unknown_suffix_and_missing_folder(tmp_path: Path) -> None:
    Image.fromarray(_gradient(4, 4)).save(tmp_path / "in.png")
    before = (tmp_path / "in.png").read_bytes()
    photo = read_image(tmp_path / "in.png")
    with pytest.raises(InputError, match="overwrite the input"):
        write_image(tmp_path / "in.png", photo.pixels, like=photo)
    with pytest.raises(InputError, match="unknown output extension"):
        write_image(tmp_path / "out.gifx", photo.pixels)
    with pytest.raises(InputError, match="does not exist"):
        write_image(tmp_path / "nope" / "out.png", photo.pixels)
    assert (tmp_path / "in.png").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]  # no temp files left


def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import depthfx.image as image_module

    def broken(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(image_module, "_encode_png", broken)
    with pytest.raises(RuntimeError):
        write_image(tmp_path / "out.png", np.zeros((4, 4, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_as_float_image_validates() -> None:
    with pytest.raises(ParameterError, match="float array"):
        as_float_image(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ParameterError, match="shape"):
        as_float_image(np.zeros((4, 4, 2), np.float32))
    assert as_float_image(np.zeros((4, 5), np.float64)).shape == (4, 5, 3)


def test_outputs_get_ordinary_permissions(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        out = write_image(tmp_path / "o.png", np.zeros((2, 2, 3), np.float32))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_jpeg_samples_are_those_pillow_decodes(tmp_path: Path, mode: str) -> None:
    # JPEGs are decoded by OpenCV for speed; the samples must be Pillow's to the bit.
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.random((60, 90, 3)), (0, 0), 1.5)
    Image.fromarray((noise * 255).astype(np.uint8)).convert(mode).save(tmp_path / "n.jpg")
    expected = np.asarray(Image.open(tmp_path / "n.jpg").convert("RGB"), np.float32) / 255
    photo = read_image(tmp_path / "n.jpg")
    assert photo.is_gray == (mode == "L")
    np.testing.assert_array_equal(photo.pixels, srgb_to_linear(expected))


@pytest.mark.parametrize(("mode", "quality"), [("RGB", 95), ("RGB", 80), ("L", 95)])
def test_jpeg_bytes_decode_like_pillows_own(tmp_path: Path, mode: str, quality: int) -> None:
    # JPEGs are encoded by OpenCV for speed; they must decode to what Pillow would write.
    rng = np.random.default_rng(5)
    noise = (cv2.GaussianBlur(rng.random((48, 64, 3)), (0, 0), 1.2) * 255).astype(np.uint8)
    Image.fromarray(noise).convert(mode).save(tmp_path / "in.png")
    photo = read_image(tmp_path / "in.png")
    out = write_image(tmp_path / "out.jpg", photo.pixels, like=photo, quality=quality)
    reference = io.BytesIO()
    Image.open(tmp_path / "in.png").save(
        reference, format="JPEG", quality=quality, subsampling=0 if quality >= 90 else 2
    )
    ours = np.asarray(Image.open(out))
    theirs = np.asarray(Image.open(reference))
    assert ours.shape == theirs.shape and np.array_equal(ours, theirs)


# --------------------------------------------------------------------------- in chunks


def _smooth_codes(height: int, width: int, channels: int, top: int) -> np.ndarray:
    """Smooth random codes (PNG compresses them, JPEG keeps them nearly)."""
    rng = np.random.default_rng(height * width + channels)
    coarse = rng.uniform(0, 1, (max(2, height // 8), max(2, width // 8), channels))
    smooth = cv2.resize(coarse.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.round(np.clip(smooth, 0, 1).reshape(height, width, channels) * top)


@pytest.mark.parametrize(
    "case",
    [f"jpeg-orientation-{n}" for n in range(1, 9)]
    + ["grey-jpeg", "grey-png", "grey-alpha-png", "rgba-png", "rgb16-png", "rgba16-png"],
)
def test_reading_in_chunks_gives_the_whole_conversion(tmp_path: Path, case: str) -> None:
    # Samples become linear light 32 rows at a time, straight from the decoded (possibly
    # turned, grey or alpha-carrying) array: the result must be the whole-array answer.
    height, width = 100, 70  # several chunks
    source = tmp_path / f"{case}.{'jpg' if 'jpeg' in case else 'png'}"
    top = 65535 if "16" in case else 255
    channels = {"grey-j": 1, "grey-p": 1, "grey-a": 2, "rgba-": 4, "rgba1": 4}.get(case[:6], 3)
    codes = _smooth_codes(height, width, channels, top)
    if top == 65535:
        order = [2, 1, 0, 3][:channels]  # OpenCV writes BGR(A)
        cv2.imwrite(str(source), codes.astype(np.uint16)[:, :, order])
        expected = codes
    else:
        mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
        picture = Image.fromarray(codes.astype(np.uint8).squeeze(), mode=mode)
        exif = Image.Exif()
        if case.startswith("jpeg-orientation"):
            exif[0x0112] = int(case[-1])
        picture.save(source, exif=exif.tobytes(), **({"quality": 95} if "jpeg" in case else {}))
        upright = ImageOps.exif_transpose(Image.open(source))
        expected = np.asarray(upright, np.float64).reshape(*np.asarray(upright).shape[:2], -1)
    photo = read_image(source)
    colour = expected[:, :, : 3 if channels >= 3 else 1].astype(np.float32) / np.float32(top)
    np.testing.assert_array_equal(
        photo.pixels, np.broadcast_to(srgb_to_linear(colour), photo.pixels.shape)
    )
    if channels in (2, 4):
        assert photo.alpha is not None
        np.testing.assert_array_equal(
            photo.alpha, expected[:, :, -1].astype(np.float32) / np.float32(top)
        )
    else:
        assert photo.alpha is None


@pytest.mark.parametrize(
    ("suffix", "bit_depth", "gray"),
    [
        (".png", 8, False),
        (".png", 16, False),
        (".tif", 16, False),
        (".tif", 32, False),
        (".jpg", 8, False),
        (".png", 8, True),
        (".png", 16, True),
    ],
)
def test_writing_in_bands_gives_the_whole_encoding(
    tmp_path: Path, suffix: str, bit_depth: int, gray: bool
) -> None:
    # Large images are encoded in row bands on the workers, 32 rows at a time, from the
    # colour of an RGBA array without copying it: every sample must be what the transfer
    # curve gives for the whole image at once (alpha too, except in a JPEG).
    height, width = 720, 1000  # above the banding threshold
    rng = np.random.default_rng(bit_depth)
    image = rng.uniform(-0.1, 1.2, (height, width, 4)).astype(np.float32)
    like = Photo(pixels=image[:, :, :3], bit_depth=bit_depth, is_gray=gray)
    out = write_image(tmp_path / f"o{suffix}", image, like=like)
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    if back.ndim == 2:
        back = back[:, :, None]
    elif suffix != ".jpg" and back.shape[2] == 4:
        back = back[:, :, [2, 1, 0, 3]]
    else:
        back = back[:, :, ::-1]
    rgb = image[:, :, :3].mean(axis=2, keepdims=True) if gray else image[:, :, :3]
    if bit_depth == 8:
        colour = np.stack([encode_srgb8(np.ascontiguousarray(row)) for row in rgb])
    elif bit_depth == 16:
        encoded = np.clip(linear_to_srgb(rgb), 0.0, 1.0)
        colour = np.floor(encoded * np.float32(65535) + np.float32(0.5)).astype(np.uint16)
    else:
        colour = np.clip(rgb, 0.0, None)
    if suffix == ".jpg":
        # Lossy: the decoded JPEG is close to the codes, and has no alpha.
        assert back.shape[2] == 3 and np.abs(back.astype(int) - colour).mean() < 12
        return
    if gray:  # grey with alpha is stored as RGBA (OpenCV writes no grey + alpha)
        colour = np.repeat(colour, 3, axis=2)
    top = {8: 255, 16: 65535}.get(bit_depth)
    alpha = np.clip(image[:, :, 3:], 0, 1)
    if top is not None:
        alpha = np.floor(alpha * np.float32(top) + np.float32(0.5))
    expected = np.concatenate([colour, alpha.astype(colour.dtype)], axis=2)
    assert back.dtype == expected.dtype and np.array_equal(back, expected)


def _traced_peak(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_a_large_grey_jpeg_makes_no_full_size_copies(tmp_path: Path) -> None:
    # Deterministic memory check (NumPy's allocations are traced): 12 bytes a pixel of
    # linear RGB and 1 of decoded grey; turning grey into colour before the conversion
    # made another 3 (16.2 in all).
    height, width = 1200, 1600
    codes = _smooth_codes(height, width, 1, 255).astype(np.uint8)
    Image.fromarray(codes[:, :, 0], mode="L").save(tmp_path / "grey.jpg", quality=90)
    peak = _traced_peak(lambda: read_image(tmp_path / "grey.jpg"))
    assert peak < 14 * height * width, f"{peak / (height * width):.1f} bytes a pixel"


@pytest.mark.parametrize(
    ("suffix", "bit_depth", "channels", "most"),
    [(".png", 16, 3, 16), (".png", 8, 4, 10), (".jpg", 8, 3, 6)],
)
def test_writing_a_large_image_makes_no_full_size_temporaries(
    tmp_path: Path, suffix: str, bit_depth: int, channels: int, most: float
) -> None:
    # The samples (6, 4 and 3 bytes a pixel here) and the encoded file are the only
    # full-size arrays; whole-image encoding took 39, 20.5 and 8.3 bytes a pixel.
    height, width = 1200, 1600
    image = (_smooth_codes(height, width, channels, 255) / 255).astype(np.float32)
    peak = _traced_peak(lambda: write_image(tmp_path / f"o{suffix}", image, bit_depth=bit_depth))
    assert peak < most * height * width, f"{peak / (height * width):.1f} bytes a pixel"


# --------------------------------------------------------------------------- out= checks


def test_checked_out_passes_none_and_fitting_arrays_through() -> None:
    image = np.zeros((4, 6, 3), np.float32)
    assert checked_out(None, image) is None
    assert checked_out(image, image) is image
    other = np.empty_like(image)
    assert checked_out(other, image) is other


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (np.zeros((4, 6, 4), np.float32), "shape"),
        (np.zeros((4, 6, 3), np.float16), "float32"),
        ("pixels", "str"),
    ],
)
def test_checked_out_refuses_misfits_by_name(out: object, message: str) -> None:
    image = np.zeros((4, 6, 3), np.float32)
    with pytest.raises(ParameterError, match=rf"out must .*{message}"):
        checked_out(out, image)  # type: ignore[arg-type]


def test_checked_out_refuses_read_only_and_partly_overlapping_arrays() -> None:
    image = np.zeros((4, 6, 3), np.float32)
    frozen = image.copy()
    frozen.flags.writeable = False
    with pytest.raises(ParameterError, match="writeable"):
        checked_out(frozen, image)
    storage = np.zeros((5, 6, 3), np.float32)
    with pytest.raises(ParameterError, match="overlaps"):
        checked_out(storage[1:], storage[:4])
