"""Effect chains: an ordered list of effects applied to one photo with one depth map.

A :class:`Chain` is a tuple of :class:`Step` objects plus the depth settings a preset wants
(:class:`DepthSettings`). Every step wraps one effect object (the frozen parameter
dataclasses of :mod:`depthfx.effects`, e.g. ``Bokeh(strength=2)``), an optional ``blend``
amount and an optional ``mask`` by depth range. The depth map is fitted to the photo once
and every step gets the same one; each step's output is the next step's input.

The preset file form (TOML) of a chain lives in :mod:`depthfx.presets`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .depth.source import DEPTH_SOURCES, DepthSettings
from .depthmap import DepthMap, as_depthmap
from .errors import ParameterError
from .image import as_float_image

# Keys of a [[steps]] table that belong to the step, not to the effect.
STEP_KEYS = ("effect", "blend", "mask", "mask_feather")
DEFAULT_MASK_FEATHER = 0.05

ProgressCallback = Callable[[str, float], None]


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
        report: Callable[[str], None] | None = None,
    ) -> np.ndarray:
        """Run every step in order on ``image`` (linear float, (H, W, 3|4)).

        The depth map is fitted to the photo once (guided by it) and shared by all steps.
        An effect with a ``resolve(image, depth)`` method (bokeh's automatic focus) makes its
        choices on the step's input first; ``report`` receives one line about each, such
        as ``"step 2 (Bokeh): focus: face at (412, 230), nearness 0.734"``.

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
            resolve = getattr(step.effect, "resolve", None)
            if callable(resolve):
                resolved, note = resolve(current, fitted)
                step = dataclasses.replace(step, effect=resolved)
                if report is not None:
                    report(f"step {index + 1} ({type(resolved).__name__}): {note}")
            current = step.apply(current, fitted)
        if progress is not None:
            progress("done", 1.0)
        return current

    # ------------------------------------------------------------------ dict form

    def to_dict(self) -> dict[str, Any]:
        """The preset as plain TOML-ready data (see :func:`depthfx.presets.chain_to_dict`).

        Examples
        --------
        >>> Chain(description="nothing").to_dict()
        {'version': 1, 'description': 'nothing', 'depth': {'source': 'auto'}, 'steps': []}
        """
        from .presets.schema import chain_to_dict

        return chain_to_dict(self)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        name: str = "",
        source: str | os.PathLike[str] | None = None,
        text: str | None = None,
    ) -> Chain:
        """Build a chain from the dict form (see :func:`depthfx.presets.chain_from_dict`)."""
        from .presets.schema import chain_from_dict

        return chain_from_dict(data, name=name, source=source, text=text)


__all__ = [
    "DEFAULT_MASK_FEATHER",
    "DEPTH_SOURCES",
    "STEP_KEYS",
    "Chain",
    "DepthSettings",
    "Step",
]
