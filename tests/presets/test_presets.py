"""Chains, steps (blend, depth mask), presets: TOML <-> dict <-> objects."""

from __future__ import annotations

import dataclasses
import tomllib
from importlib import resources
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from depthfx.chain import Chain, DepthSettings, Step
from depthfx.depthmap import DepthMap
from depthfx.effects.registry import available_effects, register_effect
from depthfx.errors import ParameterError, PresetError
from depthfx.params import Params, option
from depthfx.presets import (
    dumps_preset,
    dumps_toml,
    load_preset,
    loads_preset,
    preset_names,
    save_preset,
)


@dataclasses.dataclass(frozen=True)
class Gain:
    """Test-only effect: multiply the colour by ``amount``."""

    amount: float = 0.5
    label: str = "x"
    passes: int = 1
    clip: bool = False

    def apply(self, image: np.ndarray, depth: object) -> np.ndarray:
        out = image * np.float32(self.amount**self.passes)
        return np.clip(out, 0, 1) if self.clip else out


@dataclasses.dataclass(frozen=True)
class AddNearness:
    """Test-only effect: add the depth map's nearness to every channel (sees the fitted map)."""

    scale: float = 1.0

    def apply(self, image: np.ndarray, depth: DepthMap) -> np.ndarray:
        return image + np.float32(self.scale) * depth.nearness[:, :, None]


@dataclasses.dataclass(frozen=True)
class Lift(Params):
    """Test-only effect whose option ``amount`` was called ``boost`` before."""

    RENAMED: ClassVar[dict[str, str]] = {"boost": "amount"}

    amount: float = option(0.1, low=0.0, high=1.0, help="Added to every channel.")

    def apply(self, image: np.ndarray, depth: object) -> np.ndarray:
        return image + np.float32(self.amount)


@pytest.fixture(autouse=True, scope="module")
def _test_effects() -> None:
    register_effect(Gain, "gain")
    register_effect(AddNearness, "add_nearness")
    register_effect(Lift, "lift")


def _ramp_depth(height: int = 6, width: int = 11) -> np.ndarray:
    return np.tile(np.linspace(0, 1, width, dtype=np.float32), (height, 1))


# --------------------------------------------------------------------------- chains


def test_chain_applies_steps_in_order_on_previous_output() -> None:
    image = np.full((6, 11, 3), 0.5, np.float32)
    chain = Chain([Gain(amount=0.5), AddNearness(scale=1.0)])
    out = chain.apply(image, _ramp_depth())
    # gain first (0.25), then nearness added: 0.25 + ramp
    np.testing.assert_allclose(out[0, :, 0], 0.25 + np.linspace(0, 1, 11), atol=1e-6)
    reversed_out = Chain([AddNearness(scale=1.0), Gain(amount=0.5)]).apply(image, _ramp_depth())
    np.testing.assert_allclose(
        reversed_out[0, :, 0], (0.5 + np.linspace(0, 1, 11)) * 0.5, atol=1e-6
    )


def test_blend_mixes_with_step_input() -> None:
    image = np.full((4, 4, 3), 0.8, np.float32)
    out = Chain([Step(Gain(amount=0.0), blend=0.25)]).apply(image, np.zeros((4, 4), np.float32))
    np.testing.assert_allclose(out, 0.6, atol=1e-6)  # 0.8 * 0.75 + 0 * 0.25


def test_mask_limits_the_effect_to_a_depth_range_with_soft_edge() -> None:
    image = np.ones((6, 11, 3), np.float32)
    step = Step(Gain(amount=0.0), mask=(0.0, 0.4), mask_feather=0.1)
    out = Chain([step]).apply(image, _ramp_depth())
    row = out[0, :, 0]  # nearness 0.0, 0.1, ..., 1.0
    np.testing.assert_allclose(row[:5], 0.0, atol=1e-6)  # inside [0, 0.4]: full effect
    assert 0.0 < row[5] < 1.0 or np.isclose(row[5], 1.0)  # 0.5 is at the feather's end
    np.testing.assert_allclose(row[6:], 1.0, atol=1e-6)  # far from the range: untouched
    weights = step.weight(DepthMap(_ramp_depth()))
    assert weights is not None and np.all(np.diff(weights[0]) <= 1e-6)  # falls off monotonically


