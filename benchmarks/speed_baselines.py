"""Shared pieces of the effect speed benchmarks (bokeh, fog, miniature).

Two baselines are measured on the same 8-bit JPEG, because they answer different questions:

* **OpenCV JPEG** — ``cv2.imdecode`` + ``cv2.imencode(".jpg", quality 95)`` of the bytes in
  memory: the issues' yardstick ("the time to decode and re-encode the same JPEG"). The
  targets (bokeh <= 5x, fog <= 2x, miniature <= 5x) are stated against this one.
* **depthfx I/O** — ``read_image`` + ``write_image`` through a file: what the CLI really
  pays around an effect (linear float conversion, EXIF/ICC handling, atomic write). It is
  several times slower than the bare codec, so ratios against it look much better; they are
  printed for context only.

Each benchmark measures two configurations, each in its own process: ``--library``, a
plain library call in a default Python process, and ``--mallopt``, with
:func:`depthfx.tune_allocator`, the glibc settings the ``depthfx`` command applies at
start-up (and Python users may opt into): freed image-sized blocks are reused instead of
re-faulted. Give one of the flags to measure only that configuration.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES = {3: (2000, 1500), 12: (4000, 3000), 24: (6000, 4000)}
JPEG_QUALITY = 95


def run_each_configuration() -> bool:
    """Run the calling script once per allocator configuration, each in its own process.

    Without ``--mallopt`` or ``--library`` in the arguments, the script is re-run with
    ``--library`` (a plain library call in a default Python process) and with ``--mallopt``
    (as the ``depthfx`` command runs: :func:`depthfx.tune_allocator`), and True is returned
    so the caller stops. With either flag, returns False and the caller measures.
    """
    if "--mallopt" in sys.argv or "--library" in sys.argv:
        return False
    configurations = (
        ("--library", "plain library call, default allocator"),
        ("--mallopt", "as the depthfx command runs (depthfx.tune_allocator)"),
    )
    for flag, title in configurations:
        print(f"== {title}", flush=True)
        subprocess.run([sys.executable, sys.argv[0], *sys.argv[1:], flag], check=True)
    return True


def source_photo(width: int, height: int) -> np.ndarray:
    """8-bit BGR photo of the requested size (the Fujifilm MPO's left frame, resized)."""
    mpo = SHARED / "photos" / "mpo" / "fujifilm.mpo"
    if mpo.exists():
        from PIL import Image

        with Image.open(mpo) as frames:
            frames.seek(0)
            rgb = np.asarray(frames.convert("RGB"))
        bgr = rgb[:, :, ::-1]
    else:
        rng = np.random.default_rng(0)
        bgr = cv2.GaussianBlur((rng.random((1000, 1333, 3)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.resize(np.ascontiguousarray(bgr), (width, height), interpolation=cv2.INTER_CUBIC)


def timed(task: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one run of ``task``."""
    wall, cpu = time.perf_counter(), time.process_time()
    task()
    return time.perf_counter() - wall, time.process_time() - cpu


class Baselines:
    """The two I/O baselines for one JPEG (see the module docstring)."""

    def __init__(self, bgr: np.ndarray) -> None:
        ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        assert ok
        self.data = encoded.tobytes()
        self._folder = tempfile.TemporaryDirectory()
        self.path = Path(self._folder.name) / "photo.jpg"
        self.path.write_bytes(self.data)

    def opencv(self) -> None:
        image = cv2.imdecode(np.frombuffer(self.data, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None
        cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])

    def depthfx_io(self) -> None:
        from depthfx.image import read_image, write_image

        photo = read_image(self.path)
        write_image(self.path.with_name("out.jpg"), photo.pixels, like=photo)

    def linear_pixels(self) -> np.ndarray:
        from depthfx.image import read_image

        return read_image(self.path).pixels

    def close(self) -> None:
        self._folder.cleanup()


def interleaved_best(
    tasks: dict[str, Callable[[], object]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Best wall time (and the CPU time of that run) of each task over ``repeat`` rounds.

    Tasks alternate within each round so that all of them see the same machine load;
    other work on a shared machine only ever makes a run slower, hence the minimum.
    """
    best: dict[str, tuple[float, float]] = {name: (float("inf"), 0.0) for name in tasks}
    for _ in range(repeat):
        for name, task in tasks.items():
            wall, cpu = timed(task)
            if wall < best[name][0]:
                best[name] = (wall, cpu)
    return best


def ratio_line(
    label: str, seconds: float, cpu: float, opencv: float, io: float, target: float
) -> str:
    verdict = "met" if seconds <= target * opencv else "NOT met"
    return (
        f"{label:34s} {seconds:6.2f} s (cpu {cpu:5.2f} s)  {seconds / opencv:5.1f}x OpenCV JPEG"
        f" (target <= {target:g}x: {verdict})  {seconds / io:4.2f}x depthfx I/O"
    )
