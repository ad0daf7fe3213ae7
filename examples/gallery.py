"""Render every shipped preset on the same photo for the README gallery.

Run:  python examples/gallery.py [--out docs/images] [--width 450]

Writes ``presets_original.jpg``, ``presets_<name>.jpg`` for each preset and
``presets_all.jpg`` (the original and every preset in a labelled grid).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

import depthfx
from depthfx.depth.stereo import stereo_depth
from depthfx.image import srgb_to_linear, to_display
from depthfx.presets import load_preset, preset_names

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parent / "docs" / "images")
    parser.add_argument("--width", type=int, default=450, help="width of the gallery pictures")
    args = parser.parse_args()

    left = depthfx.read_image(HERE / "teddy_left.jpg")
    right = depthfx.read_image(HERE / "teddy_right.jpg")
    depth = stereo_depth(left.pixels, right.pixels)
    scale = min(1.0, args.width / left.shape[1])
    size = (round(left.shape[1] * scale), round(left.shape[0] * scale))
    photo = cv2.resize(left.pixels, size, interpolation=cv2.INTER_AREA)
    depth = depth.resized((size[1], size[0]), guide=photo)

    args.out.mkdir(parents=True, exist_ok=True)
    depthfx.write_image(args.out / "presets_original.jpg", photo, like=left, quality=88)
    tiles = [("original", to_display(photo))]
    for name in preset_names():
        chain = load_preset(name)
        start = time.perf_counter()
        result = chain.apply(photo, depth)
        seconds = time.perf_counter() - start
        path = depthfx.write_image(args.out / f"presets_{name}.jpg", result, like=left, quality=88)
        tiles.append((name, to_display(result)[:, :, :3]))
        print(f"{name:16} {seconds:5.2f} s  {path}")
    grid = labelled_grid(tiles, columns=3)
    depthfx.write_image(args.out / "presets_all.jpg", srgb_to_linear(grid / 255.0), quality=88)


def labelled_grid(tiles: list[tuple[str, np.ndarray]], *, columns: int) -> np.ndarray:
    """Tiles (sRGB uint8, same size) in rows of ``columns``, each with its name on a bar."""
    height, width = tiles[0][1].shape[:2]
    bar = max(18, height // 12)
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (height + bar), columns * width, 3), 24, np.uint8)
    for index, (name, tile) in enumerate(tiles):
        top, left = (index // columns) * (height + bar), (index % columns) * width
        grid[top : top + height, left : left + width] = tile
        cv2.putText(
            grid, name, (left + 6, top + height + bar - 5), cv2.FONT_HERSHEY_SIMPLEX,
            bar / 30, (235, 235, 235), 1, cv2.LINE_AA,
        )  # fmt: skip
    return grid


if __name__ == "__main__":
    main()
