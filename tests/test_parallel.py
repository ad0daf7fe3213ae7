"""Worker count, the shared pool, row bands, scratch buffers and process settings."""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.queues
import os
import threading
import time
import warnings
import weakref
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from depthfx import _parallel, allocator
from depthfx._parallel import (
    ENV_WORKERS,
    JobGroup,
    ThreadScratch,
    WorkerBuffers,
    configure_process,
    opencv_threads,
    row_bands,
    run_all,
    set_workers,
    shared_pool,
    split_rows,
    with_halo,
    workers,
)
from depthfx.errors import ParameterError


@pytest.fixture(autouse=True)
def _default_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(ENV_WORKERS, raising=False)
    set_workers(None)
    yield
    set_workers(None)


def _in_thread(function: object, timeout: float = 20.0) -> None:
    """Run ``function`` on its own thread; fail (rather than hang) if it does not finish."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "did not finish (deadlock?)"
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------- worker count


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (4, 4), (64, 4)])
def test_default_worker_count_is_the_available_cores_capped(
    monkeypatch: pytest.MonkeyPatch, cores: int, expected: int
) -> None:
    monkeypatch.setattr(_parallel, "available_cores", lambda: cores)
    assert workers() == expected


def test_two_cores_keep_two_workers() -> None:
    # The speed figures in the README were measured with two workers on two cores.
    if _parallel.available_cores() == 2:
        assert workers() == 2
    else:
        assert workers() == min(_parallel.available_cores(), 4)


def test_set_workers_overrides_the_environment_and_none_restores_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_WORKERS, "3")
    assert workers() == 3
    set_workers(5)
    assert workers() == 5
    set_workers(None)
    assert workers() == 3


@pytest.mark.parametrize("count", [0, -1, 1.5, 2.0, True, "2"])
def test_set_workers_refuses_anything_but_a_whole_number_from_one(count: object) -> None:
    with pytest.raises(ParameterError, match="workers must be a whole number >= 1"):
        set_workers(count)  # type: ignore[arg-type]
    assert workers() == min(_parallel.available_cores(), 4)  # unchanged


@pytest.mark.parametrize("text", [" 1 ", "6"])
def test_environment_variable_sets_the_worker_count(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(ENV_WORKERS, text)
    assert workers() == int(text)


@pytest.mark.parametrize("text", ["0", "-2", "1.5", "two"])
def test_bad_environment_variable_is_a_parameter_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    monkeypatch.setenv(ENV_WORKERS, text)
    with pytest.raises(ParameterError, match=f"{ENV_WORKERS} must be a whole number >= 1"):
        workers()


# --------------------------------------------------------------------------- shared pool


def test_one_pool_is_reused_across_calls_and_remade_for_a_new_count() -> None:
    first = shared_pool()
    names = set(run_all(lambda _: threading.current_thread().name, range(20)))
    names |= set(run_all(lambda _: threading.current_thread().name, range(20)))
    assert shared_pool() is first
    assert all(name.startswith("depthfx") for name in names)
    assert len(names) <= workers()
    set_workers(workers() + 1)
    second = shared_pool()
    assert second is not first
    assert second._max_workers == workers()
    assert shared_pool() is second


def _sum_on_the_workers(result: multiprocessing.queues.Queue[int]) -> None:
    result.put(sum(run_all(abs, range(-5, 0))))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_makes_its_own_pool() -> None:
    # The parent's pool has threads; a forked child has none of them, so work queued on
    # the inherited pool would never run.
    run_all(abs, range(4))
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
        child = context.Process(target=_sum_on_the_workers, args=(result,))
        child.start()
    child.join(20)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0
    assert result.get(timeout=5) == 15


def test_run_all_keeps_the_order_of_the_items() -> None:
    assert run_all(lambda item: item * item, range(50)) == [item * item for item in range(50)]


def test_run_all_waits_for_every_item_when_one_fails() -> None:
    finished = threading.Event()

    def job(item: int) -> None:
        if item == 0:
            raise ValueError("first item fails at once")
        time.sleep(0.2)
        finished.set()

    with pytest.raises(ValueError, match="first item"):
        run_all(job, [0, 1])
    assert finished.is_set()  # the slow item ended before run_all returned


def test_job_group_waits_for_its_jobs_on_leaving_the_block() -> None:
    done: list[int] = []

    def slow(item: int) -> int:
        time.sleep(0.05)
        done.append(item)
        return item

    with pytest.raises(RuntimeError), JobGroup() as jobs:
        jobs.submit(slow, 1)
        jobs.submit(slow, 2)
        raise RuntimeError("the caller fails")
    assert sorted(done) == [1, 2]
    with JobGroup() as jobs:
        assert list(jobs.map(slow, [3, 4, 5])) == [3, 4, 5]


def test_job_group_lets_go_of_results_once_handed_over() -> None:
    # A renderer's blurred layers are image-sized: holding them all until the end of the
    # call would raise its peak memory.
    class Layer:
        pass

    refs: list[weakref.ref[Layer]] = []

    def make(_: int) -> Layer:
        layer = Layer()
        refs.append(weakref.ref(layer))
        return layer

    with JobGroup() as jobs:
        for layer in jobs.map(make, range(4)):
            assert isinstance(layer, Layer)
            del layer
        assert len(refs) == 4 and all(ref() is None for ref in refs)


def test_jobs_started_from_a_worker_run_inline_instead_of_waiting_for_a_worker() -> None:
    # With one worker busy running the outer job, an inner job queued on the pool would
    # never start; it runs inline instead.
    set_workers(1)
    _in_thread(lambda: run_all(lambda item: sum(run_all(lambda inner: inner, range(5))), range(3)))
    results: list[list[int]] = []
    _in_thread(lambda: results.append(run_all(lambda n: sum(run_all(abs, range(n))), [3, 4])))
    assert results == [[3, 6]]


# --------------------------------------------------------------------------- row bands


@pytest.mark.parametrize("height", [1, 63, 64, 65, 1000, 1001])
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_row_bands_tile_the_rows_exactly(height: int, rows: int) -> None:
    bands = row_bands(height, rows)
    assert bands[0][0] == 0 and bands[-1][1] == height
    assert all(previous[1] == band[0] for previous, band in itertools.pairwise(bands))
    assert all(0 < y1 - y0 <= rows for y0, y1 in bands)
    assert all(y1 - y0 == rows for y0, y1 in bands[:-1])


@pytest.mark.parametrize("height", [1, 100, 1100, 3000, 4001])
@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_split_rows_gives_at_most_count_bands_of_at_least_min_rows(height: int, count: int) -> None:
    bands = split_rows(height, count, min_rows=64)
    covered = [row for y0, y1 in bands for row in range(y0, y1)]
    assert covered == list(range(height))
    assert len(bands) <= count
    assert all(y1 - y0 >= min(64, height) for y0, y1 in bands[:-1])


@pytest.mark.parametrize("halo", [0, 1, 5, 40])
def test_halo_bands_add_exactly_the_halo_within_the_image(halo: int) -> None:
    height = 150
    for band in row_bands(height, 64):
        h0, h1 = with_halo(band, halo, height)
        assert h0 == max(0, band[0] - halo) and h1 == min(height, band[1] + halo)
        # Every row within the halo of the band is read, and no other.
        near = [y for y in range(height) if band[0] - halo <= y < band[1] + halo]
        assert list(range(h0, h1)) == near


# --------------------------------------------------------------------------- scratch


def test_worker_buffers_lend_distinct_arrays_and_get_them_back_after_a_failure() -> None:
    buffers = WorkerBuffers((2, 3), count=2)
    with buffers.lend() as first, buffers.lend() as second:
        assert first.shape == (2, 3) and first.dtype == np.float32
        assert not np.shares_memory(first, second)
    with pytest.raises(KeyError), buffers.lend():
        raise KeyError("a band fails")

    def lend_both() -> None:  # blocks for ever if the failed band kept its array
        with buffers.lend(), buffers.lend():
            pass

    _in_thread(lend_both, timeout=5.0)


def test_thread_scratch_reuses_a_thread_s_buffer_and_keeps_threads_apart() -> None:
    scratch = ThreadScratch()
    big = scratch.get("stack", (4, 10))
    small = scratch.get("stack", (3, 5))
    assert small.shape == (3, 5) and np.shares_memory(big, small)
    assert not np.shares_memory(scratch.get("other", (3, 5)), small)
    elsewhere: list[np.ndarray] = []
    _in_thread(lambda: elsewhere.append(scratch.get("stack", (3, 5))))
    assert not np.shares_memory(elsewhere[0], small)


# --------------------------------------------------------------------------- process


def test_configure_process_applies_what_is_asked_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(allocator, "tune_allocator", lambda: calls.append("allocator") or True)
    threads = cv2.getNumThreads()
    try:
        configure_process()
        assert calls == [] and cv2.getNumThreads() == threads
        configure_process(allocator=True, opencv_threads=1, workers=3)
        assert calls == ["allocator"]
        assert cv2.getNumThreads() == 1
        assert workers() == 3
        with pytest.raises(ParameterError, match="opencv_threads"):
            configure_process(opencv_threads=0)
    finally:
        cv2.setNumThreads(threads)


def test_opencv_threads_are_restored_after_the_block() -> None:
    threads = cv2.getNumThreads()
    with pytest.raises(RuntimeError), opencv_threads(1):
        assert cv2.getNumThreads() == 1
        raise RuntimeError("work fails")
    assert cv2.getNumThreads() == threads


def test_importing_the_library_changes_no_process_setting() -> None:
    import subprocess
    import sys

    code = (
        "import cv2; before = cv2.getNumThreads(); "
        "import depthfx, depthfx.effects.fog, depthfx.effects.miniature, depthfx.batch; "
        "assert cv2.getNumThreads() == before"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- outputs


def test_effects_give_the_same_bits_whatever_the_worker_count() -> None:
    from depthfx.effects.fog import fog
    from depthfx.effects.miniature import miniature
    from depthfx.render.defocus import render_defocus

    rng = np.random.default_rng(4)
    image = rng.random((1100, 160, 3), dtype=np.float32)  # above 1024 rows: fog in bands
    rows = np.linspace(-12.0, 9.0, 1100, dtype=np.float32)[:, None]
    coc = np.repeat(rows, 160, axis=1)
    nearness = np.clip(1.0 - np.abs(coc) / 12.0, 0.05, 1.0)
    outputs = []
    for count in (1, 3):
        set_workers(count)
        outputs.append(
            (
                render_defocus(image, coc, highlight_threshold=0.6, highlight_gain=5.0),
                fog(image, nearness, density=0.5),
                miniature(image, nearness, mode="depth"),
            )
        )
    for one, three in zip(*outputs, strict=True):
        np.testing.assert_array_equal(one, three)
