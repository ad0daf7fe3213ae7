"""Layer stacks as a folder of RGBA PNGs with a JSON manifest, and the shared export helpers.

The folder holds one 8-bit sRGB PNG with straight alpha per layer and ``manifest.json``:
the order (back to front), each file, its kind and blend mode, and the depth range of each
depth layer. Drawing the files in order — "normal" layers over, "multiply" layers
multiplied — gives the photo back (with its shadows).

Exports are atomic: the folder is built beside the target under a temporary name and
renamed into place, so a crash never leaves half a stack.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..effects.layers import Layer
from ..errors import InputError, ParameterError
from ..image import decode_image, join_alpha, to_display

MANIFEST = "manifest.json"
FORMAT = "depthfx-layers"
VERSION = 1


# --------------------------------------------------------------------------- shared helpers


def check_export_target(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Validate an export destination before any work is done.

    Raises :class:`InputError` when the parent folder is missing, or when ``path`` exists and
    is not empty (a non-empty folder, or a file of any size) unless ``force``.

    Examples
    --------
    >>> check_export_target("no/such/folder/out.ora")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    depthfx.errors.InputError: no/such/folder/out.ora: export folder no/such/folder does not exist
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: export folder {parent} does not exist")
    if not force and _is_occupied(path):
        raise InputError(
            f"{path}: already exists and is not empty; choose another name or pass --force"
        )
    return path


def _is_occupied(path: Path) -> bool:
    if path.is_dir():
        return any(path.iterdir())
    return path.exists() and path.stat().st_size > 0


def validate_stack(stack: Sequence[Layer]) -> tuple[int, int]:
    """Check a stack is non-empty and of one size; return (height, width)."""
    if not stack:
        raise ParameterError("stack: expected at least one layer")
    shape = stack[0].shape
    for layer in stack:
        if layer.shape != shape or layer.rgba.ndim != 3 or layer.rgba.shape[2] != 4:
            raise ParameterError(f"layer {layer.name!r}: expected ({shape[0]}, {shape[1]}, 4) RGBA")
    return shape


def png_bytes(rgba: np.ndarray) -> bytes:
    """Linear float RGBA (or RGB) to 8-bit sRGB PNG bytes, straight alpha."""
    samples = to_display(rgba)
    buffer = io.BytesIO()
    Image.fromarray(samples, mode="RGBA" if samples.shape[2] == 4 else "RGB").save(
        buffer, format="PNG", compress_level=6
    )
    return buffer.getvalue()


def layer_file_names(stack: Sequence[Layer]) -> list[str]:
    """``NN_<name>.png``: sorted names follow the stack order (back to front)."""
    names = []
    for index, layer in enumerate(stack):
        slug = re.sub(r"[^a-z0-9]+", "_", layer.name.lower()).strip("_") or "layer"
        names.append(f"{index:02d}_{slug}.png")
    return names


def replace_path(built: Path, target: Path) -> None:
    """Move a freshly built file or folder onto ``target``, replacing what is there."""
    if target.is_dir() and not target.is_symlink():
        parked = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        parked.rmdir()
        os.replace(target, parked)
        try:
            os.replace(built, target)
        except OSError:
            os.replace(parked, target)
            raise
        shutil.rmtree(parked, ignore_errors=True)
    else:
        os.replace(built, target)


# --------------------------------------------------------------------------- folder export


def export_layers(
    stack: Sequence[Layer], folder: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write a layer stack as ``folder/NN_name.png`` files plus ``folder/manifest.json``.

    Parameters
    ----------
    stack : list of Layer
        Back to front, as returned by :func:`depthfx.effects.layers.split_layers`.
    folder : path
        Destination folder; created. If it exists and is not empty, ``force`` must be set
        (it is then replaced as a whole).
    force : bool
        Replace an existing, non-empty destination.

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> from depthfx.effects.layers import split_layers
    >>> stack = split_layers(np.zeros((8, 8, 3), np.float32), np.eye(8), count=2)
    >>> folder = export_layers(stack, tmp_path / "layers")  # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())[-1]  # doctest: +SKIP
    'manifest.json'
    """
    folder = check_export_target(folder, force=force)
    height, width = validate_stack(stack)
    files = layer_file_names(stack)
    build = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        entries: list[dict[str, Any]] = []
        for index, (layer, file) in enumerate(zip(stack, files, strict=True)):
            (build / file).write_bytes(png_bytes(layer.rgba))
            entries.append(
                {
                    "index": index,
                    "name": layer.name,
                    "file": file,
                    "kind": layer.kind,
                    "blend": layer.blend,
                    "nearness_range": list(layer.nearness_range) if layer.nearness_range else None,
                    "plane": layer.plane,
                }
            )
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "width": width,
            "height": height,
            "order": "back-to-front",
            "encoding": "8-bit sRGB PNG, straight (not premultiplied) alpha",
            "compose": "draw in order; 'normal' = over, 'multiply' = what is below times "
            "(1 - alpha + alpha * colour)",
            "nearness": "larger = nearer; nearness_range in the depth map's units, "
            "plane normalized 0 (farthest) .. 1 (nearest)",
            "layers": entries,
        }
        (build / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.chmod(build, 0o755)
        replace_path(build, folder)
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    return folder


def read_layers(folder: str | os.PathLike[str]) -> list[Layer]:
    """Read a folder written by :func:`export_layers` back into a stack (linear float).

    Raises
    ------
    InputError
        The manifest is missing or malformed, or a layer file is missing or unreadable.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise InputError(f"{folder}: no {MANIFEST}; not a depthfx layer folder")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = manifest["layers"]
        size = (int(manifest["height"]), int(manifest["width"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{manifest_path}: malformed manifest ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise InputError(
            f"{manifest_path}: format is {manifest.get('format')!r}, expected {FORMAT!r}"
        )
    stack = []
    for entry in entries:
        path = folder / str(entry.get("file", ""))
        if not path.is_file():
            raise InputError(f"{path}: layer file listed in the manifest is missing")
        photo = decode_image(path.read_bytes(), source=path)
        if photo.shape != size:
            raise InputError(
                f"{path}: is {photo.shape[1]}x{photo.shape[0]}, manifest says {size[1]}x{size[0]}"
            )
        alpha = photo.alpha if photo.alpha is not None else np.ones(size, np.float32)
        nearness_range = entry.get("nearness_range")
        stack.append(
            Layer(
                name=str(entry.get("name", path.stem)),
                kind="shadow" if entry.get("kind") == "shadow" else "depth",
                rgba=join_alpha(photo.pixels, alpha),
                blend="multiply" if entry.get("blend") == "multiply" else "normal",
                nearness_range=(float(nearness_range[0]), float(nearness_range[1]))
                if nearness_range
                else None,
                plane=entry.get("plane"),
            )
        )
    return stack


__all__ = [
    "MANIFEST",
    "check_export_target",
    "export_layers",
    "layer_file_names",
    "png_bytes",
    "read_layers",
    "replace_path",
    "validate_stack",
]
