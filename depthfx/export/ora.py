"""OpenRaster (``.ora``) files: a layer stack that GIMP, Krita and MyPaint open as layers.

An OpenRaster file is a zip archive: ``mimetype`` first and stored uncompressed (content
``image/openraster``), ``stack.xml`` listing the layers top first, one PNG per layer under
``data/``, ``Thumbnails/thumbnail.png`` (at most 256 px) and ``mergedimage.png`` (the
flattened picture). Shadow layers use the ``svg:multiply`` composite op.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..effects.layers import Layer, composite_layers
from ..errors import InputError
from ..image import Photo, atomic_output, decode_image, join_alpha, to_display
from .layers import check_export_target, layer_file_names, png_bytes, validate_stack

MIMETYPE = b"image/openraster"
THUMBNAIL_SIDE = 256
_OPS = {"normal": "svg:src-over", "multiply": "svg:multiply"}


@dataclass(frozen=True, eq=False)
class OraLayer:
    """One ``<layer>`` of ``stack.xml`` with its decoded pixels (linear RGBA, straight alpha)."""

    name: str
    src: str
    x: int
    y: int
    opacity: float
    visible: bool
    composite_op: str
    rgba: np.ndarray


@dataclass(frozen=True, eq=False)
class OraDocument:
    """A read ``.ora`` file. ``layers`` are top first, as in ``stack.xml``."""

    width: int
    height: int
    layers: list[OraLayer] = field(default_factory=list)
    merged: np.ndarray | None = None

    def stack(self) -> list[Layer]:
        """The layers back to front as :class:`Layer` (placed on the full canvas)."""
        stack = []
        for item in reversed(self.layers):
            canvas = np.zeros((self.height, self.width, 4), np.float32)
            height, width = item.rgba.shape[:2]
            top, left = max(item.y, 0), max(item.x, 0)
            bottom, right = min(item.y + height, self.height), min(item.x + width, self.width)
            if bottom > top and right > left:
                canvas[top:bottom, left:right] = item.rgba[
                    top - item.y : bottom - item.y, left - item.x : right - item.x
                ]
            canvas[:, :, 3] *= np.float32(item.opacity if item.visible else 0.0)
            multiply = item.composite_op == "svg:multiply"
            stack.append(
                Layer(
                    name=item.name,
                    kind="shadow" if multiply or "shadow" in item.name else "depth",
                    rgba=canvas,
                    blend="multiply" if multiply else "normal",
                )
            )
        return stack


def write_ora(path: str | os.PathLike[str], stack: Sequence[Layer], *, force: bool = False) -> Path:
    """Write a layer stack (back to front) as an OpenRaster file, atomically.

    Parameters
    ----------
    path : path
        Destination ``.ora`` file. If it exists and is not empty, ``force`` must be set.
    stack : list of Layer
        Back to front, as returned by :func:`depthfx.effects.layers.split_layers`.
    force : bool
        Replace an existing file.

    Returns
    -------
    Path

    Examples
    --------
    >>> from depthfx.effects.layers import split_layers
    >>> stack = split_layers(np.zeros((8, 8, 3), np.float32), np.eye(8), count=2)
    >>> path = write_ora(tmp_path / "layers.ora", stack)  # doctest: +SKIP
    >>> [layer.name for layer in read_ora(path).layers]  # doctest: +SKIP
    ['layer 1 (near)', 'shadow on layers below 1', 'layer 0 (far)']
    """
    path = check_export_target(path, force=force)
    if path.suffix.lower() != ".ora":
        raise InputError(f"{path}: an OpenRaster file must end in .ora")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected an .ora file name")
    height, width = validate_stack(stack)
    files = [f"data/{name}" for name in layer_file_names(stack)]

    root = ElementTree.Element("image", {"version": "0.0.5", "w": str(width), "h": str(height)})
    group = ElementTree.SubElement(root, "stack")
    for layer, src in reversed(list(zip(stack, files, strict=True))):
        ElementTree.SubElement(
            group,
            "layer",
            {
                "name": layer.name,
                "src": src,
                "x": "0",
                "y": "0",
                "opacity": "1.000",
                "visibility": "visible",
                "composite-op": _OPS[layer.blend],
            },
        )
    stack_xml = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    merged = composite_layers(stack)
    thumbnail = Image.fromarray(to_display(merged))
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    thumbnail_bytes = io.BytesIO()
    thumbnail.save(thumbnail_bytes, format="PNG")

    with atomic_output(path) as temp, zipfile.ZipFile(temp, "w") as archive:
        # The mimetype must come first and be stored, so tools can sniff it at offset 38.
        archive.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("stack.xml", stack_xml, compress_type=zipfile.ZIP_DEFLATED)
        for layer, src in zip(stack, files, strict=True):
            archive.writestr(src, png_bytes(layer.rgba), compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "Thumbnails/thumbnail.png", thumbnail_bytes.getvalue(), compress_type=zipfile.ZIP_STORED
        )
        archive.writestr("mergedimage.png", png_bytes(merged), compress_type=zipfile.ZIP_STORED)
    return path


def read_ora(path: str | os.PathLike[str]) -> OraDocument:
    """Read and validate an OpenRaster file.

    Checks that ``mimetype`` is the first entry, stored uncompressed, with content
    ``image/openraster``; that ``stack.xml`` parses and names an image size; that every
    listed layer PNG exists and decodes; and that the thumbnail is at most 256 px.

    Raises
    ------
    InputError
        With a one-line reason when any check fails.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path}: not an OpenRaster file (not a zip archive)") from exc
    with archive:
        entries = archive.infolist()
        if not entries or entries[0].filename != "mimetype":
            raise InputError(f"{path}: 'mimetype' is not the first entry of the archive")
        if entries[0].compress_type != zipfile.ZIP_STORED:
            raise InputError(f"{path}: 'mimetype' is compressed; it must be stored")
        if archive.read("mimetype") != MIMETYPE:
            raise InputError(f"{path}: mimetype is not {MIMETYPE.decode()}")
        names = set(archive.namelist())
        for required in ("stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"):
            if required not in names:
                raise InputError(f"{path}: {required} is missing")
        try:
            root = ElementTree.fromstring(archive.read("stack.xml"))
            width, height = int(root.attrib["w"]), int(root.attrib["h"])
        except (ElementTree.ParseError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: stack.xml is malformed ({exc})") from exc
        layers = []
        for element in root.iter("layer"):
            src = element.attrib.get("src", "")
            if src not in names:
                raise InputError(
                    f"{path}: layer {element.attrib.get('name')!r} points to missing {src!r}"
                )
            picture = _decode(archive.read(src), f"{path}:{src}")
            alpha = (
                picture.alpha if picture.alpha is not None else np.ones(picture.shape, np.float32)
            )
            try:
                layers.append(
                    OraLayer(
                        name=element.attrib.get("name", src),
                        src=src,
                        x=int(element.attrib.get("x", 0)),
                        y=int(element.attrib.get("y", 0)),
                        opacity=float(element.attrib.get("opacity", 1.0)),
                        visible=element.attrib.get("visibility", "visible") != "hidden",
                        composite_op=element.attrib.get("composite-op", "svg:src-over"),
                        rgba=join_alpha(picture.pixels, alpha),
                    )
                )
            except ValueError as exc:
                raise InputError(
                    f"{path}: layer {src!r} has a malformed attribute ({exc})"
                ) from exc
        if not layers:
            raise InputError(f"{path}: stack.xml lists no layers")
        thumbnail = _decode(archive.read("Thumbnails/thumbnail.png"), f"{path}:thumbnail")
        if max(thumbnail.shape) > THUMBNAIL_SIDE:
            raise InputError(
                f"{path}: thumbnail is {thumbnail.shape[1]}x{thumbnail.shape[0]}, larger than 256 px"
            )
        merged = _decode(archive.read("mergedimage.png"), f"{path}:mergedimage.png")
        if merged.shape != (height, width):
            raise InputError(f"{path}: mergedimage.png is not {width}x{height}")
    return OraDocument(width=width, height=height, layers=layers, merged=merged.pixels)


def _decode(data: bytes, label: str) -> Photo:
    return decode_image(data, source=Path(label))


__all__ = ["OraDocument", "OraLayer", "read_ora", "write_ora"]
