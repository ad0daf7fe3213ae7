import numpy as np
import pytest

from depthfx.colors import color_option, parse_color, parse_srgb
from depthfx.errors import ParameterError


@pytest.mark.parametrize(
    "spelling", ["white", "WHITE", "#fff", "#ffffff", "fff", "1,1,1", [1, 1, 1]]
)
def test_every_spelling_of_white_is_white(spelling: object) -> None:
    assert parse_srgb(spelling) == (1.0, 1.0, 1.0)  # type: ignore[arg-type]


def test_linear_values_of_a_mid_grey() -> None:
    # sRGB 0x80 = 0.502 encoded is 0.2158 linear.
    assert parse_color("#808080") == pytest.approx(np.full(3, 0.2158605), abs=1e-6)


@pytest.mark.parametrize("bad", ["#12", "chartreuse-ish", "1,2", "0.5,0.5,1.5", [0.1, 0.2]])
def test_bad_colours_name_the_option(bad: object) -> None:
    with pytest.raises(ParameterError, match="shadow_color must be a name"):
        parse_srgb(bad, name="shadow_color")  # type: ignore[arg-type]


def test_option_hook_keeps_the_text_and_checks_it() -> None:
    check = color_option("color")
    assert check("#fff") == "#fff"
    assert check([0, 0.5, 1]) == (0.0, 0.5, 1.0)
    with pytest.raises(ParameterError, match="color must be"):
        check("nope")