def test_mask_feather_makes_a_smooth_transition() -> None:
    nearness = np.tile(np.linspace(0, 1, 101, dtype=np.float32), (2, 1))
    weights = Step(Gain(), mask=(0.5, 1.0), mask_feather=0.2).weight(DepthMap(nearness))
    assert weights is not None
    row = weights[0]
    assert row[20] == 0.0 and row[50] == pytest.approx(1.0)
    assert 0.2 < row[40] < 0.8  # halfway through the soft edge
    assert np.all(np.diff(row[:51]) >= -1e-6)


def test_depth_is_fitted_to_the_photo_once() -> None:
    image = np.zeros((12, 22, 3), np.float32)
    out = Chain([AddNearness()]).apply(image, np.ones((6, 11), np.float32))
    assert out.shape == (12, 22, 3)
    np.testing.assert_allclose(out, 1.0, atol=1e-5)


def test_alpha_channel_survives_a_chain() -> None:
    image = np.full((4, 4, 4), 0.5, np.float32)
    out = Chain([Step(Gain(amount=0.5), blend=0.5)]).apply(image, np.zeros((4, 4), np.float32))
    assert out.shape == (4, 4, 4)
    np.testing.assert_allclose(out[:, :, 0], 0.375, atol=1e-6)


def test_step_validation_names_the_parameter() -> None:
    with pytest.raises(ParameterError, match=r"blend must be in 0\.\.1"):
        Step(Gain(), blend=1.5)
    with pytest.raises(ParameterError, match="mask must be"):
        Step(Gain(), mask=(0.6, 0.2))
    with pytest.raises(ParameterError, match="mask_feather"):
        Step(Gain(), mask=(0.0, 0.5), mask_feather=-1)
    with pytest.raises(ParameterError, match="apply"):
        Step(object())
    with pytest.raises(ParameterError, match="depth source"):
        DepthSettings(source="laser")


def test_register_rejects_fields_that_clash_with_step_keys() -> None:
    @dataclasses.dataclass(frozen=True)
    class Clash:
        blend: float = 1.0

        def apply(self, image: np.ndarray, depth: object) -> np.ndarray:
            return image

    with pytest.raises(ParameterError, match="reserved"):
        register_effect(Clash, "clash")


# --------------------------------------------------------------------------- dict and TOML

PRESET_TEXT = """\
version = 1
description = "test chain"

[depth]
source = "mono"
model = "pydnet"

[[steps]]
effect = "gain"
amount = 0.25
passes = 2
blend = 0.5
mask = [0.0, 0.5]
mask_feather = 0.2

[[steps]]
effect = "add_nearness"
"""


def test_dict_round_trip_is_exact() -> None:
    data = tomllib.loads(PRESET_TEXT)
    chain = Chain.from_dict(data)
    assert chain.to_dict() == data
    assert Chain.from_dict(chain.to_dict()) == chain
    assert chain.steps[0].effect == Gain(amount=0.25, passes=2)
    assert chain.depth == DepthSettings(source="mono", model="pydnet")


def test_toml_writer_round_trips_through_tomllib() -> None:
    chain = loads_preset(PRESET_TEXT)
    text = dumps_preset(chain)
    assert tomllib.loads(text) == chain.to_dict()
    assert loads_preset(text) == chain


def test_toml_writer_handles_awkward_values() -> None:
    data = {
        "description": 'quote " backslash \\ newline \n tab \t unicode é',
        "big": 1e20,
        "small": 1.5e-7,
        "whole": 3.0,
        "flags": [True, False],
        "inf": float("inf"),
        "nested": {"a": 1, "b": [1.5, 2.0]},
        "rows": [{"x": 1}, {"x": 2, "inner": {"k": "v"}}],
    }
    assert tomllib.loads(dumps_toml(data)) == data


