"""``depthfx batch``: a preset over many photos, in parallel, with a summary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..batch import (
    ItemResult,
    default_jobs,
    discover_inputs,
    plan_batch,
    run_batch,
    short_reason,
    summarize,
)
from ..contact_sheet import SHEET_SUFFIXES, SheetEntry, thumbnail_from_file, write_contact_sheet
from ..errors import DepthfxError, ParameterError
from ..image import check_output_path
from ..presets import load_preset
from ._app import app
from .apply_cmd import PresetOption
from .options import (
    BaselineOption,
    CalibrationOption,
    DepthNearOption,
    DepthRequest,
    DownloadOption,
    FocalOption,
    ModelOption,
    MonoOption,
    SbsOption,
    check_depth_near,
)

_RUN = "Batch run"


@app.command()
def batch(
    inputs: Annotated[
        list[str], typer.Argument(help="Image files, folders or glob patterns ('shots/*.jpg').")
    ],
    preset: PresetOption,
    out_dir: Annotated[
        Path, typer.Option("--out-dir", "-o", help="Existing folder for the results.")
    ],
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Parallel processes (default: number of cores).",
            rich_help_panel=_RUN,
        ),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing", help="Keep outputs that exist (resume a run).", rich_help_panel=_RUN
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace outputs that exist.", rich_help_panel=_RUN)
    ] = False,
    save_depth: Annotated[
        bool,
        typer.Option(
            "--save-depth",
            help="Cache computed depth maps as NAME.depth.npz (in --depth-cache); later runs reuse them.",
            rich_help_panel=_RUN,
        ),
    ] = False,
    depth_cache: Annotated[
        Path | None,
        typer.Option(
            "--depth-cache",
            help="Folder of cached depth maps (default: --out-dir).",
            rich_help_panel=_RUN,
        ),
    ] = None,
    contact_sheet: Annotated[
        Path | None,
        typer.Option(
            "--contact-sheet",
            help="Write a grid of before/after thumbnails (.jpg/.png).",
            rich_help_panel=_RUN,
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Output format: jpg, png, tif or webp (default: like the source).",
            rich_help_panel=_RUN,
        ),
    ] = None,
    recursive: Annotated[
        bool,
        typer.Option("--recursive", "-R", help="Descend into sub-folders.", rich_help_panel=_RUN),
    ] = False,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Run on a Dask distributed scheduler (tcp://host:8786); needs depthfx[distributed].",
            rich_help_panel=_RUN,
        ),
    ] = None,
    sbs: SbsOption = None,
    mono: MonoOption = False,
    model: ModelOption = None,
    download: DownloadOption = False,
    depth_near: DepthNearOption = "white",
    calibration: CalibrationOption = None,
    baseline: BaselineOption = None,
    focal: FocalOption = None,
) -> None:
    """Apply a preset to many photos; stereo pairs and depth files are found by name.

    Depth per photo: NAME.depth.png/.npy beside it, a cached map (--save-depth), its stereo
    partner (x_L/x_R, left/right, MPO, --sbs), else --mono or the preset's [depth] settings.
    Exit code 1 when any photo failed, 2 for usage errors.
    """
    if jobs is not None and jobs < 1:
        raise ParameterError(f"--jobs must be >= 1, got {jobs}")
    check_depth_near(depth_near)
    chain = load_preset(preset)
    items = discover_inputs(inputs, sbs=sbs, recursive=recursive)
    all_inputs = [path for item in items for path in item.inputs()]
    if contact_sheet is not None:
        check_output_path(contact_sheet, allowed=SHEET_SUFFIXES, inputs=all_inputs)
    fallback = DepthRequest(
        mono=mono,
        model=model,
        download=download,
        depth_near=depth_near,
        calibration=calibration,
        baseline=baseline,
        focal=focal,
    )
    plan = plan_batch(
        items,
        chain,
        out_dir,
        fallback=fallback,
        skip_existing=skip_existing,
        overwrite=overwrite,
        save_depth=save_depth,
        depth_cache=depth_cache,
        suffix=output_format,
        thumbnails=contact_sheet is not None,
    )
    workers = jobs or default_jobs()
    console = Console(stderr=True)
    where = (
        f"on {scheduler}" if scheduler else f"with {min(workers, max(len(plan.tasks), 1))} job(s)"
    )
    console.print(
        f"{len(items)} photo(s): {len(plan.tasks)} to do, {len(plan.skipped)} already done; "
        f"preset {chain.name}, {where}",
        highlight=False,
    )
    start = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task_id = progress.add_task("batch", total=len(plan.tasks))

        def on_result(result: ItemResult) -> None:
            progress.advance(task_id)
            if result.status == "failed":
                progress.console.print(
                    f"failed: {result.source}: {short_reason(result)}",
                    highlight=False,
                    markup=False,
                )

        results = run_batch(plan.tasks, jobs=workers, scheduler=scheduler, on_result=on_result)
    seconds = time.perf_counter() - start
    everything = [*plan.skipped, *results]
    summary = summarize(everything, seconds)
    if contact_sheet is not None:
        _write_sheet(contact_sheet, everything, all_inputs)
        typer.echo(f"contact sheet: {contact_sheet}")
    rate = f", {summary.done / seconds:.2f} images/s" if summary.done and seconds > 0 else ""
    typer.echo(
        f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed} "
        f"in {seconds:.1f} s{rate}"
    )
    for result in everything:
        if result.status == "failed":
            typer.echo(f"  failed: {result.source}: {short_reason(result)}")
    if not summary.ok:
        raise typer.Exit(1)


def _write_sheet(path: Path, results: list[ItemResult], inputs: list[Path]) -> None:
    entries = []
    for result in results:
        before, after = result.before, result.after
        if result.status == "skipped" and result.output is not None:
            try:
                after = thumbnail_from_file(result.output)
                before = thumbnail_from_file(result.image) if result.image else None
            except DepthfxError:
                pass
        if result.status == "failed":
            entries.append(SheetEntry(result.source, note=short_reason(result)))
        else:
            entries.append(
                SheetEntry(
                    result.source,
                    before,
                    after,
                    note="skipped" if result.status == "skipped" else "",
                )
            )
    if entries:
        write_contact_sheet(path, entries, inputs=inputs)
