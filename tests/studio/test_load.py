"""Under load: a burst of clicks renders the last one, drops the rest, and frees memory."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from studio_helpers import PYTHON, open_session, python_env, write_studio_scene

from depthfx.studio.settings import parse_settings

pytestmark = pytest.mark.slow
CLICKS = 50
WARM_UP = 9
BURST_S = 1.0  # faster than renders finish: most clicks are dropped


def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Client:
    """Calls a server in another process by its URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.token = url.split("token=", 1)[1]
        self.port = int(url.split(":")[2].split("/")[0])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def post(self, path: str, body: object) -> dict:
        request = urllib.request.Request(
            f"{self.base}{path}?token={self.token}", data=json.dumps(body).encode()
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def get(self, path: str) -> tuple[bytes, dict[str, str]]:
        separator = "&" if "?" in path else "?"
        with urllib.request.urlopen(
            f"{self.base}{path}{separator}token={self.token}", timeout=120
        ) as response:
            return response.read(), dict(response.headers)


def click(x: int, y: int) -> dict:
    return {"choice": "bokeh", "steps": [{"focus": f"{x},{y}", "strength": 2.0}]}


@pytest.fixture()
def studio_process(tmp_path: Path):  # type: ignore[no-untyped-def]
    photo, depth = write_studio_scene(tmp_path, width=1600, height=1200)
    child = subprocess.Popen(
        [PYTHON, "-m", "depthfx", "studio", str(photo), "--depth", str(depth), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=python_env(),
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert "http://127.0.0.1:" in line, child.stderr.read() if child.stderr else line
    yield child, Client(line.split(": ", 1)[1].strip()), (photo, depth)
    child.send_signal(signal.SIGINT)
    try:
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()


def test_a_burst_of_clicks_keeps_one_running_one_waiting_and_memory_returns(
    studio_process,  # type: ignore[no-untyped-def]
) -> None:
    child, client, (photo, depth) = studio_process
    # Warm up: the first renders fill the caches (allocator, kernels, thread pools, scratch
    # buffers), which grow with the blur radii, so focus once on each part of the photo.
    for index in range(WARM_UP):
        answer = client.post(
            "/api/render", click(200 + 600 * (index % 3), 150 + 450 * (index // 3))
        )
        client.get(f"/api/preview?generation={answer['generation']}")
    time.sleep(0.5)
    start_rss = rss_bytes(child.pid)

    started = time.perf_counter()
    last = None
    for index in range(CLICKS):
        last = click(100 + 29 * index, 100 + 19 * index)
        answer = client.post("/api/render", last)
        time.sleep(max(0.0, started + (index + 1) * BURST_S / CLICKS - time.perf_counter()))
    burst_s = time.perf_counter() - started
    assert burst_s <= 5.0
    jpeg, headers = client.get(f"/api/preview?generation={answer['generation']}")
    stats = json.loads(client.get("/api/stats")[0])

    assert int(headers["X-Generation"]) == answer["generation"]
    assert stats["peak_running"] == 1 and stats["peak_waiting"] == 1
    assert stats["submitted"] == CLICKS + WARM_UP
    assert stats["rendered"] + stats["dropped"] == stats["submitted"]
    assert stats["dropped"] > 0  # stale clicks were dropped, not queued
    # The final preview is the last click's.
    expected = open_session(photo, depth).preview_jpeg(parse_settings(last))
    assert jpeg == expected

    time.sleep(1.0)
    end_rss = rss_bytes(child.pid)
    print(
        f"burst {burst_s:.2f} s, {stats}, rss {start_rss / 2**20:.0f} -> {end_rss / 2**20:.0f} MiB"
    )
    assert abs(end_rss - start_rss) <= 0.10 * start_rss, (start_rss, end_rss)
