"""Miniature on a 12 MP photo beside the JPEG decode + encode time of the same photo.

Run: ``python benchmarks/miniature_speed.py [PHOTO]``. The photo and the synthetic depth
are made as in ``fog_speed.py``. Target: miniature at most 5x the decode + encode time.
"""

from __future__ import annotations

import functools
import sys
import tempfile
from pathlib import Path
from typing import Any

from fog_speed import io_time, make_photo, synthetic_nearness, timed

from depthfx.depthmap import DepthMap
from depthfx.effects.miniature import miniature
from depthfx.image import read_image


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        photo_path = make_photo(folder, source)
        photo = read_image(photo_path)
        height, width = photo.shape
        depth = DepthMap(synthetic_nearness((height, width)))
        io = io_time(photo_path, folder)
        print(f"photo {width}x{height} ({width * height / 1e6:.1f} MP)")
        print(f"JPEG decode + encode (read_image + write_image): {io:.2f} s")
        cases: dict[str, tuple[DepthMap | None, dict[str, Any]]] = {
            "miniature, band (defaults)": (None, {}),
            "miniature, band, strength 2": (None, {"strength": 2.0}),
            "miniature, depth plane": (depth, {}),
        }
        for label, (depth_map, options) in cases.items():
            seconds = timed(
                functools.partial(miniature, photo.pixels, depth_map, **options), repeats=2
            )
            verdict = "ok" if seconds <= 5 * io else "OVER TARGET"
            print(
                f"{label:30s} {seconds:6.2f} s  = {seconds / io:4.2f}x I/O  (target <= 5x: {verdict})"
            )


if __name__ == "__main__":
    main()
