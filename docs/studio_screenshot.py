"""Make docs/images/studio.jpg: the studio page in headless Chromium, focus on the teddy bear.

Runs ``depthfx studio`` on the example stereo pair as a user would (``--no-browser``), opens
its URL in headless Chromium (Debian's chromium and chromium-driver, driven by Selenium),
sets the blur strength, clicks the bear, waits for the status to read ``ready`` and saves
the window as a JPEG under 300 KB.

Usage: python docs/studio_screenshot.py
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "studio"))

from studio_helpers import python_env, start_chromium, stop_chromium  # noqa: E402

TARGET = REPO / "docs" / "images" / "studio.jpg"
COMMAND = ["examples/teddy_left.jpg", "--right", "examples/teddy_right.jpg", "--no-browser"]
BEAR = (355 / 450, 80 / 375)  # the pink bear, as fractions of the photo


def main() -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    # Nothing is exported: the page only shows where Export would write.
    child = subprocess.Popen(
        [sys.executable, "-m", "depthfx", "studio", *COMMAND],
        stdout=subprocess.PIPE,
        text=True,
        env=python_env(),
        cwd=REPO,
    )
    assert child.stdout is not None
    url = child.stdout.readline().split(": ", 1)[1].strip()
    driver = start_chromium(1280, 860)
    try:
        driver.get(url)

        def status(text: str) -> object:
            return lambda d: d.find_element(By.ID, "status").text == text

        WebDriverWait(driver, 60).until(status("ready"))
        strength = driver.find_element(By.CSS_SELECTOR, 'input[type=number][name="strength"]')
        strength.clear()
        strength.send_keys("3", Keys.TAB)
        preview = driver.find_element(By.ID, "preview")
        width, height = preview.size["width"], preview.size["height"]
        offset = (round((BEAR[0] - 0.5) * width), round((BEAR[1] - 0.5) * height))
        ActionChains(driver).move_to_element_with_offset(preview, *offset).click().perform()
        WebDriverWait(driver, 60).until(
            lambda d: "--focus" in d.find_element(By.ID, "command").text
        )
        WebDriverWait(driver, 60).until(status("ready"))
        time.sleep(0.3)
        picture = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
    finally:
        stop_chromium(driver)
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=60)
    for quality in (88, 80, 72, 64):
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        if buffer.tell() < 300_000:
            break
    TARGET.write_bytes(buffer.getvalue())
    print(
        f"wrote {TARGET} ({os.path.getsize(TARGET) // 1024} KB, {picture.size[0]}x{picture.size[1]})"
    )


if __name__ == "__main__":
    main()
