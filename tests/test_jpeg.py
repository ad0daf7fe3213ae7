"""JPEG markers read without Pillow: the same size, colour, ICC, EXIF and orientation."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import depthfx.image as image_module
from depthfx.image import decode_image, read_image
from depthfx.jpeg import exif_orientation, read_jpeg_header


def _photo(height: int = 24, width: int = 40) -> Image.Image:
    rows = np.linspace(0, 255, height, dtype=np.float32)[:, None, None]
    cols = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    pixels = np.concatenate([rows + 0 * cols, cols + 0 * rows, 255 - rows + 0 * cols], axis=2)
    return Image.fromarray(pixels.astype(np.uint8))


def _jpeg(picture: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def _exif(orientation: int | None) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x0110] = "Model 1"
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x829D] = 2.8  # FNumber, in the Exif sub-directory
    return exif.tobytes()


def _tags(exif: bytes | None) -> dict[str, object]:
    """IFD0, the Exif and GPS sub-directories, as Pillow reads them from a written JPEG
    (without the sub-directories' offsets, which re-serialising moves)."""
    if exif is None:
        return {}
    parsed = Image.open(io.BytesIO(_jpeg(_photo(4, 4), exif=exif))).getexif()
    pointers = {0x8769, 0x8825, 0xA005}
    return {
        "ifd0": {tag: value for tag, value in parsed.items() if tag not in pointers},
        "exif": dict(parsed.get_ifd(0x8769)),
        "gps": dict(parsed.get_ifd(0x8825)),
    }


def _through_pillow(data: bytes, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patch:
        patch.setattr(image_module, "_decode_plain_jpeg", lambda *args, **kwargs: None)
        return decode_image(data)


ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
CASES = {
    "colour": dict(quality=90),
    "grey": dict(quality=90, mode="L"),
    "progressive": dict(quality=80, progressive=True),
    "icc": dict(quality=90, icc_profile=ICC),
    "large icc in chunks": dict(quality=90, icc_profile=ICC + b"\0" * 70_000),
    "exif": dict(quality=90, exif=_exif(None)),
    **{f"orientation {value}": dict(quality=95, exif=_exif(value)) for value in range(1, 9)},
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_plain_jpeg_reads_as_pillow_reads_it(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    options = dict(CASES[case])
    picture = _photo().convert(str(options.pop("mode", "RGB")))
    data = _jpeg(picture, **options)
    header = read_jpeg_header(data)
    pil = Image.open(io.BytesIO(data))
    assert header is not None
    assert (header.width, header.height) == pil.size
    assert header.components == {"L": 1, "RGB": 3}[pil.mode]
    assert header.icc_profile == (pil.info.get("icc_profile") or None)

    ours, theirs = decode_image(data), _through_pillow(data, monkeypatch)
    assert np.array_equal(ours.pixels, theirs.pixels)
    assert ours.is_gray == theirs.is_gray and ours.icc_profile == theirs.icc_profile
    assert _tags(ours.exif) == _tags(theirs.exif)
    if ours.exif is not None:
        assert exif_orientation(ours.exif)[0] == 1  # the pixels are upright now


def test_exif_is_kept_as_stored_but_for_its_orientation() -> None:
    stored = _exif(6)  # Pillow's bytes start with the APP1 prefix
    orientation, kept = exif_orientation(stored)
    assert orientation == 6 and kept is not None and len(kept) == len(stored)
    differing = [index for index, (a, b) in enumerate(zip(stored, kept, strict=True)) if a != b]
    assert len(differing) == 1  # the orientation value's low byte, 6 -> 1
    assert exif_orientation(_exif(None)) == (1, _exif(None))


@pytest.mark.parametrize(
    "broken", [b"Exif\x00\x00XX*\x00", b"Exif\x00\x00II*\x00\xff\x00\x00\x00", b"Exif\x00\x00MM"]
)
def test_malformed_exif_is_refused(broken: bytes) -> None:
    with pytest.raises(ValueError):
        exif_orientation(broken)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_files_the_marker_reader_leaves_to_pillow(tmp_path: Path) -> None:
    cmyk = _jpeg(_photo().convert("CMYK"), quality=90)
    header = read_jpeg_header(cmyk)
    assert header is not None and header.components == 4
    assert read_image_bytes(tmp_path, cmyk).shape == (24, 40)  # read by Pillow
    assert read_jpeg_header(b"\x89PNG\r\n\x1a\n") is None
    assert read_jpeg_header(b"\xff\xd8\xff\xe1\x00\x40Exif") is None  # segment cut short
    broken_exif = _jpeg(_photo(), quality=90, exif=b"Exif\x00\x00II*\x00\xff\xff\x00\x00")
    assert read_image_bytes(tmp_path, broken_exif).exif is None  # Pillow's reading


def read_image_bytes(folder: Path, data: bytes):  # type: ignore[no-untyped-def]
    path = folder / "photo.jpg"
    path.write_bytes(data)
    return read_image(path)


def test_shared_camera_files_read_as_pillow_reads_them(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = sorted((shared_data / "photos").glob("*/*.jp*g")) + sorted(
        (shared_data / "photos").glob("*/*.mpo")
    )
    if not files:
        pytest.skip("no shared JPEG photos")
    for path in files:
        data = path.read_bytes()
        ours, theirs = decode_image(data), _through_pillow(data, monkeypatch)
        assert np.array_equal(ours.pixels, theirs.pixels), path.name
        assert ours.icc_profile == theirs.icc_profile, path.name
        assert _tags(ours.exif) == _tags(theirs.exif), path.name


def test_reading_a_plain_jpeg_does_not_import_pillow(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(_jpeg(_photo(), quality=90, exif=_exif(3), icc_profile=ICC))
    code = (
        "import sys\nfrom depthfx.image import read_image, write_image\n"
        f"photo = read_image({str(path)!r})\n"
        f"write_image({str(tmp_path / 'out.jpg')!r}, photo.pixels, like=photo)\n"
        "print('PIL' in sys.modules, photo.shape)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[0] == "False", done.stdout + done.stderr
    written = Image.open(tmp_path / "out.jpg")
    assert written.info.get("icc_profile") == ICC and written.getexif().get(0x0112) == 1
