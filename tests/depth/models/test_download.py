"""Finding or downloading a model file: verified, resumable, offline-aware downloads."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from depthfx.depth.models import records
from depthfx.depth.models.cache import cache_dir
from depthfx.depth.models.download import download_model_file, model_path
from depthfx.depth.models.records import KNOWN_MODELS, ModelRecord
from depthfx.errors import DownloadError, ModelError

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB, more than one download chunk
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_model_path_without_download_explains(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        model_path("depth_anything_v2_small")
    message = str(caught.value)
    assert "depthfx models download depth_anything_v2_small" in message
    assert "huggingface.co" in message and str(cache_dir()) in message


# --------------------------------------------------------------------------- downloads


@dataclass
class _Server:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)


def _handler(
    payload: bytes, log: list[dict[str, str]], *, ranges: bool
) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            log.append({"path": self.path, "range": self.headers.get("Range", "")})
            if self.path != "/model.onnx":
                self.send_error(404, "Not Found")
                return
            start = 0
            header = self.headers.get("Range", "")
            if ranges and header.startswith("bytes=") and header.endswith("-"):
                start = int(header[6:-1])
                if start >= len(payload):
                    self.send_error(416, "Range Not Satisfiable")
                    return
                self.send_response(206)
                self.send_header(
                    "Content-Range", f"bytes {start}-{len(payload) - 1}/{len(payload)}"
                )
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(payload) - start))
            self.end_headers()
            self.wfile.write(payload[start:])

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(params=[True, False], ids=["ranges", "no-ranges"])
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    log: list[dict[str, str]] = []
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), _handler(PAYLOAD, log, ranges=request.param)
    )
    httpd.timeout = 5
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield _Server(url=f"http://127.0.0.1:{httpd.server_address[1]}", requests=log)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _record(url: str, *, sha256: str | None = PAYLOAD_SHA, size: int | None = None) -> ModelRecord:
    return ModelRecord(
        name="tiny", filename="tiny.onnx", url=url, sha256=sha256, size=size, input_size=(8, 8)
    )


def test_download_verifies_and_installs(server: _Server) -> None:
    seen: list[tuple[str, float]] = []
    result = download_model_file(
        _record(f"{server.url}/model.onnx"), progress=lambda s, f: seen.append((s, f))
    )
    assert result.path == cache_dir() / "tiny.onnx"
    assert result.path.read_bytes() == PAYLOAD and result.verified and result.sha256 == PAYLOAD_SHA
    assert not (cache_dir() / "tiny.onnx.part").exists()
    assert seen[-1][1] == 1.0 and any("MB" in stage for stage, _ in seen)


def test_download_resumes_or_restarts_a_partial_file(
    server: _Server, request: pytest.FixtureRequest
) -> None:
    part = cache_dir() / "tiny.onnx.part"
    part.parent.mkdir(parents=True)
    half = len(PAYLOAD) // 2
    part.write_bytes(PAYLOAD[:half])
    result = download_model_file(_record(f"{server.url}/model.onnx"))
    assert result.path.read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == f"bytes={half}-"
    server_supports_ranges = request.node.callspec.params["server"]
    assert result.resumed_from == (half if server_supports_ranges else 0)


def test_bad_partial_file_fails_the_checksum_then_a_rerun_succeeds(server: _Server) -> None:
    part = cache_dir() / "tiny.onnx.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\xff" * 1000)  # not the start of the file
    record = _record(f"{server.url}/model.onnx")
    try:
        result = download_model_file(record)  # a server without ranges restarts: fine
    except DownloadError as exc:
        assert "checksum mismatch" in str(exc) and not part.exists()
        result = download_model_file(record)
    assert result.path.read_bytes() == PAYLOAD


def test_download_checksum_mismatch_removes_the_file(server: _Server) -> None:
    with pytest.raises(DownloadError) as caught:
        download_model_file(_record(f"{server.url}/model.onnx", sha256="f" * 64))
    assert "checksum mismatch" in str(caught.value) and "\n" not in str(caught.value)
    assert not (cache_dir() / "tiny.onnx").exists()
    assert not (cache_dir() / "tiny.onnx.part").exists()


def test_download_without_published_checksum_reports_digest(server: _Server) -> None:
    result = download_model_file(
        _record(f"{server.url}/model.onnx", sha256=None, size=len(PAYLOAD))
    )
    assert not result.verified and result.sha256 == PAYLOAD_SHA
    with pytest.raises(DownloadError, match="expected 7"):
        download_model_file(
            _record(f"{server.url}/model.onnx", sha256=None, size=7), folder=cache_dir() / "other"
        )


def test_download_http_error_names_url_and_folder(server: _Server) -> None:
    url = f"{server.url}/missing.onnx"
    with pytest.raises(DownloadError) as caught:
        download_model_file(_record(url))
    message = str(caught.value)
    assert "HTTP 404" in message and url in message and str(cache_dir()) in message


def test_download_offline_mode_uses_no_network(
    server: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPTHFX_OFFLINE", "1")
    with pytest.raises(DownloadError) as caught:
        download_model_file(_record(f"{server.url}/model.onnx"))
    assert "DEPTHFX_OFFLINE" in str(caught.value) and str(cache_dir()) in str(caught.value)
    assert server.requests == []


def test_download_from_file_url(tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    source.write_bytes(PAYLOAD)
    result = download_model_file(_record(source.as_uri()), folder=tmp_path / "into")
    assert result.path == tmp_path / "into" / "tiny.onnx" and result.path.read_bytes() == PAYLOAD


def test_unreachable_server_gives_one_line(tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as caught:
        download_model_file(_record("http://127.0.0.1:9/model.onnx"))
    message = str(caught.value)
    assert "could not download http://127.0.0.1:9/model.onnx" in message and "\n" not in message


def test_model_path_downloads_when_asked(server: _Server, monkeypatch: pytest.MonkeyPatch) -> None:
    record = _record(f"{server.url}/model.onnx")
    monkeypatch.setattr(records, "KNOWN_MODELS", {**KNOWN_MODELS, "tiny": record})
    with pytest.raises(ModelError, match="not downloaded"):
        model_path("tiny")
    found_record, path = model_path("tiny", download=True)
    assert found_record is record and path.read_bytes() == PAYLOAD
    assert model_path("tiny")[1] == path  # now cached, no download needed
    assert len(server.requests) == 1
