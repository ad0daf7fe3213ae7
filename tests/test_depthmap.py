"""DepthMap: metric conversion, resizing, fitting to a photo, file formats."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depthmap import DepthMap, MatchReport, as_depthmap, decode_pfm, encode_pfm
from depthfx.errors import InputError, ParameterError


def _ramp(height: int = 30, width: int = 40) -> np.ndarray:
    return np.tile(np.linspace(5, 45, width, dtype=np.float32), (height, 1))


def test_metric_depth_from_disparity() -> None:
    depth = DepthMap(np.array([[10.0, 20.0], [0.0, 40.0]], np.float32), metric_scale=500 * 0.1)
    metres = depth.depth_m()
    assert metres[0, 0] == pytest.approx(5.0)
    assert metres[0, 1] == pytest.approx(2.5)
    assert np.isinf(metres[1, 0])
    with pytest.raises(ParameterError, match="not metric"):
        DepthMap(np.ones((2, 2), np.float32)).depth_m()


def test_resizing_scales_disparity_and_metric_scale_together() -> None:
    depth = DepthMap(_ramp(), metric_scale=100.0, units="disparity_px")
    half = depth.resized((15, 20))
    assert half.nearness.max() == pytest.approx(depth.nearness.max() / 2, rel=0.05)
    # the distance a pixel represents does not change with the scale
    assert np.median(half.depth_m()) == pytest.approx(np.median(depth.depth_m()), rel=0.05)
    relative = DepthMap(_ramp(), units="relative").resized((60, 80))
    assert relative.nearness.max() == pytest.approx(45, rel=0.02)


def test_fit_to_refuses_other_aspect_ratio() -> None:
    depth = DepthMap(_ramp(30, 40))
    assert depth.fit_to((60, 80)).shape == (60, 80)
    assert depth.fit_to((30, 40)) is depth
    with pytest.raises(InputError, match="aspect ratios differ"):
        depth.fit_to((40, 40))


def test_normalized_is_robust_and_oriented() -> None:
    nearness = _ramp()
    nearness[0, 0] = 1e6  # one wild outlier must not flatten the rest
    normalized = DepthMap(nearness).normalized()
    assert normalized.min() == 0.0 and normalized.max() == 1.0
    assert normalized[5, 39] > normalized[5, 0]
    assert 0.4 < normalized[5, 20] < 0.6


@pytest.mark.parametrize("suffix", [".npy", ".pfm", ".tiff"])
def test_float_formats_round_trip_exactly(tmp_path: Path, suffix: str) -> None:
    depth = DepthMap(_ramp() + np.float32(0.123))
    path = depth.save(tmp_path / f"d{suffix}")
    loaded = DepthMap.load(path)
    assert loaded.nearness.dtype == np.float32
    assert np.array_equal(loaded.nearness, depth.nearness)


def test_png_is_16bit_white_near(tmp_path: Path) -> None:
    path = DepthMap(_ramp()).save(tmp_path / "d.png")
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw[0, -1] == 65535 and raw[0, 0] == 0
    loaded = DepthMap.load(path)
    assert loaded.nearness[0, -1] > loaded.nearness[0, 0]
    flipped = DepthMap.load(path, near="black")
    assert flipped.nearness[0, -1] < flipped.nearness[0, 0]


def test_black_near_float_file_is_inverted_to_nearness(tmp_path: Path) -> None:
    metres = np.array([[1.0, 2.0, 4.0]], np.float32)
    np.save(tmp_path / "m.npy", metres)
    loaded = DepthMap.load(tmp_path / "m.npy", near="black")
    assert np.allclose(loaded.nearness, [[1.0, 0.5, 0.25]])


def test_non_finite_values_become_unconfident(tmp_path: Path) -> None:
    values = _ramp()
    values[3, 3] = np.inf
    np.save(tmp_path / "d.npy", values)
    loaded = DepthMap.load(tmp_path / "d.npy")
    assert np.isfinite(loaded.nearness).all()
    assert loaded.confidence is not None and loaded.confidence[3, 3] == 0


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        DepthMap.load(tmp_path / "none.npy")
    (tmp_path / "d.xyz").write_text("1")
    with pytest.raises(InputError, match="unknown depth file type"):
        DepthMap.load(tmp_path / "d.xyz")
    (tmp_path / "bad.pfm").write_bytes(b"P5 garbage")
    with pytest.raises(InputError, match="PFM"):
        DepthMap.load(tmp_path / "bad.pfm")
    with pytest.raises(ParameterError):
        DepthMap.load(tmp_path / "bad.pfm", near="grey")  # type: ignore[arg-type]


def test_pfm_codec_orientation() -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(decode_pfm(encode_pfm(array)), array)


def test_as_depthmap_accepts_arrays_only_2d() -> None:
    assert as_depthmap(np.ones((3, 4))).shape == (3, 4)
    with pytest.raises(ParameterError):
        as_depthmap(np.ones((3, 4, 3)))


def test_preview_is_warm_for_near() -> None:
    preview = DepthMap(_ramp()).preview()
    assert preview.shape == (30, 40, 3) and preview.dtype == np.uint8
    assert preview[0, -1, 0] > preview[0, -1, 2]  # near = red end of TURBO
    assert preview[0, 0, 2] > preview[0, 0, 0]  # far = blue end


def test_npz_keeps_confidence_units_and_scale(tmp_path: Path) -> None:
    confidence = np.ones((30, 40), np.float32)
    confidence[:, :5] = 0
    depth = DepthMap(_ramp(), confidence=confidence, metric_scale=42.5, units="disparity_px")
    loaded = DepthMap.load(depth.save(tmp_path / "d.npz"))
    assert np.array_equal(loaded.nearness, depth.nearness)
    assert loaded.confidence is not None and np.array_equal(loaded.confidence, confidence)
    assert loaded.metric_scale == 42.5 and loaded.units == "disparity_px"
    bare = DepthMap.load(DepthMap(_ramp()).save(tmp_path / "bare.npz"))
    assert bare.confidence is None and bare.metric_scale is None and bare.units == "relative"


def test_grey_depth_pictures_give_their_codes_and_turn_upright(tmp_path: Path) -> None:
    from PIL import Image

    codes = np.arange(200, dtype=np.uint16).reshape(10, 20) * 300
    cv2.imwrite(str(tmp_path / "d16.png"), codes)
    loaded = DepthMap.load(tmp_path / "d16.png")
    np.testing.assert_array_equal(loaded.nearness, codes.astype(np.float32) / np.float32(65535))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways
    Image.fromarray((codes // 300).astype(np.uint8)).save(tmp_path / "d.jpg", exif=exif.tobytes())
    assert DepthMap.load(tmp_path / "d.jpg").shape == (20, 10)


def test_npz_keeps_the_match_report(tmp_path: Path) -> None:
    report = MatchReport((-4.0, 60.0), 0.42, ("only 42% of pixels matched",))
    depth = DepthMap(_ramp(), units="disparity_px", report=report)
    loaded = DepthMap.load(depth.save(tmp_path / "d.npz"))
    assert loaded.report == report
    assert DepthMap.load(DepthMap(_ramp()).save(tmp_path / "bare.npz")).report is None
    # Resizing scales the range with the width, as it does the disparities.
    halved = depth.resized((depth.shape[0] // 2, depth.shape[1] // 2))
    assert halved.report is not None and halved.report.disparity_range[1] == 30.0
