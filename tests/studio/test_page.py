"""The page in a real headless Chromium: click to focus, wait for ready, export, compare."""

from __future__ import annotations

import math
import re
import shlex
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from studio_helpers import RunningServer, open_session, write_studio_scene
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.image import read_image
from depthfx.studio.server import StudioServer

pytestmark = pytest.mark.slow
WAIT_S = 120


@pytest.fixture()
def big_server(tmp_path: Path) -> Iterator[RunningServer]:
    """A 1600x1200 photo: previews (about 1 MP) are smaller than the photo."""
    photo, depth = write_studio_scene(tmp_path, width=1600, height=1200)
    server = StudioServer(open_session(photo, depth, preview_pixels=1_000_000))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield RunningServer(server)
    server.shutdown()
    server.server_close()


def by_testid(browser: Any, name: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'[data-testid="{name}"]')


def wait_for(browser: Any, condition: Any) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, WAIT_S, poll_frequency=0.05).until(condition)


def status_is(text: str) -> Any:
    return lambda browser: by_testid(browser, "status").text == text


def click_preview(browser: Any, fx: float, fy: float) -> tuple[float, float]:
    """Click the preview at (fx, fy) of its width and height; the CSS pixel clicked."""
    from selenium.webdriver.common.action_chains import ActionChains

    preview = by_testid(browser, "preview")
    width, height = preview.size["width"], preview.size["height"]
    dx, dy = round(fx * width - width / 2), round(fy * height - height / 2)
    ActionChains(browser).move_to_element_with_offset(preview, dx, dy).click().perform()
    return (width / 2 + dx) / width, (height / 2 + dy) / height


def psnr(first: np.ndarray, second: np.ndarray) -> float:
    error = float(np.mean((first.astype(np.float64) - second.astype(np.float64)) ** 2))
    return math.inf if error == 0 else 10 * math.log10(1.0 / error)


def test_click_sets_the_focus_and_export_equals_the_shown_command(
    browser: Any, big_server: RunningServer, tmp_path: Path
) -> None:
    session = big_server.server.session
    width, height = session.size
    browser.get(big_server.server.url)
    wait_for(browser, status_is("ready"))
    assert "--focus" not in by_testid(browser, "command").text

    fx, fy = click_preview(browser, 0.45, 0.47)
    wait_for(browser, lambda b: "--focus" in by_testid(b, "command").text)
    wait_for(browser, status_is("ready"))
    command = by_testid(browser, "command").text
    x, y = (int(v) for v in re.search(r"--focus (\d+),(\d+)", command).groups())  # type: ignore[union-attr]
    tolerance = width / by_testid(browser, "preview").size["width"] + 1
    assert abs(x - fx * width) <= tolerance and abs(y - fy * height) <= tolerance
    assert by_testid(browser, "preview").get_attribute("src").startswith("blob:")

    by_testid(browser, "export").click()
    wait_for(browser, lambda b: by_testid(b, "status").text.startswith("wrote "))
    written = Path(by_testid(browser, "status").text.removeprefix("wrote "))
    assert written.parent == session.output_dir and written.is_file()

    words = shlex.split(command)
    assert words[:2] == ["depthfx", "bokeh"]
    words[words.index("-o") + 1] = str(tmp_path / f"cli{written.suffix}")
    result = CliRunner().invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    exported = read_image(written).pixels
    expected = read_image(tmp_path / f"cli{written.suffix}").pixels
    assert psnr(exported, expected) >= 45
    assert np.array_equal(exported, expected)  # the same code path: identical


def test_a_changed_preset_exports_its_toml_and_the_command_reproduces_it(
    browser: Any, running: RunningServer, tmp_path: Path
) -> None:
    from selenium.webdriver.support.ui import Select

    session = running.server.session
    browser.get(running.server.url)
    wait_for(browser, status_is("ready"))
    Select(by_testid(browser, "choice")).select_by_value("preset:dreamy-haze")
    wait_for(browser, lambda b: "--preset dreamy-haze" in by_testid(b, "command").text)
    wait_for(browser, status_is("ready"))
    click_preview(browser, 0.5, 0.5)  # the preset's bokeh step (step 2) takes the focus
    wait_for(browser, lambda b: "--preset dreamy-haze" not in by_testid(b, "command").text)
    wait_for(browser, status_is("ready"))
    assert "focus = [" in by_testid(browser, "toml").text

    by_testid(browser, "export").click()
    wait_for(browser, lambda b: by_testid(b, "status").text.startswith("wrote "))
    written = Path(by_testid(browser, "status").text.removeprefix("wrote "))
    words = shlex.split(by_testid(browser, "command").text)
    preset_file = Path(words[words.index("--preset") + 1])
    assert preset_file.parent == session.output_dir and preset_file.is_file()
    words[words.index("-o") + 1] = str(tmp_path / f"cli{written.suffix}")
    result = CliRunner().invoke(app, words[1:])
    assert result.exit_code == 0, result.output
    exported = read_image(written).pixels
    assert np.array_equal(exported, read_image(tmp_path / f"cli{written.suffix}").pixels)


def test_click_sets_the_miniature_band(browser: Any, running: RunningServer) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(running.server.url)
    wait_for(browser, status_is("ready"))
    Select(by_testid(browser, "choice")).select_by_value("miniature")
    wait_for(browser, status_is("ready"))
    _, fy = click_preview(browser, 0.5, 0.25)
    wait_for(browser, lambda b: "--position" in by_testid(b, "command").text)
    wait_for(browser, status_is("ready"))
    command = shlex.split(by_testid(browser, "command").text)
    assert abs(float(command[command.index("--position") + 1]) - fy) <= 0.01


def test_a_bad_value_shows_the_command_line_message(browser: Any, running: RunningServer) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(running.server.url)
    wait_for(browser, status_is("ready"))
    box = browser.find_element(By.CSS_SELECTOR, 'input[type=number][name="strength"]')
    box.clear()
    box.send_keys("99", Keys.TAB)
    wait_for(browser, lambda b: by_testid(b, "status").text.startswith("error"))
    assert "strength must be in 0..10" in by_testid(browser, "status").text


def test_the_depth_view_toggles(browser: Any, running: RunningServer) -> None:
    browser.get(running.server.url)
    wait_for(browser, status_is("ready"))
    depth_view = by_testid(browser, "depth-view")
    assert not depth_view.is_displayed()
    by_testid(browser, "depth-toggle").click()
    assert depth_view.is_displayed() and not by_testid(browser, "preview").is_displayed()
    loaded = browser.execute_script("return arguments[0].naturalWidth", depth_view)
    assert loaded == running.server.session.preview_size[0]


def test_every_option_has_a_control(browser: Any, running: RunningServer) -> None:
    from selenium.webdriver.common.by import By

    from depthfx.studio.controls import controls_document

    browser.get(running.server.url)
    wait_for(browser, status_is("ready"))
    shown = [
        element.get_attribute("data-option")
        for element in browser.find_elements(By.CSS_SELECTOR, "#controls .control")
    ]
    assert shown == [control["name"] for control in controls_document()["effects"]["bokeh"]]
