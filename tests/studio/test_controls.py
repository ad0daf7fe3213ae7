"""The page's controls come from the option dataclasses, nothing written twice."""

from __future__ import annotations

import json

from depthfx.effects.bokeh import Bokeh
from depthfx.params import flag as cli_flag
from depthfx.params import option_fields
from depthfx.presets import preset_names
from depthfx.studio.controls import controls_document, option_controls, studio_effects


def test_every_option_of_every_studio_effect_is_a_control_with_its_spec() -> None:
    document = controls_document()
    assert set(document["effects"]) == {"bokeh", "fog", "miniature", "layers"}
    for name, params_class in studio_effects().items():
        controls = {control["name"]: control for control in document["effects"][name]}
        fields = list(option_fields(params_class))
        assert list(controls) == [item.name for item, _ in fields]
        for item, spec in fields:
            control = controls[item.name]
            assert control["help"] == spec.describe()
            assert control["low"] == spec.low and control["high"] == spec.high
            assert control["choices"] == (list(spec.choices) if spec.choices else None)
            assert control["panel"] == (spec.panel or "")


def test_controls_are_plain_json() -> None:
    text = json.dumps(controls_document(), allow_nan=False)
    assert json.loads(text)["choices"][0]["id"] == "bokeh"


def test_option_kinds_become_widget_kinds() -> None:
    controls = {control["name"]: control for control in option_controls(Bokeh)}
    assert controls["focus"]["kind"] == "text"  # a syntax of its own: "auto", "X,Y", a level
    assert controls["blades"]["kind"] == "int"
    assert controls["shape"]["choices"] == ["disc", "polygon"]
    assert controls["f_number"]["optional"] and controls["f_number"]["default"] is None
    assert controls["strength"]["flag"] == "--strength"


def test_the_picker_lists_the_effects_then_the_presets_with_their_values() -> None:
    choices = controls_document()["choices"]
    ids = [choice["id"] for choice in choices]
    assert ids[:4] == ["bokeh", "fog", "miniature", "layers"]
    assert [i for i in ids if i.startswith("preset:")] == [f"preset:{n}" for n in preset_names()]
    portrait = next(choice for choice in choices if choice["id"] == "preset:portrait")
    assert portrait["steps"][0]["effect"] == "bokeh"
    assert portrait["steps"][0]["values"]["strength"] == 3.0


def test_option_spellings_are_the_command_lines() -> None:
    for params_class in studio_effects().values():
        for control in option_controls(params_class):
            assert control["flag"] == cli_flag(control["name"])
