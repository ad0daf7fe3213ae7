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
from pathlib import Path

import cv2
import numpy as np

from ..depthmap import DepthMap
from ..errors import ModelError, ParameterError
from ..image import as_float_image, linear_to_srgb, luminance, split_alpha
from .models import (
    DEFAULT_MODEL,
    ModelRecord,
    ProgressCallback,
    check_input_size,
    model_path,
    verify_model_file,
)

# Depth-in-metres outputs are clamped here before inversion (1 mm): zero or negative
# metric depth is a network artefact, not a point on the lens.
_MIN_METRIC_DEPTH_M = 1e-3
# A variable-size network never gets an input side longer than this many times its short
# side, so a panorama does not blow up memory.
_MAX_ASPECT = 4


class DepthSession:
    """One monocular depth network, loaded once and ready for many photos.

    Made by :func:`new_session`; holds the OpenCV network and the record that says how to
    run it. Safe to share between threads (runs are serialized: ``cv2.dnn.Net`` is not
    re-entrant); not picklable, so each worker process makes its own.

    Attributes
    ----------
    record : ModelRecord
        The model's record: input size, preprocessing, output kind.
    path : Path
        The ONNX file the network was loaded from.

    Examples
    --------
    >>> session = new_session("midas_small")  # doctest: +SKIP
    >>> depths = [session.estimate(photo.pixels) for photo in photos]  # doctest: +SKIP
    """

    def __init__(self, record: ModelRecord, path: Path) -> None:
        """Load ``path`` as the network of ``record`` (checked against its checksum and size).

        Raises
        ------
        ModelError
            The file fails its checksum, declares another input size than the record, is
            not an ONNX model OpenCV can read, or lacks the record's output.
        """
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
        self.record = record
        self.path = path
        self._net = net
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DepthSession(model={self.record.name!r}, path={str(self.path)!r})"

    def estimate(self, image: np.ndarray, *, progress: ProgressCallback | None = None) -> DepthMap:
        """Estimate the relative depth of one photo; see :func:`estimate_depth`."""
        record = self.record
        rgb, _ = split_alpha(as_float_image(image))
        height, width = rgb.shape[:2]
        input_width, input_height = network_input_size(record, height, width)
        blob = preprocess(rgb, record, (input_width, input_height))
        if progress is not None:
            progress(f"running {record.name} at {input_width}x{input_height}", 0.1)
        output = self._run(blob)
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

    def _run(self, blob: np.ndarray) -> np.ndarray:
        record = self.record
        height, width = blob.shape[2:]
        with self._lock:
            self._net.setInput(blob)
            try:
                with _quiet_opencv():
                    raw = (
                        self._net.forward(record.output_name)
                        if record.output_name
                        else self._net.forward()
                    )
            except cv2.error as exc:
                what = "input_size/input_multiple" if record.input_multiple else "input_size"
                raise ModelError(
                    f"model {record.name!r} ({self.path.name}) does not run on a {width}x{height} "
                    f"input; the {what} in its record ({record.source}) is probably wrong "
                    f"({_cv_reason(exc)})"
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


def new_session(
    model: str | os.PathLike[str] | ModelRecord | None = None,
    *,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> DepthSession:
    """Load a monocular depth network once, to estimate the depth of many photos.

    Parameters
    ----------
    model : str, path or ModelRecord, optional
        A known model name (``depthfx models list``), a ``.toml`` model record, or an
        ``.onnx`` file; default ``"midas_small"``. See
        :func:`depthfx.depth.models.get_model_record`.
    download : bool
        Download a known model that is not on disk yet. Without it a missing model is a
        :class:`ModelError` that says how to get it.
    progress : callable(stage, fraction), optional
        Progress reports while downloading and loading.

    Returns
    -------
    DepthSession
        A new session, independent of every other one (each holds its own network).

    Raises
    ------
    ModelError
        Unknown model, missing or corrupt file, a file that does not match its record.
    DownloadError
        ``download=True`` and the download failed.

    Examples
    --------
    >>> session = new_session("midas_small", download=True)  # doctest: +SKIP
    >>> session.record.input_size  # doctest: +SKIP
    (256, 256)
    >>> depth = session.estimate(photo.pixels)  # doctest: +SKIP
    """
    record, path = model_path(
        DEFAULT_MODEL if model is None else model, download=download, progress=progress
    )
    if progress is not None:
        progress(f"loading {record.name}", 0.0)
    return DepthSession(record, path)


def shared_session(
    model: str | os.PathLike[str] | ModelRecord | None = None,
    *,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> DepthSession:
    """The process's session for ``model``, made on first use, as :func:`new_session`.

    :func:`estimate_depth` without a session uses this, so calling it photo after photo
    (a batch worker does) loads the network once. There is one session per model file and
    record; it is made again when the file changes on disk (its size or time stamp).
    :func:`clear_model_cache` forgets them all.
    """
    record, path = model_path(
        DEFAULT_MODEL if model is None else model, download=download, progress=progress
    )
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read model file ({exc.strerror or exc})") from exc
    key = (str(path.resolve()), record)
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _SHARED_LOCK:
        kept = _SHARED.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        if progress is not None:
            progress(f"loading {record.name}", 0.0)
        session = DepthSession(record, path)
        _SHARED[key] = (stamp, session)
        return session


# Sessions of shared_session, by (resolved file, record): (file's (mtime, size), session).
_SHARED: dict[tuple[str, ModelRecord], tuple[tuple[int, int], DepthSession]] = {}
_SHARED_LOCK = threading.Lock()


def estimate_depth(
    image: np.ndarray,
    *,
    model: str | os.PathLike[str] | ModelRecord | None = None,
    session: DepthSession | None = None,
    download: bool = False,
    progress: ProgressCallback | None = None,
) -> DepthMap:
    """Estimate the relative depth of a single photo with a monocular depth network.

    Parameters
    ----------
    image : ndarray, float32, (H, W, 3) or (H, W, 4)
        The photo in linear light, [0, 1] (alpha, if any, is ignored). It is encoded to
        sRGB for the network, as the networks were trained on ordinary 8-bit photos.
    model : str, path or ModelRecord, optional
        A known model name (``depthfx models list``), a ``.toml`` model record, or an
        ``.onnx`` file; default ``"midas_small"``. See
        :func:`depthfx.depth.models.get_model_record`. Its network is loaded once per
        process (:func:`shared_session`).
    session : DepthSession, optional
        A network loaded with :func:`new_session`, used instead of ``model``.
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
    ParameterError
        Both ``model`` and ``session`` are given.

    Examples
    --------
    >>> photo = depthfx.read_image("portrait.jpg")  # doctest: +SKIP
    >>> depth = estimate_depth(photo.pixels, model="midas_small")  # doctest: +SKIP
    >>> depth.shape == photo.shape  # doctest: +SKIP
    True
    """
    if session is not None and model is not None:
        raise ParameterError("give a model or a session, not both")
    if session is None:
        session = shared_session(model, download=download, progress=progress)
    return session.estimate(image, progress=progress)


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
    """Forget the sessions :func:`shared_session` kept (sessions made by hand stay usable)."""
    with _SHARED_LOCK:
        _SHARED.clear()


def loaded_model_count() -> int:
    """How many sessions :func:`shared_session` keeps in this process."""
    return len(_SHARED)


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


__all__ = [
    "DepthSession",
    "clear_model_cache",
    "estimate_depth",
    "loaded_model_count",
    "network_input_size",
    "new_session",
    "output_to_nearness",
    "preprocess",
    "shared_session",
]
