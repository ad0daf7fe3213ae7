"""Options declared once: ``option`` fields, one validation, the ``Params`` base."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import pytest

from depthfx.errors import ParameterError
from depthfx.params import Params, default_of, option, option_fields, spec_of


def _even(value: object) -> int:
    if not isinstance(value, int) or value % 2:
        raise ParameterError(f"size must be an even integer, got {value!r}")
    return value


@dataclass(frozen=True)
class Sample(Params):
    amount: float = option(0.5, low=0.0, high=1.0, unit="share", help="How much.")
    count: int = option(4, low=2, high=8, help="How many.")
    mode: str = option("soft", choices=("soft", "hard"), help="Which kind.")
    enabled: bool = option(True, help="On or off.")
    limit: float | None = option(None, kind=float, low=0.0, help="Optional cap.")
    size: int = option(2, kind=int, parse=_even, help="An even size.")
    size_mm: float = option(1.0, above=0, high=10, unit="mm", help="A size that is never 0.")
    reach: float = option(1.0, above=0, finite=False, help="How far; inf = everywhere.")

    def check_together(self) -> None:
        if self.mode == "hard" and self.amount > 0.9:
            raise ParameterError("a hard mode needs amount <= 0.9")


def test_defaults_build_and_numbers_are_canonical() -> None:
    sample = Sample(amount=1, count=3.0)  # type: ignore[arg-type]
    assert sample.amount == 1.0 and isinstance(sample.amount, float)
    assert sample.count == 3 and isinstance(sample.count, int)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"amount": 1.5}, r"amount must be in 0..1 share, got 1.5"),
        ({"amount": -0.1}, r"amount must be in 0..1"),
        ({"amount": float("nan")}, r"amount must be a finite number"),
        ({"amount": "a lot"}, r"amount must be a number"),
        ({"amount": True}, r"amount must be a number"),
        ({"count": 9}, r"count must be in 2..8, got 9"),
        ({"count": 2.5}, r"count must be a whole number"),
        ({"mode": "medium"}, r"mode must be one of soft, hard, got 'medium'"),
        ({"enabled": 1}, r"enabled must be true or false"),
        ({"limit": -1}, r"limit must be >= 0, got -1.0"),
        ({"size_mm": 0}, r"size_mm must be > 0 and <= 10 mm, got 0.0"),
        ({"size_mm": float("inf")}, r"size_mm must be a finite number"),
        ({"reach": float("nan")}, r"reach must be a finite number"),
        ({"size": 3}, r"size must be an even integer"),
        ({"mode": "hard", "amount": 1.0}, r"hard mode needs amount <= 0.9"),
    ],
)
def test_each_bad_value_is_refused_when_built(values: dict[str, object], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Sample(**values)  # type: ignore[arg-type]


def test_none_only_where_the_option_is_optional() -> None:
    assert Sample(limit=None).limit is None
    with pytest.raises(ParameterError, match="amount must be given"):
        Sample(amount=None)  # type: ignore[arg-type]


def test_specs_describe_themselves() -> None:
    specs = {item.name: spec for item, spec in option_fields(Sample)}
    assert specs["amount"].describe() == "How much (0..1 share)."
    assert specs["mode"].describe() == "Which kind (soft, hard)."
    assert specs["enabled"].describe() == "On or off."
    assert specs["limit"].optional and not specs["amount"].optional
    assert [default_of(item) for item in fields(Sample)] == [0.5, 4, "soft", True, None, 2, 1, 1]
    assert specs["size_mm"].describe() == "A size that is never 0 (> 0 and <= 10 mm)."
    assert Sample(reach=float("inf")).reach == float("inf")


def test_plain_fields_have_no_spec() -> None:
    @dataclass(frozen=True)
    class Plain:
        amount: float = 0.5

    assert spec_of(fields(Plain)[0]) is None
    assert list(option_fields(Plain)) == []


def test_an_optional_option_needs_its_kind() -> None:
    with pytest.raises(TypeError, match="kind="):
        option(None, help="no kind")


@dataclass(frozen=True)
class Renamed(Params):
    RENAMED: ClassVar[dict[str, str]] = {"strength": "amount"}

    amount: float = option(0.5, low=0.0, high=1.0, help="How much.")


def test_a_renamed_option_is_taken_under_its_former_name() -> None:
    assert Renamed.from_options({"strength": 0.2}) == Renamed(amount=0.2)
    assert Renamed.from_options({"amount": 0.3}) == Renamed(amount=0.3)
    with pytest.raises(ParameterError, match="strength is the former name of amount"):
        Renamed.from_options({"strength": 0.2, "amount": 0.3})
    with pytest.raises(ParameterError, match=r"amount must be in 0..1"):
        Renamed.from_options({"strength": 2})


@pytest.mark.parametrize("point", ["12", "1,2,3", "nan,1", (1.0,), (True, 2), ("a", 1)])
def test_a_bad_point_names_its_option(point: object) -> None:
    from depthfx.params import parse_point

    with pytest.raises(ParameterError, match=r"^focus must be X,Y in photo pixels"):
        parse_point(point, name="focus")
    assert parse_point([3, "4.5"], name="at") == (3.0, 4.5)
