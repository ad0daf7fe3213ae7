"""Depth edges matted to the photo: the wispy subject, slopes, fill steps, confidence."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from depthfx import matte as matte_module
from depthfx.errors import ParameterError
from depthfx.matte import (
    EdgeMatte,
    MatteTile,
    edge_matte,
    matted_nearness,
    nearness_correction,
    trusted_nearness,
)

sys.path.insert(0, str(Path(__file__).parent))
from wispy_scene import wispy_scene


def test_wispy_subject_matte_follows_the_fibres_not_the_depth_blob() -> None:
    scene = wispy_scene()
    matte = edge_matte(scene.image, scene.nearness)
    share = matte.near_share
    # The background between the fibres goes to the far side, the fibres stay near.
    assert float(share[scene.between_fibres].mean()) < 0.1
    assert float(share[scene.fibres].mean()) > 0.95
    # Against the true matte around the blob's outline: a third of the blob's error.
    band = (scene.nearness > 0.5) ^ (scene.matte > 0.5)
    blob_error = float(np.abs((scene.nearness > 0.5) - scene.matte)[band].mean())
    matte_error = float(np.abs(share - scene.matte)[band].mean())
    assert matte_error < blob_error / 3
    # The two sides' depths are the blob's and the background's.
    assert float(np.abs(matte.far[scene.between_fibres] - 0.2).max()) < 1e-3
    assert float(np.abs(matte.near[scene.between_fibres] - 1.0).max()) < 1e-3


def test_depth_without_steps_is_not_matted() -> None:
    rng = np.random.default_rng(0)
    photo = rng.random((64, 320, 3), dtype=np.float32)
    slope = np.tile(np.linspace(0.0, 1.0, 320, dtype=np.float32), (64, 1))
    assert edge_matte(photo, slope).is_trivial  # a slope is no step
    assert edge_matte(photo, np.ones((64, 320), np.float32)).is_trivial
    assert matted_nearness(photo, slope) is None


def test_a_step_the_photo_does_not_show_becomes_a_ramp() -> None:
    # A smooth hillside whose depth map has a fill step: matted, the nearness changes
    # across the band in small steps instead of one jump.
    rng = np.random.default_rng(1)
    photo = (0.4 + 0.01 * rng.standard_normal((120, 100, 3))).astype(np.float32)
    nearness = np.where(np.arange(120)[:, None] < 60, 0.3, 0.6).astype(np.float32)
    nearness = np.repeat(nearness, 100, axis=1)
    matted = matted_nearness(photo, nearness)
    assert matted is not None
    jumps = np.abs(np.diff(matted[:, 50]))
    assert float(jumps.max()) < 0.1 * 0.3
    assert matted[0, 50] == pytest.approx(0.3) and matted[-1, 50] == pytest.approx(0.6)


def test_a_step_the_photo_shows_stays_sharp() -> None:
    photo = np.full((60, 60, 3), 0.1, np.float32)
    photo[:, 30:] = 0.8
    nearness = np.zeros((60, 60), np.float32)
    nearness[:, 24:] = 1.0  # 6 px too far left, as blob depth is
    matte = edge_matte(photo, nearness)
    share = matte.near_share
    assert np.allclose(share[:, 24:30], 0.0, atol=0.01)
    assert np.allclose(share[:, 30:40], 1.0, atol=0.01)
    assert np.allclose(matte.matted_nearness()[:, 24:30], 0.0, atol=0.01)


def test_fractional_membership_and_split_by_side() -> None:
    tile = MatteTile(
        (0, 1, 1, 3),
        near=np.array([[2.0, 2.0]], np.float32),
        far=np.array([[1.0, 1.0]], np.float32),
        near_share=np.array([[0.25, 1.0]], np.float32),
    )
    matte = EdgeMatte(np.array([[2.0, 2.0, 2.0]], np.float32), (tile,))
    assert matte.near_membership(1.5).tolist() == [[1.0, 0.25, 1.0]]
    assert matte.matted_nearness().tolist() == [[2.0, 1.25, 2.0]]
    mapped = matte.nearness * 10
    far_mapped, far_share = matte.split(mapped, lambda values: values * 10)
    assert far_mapped.tolist() == [[0.0, 10.0, 0.0]]
    assert far_share.tolist() == [[0.0, 0.75, 0.0]]
    assert mapped.tolist() == [[20.0, 20.0, 20.0]]
    # Wholly far pixels take the far value and are not split.
    whole = EdgeMatte(
        matte.nearness, (MatteTile(tile.box, tile.near, tile.far, tile.near_share * 0),)
    )
    mapped = matte.nearness * 10
    far_mapped, far_share = whole.split(mapped, lambda values: values * 10)
    assert mapped.tolist() == [[20.0, 10.0, 10.0]] and not far_share.any()


def test_untrusted_depth_on_a_featureless_area_is_smoothed_and_the_rest_kept() -> None:
    rng = np.random.default_rng(3)
    photo = np.full((120, 120, 3), 0.6, np.float32)  # flat sky on top ...
    photo[60:] = rng.random((60, 120, 3), dtype=np.float32)  # ... textured ground below
    nearness = rng.random((120, 120), dtype=np.float32)  # noisy everywhere
    confidence = np.zeros((120, 120), np.float32)
    confidence[:, 90:] = 1.0  # trusted on the right
    out = trusted_nearness(photo, nearness, confidence)
    assert float(out[5:50, 5:80].std()) < 0.2 * float(nearness[5:50, 5:80].std())
    assert np.allclose(out[70:, 5:80], nearness[70:, 5:80], atol=0.05)  # textured
    assert np.allclose(out[5:50, 100:], nearness[5:50, 100:], atol=0.05)  # trusted


def test_bad_input_is_refused() -> None:
    photo = np.zeros((10, 10, 3), np.float32)
    with pytest.raises(ParameterError, match="differ in size"):
        edge_matte(photo, np.zeros((10, 11), np.float32))
    with pytest.raises(ParameterError, match="step"):
        edge_matte(photo, np.zeros((10, 10), np.float32), step=0.0)
    with pytest.raises(ParameterError, match="radius"):
        edge_matte(photo, np.zeros((10, 10), np.float32), radius=0.5)
    with pytest.raises(ParameterError, match="same size"):
        trusted_nearness(photo, np.zeros((10, 10), np.float32), np.zeros((9, 10), np.float32))


def _matte_bytes(matte: EdgeMatte) -> list[tuple[object, bytes, bytes, bytes]]:
    return [
        (tile.box, tile.near.tobytes(), tile.far.tobytes(), tile.near_share.tobytes())
        for tile in matte.tiles
    ]


def _einsum_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("ijk,ijk->ij", a, b)


def test_channel_dot_has_the_bits_of_einsum() -> None:
    rng = np.random.default_rng(5)
    shape = (37, 53, 3)
    a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-15, 15, shape)).astype(np.float32)
    b = (rng.standard_normal(shape) * 10.0 ** rng.integers(-15, 15, shape)).astype(np.float32)
    a[rng.random(shape) < 0.3] = 0.0
    b[rng.random(shape) < 0.3] = -0.0  # products of -0: einsum's sums are +0
    for left, right in ((a, b), (a, a), (b[:, ::2], a[:, ::2])):
        assert (
            matte_module._channel_dot(left, right).tobytes() == _einsum_dot(left, right).tobytes()
        )


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("ramp_unseen", [False, True])
def test_matte_has_the_bits_of_the_einsum_path(
    monkeypatch: pytest.MonkeyPatch, channels: int, ramp_unseen: bool
) -> None:
    scene = wispy_scene()
    rng = np.random.default_rng(7)
    alpha = rng.random((*scene.nearness.shape, 1), dtype=np.float32)
    photo = np.concatenate([scene.image, alpha], axis=2)[:, :, :channels]
    fast = edge_matte(photo, scene.nearness, ramp_unseen=ramp_unseen)
    monkeypatch.setattr(matte_module, "_channel_dot", _einsum_dot)
    slow = edge_matte(photo, scene.nearness, ramp_unseen=ramp_unseen)
    assert fast.tiles and _matte_bytes(fast) == _matte_bytes(slow)


def test_nearness_correction_has_the_bits_of_the_einsum_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = wispy_scene()
    fast = nearness_correction(scene.image, scene.nearness, step=2)
    monkeypatch.setattr(matte_module, "_channel_dot", _einsum_dot)
    slow = nearness_correction(scene.image, scene.nearness, step=2)
    assert fast is not None and slow is not None and fast.tobytes() == slow.tobytes()


@pytest.mark.parametrize("step", [1, 4, 16])
def test_marked_tiles_are_those_with_a_band_pixel(step: int) -> None:
    rng = np.random.default_rng(step)
    for height, width, share in ((1, 1, 1.0), (17, 33, 0.01), (40, 31, 0.0), (64, 48, 0.2)):
        band = (rng.random((height, width)) < share).astype(np.float32)
        expected = [
            (y, x)
            for y in range(0, height, step)
            for x in range(0, width, step)
            if band[y : y + step, x : x + step].any()
        ]
        assert matte_module._marked_tiles(band, step) == expected


def _split_one_side_at_a_time(
    matte: EdgeMatte, mapped: np.ndarray, map_values: object
) -> tuple[np.ndarray, np.ndarray]:
    """EdgeMatte.split as it was first written (np.where per tile, one call per side)."""
    assert callable(map_values)
    far_mapped = np.zeros_like(mapped)
    far_share = np.zeros(matte.nearness.shape, np.float32)
    for tile in matte.tiles:
        near = map_values(tile.near[None, :, :].reshape(1, -1))[0].reshape(tile.near.shape)
        far = map_values(tile.far[None, :, :].reshape(1, -1))[0].reshape(tile.far.shape)
        share = tile.near_share
        mapped[tile.slices] = np.where(share <= 0.05, far, near)
        split = (share > 0.05) & (share < 1.0 - 0.05)
        far_mapped[tile.slices] = np.where(split, far, 0.0)
        far_share[tile.slices] = np.where(split, 1.0 - share, 0.0)
    return far_mapped, far_share


def test_split_has_the_bits_of_a_split_tile_by_tile() -> None:
    rng = np.random.default_rng(11)
    nearness = rng.random((40, 50), dtype=np.float32)
    shares = np.array([0.0, 0.05, 0.0500001, 0.5, 0.9499999, 0.95, 1.0, -0.0], np.float32)
    tiles = []
    for box in ((0, 16, 0, 16), (0, 16, 16, 32), (16, 40, 32, 50), (32, 40, 0, 5)):
        y0, y1, x0, x1 = box
        shape = (y1 - y0, x1 - x0)
        tiles.append(
            MatteTile(
                box,
                near=nearness[y0:y1, x0:x1] + rng.random(shape, dtype=np.float32),
                far=nearness[y0:y1, x0:x1] - rng.random(shape, dtype=np.float32),
                near_share=rng.choice(shares, shape),
            )
        )
    matte = EdgeMatte(nearness, tuple(tiles))
    calls = []

    def map_values(values: np.ndarray) -> np.ndarray:
        calls.append(values.shape)
        return (np.float32(0.7) - values) * np.float32(3.0)

    mapped = map_values(nearness)
    expected_mapped = mapped.copy()
    expected = _split_one_side_at_a_time(matte, expected_mapped, map_values)
    calls.clear()
    result = matte.split(mapped, map_values)
    assert len(calls) == 1  # both sides of every tile in one call
    assert mapped.tobytes() == expected_mapped.tobytes()
    for got, want in zip(result, expected, strict=True):
        assert got.dtype == np.float32 and got.tobytes() == want.tobytes()


def test_a_side_without_a_model_takes_the_other_sides_colour() -> None:
    rng = np.random.default_rng(13)
    near_colour = rng.random((30, 40, 3), dtype=np.float32)
    far_colour = rng.random((30, 40, 3), dtype=np.float32)
    near_weight = rng.choice(np.array([0.0, 0.02, 0.0200001, 0.5, np.nan], np.float32), (30, 40))
    far_weight = rng.choice(np.array([0.0, 0.02, 0.0200001, 0.5, np.nan], np.float32), (30, 40))
    near, far = matte_module._fill_unmodelled(near_colour, far_colour, near_weight, far_weight)
    expected_near = np.where((near_weight > 0.02)[:, :, None], near_colour, far_colour)
    expected_far = np.where((far_weight > 0.02)[:, :, None], far_colour, near_colour)
    assert near.tobytes() == expected_near.tobytes()
    assert far.tobytes() == expected_far.tobytes()
    assert ((near_weight <= 0.02) & (far_weight <= 0.02)).any()  # neither side modelled


@pytest.mark.parametrize("ramp_unseen", [False, True])
def test_an_rgba_photo_is_matted_as_its_colour(ramp_unseen: bool) -> None:
    scene = wispy_scene()
    alpha = np.random.default_rng(17).random((*scene.nearness.shape, 1), dtype=np.float32)
    rgba = np.concatenate([scene.image, alpha], axis=2)
    with_alpha = edge_matte(rgba, scene.nearness, ramp_unseen=ramp_unseen)
    colour_only = edge_matte(
        np.ascontiguousarray(scene.image), scene.nearness, ramp_unseen=ramp_unseen
    )
    assert with_alpha.tiles and _matte_bytes(with_alpha) == _matte_bytes(colour_only)
