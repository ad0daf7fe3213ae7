"""One render worker: the latest request wins, stale ones are dropped, not queued."""

from __future__ import annotations

import threading

from depthfx.studio.worker import LatestWinsWorker


def test_requests_made_while_rendering_replace_each_other() -> None:
    started, release = threading.Event(), threading.Event()
    rendered: list[int] = []

    def render(job: int) -> int:
        rendered.append(job)
        if job == 1:
            started.set()
            release.wait(10)
        return job * 10

    worker = LatestWinsWorker(render)
    try:
        worker.submit(1, 1)
        assert started.wait(10)
        for generation in range(2, 8):
            worker.submit(generation, generation)
            assert worker.busy == (1, 1)
        release.set()
        result = worker.result(3, timeout=10)  # a dropped generation gets the newest result
        assert result is not None and result.generation == 7 and result.value == 70
        assert rendered == [1, 7]
        assert worker.stats.dropped == 5
        assert worker.stats.peak_running == 1 and worker.stats.peak_waiting == 1
    finally:
        worker.stop()


def test_an_error_is_the_result() -> None:
    def render(job: int) -> int:
        raise ValueError("bad")

    worker = LatestWinsWorker(render)
    try:
        worker.submit(1, 1)
        result = worker.result(1, timeout=10)
        assert result is not None and isinstance(result.error, ValueError)
    finally:
        worker.stop()


def test_waiting_for_a_result_times_out() -> None:
    worker = LatestWinsWorker(lambda job: job)
    try:
        assert worker.result(1, timeout=0.05) is None
    finally:
        worker.stop()
