"""Performance policy in one place: worker threads, row bands, scratch buffers, process settings.

Effects split full-size work into row bands (or tiles) that run on a few threads: NumPy
and OpenCV release the GIL, and small bands stay in the cache. The thread count, the one
shared pool that runs them, and the ways of cutting rows into bands live here, so an
effect only says what to run on which rows.

The worker count is :func:`workers`: ``set_workers(n)``, else the ``DEPTHFX_WORKERS``
environment variable, else the cores this process may use, at most 4 by default (every
worker keeps its own band- and layer-sized scratch buffers; more can be asked for). Outputs
do not depend on it, only who computes which band does (tests/test_parallel.py checks).

Process-wide settings (OpenCV's thread count, glibc's allocator) belong to an application,
not to a library call: :func:`configure_process` applies them where the ``depthfx`` command
or a batch worker process asks for them, and library modules never do at import.

NumPy and OpenCV are imported where they are used, so the command line can configure its
process before (or without) loading them.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ParameterError

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
R = TypeVar("R")

ENV_WORKERS = "DEPTHFX_WORKERS"
# Default worker count at most: see the module docstring.
_MAX_DEFAULT_WORKERS = 4

_lock = threading.Lock()
_chosen: int | None = None  # set_workers(); None = environment or cores
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
# Set on the shared pool's threads: work submitted from one of them runs inline, so a job
# that itself splits into bands can never wait for a worker that is waiting for it.
_on_worker = threading.local()


# --------------------------------------------------------------------------- worker count


def available_cores() -> int:
    """Number of CPU cores this process may use (its affinity mask where there is one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _checked(value: object, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{source} must be a whole number >= 1, got {value!r}")
    return value


def workers() -> int:
    """Threads that full-size work is spread over.

    Returns
    -------
    int
        ``set_workers(n)`` if called, else ``$DEPTHFX_WORKERS`` if set, else the available
        cores capped at 4.

    Raises
    ------
    ParameterError
        ``$DEPTHFX_WORKERS`` is not a whole number >= 1.

    Examples
    --------
    >>> set_workers(3)
    >>> workers()
    3
    >>> set_workers(None)  # back to the environment or the default
    """
    if _chosen is not None:
        return _chosen
    text = os.environ.get(ENV_WORKERS, "").strip()
    if text:
        try:
            value: object = int(text)
        except ValueError:
            value = text
        return _checked(value, ENV_WORKERS)
    return min(available_cores(), _MAX_DEFAULT_WORKERS)


def set_workers(count: int | None) -> None:
    """Spread full-size work over ``count`` threads (None: the environment or the default).

    Raises
    ------
    ParameterError
        ``count`` is not a whole number >= 1.
    """
    global _chosen
    value = None if count is None else _checked(count, "workers")
    with _lock:
        _chosen = value


# --------------------------------------------------------------------------- shared pool


def _forget_pool() -> None:
    # A forked child inherits the pool but not its threads: it makes its own on first use.
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _mark_worker() -> None:
    _on_worker.active = True


def _on_pool_thread() -> bool:
    return getattr(_on_worker, "active", False)


def shared_pool() -> ThreadPoolExecutor:
    """The one thread pool of :func:`workers` threads, made on first use and reused.

    A new worker count gets a new pool; the old one is dropped, not shut down, so a call
    still using it finishes there (its threads end once it is no longer referenced).
    """
    global _pool, _pool_size
    count = workers()
    with _lock:
        if _pool is None or _pool_size != count:
            _pool = ThreadPoolExecutor(
                count, thread_name_prefix="depthfx", initializer=_mark_worker
            )
            _pool_size = count
        return _pool


class JobGroup:
    """Jobs of one call on the shared pool, waited for together.

    Used as ``with JobGroup() as jobs:``, like a private executor: leaving the block (also
    by an exception) waits for every job submitted through it, so no work on the caller's
    arrays goes on after the call. Finished jobs are not kept: their results live only as
    long as the caller holds them.
    """

    def __init__(self) -> None:
        self._pending: set[Future[Any]] = set()
        # None on a worker thread: its jobs run inline.
        self._pool = None if _on_pool_thread() else shared_pool()

    def submit(self, function: Callable[..., R], /, *args: object, **kwargs: object) -> Future[R]:
        """``function(*args, **kwargs)`` on a worker (inline when called from a worker)."""
        if self._pool is None:
            future: Future[R] = Future()
            try:
                future.set_result(function(*args, **kwargs))
            except Exception as exc:
                future.set_exception(exc)
            return future
        future = self._pool.submit(function, *args, **kwargs)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def map(self, function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``function(item)`` for every item, all submitted at once; results in order as
        they come (the caller can use the first while later ones still run, and each
        result is let go once it has been handed over)."""
        futures = [self.submit(function, item) for item in items]
        futures.reverse()

        def results() -> Iterator[R]:
            while futures:
                yield futures.pop().result()

        return results()

    def __enter__(self) -> JobGroup:
        return self

    def __exit__(self, *exc_info: object) -> None:
        wait(list(self._pending))


def run_all(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``function(item)`` for every item on the workers; their results, in order.

    Waits for every item even when one fails (then raises the first failure in order), so
    no work on the caller's arrays goes on after it returns.
    """
    with JobGroup() as jobs:
        futures = [jobs.submit(function, item) for item in items]
    return [future.result() for future in futures]


# --------------------------------------------------------------------------- row bands


def row_bands(height: int, rows: int) -> list[tuple[int, int]]:
    """Consecutive row ranges ``(y0, y1)`` of ``rows`` rows (the last may be shorter)
    covering ``0 .. height``.

    Examples
    --------
    >>> row_bands(150, 64)
    [(0, 64), (64, 128), (128, 150)]
    """
    if rows < 1:
        raise ParameterError(f"rows must be >= 1, got {rows}")
    return [(y, min(y + rows, height)) for y in range(0, height, rows)]


def split_rows(height: int, count: int, *, min_rows: int = 64) -> list[tuple[int, int]]:
    """About ``count`` equal row ranges covering ``0 .. height``; fewer, of ``min_rows``
    rows, for small images.

    Examples
    --------
    >>> split_rows(1000, 4)
    [(0, 250), (250, 500), (500, 750), (750, 1000)]
    >>> split_rows(100, 4)
    [(0, 64), (64, 100)]
    """
    return row_bands(height, max(min_rows, -(-height // max(1, count))))


def with_halo(band: tuple[int, int], halo: int, height: int) -> tuple[int, int]:
    """``band`` widened by ``halo`` rows on each side, within ``0 .. height``.

    Examples
    --------
    >>> with_halo((64, 128), 8, 150), with_halo((128, 150), 8, 150)
    ((56, 136), (120, 150))
    """
    return max(0, band[0] - halo), min(height, band[1] + halo)


# --------------------------------------------------------------------------- scratch


class WorkerBuffers:
    """One float32 array of ``shape`` per worker, lent to a band and given back after it.

    Fresh band-sized arrays would be page-faulted in (and zeroed by the kernel) for every
    band. They are made by the calling thread, not on the workers: glibc serves a worker
    thread's blocks above 64 MB from its own arena with fresh pages, whatever
    :func:`depthfx.tune_allocator` asked.
    """

    def __init__(self, shape: tuple[int, ...], count: int | None = None) -> None:
        import numpy as np

        self._free: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        # One block per worker, not one for all: each can take the place of a freed block
        # of its size (a decoded photo's samples, say) instead of being fresh memory.
        for _ in range(count or workers()):
            self._free.put(np.empty(shape, np.float32))

    @contextlib.contextmanager
    def lend(self) -> Iterator[np.ndarray]:
        """A free array for the duration of the block (a band that fails gives it back too)."""
        array = self._free.get()
        try:
            yield array
        finally:
            self._free.put(array)


class ThreadScratch:
    """Float32 arrays reused by each calling thread from one job to the next, by name.

    Touching fresh memory can cost more than the arithmetic done on it (a 12 MP photo's
    layer stacks run to hundreds of MB), so each thread keeps one growing buffer per name.
    The buffers go when this object does.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of ``shape``, this thread's ``name`` buffer (reused)."""
        import numpy as np

        size = math.prod(shape)
        buffer = getattr(self._local, name, None)
        if buffer is None or buffer.size < size:
            buffer = np.empty(size, np.float32)
            setattr(self._local, name, buffer)
        return buffer[:size].reshape(shape)


# --------------------------------------------------------------------------- process


def configure_process(
    *,
    allocator: bool = False,
    opencv_threads: int | None = None,
    workers: int | None = None,
) -> None:
    """Process-wide settings an application asks for once (never done by library calls).

    Parameters
    ----------
    allocator : bool
        Keep freed image-sized blocks in the heap (:func:`depthfx.tune_allocator`); the
        ``depthfx`` command does.
    opencv_threads : int, optional
        OpenCV's own thread count (``cv2.setNumThreads``); a batch worker process sets 1,
        as the other processes use the other cores.
    workers : int, optional
        :func:`set_workers`.
    """
    if allocator:
        from . import allocator as glibc

        glibc.tune_allocator()
    if opencv_threads is not None:
        import cv2

        cv2.setNumThreads(_checked(opencv_threads, "opencv_threads"))
    if workers is not None:
        set_workers(workers)


@contextlib.contextmanager
def opencv_threads(count: int) -> Iterator[None]:
    """OpenCV's thread count set to ``count`` inside the block, restored after it."""
    import cv2

    saved = cv2.getNumThreads()
    cv2.setNumThreads(count)
    try:
        yield
    finally:
        cv2.setNumThreads(saved)


__all__ = [
    "ENV_WORKERS",
    "JobGroup",
    "ThreadScratch",
    "WorkerBuffers",
    "available_cores",
    "configure_process",
    "opencv_threads",
    "row_bands",
    "run_all",
    "set_workers",
    "shared_pool",
    "split_rows",
    "with_halo",
]
