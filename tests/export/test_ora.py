"""OpenRaster export: a valid archive (mimetype first and stored), every layer listed and readable."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
import zipfile

import numpy as np
import pytest
from PIL import Image

from depthfx.effects.layers import composite_layers, split_layers
from depthfx.errors import InputError
from depthfx.export import read_ora, write_ora
from depthfx.image import to_display


def _stack(count: int = 3, size: tuple[int, int] = (300, 400)):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    image = rng.random((*size, 3)).astype(np.float32)
    _yy, xx = np.mgrid[: size[0], : size[1]]
    nearness = (xx // (size[1] // count)).astype(np.float32)
    return image, split_layers(image, nearness, count=count)


def test_ora_archive_is_valid_and_lists_every_layer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _image, stack = _stack()
    path = write_ora(tmp_path / "layers.ora", stack)
    with zipfile.ZipFile(path) as archive:
        first = archive.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == b"image/openraster"
        # The mimetype sits uncompressed at offset 38 so tools can sniff it.
        assert path.read_bytes()[30:54] == b"mimetypeimage/openraster"
        root = ElementTree.fromstring(archive.read("stack.xml"))
        assert (root.attrib["w"], root.attrib["h"]) == ("400", "300")
        listed = list(root.iter("layer"))
        assert [item.attrib["name"] for item in listed] == [layer.name for layer in reversed(stack)]
        for item in listed:
            assert {"name", "src", "x", "y", "opacity", "visibility"} <= set(item.attrib)
            picture = Image.open(io.BytesIO(archive.read(item.attrib["src"])))
            assert picture.format == "PNG" and picture.mode == "RGBA" and picture.size == (400, 300)
        ops = {item.attrib["name"]: item.attrib["composite-op"] for item in listed}
        assert all(op == "svg:multiply" for name, op in ops.items() if "shadow" in name)
        thumbnail = Image.open(io.BytesIO(archive.read("Thumbnails/thumbnail.png")))
        assert max(thumbnail.size) <= 256
        merged = Image.open(io.BytesIO(archive.read("mergedimage.png")))
        assert merged.size == (400, 300)


def test_read_ora_gives_back_the_stack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _image, stack = _stack()
    document = read_ora(write_ora(tmp_path / "x.ora", stack))
    assert (document.width, document.height) == (400, 300)
    assert len(document.layers) == len(stack)
    back = document.stack()
    assert [layer.blend for layer in back] == [layer.blend for layer in stack]
    merged = to_display(composite_layers(stack)).astype(int)
    assert np.abs(to_display(composite_layers(back)).astype(int) - merged).max() <= 1
    assert document.merged is not None
    assert np.abs(to_display(document.merged).astype(int) - merged).max() <= 1


def _rewrite(source, target, *, mimetype_stored=True, mimetype_first=True, drop=None):  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(source) as archive:
        items = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
    if not mimetype_first:
        items = items[1:] + items[:1]
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in items:
            if name == drop:
                continue
            stored = name != "mimetype" or mimetype_stored
            archive.writestr(
                name, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mimetype_stored": False}, "compressed"),
        ({"mimetype_first": False}, "first entry"),
        ({"drop": "data/00_layer_0_far.png"}, "missing"),
        ({"drop": "stack.xml"}, "stack.xml is missing"),
    ],
)
def test_read_ora_rejects_broken_files(tmp_path, change, message) -> None:  # type: ignore[no-untyped-def]
    _, stack = _stack(count=2, size=(40, 60))
    good = write_ora(tmp_path / "good.ora", stack)
    bad = tmp_path / "bad.ora"
    _rewrite(good, bad, **change)
    with pytest.raises(InputError, match=message):
        read_ora(bad)


def test_not_a_zip_and_existing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, stack = _stack(count=2, size=(40, 60))
    junk = tmp_path / "junk.ora"
    junk.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip"):
        read_ora(junk)
    with pytest.raises(InputError, match="not empty"):
        write_ora(junk, stack)
    assert junk.read_bytes() == b"not a zip"
    write_ora(junk, stack, force=True)
    assert read_ora(junk).width == 60
    with pytest.raises(InputError, match=r"\.ora"):
        write_ora(tmp_path / "x.zip", stack)
