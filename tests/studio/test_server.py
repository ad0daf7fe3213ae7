"""The studio server: 127.0.0.1 only, token on every request, Host checked, bodies checked."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest
from studio_helpers import RunningServer
from typer.testing import CliRunner

from depthfx.cli import app
from depthfx.studio.server import MAX_BODY

BOKEH = {"choice": "bokeh", "steps": [{"focus": "160,120"}]}


def raw_request(
    running: RunningServer, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """A request with exactly these headers (urllib would set Host itself)."""
    connection = http.client.HTTPConnection("127.0.0.1", running.server.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_socket_is_bound_to_loopback_only(running: RunningServer) -> None:
    host, port = running.server.socket.getsockname()
    assert host == "127.0.0.1" and port == running.server.port > 0
    assert running.server.url.startswith(f"http://127.0.0.1:{port}/?token=")


@pytest.mark.parametrize("path", ["/", "/app.js", "/style.css", "/api/controls", "/api/depth"])
def test_every_page_needs_the_token(running: RunningServer, path: str) -> None:
    assert running.call(path, token="")[0] == 403
    assert running.call(path, token="not-the-token")[0] == 403
    assert running.call(path)[0] == 200


def test_posts_need_the_token(running: RunningServer) -> None:
    assert running.call("/api/render", BOKEH, token="")[0] == 403
    assert running.call("/api/export", BOKEH, token="wrong")[0] == 403
    assert not list(Path(running.server.session.output_dir).glob("photo.bokeh.*"))


def test_the_page_carries_the_token_to_its_own_files(running: RunningServer) -> None:
    status, page = running.call("/")
    assert status == 200
    assert f"app.js?token={running.server.token}".encode() in page


@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:1", "localhost", ""])
def test_a_foreign_host_is_refused(running: RunningServer, host: str) -> None:
    port = running.server.port
    path = f"/api/controls?token={running.server.token}"
    status, _ = raw_request(running, "GET", path, {"Host": host.format(port=port)})
    assert status == 403
    for good in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert raw_request(running, "GET", path, {"Host": good})[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../etc/passwd",
        "/static/../server.py",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/app.js/../../conftest.py",
        "/index.html",
    ],
)
def test_no_path_outside_the_routes_is_served(running: RunningServer, path: str) -> None:
    status, body = raw_request(
        running,
        "GET",
        f"{path}?token={running.server.token}",
        {"Host": f"127.0.0.1:{running.server.port}"},
    )
    assert status == 404
    assert b"root:" not in body and b"import" not in body


def test_the_client_cannot_name_an_output_path(running: RunningServer, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.png"
    data = dict(BOKEH, output=str(target))
    status, body = running.call("/api/export", data)
    assert status == 400 and "settings must be" in json.loads(body)["error"]
    status, body = running.call(
        "/api/export", {"choice": "bokeh", "steps": [{"output": str(target)}]}
    )
    assert status == 400 and "unknown option 'output'" in json.loads(body)["error"]
    assert not target.exists()


def test_an_oversize_body_is_refused(running: RunningServer) -> None:
    padding = {"choice": "bokeh", "steps": [{"focus": "1,1" + " " * (MAX_BODY + 10)}]}
    status, _ = running.call("/api/render", padding)
    assert status == 413
    assert running.server.worker.stats.submitted == 0


def test_a_body_that_is_not_json_is_a_bad_request(running: RunningServer) -> None:
    assert running.call("/api/render", raw=b"{not json")[0] == 400


def test_a_bad_value_gets_the_message_the_command_line_prints(
    running: RunningServer, scene: tuple[Path, Path]
) -> None:
    status, body = running.call("/api/render", {"choice": "bokeh", "steps": [{"strength": 99}]})
    assert status == 400
    photo, depth = scene
    result = CliRunner().invoke(
        app, ["bokeh", str(photo), "--depth", str(depth), "--strength", "99", "-o", "x.png"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == f"depthfx: error: {json.loads(body)['error']}"


def test_render_then_preview_then_export(running: RunningServer) -> None:
    status, body = running.call("/api/render", BOKEH)
    assert status == 200
    answer = json.loads(body)
    assert "--focus 160,120" in answer["command"] and 'effect = "bokeh"' in answer["toml"]
    status, jpeg = running.call(f"/api/preview?generation={answer['generation']}")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    status, body = running.call("/api/export", BOKEH)
    written = Path(json.loads(body)["path"])
    assert status == 200 and written.is_file()
    assert written.parent == running.server.session.output_dir


def test_a_render_error_is_reported_with_its_message(running: RunningServer) -> None:
    # Valid options, but visibility needs metric depth: the render itself fails.
    status, body = running.call("/api/render", {"choice": "fog", "steps": [{"visibility": 50}]})
    generation = json.loads(body)["generation"]
    status, body = running.call(f"/api/preview?generation={generation}")
    assert status == 400 and "metric" in json.loads(body)["error"]


def test_only_local_connections_are_possible(running: RunningServer) -> None:
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    for address in addresses - {"127.0.0.1", "127.0.1.1", "::1"}:
        with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
            probe.settimeout(1)
            assert probe.connect_ex((address, running.server.port)) != 0
