"""Rectification: make matching points of a stereo pair lie on the same row.

Three ways, picked by :func:`rectify_pair`:

* **Already rectified** (the vertical offset of matched features is below ~0.6 px and there
  is no roll): the views are returned as they are.
* **Hand-held** (uncalibrated, small motion — the usual "take a photo, step 6 cm right, take
  another"): the LEFT view stays the reference and only the RIGHT view is warped. A
  similarity (roll, zoom, vertical shift about the image centre) is fitted so matched
  features get the same row, plus, when it helps, a smooth quadratic vertical correction
  that absorbs keystone from small pan/tilt and lens differences. Horizontal positions are
  left alone apart from the similarity, so disparities stay comparable to a truly rectified
  pair and :meth:`Rectification.to_left_grid` is the identity.
* **Projective** fallback for larger motions (``cv2.stereoRectifyUncalibrated``): both views
  are warped by homographies; the disparity is mapped back to the left grid (see
  :meth:`Rectification.to_left_grid`).
* **Calibrated** (a :class:`~depthfx.depth.calibration.StereoCalibration`): ``cv2.stereoRectify``
  and ``cv2.initUndistortRectifyMap``; the metric scale ``focal_px * baseline`` is known.

Pairs that cannot be matched (too few features in common, or a rotation or zoom between the
views far beyond a stereo pair's) raise :class:`~depthfx.errors.StereoMatchError`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from ..errors import InputError, StereoMatchError
from ..image import as_float_image, linear_to_srgb, luminance
from .calibration import StereoCalibration, as_calibration

ProgressCallback = Callable[[str, float], None]
Method = Literal["identity", "hand-held", "projective", "calibrated"]

# Matching is done on a copy whose longer side is at most this: features of a 12 MP photo
# are just as well located, relative to the frame, at ~1.3 MP, and SIFT is 8x faster.
_MATCH_SIDE = 1280
# Below this median vertical offset (px of the original photo) a pair counts as rectified.
_RECTIFIED_DY = 0.6
# Rejection limits: a stereo pair's views differ by a few degrees of roll and a few % zoom.
_MAX_ROLL_DEG = 10.0
_MAX_ZOOM = 1.25
_MIN_MATCHES = 12
_MIN_INLIERS = 10

_MONO_HINT = "or estimate depth from one photo with --mono"


@dataclass(frozen=True, eq=False)
class Rectification:
    """A stereo pair warped so that matching points share a row, and the way back.

    Attributes
    ----------
    left, right : ndarray, float32, (H', W', 3)
        Rectified views in linear light, same size.
    is_identity : bool
        The pair was already rectified; ``left``/``right`` are the inputs.
    metric_scale : float or None
        ``focal_px * baseline`` in the rectified left grid when calibrated (baseline in the
        calibration's units, metres unless the file says otherwise), else None.
    method : {"identity", "hand-held", "projective", "calibrated"}
        How the pair was rectified.
    vertical_error : float
        Median ``|dy|`` of matched features after rectification, px of the original photo
        (NaN when not measured, e.g. calibrated).
    feature_disparities : ndarray (N,) float32 or None
        ``x_left - x_right`` of the matched features in the rectified grid (after outlier
        removal): a free, SIFT-quality sample of the disparity range for the matcher. None
        when calibrated (no features are matched then).
    """

    left: np.ndarray
    right: np.ndarray
    is_identity: bool
    metric_scale: float | None = None
    method: Method = "identity"
    vertical_error: float = float("nan")
    feature_disparities: np.ndarray | None = field(default=None, repr=False)
    # Original-left pixel -> rectified-left position (x, y maps), None when identical grids.
    _to_rectified: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    # Rectified disparity -> original-grid disparity factor per original pixel, or None (= 1).
    _disparity_factor: np.ndarray | None = field(default=None, repr=False)

    def to_left_grid(
        self, disparity: np.ndarray, confidence: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map disparity and confidence from the rectified grid to the original left grid.

        Identity and hand-held rectification keep the left view untouched, so the maps
        come back as they are. Projective and calibrated rectification resample them
        (nearest neighbour, so depth edges stay sharp) at the rectified position of every
        original left pixel. Pixels that fall outside the rectified frame get confidence 0
        and the nearest edge value.

        Disparity values: calibrated disparities stay in rectified pixels, so that
        ``depth = metric_scale / disparity`` holds exactly. Projective disparities are
        converted to original-left pixels with the local horizontal scale of the left
        homography (first-order: exact for the homography's own stretch, ignoring that the
        two homographies differ slightly along the disparity vector).

        Examples
        --------
        >>> rect = rectify_pair(left, right)  # doctest: +SKIP
        >>> disparity, confidence = rect.to_left_grid(rect_disparity, rect_confidence)  # doctest: +SKIP
        """
        disparity = np.asarray(disparity, dtype=np.float32)
        confidence = np.asarray(confidence, dtype=np.float32)
        expected = self.left.shape[:2]
        if disparity.shape != expected or confidence.shape != expected:
            raise InputError(
                f"disparity {disparity.shape} and confidence {confidence.shape} must have the "
                f"rectified shape {expected}"
            )
        if self._to_rectified is None:
            return disparity, confidence
        map_x, map_y = self._to_rectified
        back = cv2.remap(
            disparity, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE
        )
        trust = cv2.remap(
            confidence,
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )
        if self._disparity_factor is not None:
            back = back * self._disparity_factor
        return back.astype(np.float32, copy=False), np.clip(trust, 0.0, 1.0).astype(
            np.float32, copy=False
        )


def rectify_pair(
    left: np.ndarray,
    right: np.ndarray,
    *,
    calibration: StereoCalibration | str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Rectification:
    """Rectify a stereo pair, with a calibration when given, else from the photos themselves.

    Parameters
    ----------
    left, right : ndarray, float, (H, W, 3) or (H, W)
        The two views in linear light, same size. Extra alpha channels are ignored.
    calibration : StereoCalibration or path, optional
        Calibrated rectification (and a metric scale). Without it, the misalignment is
        measured from SIFT matches and undone as the module docstring describes.
    progress : callable(stage, fraction), optional
        Progress report.

    Returns
    -------
    Rectification

    Raises
    ------
    InputError
        The views differ in size, or the calibration file is unusable.
    StereoMatchError
        The views have too few features in common, or differ by a rotation or zoom no
        stereo pair has.

    Examples
    --------
    >>> rect = rectify_pair(left.pixels, right.pixels)  # doctest: +SKIP
    >>> rect.method, round(rect.vertical_error, 2)  # doctest: +SKIP
    ('hand-held', 0.31)
    """
    left_rgb = as_float_image(left, name="left")[:, :, :3]
    right_rgb = as_float_image(right, name="right")[:, :, :3]
    if left_rgb.shape != right_rgb.shape:
        raise InputError(
            f"left view is {left_rgb.shape[1]}x{left_rgb.shape[0]} but right view is "
            f"{right_rgb.shape[1]}x{right_rgb.shape[0]}; a stereo pair needs two views of the same size"
        )
    report = progress or (lambda stage, fraction: None)
    if calibration is not None:
        report("rectifying (calibrated)", 0.0)
        calibrated = _rectify_calibrated(left_rgb, right_rgb, as_calibration(calibration))
        report("rectifying (calibrated)", 1.0)
        return calibrated

    report("matching features", 0.0)
    height, width = left_rgb.shape[:2]
    quick = _quick_identity(left_rgb, right_rgb)
    if quick is not None:
        report("matching features", 1.0)
        return quick
    matches = match_features(left_rgb, right_rgb)
    report("matching features", 0.6)
    _check_plausible(matches)
    model = _fit_vertical_model(matches, (height, width))
    offset = float(np.median(np.abs(matches.dy)))
    # Rectified when rows already agree and the fitted correction is either tiny or no
    # better than doing nothing (a fit to a few dozen matches has noise of its own).
    spread = float(np.percentile(np.abs(matches.dy), 90))
    if offset < _RECTIFIED_DY and (
        model.largest_shift((height, width)) < _RECTIFIED_DY or spread - model.residual_p90 < 0.25
    ):
        report("matching features", 1.0)
        return Rectification(
            left=left_rgb, right=right_rgb, is_identity=True, method="identity",
            vertical_error=float(np.median(np.abs(matches.dy))),
            feature_disparities=matches.dx.astype(np.float32),
        )  # fmt: skip

    result: Rectification | None = None
    if model.residual > max(1.0, 0.0008 * width):
        result = _try_projective(left_rgb, right_rgb, matches, better_than=model.residual)
    if result is None:
        report("warping right view", 0.7)
        warped = cv2.remap(
            right_rgb,
            *model.inverse_maps((height, width)),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        result = Rectification(
            left=left_rgb, right=warped, is_identity=False, method="hand-held",
            vertical_error=model.residual, feature_disparities=model.disparities(matches),
        )  # fmt: skip
    report("rectifying", 1.0)
    return result


def _quick_identity(left: np.ndarray, right: np.ndarray) -> Rectification | None:
    """The pair as it is when fast ORB matches already lie on the same rows, else None.

    Most pairs given to depthfx are rectified (benchmarks, stereo rigs); SIFT costs several
    times the matching itself on small photos. ORB positions are whole pixels, so this only
    answers for photos matched at full size, and only when the evidence is clear: dy is 0
    for most matches and a fitted correction would move no pixel by half a pixel. Anything
    else goes to the SIFT path, which measures to a fraction of a pixel.
    """
    height, width = left.shape[:2]
    if max(height, width) > _MATCH_SIDE:
        return None
    try:
        matches = match_features(left, right, detector="orb", max_features=3000)
    except StereoMatchError:
        return None  # SIFT may still find enough; it also words the error
    if len(matches.dy) < 40 or np.median(np.abs(matches.dy)) > 0.25:
        return None
    model = _fit_vertical_model(matches, (height, width))
    if model.largest_shift((height, width)) >= 0.5 * _RECTIFIED_DY:
        return None
    return Rectification(
        left=left, right=right, is_identity=True, method="identity",
        vertical_error=float(np.mean(np.abs(matches.dy))),
        feature_disparities=matches.dx.astype(np.float32),
    )  # fmt: skip


# --------------------------------------------------------------------------- features


@dataclass(frozen=True)
class FeatureMatches:
    """Matched feature positions in original-photo pixels, fundamental-matrix inliers only."""

    left: np.ndarray  # (N, 2) x, y
    right: np.ndarray  # (N, 2)
    candidates: int  # matches that passed the ratio test
    roll_deg: float  # similarity fitted right -> left
    zoom: float

    @property
    def dy(self) -> np.ndarray:
        return self.right[:, 1] - self.left[:, 1]

    @property
    def dx(self) -> np.ndarray:
        """Disparity-like horizontal offsets: x_left - x_right."""
        return self.left[:, 0] - self.right[:, 0]


def _to_grey8(image: np.ndarray, scale: float) -> np.ndarray:
    # Reduce first: the transfer curve on 1 MP instead of 12 MP.
    grey = luminance(image)
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    encoded = linear_to_srgb(np.clip(grey, 0.0, 1.0))
    return np.asarray(np.round(encoded * 255), dtype=np.uint8)


def match_features(
    left: np.ndarray,
    right: np.ndarray,
    *,
    max_features: int = 4000,
    detector: Literal["sift", "orb"] = "sift",
) -> FeatureMatches:
    """Feature matches between the views: ratio test, then fundamental-matrix RANSAC.

    SIFT (default) locates features to a fraction of a pixel; ORB is ten times faster but
    its positions are whole pixels of its pyramid level.

    Raises
    ------
    StereoMatchError
        Fewer than a dozen features match (too little texture or overlap).

    Examples
    --------
    >>> matches = match_features(left, right)  # doctest: +SKIP
    >>> float(np.median(matches.dy))  # median vertical offset, px  # doctest: +SKIP
    9.4
    """
    height, width = left.shape[:2]
    scale = min(1.0, _MATCH_SIDE / max(height, width))
    if detector == "orb":
        finder = cv2.ORB_create(nfeatures=max_features)  # type: ignore[attr-defined]
    else:
        finder = cv2.SIFT_create(nfeatures=max_features)  # type: ignore[attr-defined]
    keys_left, desc_left = finder.detectAndCompute(_to_grey8(left, scale), None)
    keys_right, desc_right = finder.detectAndCompute(_to_grey8(right, scale), None)
    good: list[cv2.DMatch] = []
    if (
        desc_left is not None
        and desc_right is not None
        and len(keys_left) >= 2
        and len(keys_right) >= 2
    ):
        if detector == "orb":
            pairs = list(cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_left, desc_right, k=2))
        else:
            pairs = _knn_match(desc_left, desc_right)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < _MIN_MATCHES:
        raise StereoMatchError(
            f"the two views have too little texture or overlap to match ({len(good)} features "
            f"in common, need {_MIN_MATCHES}); check that they show the same scene, {_MONO_HINT}"
        )
    points_left = np.array([keys_left[m.queryIdx].pt for m in good], dtype=np.float32)
    points_right = np.array([keys_right[m.trainIdx].pt for m in good], dtype=np.float32)
    _, mask = cv2.findFundamentalMat(points_left, points_right, cv2.FM_RANSAC, 1.0, 0.999)
    inliers = mask.ravel().astype(bool) if mask is not None else np.zeros(len(good), bool)
    if inliers.sum() < _MIN_INLIERS:
        raise StereoMatchError(
            f"the two views do not match as a stereo pair (only {int(inliers.sum())} of "
            f"{len(good)} features agree on one geometry); {_MONO_HINT}"
        )
    points_left = points_left[inliers] / np.float32(scale)
    points_right = points_right[inliers] / np.float32(scale)
    similarity, _ = cv2.estimateAffinePartial2D(
        points_right, points_left, method=cv2.RANSAC, ransacReprojThreshold=3.0 / scale
    )
    roll, zoom = 0.0, 1.0
    if similarity is not None:
        roll = float(np.degrees(np.arctan2(similarity[1, 0], similarity[0, 0])))
        zoom = float(np.hypot(similarity[0, 0], similarity[1, 0]))
    return FeatureMatches(
        left=points_left, right=points_right, candidates=len(good), roll_deg=roll, zoom=zoom
    )


def _knn_match(desc_left: np.ndarray, desc_right: np.ndarray) -> list[Sequence[cv2.DMatch]]:
    """Two nearest neighbours of each left descriptor; a k-d forest for large sets (BF is
    quadratic: 1.5 s for 4000 x 4000 SIFT descriptors)."""
    if len(desc_left) * len(desc_right) < 1_000_000:
        return list(cv2.BFMatcher(cv2.NORM_L2).knnMatch(desc_left, desc_right, k=2))
    index: dict[str, bool | int | float | str] = {"algorithm": 1, "trees": 4}  # FLANN_INDEX_KDTREE
    flann = cv2.FlannBasedMatcher(index, {"checks": 64})
    return list(flann.knnMatch(desc_left, desc_right, k=2))


def _check_plausible(matches: FeatureMatches) -> None:
    zoom = max(matches.zoom, 1.0 / max(matches.zoom, 1e-6))
    if abs(matches.roll_deg) > _MAX_ROLL_DEG or zoom > _MAX_ZOOM:
        raise StereoMatchError(
            f"the two views are not a stereo pair: they differ by a {abs(matches.roll_deg):.0f}° "
            f"rotation and {zoom:.2f}x zoom (a stereo pair: under {_MAX_ROLL_DEG:.0f}° and "
            f"{_MAX_ZOOM:.2f}x); take the second photo beside the first, {_MONO_HINT}"
        )


# --------------------------------------------------------------------------- hand-held model


@dataclass(frozen=True)
class _VerticalModel:
    """Right-view warp: a similarity about the centre plus an optional quadratic in y.

    Forward: ``x' = cx + b*(x-cx) - a*(y-cy)``,
    ``y' = cy + a*(x-cx) + b*(y-cy) + t + q(x, y)``, q a quadratic in normalized coordinates.
    """

    a: float
    b: float
    t: float
    quadratic: np.ndarray  # (3,) coefficients of u^2, u*v, v^2 (u, v = centred / half-size)
    centre: tuple[float, float]
    half_size: float
    residual: float  # median |dy| after the warp, px
    residual_p90: float  # 90th percentile of |dy| after the warp, px

    def disparities(self, matches: FeatureMatches) -> np.ndarray:
        """``x_left - x_right`` of the matches once the right view is warped."""
        x = matches.right[:, 0].astype(np.float64) - self.centre[0]
        y = matches.right[:, 1].astype(np.float64) - self.centre[1]
        warped_x = self.b * x - self.a * y + self.centre[0]
        return (matches.left[:, 0] - warped_x).astype(np.float32)

    def largest_shift(self, shape: tuple[int, int]) -> float:
        """How far the warp moves any pixel of the frame, px (sampled on a 9x9 grid)."""
        height, width = shape
        xs, ys = np.meshgrid(np.linspace(0, width - 1, 9), np.linspace(0, height - 1, 9))
        x, y = xs - self.centre[0], ys - self.centre[1]
        new_x = self.b * x - self.a * y
        new_y = self.a * x + self.b * y + self.t + self._q(x, y)
        return float(np.max(np.hypot(new_x - x, new_y - y)))

    def inverse_maps(self, shape: tuple[int, int], step: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """For every output pixel, where to sample the original right view (for cv2.remap).

        Computed on a grid every ``step`` pixels and interpolated: the warp is smooth, and
        this is 16x less arithmetic on a 12 MP photo (cv2.remap interpolates with 1/32 px weights, so
        a finer grid keeps the error under 0.05 px).
        """
        height, width = shape
        cx, cy = self.centre
        grid_x = np.append(np.arange(0, width, step, dtype=np.float64), width - 1)
        grid_y = np.append(np.arange(0, height, step, dtype=np.float64), height - 1)
        out_x, out_y = np.meshgrid(grid_x - cx, grid_y - cy)
        det = self.a * self.a + self.b * self.b
        # The quadratic depends on the source position: fixed-point iterations converge in a
        # few steps because it is small and smooth.
        src_x, src_y = out_x, out_y
        for _ in range(4 if np.any(self.quadratic) else 1):
            vertical = out_y - self.t - self._q(src_x, src_y)
            src_x = (self.b * out_x + self.a * vertical) / det
            src_y = (-self.a * out_x + self.b * vertical) / det
        return (
            _interpolate_grid(src_x + cx, grid_x, grid_y, width, height),
            _interpolate_grid(src_y + cy, grid_x, grid_y, width, height),
        )

    def _q(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not np.any(self.quadratic):
            return np.zeros_like(x)
        u, v = x / self.half_size, y / self.half_size
        c = self.quadratic
        return np.asarray(c[0] * u * u + c[1] * u * v + c[2] * v * v)


def _fit_vertical_model(matches: FeatureMatches, shape: tuple[int, int]) -> _VerticalModel:
    height, width = shape
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    half = max(width, height) / 2.0
    x = matches.right[:, 0].astype(np.float64) - cx
    y = matches.right[:, 1].astype(np.float64) - cy
    target = matches.left[:, 1].astype(np.float64) - cy
    linear = np.column_stack([x, y, np.ones_like(x)])
    u, v = x / half, y / half
    quadratic = np.column_stack([linear, u * u, u * v, v * v])

    # Start from the matches whose vertical offset is typical: a few wrong matches that the
    # fundamental matrix let through would otherwise tilt a fit to a few dozen points.
    offset = matches.dy.astype(np.float64)
    offset_spread = 1.4826 * np.median(np.abs(offset - np.median(offset)))
    typical = np.abs(offset - np.median(offset)) < max(1.0, 3.0 * offset_spread)

    def robust_fit(design: np.ndarray) -> tuple[np.ndarray, float, float]:
        keep = typical.copy()
        coef = np.zeros(design.shape[1])
        for _ in range(4):
            coef, *_ = np.linalg.lstsq(design[keep], target[keep], rcond=None)
            residual = design @ coef - target
            spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep])))
            keep = np.abs(residual) < max(1.0, 3.0 * spread)
        error = np.abs(design @ coef - target)
        return coef, float(np.median(error)), float(np.percentile(error, 90))

    coef, residual, residual_p90 = robust_fit(linear)
    quad_coef = np.zeros(3)
    if len(target) >= 30:
        candidate, quad_residual, quad_p90 = robust_fit(quadratic)
        # Only bend the image when it clearly helps (keystone, lens differences); these show
        # towards the corners, so judge by the 90th percentile.
        if quad_p90 < 0.75 * residual_p90 and residual_p90 - quad_p90 > 0.3:
            coef, quad_coef = candidate[:3], candidate[3:]
            residual, residual_p90 = quad_residual, quad_p90
    return _VerticalModel(
        a=float(coef[0]), b=float(coef[1]), t=float(coef[2]), quadratic=quad_coef,
        centre=(cx, cy), half_size=half, residual=residual, residual_p90=residual_p90,
    )  # fmt: skip


