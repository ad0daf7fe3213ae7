"""Depth models: records, where their files live, downloading and installing them.

- :mod:`.records`: :class:`ModelRecord`, the shipped :data:`KNOWN_MODELS`, TOML records;
- :mod:`.cache`: the cache folder and lookup order, checksums;
- :mod:`.download`: finding or downloading a model's file, checksum-verified;
- :mod:`.install`: copying a file the user already has into the cache, checksum-checked;
- :mod:`.onnx_info`: the input shape an ONNX file declares (a minimal protobuf reader).

Every name is re-exported here, so ``from depthfx.depth.models import X`` keeps working.
"""

from __future__ import annotations

from .cache import (
    cache_dir,
    file_mismatch,
    file_sha256,
    find_model_file,
    make_model_folder,
    model_dirs,
    offline,
    verify_model_file,
)
from .download import (
    DownloadResult,
    ProgressCallback,
    download_model,
    download_model_file,
    model_path,
)
from .install import InstallResult, install_model_file
from .onnx_info import check_input_size, image_input_size, onnx_input_shapes
from .records import (
    CHANNEL_ORDERS,
    DEFAULT_MODEL,
    KNOWN_MODELS,
    OUTPUT_KINDS,
    ModelRecord,
    OutputKind,
    get_model_record,
    known_model_names,
    load_model_record,
    record_for_sha256,
    record_toml,
)

__all__ = [
    "CHANNEL_ORDERS",
    "DEFAULT_MODEL",
    "KNOWN_MODELS",
    "OUTPUT_KINDS",
    "DownloadResult",
    "InstallResult",
    "ModelRecord",
    "OutputKind",
    "ProgressCallback",
    "cache_dir",
    "check_input_size",
    "download_model",
    "download_model_file",
    "file_mismatch",
    "file_sha256",
    "find_model_file",
    "get_model_record",
    "image_input_size",
    "install_model_file",
    "known_model_names",
    "load_model_record",
    "make_model_folder",
    "model_dirs",
    "model_path",
    "offline",
    "onnx_input_shapes",
    "record_for_sha256",
    "record_toml",
    "verify_model_file",
]