def test_python_built_chain_round_trips() -> None:
    chain = Chain(
        [Step(Gain(amount=0.3, label="y", clip=True), blend=0.7), AddNearness(scale=2)],
        depth=DepthSettings(source="stereo"),
        description="built in Python",
    )
    data = chain.to_dict()
    assert data["steps"][0] == {
        "effect": "gain",
        "amount": 0.3,
        "label": "y",
        "clip": True,
        "blend": 0.7,
    }
    assert data["steps"][1] == {"effect": "add_nearness", "scale": 2}
    assert loads_preset(dumps_preset(chain)) == chain


def test_options_a_file_sets_to_the_default_are_kept() -> None:
    text = 'version = 1\ndescription = ""\n[depth]\nsource = "auto"\n[[steps]]\neffect = "gain"\namount = 0.5\n'
    data = tomllib.loads(text)
    chain = loads_preset(text)
    assert chain.steps[0].effect == Gain()  # 0.5 is the default ...
    assert chain.to_dict() == data  # ... but the file said it, so it is written back
    assert Chain([Gain()]).to_dict()["steps"] == [{"effect": "gain"}]


def test_a_renamed_option_is_read_under_its_former_name_and_written_under_the_new() -> None:
    chain = loads_preset('version = 1\n[[steps]]\neffect = "lift"\nboost = 0.1\n')
    assert chain.steps[0].effect == Lift(amount=0.1)
    assert chain.to_dict()["steps"] == [{"effect": "lift", "amount": 0.1}]  # pinned, new name
    head = 'version = 1\n[[steps]]\neffect = "lift"\n'
    assert _error(head + "boost = 2\n").startswith("my.toml:4: step 1 (lift): amount must be in")
    assert "give only amount" in _error(head + "amount = 0.2\nboost = 0.1\n")
    assert _error(head + "boost = true\n").startswith("my.toml:4: step 1: boost must be a number")
    unknown = _error(head + "boots = 0.1\n")
    assert "valid keys: amount, blend, effect, mask, mask_feather" in unknown  # not the old one


def test_ints_become_floats_for_float_options() -> None:
    chain = loads_preset('version = 1\n[[steps]]\neffect = "gain"\namount = 2\n')
    assert isinstance(chain.steps[0].effect.amount, float)


# --------------------------------------------------------------------------- errors


def _error(text: str) -> str:
    with pytest.raises(PresetError) as info:
        loads_preset(text, source="my.toml")
    return str(info.value)


def test_unknown_key_error_lists_valid_keys_with_file_and_line() -> None:
    message = _error(PRESET_TEXT.replace("passes = 2", "pases = 2"))
    assert message.startswith("my.toml:11:")
    assert (
        "'pases'" in message
        and "amount, blend, clip, effect, label, mask, mask_feather, passes" in message
    )


def test_unknown_effect_lists_valid_effects_with_line() -> None:
    message = _error(PRESET_TEXT.replace('effect = "add_nearness"', 'effect = "blur"'))
    assert message.startswith("my.toml:17:")
    assert "unknown effect 'blur'" in message
    assert all(name in message for name in available_effects())


def test_unknown_top_level_and_depth_keys() -> None:
    assert _error('version = 1\ncolour = "red"\n').startswith("my.toml:2: unknown key 'colour'")
    message = _error('version = 1\n\n[depth]\nsource = "auto"\nmodle = "x"\n')
    assert message.startswith("my.toml:5:") and "valid keys: model, source" in message
    assert _error('[depth]\nsource = "sonar"\n').startswith(
        "my.toml:2: depth source must be one of"
    )


def test_wrong_types_and_ranges_are_preset_errors_with_lines() -> None:
    assert _error('[[steps]]\neffect = "gain"\namount = "lots"\n').startswith(
        "my.toml:3: step 1: amount must be a number"
    )
    assert _error('[[steps]]\neffect = "gain"\nblend = 2\n').startswith(
        "my.toml:3: step 1: blend must be in 0..1"
    )
    assert "has no 'effect'" in _error("[[steps]]\namount = 1\n")
    assert "unsupported preset version 2" in _error("version = 2\n")
    assert "invalid TOML" in _error("version = = 1\n")


