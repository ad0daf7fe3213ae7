"""Installing a model file the user already has into the cache folder, checksum-checked.

For machines without network access: the file is copied (never moved, never changed) into
the cache under the name its record gives, so ``--mono --model NAME`` finds it. The copy is
written to a temporary file in the cache folder, checked, and renamed into place, so the
cache never holds a partial or unverified file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from ...errors import ModelError, ParameterError
from . import records
from .cache import CHUNK, cache_dir, file_mismatch, file_sha256, make_model_folder
from .records import ModelRecord, load_model_record, record_for_sha256, record_toml


@dataclass(frozen=True)
class InstallResult:
    """What :func:`install_model_file` did.

    Attributes
    ----------
    path : Path
        The model file in the cache folder.
    record : ModelRecord
        The record the file was checked against.
    sha256 : str
        The file's hex SHA-256.
    verified : bool
        False when the record publishes neither a sha256 nor a size, so any file passes.
    record_path : Path or None
        For a user's record: the copy of it written next to the file (its ``file`` names
        the installed file), to use with ``--model``.
    """

    path: Path
    record: ModelRecord
    sha256: str
    verified: bool
    record_path: Path | None = None


def install_model_file(
    source: str | os.PathLike[str],
    *,
    name: str | None = None,
    record: str | os.PathLike[str] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> InstallResult:
    """Copy a model file into the cache folder (or ``folder``) after checking its sha256.

    Which model the file is: ``name`` (a shipped model), ``record`` (a TOML model record,
    for any other network), or else the shipped model whose published sha256 it has.

    Parameters
    ----------
    source : path
        The model file; it is only read.
    name : str, optional
        A shipped model name (``depthfx models list``).
    record : path, optional
        A TOML model record describing the file (its ``file`` field need not exist). A copy
        is written next to the installed file, pointing at it, with the file's sha256 when
        the record had none.
    folder : path, optional
        Where to install; default :func:`cache_dir`.

    Returns
    -------
    InstallResult

    Raises
    ------
    ModelError
        ``source`` is missing; ``name`` is unknown; the file does not match the record
        (nothing is left in the folder); no shipped model has the file's sha256 and no
        record was given.
    ParameterError
        Both ``name`` and ``record`` are given.

    Examples
    --------
    >>> install_model_file("usb/model-small.onnx").path.name  # doctest: +SKIP
    'model-small.onnx'
    """
    source = Path(source).expanduser()
    if name is not None and record is not None:
        raise ParameterError("give the model's name or its record, not both")
    if not source.is_file():
        raise ModelError(f"{source}: model file not found")
    claimed = _claimed_record(name, record)
    target_dir = Path(folder).expanduser() if folder is not None else cache_dir()
    make_model_folder(target_dir)

    if claimed is not None and _same_file(source, target_dir / claimed.filename):
        # The file is already where it would go: check it, copy nothing.
        sha256 = file_sha256(source)
        chosen = _check(claimed, source, sha256)
        return _finish(chosen, target_dir, source, sha256, record_given=record is not None)

    temporary = _temporary_path(target_dir)
    try:
        with open(temporary, "xb") as copy:
            sha256 = _copy_and_hash(source, copy)
            copy.flush()
            os.fsync(copy.fileno())
        chosen = claimed if claimed is not None else _record_by_checksum(source, sha256)
        chosen = _check(chosen, source, sha256)
        final = target_dir / chosen.filename
        if _same_file(source, final):
            # Found by its checksum, the file was in the cache already: leave it as it is.
            temporary.unlink()
        else:
            os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return _finish(chosen, target_dir, final, sha256, record_given=record is not None)


def _claimed_record(name: str | None, record: str | os.PathLike[str] | None) -> ModelRecord | None:
    if record is not None:
        return load_model_record(record, require_file=False)
    if name is None:
        return None
    known = records.KNOWN_MODELS.get(name)
    if known is None:
        raise ModelError(
            f"unknown model {name!r}; known models: {', '.join(records.known_model_names())} "
            "(describe any other network with a TOML model record)"
        )
    return known


def _record_by_checksum(source: Path, sha256: str) -> ModelRecord:
    found = record_for_sha256(sha256)
    if found is None:
        unpublished = sorted(r.name for r in records.KNOWN_MODELS.values() if r.sha256 is None)
        by_name = (
            f"name it (--name) if it is {' or '.join(unpublished)}, whose checksum is not "
            "published, or "
            if unpublished
            else ""
        )
        raise ModelError(
            f"{source}: sha256 {sha256[:12]}… is that of no known model "
            f"({', '.join(records.known_model_names())}); {by_name}describe it with a TOML "
            "model record (depthfx models install FILE --record RECORD.toml)"
        )
    return found


def _check(record: ModelRecord, source: Path, sha256: str) -> ModelRecord:
    """``record`` if the file matches it, else a ModelError; nothing is installed then."""
    problem = file_mismatch(record, sha256=sha256, size=source.stat().st_size)
    if problem is not None:
        raise ModelError(f"{source}: {problem}; nothing was installed")
    # A user's record must not put its file in the place of a shipped model's file.
    for known in records.KNOWN_MODELS.values():
        if known.filename == record.filename and known != record:
            raise ModelError(
                f"{record.source}: file name {record.filename} is that of the known model "
                f"{known.name!r}; give the file another name in the record"
            )
    return record


def _finish(
    record: ModelRecord, target_dir: Path, path: Path, sha256: str, *, record_given: bool
) -> InstallResult:
    verified = record.sha256 is not None or record.size is not None
    record_path = None
    if record_given:
        pinned = record if record.sha256 is not None else replace(record, sha256=sha256)
        record_path = target_dir / f"{Path(record.filename).stem}.toml"
        _write_atomically(record_path, record_toml(pinned, file=record.filename))
    return InstallResult(
        path=path, record=record, sha256=sha256, verified=verified, record_path=record_path
    )


def _copy_and_hash(source: Path, copy: BinaryIO) -> str:
    """Copy ``source`` into ``copy``; return its sha256 (one read of a possibly large file)."""
    digest = hashlib.sha256()
    with open(source, "rb") as original:
        while chunk := original.read(CHUNK):
            digest.update(chunk)
            copy.write(chunk)
    return digest.hexdigest()


def _same_file(first: Path, second: Path) -> bool:
    with contextlib.suppress(OSError):
        return second.exists() and os.path.samefile(first, second)
    return False


def _temporary_path(folder: Path) -> Path:
    """A fresh hidden name in ``folder``; opened with "x", the file gets the usual permissions."""
    return folder / f".install-{uuid.uuid4().hex}.part"


def _write_atomically(path: Path, text: str) -> None:
    temporary = _temporary_path(path.parent)
    try:
        with open(temporary, "x", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


__all__ = ["InstallResult", "install_model_file"]
