"""Effect chains and presets: TOML <-> dict <-> objects, with an exact round trip.

A :class:`Chain` is an ordered list of :class:`Step` objects plus the depth settings a
preset wants (:class:`DepthSettings`). Every step wraps one effect object (the small frozen
dataclasses in :mod:`depthfx.effects`, e.g. ``Bokeh(strength=2)``), an optional ``blend``
amount and an optional ``mask`` by depth range. The depth map is fitted to the photo once
and every step gets the same one; each step's output is the next step's input.

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

:meth:`Chain.to_dict` writes the options a preset file set plus any that differ from the
effect's defaults, so a preset loads and serializes back to the same dict.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import pkgutil
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np

from .depth.source import DEPTH_SOURCES, DepthSettings
from .depthmap import DepthMap, as_depthmap
from .errors import ParameterError, PresetError
from .image import as_float_image

PRESET_VERSION = 1
# Keys of a [[steps]] table that belong to the step, not to the effect.
STEP_KEYS = ("effect", "blend", "mask", "mask_feather")
PRESET_KEYS = ("version", "description", "depth", "steps")
DEPTH_KEYS = ("source", "model")
DEFAULT_MASK_FEATHER = 0.05

ProgressCallback = Callable[[str, float], None]

# --------------------------------------------------------------------------- registry

_registry: dict[str, type] = {}
_discovered = False


def register_effect(effect_class: type, name: str | None = None) -> type:
    """Make an effect class usable in chains and presets under ``name``.

    The class must be a dataclass with an ``apply(image, depth)`` method; its fields are the
    keys a preset step may set. The built-in effects register themselves by discovery, so
    this is for your own effects.

    Examples
    --------
    >>> @dataclasses.dataclass(frozen=True)
    ... class Darken:
    ...     amount: float = 0.5
    ...     def apply(self, image, depth):
    ...         return image * (1 - self.amount)
    >>> _ = register_effect(Darken, "darken")
    >>> "darken" in available_effects()
    True
    """
    if not dataclasses.is_dataclass(effect_class) or not isinstance(effect_class, type):
        raise ParameterError(f"effect class must be a dataclass type, got {effect_class!r}")
    if not callable(getattr(effect_class, "apply", None)):
        raise ParameterError(
            f"effect class {effect_class.__name__} has no apply(image, depth) method"
        )
    effect_name = name or getattr(effect_class, "NAME", None) or effect_class.__name__.lower()
    clashing = set(STEP_KEYS) & {item.name for item in dataclasses.fields(effect_class)}
    if clashing:
        raise ParameterError(
            f"effect {effect_name}: field names {sorted(clashing)} are reserved for steps"
        )
    _registry[str(effect_name)] = effect_class
    return effect_class


def _effect_class_in(module: Any, name: str) -> type | None:
    candidates = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and value.__module__ == module.__name__
        and callable(getattr(value, "apply", None))
    ]
    for candidate in candidates:
        if candidate.__name__.lower() == name.replace("_", "").lower():
            return candidate
    return candidates[0] if len(candidates) == 1 else None


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    from . import effects

    for info in pkgutil.iter_modules(effects.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{effects.__name__}.{info.name}")
        name = getattr(module, "NAME", None)
        if not isinstance(name, str):
            continue
        effect_class = _effect_class_in(module, name)
        if effect_class is not None and name not in _registry:
            register_effect(effect_class, name)
    _discovered = True


def available_effects() -> dict[str, type]:
    """Effect names usable in presets, mapped to their option dataclasses.

    Examples
    --------
    >>> sorted(available_effects())  # doctest: +SKIP
    ['bokeh', 'fog', 'layers', 'miniature']
    """
    _discover()
    return dict(sorted(_registry.items()))


def effect_name(effect: object) -> str:
    """The registered name of an effect object (e.g. ``"bokeh"`` for ``Bokeh(...)``)."""
    for name, effect_class in available_effects().items():
        if type(effect) is effect_class:
            return name
    raise ParameterError(
        f"{type(effect).__name__} is not a registered effect; use register_effect() first"
    )


# --------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class Step:
    """One effect in a chain, with an optional blend amount and depth-range mask.

    Parameters
    ----------
    effect : effect object
        E.g. ``Bokeh(strength=2)``: anything with ``apply(image, depth)``.
    blend : float
        0..1: how much of the effect's output replaces the step's input (1 = all).
    mask : (float, float) or None
        Apply only where normalized nearness (0 = farthest, 1 = nearest) is in [lo, hi].
    mask_feather : float
        Width of the mask's soft edge, in normalized nearness (0..1).
    pinned : tuple of str
        Effect options written out even when they equal the effect's default (a preset
        file's own keys), so a preset serializes back to exactly what it says.

    Examples
    --------
    >>> from depthfx.effects.fog import Fog
    >>> step = Step(Fog(density=0.5), blend=0.5, mask=[0, 0.4])  # fog on the far 40 %, half strength
    >>> step.mask
    (0.0, 0.4)
    """

    effect: Any
    blend: float = 1.0
    mask: tuple[float, float] | None = None
    mask_feather: float = DEFAULT_MASK_FEATHER
    pinned: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        if not callable(getattr(self.effect, "apply", None)):
            raise ParameterError(
                f"step effect must have an apply(image, depth) method, got {self.effect!r}"
            )
        if (
            isinstance(self.blend, bool)
            or not isinstance(self.blend, int | float)
            or not 0 <= self.blend <= 1
        ):
            raise ParameterError(f"blend must be in 0..1, got {self.blend!r}")
        object.__setattr__(self, "blend", float(self.blend))
        if self.mask is not None:
            values = tuple(self.mask)
            if (
                len(values) != 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
                or not 0 <= values[0] <= values[1] <= 1
            ):
                raise ParameterError(
                    f"mask must be [lo, hi] with 0 <= lo <= hi <= 1 (normalized nearness), got {self.mask!r}"
                )
            object.__setattr__(self, "mask", (float(values[0]), float(values[1])))
        feather = self.mask_feather
        if (
            isinstance(feather, bool)
            or not isinstance(feather, int | float)
            or not 0 <= feather <= 1
        ):
            raise ParameterError(
                f"mask_feather must be in 0..1 (normalized nearness), got {feather!r}"
            )
        object.__setattr__(self, "mask_feather", float(feather))

    def weight(self, depth: DepthMap) -> np.ndarray | None:
        """Per-pixel mix weight (H, W) in [0, 1], or None when the step applies everywhere."""
        if self.mask is None:
            return None
        nearness = depth.normalized()
        low, high = self.mask
        feather = max(self.mask_feather, 1e-6)
        rising = _smoothstep((nearness - (low - feather)) / feather)
        falling = _smoothstep(((high + feather) - nearness) / feather)
        return (rising * falling).astype(np.float32)

    def apply(self, image: np.ndarray, depth: DepthMap) -> np.ndarray:
        """Run the effect on ``image`` and mix the result with ``image`` by blend and mask."""
        result = as_float_image(np.asarray(self.effect.apply(image, depth)), name="effect output")
        if result.shape[:2] != image.shape[:2]:
            raise ParameterError(
                f"effect {type(self.effect).__name__} changed the image size "
                f"{image.shape[:2]} -> {result.shape[:2]}"
            )
        mask = self.weight(depth)
        if mask is None and self.blend == 1.0:
            return result
        weight = (
            np.float32(self.blend) if mask is None else np.float32(self.blend) * mask[:, :, None]
        )
        channels = min(image.shape[2], result.shape[2])
        mixed = result.copy()
        mixed[:, :, :channels] = (
            image[:, :, :channels] + (result[:, :, :channels] - image[:, :, :channels]) * weight
        )
        return mixed


def _smoothstep(values: np.ndarray) -> np.ndarray:
    t = np.clip(values, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class Chain:
    """An ordered list of effects applied to one photo with one depth map.

    Parameters
    ----------
    steps : sequence of Step or effect objects
        Bare effect objects become ``Step(effect)``.
    depth : DepthSettings
        How the photo's depth should be computed when the chain is run from a preset.
    description : str
        One line for ``depthfx presets list``.
    name : str
        The preset name (file stem); not part of the dict form.

    Examples
    --------
    >>> from depthfx.effects.bokeh import Bokeh  # doctest: +SKIP
    >>> from depthfx.effects.fog import Fog  # doctest: +SKIP
    >>> chain = Chain([Fog(), Step(Bokeh(), blend=0.5)])  # doctest: +SKIP
    >>> result = chain.apply(photo.pixels, depth)  # doctest: +SKIP
    >>> Chain.from_dict(chain.to_dict()) == chain  # doctest: +SKIP
    True
    """

    steps: tuple[Step, ...] = ()
    depth: DepthSettings = field(default_factory=DepthSettings)
    description: str = ""
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        steps = tuple(item if isinstance(item, Step) else Step(item) for item in self.steps)
        object.__setattr__(self, "steps", steps)
        if not isinstance(self.depth, DepthSettings):
            raise ParameterError(f"depth must be DepthSettings, got {type(self.depth).__name__}")

    def apply(
        self,
        image: np.ndarray,
        depth: DepthMap | np.ndarray,
        *,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Run every step in order on ``image`` (linear float, (H, W, 3|4)).

        The depth map is fitted to the photo once (guided by it) and shared by all steps.

        Examples
        --------
        >>> image = np.full((4, 4, 3), 0.5, np.float32)
        >>> Chain().apply(image, np.zeros((4, 4), np.float32)).shape
        (4, 4, 3)
        """
        current = as_float_image(image)
        fitted = as_depthmap(depth).fit_to(current.shape[:2], guide=current[:, :, :3])
        count = len(self.steps)
        for index, step in enumerate(self.steps):
            if progress is not None:
                progress(f"step {index + 1}/{count}", index / max(count, 1))
            current = step.apply(current, fitted)
        if progress is not None:
            progress("done", 1.0)
        return current

    # ------------------------------------------------------------------ dict form

    def to_dict(self) -> dict[str, Any]:
        """The preset as plain TOML-ready data.

        Effect options are written when they differ from the effect's default or were set
        by the preset file the chain was loaded from.

        Examples
        --------
        >>> Chain(description="nothing").to_dict()
        {'version': 1, 'description': 'nothing', 'depth': {'source': 'auto'}, 'steps': []}
        """
        return {
            "version": PRESET_VERSION,
            "description": self.description,
            "depth": self.depth.to_dict(),
            "steps": [_step_to_dict(step) for step in self.steps],
        }

    @classmethod
    def from_dict(
        cls,
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
        locate = _Locator(source, text)
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
        return cls(steps=steps, depth=depth, description=description, name=name)


def _step_to_dict(step: Step) -> dict[str, Any]:
    effect = step.effect
    data: dict[str, Any] = {"effect": effect_name(effect)}
    for item in dataclasses.fields(effect):
        value = getattr(effect, item.name)
        if value is None or (item.name not in step.pinned and _equal(value, _field_default(item))):
            continue
        data[item.name] = _plain(value)
    if step.blend != 1.0:
        data["blend"] = step.blend
    if step.mask is not None:
        data["mask"] = list(step.mask)
        if step.mask_feather != DEFAULT_MASK_FEATHER:
            data["mask_feather"] = step.mask_feather
    return data


def _field_default(item: dataclasses.Field[Any]) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


def _equal(value: Any, default: Any) -> bool:
    if default is dataclasses.MISSING:
        return False
    try:
        return bool(_plain(value) == _plain(default))
    except (TypeError, ValueError):
        return False


def _plain(value: Any) -> Any:
    """Tuples become lists and numpy scalars Python numbers, as TOML gives them back."""
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def _step_from_dict(data: Any, index: int, locate: _Locator) -> Step:
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
    _check_keys(
        data, (*STEP_KEYS, *fields), f"{where} ({name})", locate, section="steps", index=index
    )
    options: dict[str, Any] = {}
    for key, value in data.items():
        if key in STEP_KEYS:
            continue
        options[key] = _coerce(value, fields[key], key, where, locate, index)
    try:
        effect = effect_class(**options)
    except (ParameterError, TypeError, ValueError) as exc:
        key = next((key for key in options if key in str(exc)), None)
        line = locate.line(key, "steps", index) if key else locate.header(index)
        raise PresetError(locate.message(line, f"{where} ({name}): {exc}")) from None
    try:
        return Step(
            effect,
            blend=data.get("blend", 1.0),
            mask=data.get("mask"),
            mask_feather=data.get("mask_feather", DEFAULT_MASK_FEATHER),
            pinned=tuple(options),
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
_ANNOTATION_KINDS = {
    "bool": bool,
    "float": float,
    "int": int,
    "str": str,
    "list": list,
    "tuple": tuple,
    "Sequence": list,
}


def _field_kinds(item: dataclasses.Field[Any]) -> list[type] | None:
    """The TOML-level types a field accepts, from its annotation (or its default's type).

    None when they cannot be told (any value is passed on for the effect to check).
    """
    annotation = item.type if isinstance(item.type, str) else getattr(item.type, "__name__", "")
    if annotation:
        # "str | float | tuple[float, float] | None" -> str, float, tuple
        tops = annotation
        while "[" in tops:  # drop type arguments, innermost first
            stripped = re.sub(r"\[[^\[\]]*\]", "", tops)
            if stripped == tops:
                break
            tops = stripped
        names = [part.strip().split(".")[-1] for part in re.split(r"[|,]", tops)]
        kinds = [_ANNOTATION_KINDS[name] for name in names if name in _ANNOTATION_KINDS]
        unknown = [name for name in names if name not in _ANNOTATION_KINDS and name != "None"]
        if kinds and not unknown:
            return list(dict.fromkeys(kinds))
    default = _field_default(item)
    if default is dataclasses.MISSING or default is None:
        return None
    for kind in (bool, int, float, str, tuple, list):
        if isinstance(default, kind):
            return [kind]
    return None


def _coerce(
    value: Any, item: dataclasses.Field[Any], key: str, where: str, locate: _Locator, index: int
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
    locate: _Locator,
    *,
    section: str | None,
    index: int | None = None,
) -> None:
    unknown = [key for key in data if key not in valid]
    if unknown:
        key = unknown[0]
        raise PresetError(
            locate.message(
                locate.line(key, section, index),
                f"unknown key {key!r} in {where}; valid keys: {', '.join(sorted(valid))}",
            )
        )


class _Locator:
    """Finds the line of a key in the preset's TOML text, for error messages."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, source: str | os.PathLike[str] | None, text: str | None) -> None:
        self.source = str(source) if source is not None else None
        self.lines = text.splitlines() if text is not None else []

    def message(self, line: int | None, text: str) -> str:
        if self.source is None:
            return text
        return f"{self.source}:{line}: {text}" if line is not None else f"{self.source}: {text}"

    def _sections(self) -> list[tuple[int, str | None, int | None]]:
        """(line number, section name, array index) for each line."""
        result: list[tuple[int, str | None, int | None]] = []
        section: str | None = None
        index: int | None = None
        counts: dict[str, int] = {}
        for number, raw in enumerate(self.lines, start=1):
            match = self._header.match(raw)
            if match:
                section = match.group(2).strip().strip("\"'")
                if match.group(1) == "[[":
                    index = counts.get(section, 0)
                    counts[section] = index + 1
                else:
                    index = None
            result.append((number, section, index))
        return result

    def header(self, index: int) -> int | None:
        for number, section, position in self._sections():
            if (
                section == "steps"
                and position == index
                and self._header.match(self.lines[number - 1])
            ):
                return number
        return None

    def line(self, key: str, section: str | None = None, index: int | None = None) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, current, position in self._sections():
            if (
                current == section
                and (index is None or position == index)
                and pattern.match(self.lines[number - 1])
            ):
                return number
        if section is None:  # a table header is the key's line too ([depth], [[steps]])
            for number, raw in enumerate(self.lines, start=1):
                match = self._header.match(raw)
                if match and match.group(2).strip() == key:
                    return number
        return None


# --------------------------------------------------------------------------- TOML


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialize a preset dict to TOML (strings, numbers, booleans, arrays, tables).

    Scalars come first, then tables, then arrays of tables, so ``tomllib.loads`` gives the
    same dict back.

    Examples
    --------
    >>> print(dumps_toml({"version": 1, "depth": {"source": "auto"}}).strip())
    version = 1
    <BLANKLINE>
    [depth]
    source = "auto"
    """
    lines: list[str] = []
    _write_table(lines, data, prefix="")
    return "\n".join(lines).strip("\n") + "\n"


def _write_table(lines: list[str], data: Mapping[str, Any], *, prefix: str) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    tables = {k: v for k, v in data.items() if _is_table(v)}
    arrays = {k: v for k, v in data.items() if _is_table_array(v)}
    for key, value in scalars.items():
        if value is None:
            continue
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        name = f"{prefix}{_key(key)}"
        lines.extend(["", f"[{name}]"])
        _write_table(lines, value, prefix=f"{name}.")
    for key, items in arrays.items():
        name = f"{prefix}{_key(key)}"
        for item in items:
            lines.extend(["", f"[[{name}]]"])
            _write_table(lines, item, prefix=f"{name}.")


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    escaped = "".join(
        ch if ord(ch) >= 0x20 and ord(ch) != 0x7F else f"\\u{ord(ch):04x}" for ch in escaped
    )
    return f'"{escaped}"'


def _value(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(ch in text for ch in ".en") else f"{text}.0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value if item is not None) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + inner + "}" if inner else "{}"
    raise ParameterError(f"cannot write {type(value).__name__} values to TOML: {value!r}")


# --------------------------------------------------------------------------- presets


def _preset_folder() -> Traversable:
    """The shipped presets: the installed ``depthfx._presets`` package, or ``presets/`` of a
    source checkout imported without installing."""
    try:
        return resources.files("depthfx._presets")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[1] / "presets"
        if checkout.is_dir():
            return checkout
        raise PresetError("the shipped presets are missing; reinstall depthfx") from None


def preset_names() -> list[str]:
    """Names of the presets shipped with depthfx, sorted.

    Examples
    --------
    >>> "portrait" in preset_names()
    True
    """
    folder = _preset_folder()
    return sorted(
        item.name[: -len(".toml")] for item in folder.iterdir() if item.name.endswith(".toml")
    )


def loads_preset(
    text: str, *, name: str = "", source: str | os.PathLike[str] | None = None
) -> Chain:
    """Parse preset TOML text into a :class:`Chain` (see :meth:`Chain.from_dict`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = f"{source}: " if source is not None else ""
        raise PresetError(f"{where}invalid TOML: {exc}") from None
    return Chain.from_dict(data, name=name, source=source, text=text)


def load_preset(preset: str | os.PathLike[str]) -> Chain:
    """Load a shipped preset by name, or a preset file by path.

    Parameters
    ----------
    preset : str or path
        A name from :func:`preset_names` (e.g. ``"portrait"``) or a ``.toml`` file.

    Raises
    ------
    PresetError
        Unknown name (the message lists the shipped ones), unreadable or invalid file.

    Examples
    --------
    >>> chain = load_preset("portrait")
    >>> chain.name
    'portrait'
    """
    text, name, source = read_preset_text(preset)
    return loads_preset(text, name=name, source=source)


def read_preset_text(preset: str | os.PathLike[str]) -> tuple[str, str, str]:
    """(TOML text, preset name, where it came from) for a preset name or file."""
    as_text = os.fspath(preset)
    path = Path(as_text)
    looks_like_file = path.suffix.lower() == ".toml" or os.sep in as_text or "/" in as_text
    if looks_like_file or path.is_file():
        if not path.is_file():
            raise PresetError(f"{path}: preset file not found")
        try:
            return path.read_text(encoding="utf-8"), path.stem, str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise PresetError(f"{path}: cannot read preset ({exc})") from None
    names = preset_names()
    if as_text not in names:
        raise PresetError(
            f"unknown preset {as_text!r}; shipped presets: {', '.join(names)} (or give a .toml file)"
        )
    resource = _preset_folder().joinpath(f"{as_text}.toml")
    return resource.read_text(encoding="utf-8"), as_text, f"{as_text}.toml"


def dumps_preset(chain: Chain) -> str:
    """The TOML text of a chain, loadable with :func:`loads_preset`.

    Examples
    --------
    >>> print(dumps_preset(Chain(description="empty")), end="")
    version = 1
    description = "empty"
    steps = []
    <BLANKLINE>
    [depth]
    source = "auto"
    """
    return dumps_toml(chain.to_dict())


def save_preset(chain: Chain, path: str | os.PathLike[str]) -> Path:
    """Write a chain as a preset file (atomically)."""
    from .image import write_bytes_atomic

    target = Path(path)
    if target.suffix.lower() != ".toml":
        raise ParameterError(f"{target}: preset files end in .toml")
    write_bytes_atomic(target, dumps_preset(chain).encode("utf-8"))
    return target


def iter_presets() -> Iterable[Chain]:
    """Every shipped preset, loaded."""
    for name in preset_names():
        yield load_preset(name)


__all__ = [
    "DEPTH_SOURCES",
    "PRESET_VERSION",
    "Chain",
    "DepthSettings",
    "Step",
    "available_effects",
    "dumps_preset",
    "dumps_toml",
    "effect_name",
    "iter_presets",
    "load_preset",
    "loads_preset",
    "preset_names",
    "read_preset_text",
    "register_effect",
    "save_preset",
]
