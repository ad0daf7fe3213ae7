"""Model records, TOML records, folders and lookup order, verified downloads."""

from __future__ import annotations

import hashlib
import http.server
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from depthfx.depth import models
from depthfx.depth.models import (
    KNOWN_MODELS,
    ModelRecord,
    cache_dir,
    download_model_file,
    find_model_file,
    get_model_record,
    load_model_record,
    model_path,
    verify_model_file,
)
from depthfx.errors import DownloadError, ModelError

PAYLOAD = bytes(range(256)) * 4000  # ~1 MB, more than one download chunk
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHFX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPTHFX_MODEL_DIR", raising=False)
    monkeypatch.delenv("DEPTHFX_OFFLINE", raising=False)


# --------------------------------------------------------------------------- shipped records


def test_shipped_records() -> None:
    assert set(KNOWN_MODELS) == {"midas_small", "midas_large", "depth_anything_v2_small"}
    for record in KNOWN_MODELS.values():
        assert record.url is not None and record.url.startswith("https://")
        assert record.licence and record.description
    small, large = KNOWN_MODELS["midas_small"], KNOWN_MODELS["midas_large"]
    # MiDaS's ONNX export normalizes inside the graph: the input is plain RGB / 255.
    for midas in (small, large):
        assert midas.scale == pytest.approx(1 / 255)
        assert midas.mean == (0.0, 0.0, 0.0) and midas.std == (1.0, 1.0, 1.0)
        assert midas.channel_order == "RGB" and midas.output_kind == "inverse_depth"
        assert "isl-org/MiDaS/releases/download/v2_1/" in str(midas.url)
    assert small.input_size == (256, 256) and large.input_size == (384, 384)
    assert small.sha256 == "2d8c6cb8f415229daf1eb041024208e2608c9f98e17c81cc7c6ecb449c56fd58"
    assert large.sha256 is None  # not published: documented in the record, never invented
    anything = KNOWN_MODELS["depth_anything_v2_small"]
    assert anything.mean == (0.485, 0.456, 0.406) and anything.std == (0.229, 0.224, 0.225)
    assert anything.input_multiple == 14 and min(anything.input_size) == 518


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelError) as caught:
        get_model_record("midas_huge")
    message = str(caught.value)
    assert all(name in message for name in KNOWN_MODELS) and "\n" not in message


def test_bare_onnx_with_a_known_file_name_gets_its_record(tmp_path: Path) -> None:
    file = tmp_path / "model-small.onnx"
    file.write_bytes(b"x")
    record = get_model_record(file)
    assert record.name == "midas_small" and record.path == file


def test_bare_onnx_takes_its_declared_input_size(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from onnx_factory import channel_model

    fixed = get_model_record(channel_model(tmp_path / "fixed.onnx", width=320, height=240))
    assert fixed.input_size == (320, 240) and fixed.input_multiple == 0
    free = get_model_record(
        channel_model(tmp_path / "free.onnx", width=8, height=8, fixed_size=False)
    )
    assert free.input_size == (384, 384) and free.input_multiple == 32


def test_bare_onnx_gets_documented_defaults(tmp_path: Path) -> None:
    file = tmp_path / "something.onnx"
    file.write_bytes(b"x")
    record = get_model_record(str(file))
    assert record.input_size == (384, 384) and record.output_kind == "inverse_depth"
    assert record.scale == pytest.approx(1 / 255) and record.mean == (0, 0, 0)


def test_missing_file_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        get_model_record(tmp_path / "nothing.onnx")


def test_record_validation() -> None:
    with pytest.raises(ModelError, match="output_kind"):
        ModelRecord(name="x", filename="x.onnx", input_size=(8, 8), output_kind="disparity")  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="sha256"):
        ModelRecord(name="x", filename="x.onnx", input_size=(8, 8), sha256="abc")
    with pytest.raises(ModelError, match="std"):
        ModelRecord(name="x", filename="x.onnx", input_size=(8, 8), std=(1.0, 0.0, 1.0))


# --------------------------------------------------------------------------- TOML records

GOOD_TOML = """\
name = "mine"
file = "nets/mine.onnx"
input_size = [640, 448]
scale = 0.00392156862745098
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
channel_order = "RGB"
output_kind = "depth"
output_name = "depth_0"
sha256 = "4675FC89F6A924980493154DB804DBDEC4034DE5DBA196EC2B8C8B5EE8652DB0"
licence = "Apache-2.0"
"""


def _toml_with_net(tmp_path: Path, text: str = GOOD_TOML) -> Path:
    (tmp_path / "nets").mkdir(exist_ok=True)
    (tmp_path / "nets" / "mine.onnx").write_bytes(b"onnx")
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return path


def test_toml_record_fields_and_relative_file(tmp_path: Path) -> None:
    record = get_model_record(str(_toml_with_net(tmp_path)))
    assert record.path == tmp_path / "nets" / "mine.onnx"
    assert record.input_size == (640, 448) and record.output_kind == "depth"
    assert record.output_name == "depth_0" and record.licence == "Apache-2.0"
    assert record.sha256 == "4675fc89f6a924980493154db804dbdec4034de5dba196ec2b8c8b5ee8652db0"
    assert record.source == str(tmp_path / "mine.toml")


