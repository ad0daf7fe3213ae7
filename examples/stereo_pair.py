"""Depth from a stereo pair, saved for reuse, then a preset on the left photo.

Run:  python examples/stereo_pair.py [LEFT RIGHT] [--preset misty-morning] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import depthfx
from depthfx.depth.stereo import stereo_depth
from depthfx.presets import load_preset

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("left", type=Path, nargs="?", default=HERE / "teddy_left.jpg")
    parser.add_argument("right", type=Path, nargs="?", default=HERE / "teddy_right.jpg")
    parser.add_argument("--preset", default="misty-morning")
    parser.add_argument("--out", type=Path, default=HERE / "output")
    args = parser.parse_args()

    left = depthfx.read_image(args.left)
    right = depthfx.read_image(args.right)
    depth = stereo_depth(left.pixels, right.pixels)  # nearness = disparity in pixels

    args.out.mkdir(parents=True, exist_ok=True)
    # Saved beside the photo's name, a later batch run picks this depth up by itself.
    depth.save(args.out / f"{args.left.stem}.depth.npy")
    depth.save_preview(args.out / f"{args.left.stem}_depth.png")

    chain = load_preset(args.preset)
    result = chain.apply(left.pixels, depth)
    written = depthfx.write_image(
        args.out / f"{args.left.stem}_{chain.name}.jpg", result, like=left
    )
    print(f"disparity {depth.nearness.min():.1f}..{depth.nearness.max():.1f} px")
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
