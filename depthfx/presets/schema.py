"""The preset schema: a :class:`~depthfx.chain.Chain` to and from its dict (TOML) form.

A preset file is TOML::

    version = 1
    description = "Creamy background blur"

    [depth]
    source = "auto"          # auto | stereo | mono | file

    [[steps]]
    effect = "bokeh"         # an effect name, see available_effects()
    strength = 2.5           # the effect's own options (its dataclass fields)
    blend = 0.8              # optional: mix with the step's input, 0..1
    mask = [0.0, 0.6]        # optional: only where normalized nearness is in [lo, hi]
    mask_feather = 0.1       # optional: soft edge of the mask, in nearness units

Effect options are checked by the effect's parameter dataclass (:mod:`depthfx.params`)
when the preset loads, so a bad value fails here, naming the file and line.
:func:`chain_to_dict` writes the options a preset file set plus any that differ from the
effect's defaults, so a preset loads and serializes back to the same dict.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..chain import DEFAULT_MASK_FEATHER, STEP_KEYS, Chain, DepthSettings, Step
from ..effects.registry import available_effects, effect_name
from ..errors import ParameterError, PresetError
from ..params import default_of, spec_of
from .locate import Locator
from .toml import plain

PRESET_VERSION = 1
PRESET_KEYS = ("version", "description", "depth", "steps")
DEPTH_KEYS = ("source", "model")


def chain_to_dict(chain: Chain) -> dict[str, Any]:
    """The preset as plain TOML-ready data.

    Effect options are written when they differ from the effect's default or were set
    by the preset file the chain was loaded from.
    """
    return {
        "version": PRESET_VERSION,
        "description": chain.description,
        "depth": chain.depth.to_dict(),
        "steps": [_step_to_dict(step) for step in chain.steps],
    }


def chain_from_dict(
    data: Mapping[str, Any],
    *,
    name: str = "",
    source: str | os.PathLike[str] | None = None,
    text: str | None = None,
) -> Chain:
    """Build a chain from the dict form (e.g. ``tomllib.load`` of a preset).

    Parameters
    ----------
    data : mapping
        ``{"version": 1, "description": ..., "depth": {...}, "steps": [...]}``.
    name : str
        Preset name to carry.
    source, text : optional
        Where the data came from and its TOML text; errors then name the file and line.

    Raises
    ------
    PresetError
        Unknown keys or effect names (the message lists the valid ones), wrong types,
        out-of-range values or an unsupported version.
    """
    locate = Locator(source, text)
    if not isinstance(data, Mapping):
        raise PresetError(
            locate.message(None, f"a preset must be a table, got {type(data).__name__}")
        )
    _check_keys(data, PRESET_KEYS, "preset", locate, section=None)
    version = data.get("version", PRESET_VERSION)
    if version != PRESET_VERSION:
        raise PresetError(
            locate.message(
                locate.line("version"),
                f"unsupported preset version {version!r}; this depthfx reads version {PRESET_VERSION}",
            )
        )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise PresetError(
            locate.message(locate.line("description"), "description must be a string")
        )
    depth_data = data.get("depth", {})
    if not isinstance(depth_data, Mapping):
        raise PresetError(locate.message(locate.line("depth"), "[depth] must be a table"))
    _check_keys(depth_data, DEPTH_KEYS, "[depth]", locate, section="depth")
    try:
        depth = DepthSettings(**depth_data)
    except (ParameterError, TypeError) as exc:
        key = "source" if "source" in str(exc) else "model"
        raise PresetError(locate.message(locate.line(key, "depth"), str(exc))) from None
    if depth.model is not None and not isinstance(depth.model, str):
        raise PresetError(
            locate.message(locate.line("model", "depth"), "[depth] model must be a string")
        )
    steps_data = data.get("steps", [])
    if not isinstance(steps_data, list):
        raise PresetError(
            locate.message(locate.line("steps"), "steps must be an array of tables ([[steps]])")
        )
    steps = tuple(_step_from_dict(item, index, locate) for index, item in enumerate(steps_data))
    return Chain(steps=steps, depth=depth, description=description, name=name)


def _step_to_dict(step: Step) -> dict[str, Any]:
    effect = step.effect
    data: dict[str, Any] = {"effect": effect_name(effect)}
    for item in dataclasses.fields(effect):
        value = getattr(effect, item.name)
        if value is None or (item.name not in step.pinned and _equal(value, default_of(item))):
            continue
        data[item.name] = plain(value)
    if step.blend != 1.0:
        data["blend"] = step.blend
    if step.mask is not None:
        data["mask"] = list(step.mask)
        if step.mask_feather != DEFAULT_MASK_FEATHER:
            data["mask_feather"] = step.mask_feather
    return data


def _equal(value: Any, default: Any) -> bool:
    if default is dataclasses.MISSING:
        return False
    try:
        return bool(plain(value) == plain(default))
    except (TypeError, ValueError):
        return False


def _step_from_dict(data: Any, index: int, locate: Locator) -> Step:
    where = f"step {index + 1}"
    if not isinstance(data, Mapping):
        raise PresetError(locate.message(None, f"{where} must be a table"))
    effects = available_effects()
    name = data.get("effect")
    if name is None:
        raise PresetError(
            locate.message(
                locate.header(index), f"{where} has no 'effect'; use one of {', '.join(effects)}"
            )
        )
    if name not in effects:
        raise PresetError(
            locate.message(
                locate.line("effect", "steps", index),
                f"unknown effect {name!r} in {where}; valid effects: {', '.join(effects)}",
            )
        )
    effect_class = effects[name]
    fields = {item.name: item for item in dataclasses.fields(effect_class) if item.init}
    renamed: Mapping[str, str] = getattr(effect_class, "RENAMED", {})
    _check_keys(
        data,
        (*STEP_KEYS, *fields),
        f"{where} ({name})",
        locate,
        section="steps",
        index=index,
        former=tuple(renamed),
    )
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key in STEP_KEYS:
            continue
        options[key] = _coerce(value, fields[renamed.get(key, key)], key, where, locate, index)
    try:
        build = getattr(effect_class, "from_options", None)
        effect = build(options) if build is not None else effect_class(**options)
    except (ParameterError, TypeError, ValueError) as exc:
        key = next((key for key in options if renamed.get(key, key) in str(exc)), None)
        line = locate.line(key, "steps", index) if key else locate.header(index)
        raise PresetError(locate.message(line, f"{where} ({name}): {exc}")) from None
    try:
        return Step(
            effect,
            blend=data.get("blend", 1.0),
            mask=data.get("mask"),
            mask_feather=data.get("mask_feather", DEFAULT_MASK_FEATHER),
            pinned=tuple(renamed.get(key, key) for key in options),
        )
    except ParameterError as exc:
        key = next((key for key in ("mask_feather", "blend", "mask") if key in str(exc)), "blend")
        raise PresetError(
            locate.message(locate.line(key, "steps", index), f"{where}: {exc}")
        ) from None


_KIND_WORDS = {
    bool: "true or false",
    float: "a number",
    int: "an integer",
    str: "a string",
    list: "an array",
    tuple: "an array",
}


def _field_kinds(item: dataclasses.Field[Any]) -> list[type] | None:
    """The TOML-level types a field accepts: its declared kind (:func:`depthfx.params.option`),
    else its default's type.

    None when they cannot be told, or when the option parses its own syntax (any value is
    passed on for the effect to check).
    """
    spec = spec_of(item)
    if spec is not None:
        return None if spec.parse is not None else [spec.kind]
    default = default_of(item)
    if default is dataclasses.MISSING or default is None:
        return None
    for kind in (bool, int, float, str, tuple, list):
        if isinstance(default, kind):
            return [kind]
    return None


def _coerce(
    value: Any, item: dataclasses.Field[Any], key: str, where: str, locate: Locator, index: int
) -> Any:
    """Check a value against the field's type; TOML ints become floats where floats go."""
    kinds = _field_kinds(item)
    if kinds is None:
        return value
    is_bool = isinstance(value, bool)
    if is_bool:
        if bool in kinds:
            return value
    elif isinstance(value, int) and int not in kinds and float in kinds:
        return float(value)
    elif isinstance(value, float) and float not in kinds and int in kinds and value.is_integer():
        return int(value)  # an integer option written as 3.0 is still clear
    elif isinstance(value, list) and (tuple in kinds or list in kinds):
        return tuple(value) if tuple in kinds else value
    elif any(isinstance(value, kind) for kind in kinds if kind not in (bool, tuple, list)):
        return value
    allowed = " or ".join(dict.fromkeys(_KIND_WORDS[kind] for kind in kinds))
    raise PresetError(
        locate.message(
            locate.line(key, "steps", index), f"{where}: {key} must be {allowed}, got {value!r}"
        )
    )


def _check_keys(
    data: Mapping[str, Any],
    valid: Sequence[str],
    where: str,
    locate: Locator,
    *,
    section: str | None,
    index: int | None = None,
    former: Sequence[str] = (),
) -> None:
    """Refuse keys not in ``valid``; ``former`` (renamed) keys are accepted but not listed."""
    unknown = [key for key in data if key not in valid and key not in former]
    if unknown:
        key = unknown[0]
        raise PresetError(
            locate.message(
                locate.line(key, section, index),
                f"unknown key {key!r} in {where}; valid keys: {', '.join(sorted(valid))}",
            )
        )


__all__ = ["PRESET_VERSION", "chain_from_dict", "chain_to_dict"]
