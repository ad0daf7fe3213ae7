"""Stereo robustness benchmark: depthfx on perturbed Middlebury pairs vs raw SGBM given the range.

The shared scenes are the ones depthfx was tuned on, so a good score there says little
about scenes nobody tuned for. This benchmark builds harder cases out of every scene:

* ``original``: the pair as it is;
* ``crop``: crops of 50-70 % of the area at several offsets (same window in both views),
  so the texture that the range estimate relies on no longer covers the depth range;
* ``mirror``: the views swapped and flipped left-right (the right view's ground truth, or
  the left one's warped across when the scene has none, becomes the reference);
* ``down2``: both views at half size (ground truth halved; bad2 still at 2 px);
* ``jpeg75``: both views recompressed as JPEG quality 75;
* ``darker``: the right view 20 % darker (linear light) than the left;
* ``noise``: sensor-like noise (shot + read noise in linear light), different per view.

depthfx gets the two images only. Raw SGBM (OpenCV's sample parameters, as in
stereo_middlebury.py) is given the true range: ``numDisparities`` covering the case's
ground truth. bad2 is the % of valid-ground-truth pixels off by more than 2 px; pixels
without output count as wrong. Per kind of case it prints the mean and the worst bad2 of
both, and the cases where depthfx is worse than raw SGBM.

Generalization: the scenes are split in two halves (alternating in sorted order); the
``original`` cases are reported per half, so a change tuned on one half can be checked on
the other (``--half A`` runs only half A).

``--hint`` gives depthfx the true range as well, to separate range errors from matching ones.

Run: python benchmarks/stereo_robustness.py [--scenes a,b] [--kinds crop,noise] [--half A]
     [--jobs 2] [--json results.json] [--cases] [--hint]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stereo_middlebury import DATA, load_gt, raw_sgbm, score

KINDS = ("original", "crop", "mirror", "down2", "jpeg75", "darker", "noise")
# (share of the area, anchor as a share of the free margin (x, y)) of the crops.
CROPS = ((0.5, (0.0, 0.0)), (0.6, (0.5, 0.5)), (0.7, (1.0, 1.0)), (0.5, (1.0, 0.0)))
DARKER = 0.8
# Sensor-like noise in linear light: variance = SHOT * value + READ.
SHOT, READ = 5e-4, 2e-5


@dataclass
class Case:
    """One perturbed pair with its ground truth (8-bit sRGB BGR views, as cv2 reads)."""

    scene: str
    kind: str
    variant: str
    left: np.ndarray
    right: np.ndarray
    gt: np.ndarray
    valid: np.ndarray

    @property
    def num_disparities(self) -> int:
        return max(16, 16 * math.ceil((float(self.gt[self.valid].max()) + 1) / 16))


def _linear(bgr: np.ndarray) -> np.ndarray:
    from depthfx.image import srgb_to_linear

    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return srgb_to_linear(rgb.astype(np.float32) / np.float32(255))


def _encode(linear_rgb: np.ndarray) -> np.ndarray:
    from depthfx.image import encode_srgb8

    return cv2.cvtColor(encode_srgb8(linear_rgb), cv2.COLOR_RGB2BGR)


def _right_gt(scene: Path, gt: np.ndarray, valid: np.ndarray, scale: float) -> np.ndarray:
    """Ground truth of the right view: the scene's file, else the left one warped across."""
    path = scene / "gt_disp_right.png"
    if path.exists():
        raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).astype(np.float32)
        return np.where(raw > 0, raw / scale, 0.0).astype(np.float32)
    width = gt.shape[1]
    right = np.zeros_like(gt)
    rows, cols = np.nonzero(valid)
    target = np.round(cols - gt[rows, cols]).astype(int)
    inside = (target >= 0) & (target < width)
    # Where several left pixels land on one right pixel, the nearest (largest) one is seen.
    np.maximum.at(right, (rows[inside], target[inside]), gt[rows[inside], cols[inside]])
    return right


