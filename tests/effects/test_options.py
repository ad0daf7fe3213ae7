"""Generated over every effect: each option is declared once, in the effect's dataclass.

For each registered effect, every field is an option of its command under its own name, a
value outside its declared range is refused when the dataclass is built, and the effect's
public function takes exactly the same keywords with the same defaults.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from typing import Any

import pytest

from depthfx.cli._app import load_command
from depthfx.effects.bokeh import bokeh
from depthfx.effects.fog import fog
from depthfx.effects.insert import insert
from depthfx.effects.layers import layers
from depthfx.effects.miniature import miniature
from depthfx.effects.registry import available_effects
from depthfx.effects.shadows import relight_shadows
from depthfx.errors import ParameterError
from depthfx.params import Spec, default_of, flag, option_fields

EFFECTS = sorted(available_effects())
FUNCTIONS = {
    "bokeh": bokeh,
    "fog": fog,
    "insert": insert,
    "layers": layers,
    "miniature": miniature,
    "shadows": relight_shadows,
}
# Values for options that have no default, so that the others can be tried one at a time.
REQUIRED: dict[str, dict[str, Any]] = {
    "insert": {"overlay": "logo.png", "at": (10, 10), "nearness": 0.5}
}


def _fields(effect: str) -> list[tuple[dataclasses.Field[Any], Spec]]:
    return list(option_fields(available_effects()[effect]))


def _out_of_range(spec: Spec) -> list[Any]:
    """Values the spec must refuse."""
    if spec.choices is not None:
        return ["no-such-choice"]
    if spec.kind is bool:
        return ["yes", 1]
    bad: list[Any] = []
    if spec.kind in (int, float):
        bad.append("text")
        if spec.high is not None:
            bad.append(spec.high + 1)
        if spec.low is not None:
            bad.append(spec.low - 1)
        if spec.above is not None:
            bad.append(spec.above)
        if spec.kind is float:
            bad.append(math.nan)
    return bad


def test_every_effect_is_covered() -> None:
    assert sorted(FUNCTIONS) == EFFECTS


@pytest.mark.parametrize("effect", EFFECTS)
def test_every_field_is_declared_with_help(effect: str) -> None:
    declared = {item.name for item, _ in _fields(effect)}
    every = {item.name for item in dataclasses.fields(available_effects()[effect])}
    assert declared == every  # no field escapes the single declaration
    assert all(spec.help.strip() for _, spec in _fields(effect))


@pytest.mark.parametrize("effect", EFFECTS)
def test_every_field_is_an_option_of_its_command_under_its_own_name(effect: str) -> None:
    command = load_command(effect)
    spellings = {spelling for parameter in command.params for spelling in parameter.opts}
    spellings |= {s for parameter in command.params for s in parameter.secondary_opts}
    for item, spec in _fields(effect):
        assert flag(item.name) in spellings, (effect, item.name)
        assert set(spec.aliases) <= spellings


@pytest.mark.parametrize(
    ("effect", "name", "value"),
    [
        (effect, item.name, value)
        for effect in EFFECTS
        for item, spec in _fields(effect)
        for value in _out_of_range(spec)
    ],
)
def test_a_bad_value_is_refused_when_the_dataclass_is_built(
    effect: str, name: str, value: Any
) -> None:
    options = {**REQUIRED.get(effect, {}), name: value}
    with pytest.raises(ParameterError, match=rf"\b{name}\b"):
        available_effects()[effect](**options)


@pytest.mark.parametrize("effect", EFFECTS)
def test_defaults_build_and_the_function_takes_the_same_keywords(effect: str) -> None:
    effect_class = available_effects()[effect]
    effect_class(**REQUIRED.get(effect, {}))  # the declared defaults pass their own checks
    parameters = inspect.signature(FUNCTIONS[effect]).parameters
    keywords = {
        name: parameter.default
        for name, parameter in parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("progress", "out")
    }
    fields = {item.name: default_of(item) for item in dataclasses.fields(effect_class)}
    positional = set(fields) - set(keywords)
    assert positional <= {"overlay"}, positional  # insert takes its picture positionally
    for name in keywords:
        expected = fields[name]
        expected = inspect.Parameter.empty if expected is dataclasses.MISSING else expected
        assert keywords[name] == expected, (effect, name)
