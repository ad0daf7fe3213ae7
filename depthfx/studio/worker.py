"""One render worker where the latest request wins: at most one running, one waiting.

A new request replaces the waiting one (which is dropped, never rendered), so a burst of
clicks costs at most the render in progress plus the last click's. Results are numbered
by the request's generation; a reader waits until the newest finished generation is at
least the one it asked for.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RenderResult:
    """The outcome of one render: ``value`` or the ``error`` it raised."""

    generation: int
    value: Any = None
    error: Exception | None = None


@dataclass
class WorkerStats:
    """Counters of a :class:`LatestWinsWorker`, for tests and the status endpoint."""

    submitted: int = 0
    rendered: int = 0
    dropped: int = 0
    peak_running: int = 0
    peak_waiting: int = 0


class LatestWinsWorker:
    """Runs ``render(job)`` on one thread; a new job replaces the one waiting.

    Parameters
    ----------
    render : callable(job) -> value
        The work; an exception it raises becomes the result's ``error``.
    """

    def __init__(self, render: Callable[[Any], Any]) -> None:
        self._render = render
        self._changed = threading.Condition()
        self._waiting: tuple[int, Any] | None = None
        self._running = 0
        self._latest: RenderResult | None = None
        self._stopping = False
        self.stats = WorkerStats()
        self._thread = threading.Thread(target=self._loop, name="studio-render", daemon=True)
        self._thread.start()

    def submit(self, generation: int, job: Any) -> None:
        """Queue ``job`` as ``generation``, dropping a job still waiting."""
        with self._changed:
            if self._waiting is not None:
                self.stats.dropped += 1
            self._waiting = (generation, job)
            self.stats.submitted += 1
            self.stats.peak_waiting = max(self.stats.peak_waiting, 1)
            self._changed.notify_all()

    def result(self, generation: int, *, timeout: float) -> RenderResult | None:
        """The newest result once it is of ``generation`` or later; None after ``timeout``."""
        with self._changed:
            self._changed.wait_for(
                lambda: (
                    self._stopping
                    or (self._latest is not None and self._latest.generation >= generation)
                ),
                timeout=timeout,
            )
            latest = self._latest
        return latest if latest is not None and latest.generation >= generation else None

    @property
    def busy(self) -> tuple[int, int]:
        """(running, waiting) jobs now."""
        with self._changed:
            return self._running, int(self._waiting is not None)

    def stop(self) -> None:
        """Finish the render in progress, drop the waiting one and end the thread."""
        with self._changed:
            self._stopping = True
            self._waiting = None
            self._changed.notify_all()
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._stopping or self._waiting is not None)
                if self._stopping:
                    return
                assert self._waiting is not None
                generation, job = self._waiting
                self._waiting = None
                self._running += 1
                self.stats.peak_running = max(self.stats.peak_running, self._running)
            try:
                outcome = RenderResult(generation, value=self._render(job))
            except Exception as exc:  # reported to the page, which shows the message
                outcome = RenderResult(generation, error=exc)
            with self._changed:
                self._running -= 1
                self.stats.rendered += 1
                if self._latest is None or generation > self._latest.generation:
                    self._latest = outcome
                self._changed.notify_all()


__all__ = ["LatestWinsWorker", "RenderResult", "WorkerStats"]
