"""The command-line frame: version, help, and library errors turned into one line + exit 2."""

from __future__ import annotations

import pytest
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


def test_help_lists_every_command_with_its_own_summary() -> None:
    from depthfx.cli._app import COMMANDS, load_command

    listing = runner.invoke(app, ["--help"]).output
    for name, (_, summary) in COMMANDS.items():
        assert f"{name} " in listing and " ".join(summary.split()[:3]) in listing
        command = load_command(name)
        first_line = (command.help or "").strip().splitlines()[0]
        assert first_line == summary, name  # the table and the command say the same


def _modules_after(code: str) -> set[str]:
    import subprocess
    import sys

    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_help_imports_no_command_and_no_numpy() -> None:
    loaded = _modules_after(
        "from depthfx.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not {m for m in loaded if m.endswith("_cmd")}
    assert "numpy" not in loaded and "cv2" not in loaded


@pytest.mark.parametrize("command", ["bokeh", "fog", "miniature", "layers"])
def test_effect_commands_do_not_import_batch_export_or_downloads(command: str) -> None:
    loaded = _modules_after(f"from depthfx.cli._app import load_command\nload_command({command!r})")
    assert f"depthfx.cli.{command}_cmd" in loaded
    heavy = {"depthfx.batch", "depthfx.export", "depthfx.depth.models.download", "dask"}
    assert not heavy & loaded, sorted(heavy & loaded)


@pytest.mark.parametrize("command", ["bokeh", "miniature"])
def test_a_blur_command_leaves_opencvs_thread_count_as_it_was(scene, command: str) -> None:  # type: ignore[no-untyped-def]
    import cv2

    folder, photo, depth = scene
    before = cv2.getNumThreads()
    result = CliRunner().invoke(
        app, [command, str(photo), "--depth", str(depth), "-o", str(folder / f"{command}.png")]
    )
    assert result.exit_code == 0, result.output
    assert cv2.getNumThreads() == before
