"""Where model files live on disk, and checking a file against its record.

Model files are looked up in this order:

1. an explicit path (``--model path/to/model.onnx`` or the ``file`` of a TOML record);
2. ``$DEPTHFX_MODEL_DIR/<filename>``;
3. the cache folder: ``$DEPTHFX_CACHE/models``, else the platform's user cache folder
   (``~/.cache/depthfx/models`` on Linux, ``~/Library/Caches/depthfx/models`` on macOS,
   ``%LOCALAPPDATA%\\depthfx\\Cache\\models`` on Windows).

Nothing is downloaded unless asked for (``download=True``, ``--download`` or
``depthfx models download``), and never when ``DEPTHFX_OFFLINE=1``.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from ...errors import ModelError
from .records import ModelRecord

# Files are hashed and copied in chunks of this many bytes.
CHUNK = 1 << 20


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """True when ``DEPTHFX_OFFLINE`` forbids network use."""
    return _env_flag("DEPTHFX_OFFLINE")


def cache_dir() -> Path:
    """The folder downloaded models go to (it may not exist yet).

    ``$DEPTHFX_CACHE/models`` when set, else the platform's user cache folder.

    Examples
    --------
    >>> cache_dir().name
    'models'
    """
    configured = os.environ.get("DEPTHFX_CACHE")
    if configured:
        return Path(configured).expanduser() / "models"
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
        return base / "depthfx" / "Cache" / "models"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "depthfx" / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else home / ".cache"
    return base / "depthfx" / "models"


def model_dirs() -> list[Path]:
    """Folders searched for a model file by name, in order."""
    folders = []
    configured = os.environ.get("DEPTHFX_MODEL_DIR")
    if configured:
        folders.append(Path(configured).expanduser())
    folders.append(cache_dir())
    return folders


def make_model_folder(folder: Path, *, error: type[ModelError] = ModelError) -> None:
    """Create ``folder`` (and its parents) for model files if it is not there.

    Raises
    ------
    ModelError (or ``error``)
        The folder cannot be created; the message names it and says why.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"cannot create the model folder {folder} ({exc.strerror or exc})") from exc


def find_model_file(record: ModelRecord) -> Path | None:
    """The first existing file for ``record`` (explicit path, model dir, cache), or None."""
    if record.path is not None:
        return record.path if record.path.is_file() else None
    for folder in model_dirs():
        candidate = folder / record.filename
        if candidate.is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- checksums


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_mismatch(record: ModelRecord, *, sha256: str, size: int) -> str | None:
    """What is wrong with a file of this sha256 and size for ``record``, or None.

    The sha256 decides when the record has one, else the size when that is known; a record
    with neither accepts any file.

    Examples
    --------
    >>> record = ModelRecord(name="x", filename="x.onnx", input_size=(8, 8), size=5)
    >>> file_mismatch(record, sha256="", size=4)
    "4 bytes, expected 5 for model 'x'"
    """
    if record.sha256 is not None:
        if sha256 != record.sha256:
            return (
                f"checksum mismatch for model {record.name!r} (sha256 {sha256[:12]}…, "
                f"expected {record.sha256[:12]}…)"
            )
    elif record.size is not None and size != record.size:
        return f"{size} bytes, expected {record.size} for model {record.name!r}"
    return None


def verify_model_file(record: ModelRecord, path: Path) -> None:
    """Check ``path`` against the record's sha256 (or size, when no sha256 is published).

    Raises
    ------
    ModelError
        The file does not match; the message says what to do.
    """
    # Hashing a few hundred MB takes a while: only when there is a digest to compare.
    actual = file_sha256(path) if record.sha256 is not None else ""
    problem = file_mismatch(record, sha256=actual, size=path.stat().st_size)
    if problem is None:
        return
    if record.sha256 is not None:
        raise ModelError(
            f"{path}: {problem}; the file is corrupt or another version: delete it and download "
            "it again, or describe it with a TOML model record"
        )
    raise ModelError(f"{path}: {problem}; delete it and download it again")


__all__ = [
    "CHUNK",
    "cache_dir",
    "file_mismatch",
    "file_sha256",
    "find_model_file",
    "make_model_folder",
    "model_dirs",
    "offline",
    "verify_model_file",
]
