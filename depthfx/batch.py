"""Batch runs: find the photos, pair stereo files, run a chain on each, report per file.

The steps are separate so each can be used and tested alone:

* :func:`discover_inputs` turns files, folders and globs into :class:`BatchItem` objects,
  pairing ``*_L``/``*_R`` and ``left``/``right`` files and finding depth files beside photos
  (``photo.depth.png``, ``photo.depth.npy``).
* :func:`plan_batch` decides every output path, what to skip (``skip_existing``) and refuses
  to overwrite anything unless told to.
* :func:`run_batch` runs the planned tasks in this process, in a pool of processes, or on a
  Dask cluster, and returns one :class:`ItemResult` per photo. A bad file is a failed result
  with a reason, never an exception that stops the run.
"""

from __future__ import annotations

import concurrent.futures as futures
import glob
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .chain import Chain
from .depth.source import DepthRequest, load_photo_and_depth
from .depth.stereo_input import SBS_LAYOUTS
from .errors import DepthfxError, InputError, ParameterError
from .image import READ_SUFFIXES, WRITE_SUFFIXES

DEPTH_SIDECAR_SUFFIXES = (".npy", ".pfm", ".tif", ".tiff", ".png")
THUMBNAIL_HEIGHT = 160
# How long to wait for a Dask scheduler to answer before giving up.
DASK_CONNECT_TIMEOUT = "10s"
# (pattern for the left view's stem, how to make the right view's stem from it)
_LEFT_PATTERNS = (
    re.compile(r"^(?P<base>.+?)(?P<sep>[_\-. ])(?P<token>L|l)$"),
    re.compile(r"^(?P<base>.*?)(?P<token>left|Left|LEFT)(?P<rest>.*)$"),
)


@dataclass(frozen=True)
class BatchItem:
    """One photo to process: a single image, a stereo pair, or a stereo file (MPO, SBS).

    Attributes
    ----------
    image : Path
        The photo (the left view of a pair).
    right : Path or None
        The right view, for pairs found by name.
    depth_file : Path or None
        A depth map found beside the photo.
    sbs : {"parallel", "cross"} or None
        The image is a side-by-side stereo picture.
    name : str
        Stem for the output files (``teddy`` for ``teddy_left.jpg`` + ``teddy_right.jpg``).
    """

    image: Path
    right: Path | None = None
    depth_file: Path | None = None
    sbs: str | None = None
    name: str = ""

    @property
    def label(self) -> str:
        """How the item is named in reports."""
        if self.right is not None:
            return f"{self.image.name} + {self.right.name}"
        return self.image.name

    def inputs(self) -> tuple[Path, ...]:
        """Every file the item reads; outputs must never be one of them."""
        return tuple(p for p in (self.image, self.right, self.depth_file) if p is not None)


# The batch's own depth options (mono, model, depth_near, calibration ...) for photos that
# bring no depth of their own: a request without a source of its own, completed per photo.
DepthFallback = DepthRequest


@dataclass(frozen=True)
class BatchTask:
    """Everything a worker needs for one item; picklable."""

    item: BatchItem
    chain: Chain
    output: Path
    fallback: DepthRequest = field(default_factory=DepthRequest)
    depth_cache: Path | None = None
    save_depth: bool = False
    thumbnails: bool = False


@dataclass(frozen=True)
class ItemResult:
    """What happened to one item.

    Attributes
    ----------
    source : str
        The item's label (file name, or "left + right").
    status : {"done", "skipped", "failed"}
    output : Path or None
        The written (or existing, when skipped) output.
    reason : str
        Why it failed or was skipped; empty when done.
    depth_source : str
        Where depth came from: "file", "cache", "stereo", "mono" (empty if not reached).
    seconds : float
        Wall time spent on the item.
    cpu_seconds : float
        CPU time the worker spent on the item (to tell slow work from a busy machine).
    before, after : ndarray (h, w, 3) uint8 or None
        sRGB thumbnails for a contact sheet, when asked for.
    image : Path or None
        The item's photo.
    """

    source: str
    status: str
    output: Path | None = None
    reason: str = ""
    depth_source: str = ""
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    before: np.ndarray | None = field(default=None, repr=False, compare=False)
    after: np.ndarray | None = field(default=None, repr=False, compare=False)
    image: Path | None = None


