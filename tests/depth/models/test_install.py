"""Installing a model file the user has: checksum-checked, atomic, the user's file untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")

from onnx_factory import channel_model

from depthfx.depth.models import install, records
from depthfx.depth.models.cache import cache_dir, file_sha256
from depthfx.depth.models.install import install_model_file
from depthfx.depth.models.records import KNOWN_MODELS, ModelRecord, load_model_record, record_toml
from depthfx.depth.mono import estimate_depth
from depthfx.errors import ModelError, ParameterError


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    """A network the user brought on a USB stick, under a name of their own."""
    (tmp_path / "usb").mkdir()
    return channel_model(tmp_path / "usb" / "downloaded (1).onnx", width=8, height=6)


@pytest.fixture
def tiny(user_file: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRecord:
    """A shipped record whose published sha256 is that of ``user_file``."""
    record = ModelRecord(
        name="tiny",
        filename="tiny.onnx",
        sha256=file_sha256(user_file),
        size=user_file.stat().st_size,
        input_size=(8, 6),
    )
    monkeypatch.setattr(records, "KNOWN_MODELS", {**KNOWN_MODELS, "tiny": record})
    return record


def _cache_files() -> list[str]:
    folder = cache_dir()
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def _unchanged(path: Path, content: bytes) -> bool:
    return path.is_file() and path.read_bytes() == content


def test_known_model_found_by_its_checksum(user_file: Path, tiny: ModelRecord) -> None:
    content = user_file.read_bytes()
    result = install_model_file(user_file)
    assert result.path == cache_dir() / "tiny.onnx" and result.path.read_bytes() == content
    assert result.record is tiny and result.verified and result.sha256 == tiny.sha256
    assert result.record_path is None and _cache_files() == ["tiny.onnx"]
    assert _unchanged(user_file, content)  # copied, not moved


def test_known_model_by_name(user_file: Path, tiny: ModelRecord, tmp_path: Path) -> None:
    result = install_model_file(user_file, name="tiny", folder=tmp_path / "elsewhere")
    assert result.path == tmp_path / "elsewhere" / "tiny.onnx" and result.record is tiny


def test_checksum_mismatch_installs_nothing(
    user_file: Path, tiny: ModelRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = {**records.KNOWN_MODELS, "tiny": ModelRecord(**{**vars(tiny), "sha256": "0" * 64})}
    monkeypatch.setattr(records, "KNOWN_MODELS", other)
    content = user_file.read_bytes()
    with pytest.raises(ModelError) as caught:
        install_model_file(user_file, name="tiny")
    message = str(caught.value)
    assert "checksum mismatch for model 'tiny'" in message and "nothing was installed" in message
    assert "\n" not in message and str(user_file) in message
    assert _cache_files() == [] and _unchanged(user_file, content)


def test_size_checked_when_no_checksum_is_published(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sized = ModelRecord(name="sized", filename="sized.onnx", size=3, input_size=(8, 6))
    monkeypatch.setattr(records, "KNOWN_MODELS", {"sized": sized})
    with pytest.raises(ModelError, match="expected 3"):
        install_model_file(user_file, name="sized")
    assert _cache_files() == []


def test_model_without_checksum_or_size_installs_unverified(
    user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Like midas_large: nothing published to check against; the digest is reported.
    loose = ModelRecord(name="loose", filename="loose.onnx", input_size=(8, 6))
    monkeypatch.setattr(records, "KNOWN_MODELS", {"loose": loose})
    result = install_model_file(user_file, name="loose")
    assert not result.verified and result.sha256 == file_sha256(user_file)
    assert _cache_files() == ["loose.onnx"]


def test_unknown_file_is_refused_with_a_hint(user_file: Path) -> None:
    with pytest.raises(ModelError) as caught:
        install_model_file(user_file)
    message = str(caught.value)
    assert "is that of no known model" in message and "--record" in message
    assert "midas_small" in message and "\n" not in message
    assert "--name) if it is midas_large, whose checksum is not published" in message
    assert _cache_files() == []


def test_missing_file_unknown_name_and_both_claims(
    user_file: Path, tiny: ModelRecord, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        install_model_file(tmp_path / "nothing.onnx")
    with pytest.raises(ModelError, match=r"unknown model 'tiny_xl'; known models: .*midas_small"):
        install_model_file(user_file, name="tiny_xl")
    with pytest.raises(ParameterError, match="not both"):
        install_model_file(user_file, name="tiny", record=tmp_path / "r.toml")
    assert _cache_files() == []


def test_a_broken_copy_leaves_nothing(
    user_file: Path, tiny: ModelRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_copy(source: Path, copy: object) -> str:
        copy.write(source.read_bytes()[:10])  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    monkeypatch.setattr(install, "_copy_and_hash", half_copy)
    with pytest.raises(KeyboardInterrupt):
        install_model_file(user_file)
    assert _cache_files() == []


def test_a_bad_file_in_the_cache_is_replaced(user_file: Path, tiny: ModelRecord) -> None:
    stale = cache_dir() / "tiny.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"truncated")
    install_model_file(user_file)
    assert stale.read_bytes() == user_file.read_bytes() and _cache_files() == ["tiny.onnx"]


def test_the_cached_file_itself_is_checked_not_copied(user_file: Path, tiny: ModelRecord) -> None:
    installed = install_model_file(user_file).path
    inode = installed.stat().st_ino
    for claim in ({}, {"name": "tiny"}):
        again = install_model_file(installed, **claim)
        assert again.path == installed and again.verified and _cache_files() == ["tiny.onnx"]
        assert installed.stat().st_ino == inode  # the very same file, not a copy over it


def test_installed_file_gets_the_usual_permissions(user_file: Path, tiny: ModelRecord) -> None:
    user_file.chmod(0o600)
    probe = cache_dir() / "probe"
    probe.parent.mkdir(parents=True)
    probe.write_bytes(b"")  # a file made the ordinary way, under this process's umask
    installed = install_model_file(user_file).path
    assert installed.stat().st_mode & 0o777 == probe.stat().st_mode & 0o777


# A user's record (as load_model_record reads it) for a network depthfx does not know.
USER_RECORD = record_toml(
    ModelRecord(name="mine", filename="mine.onnx", input_size=(8, 6)), file="mine.onnx"
)


def _user_record(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "usb" / "mine.toml"
    path.write_text(USER_RECORD + extra)
    return path  # its "file" does not exist: only the description is used


def test_user_record_installs_file_and_a_record_pointing_at_it(
    user_file: Path, tmp_path: Path
) -> None:
    result = install_model_file(user_file, record=_user_record(tmp_path))
    assert result.path == cache_dir() / "mine.onnx" and _cache_files() == ["mine.onnx", "mine.toml"]
    # The record had no sha256: the copy written to the cache pins the installed file's.
    assert not result.verified and result.record_path == cache_dir() / "mine.toml"
    cached = load_model_record(result.record_path)
    assert cached.path == result.path and cached.sha256 == file_sha256(user_file)
    assert cached.input_size == (8, 6) and cached.name == "mine"
    depth = estimate_depth(np.full((6, 8, 3), 0.5, np.float32), model=str(result.record_path))
    assert depth.shape == (6, 8)


def test_user_record_with_a_checksum(user_file: Path, tmp_path: Path) -> None:
    good = _user_record(tmp_path, f'sha256 = "{file_sha256(user_file)}"\n')
    assert install_model_file(user_file, record=good).verified
    bad = _user_record(tmp_path, f'sha256 = "{"1" * 64}"\n')
    (cache_dir() / "mine.onnx").unlink()
    (cache_dir() / "mine.toml").unlink()
    with pytest.raises(ModelError, match="checksum mismatch for model 'mine'"):
        install_model_file(user_file, record=bad)
    assert _cache_files() == []


def test_user_record_may_not_take_a_known_models_file_name(user_file: Path, tmp_path: Path) -> None:
    record = _user_record(tmp_path)
    record.write_text(record.read_text().replace("mine.onnx", "model-small.onnx"))
    with pytest.raises(ModelError, match="that of the known model 'midas_small'"):
        install_model_file(user_file, record=record)
    assert _cache_files() == []
