"""Middlebury stereo benchmark: depthfx vs raw OpenCV SGBM vs SGBM with naive hole filling.

For every scene in ../shared/data/stereo (or $DEPTHFX_SHARED_DATA/stereo) prints bad2 (% of
valid-ground-truth pixels off by more than 2 px; pixels without output count as wrong),
bad1, the average absolute error over pixels with output, density (% of valid-GT pixels
with output) and time, per scene and on average.

Raw SGBM uses the parameters of OpenCV's samples/python/stereo_match.py (blockSize 5,
minDisparity 0, P1 = 8*3*5^2, P2 = 32*3*5^2, disp12MaxDiff 1, uniquenessRatio 10,
speckleWindowSize 100, speckleRange 32) with numDisparities from the scene's meta.json.
"SGBM+fill" fills SGBM's holes with the nearest output pixel to the left on the row (to the
right in the left border strip). depthfx gets the two images only: no disparity range.

Run: python benchmarks/stereo_middlebury.py [--scenes a,b] [--save-previews DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np

from depthfx.depth.stereo import stereo_depth
from depthfx.image import read_image

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")
DATA = Path(os.environ.get("DEPTHFX_SHARED_DATA", REPO.parent / "shared" / "data")) / "stereo"


def load_gt(scene: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    meta = json.loads((scene / "meta.json").read_text())
    raw = cv2.imread(str(scene / "gt_disp.png"), cv2.IMREAD_UNCHANGED)
    gt = raw.astype(np.float32) / meta["gt_scale"]
    valid = raw > 0
    mask = scene / "mask_all.png"
    if mask.exists():
        valid &= cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE) == 255
    return gt, valid, meta


def score(disparity: np.ndarray, has_output: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> dict:
    error = np.abs(np.where(has_output, disparity, np.inf) - gt)[valid]
    covered = has_output[valid]
    return {
        "bad2": 100.0 * float(np.mean(error > 2)),
        "bad1": 100.0 * float(np.mean(error > 1)),
        "avg": float(np.mean(error[covered])) if covered.any() else float("nan"),
        "density": 100.0 * float(np.mean(covered)),
    }


def raw_sgbm(left_bgr: np.ndarray, right_bgr: np.ndarray, num_disparities: int) -> np.ndarray:
    window = 5
    matcher = cv2.StereoSGBM_create(
        minDisparity=0,
        numDisparities=num_disparities,
        blockSize=window,
        P1=8 * 3 * window**2,
        P2=32 * 3 * window**2,
        disp12MaxDiff=1,
        uniquenessRatio=10,
        speckleWindowSize=100,
        speckleRange=32,
    )
    return matcher.compute(left_bgr, right_bgr).astype(np.float32) / 16.0


def naive_fill(disparity: np.ndarray, has_output: np.ndarray) -> np.ndarray:
    """Each hole takes the nearest output to its left (to its right at the left border)."""
    width = disparity.shape[1]
    columns = np.arange(width)[None, :]
    rows = np.arange(disparity.shape[0])[:, None]
    left_index = np.maximum.accumulate(np.where(has_output, columns, -1), axis=1)
    right_index = np.minimum.accumulate(np.where(has_output, columns, width)[:, ::-1], axis=1)[
        :, ::-1
    ]
    index = np.where(left_index >= 0, left_index, right_index)
    filled = disparity[rows, np.clip(index, 0, width - 1)]
    return np.where(index < width, filled, 0.0).astype(np.float32)


def pandora_disparity(
    left_bgr: np.ndarray, right_bgr: np.ndarray, num_disparities: int
) -> np.ndarray:
    """CNES Pandora's disparity of the left view (NaN where it gives none), true range given."""
    import pandora
    from pandora.img_tools import create_dataset_from_inputs
    from pandora.state_machine import PandoraMachine

    pandora.import_plugin()
    # Its state machine logs a warning per step on every run.
    for name in ("transitions", "transitions.core"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, view in (("left", left_bgr), ("right", right_bgr)):
            path = Path(folder) / f"{name}.tif"
            grey = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY).astype(np.float32)
            cv2.imwrite(str(path), grey)
            paths.append(str(path))
        # Pandora's disparity is x_right - x_left: the negated Middlebury convention.
        user_cfg = {
            "input": {
                "left": {"img": paths[0], "disp": [-num_disparities, 0], "nodata": -9999},
                "right": {"img": paths[1], "disp": [0, num_disparities], "nodata": -9999},
            },
            "pipeline": {
                "matching_cost": {"matching_cost_method": "census", "window_size": 5, "subpix": 1},
                "optimization": {
                    "optimization_method": "sgm",
                    "overcounting": False,
                    "penalty": {
                        "P1": 8,
                        "P2": 32,
                        "p2_method": "constant",
                        "penalty_method": "sgm_penalty",
                    },
                },
                "disparity": {"disparity_method": "wta", "invalid_disparity": "NaN"},
                "refinement": {"refinement_method": "vfit"},
                "filter": {"filter_method": "median", "filter_size": 3},
                "validation": {
                    "validation_method": "cross_checking_accurate",
                    "cross_checking_threshold": 1.0,
                    "interpolated_disparity": "sgm",
                },
            },
        }
        machine = PandoraMachine()
        cfg = pandora.check_conf(user_cfg, machine)
        left = create_dataset_from_inputs(cfg["input"]["left"])
        right = create_dataset_from_inputs(cfg["input"]["right"])
        result, _ = pandora.run(machine, left, right, cfg)
    return -result["disparity_map"].values.astype(np.float32)