ResultCallback = Callable[[ItemResult], None]

# --------------------------------------------------------------------------- discovery


def discover_inputs(
    inputs: Sequence[str | os.PathLike[str]], *, sbs: str | None = None, recursive: bool = False
) -> list[BatchItem]:
    """Expand files, folders and glob patterns into batch items.

    Folders give their image files (``recursive`` to descend); files named explicitly are
    kept whatever their extension, so a wrong one is reported rather than dropped. Files whose
    names say left/right (``x_L.jpg`` + ``x_R.jpg``, ``teddy_left.png`` + ``teddy_right.png``)
    become one stereo item; ``photo.depth.png``/``.npy`` beside ``photo.jpg`` is its depth.

    Parameters
    ----------
    inputs : sequence of str or path
        Files, folders, or glob patterns (``"shots/*.jpg"``, ``"**/*.png"``).
    sbs : {"parallel", "cross"}, optional
        Every image is a side-by-side stereo picture with this layout.
    recursive : bool
        Descend into sub-folders of folder inputs.

    Raises
    ------
    InputError
        An input does not exist or a pattern matches nothing.

    Examples
    --------
    >>> items = discover_inputs(["examples"])  # doctest: +SKIP
    >>> [(item.name, item.right.name) for item in items]  # doctest: +SKIP
    [('teddy', 'teddy_right.jpg')]
    """
    if sbs is not None and sbs not in SBS_LAYOUTS:
        raise ParameterError(f"sbs must be one of {', '.join(SBS_LAYOUTS)}, got {sbs!r}")
    if not inputs:
        raise InputError("no inputs given: pass image files, folders or glob patterns")
    files: list[Path] = []
    for entry in inputs:
        files.extend(_expand(entry, recursive=recursive))
    unique: dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    candidates = [p for p in unique.values() if not _is_depth_sidecar(p)]
    items = _pair(candidates, sbs=sbs)
    return _unique_names(items)


def _expand(entry: str | os.PathLike[str], *, recursive: bool) -> list[Path]:
    text = os.fspath(entry)
    path = Path(text)
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        return sorted(p for p in path.glob(pattern) if _is_image_name(p) and p.is_file())
    if path.exists():
        return [path]
    if glob.has_magic(text):
        matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
        matches = [p for p in matches if p.is_file() and _is_image_name(p)]
        if not matches:
            raise InputError(f"{text}: pattern matches no image files")
        return matches
    raise InputError(f"{text}: no such file or folder")


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in READ_SUFFIXES and not path.name.startswith(".")


def _is_depth_sidecar(path: Path) -> bool:
    return path.stem.lower().endswith(".depth") and path.suffix.lower() in DEPTH_SIDECAR_SUFFIXES


def find_depth_file(image: Path) -> Path | None:
    """The depth map stored beside ``image`` (``photo.depth.png``, ``.npy``, ...), if any.

    Examples
    --------
    >>> find_depth_file(Path("no/such/photo.jpg")) is None
    True
    """
    for suffix in DEPTH_SIDECAR_SUFFIXES:
        candidate = image.with_name(f"{image.stem}.depth{suffix}")
        if candidate.is_file():
            return candidate
    return None


def find_right_view(image: Path) -> Path | None:
    """The right view beside a left view named ``*_L.*`` or ``*left*``, if it exists.

    Examples
    --------
    >>> find_right_view(Path("examples/teddy_left.jpg"))  # doctest: +SKIP
    PosixPath('examples/teddy_right.jpg')
    """
    pairing = _right_stem_and_name(image.stem)
    if pairing is None or not image.parent.is_dir():
        return None
    candidates = sorted(
        p
        for p in image.parent.glob(f"{glob.escape(pairing[0])}.*")
        if _is_image_name(p) and p != image
    )
    same_suffix = [p for p in candidates if p.suffix.lower() == image.suffix.lower()]
    found = same_suffix or candidates
    return found[0] if found else None


