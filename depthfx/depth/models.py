"""Depth model records, model files on disk, and checksum-verified downloads.

A :class:`ModelRecord` says everything needed to run one ONNX depth network correctly:
where to get the file and how to check it, the input size, the preprocessing, and what the
output means. depthfx ships records for a few public networks (:data:`KNOWN_MODELS`); a
user describes any other network with a small TOML file (:func:`load_model_record`).

Model files are looked up in this order:

1. an explicit path (``--model path/to/model.onnx`` or the ``file`` of a TOML record);
2. ``$DEPTHFX_MODEL_DIR/<filename>``;
3. the cache folder: ``$DEPTHFX_CACHE/models``, else the platform's user cache folder
   (``~/.cache/depthfx/models`` on Linux, ``~/Library/Caches/depthfx/models`` on macOS,
   ``%LOCALAPPDATA%\\depthfx\\Cache\\models`` on Windows).

Nothing is downloaded unless asked for (``download=True``, ``--download`` or
``depthfx models download``), and never when ``DEPTHFX_OFFLINE=1``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, Literal

from ..errors import DownloadError, ModelError

OutputKind = Literal["inverse_depth", "depth", "metric_depth"]
OUTPUT_KINDS: tuple[str, ...] = ("inverse_depth", "depth", "metric_depth")
CHANNEL_ORDERS: tuple[str, ...] = ("RGB", "BGR")
ProgressCallback = Callable[[str, float], None]

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0
_USER_AGENT = "depthfx-model-download/0.1"


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

_BUILTIN: tuple[ModelRecord, ...] = (
    ModelRecord(
        name="midas_small",
        filename="model-small.onnx",
        url="https://github.com/isl-org/MiDaS/releases/download/v2_1/model-small.onnx",
        sha256="2d8c6cb8f415229daf1eb041024208e2608c9f98e17c81cc7c6ecb449c56fd58",
        size=66_764_249,
        input_size=(256, 256),
        output_kind="inverse_depth",
        licence="MIT",
        description=f"{_MIDAS_NOTE}; small, fast, 256x256",
    ),
    ModelRecord(
        name="midas_large",
        filename="model-f6b98070.onnx",
        url="https://github.com/isl-org/MiDaS/releases/download/v2_1/model-f6b98070.onnx",
        sha256=None,  # not published anywhere we could find; see the note above
        size=None,
        input_size=(384, 384),
        output_kind="inverse_depth",
        licence="MIT",
        description=f"{_MIDAS_NOTE}; large (about 400 MB), 384x384; checksum not published",
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


# --------------------------------------------------------------------------- folders


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """True when ``DEPTHFX_OFFLINE`` forbids network use."""
    return _env_flag("DEPTHFX_OFFLINE")


def cache_dir() -> Path:
    """The folder downloaded models go to (it may not exist yet).

    ``$DEPTHFX_CACHE/models`` when set, else the platform's user cache folder.

    Examples
    --------
    >>> cache_dir().name
    'models'
    """
    configured = os.environ.get("DEPTHFX_CACHE")
    if configured:
        return Path(configured).expanduser() / "models"
    home = Path.home()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else home / "AppData" / "Local"
        return base / "depthfx" / "Cache" / "models"
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "depthfx" / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else home / ".cache"
    return base / "depthfx" / "models"


def model_dirs() -> list[Path]:
    """Folders searched for a model file by name, in order."""
    folders = []
    configured = os.environ.get("DEPTHFX_MODEL_DIR")
    if configured:
        folders.append(Path(configured).expanduser())
    folders.append(cache_dir())
    return folders


def find_model_file(record: ModelRecord) -> Path | None:
    """The first existing file for ``record`` (explicit path, model dir, cache), or None."""
    if record.path is not None:
        return record.path if record.path.is_file() else None
    for folder in model_dirs():
        candidate = folder / record.filename
        if candidate.is_file():
            return candidate
    return None


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
    images = [shape for shape in onnx_input_shapes(path) if len(shape) == 4]
    if images:
        height, width = images[0][2], images[0][3]
        if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
            return (width, height), 0
        return (384, 384), 32
    return (384, 384), 0


def _with_path(record: ModelRecord, path: Path) -> ModelRecord:
    return replace(record, path=path, source=str(path))


def load_model_record(path: str | os.PathLike[str]) -> ModelRecord:
    """Read a user's model record from a TOML file.

    Required keys: ``file`` (the .onnx, relative to the TOML file), ``input_size``
    ([width, height]), ``scale``, ``mean``, ``std``, ``channel_order`` ("RGB"/"BGR"),
    ``output_kind`` ("inverse_depth", "depth", "metric_depth"). Optional: ``name``, ``url``,
    ``sha256``, ``size``, ``input_multiple``, ``output_name``, ``licence``, ``description``.

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
    if not model_file.is_file():
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


