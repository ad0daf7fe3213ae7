"""``depthfx models``: list, download, install and locate the depth models used by ``--mono``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..depth.models import (
    KNOWN_MODELS,
    cache_dir,
    download_model_file,
    find_model_file,
    get_model_record,
    install_model_file,
    model_dirs,
    offline,
)
from ..errors import ModelError
from ._app import app
from .options import progress_reporter

models_app = typer.Typer(
    name="models",
    help="Depth models for --mono: list them, download or install one, show where its file is.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(models_app, name="models")

ModelName = Annotated[
    str, typer.Argument(help="A model name from `depthfx models list`.", show_default=False)
]


def _megabytes(size: int | None) -> str:
    return "unknown" if size is None else f"{size / 1e6:.0f} MB"


def _warn_unchecked(name: str, what: str, sha256: str) -> None:
    """Say that nothing was published to check a file against, and give its digest."""
    typer.echo(
        f"depthfx: warning: no published checksum for {name}; the {what} file has sha256 {sha256}",
        err=True,
    )


@models_app.command("list")
def list_models() -> None:
    """List the known models: name, size, licence, and whether the file is on disk."""
    rows = [("NAME", "SIZE", "LICENCE", "FILE")]
    for name in sorted(KNOWN_MODELS):
        record = KNOWN_MODELS[name]
        found = find_model_file(record)
        rows.append(
            (
                name,
                _megabytes(record.size),
                record.licence,
                str(found) if found else "not downloaded",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[3]
        )
    folders = ", ".join(str(folder) for folder in model_dirs())
    typer.echo(f"\nModel files are looked up in: {folders}")
    if offline():
        typer.echo("DEPTHFX_OFFLINE is set: downloads are disabled.")


@models_app.command()
def download(name: ModelName) -> None:
    """Download a model into the cache folder, check its SHA-256, and install it."""
    record = get_model_record(name)
    if record.path is not None or record.url is None:
        raise ModelError(
            f"{name}: only known model names can be downloaded ({', '.join(sorted(KNOWN_MODELS))})"
        )
    existing = find_model_file(record)
    if existing is not None:
        typer.echo(f"{record.name} is already there: {existing}")
        return
    with progress_reporter(f"{record.name}") as progress:
        result = download_model_file(record, progress=progress)
    if not result.verified:
        _warn_unchecked(record.name, "downloaded", result.sha256)
    typer.echo(str(result.path))


@models_app.command()
def path(name: ModelName) -> None:
    """Print the path of a model's file (an error if it is not downloaded)."""
    record = get_model_record(name)
    found = find_model_file(record)
    if found is None:
        where = record.path if record.path is not None else cache_dir() / record.filename
        raise ModelError(
            f"model {record.name!r} is not downloaded (it would be {where}); "
            f"run `depthfx models download {record.name}`"
        )
    typer.echo(str(found))


@models_app.command()
def install(
    file: Path = typer.Argument(
        ..., help="A model file you already have (.onnx).", show_default=False
    ),
    name: str | None = typer.Option(
        None, "--name", help="The known model the file is (default: found by its SHA-256)."
    ),
    record: Path | None = typer.Option(
        None,
        "--record",
        help="A TOML model record describing the file, for a model depthfx does not know.",
    ),
) -> None:
    """Copy a model file into the cache after checking its SHA-256 (for offline machines).

    The file is copied, never moved or changed. Example: depthfx models install
    /media/usb/model-small.onnx
    """
    result = install_model_file(file, name=name, record=record)
    if not result.verified:
        _warn_unchecked(result.record.name, "installed", result.sha256)
    typer.echo(str(result.path))
    if result.record_path is not None:
        typer.echo(f"depthfx: use it with --model {result.record_path}", err=True)