def _right_stem_and_name(stem: str) -> tuple[str, str] | None:
    """For a left view's stem: (the right view's stem, the pair's output name)."""
    match = _LEFT_PATTERNS[0].match(stem)
    if match:
        token = "R" if match.group("token") == "L" else "r"
        return f"{match.group('base')}{match.group('sep')}{token}", match.group("base")
    match = _LEFT_PATTERNS[1].match(stem)
    if match:
        right = {"left": "right", "Left": "Right", "LEFT": "RIGHT"}[match.group("token")]
        name = re.sub(r"([_\-. ])\1+", r"\1", f"{match.group('base')}{match.group('rest')}").strip(
            "_-. "
        )
        return f"{match.group('base')}{right}{match.group('rest')}", name or stem
    return None


def _pair(files: list[Path], *, sbs: str | None) -> list[BatchItem]:
    by_folder_stem: dict[tuple[Path, str], list[Path]] = {}
    for path in files:
        by_folder_stem.setdefault((path.parent.resolve(), path.stem), []).append(path)
    partner: dict[Path, tuple[Path, str]] = {}
    rights: set[Path] = set()
    for path in files:
        pairing = None if sbs is not None else _right_stem_and_name(path.stem)
        if pairing is None or path in rights:
            continue
        candidates = [
            p
            for p in by_folder_stem.get((path.parent.resolve(), pairing[0]), [])
            if p not in rights
        ]
        if candidates:
            same_suffix = [p for p in candidates if p.suffix.lower() == path.suffix.lower()]
            chosen = (same_suffix or candidates)[0]
            partner[path] = (chosen, pairing[1])
            rights.add(chosen)
    items: list[BatchItem] = []
    for path in files:
        if path in rights:
            continue
        paired = partner.get(path)
        right: Path | None = paired[0] if paired is not None else None
        name = paired[1] if paired is not None else path.stem
        items.append(
            BatchItem(image=path, right=right, depth_file=find_depth_file(path), sbs=sbs, name=name)
        )
    return items


def _unique_names(items: list[BatchItem]) -> list[BatchItem]:
    """Give every item a distinct output stem (case-insensitively, for every file system)."""
    seen: dict[str, int] = {}
    result = []
    for item in items:
        name = item.name or item.image.stem
        key = name.lower()
        if key in seen:
            alternative = item.image.stem
            if alternative.lower() in seen:
                seen[key] += 1
                alternative = f"{name}-{seen[key]}"
            name = alternative
        seen.setdefault(name.lower(), 1)
        result.append(replace(item, name=name))
    return result


# --------------------------------------------------------------------------- planning


def output_path_for(item: BatchItem, out_dir: Path, *, suffix: str | None = None) -> Path:
    """Where the item's result goes: ``out_dir / name + suffix``.

    Without ``suffix`` the source's format is kept when depthfx can write it (MPO -> .jpg,
    BMP -> .png).
    """
    if suffix is None:
        source = item.image.suffix.lower()
        suffix = source if source in WRITE_SUFFIXES else (".png" if source == ".bmp" else ".jpg")
    return out_dir / f"{item.name}{suffix}"


def depth_cache_path(item: BatchItem, cache_dir: Path) -> Path:
    """Where ``--save-depth`` stores the item's depth map (``name.depth.npz``: nearness,
    confidence, units and metric scale, so a cached map acts exactly like a fresh one)."""
    return cache_dir / f"{item.name}.depth.npz"


@dataclass(frozen=True)
class BatchPlan:
    """Tasks to run and results already decided (skipped outputs)."""

    tasks: tuple[BatchTask, ...]
    skipped: tuple[ItemResult, ...]


