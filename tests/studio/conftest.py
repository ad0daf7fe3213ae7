"""Fixtures of the studio tests: a small photo with depth, a running server, a browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studio_helpers import (
    RunningServer,
    open_session,
    start_chromium,
    stop_chromium,
    write_studio_scene,
)

from depthfx.studio.server import StudioServer
from depthfx.studio.session import StudioSession


@pytest.fixture()
def scene(tmp_path: Path) -> tuple[Path, Path]:
    """(photo, depth file) in tmp_path."""
    return write_studio_scene(tmp_path)


@pytest.fixture()
def session(scene: tuple[Path, Path]) -> StudioSession:
    return open_session(*scene)


@pytest.fixture()
def running(session: StudioSession) -> Iterator[RunningServer]:
    server = StudioServer(session)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield RunningServer(server)
    server.shutdown()
    server.server_close()


@pytest.fixture()
def browser() -> Iterator[Any]:
    driver = start_chromium()
    yield driver
    stop_chromium(driver)
