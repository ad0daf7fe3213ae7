"""DepthMap: what every depth source returns and every effect takes.

Depth inside depthfx is always **nearness**: disparity-like, larger = nearer. A stereo
matcher gives disparity in pixels (``units="disparity_px"``); a monocular network or a
depth picture gives relative nearness (``units="relative"``). When the scale is known,
``depth_m = metric_scale / nearness`` (for stereo, ``metric_scale = focal_px * baseline_m``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from .errors import InputError, ParameterError
from .image import apply_exif_orientation, atomic_output, check_output_path, decode_image

DEPTH_SUFFIXES = (".npy", ".npz", ".pfm", ".tif", ".tiff", ".png")
DEPTH_READ_SUFFIXES = (*DEPTH_SUFFIXES, ".jpg", ".jpeg", ".webp", ".bmp", ".exr")
Units = Literal["disparity_px", "relative"]
# Aspect ratios closer than this are treated as equal when fitting a depth map to a photo.
_ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class MatchReport:
    """How a stereo depth map was matched, and what makes it doubtful.

    Attributes
    ----------
    disparity_range : (float, float)
        The disparity range searched, in pixels of the map (both ends included).
    matched : float
        Share of the pixels with a confident match (0..1); the rest was filled in.
    warnings : tuple of str
        Reasons the result is implausible (few pixels matched, large areas filled, the
        match piling up at an end of the range); empty when it looks sound.

    Examples
    --------
    >>> report = MatchReport((0.0, 63.0), 0.12, ("only 12% of pixels matched",))
    >>> report.implausible
    True
    """

    disparity_range: tuple[float, float]
    matched: float
    warnings: tuple[str, ...] = ()

    @property
    def implausible(self) -> bool:
        return bool(self.warnings)

    def scaled(self, factor: float) -> MatchReport:
        """The same report for the map resized by ``factor`` (disparities scale with width)."""
        low, high = self.disparity_range
        return replace(self, disparity_range=(low * factor, high * factor))


@dataclass(frozen=True, eq=False)
class DepthMap:
    """Per-pixel nearness of a photo, with validity and optional metric scale.

    Attributes
    ----------
    nearness : ndarray, float32, (H, W)
        Larger = nearer. Finite everywhere (sources fill holes).
    confidence : ndarray, float32, (H, W) or None
        0 = no measurement (filled), up to 1 = fully trusted; continuous (stereo gives
        0.5..1 to measurements, by texture and agreement with their neighbours).
    metric_scale : float or None
        ``depth_m = metric_scale / nearness`` where known.
    units : {"disparity_px", "relative"}
        What nearness is measured in.
    report : MatchReport or None
        For stereo: the range searched, the share matched and any implausibility warnings.

    Examples
    --------
    >>> depth = DepthMap(np.full((4, 6), 20.0, np.float32), metric_scale=700 * 0.06)
    >>> float(depth.depth_m()[0, 0])  # 700 px focal, 6 cm baseline, 20 px disparity
    2.1
    """

    nearness: np.ndarray
    confidence: np.ndarray | None = None
    metric_scale: float | None = None
    units: Units = "relative"
    report: MatchReport | None = None

    def __post_init__(self) -> None:
        nearness = np.asarray(self.nearness, dtype=np.float32)
        if nearness.ndim != 2 or min(nearness.shape) < 1:
            raise InputError(f"depth map must be 2-D (H, W), got shape {nearness.shape}")
        object.__setattr__(self, "nearness", nearness)
        if self.confidence is not None:
            confidence = np.asarray(self.confidence, dtype=np.float32)
            if confidence.shape != nearness.shape:
                raise InputError(
                    f"confidence shape {confidence.shape} differs from depth shape {nearness.shape}"
                )
            object.__setattr__(self, "confidence", confidence)
        if self.metric_scale is not None and not self.metric_scale > 0:
            raise ParameterError(f"metric_scale must be > 0, got {self.metric_scale}")

    # ------------------------------------------------------------------ views

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width)."""
        return (int(self.nearness.shape[0]), int(self.nearness.shape[1]))

    @property
    def is_metric(self) -> bool:
        return self.metric_scale is not None

    def depth_m(self) -> np.ndarray:
        """Distance in metres along the optical axis; ``inf`` where nearness <= 0."""
        if self.metric_scale is None:
            raise ParameterError(
                "depth is not metric: give a baseline and focal length, or a calibration"
            )
        with np.errstate(divide="ignore"):
            depth = np.float32(self.metric_scale) / self.nearness
        return np.where(self.nearness > 0, depth, np.inf).astype(np.float32)

    def normalized(
        self, *, low_percentile: float = 0.5, high_percentile: float = 99.5
    ) -> np.ndarray:
        """Nearness mapped to [0, 1] (0 = farthest, 1 = nearest), robust to outliers."""
        low, high = self._level_bounds(low_percentile, high_percentile)
        values = self.nearness
        if not high > low:
            return np.zeros_like(values)
        return np.clip((values - low) / (high - low), 0.0, 1.0).astype(np.float32)

    def nearness_at_level(self, level: float) -> float:
        """The nearness that :meth:`normalized` maps to ``level`` (0 = farthest, 1 = nearest).

        Examples
        --------
        >>> DepthMap(np.linspace(2, 4, 201, dtype=np.float32)[None]).nearness_at_level(0.5)
        3.0
        """
        low, high = self._level_bounds(0.5, 99.5)
        return float(low + level * max(high - low, 0.0))

    def _level_bounds(self, low_percentile: float, high_percentile: float) -> tuple[float, float]:
        values = self.nearness
        trusted = values[self.confidence > 0.5] if self.confidence is not None else values
        if trusted.size < 16:
            trusted = values
        low, high = np.percentile(trusted, [low_percentile, high_percentile])
        # NumPy float64 scalars, not Python floats: the arithmetic on them stays float64.
        return np.float64(low), np.float64(high)

    # ------------------------------------------------------------------ resizing

    def resized(self, shape: tuple[int, int], *, guide: np.ndarray | None = None) -> DepthMap:
        """Resample to ``shape`` = (height, width).

        Disparity in pixels scales with the width, and so does the focal length in
        ``metric_scale``; relative nearness does not change. With ``guide`` (the photo at the
        target size), upsampling follows the photo's edges.
        """
        height, width = shape
        if (height, width) == self.shape:
            return self
        from .filters import guided_upsample

        x_scale = width / self.shape[1]
        value_scale = x_scale if self.units == "disparity_px" else 1.0
        enlarging = height > self.shape[0]
        if guide is not None and enlarging:
            nearness = guided_upsample(self.nearness, guide)
        else:
            interpolation = cv2.INTER_LINEAR if enlarging else cv2.INTER_AREA
            nearness = cv2.resize(self.nearness, (width, height), interpolation=interpolation)
        confidence = None
        if self.confidence is not None:
            confidence = cv2.resize(
                self.confidence, (width, height), interpolation=cv2.INTER_LINEAR
            )
        return DepthMap(
            nearness=nearness * np.float32(value_scale),
            confidence=confidence,
            metric_scale=None if self.metric_scale is None else self.metric_scale * value_scale,
            units=self.units,
            report=None if self.report is None else self.report.scaled(value_scale),
        )

    def fit_to(self, shape: tuple[int, int], *, guide: np.ndarray | None = None) -> DepthMap:
        """Match a photo of ``shape``: same size as is, resized if only the scale differs.

        Raises
        ------
        InputError
            The aspect ratios differ (the depth map belongs to another photo or a crop).
        """
        if tuple(shape) == self.shape:
            return self
        depth_aspect = self.shape[1] / self.shape[0]
        photo_aspect = shape[1] / shape[0]
        if abs(depth_aspect / photo_aspect - 1) > _ASPECT_TOLERANCE:
            raise InputError(
                f"depth map is {self.shape[1]}x{self.shape[0]} but the photo is "
                f"{shape[1]}x{shape[0]}: aspect ratios differ, so it belongs to another image"
            )
        return self.resized(shape, guide=guide)

    def with_nearness(self, nearness: np.ndarray) -> DepthMap:
        return replace(self, nearness=nearness)

    # ------------------------------------------------------------------ files

    def save(
        self, path: str | os.PathLike[str], *, inputs: tuple[os.PathLike[str] | str, ...] = ()
    ) -> Path:
        """Write the map atomically.

        ``.npy``, ``.pfm`` and ``.tif``/``.tiff`` keep float32 nearness exactly (disparity in
        pixels for stereo). ``.npz`` keeps everything: nearness, confidence, units and metric
        scale (what a depth cache needs). ``.png`` is a 16-bit picture normalized to the full
        range, white = near, for viewing; it loses the scale.
        """
        path = check_output_path(path, allowed=DEPTH_SUFFIXES, inputs=inputs)
        suffix = path.suffix.lower()
        with atomic_output(path) as temp:
            if suffix == ".npy":
                with open(temp, "wb") as handle:
                    np.save(handle, self.nearness)
            elif suffix == ".npz":
                fields: dict[str, np.ndarray] = {
                    "nearness": self.nearness,
                    "units": np.array(self.units),
                    "metric_scale": np.array(
                        np.nan if self.metric_scale is None else self.metric_scale
                    ),
                }
                if self.confidence is not None:
                    fields["confidence"] = self.confidence
                if self.report is not None:
                    fields["disparity_range"] = np.array(self.report.disparity_range)
                    fields["matched"] = np.array(self.report.matched)
                    fields["warnings"] = np.array(self.report.warnings, dtype=str)
                with open(temp, "wb") as handle:
                    np.savez(handle, **fields)  # type: ignore[arg-type]
            elif suffix == ".pfm":
                temp.write_bytes(encode_pfm(self.nearness))
            elif suffix in (".tif", ".tiff"):
                ok, buffer = cv2.imencode(".tiff", self.nearness)
                if not ok:
                    raise InputError(f"{path}: OpenCV could not encode a float TIFF")
                temp.write_bytes(buffer.tobytes())
            else:
                picture = np.round(self.normalized() * 65535).astype(np.uint16)
                ok, buffer = cv2.imencode(".png", picture)
                temp.write_bytes(buffer.tobytes())
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, near: Literal["white", "black"] = "white"
    ) -> DepthMap:
        """Read a depth or disparity file.

        Parameters
        ----------
        path : path
            ``.npy``, ``.pfm``, float ``.tif``/``.tiff``, or an 8/16-bit grey picture
            (PNG, JPEG, TIFF, WebP). Colour pictures are read through their luminance.
            ``.npz`` files written by :meth:`save` come back whole (confidence, units,
            scale); ``near`` does not apply to them.
        near : {"white", "black"}
            Which end is near. ``"white"`` (default): larger values are nearer, as in
            disparity and MiDaS-style depth pictures. ``"black"``: values are depth-like; float
            files are inverted (nearness = 1 / depth), pictures are flipped (max - value).
        """
        if near not in ("white", "black"):
            raise ParameterError(f"near must be 'white' or 'black', got {near!r}")
        path = Path(path)
        if not path.exists():
            raise InputError(f"{path}: depth file not found")
        suffix = path.suffix.lower()
        if suffix not in DEPTH_READ_SUFFIXES:
            raise InputError(
                f"{path}: unknown depth file type {suffix or '(none)'!r}; "
                f"use one of {', '.join(DEPTH_READ_SUFFIXES)}"
            )
        if suffix == ".npz":
            return _load_npz(path)
        try:
            values, is_float = _read_depth_values(path)
        except InputError:
            raise
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable depth file ({exc})") from exc
        values = values.astype(np.float32, copy=False)
        finite = np.isfinite(values)
        all_finite = bool(finite.all())
        if not all_finite and not finite.any():
            raise InputError(f"{path}: depth file has no finite values")
        if near == "black":
            if is_float:
                with np.errstate(divide="ignore"):
                    values = np.where(values > 0, 1.0 / values, 0.0).astype(np.float32)
            else:
                values = (values[finite].max() - values).astype(np.float32)
        if all_finite:
            return cls(nearness=values.astype(np.float32, copy=False))
        values = np.where(finite, values, np.nanmin(np.where(finite, values, np.nan)))
        return cls(nearness=values.astype(np.float32), confidence=finite.astype(np.float32))

    # ------------------------------------------------------------------ pictures

    def preview(self, *, colormap: int = cv2.COLORMAP_TURBO) -> np.ndarray:
        """A colour-mapped 8-bit RGB picture of nearness (warm = near)."""
        grey = np.round(self.normalized() * 255).astype(np.uint8)
        bgr = cv2.applyColorMap(grey, colormap)
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def save_preview(
        self, path: str | os.PathLike[str], *, inputs: tuple[os.PathLike[str] | str, ...] = ()
    ) -> Path:
        """Write :meth:`preview` as a PNG/JPEG atomically."""
        path = check_output_path(path, allowed=(".png", ".jpg", ".jpeg"), inputs=inputs)
        ok, buffer = cv2.imencode(
            path.suffix.lower(), cv2.cvtColor(self.preview(), cv2.COLOR_RGB2BGR)
        )
        if not ok:
            raise InputError(f"{path}: could not encode preview")
        with atomic_output(path) as temp:
            temp.write_bytes(buffer.tobytes())
        return path


