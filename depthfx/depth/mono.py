"""Depth from a single photo: an ONNX depth network run through OpenCV's ``cv2.dnn``.

The network runs at its own input size (a few hundred pixels), whatever the photo's size;
its output is turned into nearness (larger = nearer) and brought back to the photo's full
resolution with photo-guided upsampling, so depth edges follow the photo's edges.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..depthmap import DepthMap
from ..errors import ModelError
from ..image import as_float_image, linear_to_srgb, luminance, split_alpha
from .models import (
    DEFAULT_MODEL,
    ModelRecord,
    ProgressCallback,
    check_input_size,
    get_model_record,
    model_path,
    verify_model_file,
)

# Depth-in-metres outputs are clamped here before inversion (1 mm): zero or negative
# metric depth is a network artefact, not a point on the lens.
_MIN_METRIC_DEPTH_M = 1e-3
# A variable-size network never gets an input side longer than this many times its short
# side, so a panorama does not blow up memory.
_MAX_ASPECT = 4


@dataclass
class _LoadedNet:
    net: cv2.dnn.Net
    # cv2.dnn.Net is not safe to run from two threads at once.
    lock: threading.Lock
    output_names: tuple[str, ...]


_NETS: dict[tuple[str, int, int, str | None], _LoadedNet] = {}
_NETS_LOCK = threading.Lock()


def estimate_depth(
    image: np.ndarray,
    *,
    model: str | os.PathLike[str] | ModelRecord = DEFAULT_MODEL,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> DepthMap:
    """Estimate the relative depth of a single photo with a monocular depth network.

    Parameters
    ----------
    image : ndarray, float32, (H, W, 3) or (H, W, 4)
        The photo in linear light, [0, 1] (alpha, if any, is ignored). It is encoded to
        sRGB for the network, as the networks were trained on ordinary 8-bit photos.
    model : str, path or ModelRecord
        A known model name (``depthfx models list``), a ``.toml`` model record, or an
        ``.onnx`` file. See :func:`depthfx.depth.models.get_model_record`.
    download : bool
        Download a known model that is not on disk yet. Without it a missing model is a
        :class:`ModelError` that says how to get it.
    progress : callable(stage, fraction), optional
        Progress reports (download, inference, upsampling).

    Returns
    -------
    DepthMap
        ``units="relative"``, the photo's size, confidence 1 where the network gave a
        finite value. Nearness is the network's inverse depth as it is; a depth-like
        output is inverted (``1 / depth`` when all values are positive, else
        ``max - depth``); a metric output gives ``nearness = 1 / depth_m`` with
        ``metric_scale = 1`` so :meth:`DepthMap.depth_m` returns metres.

    Raises
    ------
    ModelError
        Unknown model, missing or corrupt file, or a network that does not run with its
        record's input size.
    DownloadError
        ``download=True`` and the download failed.

    Examples
    --------
    >>> photo = depthfx.read_image("portrait.jpg")  # doctest: +SKIP
    >>> depth = estimate_depth(photo.pixels, model="midas_small")  # doctest: +SKIP
    >>> depth.shape == photo.shape  # doctest: +SKIP
    True
    """
    rgb, _ = split_alpha(as_float_image(image))
    height, width = rgb.shape[:2]
    record = get_model_record(model)
    record, path = model_path(record, download=download, progress=progress)
    if progress is not None:
        progress(f"loading {record.name}", 0.0)
    loaded = _load_net(record, path)
    input_width, input_height = network_input_size(record, height, width)
    blob = preprocess(rgb, record, (input_width, input_height))
    if progress is not None:
        progress(f"running {record.name} at {input_width}x{input_height}", 0.1)
    output = _run(loaded, record, path, blob)
    if progress is not None:
        progress("upsampling depth to the photo", 0.8)
    finite = np.isfinite(output)
    if not finite.any():
        raise ModelError(
            f"model {record.name!r} produced no finite values; check its preprocessing"
        )
    if not finite.all():
        output = np.where(finite, output, np.median(output[finite])).astype(np.float32)
    nearness, metric_scale = output_to_nearness(output, record.output_kind)
    small = DepthMap(
        nearness=nearness,
        confidence=finite.astype(np.float32),
        metric_scale=metric_scale,
        units="relative",
    )
    # The guide only needs edges: sRGB-encoded luminance, cheaper than colour at full size.
    guide = linear_to_srgb(np.clip(luminance(rgb), 0.0, 1.0))
    depth = small.resized((height, width), guide=guide)
    if progress is not None:
        progress("done", 1.0)
    return depth


def network_input_size(record: ModelRecord, height: int, width: int) -> tuple[int, int]:
    """The (width, height) the network runs at for a photo of ``height`` x ``width``.

    Fixed-size networks get ``record.input_size`` (the photo is stretched, as the model
    authors' own scripts do). Variable-size networks keep the photo's aspect ratio with
    the short side at ``min(input_size)``, both sides rounded to ``input_multiple``.

    Examples
    --------
    >>> from depthfx.depth.models import KNOWN_MODELS
    >>> network_input_size(KNOWN_MODELS["depth_anything_v2_small"], 3000, 4000)
    (686, 518)
    """
    if record.input_multiple == 0:
        return record.input_size
    multiple = record.input_multiple
    short = min(record.input_size)
    scale = short / min(height, width)
    limit = _MAX_ASPECT * short

    def side(length: int) -> int:
        rounded = round(min(length * scale, limit) / multiple) * multiple
        return max(multiple, int(rounded))

    return side(width), side(height)


def preprocess(rgb: np.ndarray, record: ModelRecord, size: tuple[int, int]) -> np.ndarray:
    """The network input blob (1, 3, h, w) float32 for linear ``rgb`` at ``size`` = (w, h).

    The photo is resized in linear light (area averaging when shrinking, bicubic when
    enlarging), encoded to sRGB 0..255 values ``v``, then ``(v * scale - mean) / std`` per
    channel in the record's channel order.
    """
    width, height = size
    shrinking = width <= rgb.shape[1] and height <= rgb.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    resized = cv2.resize(np.ascontiguousarray(rgb), (width, height), interpolation=interpolation)
    encoded = linear_to_srgb(np.clip(resized, 0.0, 1.0)) * np.float32(255.0)
    if record.channel_order == "BGR":
        encoded = encoded[:, :, ::-1]
    mean = np.asarray(record.mean, dtype=np.float32)
    std = np.asarray(record.std, dtype=np.float32)
    normalized = (encoded * np.float32(record.scale) - mean) / std
    return np.ascontiguousarray(normalized.transpose(2, 0, 1)[None], dtype=np.float32)


def output_to_nearness(output: np.ndarray, kind: str) -> tuple[np.ndarray, float | None]:
    """Turn a network output into (nearness, metric_scale).

    ``inverse_depth`` is nearness already. ``depth`` (relative, larger = farther) becomes
    ``1 / depth`` when every value is positive, which is disparity-like, as effects expect;
    with zero or negative values (an unknown shift) it falls back to ``max - depth``, which
    keeps the order. ``metric_depth`` becomes ``1 / depth_m`` with ``metric_scale = 1``.

    Examples
    --------
    >>> near, scale = output_to_nearness(np.array([[1.0, 4.0]], np.float32), "depth")
    >>> near.tolist(), scale
    ([[1.0, 0.25]], None)
    """
    output = np.asarray(output, dtype=np.float32)
    if kind == "inverse_depth":
        return output, None
    if kind == "metric_depth":
        return (1.0 / np.maximum(output, np.float32(_MIN_METRIC_DEPTH_M))).astype(np.float32), 1.0
    if kind == "depth":
        if float(output.min()) > 0:
            return (1.0 / output).astype(np.float32), None
        return (output.max() - output).astype(np.float32), None
    raise ModelError(f"unknown output kind {kind!r}")


def clear_model_cache() -> None:
    """Forget the networks loaded so far (they are otherwise kept for the process)."""
    with _NETS_LOCK:
        _NETS.clear()


def loaded_model_count() -> int:
    """How many networks are loaded in this process."""
    return len(_NETS)


# --------------------------------------------------------------------------- internals


def _cv_reason(exc: BaseException) -> str:
    """The useful last line of an OpenCV error, shortened to fit a one-line message."""
    text = " ".join(str(exc).split())
    marker = "error: (-"
    if marker in text:
        text = text[text.index(marker) :]
    return text[:200]


@contextlib.contextmanager
def _quiet_opencv() -> Iterator[None]:
    """Keep OpenCV's multi-line error logs off stderr: the failure becomes a ModelError."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is None:
        yield
        return
    level = logging.getLogLevel()
    logging.setLogLevel(logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging.setLogLevel(level)


def _load_net(record: ModelRecord, path: Path) -> _LoadedNet:
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file ({exc.strerror or exc})") from exc
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, record.sha256)
    with _NETS_LOCK:
        loaded = _NETS.get(key)
        if loaded is not None:
            return loaded
        verify_model_file(record, path)
        check_input_size(record, path)
        try:
            with _quiet_opencv():
                net = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as exc:
            raise ModelError(f"{path}: not a valid ONNX model ({_cv_reason(exc)})") from None
        if net is None or net.empty():
            raise ModelError(f"{path}: not a valid ONNX model (OpenCV loaded an empty network)")
        output_names = tuple(net.getUnconnectedOutLayersNames())
        if record.output_name is not None and record.output_name not in output_names:
            raise ModelError(
                f"{record.source}: output {record.output_name!r} is not an output of {path.name}; "
                f"its outputs are {', '.join(output_names)}"
            )
        loaded = _LoadedNet(net=net, lock=threading.Lock(), output_names=output_names)
        _NETS[key] = loaded
        return loaded


def _run(loaded: _LoadedNet, record: ModelRecord, path: Path, blob: np.ndarray) -> np.ndarray:
    height, width = blob.shape[2:]
    with loaded.lock:
        loaded.net.setInput(blob)
        try:
            with _quiet_opencv():
                raw = (
                    loaded.net.forward(record.output_name)
                    if record.output_name
                    else loaded.net.forward()
                )
        except cv2.error as exc:
            what = "input_size/input_multiple" if record.input_multiple else "input_size"
            raise ModelError(
                f"model {record.name!r} ({path.name}) does not run on a {width}x{height} input; "
                f"the {what} in its record ({record.source}) is probably wrong ({_cv_reason(exc)})"
            ) from None
    output = np.asarray(raw, dtype=np.float32)
    while output.ndim > 2 and output.shape[0] == 1:
        output = output[0]
    if output.ndim != 2 or min(output.shape) < 2:
        raise ModelError(
            f"model {record.name!r} gave an output of shape {tuple(np.shape(raw))}, "
            "not a single depth map; check output_name in its record"
        )
    return output


__all__ = [
    "clear_model_cache",
    "estimate_depth",
    "loaded_model_count",
    "network_input_size",
    "output_to_nearness",
    "preprocess",
]
