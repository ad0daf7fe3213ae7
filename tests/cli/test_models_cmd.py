"""``depthfx models list|download|path`` and ``--mono`` on the commands, through CliRunner."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from depthfx.cli import app, models_cmd
from depthfx.depth.models import KNOWN_MODELS, ModelRecord, cache_dir, records

PAYLOAD = b"not really a network, but bytes to download " * 5000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()

runner = CliRunner()


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPTHFX_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPTHFX_MODEL_DIR", raising=False)
    monkeypatch.delenv("DEPTHFX_OFFLINE", raising=False)


@pytest.fixture
def file_server() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 serving PAYLOAD at /tiny.onnx."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/tiny.onnx":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _has_command(name: str) -> bool:
    import typer.main

    group = typer.main.get_command(app)
    return name in getattr(group, "commands", {})


def _register(monkeypatch: pytest.MonkeyPatch, record: ModelRecord) -> None:
    registry = {**KNOWN_MODELS, record.name: record}
    monkeypatch.setattr(records, "KNOWN_MODELS", registry)
    monkeypatch.setattr(models_cmd, "KNOWN_MODELS", registry)


def _tiny(url: str, *, sha256: str | None = PAYLOAD_SHA) -> ModelRecord:
    return ModelRecord(
        name="tiny",
        filename="tiny.onnx",
        url=url,
        sha256=sha256,
        size=len(PAYLOAD),
        input_size=(8, 8),
    )


# --------------------------------------------------------------------------- list / path


def test_list_shows_names_sizes_licences_and_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tmp_path / "mine"
    model_dir.mkdir()
    (model_dir / "model-small.onnx").write_bytes(b"x")
    monkeypatch.setenv("DEPTHFX_MODEL_DIR", str(model_dir))
    code, out, _ = _run("models", "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert (
        str(model_dir / "model-small.onnx") in lines["midas_small"]
        and "67 MB" in lines["midas_small"]
    )
    assert "not downloaded" in lines["midas_large"] and "MIT" in lines["midas_large"]
    assert "Apache-2.0" in lines["depth_anything_v2_small"]
    assert str(model_dir) in out and str(cache_dir()) in out


def test_path_of_a_missing_model_is_one_line_error() -> None:
    code, out, err = _run("models", "path", "midas_small")
    assert code == 2 and out == ""
    assert (
        err.count("\n") == 1
        and "not downloaded" in err
        and "depthfx models download midas_small" in err
    )


def test_path_of_a_present_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = cache_dir() / "model-f6b98070.onnx"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    code, out, _ = _run("models", "path", "midas_large")
    assert code == 0 and out.strip() == str(cached)


def test_unknown_model_lists_known_ones() -> None:
    code, _, err = _run("models", "path", "midas_xl")
    assert code == 2 and err.count("\n") == 1
    assert all(name in err for name in KNOWN_MODELS)


def test_help() -> None:
    code, out, _ = _run("models", "--help")
    assert code == 0 and "download" in out and "list" in out


# --------------------------------------------------------------------------- download


def test_download_from_local_server(file_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, _tiny(f"{file_server}/tiny.onnx"))
    code, out, err = _run("models", "download", "tiny")
    assert code == 0, err
    target = cache_dir() / "tiny.onnx"
    assert out.strip() == str(target) and target.read_bytes() == PAYLOAD
    code, out, _ = _run("models", "download", "tiny")
    assert code == 0 and "already there" in out
    code, out, _ = _run("models", "path", "tiny")
    assert out.strip() == str(target)


def test_download_checksum_mismatch(file_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, _tiny(f"{file_server}/tiny.onnx", sha256="0" * 64))
    code, _, err = _run("models", "download", "tiny")
    assert code == 2 and err.count("\n") == 1 and "checksum mismatch" in err
    assert not any(cache_dir().iterdir())


def test_download_without_published_checksum_warns(
    file_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(monkeypatch, _tiny(f"{file_server}/tiny.onnx", sha256=None))
    code, _, err = _run("models", "download", "tiny")
    assert code == 0 and f"sha256 {PAYLOAD_SHA}" in err


def test_download_offline(file_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, _tiny(f"{file_server}/tiny.onnx"))
    monkeypatch.setenv("DEPTHFX_OFFLINE", "1")
    code, _, err = _run("models", "download", "tiny")
    assert code == 2 and err.count("\n") == 1
    assert f"{file_server}/tiny.onnx" in err and str(cache_dir()) in err


def test_download_of_a_toml_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / "net.onnx").write_bytes(b"x")
    record = tmp_path / "net.toml"
    record.write_text(
        'file = "net.onnx"\ninput_size = [8, 8]\nscale = 1.0\nmean = [0, 0, 0]\nstd = [1, 1, 1]\n'
        'channel_order = "RGB"\noutput_kind = "depth"\n'
    )
    code, _, err = _run("models", "download", str(record))
    assert code == 2 and "only known model names" in err


# --------------------------------------------------------------------------- --mono end to end


@pytest.fixture
def pydnet_record(shared_data: Path, tmp_path: Path) -> Path:
    model = shared_data / "models" / "pydnet_pp.onnx"
    if not model.is_file():
        pytest.skip(f"{model} not found")
    example = Path(__file__).resolve().parents[2] / "examples" / "models" / "pydnet_pp.toml"
    lines = [
        f"file = {json.dumps(str(model))}" if line.startswith("file =") else line
        for line in example.read_text().splitlines()
    ]
    record = tmp_path / "pydnet_pp.toml"
    record.write_text("\n".join(lines) + "\n")
    return record


@pytest.fixture
def small_photo(examples_dir: Path, tmp_path: Path) -> Path:
    picture = cv2.imread(str(examples_dir / "teddy_left.jpg"))
    if picture is None:
        pytest.skip("examples/teddy_left.jpg not found")
    small = cv2.resize(picture, (180, 150), interpolation=cv2.INTER_AREA)
    path = tmp_path / "small.jpg"
    cv2.imwrite(str(path), small)
    return path


def test_depth_command_with_mono_and_a_toml_record(
    pydnet_record: Path, small_photo: Path, tmp_path: Path
) -> None:
    if not _has_command("depth"):
        pytest.skip("the depth command is not there yet")
    out = tmp_path / "depth.npy"
    code, _, err = _run(
        "depth", str(small_photo), "--mono", "--model", str(pydnet_record), "-o", str(out)
    )
    assert code == 0, err
    nearness = np.load(out)
    assert nearness.shape == (150, 180) and np.isfinite(nearness).all() and nearness.std() > 0


def test_load_photo_and_depth_with_mono(pydnet_record: Path, small_photo: Path) -> None:
    from depthfx.cli.options import DepthRequest, load_photo_and_depth

    photo, depth = load_photo_and_depth(
        small_photo, DepthRequest(mono=True, model=str(pydnet_record))
    )
    assert depth.shape == photo.shape == (150, 180) and depth.units == "relative"


EFFECT_COMMANDS = ["bokeh", "fog", "miniature", "layers"]


@pytest.mark.parametrize("command", EFFECT_COMMANDS)
def test_effect_commands_accept_mono(
    command: str, pydnet_record: Path, small_photo: Path, tmp_path: Path
) -> None:
    if not _has_command(command):
        pytest.skip(f"the {command} command is not there yet")
    out = tmp_path / f"{command}.jpg"
    code, _, err = _run(
        command, str(small_photo), "--mono", "--model", str(pydnet_record), "-o", str(out)
    )
    assert code == 0, err
    assert cv2.imread(str(out)).shape[:2] == (150, 180)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("midas_xl", "known models: depth_anything_v2_small, midas_large, midas_small"),
        ("missing_field.toml", "missing the field 'output_kind'"),
        ("not_onnx.onnx", "not a valid ONNX model"),
        ("wrong_size.toml", "input_size"),
    ],
)
def test_bad_models_give_one_line(
    model: str, expected: str, pydnet_record: Path, small_photo: Path, tmp_path: Path
) -> None:
    if not _has_command("depth"):
        pytest.skip("the depth command is not there yet")
    text = pydnet_record.read_text()
    (tmp_path / "missing_field.toml").write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("output_kind"))
    )
    (tmp_path / "wrong_size.toml").write_text(
        text.replace("input_size = [640, 448]", "input_size = [320, 224]")
    )
    (tmp_path / "not_onnx.onnx").write_text("hello")
    spec = model if model == "midas_xl" else str(tmp_path / model)
    code, _, err = _run(
        "depth", str(small_photo), "--mono", "--model", spec, "-o", str(tmp_path / "d.npy")
    )
    assert code == 2 and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "d.npy").exists()


# --------------------------------------------------------------------------- install


@pytest.fixture
def user_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny real ONNX file on a 'USB stick', and a known record with its sha256."""
    pytest.importorskip("onnx")
    from onnx_factory import channel_model

    (tmp_path / "usb").mkdir()
    file = channel_model(tmp_path / "usb" / "copy of tiny.onnx", width=8, height=6)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    _register(monkeypatch, _tiny("https://example.invalid/tiny.onnx", sha256=digest))
    return file


