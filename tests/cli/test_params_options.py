"""Command-line options generated from a parameter dataclass."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from typer.testing import CliRunner

from depthfx.cli._app import _DepthfxGroup
from depthfx.cli.params_options import cli_parameters, with_params
from depthfx.params import Params, flag, option


@dataclass(frozen=True)
class Glow(Params):
    amount: float = option(0.5, low=0.0, high=1.0, help="How much glow.", aliases=("--amt",))
    radius_px: int = option(3, low=1, high=50, help="Glow radius.", unit="px")
    soft: bool = option(False, help="Soft edges.")
    tint: float | None = option(None, kind=float, low=0.0, high=1.0, help="Tint.")


def _app(seen: list[Glow]) -> typer.Typer:
    app = typer.Typer(cls=_DepthfxGroup, add_completion=False)

    @app.command()
    @with_params(Glow)
    def glow(name: str, params: Glow) -> None:
        seen.append(params)
        typer.echo(f"{name}: {params.amount}")

    @app.command()
    def other() -> None:  # a second command keeps typer from flattening the group
        pass

    return app


def test_flag_spelling() -> None:
    assert flag("depth_of_field") == "--depth-of-field"


def test_every_field_is_an_option_under_its_own_name() -> None:
    assert [p.name for p in cli_parameters(Glow)] == ["amount", "radius_px", "soft", "tint"]
    seen: list[Glow] = []
    result = CliRunner().invoke(_app(seen), ["glow", "--help"])
    for spelling in ("--amount", "--amt", "--radius-px", "--soft", "--no-soft", "--tint"):
        assert spelling in result.output
    assert "How much glow (0..1)." in result.output
    assert "Glow radius (1..50 px)." in result.output


def test_options_arrive_as_the_built_dataclass() -> None:
    seen: list[Glow] = []
    app = _app(seen)
    result = CliRunner().invoke(app, ["glow", "x", "--amt", "0.25", "--soft", "--tint", "1"])
    assert result.exit_code == 0, result.output
    assert seen == [Glow(amount=0.25, soft=True, tint=1.0)]
    result = CliRunner().invoke(app, ["glow", "x"])
    assert seen[-1] == Glow()


def test_a_bad_value_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(_app([]), ["glow", "x", "--radius-px", "99"])
    assert result.exit_code == 2
    assert result.output.strip() == "depthfx: error: radius_px must be in 1..50 px, got 99"
