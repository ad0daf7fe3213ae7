"""Plain conversion of option values: the same values as typer's, without Pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image, write_image

typer_coercion = pytest.importorskip("typer._coercion")

from typer._click.exceptions import BadParameter  # noqa: E402
from typer.models import OptionInfo  # noqa: E402

from depthfx.cli._coercion import _PlainParam  # noqa: E402

CASES = {
    str: ["abc", "", " 1.5 ", "#fff"],
    float: ["0.3", "1e-3", " 2 ", "-4", "inf", "abc", "", "1,2"],
    int: ["3", "-1", " 7 ", "1.5", "x", ""],
    bool: ["true", "False", "yes", "0", "", "maybe"],
    Path: ["photo.jpg", "a/b c.png", "."],
    list[Path]: [("a.ora", "b.png"), ["one.webp"], "single.ora"],
    list[int]: [("1", "2"), ("3", "x")],
}


def _convert(runtime, value):  # type: ignore[no-untyped-def]
    try:
        return ("value", runtime._coerce_value(value, param=None, ctx=None))
    except BadParameter:
        return ("error", None)


@pytest.mark.parametrize("kind", list(CASES), ids=str)
def test_plain_conversion_gives_typers_values_and_refusals(kind: type) -> None:
    info = OptionInfo()
    typer_runtime = typer_coercion.build_runtime_param(
        typer_coercion.resolve_type_descriptor(kind, info)
    )
    plain = _PlainParam(parameter_info=info, annotation=kind)
    for value in CASES[kind]:
        ours, theirs = _convert(plain, value), _convert(typer_runtime, value)
        assert ours[0] == theirs[0], (kind, value, ours, theirs)
        if ours[0] == "value":
            assert ours[1] == theirs[1] and type(ours[1]) is type(theirs[1]), (kind, value)


@pytest.mark.parametrize("command", ["fog", "bokeh", "miniature", "layers"])
def test_an_effect_command_on_a_jpeg_imports_no_pydantic_pillow_or_numpy_ma(
    scene,  # type: ignore[no-untyped-def]
    command: str,
) -> None:
    folder, photo, depth = scene
    jpeg = folder / "photo.jpg"
    write_image(jpeg, read_image(photo).pixels)
    output = folder / f"{command}.jpg"
    arguments = [command, str(jpeg), "--depth", str(depth), "-o", str(output)]
    arguments += ["--count", "3"] if command == "layers" else []  # 3 depth levels here
    code = (
        "import sys\nfrom depthfx.cli import app\n"
        f"try:\n    app({arguments!r})\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('pydantic' in sys.modules, 'PIL' in sys.modules, 'numpy.ma' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split()[-3:] == ["False", "False", "False"], done.stdout + done.stderr
    assert output.is_file()


def test_a_value_that_is_not_a_number_is_named_with_exit_code_2(scene) -> None:  # type: ignore[no-untyped-def]
    folder, photo, depth = scene
    result = CliRunner().invoke(
        app, ["fog", str(photo), "--depth", str(depth), "--density", "thick", "-o", "x.png"]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--density': 'thick' is not a number." in result.output
    assert not (folder / "x.png").exists()
