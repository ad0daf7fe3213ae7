"""Large-photo stereo benchmark: time and peak memory of depthfx vs raw SGBM at full size.

Case 1: a Middlebury pair (Art by default) upscaled to about 4000 px wide (~12 MP).
  * depthfx ``stereo_depth`` (no hints; matches shrunk, upsamples guided by the photo);
  * raw OpenCV SGBM on the full-size images with the parameters of OpenCV's
    samples/python/stereo_match.py (blockSize 5) and numDisparities = the scene's
    num_disparities_16 times the upscale factor, rounded up to a multiple of 16.
  Each runs in its own subprocess; peak memory is that process's ru_maxrss (inputs
  included). bad2 is measured against the upscaled ground truth with the threshold scaled
  too (2 px of the original scene).
Case 2: the real Fujifilm W3 MPO pair (2 x 10 MP, unrectified), depthfx only.

Run: python benchmarks/stereo_large.py [--scene Art] [--width 4000] [--skip-sgbm]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stereo_middlebury import raw_sgbm

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEPTHFX_SHARED_DATA", REPO.parent / "shared" / "data"))


def upscaled_pair(scene: str, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, dict]:
    folder = SHARED / "stereo" / scene
    meta = json.loads((folder / "meta.json").read_text())
    left = cv2.imread(str(folder / "left.png"))
    right = cv2.imread(str(folder / "right.png"))
    factor = width / left.shape[1]
    size = (width, round(left.shape[0] * factor))
    raw_gt = cv2.imread(str(folder / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    gt = cv2.resize(raw_gt, size, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    gt = np.where(gt > 0, gt / meta["gt_scale"] * factor, np.nan).astype(np.float32)
    return (
        cv2.resize(left, size, interpolation=cv2.INTER_CUBIC),
        cv2.resize(right, size, interpolation=cv2.INTER_CUBIC),
        gt,
        factor,
        meta,
    )


def bad2(disparity: np.ndarray, gt: np.ndarray, factor: float) -> float:
    valid = np.isfinite(gt)
    output = np.where(np.isfinite(disparity) & (disparity >= 0), disparity, np.inf)
    return 100.0 * float(np.mean(np.abs(output - gt)[valid] > 2.0 * factor))


def child(method: str, scene: str, width: int) -> None:
    """Run one method in this (fresh) process and print a JSON line."""
    if method == "fujifilm":
        from depthfx.depth.stereo import stereo_depth
        from depthfx.depth.stereo_input import read_stereo_pair

        left_photo, right_photo = read_stereo_pair(SHARED / "photos" / "mpo" / "fujifilm.mpo")
        start = time.perf_counter()
        depth = stereo_depth(left_photo.pixels, right_photo.pixels)
        elapsed = time.perf_counter() - start
        depth.save_preview(Path(os.environ.get("PREVIEW_DIR", "/tmp")) / "fujifilm_depthfx.png")
        result = {"time": elapsed, "size": list(depth.shape), "bad2": float("nan")}
        result["range"] = [float(np.percentile(depth.nearness, p)) for p in (1, 99)]
    else:
        left, right, gt, factor, meta = upscaled_pair(scene, width)
        if method == "depthfx":
            from depthfx.depth.stereo import stereo_depth
            from depthfx.image import srgb_to_linear

            def linear(bgr: np.ndarray) -> np.ndarray:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                return srgb_to_linear(rgb.astype(np.float32) / np.float32(255))

            left_linear, right_linear = linear(left), linear(right)
            del left, right
            start = time.perf_counter()
            disparity = stereo_depth(left_linear, right_linear).nearness
            elapsed = time.perf_counter() - start
        else:
            num = 16 * math.ceil(meta["num_disparities_16"] * factor / 16)
            start = time.perf_counter()
            disparity = raw_sgbm(left, right, num)  # the same matcher as the Middlebury table
            elapsed = time.perf_counter() - start
        result = {
            "time": elapsed,
            "size": list(disparity.shape),
            "bad2": bad2(disparity, gt, factor),
        }
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(result))


def run(method: str, scene: str, width: int) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--child", method, "--scene", scene, "--width", str(width)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", default="Art")
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--skip-sgbm", action="store_true", help="skip the slow full-size SGBM")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.scene, args.width)
        return

    methods = ["depthfx"] + ([] if args.skip_sgbm else ["SGBM full-res"])
    results = {
        m: run("depthfx" if m == "depthfx" else "sgbm", args.scene, args.width) for m in methods
    }
    height, width = results["depthfx"]["size"]
    print(f"{args.scene} upscaled to {width}x{height} ({width * height / 1e6:.1f} MP)")
    print(f"{'method':<15} {'time':>8} {'peak RSS':>9} {'bad2*':>6}")
    for name, result in results.items():
        print(
            f"{name:<15} {result['time']:7.2f}s {result['peak_mb']:7.0f}MB {result['bad2']:5.1f}%"
        )
    if "SGBM full-res" in results:
        ratio = results["depthfx"]["time"] / results["SGBM full-res"]["time"]
        print(f"depthfx / raw SGBM time: {ratio:.3f}x")
    print("* bad2 threshold scaled with the image: 2 px of the original scene")

    mpo = SHARED / "photos" / "mpo" / "fujifilm.mpo"
    if mpo.exists():
        result = run("fujifilm", args.scene, args.width)
        height, width = result["size"]
        print(
            f"Fujifilm W3 MPO {width}x{height} ({width * height / 1e6:.1f} MP, unrectified): "
            f"depthfx {result['time']:.2f}s, peak {result['peak_mb']:.0f}MB, "
            f"disparity p1..p99 {result['range'][0]:.1f}..{result['range'][1]:.1f} px"
        )


if __name__ == "__main__":
    main()
