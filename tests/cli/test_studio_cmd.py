"""``depthfx studio`` as a user runs it: one URL line, a working server, Ctrl-C stops it."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app

REPO = Path(__file__).resolve().parents[2]


def start_studio(photo: Path, depth: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m depthfx studio`` in a child process, and the URL it printed."""
    import os

    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    child = subprocess.Popen(
        [sys.executable, "-m", "depthfx", "studio", str(photo), "--depth", str(depth), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.startswith("depthfx studio: http://127.0.0.1:"), line + child.stderr.read()
    return child, line.split(": ", 1)[1].strip()


def test_studio_prints_its_url_serves_the_page_and_stops_on_ctrl_c(scene) -> None:  # type: ignore[no-untyped-def]
    _, photo, depth = scene
    child, url = start_studio(photo, depth, "--no-browser")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert b'data-testid="preview"' in response.read()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_studio_uses_the_port_asked_for(scene) -> None:  # type: ignore[no-untyped-def]
    import socket

    _, photo, depth = scene
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child, url = start_studio(photo, depth, "--no-browser", "--port", str(port))
    try:
        assert url.startswith(f"http://127.0.0.1:{port}/?token=")
    finally:
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=30)


def test_studio_without_depth_is_a_one_line_error(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    _, photo, _ = scene
    result = CliRunner().invoke(app, ["studio", str(photo), "--no-browser"])
    assert "no depth given" in one_error_line(result)


def test_studio_needs_an_existing_output_folder(scene, one_error_line, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, photo, depth = scene
    missing = tmp_path / "missing"
    result = CliRunner().invoke(
        app,
        ["studio", str(photo), "--depth", str(depth), "--no-browser", "--output-dir", str(missing)],
    )
    assert "does not exist" in one_error_line(result)


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_studio_refuses_a_bad_port(scene, one_error_line, port: str) -> None:  # type: ignore[no-untyped-def]
    _, photo, depth = scene
    result = CliRunner().invoke(
        app, ["studio", str(photo), "--depth", str(depth), "--no-browser", "--port", port]
    )
    assert "--port must be in 0..65535" in one_error_line(result)


def test_studio_depth_is_checked_before_serving(scene, one_error_line) -> None:  # type: ignore[no-untyped-def]
    tmp, photo, _ = scene
    wrong = tmp / "wrong.npy"
    np.save(wrong, np.zeros((10, 100), np.float32))
    result = CliRunner().invoke(app, ["studio", str(photo), "--depth", str(wrong), "--no-browser"])
    assert "aspect ratios differ" in one_error_line(result)
