"""The cache folder, the lookup order, and checking a file against its record."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from depthfx.depth.models import cache
from depthfx.depth.models.cache import (
    cache_dir,
    file_mismatch,
    find_model_file,
    make_model_folder,
    verify_model_file,
)
from depthfx.depth.models.records import KNOWN_MODELS, ModelRecord, get_model_record
from depthfx.errors import ModelError

PAYLOAD = b"model bytes " * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _record(*, sha256: str | None = PAYLOAD_SHA, size: int | None = None) -> ModelRecord:
    return ModelRecord(
        name="tiny", filename="tiny.onnx", sha256=sha256, size=size, input_size=(8, 8)
    )


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
    monkeypatch.setattr(cache.sys, "platform", platform)
    monkeypatch.setattr(cache.Path, "home", classmethod(lambda cls: tmp_path))
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


def test_verify_model_file(tmp_path: Path) -> None:
    file = tmp_path / "net.onnx"
    file.write_bytes(PAYLOAD)
    verify_model_file(_record(sha256=PAYLOAD_SHA), file)
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model_file(_record(sha256="0" * 64), file)
    with pytest.raises(ModelError, match="expected 5"):
        verify_model_file(_record(sha256=None, size=5), file)


def test_platform_is_restored() -> None:
    assert cache.sys is sys


def test_file_mismatch_prefers_the_checksum_to_the_size() -> None:
    assert file_mismatch(_record(size=1), sha256=PAYLOAD_SHA, size=999) is None
    problem = file_mismatch(_record(), sha256="0" * 64, size=len(PAYLOAD))
    assert problem is not None and problem.startswith("checksum mismatch for model 'tiny'")
    assert file_mismatch(_record(sha256=None, size=5), sha256="", size=4) == (
        "4 bytes, expected 5 for model 'tiny'"
    )
    assert file_mismatch(_record(sha256=None), sha256="", size=4) is None


def test_model_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    make_model_folder(tmp_path / "new" / "models")
    assert (tmp_path / "new" / "models").is_dir()
    with pytest.raises(ModelError, match="cannot create the model folder") as caught:
        make_model_folder(blocker / "models")
    assert str(blocker / "models") in str(caught.value)
