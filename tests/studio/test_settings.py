"""The page's settings are checked by the option dataclasses and give command and TOML."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from depthfx.depth.source import DepthRequest
from depthfx.effects.bokeh import Bokeh
from depthfx.errors import ParameterError
from depthfx.presets import loads_preset
from depthfx.studio.settings import (
    depth_arguments,
    equivalent_command,
    parse_settings,
    preset_toml,
)

REQUEST = DepthRequest(depth_file=Path("d.npy"))


def command_of(data: dict, request: DepthRequest = REQUEST) -> list[str]:
    settings = parse_settings(data)
    text = equivalent_command(
        settings,
        photo=Path("p.jpg"),
        request=request,
        output=Path("o.jpg"),
        preset_file=Path("s.toml"),
    )
    return shlex.split(text)


def test_an_effect_is_built_from_its_defaults_and_the_values_sent() -> None:
    settings = parse_settings({"choice": "bokeh", "steps": [{"focus": "10,20", "strength": 2}]})
    assert settings.chain.steps[0].effect == Bokeh(focus=(10.0, 20.0), strength=2.0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": "bokeh", "steps": [{"strength": 99}]}, "strength must be in 0..10"),
        ({"choice": "bokeh", "steps": [{"focus": "left"}]}, "focus must be 'auto'"),
        ({"choice": "bokeh", "steps": [{"radius": 1}]}, "unknown option 'radius'"),
        ({"choice": "bokeh", "steps": [{"strength": {"x": 1}}]}, "strength must be a number"),
        ({"choice": "blur", "steps": [{}]}, "unknown choice 'blur'"),
        ({"choice": "bokeh", "steps": [{}, {}]}, "bokeh has 1 step"),
        ({"choice": "bokeh", "steps": [{}], "output": "/etc/passwd"}, "settings must be"),
        (["bokeh"], "settings must be"),
    ],
)
def test_bad_settings_fail_with_a_message(data: object, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        parse_settings(data)


def test_the_command_gives_only_options_off_their_default() -> None:
    words = command_of(
        {"choice": "bokeh", "steps": [{"focus": "812,440", "strength": 2.25, "shape": "disc"}]}
    )
    assert words == [
        "depthfx", "bokeh", "p.jpg", "--depth", "d.npy",
        "--focus", "812,440", "--strength", "2.25", "-o", "o.jpg",
    ]  # fmt: skip


def test_the_command_writes_booleans_as_flags_and_colours_as_given() -> None:
    words = command_of({"choice": "fog", "steps": [{"edge_aware": False, "color": "white"}]})
    assert "--no-edge-aware" in words
    assert words[words.index("--color") + 1] == "white"


def test_a_band_miniature_command_has_no_depth_source() -> None:
    words = command_of({"choice": "miniature", "steps": [{"mode": "band", "position": 0.4}]})
    assert "--depth" not in words
    assert words[words.index("--position") + 1] == "0.4"


def test_a_preset_command_names_the_preset_until_it_is_changed() -> None:
    same = command_of({"choice": "preset:portrait", "steps": [{}]})
    assert same[same.index("--preset") + 1] == "portrait"
    changed = command_of({"choice": "preset:portrait", "steps": [{"focus": "5,6"}]})
    assert changed[:2] == ["depthfx", "apply"]
    assert changed[changed.index("--preset") + 1] == "s.toml"


def test_the_depth_options_are_repeated() -> None:
    request = DepthRequest(mono=True, model="midas_small")
    assert depth_arguments(request) == ["--model", "midas_small", "--mono"]
    request = DepthRequest(depth_file=Path("d.png"), depth_near="black")
    assert depth_arguments(request) == ["--depth", "d.png", "--depth-near", "black"]


def test_the_toml_loads_back_as_the_same_chain() -> None:
    settings = parse_settings({"choice": "bokeh", "steps": [{"focus": "30,40", "strength": 4}]})
    chain = loads_preset(preset_toml(settings, REQUEST))
    assert chain.steps == settings.chain.steps
    assert chain.depth.source == "file"