def _cached() -> list[str]:
    return sorted(p.name for p in cache_dir().iterdir()) if cache_dir().is_dir() else []


def test_install_a_known_model_found_by_its_checksum(user_model: Path) -> None:
    content = user_model.read_bytes()
    code, out, err = _run("models", "install", str(user_model))
    assert code == 0, err
    assert out.strip() == str(cache_dir() / "tiny.onnx") and _cached() == ["tiny.onnx"]
    assert (cache_dir() / "tiny.onnx").read_bytes() == content
    assert user_model.read_bytes() == content  # the user's file stays where it was
    code, out, _ = _run("models", "path", "tiny")
    assert code == 0 and out.strip() == str(cache_dir() / "tiny.onnx")


def test_install_with_a_wrong_checksum_is_one_line_and_leaves_nothing(
    user_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _register(monkeypatch, _tiny("https://example.invalid/tiny.onnx", sha256="0" * 64))
    code, out, err = _run("models", "install", str(user_model), "--name", "tiny")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "checksum mismatch for model 'tiny'" in err and "nothing was installed" in err
    assert _cached() == [] and user_model.is_file()


def test_install_of_a_missing_file(tmp_path: Path) -> None:
    code, _, err = _run("models", "install", str(tmp_path / "nowhere.onnx"))
    assert code == 2 and err.count("\n") == 1 and "model file not found" in err
    assert _cached() == []


def test_install_of_an_unknown_model_asks_for_a_record(user_model: Path) -> None:
    user_model.write_bytes(user_model.read_bytes() + b"\0")  # now matches no record
    code, _, err = _run("models", "install", str(user_model))
    assert code == 2 and err.count("\n") == 1
    assert "is that of no known model" in err and "--record RECORD.toml" in err
    assert _cached() == []


def test_install_with_a_record(user_model: Path, tmp_path: Path) -> None:
    record = tmp_path / "usb" / "mine.toml"
    record.write_text(
        'file = "mine.onnx"\ninput_size = [8, 6]\nscale = 1.0\nmean = [0, 0, 0]\n'
        'std = [1, 1, 1]\nchannel_order = "RGB"\noutput_kind = "depth"\n'
        f'sha256 = "{hashlib.sha256(user_model.read_bytes()).hexdigest()}"\n'
    )
    code, out, err = _run("models", "install", str(user_model), "--record", str(record))
    assert code == 0, err
    assert out.strip() == str(cache_dir() / "mine.onnx")
    assert f"--model {cache_dir() / 'mine.toml'}" in err
    assert _cached() == ["mine.onnx", "mine.toml"]
