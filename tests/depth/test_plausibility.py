"""Implausibility warnings of a stereo match, and how the summary line shows them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthfx.cli.depth_cmd import summary_line
from depthfx.depth.plausibility import implausibility
from depthfx.depthmap import DepthMap, MatchReport


def test_sound_match_has_no_warnings() -> None:
    assert implausibility(matched=0.75, filled_far=0.05, ends=(0.001, 0.0)) == ()


def test_each_symptom_is_named() -> None:
    assert implausibility(matched=0.1, filled_far=0.0, ends=(0.0, 0.0)) == (
        "only 10% of pixels matched",
    )
    assert "filled in" in implausibility(matched=0.8, filled_far=0.45, ends=(0.0, 0.0))[0]
    assert "far end" in implausibility(matched=0.8, filled_far=0.0, ends=(0.2, 0.0))[0]
    assert "near end" in implausibility(matched=0.8, filled_far=0.0, ends=(0.0, 0.2))[0]


def test_summary_line_warns_and_suggests_mono_or_a_range() -> None:
    nearness = np.full((2, 4), 5.0, np.float32)
    doubtful = MatchReport((0.0, 31.0), 0.1, ("only 10% of pixels matched",))
    line = summary_line(
        Path("d.npy"), DepthMap(nearness, units="disparity_px", report=doubtful), 1.0
    )
    assert "WARNING: only 10% of pixels matched" in line
    assert "--mono" in line and "--num-disparities" in line
    sound = MatchReport((0.0, 31.0), 0.8)
    line = summary_line(Path("d.npy"), DepthMap(nearness, units="disparity_px", report=sound), 1.0)
    assert "WARNING" not in line