# --------------------------------------------------------------------------- projective


def _try_projective(
    left: np.ndarray, right: np.ndarray, matches: FeatureMatches, *, better_than: float
) -> Rectification | None:
    """Rectify both views with homographies when that aligns rows clearly better."""
    height, width = left.shape[:2]
    fundamental, _ = cv2.findFundamentalMat(matches.left, matches.right, cv2.FM_LMEDS)
    if fundamental is None or fundamental.shape != (3, 3):
        return None
    ok, h_left, h_right = cv2.stereoRectifyUncalibrated(
        matches.left, matches.right, fundamental, (width, height)
    )
    if not ok:
        return None
    fit = _fit_into_frame(h_left, (height, width))
    if fit is None:
        return None
    h_left, h_right = fit @ h_left, fit @ h_right
    rect_left = cv2.perspectiveTransform(
        matches.left.reshape(-1, 1, 2).astype(np.float64), h_left
    ).reshape(-1, 2)
    rect_right = cv2.perspectiveTransform(
        matches.right.reshape(-1, 1, 2).astype(np.float64), h_right
    ).reshape(-1, 2)
    residual = float(np.median(np.abs(rect_right[:, 1] - rect_left[:, 1])))
    if residual > 0.7 * better_than:
        return None
    flags = cv2.INTER_LINEAR
    left_rect = cv2.warpPerspective(
        left, h_left, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    right_rect = cv2.warpPerspective(
        right, h_right, (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
    )
    map_x, map_y, factor = _homography_back_maps(h_left, (height, width))
    return Rectification(
        left=left_rect, right=right_rect, is_identity=False, method="projective",
        vertical_error=residual,
        feature_disparities=(rect_left[:, 0] - rect_right[:, 0]).astype(np.float32),
        _to_rectified=(map_x, map_y), _disparity_factor=factor,
    )  # fmt: skip


def _fit_into_frame(homography: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """A scale + shift (same for both views, so rows stay aligned) that keeps the warped left
    frame inside the output; None when the homography folds or distorts the frame wildly."""
    height, width = shape
    corners = np.array(
        [[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64
    ).reshape(-1, 1, 2)
    warped = cv2.perspectiveTransform(corners, homography).reshape(-1, 2)
    area = 0.5 * abs(
        np.dot(warped[:, 0], np.roll(warped[:, 1], 1))
        - np.dot(warped[:, 1], np.roll(warped[:, 0], 1))
    )
    if not np.isfinite(warped).all() or not 0.25 < area / (width * height) < 4.0:
        return None
    # Refuse mirrored or upside-down results: they would flip the sign of disparities.
    if not (
        warped[1, 0] > warped[0, 0] and warped[2, 0] > warped[3, 0] and warped[3, 1] > warped[0, 1]
    ):
        return None
    low, high = warped.min(axis=0), warped.max(axis=0)
    scale = min(width / (high[0] - low[0]), height / (high[1] - low[1]))
    if not 0.5 < scale < 2.0:
        return None
    centre_shift = np.array([width, height]) / 2 - scale * (low + high) / 2
    return np.array(
        [[scale, 0, centre_shift[0]], [0, scale, centre_shift[1]], [0, 0, 1]], dtype=np.float64
    )


def _homography_back_maps(
    homography: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rectified position of every original left pixel and the disparity scale there."""
    height, width = shape
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    h = homography
    w = h[2, 0] * xs + h[2, 1] * ys + h[2, 2]
    map_x = (h[0, 0] * xs + h[0, 1] * ys + h[0, 2]) / w
    map_y = (h[1, 0] * xs + h[1, 1] * ys + h[1, 2]) / w
    # A rectified horizontal step du is |d(original)/du| original pixels long; the derivative
    # of the inverse homography along u at the rectified point.
    g = np.linalg.inv(h)
    wg = g[2, 0] * map_x + g[2, 1] * map_y + g[2, 2]
    gx = (g[0, 0] * wg - (g[0, 0] * map_x + g[0, 1] * map_y + g[0, 2]) * g[2, 0]) / (wg * wg)
    gy = (g[1, 0] * wg - (g[1, 0] * map_x + g[1, 1] * map_y + g[1, 2]) * g[2, 0]) / (wg * wg)
    factor = np.hypot(gx, gy)
    return map_x.astype(np.float32), map_y.astype(np.float32), factor.astype(np.float32)


# --------------------------------------------------------------------------- calibrated


def _rectify_calibrated(
    left: np.ndarray, right: np.ndarray, calibration: StereoCalibration
) -> Rectification:
    height, width = left.shape[:2]
    calib = calibration.for_size((width, height))
    # alpha 0.5: the rectified views keep ~99% of the original left frame (so almost every
    # original pixel gets a measured disparity) with few empty corners to match (alpha 0
    # crops 13% of OpenCV's sample rig, alpha 1 leaves 22% of the rectified frame empty).
    R1, R2, P1, P2, _, _, _ = cv2.stereoRectify(
        calib.K1, calib.D1, calib.K2, calib.D2, (width, height), calib.R, calib.T,
        flags=cv2.CALIB_ZERO_DISPARITY, alpha=0.5,
    )  # fmt: skip
    if abs(P2[1, 3]) > abs(P2[0, 3]):
        raise InputError(
            "calibration describes cameras one above the other (vertical baseline); "
            "depthfx matches left-right pairs only"
        )
    left_maps = cv2.initUndistortRectifyMap(
        calib.K1, calib.D1, R1, P1, (width, height), cv2.CV_32FC1
    )
    right_maps = cv2.initUndistortRectifyMap(
        calib.K2, calib.D2, R2, P2, (width, height), cv2.CV_32FC1
    )
    left_rect = cv2.remap(left, *left_maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    right_rect = cv2.remap(right, *right_maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    focal = float(P1[0, 0])
    back_x, back_y = _calibrated_back_maps(calib, R1, P1, (height, width))
    return Rectification(
        left=left_rect, right=right_rect, is_identity=False,
        metric_scale=focal * calib.baseline * calib.metres_per_unit, method="calibrated", _to_rectified=(back_x, back_y),
    )  # fmt: skip


def _calibrated_back_maps(
    calib: StereoCalibration, R1: np.ndarray, P1: np.ndarray, shape: tuple[int, int], step: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Rectified position of every original left pixel: undistort + rotate + project on a
    coarse grid, then interpolate (the map is smooth)."""
    height, width = shape
    grid_x = np.append(np.arange(0, width, step, dtype=np.float64), width - 1)
    grid_y = np.append(np.arange(0, height, step, dtype=np.float64), height - 1)
    xs, ys = np.meshgrid(grid_x, grid_y)
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    rectified = cv2.undistortPointsIter(
        points,
        calib.K1,
        calib.D1,
        R1,
        P1,
        (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 20, 1e-6),
    ).reshape(len(grid_y), len(grid_x), 2)
    full_x = _interpolate_grid(rectified[:, :, 0], grid_x, grid_y, width, height)
    full_y = _interpolate_grid(rectified[:, :, 1], grid_x, grid_y, width, height)
    return full_x, full_y


def _interpolate_grid(
    values: np.ndarray, grid_x: np.ndarray, grid_y: np.ndarray, width: int, height: int
) -> np.ndarray:
    # Separable linear interpolation from the (irregular last step) grid to every pixel.
    cols = np.interp(np.arange(width), grid_x, np.arange(len(grid_x))).astype(np.float32)
    rows = np.interp(np.arange(height), grid_y, np.arange(len(grid_y))).astype(np.float32)
    map_x, map_y = np.meshgrid(cols, rows)
    return cv2.remap(
        values.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


__all__ = ["FeatureMatches", "Rectification", "match_features", "rectify_pair"]
