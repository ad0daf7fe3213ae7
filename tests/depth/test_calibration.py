"""Stereo calibration files: reading the usual spellings, writing, scaling, chessboards."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from depthfx.depth.calibration import StereoCalibration, as_calibration, calibrate_from_chessboards
from depthfx.errors import InputError, ParameterError


def rig() -> StereoCalibration:
    camera = np.array([[700.0, 0, 320], [0, 700.0, 240], [0, 0, 1]])
    return StereoCalibration(
        K1=camera, D1=np.zeros(5), K2=camera, D2=np.zeros(5), R=np.eye(3),
        T=np.array([-0.06, 0.0, 0.0]), image_size=(640, 480),
    )  # fmt: skip


@pytest.mark.parametrize("suffix", [".npz", ".yml", ".yaml", ".xml", ".json"])
def test_save_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    original = rig()
    path = original.save(tmp_path / f"rig{suffix}")
    loaded = StereoCalibration.load(path)
    for name in ("K1", "D1", "K2", "D2", "R", "T"):
        assert np.allclose(getattr(loaded, name), getattr(original, name)), name
    assert loaded.image_size == (640, 480)
    assert loaded.units == "m"
    assert loaded.baseline == pytest.approx(0.06)


def test_opencv_sample_spellings_are_understood(tmp_path: Path) -> None:
    # OpenCV's stereo_calib.cpp writes M1/D1/M2/D2 and R/T (here in one file).
    path = tmp_path / "opencv.yml"
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    calib = rig()
    for key, value in (
        ("M1", calib.K1),
        ("D1", calib.D1),
        ("M2", calib.K2),
        ("D2", calib.D2),
        ("R", calib.R),
        ("T", calib.T),
    ):
        storage.write(key, value)
    storage.write("units", "mm")
    storage.release()
    loaded = StereoCalibration.load(path)
    assert np.allclose(loaded.K1, calib.K1) and loaded.image_size is None
    assert loaded.units == "mm" and loaded.metres_per_unit == 0.001


def test_npz_from_stereo_calibrate_names(tmp_path: Path) -> None:
    calib = rig()
    path = tmp_path / "rig.npz"
    np.savez(
        path,
        cameraMatrix1=calib.K1,
        distCoeffs1=calib.D1,
        cameraMatrix2=calib.K2,
        distCoeffs2=calib.D2,
        R=calib.R,
        T=calib.T,
    )
    assert StereoCalibration.load(path).baseline == pytest.approx(0.06)


def test_missing_entry_is_named(tmp_path: Path) -> None:
    path = tmp_path / "partial.npz"
    np.savez(path, K1=np.eye(3), D1=np.zeros(5), K2=np.eye(3), D2=np.zeros(5), R=np.eye(3))
    with pytest.raises(InputError, match="has no T"):
        StereoCalibration.load(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.yml", None, "not found"),
        ("rig.txt", b"K1: 1", "unknown calibration file type"),
        ("broken.npz", b"not a zip", "not a readable .npz"),
        ("broken.yml", b"\x00\x01garbage", "not a readable OpenCV"),
    ],
)
def test_unusable_files_give_one_line(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as caught:
        StereoCalibration.load(path)
    assert "\n" not in str(caught.value)


def test_invalid_values_are_refused() -> None:
    calib = rig()
    with pytest.raises(InputError, match="T is zero"):
        StereoCalibration(
            K1=calib.K1, D1=calib.D1, K2=calib.K2, D2=calib.D2, R=calib.R, T=np.zeros(3)
        )
    with pytest.raises(InputError, match="K1 must be a finite 3x3"):
        StereoCalibration(K1=np.eye(2), D1=calib.D1, K2=calib.K2, D2=calib.D2, R=calib.R, T=calib.T)


def test_for_size_scales_the_cameras() -> None:
    half = rig().for_size((320, 240))
    assert half.K1[0, 0] == pytest.approx(350.0) and half.K1[1, 2] == pytest.approx(120.0)
    assert half.baseline == pytest.approx(0.06)  # the rig itself does not change
    with pytest.raises(InputError, match="aspect ratios differ"):
        rig().for_size((640, 640))


def test_as_calibration_accepts_objects_and_paths(tmp_path: Path) -> None:
    calib = rig()
    assert as_calibration(calib) is calib
    assert as_calibration(calib.save(tmp_path / "rig.npz")).baseline == pytest.approx(0.06)
    with pytest.raises(ParameterError, match="calibration must be"):
        as_calibration(42)  # type: ignore[arg-type]


def test_chessboard_calibration_of_opencv_sample(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "photos" / "stereo_calib"
    calib = calibrate_from_chessboards(
        sorted(folder.glob("left*.jpg")), sorted(folder.glob("right*.jpg"))
    )
    # photos/README.md: stereo RMS 0.45 px, T ~ (-3.34, 0.04, 0.05) squares, f ~ 536 px.
    assert calib.rms is not None and 0.35 < calib.rms < 0.55
    assert calib.baseline == pytest.approx(3.34, abs=0.05)
    assert calib.T[0] < 0
    assert calib.K1[0, 0] == pytest.approx(536, abs=10)
    assert calib.units == "squares" and calib.image_size == (640, 480)
    loaded = StereoCalibration.load(calib.save(tmp_path / "sample.yml"))
    assert loaded.units == "squares" and np.allclose(loaded.T, calib.T)


def test_chessboard_calibration_needs_boards(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160), 128, np.uint8))
    with pytest.raises(InputError, match="found in both pictures of only 0 pairs"):
        calibrate_from_chessboards([blank] * 3, [blank] * 3)
