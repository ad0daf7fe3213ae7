"""The effect registry: effect names usable in chains and presets, mapped to their classes.

The built-in effects (modules of :mod:`depthfx.effects` with a ``NAME``) register
themselves by discovery; :func:`register_effect` adds your own.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

from ..chain import STEP_KEYS
from ..errors import ParameterError

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
    from .. import effects

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


__all__ = ["available_effects", "effect_name", "register_effect"]