def cases(scene: Path, kinds: tuple[str, ...]) -> Iterator[Case]:
    gt, valid, meta = load_gt(scene)
    left = cv2.imread(str(scene / "left.png"))
    right = cv2.imread(str(scene / "right.png"))
    name = scene.name
    rng = np.random.default_rng(sum(map(ord, name)))
    height, width = gt.shape
    if "original" in kinds:
        yield Case(name, "original", "", left, right, gt, valid)
    if "crop" in kinds:
        for area, (ax, ay) in CROPS:
            side = math.sqrt(area)
            crop_w, crop_h = round(width * side), round(height * side)
            x0, y0 = round(ax * (width - crop_w)), round(ay * (height - crop_h))
            window = (slice(y0, y0 + crop_h), slice(x0, x0 + crop_w))
            yield Case(
                name,
                "crop",
                f"{round(100 * area)}%@{ax:g},{ay:g}",
                np.ascontiguousarray(left[window]),
                np.ascontiguousarray(right[window]),
                gt[window],
                valid[window],
            )
    if "mirror" in kinds:
        right_gt = _right_gt(scene, gt, valid, meta["gt_scale"])
        yield Case(
            name,
            "mirror",
            "",
            np.ascontiguousarray(right[:, ::-1]),
            np.ascontiguousarray(left[:, ::-1]),
            np.ascontiguousarray(right_gt[:, ::-1]),
            np.ascontiguousarray(right_gt[:, ::-1] > 0),
        )
    if "down2" in kinds:
        size = (width // 2, height // 2)
        small = [cv2.resize(view, size, interpolation=cv2.INTER_AREA) for view in (left, right)]
        small_gt = cv2.resize(gt, size, interpolation=cv2.INTER_NEAREST) / 2.0
        small_valid = cv2.resize(valid.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
        yield Case(name, "down2", "", small[0], small[1], small_gt, small_valid > 0)
    if "jpeg75" in kinds:
        views = []
        for view in (left, right):
            _, data = cv2.imencode(".jpg", view, [cv2.IMWRITE_JPEG_QUALITY, 75])
            views.append(cv2.imdecode(data, cv2.IMREAD_COLOR))
        yield Case(name, "jpeg75", "", views[0], views[1], gt, valid)
    if "darker" in kinds:
        darker = _encode(_linear(right) * np.float32(DARKER))
        yield Case(name, "darker", "", left, darker, gt, valid)
    if "noise" in kinds:
        views = []
        for view in (left, right):
            linear = _linear(view)
            sigma = np.sqrt(SHOT * linear + READ).astype(np.float32)
            noisy = linear + sigma * rng.standard_normal(linear.shape).astype(np.float32)
            views.append(_encode(noisy))
        yield Case(name, "noise", "", views[0], views[1], gt, valid)


def evaluate(scene_path: str, kinds: tuple[str, ...], hint: bool = False) -> list[dict]:
    """All cases of one scene (runs in a worker process)."""
    from depthfx.depth.stereo import stereo_depth
    from depthfx.errors import StereoMatchError

    cv2.setNumThreads(1)  # one process per core
    results = []
    for case in cases(Path(scene_path), kinds):
        start = time.perf_counter()
        try:
            given = {"min_disparity": 0, "num_disparities": case.num_disparities} if hint else {}
            depth = stereo_depth(_linear(case.left), _linear(case.right), **given)
            disparity = depth.nearness
            report = getattr(depth, "report", None)
        except StereoMatchError:
            disparity, report = np.full(case.gt.shape, np.nan, np.float32), "refused"
        ours_time = time.perf_counter() - start
        start = time.perf_counter()
        sgbm = raw_sgbm(case.left, case.right, case.num_disparities)
        sgbm_time = time.perf_counter() - start
        ours = score(disparity, np.isfinite(disparity), case.gt, case.valid)
        theirs = score(sgbm, sgbm >= 0, case.gt, case.valid)
        results.append(
            {
                "scene": case.scene,
                "kind": case.kind,
                "variant": case.variant,
                "depthfx": ours["bad2"],
                "sgbm": theirs["bad2"],
                "time": ours_time,
                "sgbm_time": sgbm_time,
                "report": None if report is None else str(report),
            }
        )
    return results


def halves(scenes: list[Path]) -> dict[str, list[str]]:
    return {"A": [p.name for p in scenes[0::2]], "B": [p.name for p in scenes[1::2]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", help="comma-separated scene names (default: all)")
    parser.add_argument("--kinds", help=f"comma-separated kinds of case (default: {KINDS})")
    parser.add_argument("--half", choices=("A", "B"), help="only one half of the scenes")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, help="write every case's result here")
    parser.add_argument("--cases", action="store_true", help="print every case")
    parser.add_argument(
        "--hint", action="store_true", help="give depthfx the true range too (as SGBM gets it)"
    )
    args = parser.parse_args()
    scenes = sorted(p for p in DATA.iterdir() if (p / "meta.json").exists())
    split = halves(scenes)
    if args.half:
        scenes = [p for p in scenes if p.name in split[args.half]]
    if args.scenes:
        wanted = set(args.scenes.split(","))
        scenes = [p for p in scenes if p.name in wanted]
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    unknown = set(kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {KINDS}")

    start = time.perf_counter()
    # Largest scenes first would not matter much: they are all about 450x370.
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        per_scene = list(
            pool.map(
                evaluate,
                [str(p) for p in scenes],
                [kinds] * len(scenes),
                [args.hint] * len(scenes),
            )
        )
    results = [result for scene in per_scene for result in scene]
    elapsed = time.perf_counter() - start
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.cases:
        for r in results:
            print(
                f"{r['scene']:<11} {r['kind']:<8} {r['variant']:<11} depthfx {r['depthfx']:5.1f} "
                f"SGBM {r['sgbm']:5.1f}  {r['report'] or ''}"
            )
    print(summary(results, split))
    print(f"{len(results)} cases in {elapsed:.0f}s")


def summary(results: list[dict], split: dict[str, list[str]]) -> str:
    lines = [
        f"{'kind':<12} {'cases':>5} | {'depthfx mean':>12} {'worst':>6} | "
        f"{'SGBM* mean':>10} {'worst':>6} | worse than SGBM*"
    ]

    def line(label: str, rows: list[dict]) -> str:
        ours = np.array([r["depthfx"] for r in rows])
        theirs = np.array([r["sgbm"] for r in rows])
        worse = [
            f"{r['scene']}/{r['kind']}{r['variant']}" for r in rows if r["depthfx"] > r["sgbm"]
        ]
        return (
            f"{label:<12} {len(rows):5d} | {ours.mean():12.1f} {ours.max():6.1f} | "
            f"{theirs.mean():10.1f} {theirs.max():6.1f} | {len(worse)} {' '.join(worse[:4])}"
        )

    for kind in KINDS:
        rows = [r for r in results if r["kind"] == kind]
        if rows:
            lines.append(line(kind, rows))
    perturbed = [r for r in results if r["kind"] != "original"]
    if perturbed:
        lines.append(line("ALL PERTURBED", perturbed))
    for half, names in split.items():
        rows = [r for r in results if r["kind"] == "original" and r["scene"] in names]
        if rows:
            lines.append(line(f"original {half}", rows))
    ratios = np.array([r["time"] / r["sgbm_time"] for r in results])
    lines.append(
        f"time depthfx / SGBM*: median {np.median(ratios):.2f}x, "
        f"p10..p90 {np.percentile(ratios, 10):.2f}..{np.percentile(ratios, 90):.2f}x "
        "(1 OpenCV thread per process)"
    )
    lines.append("* raw OpenCV SGBM given the true disparity range; holes count as wrong")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
