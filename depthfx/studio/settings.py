"""What the page sends, checked by the effects' option dataclasses and turned into a chain.

The page sends ``{"choice": "bokeh" | "preset:NAME", "steps": [{option: value, ...}]}``,
one mapping per step of the choice. Every value is checked by the step effect's option
dataclass, so a bad value fails with the message the command line prints. From the same
settings come the chain to render, the equivalent ``depthfx`` command and the preset TOML.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chain import Chain, DepthSettings, Step
from ..depth.source import DepthRequest
from ..errors import ParameterError
from ..params import default_of, flag, option_fields
from ..presets import dumps_preset, load_preset, preset_names
from ..presets.toml import plain
from .controls import PRESET_PREFIX, studio_effects

# JSON scalars an option may be given as (a list for a point or range).
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class StudioSettings:
    """A checked choice of the page: the chain it renders and the values as sent.

    Attributes
    ----------
    choice : str
        ``"bokeh"``, ``"fog"``, ... or ``"preset:NAME"``.
    chain : Chain
        The effects to run, every option checked.
    sent : tuple of dict
        Per step, the option values as the page sent them (the command shows these).
    """

    choice: str
    chain: Chain
    sent: tuple[dict[str, Any], ...]

    @property
    def preset(self) -> str | None:
        """The preset name, or None for a single effect."""
        return self.choice[len(PRESET_PREFIX) :] if self.choice.startswith(PRESET_PREFIX) else None

    @property
    def label(self) -> str:
        """A short name for file names: the effect or the preset."""
        return self.preset or self.choice


def _base_chain(choice: str) -> Chain:
    effects = studio_effects()
    if choice in effects:
        return Chain((Step(effects[choice]()),), name=choice)
    if choice.startswith(PRESET_PREFIX) and choice[len(PRESET_PREFIX) :] in preset_names():
        chain = load_preset(choice[len(PRESET_PREFIX) :])
        if all(type(step.effect) in effects.values() for step in chain.steps):
            return chain
    known = [*effects, *(PRESET_PREFIX + name for name in preset_names())]
    raise ParameterError(f"unknown choice {choice!r}; use one of {', '.join(known)}")


def parse_settings(data: Any) -> StudioSettings:
    """Check the page's JSON and build the chain it asks for.

    Raises
    ------
    ParameterError
        A malformed request, an unknown choice or option, or a bad value (the message is
        the one the command line prints for it).
    """
    if not isinstance(data, Mapping) or set(data) != {"choice", "steps"}:
        raise ParameterError('settings must be {"choice": ..., "steps": [...]}')
    choice, steps = data["choice"], data["steps"]
    if not isinstance(choice, str):
        raise ParameterError(f"choice must be a string, got {choice!r}")
    base = _base_chain(choice)
    if not isinstance(steps, list) or len(steps) != len(base.steps):
        raise ParameterError(f"{choice} has {len(base.steps)} step(s); steps must list each")
    new_steps = tuple(
        dataclasses.replace(step, effect=_checked_effect(step.effect, values))
        for step, values in zip(base.steps, steps, strict=True)
    )
    chain = dataclasses.replace(base, steps=new_steps)
    return StudioSettings(choice=choice, chain=chain, sent=tuple(dict(v) for v in steps))


def _checked_effect(effect: Any, values: Any) -> Any:
    effect_class = type(effect)
    names = [item.name for item, _ in option_fields(effect_class)]
    if not isinstance(values, Mapping):
        raise ParameterError(f"step options must be a mapping, got {values!r}")
    for key, value in values.items():
        if key not in names:
            raise ParameterError(
                f"unknown option {key!r} for {effect_class.__name__}; valid: {', '.join(names)}"
            )
        if not isinstance(value, _SCALARS) and not (
            isinstance(value, list) and all(isinstance(v, int | float) for v in value)
        ):
            raise ParameterError(f"{key} must be a number, a word or true/false, got {value!r}")
    options = {name: getattr(effect, name) for name in names}
    options.update(values)
    return effect_class(**options)


def _differs(effect: Any, item: dataclasses.Field[Any]) -> bool:
    default = default_of(item)
    value = getattr(effect, item.name)
    return value is not None and (default is dataclasses.MISSING or plain(value) != plain(default))


def _cli_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_cli_value(v) for v in value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)


def effect_arguments(effect: Any, sent: Mapping[str, Any]) -> list[str]:
    """The command-line options that give ``effect`` (only those not at their default)."""
    arguments: list[str] = []
    for item, spec in option_fields(effect):
        if not _differs(effect, item):
            continue
        value = getattr(effect, item.name)
        if spec.kind is bool:
            arguments.append(flag(item.name) if value else "--no-" + flag(item.name)[2:])
            continue
        # A value with a syntax of its own (a colour) is written as it was given.
        raw = sent.get(item.name, value) if spec.parse is not None else value
        arguments += [flag(item.name), _cli_value(raw)]
    return arguments


def depth_arguments(request: DepthRequest) -> list[str]:
    """The depth options of a command that reproduce ``request``."""
    given = {
        "--right": request.right,
        "--depth": request.depth_file,
        "--sbs": request.sbs,
        "--model": request.model,
        "--calib": request.calibration,
        "--baseline": request.baseline,
        "--focal": request.focal,
    }
    arguments = [
        word for name, value in given.items() if value is not None for word in (name, str(value))
    ]
    if request.depth_file is not None and request.depth_near != "white":
        arguments += ["--depth-near", request.depth_near]
    if request.mono:
        arguments.append("--mono")
    return arguments


def depth_settings(request: DepthRequest) -> DepthSettings:
    """How a preset should get the depth the studio used."""
    if request.depth_file is not None:
        return DepthSettings(source="file")
    if request.mono:
        return DepthSettings(source="mono", model=request.model)
    if request.right is not None or request.sbs is not None:
        return DepthSettings(source="stereo")
    return DepthSettings()


def uses_depth(settings: StudioSettings) -> bool:
    """False for a band-mode miniature (the command refuses a depth source then)."""
    effect = settings.chain.steps[0].effect
    return settings.preset is not None or getattr(effect, "mode", None) != "band"


def preset_of(settings: StudioSettings, request: DepthRequest) -> Chain:
    """The chain as a preset: a single effect gets a description and the depth source."""
    if settings.preset is not None:
        return settings.chain
    return dataclasses.replace(
        settings.chain,
        description=f"{settings.choice}, chosen in depthfx studio",
        depth=depth_settings(request),
    )


def preset_toml(settings: StudioSettings, request: DepthRequest) -> str:
    """The preset TOML of the current settings (loadable with ``depthfx apply --preset``)."""
    return dumps_preset(preset_of(settings, request))


def is_unchanged_preset(settings: StudioSettings) -> bool:
    """True when a preset choice still has the shipped preset's options."""
    preset = settings.preset
    return preset is not None and load_preset(preset) == settings.chain


def equivalent_command(
    settings: StudioSettings,
    *,
    photo: Path,
    request: DepthRequest,
    output: Path,
    preset_file: Path,
) -> str:
    """The ``depthfx`` command that writes what Export writes.

    A single effect is its own command; a preset is ``depthfx apply`` with the preset's
    name, or, once its options are changed, with ``preset_file`` (Export writes it).
    """
    depth = depth_arguments(request) if uses_depth(settings) else []
    if settings.preset is None:
        effect = settings.chain.steps[0].effect
        words = ["depthfx", settings.choice, str(photo), *depth]
        words += effect_arguments(effect, settings.sent[0])
    else:
        preset = settings.preset if is_unchanged_preset(settings) else str(preset_file)
        words = ["depthfx", "apply", str(photo), *depth, "--preset", preset]
    words += ["-o", str(output)]
    return shlex.join(words)


__all__ = [
    "StudioSettings",
    "depth_arguments",
    "depth_settings",
    "effect_arguments",
    "equivalent_command",
    "is_unchanged_preset",
    "parse_settings",
    "preset_of",
    "preset_toml",
    "uses_depth",
]
