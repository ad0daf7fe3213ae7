"""The page's controls, described as JSON from the effects' option dataclasses.

Nothing about an option is written twice: its kind, range, unit, choices, help text and
panel come from its :class:`~depthfx.params.Spec`, exactly as the command line's do.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any

from ..effects.registry import available_effects
from ..params import default_of, flag, option_fields
from ..presets import load_preset, preset_names
from ..presets.toml import plain

# The effects the studio offers, in the picker's order (the ones that render one photo).
STUDIO_EFFECTS = ("bokeh", "fog", "miniature", "layers")
PRESET_PREFIX = "preset:"


def studio_effects() -> dict[str, type]:
    """Effect name -> option dataclass, for the effects the studio offers."""
    registered = available_effects()
    return {name: registered[name] for name in STUDIO_EFFECTS if name in registered}


def _json_number(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _kind_name(spec_kind: type, *, parsed: bool) -> str:
    if parsed:  # an option with a syntax of its own (a point, a colour) is typed as text
        return "text"
    return {float: "float", int: "int", bool: "bool", str: "str"}.get(spec_kind, "text")


def json_value(value: Any) -> Any:
    """An option value as JSON data (tuples as lists, infinity as None)."""
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def option_controls(params_class: type) -> list[dict[str, Any]]:
    """One control description per declared option of ``params_class``, in order."""
    controls = []
    for item, spec in option_fields(params_class):
        default = default_of(item)
        controls.append(
            {
                "name": item.name,
                "flag": flag(item.name),
                "kind": _kind_name(spec.kind, parsed=spec.parse is not None),
                "default": None if default is dataclasses.MISSING else json_value(default),
                "optional": spec.optional,
                "low": _json_number(spec.low),
                "high": _json_number(spec.high),
                "above": _json_number(spec.above),
                "choices": list(spec.choices) if spec.choices is not None else None,
                "unit": spec.unit,
                "help": spec.describe(),
                "panel": spec.panel or "",
            }
        )
    return controls


def step_values(effect: Any) -> dict[str, Any]:
    """An effect object's option values as JSON data (what the page's controls show)."""
    return {item.name: json_value(getattr(effect, item.name)) for item, _ in option_fields(effect)}


def studio_choices() -> list[dict[str, Any]]:
    """The picker's entries: each effect, then each shipped preset, with their steps.

    Each entry has ``id`` (``"bokeh"`` or ``"preset:portrait"``), ``label``,
    ``description`` and ``steps``: per step its effect name and current option values.
    """
    choices = []
    for name, params_class in studio_effects().items():
        choices.append(
            {
                "id": name,
                "label": name,
                "description": _summary(params_class),
                "steps": [{"effect": name, "values": step_values(params_class())}],
            }
        )
    effects = studio_effects()
    for name in preset_names():
        chain = load_preset(name)
        steps = [step.effect for step in chain.steps]
        if not steps or any(type(effect) not in effects.values() for effect in steps):
            continue
        choices.append(
            {
                "id": PRESET_PREFIX + name,
                "label": f"preset: {name}",
                "description": chain.description,
                "steps": [
                    {"effect": _name_of(type(effect)), "values": step_values(effect)}
                    for effect in steps
                ],
            }
        )
    return choices


def _summary(params_class: type) -> str:
    """The first line of the effect module's docstring."""
    module = sys.modules[params_class.__module__]
    return (module.__doc__ or "").strip().split("\n", 1)[0]


def _name_of(effect_class: type) -> str:
    return next(name for name, cls in studio_effects().items() if cls is effect_class)


def controls_document() -> dict[str, Any]:
    """Everything the page needs to build its controls: options per effect and the picker."""
    return {
        "effects": {name: option_controls(cls) for name, cls in studio_effects().items()},
        "choices": studio_choices(),
    }


__all__ = [
    "PRESET_PREFIX",
    "STUDIO_EFFECTS",
    "controls_document",
    "json_value",
    "option_controls",
    "step_values",
    "studio_choices",
    "studio_effects",
]