def pandora_available() -> bool:
    try:
        import pandora  # noqa: F401
        import pandora_plugin_libsgm  # noqa: F401
    except ImportError:
        return False
    return True


REPEATS = 3


def best_of(run: Callable[..., T], *args: Any) -> tuple[T, float]:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = run(*args)
        best = min(best, time.perf_counter() - start)
    return result, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", help="comma-separated scene names (default: all)")
    parser.add_argument("--save-previews", type=Path, help="write depthfx disparity pictures here")
    parser.add_argument("--no-pandora", action="store_true", help="skip CNES Pandora")
    args = parser.parse_args()
    scenes = sorted(p for p in DATA.iterdir() if (p / "meta.json").exists())
    if args.scenes:
        wanted = set(args.scenes.split(","))
        scenes = [p for p in scenes if p.name in wanted]
    cv2.setNumThreads(cv2.getNumThreads())

    methods: tuple[str, ...] = ("depthfx", "SGBM", "SGBM+fill")
    if not args.no_pandora and pandora_available():
        methods += ("Pandora",)
    rows = []
    print(
        f"{'scene':<11}"
        + "".join(f" | {m:^33}" for m in methods)
        + "\n"
        + f"{'':<11}"
        + " | bad2  bad1   avg  dens   time" * len(methods)
    )
    for scene in scenes:
        gt, valid, meta = load_gt(scene)
        left = read_image(scene / "left.png").pixels
        right = read_image(scene / "right.png").pixels
        left_bgr = cv2.imread(str(scene / "left.png"))
        right_bgr = cv2.imread(str(scene / "right.png"))

        # Best of REPEATS runs for both methods (the first also warms up), so the ratio is
        # robust to other processes on the machine.
        depth, ours_time = best_of(stereo_depth, left, right)
        sgbm, sgbm_time = best_of(raw_sgbm, left_bgr, right_bgr, meta["num_disparities_16"])
        sgbm_output = sgbm >= 0
        start = time.perf_counter()
        filled = naive_fill(sgbm, sgbm_output)
        fill_time = sgbm_time + time.perf_counter() - start

        results = [
            score(depth.nearness, np.isfinite(depth.nearness), gt, valid) | {"time": ours_time},
            score(sgbm, sgbm_output, gt, valid) | {"time": sgbm_time},
            score(filled, np.ones_like(sgbm_output), gt, valid) | {"time": fill_time},
        ]
        if "Pandora" in methods:
            start = time.perf_counter()
            theirs = pandora_disparity(left_bgr, right_bgr, meta["num_disparities_16"])
            pandora_time = time.perf_counter() - start
            results.append(score(theirs, np.isfinite(theirs), gt, valid) | {"time": pandora_time})
        rows.append(results)
        print(f"{scene.name:<11}" + "".join(_cells(r) for r in results))
        if args.save_previews:
            args.save_previews.mkdir(parents=True, exist_ok=True)
            depth.save_preview(args.save_previews / f"{scene.name}_depthfx.png")
    mean = [
        {key: float(np.mean([row[i][key] for row in rows])) for key in rows[0][i]}
        for i in range(len(methods))
    ]
    print(f"{'MEAN':<11}" + "".join(_cells(r) for r in mean))
    ratios = [row[0]["time"] / row[1]["time"] for row in rows]
    print(
        f"depthfx time / raw SGBM time: mean {np.mean(ratios):.2f}x, median "
        f"{np.median(ratios):.2f}x, range {np.min(ratios):.2f}..{np.max(ratios):.2f}x "
        f"({len(rows)} scenes, {cv2.getNumThreads()} OpenCV threads)"
    )
    if "Pandora" in methods:
        better = sum(row[0]["bad2"] < row[3]["bad2"] for row in rows)
        print(f"depthfx (no range) beats Pandora (true range) on {better} of {len(rows)} scenes")


def _cells(result: dict) -> str:
    return (
        f" | {result['bad2']:4.1f} {result['bad1']:5.1f} {result['avg']:5.2f} "
        f"{result['density']:5.1f} {1000 * result['time']:4.0f}ms"
    )


if __name__ == "__main__":
    main()
