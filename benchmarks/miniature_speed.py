"""Miniature on a 12 MP photo beside the JPEG decode + encode time of the same photo.

Run: ``python benchmarks/miniature_speed.py [--repeat 3] [--mallopt | --library] [PHOTO]``. The photo,
the synthetic depth and the two baselines are as in ``fog_speed.py``. Target: miniature at
most 5x the OpenCV JPEG decode + encode time.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fog_speed import run_cases, synthetic_nearness
from speed_baselines import SIZES


def main() -> None:
    from depthfx.depthmap import DepthMap
    from depthfx.effects.miniature import miniature

    width, height = SIZES[12]
    depth = DepthMap(synthetic_nearness((height, width)))
    options: dict[str, tuple[DepthMap | None, dict[str, Any]]] = {
        "miniature, band (defaults)": (None, {}),
        "miniature, band, strength 2": (None, {"strength": 2.0}),
        "miniature, depth plane": (depth, {}),
    }
    cases: dict[str, Callable[[np.ndarray], object]] = {
        label: functools.partial(lambda pixels, d, o: miniature(pixels, d, **o), d=d, o=o)
        for label, (d, o) in options.items()
    }
    run_cases("miniature", 5.0, cases)


if __name__ == "__main__":
    main()