def read_depth(
    path: str | os.PathLike[str], *, near: Literal["white", "black"] = "white"
) -> DepthMap:
    """Read a depth map file you already have (see :meth:`DepthMap.load`).

    Examples
    --------
    >>> depth = read_depth("photo.depth.png", near="white")  # doctest: +SKIP
    >>> depth.units
    'relative'
    """
    return DepthMap.load(path, near=near)


def as_depthmap(depth: DepthMap | np.ndarray, *, name: str = "depth") -> DepthMap:
    """Accept a DepthMap or a bare (H, W) nearness array (larger = nearer)."""
    if isinstance(depth, DepthMap):
        return depth
    array = np.asarray(depth)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise ParameterError(
            f"{name}: expected a DepthMap or an (H, W) array, got shape {array.shape}"
        )
    # No copy of a float32 map: nothing in depthfx writes into a DepthMap's arrays.
    return DepthMap(nearness=array.astype(np.float32, copy=False))


# --------------------------------------------------------------------------- formats


def _read_depth_values(path: Path) -> tuple[np.ndarray, bool]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
        if array.ndim == 3 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 2:
            raise InputError(f"{path}: expected a 2-D array, got shape {array.shape}")
        return array, True
    if suffix == ".pfm":
        return decode_pfm(path.read_bytes(), label=str(path)), True
    data = path.read_bytes()
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is not None and np.issubdtype(raw.dtype, np.floating):
        return (raw if raw.ndim == 2 else raw[:, :, 0]), True
    if raw is not None and raw.ndim == 2 and raw.dtype in (np.uint8, np.uint16):
        # A grey depth picture: its codes are the values (one decode, no colour round trip).
        top = np.float32(255 if raw.dtype == np.uint8 else 65535)
        return apply_exif_orientation(raw.astype(np.float32) / top, data), False
    photo = decode_image(data, source=path)  # applies EXIF orientation
    from .image import linear_to_srgb, luminance

    # Depth pictures store values, not light: undo the transfer curve read_image applied.
    return linear_to_srgb(luminance(photo.pixels)), False


