"""Build an effect chain in Python, save it as a preset file, load it back and apply it.

Run:  python examples/custom_chain.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import depthfx
from depthfx.chain import Chain, DepthSettings, Step
from depthfx.depth.stereo import stereo_depth
from depthfx.effects.fog import Fog
from depthfx.effects.miniature import Miniature
from depthfx.presets import load_preset, save_preset

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "output")
    args = parser.parse_args()

    chain = Chain(
        [
            # Fog over the whole photo, at 70 % strength ...
            Step(Fog(density=0.4, color="lightsteelblue"), blend=0.7),
            # ... then tilt-shift blur only on the far half of the depth range.
            Step(Miniature(mode="depth", strength=1.0), mask=(0.0, 0.5), mask_feather=0.1),
        ],
        depth=DepthSettings(source="stereo"),
        description="Blue haze with a toy-town blur in the distance",
    )

    args.out.mkdir(parents=True, exist_ok=True)
    preset_path = save_preset(chain, args.out / "blue-toytown.toml")
    print(preset_path.read_text(encoding="utf-8"))
    assert load_preset(preset_path) == chain  # the file says exactly what the chain does

    left = depthfx.read_image(HERE / "teddy_left.jpg")
    right = depthfx.read_image(HERE / "teddy_right.jpg")
    result = chain.apply(left.pixels, stereo_depth(left.pixels, right.pixels))
    written = depthfx.write_image(args.out / "teddy_blue-toytown.jpg", result, like=left)
    print(f"wrote {written}  (same as: depthfx apply teddy_left.jpg --preset {preset_path} ...)")


if __name__ == "__main__":
    main()
