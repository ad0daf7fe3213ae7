"""A contact sheet: a grid of before/after thumbnails with file names, for a batch run."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .errors import InputError, ParameterError
from .image import check_output_path, write_bytes_atomic

SHEET_SUFFIXES = (".jpg", ".jpeg", ".png")
_BACKGROUND = 32
_TEXT = (230, 230, 230)
_FAILED_TEXT = (255, 120, 110)


@dataclass(frozen=True)
class SheetEntry:
    """One cell: a label and sRGB uint8 thumbnails (h, w, 3); a failed item has none."""

    label: str
    before: np.ndarray | None = None
    after: np.ndarray | None = None
    note: str = ""


def thumbnail_from_file(path: str | os.PathLike[str], height: int = 160) -> np.ndarray:
    """An sRGB uint8 thumbnail of an image file, decoded at reduced size (fast on big JPEGs).

    Examples
    --------
    >>> thumbnail_from_file("examples/teddy_left.jpg", 100).shape  # doctest: +SKIP
    (100, 112, 3)
    """
    try:
        with Image.open(path) as pil:
            pil.draft("RGB", (height * 4, height))
            rgb = pil.convert("RGB")
            scale = height / rgb.height
            size = (max(1, round(rgb.width * scale)), height)
            return np.asarray(rgb.resize(size, Image.Resampling.LANCZOS))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot make a thumbnail ({exc})") from None


def contact_sheet(
    entries: Sequence[SheetEntry], *, cell_height: int = 160, columns: int | None = None
) -> np.ndarray:
    """Lay out before/after pairs in a grid; returns an sRGB uint8 (H, W, 3) picture.

    Each cell shows the photo before (left) and after (right) at ``cell_height`` pixels,
    with the label underneath. Failed items show their note in red instead.

    Examples
    --------
    >>> tile = np.zeros((20, 30, 3), np.uint8)
    >>> contact_sheet([SheetEntry("a.jpg", tile, tile)], cell_height=20).shape[2]
    3
    """
    if not entries:
        raise ParameterError("contact sheet: no entries to show")
    if cell_height < 16:
        raise ParameterError(f"cell_height must be >= 16 pixels, got {cell_height}")
    pair_width = 0
    for entry in entries:
        for image in (entry.before, entry.after):
            if image is not None:
                pair_width = max(pair_width, round(image.shape[1] * cell_height / image.shape[0]))
    pair_width = max(pair_width, cell_height)
    gap = max(4, cell_height // 20)
    text_height = max(14, cell_height // 8)
    cell_w = 2 * pair_width + 3 * gap
    cell_h = cell_height + text_height + 2 * gap
    count = len(entries)
    columns = columns or max(1, min(count, int(np.ceil(np.sqrt(count * cell_h / cell_w * 1.5)))))
    rows = int(np.ceil(count / columns))
    sheet = np.full((rows * cell_h, columns * cell_w, 3), _BACKGROUND, np.uint8)
    scale = text_height / 30
    for index, entry in enumerate(entries):
        top = (index // columns) * cell_h + gap
        left = (index % columns) * cell_w + gap
        for slot, image in enumerate((entry.before, entry.after)):
            if image is None:
                continue
            width = max(1, min(pair_width, round(image.shape[1] * cell_height / image.shape[0])))
            tile = cv2.resize(image[:, :, :3], (width, cell_height), interpolation=cv2.INTER_AREA)
            x = left + slot * (pair_width + gap) + (pair_width - width) // 2
            sheet[top : top + cell_height, x : x + width] = tile
        failed = entry.before is None and entry.after is None
        if failed and entry.note:
            _put_text(
                sheet,
                _fit(entry.note, cell_w, scale),
                (left, top + cell_height // 2),
                scale,
                _FAILED_TEXT,
            )
        label = entry.label + (f"  ({entry.note})" if entry.note and not failed else "")
        _put_text(
            sheet, _fit(label, cell_w, scale), (left, top + cell_height + text_height), scale, _TEXT
        )
    return sheet


def _fit(text: str, width: int, scale: float) -> str:
    limit = max(4, int(width / (20 * scale)))
    return text if len(text) <= limit else text[: limit - 1] + "~"


def _put_text(
    sheet: np.ndarray, text: str, origin: tuple[int, int], scale: float, color: tuple[int, int, int]
) -> None:
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    cv2.putText(sheet, ascii_text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def write_contact_sheet(
    path: str | os.PathLike[str],
    entries: Sequence[SheetEntry],
    *,
    cell_height: int = 160,
    inputs: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Render :func:`contact_sheet` and write it atomically as JPEG or PNG.

    Examples
    --------
    >>> write_contact_sheet("sheet.jpg", entries)  # doctest: +SKIP
    PosixPath('sheet.jpg')
    """
    target = check_output_path(path, allowed=SHEET_SUFFIXES, inputs=inputs)
    picture = Image.fromarray(contact_sheet(entries, cell_height=cell_height))
    buffer = io.BytesIO()
    if target.suffix.lower() == ".png":
        picture.save(buffer, format="PNG")
    else:
        picture.save(buffer, format="JPEG", quality=90)
    write_bytes_atomic(target, buffer.getvalue())
    return target


__all__ = [
    "SHEET_SUFFIXES",
    "SheetEntry",
    "contact_sheet",
    "thumbnail_from_file",
    "write_contact_sheet",
]
