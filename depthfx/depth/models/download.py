"""Getting a model file: from the folders, or downloaded with its checksum verified.

Nothing is downloaded unless asked for (``download=True``, ``--download`` or
``depthfx models download``), and never when ``DEPTHFX_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ...errors import DownloadError, ModelError
from .cache import CHUNK, cache_dir, file_sha256, find_model_file, make_model_folder, offline
from .records import ModelRecord, get_model_record

ProgressCallback = Callable[[str, float], None]

_TIMEOUT_S = 60.0
_USER_AGENT = "depthfx-model-download/0.1"


def model_path(
    model: str | os.PathLike[str] | ModelRecord,
    *,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> tuple[ModelRecord, Path]:
    """The record and the local file for ``model``, downloading it only if ``download``.

    Raises
    ------
    ModelError
        The file is not on disk and ``download`` is False; the message gives the URL, the
        folder to put the file in, and the command that downloads it.
    DownloadError
        The download failed or the file failed its checksum.
    """
    record = get_model_record(model)
    found = find_model_file(record)
    if found is not None:
        return record, found
    if record.path is not None:
        raise ModelError(f"{record.path}: model file not found")
    if not download:
        raise ModelError(
            f"model {record.name!r} is not downloaded: run `depthfx models download {record.name}` "
            f"(or pass --download), or put {record.filename} from {record.url} in {cache_dir()}"
        )
    return record, download_model(record, progress=progress)


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download_model_file` did."""

    path: Path
    sha256: str
    verified: bool
    resumed_from: int


def download_model(
    model: str | ModelRecord,
    *,
    folder: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download a model file into the cache folder (or ``folder``); return its path.

    See :func:`download_model_file` for the details.

    Examples
    --------
    >>> path = download_model("midas_small")  # doctest: +SKIP
    """
    return download_model_file(model, folder=folder, progress=progress).path


def download_model_file(
    model: str | ModelRecord,
    *,
    folder: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> DownloadResult:
    """Download, verify and install a model file.

    The data goes to ``<filename>.part`` in the target folder; an interrupted download
    resumes from there (HTTP ``Range``) when the server allows it, else it restarts. When
    complete, the file is checked against the record's sha256 (or size) and renamed into
    place atomically, so a model file in the folder is always whole.

    Raises
    ------
    DownloadError
        Offline (``DEPTHFX_OFFLINE=1``), the server or network failed, the download is
        short, or the checksum does not match (the partial file is then removed). The
        message names the URL and the folder to put the file in by hand.
    """
    record = get_model_record(model)
    target_dir = Path(folder) if folder is not None else cache_dir()
    by_hand = f"download {record.url} yourself and put it in {target_dir} as {record.filename}"
    if record.url is None:
        raise DownloadError(f"model {record.name!r} has no download URL")
    if offline():
        raise DownloadError(
            f"cannot download model {record.name!r}: DEPTHFX_OFFLINE is set; {by_hand}"
        )
    make_model_folder(target_dir, error=DownloadError)
    final = target_dir / record.filename
    part = target_dir / f"{record.filename}.part"
    try:
        with _exclusive(part, record) as handle:
            resumed_from, expected_total = _fetch(record, handle, part, by_hand, progress)
            handle.flush()
            os.fsync(handle.fileno())
    except _DownloadBusyError:
        raise
    except DownloadError:
        # Keep a partial file to resume from, but not an empty one.
        with contextlib.suppress(OSError):
            if part.stat().st_size == 0:
                part.unlink()
        raise
    received = part.stat().st_size
    if expected_total is not None and received != expected_total:
        raise DownloadError(
            f"download of {record.url} stopped at {received} of {expected_total} bytes; "
            "run the same command again to resume"
        )
    actual = file_sha256(part)
    if record.sha256 is not None and actual != record.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {record.url}: got sha256 {actual}, expected {record.sha256}; "
            "the download was removed"
        )
    if record.sha256 is None and record.size is not None and received != record.size:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{record.url} gave {received} bytes, expected {record.size}; the download was removed"
        )
    os.replace(part, final)
    if progress is not None:
        progress(f"downloaded {record.filename}", 1.0)
    return DownloadResult(
        path=final, sha256=actual, verified=record.sha256 is not None, resumed_from=resumed_from
    )


class _DownloadBusyError(DownloadError):
    """Another process is downloading the same file into the same folder."""


@contextlib.contextmanager
def _exclusive(part: Path, record: ModelRecord) -> Iterator[BinaryIO]:
    """Open the partial file for appending, refusing a second concurrent download."""
    handle = open(part, "ab")  # noqa: SIM115 - closed below
    try:
        if sys.platform != "win32":
            import fcntl

            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise _DownloadBusyError(
                    f"another download of model {record.name!r} into {part.parent} is running"
                ) from None
        yield handle
    finally:
        handle.close()


def _fetch(
    record: ModelRecord,
    handle: BinaryIO,
    part: Path,
    by_hand: str,
    progress: ProgressCallback | None,
) -> tuple[int, int | None]:
    """Stream the URL into ``handle``; return (bytes resumed from, expected total or None)."""
    assert record.url is not None
    have = part.stat().st_size
    headers = {"User-Agent": _USER_AGENT}
    if have > 0:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(record.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have > 0:
            # Range not satisfiable: the partial file is already complete.
            return have, None
        raise DownloadError(
            f"could not download {record.url} (HTTP {exc.code} {exc.reason}); {by_hand}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download {record.url} ({reason}); {by_hand}") from None
    with response:
        status = getattr(response, "status", None)
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if have > 0 and status == 206:
            resumed_from = have
        else:
            # The server sent the whole file (no Range support, or a file:// URL): restart.
            handle.seek(0)
            handle.truncate()
            resumed_from = 0
        total = resumed_from + length if length is not None else record.size
        done = resumed_from
        try:
            while chunk := response.read(CHUNK):
                handle.write(chunk)
                done += len(chunk)
                if progress is not None:
                    fraction = min(done / total, 1.0) if total else 0.0
                    progress(_progress_text(record.filename, done, total), fraction)
        except (OSError, urllib.error.URLError) as exc:
            raise DownloadError(
                f"download of {record.url} broke off at {done} bytes ({exc}); run the same command "
                "again to resume"
            ) from None
    expected = resumed_from + length if length is not None else None
    return resumed_from, expected


def _progress_text(filename: str, done: int, total: int | None) -> str:
    megabytes = 1024 * 1024
    if total:
        return f"downloading {filename} ({done / megabytes:.1f} of {total / megabytes:.1f} MB)"
    return f"downloading {filename} ({done / megabytes:.1f} MB)"


__all__ = [
    "DownloadResult",
    "ProgressCallback",
    "download_model",
    "download_model_file",
    "model_path",
]