def plan_batch(
    items: Sequence[BatchItem],
    chain: Chain,
    out_dir: str | os.PathLike[str],
    *,
    fallback: DepthRequest | None = None,
    skip_existing: bool = False,
    overwrite: bool = False,
    save_depth: bool = False,
    depth_cache: str | os.PathLike[str] | None = None,
    suffix: str | None = None,
    thumbnails: bool = False,
) -> BatchPlan:
    """Decide output paths and what to skip; refuse to overwrite without ``overwrite``.

    Parameters
    ----------
    items : sequence of BatchItem
        From :func:`discover_inputs`.
    chain : Chain
        What to apply.
    out_dir : path
        Existing folder for the results.
    fallback : DepthRequest, optional
        Depth options for photos without their own depth (``mono``, ``model``,
        ``depth_near``, ``calibration`` ...); it names no source of its own except ``mono``:
        right views, side-by-side layouts and depth files are found per photo.
    skip_existing : bool
        Outputs that exist already are skipped (resuming an interrupted run).
    overwrite : bool
        Outputs that exist already are replaced.
    save_depth : bool
        Store computed depth maps as ``name.depth.npy`` in ``depth_cache``.
    depth_cache : path, optional
        Folder of cached depth maps (read when present, written with ``save_depth``);
        default ``out_dir``.
    suffix : str, optional
        Output extension (``.jpg``, ``.png``, ``.tif``, ``.webp``); default: like the source.
    thumbnails : bool
        Workers return before/after thumbnails for a contact sheet.

    Raises
    ------
    InputError
        The output folder is missing, an output would overwrite an input, or outputs exist
        and neither ``skip_existing`` nor ``overwrite`` is set.
    ParameterError
        ``fallback`` names a right view, side-by-side layout or depth file.
    """
    out = Path(out_dir)
    fallback = fallback or DepthRequest()
    per_photo = [name for name in fallback.sources() if name != "--mono"]
    if per_photo:
        raise ParameterError(
            f"a batch finds {per_photo[0]} per photo; leave it out of the fallback depth options"
        )
    if skip_existing and overwrite:
        raise ParameterError("give --skip-existing or --overwrite, not both")
    if not out.is_dir():
        raise InputError(f"{out}: output folder does not exist")
    if suffix is not None:
        suffix = suffix if suffix.startswith(".") else f".{suffix}"
        if suffix.lower() not in WRITE_SUFFIXES:
            raise ParameterError(
                f"output format must be one of {', '.join(WRITE_SUFFIXES)}, got {suffix!r}"
            )
    cache_dir = Path(depth_cache) if depth_cache is not None else out
    if not cache_dir.is_dir():
        raise InputError(f"{cache_dir}: depth cache folder does not exist")
    all_inputs = {p.resolve() for item in items for p in item.inputs()}
    tasks: list[BatchTask] = []
    skipped: list[ItemResult] = []
    existing: list[Path] = []
    for item in items:
        output = output_path_for(item, out, suffix=suffix)
        if output.resolve() in all_inputs:
            raise InputError(
                f"{output}: output would overwrite an input file; choose another --out-dir"
            )
        if output.exists():
            if skip_existing:
                skipped.append(
                    ItemResult(
                        item.label, "skipped", output, reason="output exists", image=item.image
                    )
                )
                continue
            if not overwrite:
                existing.append(output)
        tasks.append(
            BatchTask(
                item=item,
                chain=chain,
                output=output,
                fallback=fallback,
                depth_cache=depth_cache_path(item, cache_dir),
                save_depth=save_depth,
                thumbnails=thumbnails,
            )
        )
    if existing:
        shown = ", ".join(p.name for p in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise InputError(
            f"{len(existing)} output(s) already exist in {out} ({shown}); "
            "pass --skip-existing to keep them or --overwrite to replace them"
        )
    return BatchPlan(tasks=tuple(tasks), skipped=tuple(skipped))


def remove_stale_temporaries(tasks: Iterable[BatchTask]) -> list[Path]:
    """Delete temporary files a killed run left beside the planned outputs.

    ``write_image`` writes ``.name.XXXX.tmp.jpg`` and renames it; a run killed between the
    two leaves the temporary behind. Returns what was removed.
    """
    removed = []
    for task in tasks:
        cache = task.depth_cache
        for target in (task.output, cache):
            if target is None:
                continue
            for temp in target.parent.glob(
                f".{glob.escape(target.stem)}.*.tmp{glob.escape(target.suffix)}"
            ):
                try:
                    temp.unlink()
                    removed.append(temp)
                except OSError:
                    pass
    return removed


# --------------------------------------------------------------------------- one item


def _is_stereo_file(path: Path) -> bool:
    try:
        from .depth.stereo_input import is_stereo_file
    except ImportError:  # stereo input support not installed in this build
        return False
    try:
        return bool(is_stereo_file(path))
    except DepthfxError:
        return False


def depth_request_for(task: BatchTask) -> tuple[DepthRequest, str]:
    """The depth request for a task and a word saying where depth comes from.

    Order: a depth file beside the photo, a cached depth map, the stereo pair (by name, SBS
    or MPO), then the fallback (``mono``) or the preset's depth settings.
    """
    item, fallback, settings = task.item, task.fallback, task.chain.depth
    common: dict[str, Any] = {"depth_near": fallback.depth_near}
    if item.depth_file is not None and settings.source in ("auto", "file"):
        return DepthRequest(depth_file=item.depth_file, **common), "file"
    if task.depth_cache is not None and task.depth_cache.is_file():
        return DepthRequest(depth_file=task.depth_cache), "cache"
    if settings.source == "file":
        raise InputError(
            f"{item.image}: the preset wants a depth file; put {item.image.stem}.depth.png "
            "(or .npy) beside the photo"
        )
    stereo: dict[str, Any] = {
        "calibration": fallback.calibration,
        "baseline": fallback.baseline,
        "focal": fallback.focal,
    }
    has_stereo = item.right is not None or item.sbs is not None or _is_stereo_file(item.image)
    if has_stereo and settings.source != "mono":
        return DepthRequest(right=item.right, sbs=item.sbs, **stereo, **common), "stereo"
    if settings.source == "stereo":
        raise InputError(f"{item.image}: the preset wants stereo depth but no right view was found")
    if fallback.mono or settings.source in ("mono", "auto"):
        model = fallback.model or settings.model
        return DepthRequest(mono=True, model=model, download=fallback.download, **common), "mono"
    # unreachable: every source value is handled above
    raise InputError(f"{item.image}: no depth for this photo")


def process_item(task: BatchTask) -> ItemResult:
    """Run one task: read, get depth, apply the chain, write atomically. Never raises.

    Any error becomes a failed :class:`ItemResult` whose reason is one line.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    depth_source = ""
    try:
        from .image import write_image

        request, depth_source = depth_request_for(task)
        photo, depth = load_photo_and_depth(task.item.image, request)
        if task.save_depth and depth_source in ("stereo", "mono") and task.depth_cache is not None:
            depth.save(task.depth_cache, inputs=task.item.inputs())
        result = task.chain.apply(photo.rgba(), depth)
        write_image(task.output, result, like=photo, inputs=task.item.inputs())
        before = after = None
        if task.thumbnails:
            before, after = _thumbnail(photo.rgba()), _thumbnail(result)
        return ItemResult(
            task.item.label,
            "done",
            task.output,
            depth_source=depth_source,
            seconds=time.perf_counter() - start,
            cpu_seconds=time.process_time() - cpu_start,
            before=before,
            after=after,
            image=task.item.image,
        )
    except DepthfxError as exc:
        reason = str(exc)
    except MemoryError:
        reason = "out of memory"
    except Exception as exc:  # a worker must report, not die, whatever a file does to a decoder
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return ItemResult(
        task.item.label,
        "failed",
        None,
        reason=reason,
        depth_source=depth_source,
        seconds=time.perf_counter() - start,
        cpu_seconds=time.process_time() - cpu_start,
        image=task.item.image,
    )


def _thumbnail(image: np.ndarray, height: int = THUMBNAIL_HEIGHT) -> np.ndarray:
    import cv2

    from .image import to_display

    rows, cols = image.shape[:2]
    scale = min(1.0, height / rows)
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    small = cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)
    return to_display(small)[:, :, :3]


# --------------------------------------------------------------------------- running


def _init_worker() -> None:
    from ._parallel import configure_process

    # One image per process: OpenCV's own threads would only compete with the other workers.
    configure_process(opencv_threads=1)


def default_jobs() -> int:
    """Number of CPU cores this process may use."""
    from ._parallel import available_cores

    return available_cores()


def run_batch(
    tasks: Sequence[BatchTask],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    on_result: ResultCallback | None = None,
) -> list[ItemResult]:
    """Run tasks and return their results in the order they were given.

    Parameters
    ----------
    tasks : sequence of BatchTask
        From :func:`plan_batch`.
    jobs : int, optional
        Worker processes (default: the number of cores). 1 runs in this process.
    scheduler : str, optional
        Address of a Dask distributed scheduler (``tcp://host:8786``); needs the
        ``depthfx[distributed]`` extra. ``jobs`` is then ignored.
    on_result : callable, optional
        Called with each :class:`ItemResult` as it finishes (for progress bars).

    Notes
    -----
    Worker processes are started with "forkserver" (or "spawn"), never "fork", so scripts
    calling this with ``jobs > 1`` need the ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> items = discover_inputs(["shots/"])  # doctest: +SKIP
    >>> plan = plan_batch(items, load_preset("portrait"), "out/")  # doctest: +SKIP
    >>> results = run_batch(plan.tasks, jobs=2)  # doctest: +SKIP
    """
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be an integer >= 1, got {jobs!r}")
    remove_stale_temporaries(tasks)
    if not tasks:
        return []
    if scheduler is not None:
        return _run_dask(tasks, scheduler, on_result)
    if jobs == 1 or len(tasks) == 1:
        return _run_here(tasks, on_result)
    return _run_pool(tasks, min(jobs, len(tasks)), on_result)


def _report(result: ItemResult, on_result: ResultCallback | None) -> ItemResult:
    if on_result is not None:
        on_result(result)
    return result


def _run_here(tasks: Sequence[BatchTask], on_result: ResultCallback | None) -> list[ItemResult]:
    from ._parallel import opencv_threads

    with opencv_threads(1):  # same per-image work as a pool worker, so timings compare
        return [_report(process_item(task), on_result) for task in tasks]


def _pool_context() -> Any:
    # Never fork: the parent may hold threads (rich, OpenCV) whose locks a fork would copy.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _run_pool(
    tasks: Sequence[BatchTask], jobs: int, on_result: ResultCallback | None
) -> list[ItemResult]:
    results: list[ItemResult | None] = [None] * len(tasks)
    # Workers inherit the environment when they start: one math-library thread each, so
    # N workers use N cores rather than fighting over them.
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    for name, value in saved.items():
        if value is None:
            os.environ[name] = "1"
    executor = futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=_pool_context(), initializer=_init_worker
    )
    try:
        pending = {executor.submit(process_item, task): index for index, task in enumerate(tasks)}
        for future in futures.as_completed(pending):
            index = pending[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker process died (killed, crashed in native code)
                result = ItemResult(
                    tasks[index].item.label, "failed", reason=f"worker failed: {exc}".strip()
                )
            results[index] = _report(result, on_result)
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
    executor.shutdown(wait=True)
    return [r for r in results if r is not None]


def _run_dask(
    tasks: Sequence[BatchTask], address: str, on_result: ResultCallback | None
) -> list[ItemResult]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise DepthfxError(
            "--scheduler needs Dask distributed; install it with: pip install 'depthfx[distributed]'"
        ) from None
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    results: list[ItemResult | None] = [None] * len(tasks)
    try:
        submitted = client.map(process_item, list(tasks), pure=False)
        index_of = {future.key: index for index, future in enumerate(submitted)}
        for future in as_completed(submitted):
            index = index_of[future.key]
            try:
                result = future.result()
            except Exception as exc:  # the worker was lost or could not unpickle the task
                result = ItemResult(
                    tasks[index].item.label, "failed", reason=f"dask worker failed: {exc}"
                )
            results[index] = _report(result, on_result)
    finally:
        client.close()
    return [r for r in results if r is not None]


def batch_apply(
    inputs: Sequence[str | os.PathLike[str]],
    preset: Chain | str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    skip_existing: bool = False,
    overwrite: bool = False,
    save_depth: bool = False,
    sbs: str | None = None,
    fallback: DepthRequest | None = None,
    scheduler: str | None = None,
    on_result: ResultCallback | None = None,
) -> list[ItemResult]:
    """Apply a preset to files, folders and globs in one call (what ``depthfx batch`` does).

    Returns one :class:`ItemResult` per photo, skipped ones first. Run it under
    ``if __name__ == "__main__":`` in scripts: worker processes re-import the main module.

    Examples
    --------
    >>> results = batch_apply(["shots/*.jpg"], "misty-morning", "out/", jobs=2)  # doctest: +SKIP
    >>> summarize(results)  # doctest: +SKIP
    BatchSummary(done=12, skipped=0, failed=0, seconds=0.0)
    """
    from .presets import load_preset

    chain = preset if isinstance(preset, Chain) else load_preset(preset)
    plan = plan_batch(
        discover_inputs(inputs, sbs=sbs),
        chain,
        out_dir,
        fallback=fallback,
        skip_existing=skip_existing,
        overwrite=overwrite,
        save_depth=save_depth,
    )
    return [
        *plan.skipped,
        *run_batch(plan.tasks, jobs=jobs, scheduler=scheduler, on_result=on_result),
    ]


# --------------------------------------------------------------------------- summary


def short_reason(result: ItemResult) -> str:
    """The failure reason without a leading ``path:`` that repeats the item's file.

    Examples
    --------
    >>> short_reason(ItemResult("a.jpg", "failed", reason="in/a.jpg: file is empty"))
    'file is empty'
    """
    head, separator, tail = result.reason.partition(": ")
    if separator and result.image is not None and Path(head).name == result.image.name:
        return tail
    if separator and Path(head).name == result.source:
        return tail
    return result.reason


@dataclass(frozen=True)
class BatchSummary:
    """Counts of a finished batch."""

    done: int
    skipped: int
    failed: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.failed == 0


def summarize(results: Sequence[ItemResult], seconds: float = 0.0) -> BatchSummary:
    """Count done, skipped and failed results.

    Examples
    --------
    >>> summarize([ItemResult("a.jpg", "done"), ItemResult("b.jpg", "failed", reason="bad")])
    BatchSummary(done=1, skipped=0, failed=1, seconds=0.0)
    """
    count = {
        status: sum(r.status == status for r in results) for status in ("done", "skipped", "failed")
    }
    return BatchSummary(count["done"], count["skipped"], count["failed"], seconds)


__all__ = [
    "BatchItem",
    "BatchPlan",
    "BatchSummary",
    "BatchTask",
    "DepthFallback",
    "ItemResult",
    "batch_apply",
    "default_jobs",
    "depth_cache_path",
    "depth_request_for",
    "discover_inputs",
    "find_depth_file",
    "find_right_view",
    "output_path_for",
    "plan_batch",
    "process_item",
    "remove_stale_temporaries",
    "run_batch",
    "short_reason",
    "summarize",
]
