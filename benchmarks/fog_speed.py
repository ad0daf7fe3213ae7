"""Fog on a 12 MP photo beside the JPEG decode + encode time of the same photo.

Run: ``python benchmarks/fog_speed.py [PHOTO]``. Without PHOTO, the left frame of
``../shared/data/photos/mpo/fujifilm.mpo`` is resized to 4000x3000. Depth is synthetic (a
receding ground with near blobs), since only the timing matters here. Target: fog at most
2x the decode + encode time.
"""

from __future__ import annotations

import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from depthfx.depthmap import DepthMap
from depthfx.effects.fog import fog
from depthfx.image import read_image, write_image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZE = (4000, 3000)


def make_photo(folder: Path, source: Path | None) -> Path:
    path = folder / "photo12mp.jpg"
    if source is None:
        pil = Image.open(SHARED / "photos" / "mpo" / "fujifilm.mpo")
        pil.seek(0)
    else:
        pil = Image.open(source)
    pil.convert("RGB").resize(SIZE, Image.Resampling.LANCZOS).save(path, quality=92)
    return path


def synthetic_nearness(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    rows = np.linspace(0.05, 1.0, height, dtype=np.float32)[:, None]
    nearness = np.repeat(rows, width, axis=1)
    for index in range(6):
        centre = (int(width * (0.15 + 0.14 * index)), int(height * (0.4 + 0.08 * index)))
        cv2.circle(nearness, centre, int(height * 0.08), float(1.0 + 0.2 * index), -1)
    return nearness


def timed(task: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        task()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def io_time(photo_path: Path, folder: Path) -> float:
    def decode_encode() -> None:
        photo = read_image(photo_path)
        write_image(folder / "io.jpg", photo.pixels, like=photo)

    return timed(decode_encode)


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        photo_path = make_photo(folder, source)
        photo = read_image(photo_path)
        height, width = photo.shape
        depth = DepthMap(
            synthetic_nearness((height, width)) * 30, metric_scale=60.0, units="disparity_px"
        )
        io = io_time(photo_path, folder)
        print(f"photo {width}x{height} ({width * height / 1e6:.1f} MP)")
        print(f"JPEG decode + encode (read_image + write_image): {io:.2f} s")
        cases: dict[str, dict[str, Any]] = {
            "fog, relative, auto colour": {"density": 0.2},
            "fog, metric visibility, white": {"visibility": 3.0, "color": "white"},
            "fog, height + patchy": {"density": 0.2, "height_falloff": 1.0, "patchiness": 0.5},
            "fog, no edge refinement": {"density": 0.2, "edge_aware": False},
        }
        for label, options in cases.items():
            seconds = timed(functools.partial(fog, photo.pixels, depth, **options))
            verdict = "ok" if seconds <= 2 * io else "OVER TARGET"
            print(
                f"{label:32s} {seconds:6.2f} s  = {seconds / io:4.2f}x I/O  (target <= 2x: {verdict})"
            )


if __name__ == "__main__":
    main()