@pytest.mark.parametrize(
    "missing", ["file", "input_size", "scale", "mean", "std", "channel_order", "output_kind"]
)
def test_toml_missing_field_names_file_and_field(tmp_path: Path, missing: str) -> None:
    text = "\n".join(line for line in GOOD_TOML.splitlines() if not line.startswith(f"{missing} ="))
    path = _toml_with_net(tmp_path, text)
    with pytest.raises(ModelError) as caught:
        load_model_record(path)
    message = str(caught.value)
    assert str(path) in message and repr(missing) in message and "\n" not in message


def test_toml_unknown_field(tmp_path: Path) -> None:
    path = _toml_with_net(tmp_path, GOOD_TOML + "normalise = true\n")
    with pytest.raises(ModelError, match="unknown field 'normalise'"):
        load_model_record(path)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("input_size = [640]", "input_size"),
        ('mean = "imagenet"', "mean"),
        ('output_kind = "far"', "output_kind"),
        ('channel_order = "GRB"', "channel_order"),
        ("scale = true", "scale"),
    ],
)
def test_toml_bad_values(tmp_path: Path, line: str, field: str) -> None:
    key = line.split(" =")[0]
    text = "\n".join(
        line if existing.startswith(f"{key} =") else existing for existing in GOOD_TOML.splitlines()
    )
    with pytest.raises(ModelError, match=field):
        load_model_record(_toml_with_net(tmp_path, text))


def test_toml_not_toml_and_missing_net(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("file = [unclosed\n")
    with pytest.raises(ModelError, match="not a valid TOML"):
        load_model_record(broken)
    path = tmp_path / "lonely.toml"
    path.write_text(GOOD_TOML)
    with pytest.raises(ModelError, match="does not exist"):
        load_model_record(path)


# --------------------------------------------------------------------------- folders


def test_cache_dir_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHFX_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "models"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux", ".cache/depthfx/models"),
        ("darwin", "Library/Caches/depthfx/models"),
        ("win32", "LocalAppData/depthfx/Cache/models"),
    ],
)
def test_platform_cache_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str, expected: str
) -> None:
    monkeypatch.delenv("DEPTHFX_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "LocalAppData"))
    monkeypatch.setattr(models.sys, "platform", platform)
    monkeypatch.setattr(models.Path, "home", classmethod(lambda cls: tmp_path))
    assert cache_dir() == tmp_path / expected


def test_lookup_order_model_dir_then_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    record = KNOWN_MODELS["midas_small"]
    assert find_model_file(record) is None
    cached = cache_dir() / record.filename
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"cache")
    assert find_model_file(record) == cached
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    monkeypatch.setenv("DEPTHFX_MODEL_DIR", str(model_dir))
    assert find_model_file(record) == cached  # not in the model dir: cache still found
    (model_dir / record.filename).write_bytes(b"dir")
    assert find_model_file(record) == model_dir / record.filename
    explicit = tmp_path / "elsewhere" / record.filename
    explicit.parent.mkdir()
    explicit.write_bytes(b"explicit")
    assert find_model_file(get_model_record(explicit)) == explicit


def test_model_path_without_download_explains(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as caught:
        model_path("depth_anything_v2_small")
    message = str(caught.value)
    assert "depthfx models download depth_anything_v2_small" in message
    assert "huggingface.co" in message and str(cache_dir()) in message


def test_verify_model_file(tmp_path: Path) -> None:
    file = tmp_path / "net.onnx"
    file.write_bytes(PAYLOAD)
    verify_model_file(_record("http://unused", sha256=PAYLOAD_SHA), file)
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model_file(_record("http://unused", sha256="0" * 64), file)
    with pytest.raises(ModelError, match="expected 5"):
        verify_model_file(_record("http://unused", sha256=None, size=5), file)


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
    monkeypatch.setattr(models, "KNOWN_MODELS", {**KNOWN_MODELS, "tiny": record})
    with pytest.raises(ModelError, match="not downloaded"):
        model_path("tiny")
    found_record, path = model_path("tiny", download=True)
    assert found_record is record and path.read_bytes() == PAYLOAD
    assert model_path("tiny")[1] == path  # now cached, no download needed
    assert len(server.requests) == 1


def test_platform_is_restored() -> None:
    assert models.sys is sys


def test_onnx_input_shapes_without_the_onnx_package(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    from onnx_factory import channel_model

    assert models.onnx_input_shapes(channel_model(tmp_path / "a.onnx", width=8, height=6)) == [
        (1, 3, 6, 8)
    ]
    symbolic = channel_model(tmp_path / "b.onnx", width=8, height=6, fixed_size=False)
    assert models.onnx_input_shapes(symbolic) == [(1, 3, "h", "w")]
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff")
    assert models.onnx_input_shapes(junk) == []
