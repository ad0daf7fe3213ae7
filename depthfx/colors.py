"""Colours as a user writes them: names, ``#rgb``, ``#rrggbb`` or ``r,g,b`` in 0..1.

One parser for every effect option that takes a colour (fog, shadows, layers), so the same
spellings work everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from .errors import ParameterError
from .image import srgb_to_linear

NAMED_COLORS: dict[str, str] = {
    "white": "#ffffff",
    "whitesmoke": "#f5f5f5",
    "gainsboro": "#dcdcdc",
    "lightgray": "#d3d3d3",
    "lightgrey": "#d3d3d3",
    "silver": "#c0c0c0",
    "gray": "#808080",
    "grey": "#808080",
    "darkgray": "#a9a9a9",
    "darkgrey": "#a9a9a9",
    "black": "#000000",
    "lightblue": "#add8e6",
    "lightsteelblue": "#b0c4de",
    "lavender": "#e6e6fa",
    "beige": "#f5f5dc",
    "ivory": "#fffff0",
    "linen": "#faf0e6",
    "mistyrose": "#ffe4e1",
}
_HEX = re.compile(r"^#?([0-9a-f]{3}|[0-9a-f]{6})$")
COLOR_HELP = (
    "a name (white, silver, lightblue, ...), '#rgb', '#rrggbb' or 'r,g,b' with 0..1 sRGB values"
)


def parse_srgb(color: str | Sequence[float], *, name: str = "color") -> tuple[float, float, float]:
    """The sRGB values (0..1) of a colour as a user writes it.

    Raises
    ------
    ParameterError
        Naming the option ``name`` and the accepted spellings.

    Examples
    --------
    >>> parse_srgb("#f80")
    (1.0, 0.5333333333333333, 0.0)
    >>> parse_srgb("white") == parse_srgb("#fff") == parse_srgb("1,1,1")
    True
    """
    if isinstance(color, str):
        text = color.strip().lower()
        text = NAMED_COLORS.get(text, text)
        match = _HEX.match(text)
        if match:
            code = match.group(1)
            if len(code) == 3:
                code = "".join(ch * 2 for ch in code)
            values = [int(code[i : i + 2], 16) / 255.0 for i in (0, 2, 4)]
        else:
            try:
                values = [float(part) for part in text.split(",")]
            except ValueError:
                raise ParameterError(f"{name} must be {COLOR_HELP}, got {color!r}") from None
    else:
        try:
            values = [float(v) for v in color]
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be {COLOR_HELP}, got {color!r}") from None
    if len(values) != 3 or not all(0.0 <= v <= 1.0 for v in values):
        raise ParameterError(f"{name} must be {COLOR_HELP}, got {color!r}")
    return (values[0], values[1], values[2])


def parse_color(color: str | Sequence[float], *, name: str = "color") -> np.ndarray:
    """A colour as a user writes it, in linear RGB float32 (3,).

    Examples
    --------
    >>> parse_color("#000").tolist()
    [0.0, 0.0, 0.0]
    >>> [round(v, 3) for v in parse_color("#ff8000").tolist()]
    [1.0, 0.216, 0.0]
    """
    srgb = np.array(parse_srgb(color, name=name), np.float32)
    return np.asarray(srgb_to_linear(srgb), dtype=np.float32)


def color_option(name: str) -> Callable[[str | Sequence[float]], str | tuple[float, ...]]:
    """A ``parse`` hook for :func:`depthfx.params.option`: checks a colour, keeps its text."""

    def check(value: str | Sequence[float]) -> str | tuple[float, ...]:
        parse_srgb(value, name=name)
        return value if isinstance(value, str) else tuple(float(v) for v in value)

    return check


__all__ = ["COLOR_HELP", "NAMED_COLORS", "color_option", "parse_color", "parse_srgb"]
