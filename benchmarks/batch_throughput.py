"""Batch throughput: images per second with 1 job and with N jobs on the same set.

Run:  python benchmarks/batch_throughput.py [--count 24] [--preset diorama] [--jobs 2]
                                            [--width 900] [--stereo]

The set is the example teddy photo (resized to --width) repeated --count times, each with
a depth file beside it, so the figures measure reading, the preset and writing; with
--stereo every item is a left/right pair and depth is matched per item as well. Times
include starting the worker processes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from depthfx.batch import discover_inputs, plan_batch, run_batch, summarize
from depthfx.depth.stereo import stereo_depth
from depthfx.image import read_image
from depthfx.presets import load_preset

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def make_set(folder: Path, *, count: int, width: int, stereo: bool) -> None:
    views = {}
    for side in ("left", "right"):
        picture = cv2.imread(str(EXAMPLES / f"teddy_{side}.jpg"))
        scale = width / picture.shape[1]
        views[side] = cv2.resize(picture, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    left_path = folder / "reference_left.png"
    cv2.imwrite(str(left_path), views["left"])
    cv2.imwrite(str(folder / "reference_right.png"), views["right"])
    left = read_image(left_path)
    right = read_image(folder / "reference_right.png")
    nearness = stereo_depth(left.pixels, right.pixels).nearness
    for index in range(count):
        stem = f"photo{index:03d}"
        if stereo:
            cv2.imwrite(str(folder / f"{stem}_L.jpg"), views["left"])
            cv2.imwrite(str(folder / f"{stem}_R.jpg"), views["right"])
        else:
            cv2.imwrite(str(folder / f"{stem}.jpg"), views["left"])
            np.save(folder / f"{stem}.depth.npy", nearness)
    left_path.unlink()
    (folder / "reference_right.png").unlink()


def measure(folder: Path, out: Path, *, preset: str, jobs: int) -> tuple[float, int, float]:
    out.mkdir()
    plan = plan_batch(discover_inputs([folder]), load_preset(preset), out)
    start = time.perf_counter()
    results = run_batch(plan.tasks, jobs=jobs)
    seconds = time.perf_counter() - start
    summary = summarize(results)
    if summary.failed:
        reasons = {r.reason for r in results if r.status == "failed"}
        raise SystemExit(f"{summary.failed} failed: {reasons}")
    return seconds, summary.done, sum(r.cpu_seconds for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--preset", default="diorama")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--width", type=int, default=900)
    parser.add_argument("--stereo", action="store_true", help="match a stereo pair per item")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="depthfx-bench-"))
    try:
        source = root / "in"
        source.mkdir()
        make_set(source, count=args.count, width=args.width, stereo=args.stereo)
        height = round(args.width * 375 / 450)
        kind = "stereo pairs" if args.stereo else "photos with depth files"
        print(
            f"{args.count} {kind}, {args.width}x{height}, preset {args.preset}, {os.cpu_count()} cores"
        )
        load = os.getloadavg()[0]
        serial, done, serial_cpu = measure(source, root / "one", preset=args.preset, jobs=1)
        print(
            f"  1 job : {serial:6.2f} s  {done / serial:6.2f} images/s"
            f"  (worker CPU {serial_cpu:.1f} s = {serial_cpu / serial:.2f} cores busy)"
        )
        parallel, done, parallel_cpu = measure(
            source, root / "many", preset=args.preset, jobs=args.jobs
        )
        print(
            f"  {args.jobs} jobs: {parallel:6.2f} s  {done / parallel:6.2f} images/s"
            f"  (worker CPU {parallel_cpu:.1f} s = {parallel_cpu / parallel:.2f} cores busy)"
        )
        print(f"  speed-up {serial / parallel:.2f}x (load average before the runs: {load:.1f})")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
