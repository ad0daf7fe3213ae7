"""How fast is depthfx's lens blur on full-size photos?

For 3, 12 and 24 megapixel versions of a real photo (the left frame of the Fujifilm W3 MPO
in ../shared/data, or a synthetic texture when that is absent) with a synthetic depth map
(a receding ground plane with a subject in the middle), prints:

* depthfx's render time: ``bokeh()`` on linear float pixels, largest blur radius 1.5 % of
  the diagonal (about 75 px at 12 MP), focus on the subject; wall and CPU time;
* the two baselines of ``speed_baselines.py`` on the same photo saved as a JPEG: OpenCV
  decode + encode (the issue's yardstick; target ratio <= 5 at 12 MP) and depthfx's own
  ``read_image`` + ``write_image`` (for context);
* the process's peak memory (target < 2 GB at 12 MP).

Each size runs in its own process so the peak memory is that size's own. Times are the
best of ``--repeat`` interleaved rounds. Both allocator configurations are measured (see
``speed_baselines.py``): ``--library`` (a plain library call) and ``--mallopt`` (as the
``depthfx`` command runs); give one flag to measure only that one.

Usage: python benchmarks/bokeh_speed.py [--sizes 3,12,24] [--repeat 3] [--strength 1.5]
       [--mallopt | --library]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_baselines import (
    SIZES,
    Baselines,
    interleaved_best,
    run_each_configuration,
    source_photo,
)


def synthetic_nearness(width: int, height: int) -> np.ndarray:
    """Ground plane receding upward, an elliptical subject in the middle at mid depth."""
    rows = np.linspace(1.0, 0.1, height, dtype=np.float32)[:, None]
    nearness = np.repeat(rows, width, axis=1)
    yy, xx = np.ogrid[0:height, 0:width]
    subject = ((xx - width / 2) / (0.15 * width)) ** 2 + (
        (yy - height * 0.55) / (0.3 * height)
    ) ** 2 < 1
    nearness[subject] = 0.6
    return nearness


def measure(
    megapixels: int,
    repeat: int,
    strength: float,
    mallopt: bool,
    queue: multiprocessing.Queue,
) -> None:
    if mallopt:
        from depthfx.allocator import tune_allocator

        tune_allocator()
    from depthfx.effects.bokeh import bokeh
    from depthfx.image import srgb_to_linear

    width, height = SIZES[megapixels]
    bgr = source_photo(width, height)
    baselines = Baselines(bgr)
    linear = srgb_to_linear(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
    del bgr
    nearness = synthetic_nearness(width, height)
    focus = (width // 2, int(height * 0.55))

    def render() -> None:
        bokeh(linear, nearness, focus=focus, strength=strength)

    best = interleaved_best(
        {"opencv": baselines.opencv, "io": baselines.depthfx_io, "render": render}, repeat
    )
    baselines.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put((best["render"], best["opencv"][0], best["io"][0], peak_mb))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,12,24", help="megapixel sizes among 3, 12, 24")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--strength", type=float, default=1.5, help="largest blur, %% of the diagonal"
    )
    parser.add_argument("--mallopt", action="store_true", help="only with depthfx.tune_allocator")
    parser.add_argument("--library", action="store_true", help="only the default allocator")
    if run_each_configuration():
        return 0
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    context = multiprocessing.get_context("spawn")
    allocator = "depthfx.tune_allocator()" if args.mallopt else "library default allocator"
    print(f"bokeh, strength {args.strength}% of the diagonal, best of {args.repeat}, {allocator}")
    print(
        f"{'size':>6} {'pixels':>11} {'max blur':>8} {'depthfx':>8} {'cpu':>6} "
        f"{'cv2 jpeg':>9} {'ratio':>6} {'dfx I/O':>8} {'ratio':>6} {'peak MB':>8}"
    )
    verdict = None
    for megapixels in sizes:
        queue = context.Queue()
        process = context.Process(
            target=measure, args=(megapixels, args.repeat, args.strength, args.mallopt, queue)
        )
        process.start()
        (render_s, render_cpu), jpeg_s, io_s, peak_mb = queue.get()
        process.join()
        width, height = SIZES[megapixels]
        radius = args.strength / 100 * (width**2 + height**2) ** 0.5
        ratio = render_s / jpeg_s
        print(
            f"{megapixels:>4}MP {width:>5}x{height:<5} {radius:>6.0f}px {render_s:>7.2f}s "
            f"{render_cpu:>5.2f}s {jpeg_s:>8.3f}s {ratio:>6.1f} {io_s:>7.2f}s "
            f"{render_s / io_s:>6.2f} {peak_mb:>8.0f}"
        )
        if megapixels == 12:
            verdict = ratio <= 5.0 and peak_mb < 2048
    if verdict is not None:
        print(
            "target at 12 MP (ratio to OpenCV JPEG decode+encode <= 5, peak < 2048 MB):",
            "met" if verdict else "NOT met",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
