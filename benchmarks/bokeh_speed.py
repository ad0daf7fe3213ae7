"""How fast is depthfx's lens blur on full-size photos?

For 3, 12 and 24 megapixel versions of a real photo (the left frame of the Fujifilm W3 MPO
in ../shared/data, or a synthetic texture when that is absent) with a synthetic depth map
(a receding ground plane with a subject in the middle), prints:

* depthfx's render time: ``bokeh()`` on linear float pixels, largest blur radius 1.5 % of
  the diagonal (about 75 px at 12 MP), focus on the subject;
* the time OpenCV takes to decode and re-encode the same photo as a JPEG (quality 95);
* their ratio (the target is at most 5 at 12 MP) and the process's peak memory.

Each size runs in its own process so the peak memory is that size's own. Times are the
best of ``--repeat`` runs (other work on the machine only ever makes a run slower).

Usage: python benchmarks/bokeh_speed.py [--sizes 3,12,24] [--repeat 3] [--strength 1.5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import cv2
import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SIZES = {3: (2000, 1500), 12: (4000, 3000), 24: (6000, 4000)}


def source_photo(width: int, height: int) -> np.ndarray:
    """8-bit BGR photo of the requested size."""
    mpo = DATA / "photos" / "mpo" / "fujifilm.mpo"
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


def best_time(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def measure(megapixels: int, repeat: int, strength: float, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from depthfx.effects.bokeh import bokeh
    from depthfx.image import srgb_to_linear

    width, height = SIZES[megapixels]
    bgr = source_photo(width, height)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    data = encoded.tobytes()

    def jpeg_round_trip() -> None:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])

    linear = srgb_to_linear(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
    del bgr
    nearness = synthetic_nearness(width, height)
    focus = (width // 2, int(height * 0.55))

    def render() -> None:
        bokeh(linear, nearness, focus=focus, strength=strength)

    # Interleave so both see the same machine load.
    jpeg_times, render_times = [], []
    for _ in range(repeat):
        jpeg_times.append(best_time(jpeg_round_trip, 1))
        render_times.append(best_time(render, 1))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    queue.put((megapixels, min(render_times), min(jpeg_times), peak_mb))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,12,24", help="megapixel sizes among 3, 12, 24")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--strength", type=float, default=1.5, help="largest blur, %% of the diagonal"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    context = multiprocessing.get_context("spawn")
    print(f"bokeh, strength {args.strength}% of the diagonal, best of {args.repeat}")
    print(
        f"{'size':>6} {'pixels':>11} {'max blur':>9} {'depthfx':>9} {'jpeg dec+enc':>13} {'ratio':>6} {'peak MB':>8}"
    )
    worst_ok = True
    for megapixels in sizes:
        queue = context.Queue()
        process = context.Process(
            target=measure, args=(megapixels, args.repeat, args.strength, queue)
        )
        process.start()
        result = queue.get()
        process.join()
        _, render_s, jpeg_s, peak_mb = result
        width, height = SIZES[megapixels]
        radius = args.strength / 100 * (width**2 + height**2) ** 0.5
        ratio = render_s / jpeg_s
        print(
            f"{megapixels:>4}MP {width:>5}x{height:<5} {radius:>7.0f}px {render_s:>8.2f}s "
            f"{jpeg_s:>12.3f}s {ratio:>6.1f} {peak_mb:>8.0f}"
        )
        if megapixels == 12:
            worst_ok = ratio <= 5.0 and peak_mb < 2048
    print("target at 12 MP: ratio <= 5 and peak < 2048 MB:", "met" if worst_ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