def test_preset_files_load_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(PRESET_TEXT, encoding="utf-8")
    chain = load_preset(path)
    assert chain.name == "mine" and chain.description == "test chain"
    saved = save_preset(chain, tmp_path / "again.toml")
    assert load_preset(saved) == chain
    with pytest.raises(PresetError, match="not found"):
        load_preset(tmp_path / "missing.toml")
    with pytest.raises(PresetError, match=r"shipped presets: .*portrait"):
        load_preset("no-such-preset")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[[steps]]\neffect = "nope"\n', encoding="utf-8")
    with pytest.raises(PresetError, match=rf"^{bad}:3: unknown effect"):
        load_preset(bad)


# --------------------------------------------------------------------------- shipped presets


def test_required_presets_are_shipped() -> None:
    assert {"portrait", "misty-morning", "miniature-city", "diorama", "dreamy-haze"} <= set(
        preset_names()
    )


def test_registry_finds_the_real_effects() -> None:
    effects = available_effects()
    for name in ("bokeh", "fog", "miniature", "layers"):
        assert name in effects, f"effect {name!r} not discovered"
        assert dataclasses.is_dataclass(effects[name])


@pytest.mark.parametrize("name", sorted(preset_names()))
def test_shipped_preset_round_trips_exactly(name: str) -> None:
    text = resources.files("depthfx._presets").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    chain = load_preset(name)
    assert chain.to_dict() == data
    assert tomllib.loads(dumps_preset(chain)) == data
    assert chain.description
    assert chain.steps


def _equivalent_python_chain(name: str) -> Chain:
    """Each shipped preset written by hand in Python, as a user would."""
    if name == "diorama":
        from depthfx.effects.layers import Layers

        return Chain(
            [
                Layers(
                    count=5,
                    split="gaps",
                    shadow_opacity=0.8,
                    shadow_length=10.0,
                    shadow_softness=1.5,
                )
            ]
        )
    if name == "miniature-city":
        from depthfx.effects.miniature import Miniature

        return Chain([Miniature(mode="depth", strength=1.2, saturation=1.45)])
    from depthfx.effects.bokeh import Bokeh
    from depthfx.effects.fog import Fog

    chains = {
        "portrait": Chain([Bokeh(focus="auto", strength=3.0)]),
        "misty-morning": Chain(
            [
                Fog(density=0.3, color="#dde4ea", patchiness=0.25),
                Bokeh(focus="auto", strength=1.0),
            ]
        ),
        "dreamy-haze": Chain(
            [
                Fog(density=0.15, color="#ffe8d0", max_fog=0.7),
                Step(
                    Bokeh(focus="auto", strength=2.0), blend=0.6, mask=(0.0, 0.6), mask_feather=0.15
                ),
            ]
        ),
    }
    return chains[name]


@pytest.fixture(scope="module")
def small_photo_and_depth(examples_dir: Path) -> tuple[np.ndarray, DepthMap]:
    """The example teddy pair at 150x125 and its stereo depth."""
    import cv2

    from depthfx.depth.stereo import stereo_depth
    from depthfx.image import srgb_to_linear

    views = []
    for side in ("left", "right"):
        picture = cv2.imread(str(examples_dir / f"teddy_{side}.jpg"))[:, :, ::-1]
        small = cv2.resize(picture, (150, 125), interpolation=cv2.INTER_AREA)
        views.append(srgb_to_linear(small.astype(np.float32) / 255))
    return views[0], stereo_depth(views[0], views[1])


@pytest.mark.parametrize(
    "name", ["portrait", "misty-morning", "miniature-city", "diorama", "dreamy-haze"]
)
def test_shipped_preset_runs_like_the_equivalent_python_chain(
    name: str, small_photo_and_depth: tuple[np.ndarray, DepthMap]
) -> None:
    image, depth = small_photo_and_depth
    preset = load_preset(name)
    python_chain = _equivalent_python_chain(name)
    assert preset.steps == python_chain.steps  # same effects, options, blends and masks
    from_preset = preset.apply(image, depth)
    by_hand = python_chain.apply(image, depth)
    np.testing.assert_array_equal(from_preset, by_hand)
    assert from_preset.shape == image.shape and np.isfinite(from_preset).all()
    assert np.abs(from_preset - image).mean() > 1e-3  # the preset visibly changes the photo