def model_path(
    model: str | os.PathLike[str] | ModelRecord,
    *,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> tuple[ModelRecord, Path]:
    """The record and the local file for ``model``, downloading it only if ``download``.

    Raises
    ------
    ModelError
        The file is not on disk and ``download`` is False; the message gives the URL, the
        folder to put the file in, and the command that downloads it.
    DownloadError
        The download failed or the file failed its checksum.
    """
    record = get_model_record(model)
    found = find_model_file(record)
    if found is not None:
        return record, found
    if record.path is not None:
        raise ModelError(f"{record.path}: model file not found")
    if not download:
        raise ModelError(
            f"model {record.name!r} is not downloaded: run `depthfx models download {record.name}` "
            f"(or pass --download), or put {record.filename} from {record.url} in {cache_dir()}"
        )
    return record, download_model(record, progress=progress)


# --------------------------------------------------------------------------- checksums


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- ONNX shapes
#
# Just enough protobuf reading to get the declared input shape of an ONNX file without the
# onnx package: ModelProto.graph (7) -> GraphProto.input (11) -> ValueInfoProto.type (2) ->
# TypeProto.tensor_type (1) -> shape (2) -> dim (1) -> dim_value (1) | dim_param (2).


def _varint(buffer: Any, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _message_fields(
    buffer: Any, start: int, end: int
) -> Iterator[tuple[int, int | tuple[int, int]]]:
    """(field number, varint value or (start, end) of a length-delimited field)."""
    position = start
    while position < end:
        key, position = _varint(buffer, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = _varint(buffer, position)
            yield number, value
        elif wire_type == 2:
            length, position = _varint(buffer, position)
            yield number, (position, position + length)
            position += length
        elif wire_type == 1:
            position += 8
        elif wire_type == 5:
            position += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    if position != end:
        raise ValueError("truncated protobuf message")


def _sub(buffer: Any, span: int | tuple[int, int], number: int) -> Iterator[tuple[int, int]]:
    if isinstance(span, tuple):
        for field_number, value in _message_fields(buffer, *span):
            if field_number == number and isinstance(value, tuple):
                yield value


def onnx_input_shapes(path: str | os.PathLike[str]) -> list[tuple[int | str | None, ...]]:
    """Declared shapes of an ONNX file's graph inputs (ints, symbolic names or None).

    Returns an empty list when the file cannot be read this way (cv2 then decides).

    Examples
    --------
    >>> onnx_input_shapes("pydnet_pp.onnx")  # doctest: +SKIP
    [(1, 3, 448, 640)]
    """
    import mmap

    shapes: list[tuple[int | str | None, ...]] = []
    try:
        with (
            open(path, "rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            for graph in _sub(data, (0, len(data)), 7):
                for value_info in _sub(data, graph, 11):
                    dims: list[int | str | None] = []
                    for type_proto in _sub(data, value_info, 2):
                        for tensor in _sub(data, type_proto, 1):
                            for shape in _sub(data, tensor, 2):
                                for dim in _sub(data, shape, 1):
                                    size: int | str | None = None
                                    for number, value in _message_fields(data, *dim):
                                        if number == 1 and isinstance(value, int):
                                            size = value
                                        elif number == 2 and isinstance(value, tuple):
                                            size = bytes(data[value[0] : value[1]]).decode(
                                                "utf-8", "replace"
                                            )
                                    dims.append(size)
                    shapes.append(tuple(dims))
    except (OSError, ValueError, IndexError):
        return []
    return shapes


def check_input_size(record: ModelRecord, path: Path) -> None:
    """Compare the record's input size with the image input the ONNX file declares.

    Fully convolutional networks run at any size, so a wrong ``input_size`` would not fail
    at inference; it would silently give worse depth. Inputs with symbolic sizes pass.

    Raises
    ------
    ModelError
        The network declares a fixed image size that the record does not match.
    """
    # The image is the first rank-4 (NCHW) input; older exports also list weights as inputs.
    images = [shape for shape in onnx_input_shapes(path) if len(shape) == 4]
    if not images:
        return
    height, width = images[0][2], images[0][3]
    if not (isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0):
        return
    if record.input_multiple == 0 and record.input_size != (width, height):
        raise ModelError(
            f"{record.source}: input_size is {record.input_size[0]}x{record.input_size[1]} but "
            f"{path.name} expects {width}x{height}; set input_size = [{width}, {height}]"
        )
    if record.input_multiple > 0:
        raise ModelError(
            f"{record.source}: input_multiple is {record.input_multiple} (variable input) but "
            f"{path.name} has a fixed {width}x{height} input; set input_size = [{width}, {height}] "
            "and input_multiple = 0"
        )


def verify_model_file(record: ModelRecord, path: Path) -> None:
    """Check ``path`` against the record's sha256 (or size, when no sha256 is published).

    Raises
    ------
    ModelError
        The file does not match; the message says what to do.
    """
    if record.sha256 is not None:
        actual = file_sha256(path)
        if actual != record.sha256:
            raise ModelError(
                f"{path}: checksum mismatch for model {record.name!r} (sha256 {actual[:12]}…, "
                f"expected {record.sha256[:12]}…); the file is corrupt or another version: "
                "delete it and download it again, or describe it with a TOML model record"
            )
    elif record.size is not None and path.stat().st_size != record.size:
        raise ModelError(
            f"{path}: {path.stat().st_size} bytes, expected {record.size} for model {record.name!r}; "
            "delete it and download it again"
        )


# --------------------------------------------------------------------------- download


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download_model_file` did."""

    path: Path
    sha256: str
    verified: bool
    resumed_from: int


def download_model(
    model: str | ModelRecord,
    *,
    folder: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download a model file into the cache folder (or ``folder``); return its path.

    See :func:`download_model_file` for the details.

    Examples
    --------
    >>> path = download_model("midas_small")  # doctest: +SKIP
    """
    return download_model_file(model, folder=folder, progress=progress).path


def download_model_file(
    model: str | ModelRecord,
    *,
    folder: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> DownloadResult:
    """Download, verify and install a model file.

    The data goes to ``<filename>.part`` in the target folder; an interrupted download
    resumes from there (HTTP ``Range``) when the server allows it, else it restarts. When
    complete, the file is checked against the record's sha256 (or size) and renamed into
    place atomically, so a model file in the folder is always whole.

    Raises
    ------
    DownloadError
        Offline (``DEPTHFX_OFFLINE=1``), the server or network failed, the download is
        short, or the checksum does not match (the partial file is then removed). The
        message names the URL and the folder to put the file in by hand.
    """
    record = get_model_record(model)
    target_dir = Path(folder) if folder is not None else cache_dir()
    by_hand = f"download {record.url} yourself and put it in {target_dir} as {record.filename}"
    if record.url is None:
        raise DownloadError(f"model {record.name!r} has no download URL")
    if offline():
        raise DownloadError(
            f"cannot download model {record.name!r}: DEPTHFX_OFFLINE is set; {by_hand}"
        )
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(
            f"cannot create the model folder {target_dir} ({exc.strerror or exc})"
        ) from exc
    final = target_dir / record.filename
    part = target_dir / f"{record.filename}.part"
    try:
        with _exclusive(part, record) as handle:
            resumed_from, expected_total = _fetch(record, handle, part, by_hand, progress)
            handle.flush()
            os.fsync(handle.fileno())
    except _DownloadBusyError:
        raise
    except DownloadError:
        # Keep a partial file to resume from, but not an empty one.
        with contextlib.suppress(OSError):
            if part.stat().st_size == 0:
                part.unlink()
        raise
    received = part.stat().st_size
    if expected_total is not None and received != expected_total:
        raise DownloadError(
            f"download of {record.url} stopped at {received} of {expected_total} bytes; "
            "run the same command again to resume"
        )
    actual = file_sha256(part)
    if record.sha256 is not None and actual != record.sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {record.url}: got sha256 {actual}, expected {record.sha256}; "
            "the download was removed"
        )
    if record.sha256 is None and record.size is not None and received != record.size:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{record.url} gave {received} bytes, expected {record.size}; the download was removed"
        )
    os.replace(part, final)
    if progress is not None:
        progress(f"downloaded {record.filename}", 1.0)
    return DownloadResult(
        path=final, sha256=actual, verified=record.sha256 is not None, resumed_from=resumed_from
    )


class _DownloadBusyError(DownloadError):
    """Another process is downloading the same file into the same folder."""


@contextlib.contextmanager
def _exclusive(part: Path, record: ModelRecord) -> Iterator[BinaryIO]:
    """Open the partial file for appending, refusing a second concurrent download."""
    handle = open(part, "ab")  # noqa: SIM115 - closed below
    try:
        if sys.platform != "win32":
            import fcntl

            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise _DownloadBusyError(
                    f"another download of model {record.name!r} into {part.parent} is running"
                ) from None
        yield handle
    finally:
        handle.close()


def _fetch(
    record: ModelRecord,
    handle: BinaryIO,
    part: Path,
    by_hand: str,
    progress: ProgressCallback | None,
) -> tuple[int, int | None]:
    """Stream the URL into ``handle``; return (bytes resumed from, expected total or None)."""
    assert record.url is not None
    have = part.stat().st_size
    headers = {"User-Agent": _USER_AGENT}
    if have > 0:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(record.url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have > 0:
            # Range not satisfiable: the partial file is already complete.
            return have, None
        raise DownloadError(
            f"could not download {record.url} (HTTP {exc.code} {exc.reason}); {by_hand}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"could not download {record.url} ({reason}); {by_hand}") from None
    with response:
        status = getattr(response, "status", None)
        length_header = response.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None
        if have > 0 and status == 206:
            resumed_from = have
        else:
            # The server sent the whole file (no Range support, or a file:// URL): restart.
            handle.seek(0)
            handle.truncate()
            resumed_from = 0
        total = resumed_from + length if length is not None else record.size
        done = resumed_from
        try:
            while chunk := response.read(_CHUNK):
                handle.write(chunk)
                done += len(chunk)
                if progress is not None:
                    fraction = min(done / total, 1.0) if total else 0.0
                    progress(_progress_text(record.filename, done, total), fraction)
        except (OSError, urllib.error.URLError) as exc:
            raise DownloadError(
                f"download of {record.url} broke off at {done} bytes ({exc}); run the same command "
                "again to resume"
            ) from None
    expected = resumed_from + length if length is not None else None
    return resumed_from, expected


def _progress_text(filename: str, done: int, total: int | None) -> str:
    megabytes = 1024 * 1024
    if total:
        return f"downloading {filename} ({done / megabytes:.1f} of {total / megabytes:.1f} MB)"
    return f"downloading {filename} ({done / megabytes:.1f} MB)"


__all__ = [
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "DownloadResult",
    "ModelRecord",
    "cache_dir",
    "check_input_size",
    "download_model",
    "download_model_file",
    "file_sha256",
    "find_model_file",
    "get_model_record",
    "known_model_names",
    "load_model_record",
    "model_dirs",
    "model_path",
    "offline",
    "onnx_input_shapes",
    "verify_model_file",
]
