"""The studio's HTTP server: the standard library's, on 127.0.0.1, behind a random token.

Security, because it is a server on the user's machine:

- it listens on 127.0.0.1 only;
- every request (the page's own files too) needs the token printed in the URL, else 403;
- a ``Host`` other than ``127.0.0.1:PORT`` or ``localhost:PORT`` is refused with 403
  (a DNS-rebinding page cannot talk to it);
- the page never names a file: the routes are a fixed table, and the server alone picks
  where an export is written;
- JSON bodies are at most :data:`MAX_BODY` bytes and are checked by the effects' option
  dataclasses; a bad value gets a 400 with the message the command line prints.
"""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..errors import DepthfxError
from .controls import controls_document
from .session import StudioSession, encode_jpeg
from .settings import StudioSettings, parse_settings
from .worker import LatestWinsWorker

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024
# How long a preview request waits for its render before giving up (503).
_PREVIEW_WAIT_S = 120.0
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


def _static_text(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


class StudioServer(ThreadingHTTPServer):
    """A :class:`ThreadingHTTPServer` bound to 127.0.0.1 serving one :class:`StudioSession`.

    Parameters
    ----------
    session : StudioSession
        The photo being edited.
    port : int
        0 picks a free port.
    token : str, optional
        The secret every request must carry; random when not given.
    """

    daemon_threads = True

    def __init__(self, session: StudioSession, *, port: int = 0, token: str | None = None) -> None:
        super().__init__((HOST, port), StudioRequestHandler)
        self.session = session
        self.token = token or secrets.token_urlsafe(24)
        self.worker = LatestWinsWorker(self._render)
        self._generations = itertools.count(1)
        self._generation_lock = threading.Lock()
        self.page = {
            path: (_static_text(name).replace("{{TOKEN}}", self.token).encode(), kind)
            for path, (name, kind) in _STATIC.items()
        }

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """The page's address, token included."""
        return f"http://{HOST}:{self.port}/?token={self.token}"

    def allowed_hosts(self) -> tuple[str, ...]:
        """``Host`` header values accepted (anything else may be a DNS-rebinding page)."""
        return (f"{HOST}:{self.port}", f"localhost:{self.port}")

    def _render(self, settings: StudioSettings) -> bytes:
        return self.session.preview_jpeg(settings)

    def request_render(self, settings: StudioSettings) -> int:
        """Queue a preview of ``settings``; its generation number."""
        with self._generation_lock:
            generation = next(self._generations)
            self.worker.submit(generation, settings)
        return generation

    def server_close(self) -> None:
        """Stop the render worker, then close the socket."""
        self.worker.stop()
        super().server_close()


class StudioRequestHandler(BaseHTTPRequestHandler):
    """Checks the host and token of every request, then serves the fixed routes."""

    server: StudioServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows only the URL line."""

    # ------------------------------------------------------------------ checks

    def _allowed(self) -> bool:
        if self.headers.get("Host", "") not in self.server.allowed_hosts():
            self._send_error(HTTPStatus.FORBIDDEN, "unknown host")
            return False
        given = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            self._send_error(HTTPStatus.FORBIDDEN, "missing or wrong token")
            return False
        return True

    def _read_json(self) -> Any:
        """The request's JSON body; None after answering an error."""
        length_text = self.headers.get("Content-Length")
        if length_text is None or not length_text.isdigit():
            self._send_error(HTTPStatus.LENGTH_REQUIRED, "a JSON body with Content-Length")
            return None
        length = int(length_text)
        if length > MAX_BODY:
            self._send_error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body larger than {MAX_BODY} bytes"
            )
            return None
        try:
            return json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError) as exc:
            self._send_error(HTTPStatus.BAD_REQUEST, f"body is not JSON: {exc}")
            return None

    def _settings(self) -> StudioSettings | None:
        data = self._read_json()
        if data is None:
            return None
        try:
            return parse_settings(data)
        except DepthfxError as exc:
            self._send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return None

    # ------------------------------------------------------------------ answers

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, data: Any) -> None:
        body = json.dumps(data, allow_nan=False).encode()
        self._send(status, body, "application/json")

    def _send_error(self, status: int, message: str) -> None:
        self.close_connection = True
        self._send_json(status, {"error": message})

    # ------------------------------------------------------------------ routes

    def do_GET(self) -> None:
        """The page, its files, the controls, previews, the depth view and stats."""
        if not self._allowed():
            return
        route = urlsplit(self.path).path
        session = self.server.session
        if route in self.server.page:
            body, kind = self.server.page[route]
            self._send(HTTPStatus.OK, body, kind)
        elif route == "/api/controls":
            document = controls_document()
            document["photo"] = {
                "name": session.photo_path.name,
                "width": session.size[0],
                "height": session.size[1],
                "preview_width": session.preview_size[0],
                "preview_height": session.preview_size[1],
            }
            self._send_json(HTTPStatus.OK, document)
        elif route == "/api/preview":
            self._preview()
        elif route == "/api/photo":
            self._send(HTTPStatus.OK, encode_jpeg(session.preview_image), "image/jpeg")
        elif route == "/api/depth":
            self._send(HTTPStatus.OK, session.depth_jpeg(), "image/jpeg")
        elif route == "/api/stats":
            running, waiting = self.server.worker.busy
            stats = vars(self.server.worker.stats) | {"running": running, "waiting": waiting}
            self._send_json(HTTPStatus.OK, stats)
        else:
            self._send_error(HTTPStatus.NOT_FOUND, "no such page")

    def do_POST(self) -> None:
        """``/api/render`` queues a preview; ``/api/export`` writes the full-size result."""
        if not self._allowed():
            return
        route = urlsplit(self.path).path
        if route not in ("/api/render", "/api/export"):
            self._send_error(HTTPStatus.NOT_FOUND, "no such page")
            return
        settings = self._settings()
        if settings is None:
            return
        session = self.server.session
        if route == "/api/render":
            generation = self.server.request_render(settings)
            self._send_json(
                HTTPStatus.OK,
                {
                    "generation": generation,
                    "command": session.command(settings),
                    "toml": session.toml(settings),
                },
            )
            return
        try:
            written = session.export(settings)
        except DepthfxError as exc:
            self._send_error(HTTPStatus.BAD_REQUEST, str(exc))
            return
        self._send_json(HTTPStatus.OK, {"path": str(written)})

    def _preview(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        generation_text = query.get("generation", [""])[0]
        if not generation_text.isdigit():
            self._send_error(HTTPStatus.BAD_REQUEST, "generation must be a number")
            return
        result = self.server.worker.result(int(generation_text), timeout=_PREVIEW_WAIT_S)
        if result is None:
            self._send_error(HTTPStatus.SERVICE_UNAVAILABLE, "the preview is not ready")
        elif result.error is not None:
            message = (
                str(result.error) if isinstance(result.error, DepthfxError) else repr(result.error)
            )
            self._send_json(
                HTTPStatus.BAD_REQUEST, {"error": message, "generation": result.generation}
            )
        else:
            self._send(
                HTTPStatus.OK,
                result.value,
                "image/jpeg",
                {"X-Generation": str(result.generation)},
            )


__all__ = ["HOST", "MAX_BODY", "StudioRequestHandler", "StudioServer"]
