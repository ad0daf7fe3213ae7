"""Monocular depth on the Middlebury scenes: rank agreement with the ground-truth disparity.

For every scene in ../shared/data/stereo (or $DEPTHFX_SHARED_DATA/stereo), runs
``depthfx.estimate_depth`` (one model session) on the LEFT photo alone and prints the Spearman rank correlation
between depthfx's nearness and the ground-truth disparity over the valid-GT pixels
(``gt > 0``, and ``mask_all == 255`` where that file exists), plus the time per image (model
loading excluded: it happens once, before the first scene). A monocular network knows depth
only up to an unknown scale and shift, so a rank correlation is the fair measure: 1 = same
near-to-far order as the truth, 0 = unrelated, negative = reversed.

Spearman is computed with numpy: Pearson correlation of the ranks, ties getting the
average rank.

Default model: the user record examples/models/pydnet_pp.toml (PyDNet++, see
../shared/data/models/README.md).

Run: python benchmarks/mono_middlebury.py [--model NAME|FILE.onnx|RECORD.toml] [--scenes a,b]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from depthfx.depth.mono import new_session
from depthfx.image import read_image

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEPTHFX_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_MODEL = REPO / "examples" / "models" / "pydnet_pp.toml"


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n; tied values share the average of their ranks."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    average = np.cumsum(counts) - (counts - 1) / 2.0
    return average[inverse.ravel()]


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman rank correlation of two equally long 1-D arrays."""
    return float(np.corrcoef(average_ranks(first.ravel()), average_ranks(second.ravel()))[0, 1])


def load_gt(scene: Path) -> tuple[np.ndarray, np.ndarray]:
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    valid = raw > 0
    mask = scene / "mask_all.png"
    if mask.exists():
        valid &= cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) == 255
    return raw.astype(np.float32) / meta["gt_scale"], valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model name, .onnx or .toml")
    parser.add_argument("--scenes", default="", help="comma-separated scene names (default: all)")
    args = parser.parse_args()

    stereo = DATA / "stereo"
    scenes = sorted(p for p in stereo.iterdir() if (p / "gt_disp.png").exists())
    if args.scenes:
        wanted = set(args.scenes.split(","))
        scenes = [p for p in scenes if p.name in wanted]
    if not scenes:
        raise SystemExit(f"no scenes found in {stereo}")

    # Load the network once and warm it up, so per-image times are inference only.
    session = new_session(args.model)
    session.estimate(np.full((32, 32, 3), 0.5, np.float32))

    print(f"model: {args.model}")
    print(f"{'scene':<12} {'size':>9} {'spearman':>9} {'seconds':>8}")
    correlations, seconds = [], []
    for scene in scenes:
        photo = read_image(scene / "left.png")
        start = time.perf_counter()
        depth = session.estimate(photo.pixels)
        elapsed = time.perf_counter() - start
        gt, valid = load_gt(scene)
        rho = spearman(depth.nearness[valid], gt[valid])
        correlations.append(rho)
        seconds.append(elapsed)
        size = f"{photo.shape[1]}x{photo.shape[0]}"
        print(f"{scene.name:<12} {size:>9} {rho:>9.3f} {elapsed:>8.2f}")
    print(f"{'mean':<12} {'':>9} {np.mean(correlations):>9.3f} {np.mean(seconds):>8.2f}")
    print(
        f"scenes with positive correlation: {sum(r > 0 for r in correlations)} of {len(correlations)}"
    )
    print(f"mean Spearman correlation: {np.mean(correlations):.3f}")


if __name__ == "__main__":
    main()
