"""Helpers of the studio tests and benchmark: a photo with depth, a server, headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from depthfx.depth.source import DepthRequest, load_photo_and_depth
from depthfx.studio.server import StudioServer
from depthfx.studio.session import StudioSession

REPO = Path(__file__).resolve().parents[2]


def write_studio_scene(folder: Path, *, width: int = 320, height: int = 240) -> tuple[Path, Path]:
    """A textured photo with a near square in front of a sloping background, and its depth."""
    rng = np.random.default_rng(3)
    noise = cv2.GaussianBlur(rng.random((height, width, 3)), (0, 0), 1.5)
    _, xx = np.mgrid[0:height, 0:width]
    pixels = 0.25 + 0.5 * noise
    pixels[:, :, 0] += 0.2 * xx / width
    left, top = width * 3 // 8, height * 3 // 8
    pixels[top : top + height // 4, left : left + width // 4] = (0.9, 0.85, 0.3)
    photo = folder / "photo.png"
    cv2.imwrite(str(photo), (np.clip(pixels, 0, 1)[:, :, ::-1] * 255).astype(np.uint8))
    nearness = (0.2 + 0.5 * xx / width).astype(np.float32)
    nearness[top : top + height // 4, left : left + width // 4] = 1.0
    depth = folder / "photo.depth.npy"
    np.save(depth, nearness)
    return photo, depth


def open_session(photo: Path, depth: Path, **kwargs: Any) -> StudioSession:
    """A studio session of ``photo`` with ``depth``, exports beside the photo."""
    request = DepthRequest(depth_file=depth)
    image, depth_map = load_photo_and_depth(photo, request)
    return StudioSession(photo, image, depth_map, request, photo.parent, **kwargs)


@dataclass
class RunningServer:
    """A studio server on a thread, with helpers to call it."""

    server: StudioServer

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def call(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, bytes]:
        """(status, body) of a GET, or a POST of ``body`` as JSON (or ``raw`` bytes)."""
        token = self.server.token if token is None else token
        separator = "&" if "?" in path else "?"
        target = f"{self.base}{path}{separator}token={token}" if token else self.base + path
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(target, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


# ---------------------------------------------------------------- headless Chromium

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def find_chromium() -> tuple[str, str] | None:
    """(browser, driver) executables from the Debian packages, or None."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def start_chromium(width: int = 1400, height: int = 900) -> Any:
    """A Selenium-driven headless Chromium with a fresh profile; skips when absent."""
    webdriver = pytest.importorskip("selenium.webdriver")
    found = find_chromium()
    if found is None:
        pytest.skip(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for name in CHROMIUM_FLAGS:
        options.add_argument(name)
    options.add_argument(f"--window-size={width},{height}")
    profile = tempfile.mkdtemp(prefix="depthfx-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    driver.depthfx_profile = profile  # removed by stop_chromium
    return driver


def stop_chromium(driver: Any) -> None:
    """Quit the browser and remove its profile."""
    driver.quit()
    shutil.rmtree(driver.depthfx_profile, ignore_errors=True)


def python_env() -> dict[str, str]:
    """The environment for a ``python -m depthfx`` child that imports this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


PYTHON = sys.executable
