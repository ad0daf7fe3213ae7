"""Apply a preset to one photo, with depth from a file or from a monocular model.

Run:  python examples/single_photo.py PHOTO --depth DEPTH.npy  [--preset portrait] [--out DIR]
      python examples/single_photo.py PHOTO --model model.onnx [--preset portrait] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import depthfx
from depthfx.depth.mono import estimate_depth
from depthfx.presets import load_preset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--depth", type=Path, help="depth map file (.npy, .png, ...), white = near")
    source.add_argument("--model", help="monocular depth model: a known name or an .onnx file")
    parser.add_argument("--preset", default="portrait")
    parser.add_argument("--out", type=Path, default=Path("examples/output"))
    args = parser.parse_args()

    photo = depthfx.read_image(args.photo)
    if args.depth is not None:
        depth = depthfx.DepthMap.load(args.depth)
    else:
        depth = estimate_depth(photo.pixels, model=args.model)

    chain = load_preset(args.preset)
    result = chain.apply(photo.pixels, depth)

    args.out.mkdir(parents=True, exist_ok=True)
    written = depthfx.write_image(
        args.out / f"{args.photo.stem}_{chain.name}.jpg", result, like=photo
    )
    print(f"{chain.name}: {chain.description}")
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
