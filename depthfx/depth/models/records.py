"""Model records: what one ONNX depth network is and how to run it.

A :class:`ModelRecord` says everything needed to run one ONNX depth network correctly:
where to get the file and how to check it, the input size, the preprocessing, and what the
output means. depthfx ships records for a few public networks (:data:`KNOWN_MODELS`); a
user describes any other network with a small TOML file (:func:`load_model_record`).
Where the files are kept is :mod:`.cache`'s job; getting them, :mod:`.download`'s and
:mod:`.install`'s.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from ...errors import ModelError
from .onnx_info import image_input_size

OutputKind = Literal["inverse_depth", "depth", "metric_depth"]
OUTPUT_KINDS: tuple[str, ...] = ("inverse_depth", "depth", "metric_depth")
CHANNEL_ORDERS: tuple[str, ...] = ("RGB", "BGR")


@dataclass(frozen=True)
class ModelRecord:
    """How to get, check and run one ONNX depth network.

    Preprocessing maps the photo's 8-bit-like sRGB values ``v`` (0..255, as a JPEG stores
    them) to the network input ``x = (v * scale - mean) / std`` per channel, in
    ``channel_order`` (``mean`` and ``std`` are listed in that order too), NCHW. With ``scale = 1/255``, ``mean = 0``, ``std = 1`` the network
    sees plain RGB in [0, 1]; ImageNet normalization is ``scale = 1/255``,
    ``mean = (0.485, 0.456, 0.406)``, ``std = (0.229, 0.224, 0.225)``.

    Attributes
    ----------
    name : str
        Short name used on the command line (``--model midas_small``).
    filename : str
        File name in ``$DEPTHFX_MODEL_DIR`` and the cache folder.
    url : str or None
        Where ``depthfx models download`` gets the file.
    sha256 : str or None
        Hex SHA-256 of the file. ``None`` means *not published*: the file is then checked
        only against ``size`` when that is known, and downloads report the digest they got.
    size : int or None
        File size in bytes, ``None`` when not known.
    input_size : (int, int)
        Network input (width, height) in pixels.
    input_multiple : int
        0: the input is exactly ``input_size`` (the photo is stretched to it, as the
        authors' own scripts do). > 0: the input may vary; the photo keeps its aspect
        ratio, its short side is scaled to ``min(input_size)`` and both sides are rounded
        to a multiple of this number.
    scale, mean, std, channel_order
        Preprocessing, see above.
    output_kind : {"inverse_depth", "depth", "metric_depth"}
        What the output means: relative inverse depth (larger = nearer, MiDaS), relative
        depth (larger = farther), or depth in metres.
    output_name : str or None
        The output to read; ``None`` reads the network's last output.
    licence, description : str
        Shown by ``depthfx models list``.
    path : Path or None
        An explicit file for this record (user records and ``--model file.onnx``).
    source : str
        Where the record came from, for messages: ``"built-in"`` or a file path.
    """

    name: str
    filename: str
    input_size: tuple[int, int]
    url: str | None = None
    sha256: str | None = None
    size: int | None = None
    input_multiple: int = 0
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    channel_order: Literal["RGB", "BGR"] = "RGB"
    output_kind: OutputKind = "inverse_depth"
    output_name: str | None = None
    licence: str = "unknown"
    description: str = ""
    path: Path | None = field(default=None, compare=False)
    source: str = field(default="built-in", compare=False)

    def __post_init__(self) -> None:
        label = self.source if self.source != "built-in" else f"model record {self.name!r}"
        width, height = (int(v) for v in self.input_size)
        if width < 1 or height < 1:
            raise ModelError(
                f"{label}: input_size must be two positive integers, got {self.input_size}"
            )
        object.__setattr__(self, "input_size", (width, height))
        if self.input_multiple < 0:
            raise ModelError(f"{label}: input_multiple must be >= 0, got {self.input_multiple}")
        if self.output_kind not in OUTPUT_KINDS:
            raise ModelError(
                f"{label}: output_kind must be one of {', '.join(OUTPUT_KINDS)}, got {self.output_kind!r}"
            )
        if self.channel_order not in CHANNEL_ORDERS:
            raise ModelError(
                f"{label}: channel_order must be RGB or BGR, got {self.channel_order!r}"
            )
        for key in ("mean", "std"):
            values = tuple(float(v) for v in getattr(self, key))
            if len(values) != 3:
                raise ModelError(f"{label}: {key} must have 3 values, got {len(values)}")
            object.__setattr__(self, key, values)
        if any(v == 0 for v in self.std):
            raise ModelError(f"{label}: std must not contain 0")
        if not self.scale > 0:
            raise ModelError(f"{label}: scale must be > 0, got {self.scale}")
        if self.sha256 is not None:
            digest = self.sha256.strip().lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ModelError(f"{label}: sha256 must be 64 hex digits, got {self.sha256!r}")
            object.__setattr__(self, "sha256", digest)


# --------------------------------------------------------------------------- shipped records
#
# Sources checked for every record (2026-11):
#
# MiDaS v2.1 (isl-org/MiDaS, MIT licence), release "v2_1", files linked from tf/README.md.
# Preprocessing from the authors' own code: tf/make_onnx_model.py exports
# `MidasNet_preprocessing`, whose forward() subtracts the ImageNet mean and divides by the std
# INSIDE the graph; tf/run_onnx.py then feeds utils.read_image() output (RGB / 255) resized
# with keep_aspect_ratio=False to the fixed input, its NormalizeImage line commented out. So
# the input is plain RGB in [0, 1] (normalizing again, as OpenCV's tutorial does, would
# normalize twice). The output is relative inverse depth ("The resulting inverse depth maps").
# model-small.onnx: 66,764,249 bytes, sha256 2d8c6cb8…56fd58, as listed by several
# independent projects that pin this exact URL (and whose notes agree that the graph
# normalizes internally: input "0" [1,3,256,256], output "797" [1,256,256]).
# model-f6b98070.onnx: no published sha256 could be found; one third-party listing gives
# 416,390,349 bytes, but the same listing gets the small model's size wrong, so the size is
# not trusted either and the record leaves both unknown.
#
# Depth Anything V2 Small (Apache-2.0): the ONNX export of onnx-community (Transformers.js),
# whose Hugging Face file page publishes sha256 afb6a5c2…a1df10c (99,060,839 bytes, also
# pinned by two independent projects). Its preprocessor_config.json (DPTImageProcessor):
# rescale 1/255, ImageNet mean/std, keep_aspect_ratio, ensure_multiple_of 14, size 518,
# bicubic. fabio-sim/Depth-Anything-ONNX's `dynamo.py infer` preprocesses its own export the
# same way (RGB / 255, cubic resize to 518x518, ImageNet mean/std). Output "predicted_depth":
# relative inverse depth (disparity-like, larger = nearer). That export uses dynamic input
# sizes and ONNX ops that depend on the OpenCV version; it is not tested here (no network).

_MIDAS_NOTE = "MiDaS v2.1 (Ranftl et al., TPAMI 2020); ImageNet normalization is inside the graph"

_MIDAS_RELEASE = "https://github.com/isl-org/MiDaS/releases/download/v2_1/"


def _midas(
    name: str, filename: str, side: int, *, sha256: str | None, size: int | None, note: str
) -> ModelRecord:
    """A MiDaS v2.1 record: the files differ only in size and input; the rest is shared."""
    return ModelRecord(
        name=name,
        filename=filename,
        url=_MIDAS_RELEASE + filename,
        sha256=sha256,
        size=size,
        input_size=(side, side),
        output_kind="inverse_depth",
        licence="MIT",
        description=f"{_MIDAS_NOTE}; {note}",
    )


_BUILTIN: tuple[ModelRecord, ...] = (
    _midas(
        "midas_small",
        "model-small.onnx",
        256,
        sha256="2d8c6cb8f415229daf1eb041024208e2608c9f98e17c81cc7c6ecb449c56fd58",
        size=66_764_249,
        note="small, fast, 256x256",
    ),
    _midas(
        "midas_large",
        "model-f6b98070.onnx",
        384,
        sha256=None,  # not published anywhere we could find; see the note above
        size=None,
        note="large (about 400 MB), 384x384; checksum not published",
    ),
    ModelRecord(
        name="depth_anything_v2_small",
        filename="depth-anything-v2-small.onnx",
        url="https://huggingface.co/onnx-community/depth-anything-v2-small/resolve/main/onnx/model.onnx",
        sha256="afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c",
        size=99_060_839,
        input_size=(518, 518),
        input_multiple=14,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        output_kind="inverse_depth",
        output_name="predicted_depth",
        licence="Apache-2.0",
        description="Depth Anything V2 Small (Yang et al., 2024), onnx-community export; "
        "short side 518, ImageNet-normalized",
    ),
)

KNOWN_MODELS: Mapping[str, ModelRecord] = MappingProxyType({r.name: r for r in _BUILTIN})
"""Records shipped with depthfx, by name."""

DEFAULT_MODEL = "midas_small"

# Fields of a user TOML record: required ones name the preprocessing explicitly, because a
# wrong guess there gives a plausible-looking but wrong depth map, with no error.
_TOML_REQUIRED = ("file", "input_size", "scale", "mean", "std", "channel_order", "output_kind")
_TOML_OPTIONAL = (
    "name",
    "url",
    "sha256",
    "size",
    "input_multiple",
    "output_name",
    "licence",
    "license",
    "description",
)
# What record_toml writes after name and file, in this order.
_TOML_WRITTEN = (
    "input_size",
    "input_multiple",
    "scale",
    "mean",
    "std",
    "channel_order",
    "output_kind",
    "output_name",
    "url",
    "sha256",
    "size",
    "licence",
    "description",
)


# --------------------------------------------------------------------------- records


def known_model_names() -> list[str]:
    return sorted(KNOWN_MODELS)


def _looks_like_path(spec: str) -> bool:
    lowered = spec.lower()
    return (
        "/" in spec or "\\" in spec or lowered.endswith((".onnx", ".toml")) or Path(spec).is_file()
    )


def get_model_record(model: str | os.PathLike[str] | ModelRecord) -> ModelRecord:
    """Turn ``--model`` into a record: a known name, a ``.toml`` record or an ``.onnx`` file.

    A bare ``.onnx`` file whose name matches a shipped record (``model-small.onnx``) gets
    that record. Any other bare ``.onnx`` file is assumed to be MiDaS-like: plain RGB/255
    input, relative inverse depth out, last output read; the input size is the one the file
    declares, or (for files declaring symbolic sizes) short side 384 rounded to multiples of
    32, as MiDaS's own run script does. Describe other networks with a TOML record.

    Raises
    ------
    ModelError
        Unknown name (the message lists the known ones), missing file, bad TOML record.

    Examples
    --------
    >>> get_model_record("midas_small").input_size
    (256, 256)
    """
    if isinstance(model, ModelRecord):
        return model
    spec = os.fspath(model).strip()
    if not spec:
        raise ModelError(f"model name is empty; use one of {', '.join(known_model_names())}")
    if spec in KNOWN_MODELS:
        return KNOWN_MODELS[spec]
    if not _looks_like_path(spec):
        raise ModelError(
            f"unknown model {spec!r}; known models: {', '.join(known_model_names())} "
            "(or give an .onnx file or a .toml model record)"
        )
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    if path.suffix.lower() == ".toml":
        return load_model_record(path)
    for record in KNOWN_MODELS.values():
        if record.filename == path.name:
            return _with_path(record, path)
    input_size, input_multiple = _bare_input_size(path)
    return ModelRecord(
        name=path.stem,
        filename=path.name,
        input_size=input_size,
        input_multiple=input_multiple,
        output_kind="inverse_depth",
        description="bare ONNX file, assumed MiDaS-like (RGB/255 in, inverse depth out)",
        path=path,
        source=str(path),
    )


def _bare_input_size(path: Path) -> tuple[tuple[int, int], int]:
    """Input (size, multiple) for a bare .onnx file, from its declared image input."""
    declared = image_input_size(path)
    if declared is None:
        return (384, 384), 0
    width, height = declared
    if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
        return (width, height), 0
    return (384, 384), 32


def _with_path(record: ModelRecord, path: Path) -> ModelRecord:
    return replace(record, path=path, source=str(path))


def load_model_record(path: str | os.PathLike[str], *, require_file: bool = True) -> ModelRecord:
    """Read a user's model record from a TOML file.

    Required keys: ``file`` (the .onnx, relative to the TOML file), ``input_size``
    ([width, height]), ``scale``, ``mean``, ``std``, ``channel_order`` ("RGB"/"BGR"),
    ``output_kind`` ("inverse_depth", "depth", "metric_depth"). Optional: ``name``, ``url``,
    ``sha256``, ``size``, ``input_multiple``, ``output_name``, ``licence``, ``description``.

    ``require_file=False`` accepts a record whose ``file`` does not exist (yet): ``depthfx
    models install`` reads the description of a file it is about to copy.

    Raises
    ------
    ModelError
        The file is not TOML, a key is missing, unknown or of the wrong type (the message
        names the file and the key).

    Examples
    --------
    >>> record = load_model_record("examples/models/pydnet_pp.toml")  # doctest: +SKIP
    >>> record.output_kind  # doctest: +SKIP
    'depth'
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model record not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read model record ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path}: not a valid TOML model record ({exc})") from exc
    for key in _TOML_REQUIRED:
        if key not in data:
            raise ModelError(f"{path}: model record is missing the field {key!r}")
    for key in data:
        if key not in _TOML_REQUIRED and key not in _TOML_OPTIONAL:
            allowed = ", ".join(k for k in (*_TOML_REQUIRED, *_TOML_OPTIONAL) if k != "license")
            raise ModelError(f"{path}: unknown field {key!r} in model record; fields are {allowed}")

    def typed(key: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ModelError(f"{path}: field {key!r} must be {what}, got {value!r}")
        return value

    def number_list(key: str, count: int) -> tuple[float, ...]:
        value = data[key]
        if (
            not isinstance(value, list)
            or len(value) != count
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            raise ModelError(
                f"{path}: field {key!r} must be a list of {count} numbers, got {value!r}"
            )
        return tuple(float(v) for v in value)

    model_file = Path(typed("file", str, "a path to the .onnx file")).expanduser()
    if not model_file.is_absolute():
        model_file = Path(os.path.normpath(path.parent / model_file))
    if require_file and not model_file.is_file():
        raise ModelError(f"{path}: field 'file' names {model_file}, which does not exist")
    size = number_list("input_size", 2)
    if any(v != int(v) for v in size):
        raise ModelError(
            f"{path}: field 'input_size' must be two integers [width, height], got {data['input_size']}"
        )
    options: dict[str, Any] = {}
    for key in ("url", "sha256", "output_name", "description"):
        if key in data:
            options[key] = typed(key, str, "a string")
    for key in ("licence", "license"):
        if key in data:
            options["licence"] = typed(key, str, "a string")
    for key in ("size", "input_multiple"):
        if key in data:
            options[key] = typed(key, int, "an integer")
    name = typed("name", str, "a string") if "name" in data else path.stem
    return ModelRecord(
        name=name,
        filename=model_file.name,
        input_size=(int(size[0]), int(size[1])),
        scale=float(typed("scale", (int, float), "a number")),
        mean=number_list("mean", 3),  # type: ignore[arg-type]
        std=number_list("std", 3),  # type: ignore[arg-type]
        channel_order=typed("channel_order", str, '"RGB" or "BGR"').upper(),
        output_kind=typed("output_kind", str, "a string"),
        path=model_file,
        source=str(path),
        **options,
    )


def record_for_sha256(sha256: str) -> ModelRecord | None:
    """The shipped record whose published sha256 is ``sha256``, or None.

    Examples
    --------
    >>> record_for_sha256(KNOWN_MODELS["midas_small"].sha256 or "").name
    'midas_small'
    """
    digest = sha256.strip().lower()
    for record in KNOWN_MODELS.values():
        if record.sha256 is not None and record.sha256 == digest:
            return record
    return None


def record_toml(record: ModelRecord, *, file: str) -> str:
    """``record`` as the text of a TOML model record whose ``file`` is ``file``.

    :func:`load_model_record` reads it back to an equal record.

    Examples
    --------
    >>> print(record_toml(KNOWN_MODELS["midas_small"], file="model-small.onnx"))  # doctest: +ELLIPSIS
    name = "midas_small"
    file = "model-small.onnx"
    ...
    """
    values = {"name": record.name, "file": file}
    values.update((key, getattr(record, key)) for key in _TOML_WRITTEN)
    return "".join(
        f"{key} = {_toml_value(value)}\n" for key, value in values.items() if value is not None
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # repr keeps every digit of a float; ints print as they are.
    return repr(value)


__all__ = [
    "CHANNEL_ORDERS",
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "OUTPUT_KINDS",
    "ModelRecord",
    "OutputKind",
    "get_model_record",
    "known_model_names",
    "load_model_record",
    "record_for_sha256",
    "record_toml",
]
