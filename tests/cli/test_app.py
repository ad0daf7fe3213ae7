"""The command-line frame: version, help, and library errors turned into one line + exit 2."""

from __future__ import annotations

from typer.testing import CliRunner

from depthfx import __version__
from depthfx.cli import app

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"depthfx {__version__}"


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_unknown_command_is_a_usage_error() -> None:
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2


def test_depth_options_are_shared_and_validated_before_work(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Every depth-using command gets the same options from one declaration.
    for command in ("depth", "bokeh", "fog", "miniature", "layers", "insert", "shadows", "apply"):
        help_text = runner.invoke(app, [command, "--help"]).output
        for flag in ("--right", "--depth", "--depth-near", "--sbs", "--mono", "--model", "--calib"):
            assert flag in help_text, (command, flag)
    result = runner.invoke(
        app, ["fog", "photo.jpg", "--depth-near", "grey", "-o", str(tmp_path / "o.jpg")]
    )
    assert result.exit_code == 2
    assert "--depth-near must be white or black" in result.output
    assert list(tmp_path.iterdir()) == []
