"""Run a preset over a folder from Python: discover, plan, run in parallel, summarize.

Run:  python examples/batch_folder.py [FOLDER] [--preset diorama] [--out DIR] [--jobs N]

The folder's ``*_left``/``*_right`` files are paired and matched in stereo, so the example
pair in ``examples/`` works as it is. The command-line equivalent is
``depthfx batch FOLDER --preset diorama --out-dir DIR``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from depthfx.batch import discover_inputs, plan_batch, run_batch, summarize
from depthfx.presets import load_preset

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?", default=HERE)
    parser.add_argument("--preset", default="diorama")
    parser.add_argument("--out", type=Path, default=HERE / "output" / "batch")
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()

    items = discover_inputs([args.folder])
    args.out.mkdir(parents=True, exist_ok=True)
    plan = plan_batch(
        items, load_preset(args.preset), args.out, skip_existing=True, save_depth=True
    )
    results = run_batch(
        plan.tasks, jobs=args.jobs, on_result=lambda r: print(f"  {r.status}: {r.source}")
    )
    summary = summarize([*plan.skipped, *results])
    print(f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed}")
    for result in results:
        if result.status == "failed":
            print(f"  {result.source}: {result.reason}")


if __name__ == "__main__":
    main()
