"""Shipped model records, records for bare ONNX files, TOML records."""

from __future__ import annotations

from pathlib import Path

import pytest

from depthfx.depth.models.records import (
    KNOWN_MODELS,
    ModelRecord,
    get_model_record,
    load_model_record,
    record_for_sha256,
    record_toml,
)
from depthfx.errors import ModelError

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


def test_record_for_sha256_finds_only_published_digests() -> None:
    small = KNOWN_MODELS["midas_small"]
    assert record_for_sha256(str(small.sha256).upper()) is small
    assert record_for_sha256("0" * 64) is None


def test_record_toml_reads_back_to_the_same_record(tmp_path: Path) -> None:
    for record in (
        load_model_record(_toml_with_net(tmp_path)),
        KNOWN_MODELS["depth_anything_v2_small"],
    ):
        path = tmp_path / "copy" / f"{record.name}.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(record_toml(record, file=record.filename))
        again = load_model_record(path, require_file=False)
        assert again == record and again.path == path.parent / record.filename


def test_record_with_a_missing_file_loads_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "lonely.toml"
    path.write_text(GOOD_TOML)
    record = load_model_record(path, require_file=False)
    assert record.filename == "mine.onnx" and record.path == tmp_path / "nets" / "mine.onnx"
