"""Fog on a 12 MP photo beside the JPEG decode + encode time of the same photo.

Run: ``python benchmarks/fog_speed.py [--repeat 3] [--mallopt | --library] [PHOTO]``. Without PHOTO,
the left frame of ``../shared/data/photos/mpo/fujifilm.mpo`` is resized to 4000x3000.
Depth is synthetic (a receding ground with near blobs), since only the timing matters.

Prints wall and CPU time of each case beside both baselines of ``speed_baselines.py``:
OpenCV JPEG decode + encode (the issue's yardstick; target: fog at most 2x of it) and
depthfx's ``read_image`` + ``write_image`` (context only). Times are the best of
``--repeat`` interleaved rounds, for both allocator configurations of
``speed_baselines.py`` (``--library`` or ``--mallopt`` measures only one).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_baselines import (
    SIZES,
    Baselines,
    interleaved_best,
    ratio_line,
    run_each_configuration,
    source_photo,
)


def synthetic_nearness(shape: tuple[int, int]) -> np.ndarray:
    height, width = shape
    rows = np.linspace(0.05, 1.0, height, dtype=np.float32)[:, None]
    nearness = np.repeat(rows, width, axis=1)
    for index in range(6):
        centre = (int(width * (0.15 + 0.14 * index)), int(height * (0.4 + 0.08 * index)))
        cv2.circle(nearness, centre, int(height * 0.08), float(1.0 + 0.2 * index), -1)
    return nearness


def photo_bgr(source: str | None) -> np.ndarray:
    """12 MP 8-bit BGR photo: PHOTO resized, or the shared MPO frame."""
    width, height = SIZES[12]
    if source is None:
        return source_photo(width, height)
    image = cv2.imread(source, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {source}")
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def run_cases(
    title: str,
    target: float,
    cases: dict[str, Callable[[np.ndarray], object]],
) -> None:
    """Shared driver of fog_speed and miniature_speed."""
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("photo", nargs="?")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--mallopt", action="store_true", help="only with depthfx.tune_allocator")
    parser.add_argument("--library", action="store_true", help="only the default allocator")
    if run_each_configuration():
        return
    args = parser.parse_args()
    if args.mallopt:
        from depthfx.allocator import tune_allocator

        tune_allocator()
    baselines = Baselines(photo_bgr(args.photo))
    pixels = baselines.linear_pixels()
    height, width = pixels.shape[:2]
    tasks: dict[str, Callable[[], object]] = {
        "opencv": baselines.opencv,
        "io": baselines.depthfx_io,
    }
    for label, case in cases.items():
        tasks[label] = functools.partial(case, pixels)
    best = interleaved_best(tasks, args.repeat)
    baselines.close()
    opencv, io = best.pop("opencv")[0], best.pop("io")[0]
    allocator = "depthfx.tune_allocator()" if args.mallopt else "library default allocator"
    print(
        f"{title}: {width}x{height} ({width * height / 1e6:.1f} MP), best of {args.repeat}, {allocator}"
    )
    print(
        f"OpenCV JPEG decode + encode (imdecode + imencode q95): {opencv:.3f} s  <- target yardstick"
    )
    print(f"depthfx read_image + write_image (linear float I/O):   {io:.3f} s  (context)")
    for label, (seconds, cpu) in best.items():
        print(ratio_line(label, seconds, cpu, opencv, io, target))


def main() -> None:
    width, height = SIZES[12]
    from depthfx.depthmap import DepthMap
    from depthfx.effects.fog import fog

    depth = DepthMap(
        synthetic_nearness((height, width)) * 30, metric_scale=60.0, units="disparity_px"
    )
    options: dict[str, dict[str, Any]] = {
        "fog, relative, auto colour": {"density": 0.2},
        "fog, metric visibility, white": {"visibility": 3.0, "color": "white"},
        "fog, height + patchy": {"density": 0.2, "height_falloff": 1.0, "patchiness": 0.5},
        "fog, no edge refinement": {"density": 0.2, "edge_aware": False},
    }
    cases: dict[str, Callable[[np.ndarray], object]] = {
        label: functools.partial(lambda pixels, o: fog(pixels, depth, **o), o=o)
        for label, o in options.items()
    }
    run_cases("fog", 2.0, cases)


if __name__ == "__main__":
    main()
