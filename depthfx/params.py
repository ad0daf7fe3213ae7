"""Options declared once: a dataclass field that carries its range, unit, help and CLI panel.

Every effect's options are the fields of one frozen dataclass. Each field is made with
:func:`option`, which records what a user needs to know about it (:class:`Spec`); one
generic check, :func:`validate`, runs when the object is built. The CLI generates each
command's options from the same fields, and the preset loader reads the field kinds from
them, so an option is written in one place and a bad value fails where it is written
(a preset fails when it loads, naming the file and line).

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Glow(Params):
...     amount: float = option(0.5, low=0, high=1, help="How much glow.")
>>> Glow(amount=1).amount  # an int where a float goes is converted
1.0
>>> Glow(amount=2)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
ParameterError: amount must be in 0..1, got 2
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from .errors import ParameterError

_KEY = "depthfx"


@dataclass(frozen=True)
class Spec:
    """What one option is: its kind, range, unit, help text and CLI placement.

    Attributes
    ----------
    kind : type
        ``float``, ``int``, ``bool`` or ``str`` as a user writes it (on the command line
        and in a preset); ``tuple`` for a point or range given as an array.
    help : str
        One sentence for ``--help``, the preset docs and the studio page.
    low, high : float or None
        Inclusive range of a number.
    above : float or None
        Exclusive lower bound (the number must be greater), for sizes that cannot be 0.
    finite : bool
        Refuse infinity (``False`` where ``inf`` means "none", as fog's visibility).
    unit : str
        Shown after the range in help and errors, e.g. ``"% of the image diagonal"``.
    choices : tuple of str or None
        The allowed words of a ``str`` option.
    optional : bool
        ``None`` is allowed (the option is off or chosen automatically).
    parse : callable or None
        Turns a value into its checked form or raises :class:`ParameterError` (for
        options with a syntax of their own, such as a colour or a focus point).
    panel : str or None
        The ``--help`` panel the CLI lists it under.
    aliases : tuple of str
        Extra command-line spellings (e.g. ``"--dof"``); the field's own name always works.
    """

    kind: type
    help: str
    low: float | None = None
    high: float | None = None
    above: float | None = None
    finite: bool = True
    unit: str = ""
    choices: tuple[str, ...] | None = None
    optional: bool = False
    parse: Callable[[Any], Any] | None = None
    panel: str | None = None
    aliases: tuple[str, ...] = ()

    def range_text(self) -> str:
        """``"0..10 % of the image diagonal"``, ``"> 0"``, ``"disc, polygon"`` or ``""``."""
        if self.choices is not None:
            return ", ".join(self.choices)
        unit = f" {self.unit}" if self.unit else ""
        if self.above is not None:
            text = f"> {self.above:g}"
            if self.high is not None:
                text += f" and <= {self.high:g}"
            return text + unit
        if self.low is None and self.high is None:
            return self.unit
        if self.low is not None and self.high is not None:
            return f"{self.low:g}..{self.high:g}{unit}"
        if self.low is not None:
            return f">= {self.low:g}{unit}"
        return f"<= {self.high:g}{unit}"

    def describe(self) -> str:
        """The help line with its range, e.g. ``"Largest blur radius (0..10 %)."``."""
        extent = self.range_text()
        if not extent or extent in self.help:
            return self.help
        return f"{self.help.rstrip('.')} ({extent})."

    def check(self, name: str, value: Any) -> Any:
        """``value`` checked against this spec, in its canonical type.

        Raises
        ------
        ParameterError
            Naming ``name``, what is allowed and what was given.
        """
        if value is None:
            if self.optional:
                return None
            raise ParameterError(f"{name} must be given ({self._expected()}), got None")
        if self.parse is not None:  # an option with a syntax of its own checks itself
            return self.parse(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            raise ParameterError(f"{name} must be true or false, got {value!r}")
        if self.kind in (int, float):
            return self._check_number(name, value)
        if self.kind is str:
            if not isinstance(value, str):
                raise ParameterError(f"{name} must be a string ({self._expected()}), got {value!r}")
            if self.choices is not None and value not in self.choices:
                raise ParameterError(
                    f"{name} must be one of {', '.join(self.choices)}, got {value!r}"
                )
            return value
        return value

    def _check_number(self, name: str, value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{name} must be a number ({self._expected()}), got {value!r}")
        if self.kind is int:
            if isinstance(value, float):
                if not value.is_integer():
                    raise ParameterError(f"{name} must be a whole number, got {value!r}")
                value = int(value)
        else:
            value = float(value)
            if math.isnan(value) or (self.finite and math.isinf(value)):
                raise ParameterError(f"{name} must be a finite number, got {value!r}")
        too_low = (self.low is not None and value < self.low) or (
            self.above is not None and not value > self.above
        )
        too_high = self.high is not None and value > self.high
        if too_low or too_high:
            extent = self._expected()
            verb = "be in" if ".." in extent else "be"
            raise ParameterError(f"{name} must {verb} {extent}, got {value!r}")
        return value

    def _expected(self) -> str:
        return self.range_text() or {int: "an integer", float: "a number"}.get(self.kind, "a value")


def option(
    default: Any,
    *,
    help: str,
    kind: type | None = None,
    low: float | None = None,
    high: float | None = None,
    above: float | None = None,
    finite: bool = True,
    unit: str = "",
    choices: tuple[str, ...] | None = None,
    parse: Callable[[Any], Any] | None = None,
    panel: str | None = None,
    aliases: tuple[str, ...] = (),
) -> Any:
    """A dataclass field for an option, with everything a user needs to know about it.

    ``kind`` defaults to the type of ``default``; give it when the default is ``None``
    (which also makes ``None`` allowed).

    Examples
    --------
    >>> from dataclasses import fields
    >>> @dataclass(frozen=True)
    ... class Example:
    ...     blades: int = option(6, low=3, high=16, help="Blades of a polygon aperture.")
    >>> spec_of(fields(Example)[0]).describe()
    'Blades of a polygon aperture (3..16).'
    """
    if kind is None:
        if default is None:
            raise TypeError("option(None, ...) needs kind=")
        kind = type(default)
    spec = Spec(
        kind=kind,
        help=help,
        low=low,
        high=high,
        above=above,
        finite=finite,
        unit=unit,
        choices=choices,
        optional=default is None,
        parse=parse,
        panel=panel,
        aliases=aliases,
    )
    return field(default=default, metadata={_KEY: spec})


def flag(name: str) -> str:
    """The command-line spelling of an option: ``depth_of_field`` -> ``--depth-of-field``.

    Examples
    --------
    >>> flag("depth_of_field")
    '--depth-of-field'
    """
    return "--" + name.replace("_", "-")


def parse_point(point: Any, *, name: str) -> tuple[float, float]:
    """A pixel position as a user writes it: ``"X,Y"`` or a pair of numbers, both finite.

    Examples
    --------
    >>> parse_point(" 320, 180", name="at")
    (320.0, 180.0)
    """
    parts = point.replace(" ", "").split(",") if isinstance(point, str) else point
    try:
        if len(parts) != 2 or any(isinstance(v, bool) for v in parts):
            raise ValueError(point)
        x, y = float(parts[0]), float(parts[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(point)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be X,Y in photo pixels (e.g. 320,180), got {point!r}"
        ) from None
    return (x, y)


def spec_of(item: dataclasses.Field[Any]) -> Spec | None:
    """The :class:`Spec` of a field made with :func:`option`, else None."""
    spec = item.metadata.get(_KEY)
    return spec if isinstance(spec, Spec) else None


def option_fields(params: Any) -> Iterator[tuple[dataclasses.Field[Any], Spec]]:
    """(field, spec) of each declared option of a params class or object, in order."""
    for item in dataclasses.fields(params):
        spec = spec_of(item)
        if spec is not None:
            yield item, spec


def validate(params: Any) -> None:
    """Check every declared option of a (frozen) dataclass object, canonicalizing in place.

    Ints become floats where floats go, arrays become tuples, and values with a syntax of
    their own are parsed; any bad value raises :class:`ParameterError` naming the option.
    """
    for item, spec in option_fields(params):
        value = spec.check(item.name, getattr(params, item.name))
        if isinstance(value, list):
            value = tuple(value)
        object.__setattr__(params, item.name, value)


def default_of(item: dataclasses.Field[Any]) -> Any:
    """A field's default value (``dataclasses.MISSING`` when it has none)."""
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


class Params:
    """Base of the frozen option dataclasses: validates every option when built.

    Subclasses add cross-option rules in ``check_together``, and list options they renamed
    in ``RENAMED`` (old name -> new name) so presets written with the old name still load
    (:meth:`from_options`).
    """

    RENAMED: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Self:
        """Build from options as a user wrote them, former names (``RENAMED``) included.

        Raises
        ------
        ParameterError
            An option given under both its names, or a bad value.
        """
        values = dict(options)
        for old, new in cls.RENAMED.items():
            if old in values:
                if new in values:
                    raise ParameterError(f"{old} is the former name of {new}; give only {new}")
                values[new] = values.pop(old)
        return cls(**values)

    def __post_init__(self) -> None:
        validate(self)
        self.check_together()

    def check_together(self) -> None:
        """Rules that involve more than one option (none by default)."""

    def options(self) -> dict[str, Any]:
        """Option name -> value, for calling the effect's function."""
        return {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}  # type: ignore[arg-type]


__all__ = [
    "Params",
    "Spec",
    "default_of",
    "flag",
    "option",
    "option_fields",
    "parse_point",
    "spec_of",
    "validate",
]