def _load_npz(path: Path) -> DepthMap:
    try:
        with np.load(path, allow_pickle=False) as archive:
            nearness = archive["nearness"]
            confidence = archive["confidence"] if "confidence" in archive.files else None
            units = str(archive["units"]) if "units" in archive.files else "relative"
            scale = float(archive["metric_scale"]) if "metric_scale" in archive.files else np.nan
            report = None
            if "disparity_range" in archive.files:
                low, high = (float(v) for v in archive["disparity_range"])
                report = MatchReport(
                    (low, high),
                    float(archive["matched"]),
                    tuple(str(w) for w in archive["warnings"]),
                )
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: not a depthfx depth archive ({exc})") from exc
    return DepthMap(
        nearness=nearness,
        confidence=confidence,
        metric_scale=None if not np.isfinite(scale) else scale,
        units="disparity_px" if units == "disparity_px" else "relative",
        report=report,
    )


def encode_pfm(array: np.ndarray) -> bytes:
    """Portable float map, grey, little-endian, rows stored bottom-to-top."""
    array = np.asarray(array, dtype="<f4")
    header = f"Pf\n{array.shape[1]} {array.shape[0]}\n-1.0\n".encode("ascii")
    return header + np.ascontiguousarray(array[::-1]).tobytes()


def decode_pfm(data: bytes, *, label: str = "PFM") -> np.ndarray:
    """Read a grey or colour PFM (colour is reduced to its first channel)."""
    match = re.match(rb"(P[fF])\s+(\d+)\s+(\d+)\s+(-?[\d.eE+-]+)\s", data)
    if match is None:
        raise InputError(f"{label}: not a PFM file")
    channels = 3 if match.group(1) == b"PF" else 1
    width, height = int(match.group(2)), int(match.group(3))
    scale = float(match.group(4))
    dtype = "<f4" if scale < 0 else ">f4"
    body = data[match.end() :]
    count = width * height * channels
    if len(body) < count * 4:
        raise InputError(f"{label}: PFM data is truncated")
    array = np.frombuffer(body[: count * 4], dtype=dtype).reshape(height, width, channels)
    return np.ascontiguousarray(array[::-1, :, 0]).astype(np.float32)


__all__ = [
    "DEPTH_SUFFIXES",
    "DepthMap",
    "MatchReport",
    "as_depthmap",
    "decode_pfm",
    "encode_pfm",
    "read_depth",
]
