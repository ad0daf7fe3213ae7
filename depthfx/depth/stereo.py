"""Dense disparity from a stereo pair: range estimation, SGBM matching, filling, refinement.

The pipeline behind :func:`stereo_depth`:

1. rectify the pair when needed (:mod:`depthfx.depth.rectify`); a pair whose ORB matches
   already lie on the same rows skips that step;
2. shrink large photos so the long side is at most ``_MAX_MATCH_SIDE`` pixels (and the
   disparity range at most ``_MAX_MATCH_RANGE``);
3. estimate the disparity range where matching has support: a coarse wide-range pass
   (:mod:`depthfx.depth.range`, both signs, widened when support piles up at an end),
   seeded by sparse ORB matches, plus a margin: no tuning by the user; the same pass
   measures the exposure difference between the views, which is evened out;
4. match with OpenCV's semi-global matcher (3-way mode) on images padded on both sides, so
   the border strip that SGBM normally leaves empty gets matches too; SGBM's left-right
   and uniqueness checks, speckle removal, an explicit left-right check of the border
   strips (mirrored pair) and a range-end check mark unreliable pixels; when many best
   matches lie at an end of an estimated range, that end is widened and the pair matched
   again;
5. drop islands of matches inside mostly unmatched areas; fill small holes (occlusions)
   from the background side of each row and large unmatched regions (a border strip with
   no partner, sky, a blank wall) in 2-D with a background-biased push-pull fill, so they
   get smooth values without row streaks; give bright, plain, unmatched regions touching
   the top (sky) the farthest depth around them (:mod:`depthfx.depth.sky`) and fill plain
   regions from planes fitted to their matches (:mod:`depthfx.depth.planes`);
   median-filter, and re-estimate holes and depth
   edges with a colour-weighted median, so depth edges sit on image edges; when the
   disparity spread is only a few pixels (Nintendo 3DS), smooth strongly with a
   confidence-weighted guided filter so matching noise does not dominate;
6. upsample to full size guided by the full-resolution photo, and map back to the
   original left image's grid;
7. report the range searched, the share matched and any reason to doubt the result
   (:mod:`depthfx.depth.plausibility`) in the map's :class:`~depthfx.depthmap.MatchReport`,
   with a continuous confidence (:mod:`depthfx.depth.confidence`).

Independent stages run beside each other on the shared worker pool
(:class:`depthfx._parallel.JobGroup`; OpenCV and NumPy release the GIL): the coarse pass
beside the feature matching, the right view's border strips beside the main pass, the
plain-region labels and the confidence beside the fill. The map does not depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .._parallel import JobGroup
from ..depthmap import DepthMap, MatchReport
from ..errors import InputError, ParameterError, StereoMatchError
from ..filters import guided_filter, guided_upsample
from ..image import encode_srgb8
from .confidence import match_confidence
from .planes import fill_plain_regions, plain_regions
from .plausibility import implausibility
from .range import CoarseRange, coarse_range, coarse_size, first_search
from .rectify import Rectification, rectify_pair
from .refine import fill_from_background, fill_smooth, weighted_median
from .sky import far_fill, sky_mask
from .texture import mean_grey

ProgressCallback = Callable[[str, float], None]

# Long side of the images SGBM sees; larger photos are matched shrunk and upsampled.
_MAX_MATCH_SIDE = 1280
# Disparity range (pixels at matching scale) above which the pair is shrunk further.
_MAX_MATCH_RANGE = 256
# Long side of the images used to find sparse feature matches for the disparity range.
_MAX_FEATURE_SIDE = 1280
_MIN_FEATURE_MATCHES = 12
_ORB_FEATURES = 500  # 800 and 1500 found the same ranges (robustness suite), slower
# Disparity change (px between neighbours) that marks a depth edge for re-estimation.
_EDGE_STEP = 2.0
# Vertical offset (px at feature scale) up to which a match counts as on the same row.
_ROW_TOLERANCE = 1.5
# Below this share of SGBM-verified pixels the pair is judged unmatchable.
_MIN_VALID_FRACTION = 0.05
_BLOCK_SIZE = 3
# Margin added to the coarse pass's supported range, as a share of its span.
_COARSE_MARGIN = 0.1
# SGM smoothness penalties per channel and block pixel (OpenCV sample: 8 and 32). Lower
# values keep more detail: mean Middlebury bad2 8.6% -> 7.1% (benchmarks/stereo_middlebury.py).
_P1, _P2 = 3, 16
_UNIQUENESS = 10
_MONO_HINT = "use --mono (depth from one photo) instead"
# Share of pixels whose best match lies at an end of the range above which that end is
# widened and the pair matched again.
_END_RETRY_SHARE = 0.02
# Exposure differences between the views (left over right, linear light) beyond this are
# evened out before matching.
_GAIN_TOLERANCE = 0.05  # 0.02 and 0.1 scored the same on the robustness suite
# Measurements whose surroundings (window of this share of the image side) are less than
# this much matched are dropped as islands of wrong matches, first at the small scale.
_ISLANDS = ((0.03, 0.25), (0.1, 0.2))
# Unmatched pixels farther than these shares of the image side from a measurement are
# filled in 2-D (blended in between); nearer ones keep the row-wise background fill.
_FILL_NEAR, _FILL_FAR = 0.03, 0.06
# Background preference of the 2-D fill, as a share of the disparity spread.
_FILL_BACKGROUND_BIAS = 0.4
# Stronger background preference deep inside large unmatched regions in the upper part of
# the frame (sky): full above _FILL_SKY_FULL of the height, none below _FILL_SKY_END.
_FILL_SKY_BIAS, _FILL_SKY_FULL, _FILL_SKY_END = 0.05, 0.25, 0.5
# Disparity spread (px at matching scale) below which low-spread smoothing is blended in,
# and at which it is at full strength (Middlebury scenes: 10.7-51 px; Nintendo 3DS: ~5).
_SPREAD_SMOOTH_END, _SPREAD_SMOOTH_FULL = 10.0, 6.0
# Clusters of values off the large-scale median smaller than this share of the image are
# discarded by the low-spread smoothing as wrong matches.
_SPREAD_OUTLIER_AREA = 0.02
# Weight of the large-window median against the trusted measurements in that smoothing.
_SPREAD_MEDIAN_PRIOR = 0.2


# --------------------------------------------------------------------------- public API


def stereo_depth(
    left: np.ndarray,
    right: np.ndarray,
    *,
    min_disparity: int | None = None,
    num_disparities: int | None = None,
    calibration: Any = None,
    baseline_m: float | None = None,
    focal_px: float | None = None,
    rectify: bool | None = None,
    progress: ProgressCallback | None = None,
) -> DepthMap:
    """Dense disparity of the left view of a stereo pair, as a :class:`DepthMap`.

    Parameters
    ----------
    left, right : ndarray (H, W, 3) float32
        The two views in linear light (as ``Photo.pixels``), same size. The right view was
        taken from a camera to the right of the left one.
    min_disparity, num_disparities : int, optional
        Disparity search range in pixels of ``left`` (``min_disparity`` may be negative).
        Estimated from feature matches when not given.
    calibration : StereoCalibration or path, optional
        Stereo calibration for calibrated rectification and metric depth.
    baseline_m, focal_px : float, optional
        Baseline in metres and focal length in pixels of ``left`` for metric depth of an
        already rectified pair. Give both or neither.
    rectify : bool, optional
        ``None`` (default) rectifies when the pair is not aligned; ``False`` trusts that
        it is rectified already; ``True`` always runs :func:`rectify_pair`'s full check.
    progress : callable(stage, fraction), optional

    Returns
    -------
    DepthMap
        ``nearness`` = disparity in pixels of ``left`` (larger = nearer), in the original
        left image's grid; ``confidence`` 0.5..1 where matched (more with texture and
        agreeing neighbours), 0 where filled; ``metric_scale`` = focal_px * baseline_m when
        known; ``report`` the range searched, the share matched and implausibility warnings.

    Raises
    ------
    InputError
        The views differ in size or are not colour images.
    StereoMatchError
        The pair has too little texture or overlap to match.

    Examples
    --------
    >>> from depthfx.image import read_image
    >>> left = read_image("examples/teddy_left.jpg").pixels  # doctest: +SKIP
    >>> right = read_image("examples/teddy_right.jpg").pixels  # doctest: +SKIP
    >>> depth = stereo_depth(left, right)  # doctest: +SKIP
    >>> depth.units  # doctest: +SKIP
    'disparity_px'
    """
    left, right = _check_pair(left, right)
    if (baseline_m is None) != (focal_px is None):
        raise ParameterError("give both baseline_m and focal_px for metric depth, or neither")
    if baseline_m is not None and not baseline_m > 0:
        raise ParameterError(f"baseline_m must be > 0 (metres), got {baseline_m}")
    if focal_px is not None and not focal_px > 0:
        raise ParameterError(f"focal_px must be > 0 (pixels), got {focal_px}")
    _check_range(min_disparity, num_disparities)
    report = progress or (lambda stage, fraction: None)

    report("rectifying", 0.0)
    encoded = _EncodedPair(left, right)
    with encoded.jobs:  # the coarse pass started early is done when this ends
        known_range = None
        if calibration is None and rectify is None:
            # Fast path: ORB matches (needed for the range anyway) that already lie on the
            # same rows mean the pair is rectified, and the costlier SIFT check is skipped.
            encoded.start_coarse_pass()  # most pairs are rectified: start it beside ORB
            matches = _feature_matches(encoded)
            if _looks_rectified(matches):
                rectify = False
                try:
                    known_range = _range_from_disparities(
                        matches.disparities, matches.scale, matches.width
                    )
                except StereoMatchError:
                    known_range = None  # the coarse pass may still find support
        rectification = _rectify(
            left,
            right,
            calibration=calibration,
            rectify=rectify,
            progress=lambda stage, fraction: report(stage, 0.1 * fraction),
        )
        matched = _match(
            rectification.left,
            rectification.right,
            min_disparity=min_disparity,
            num_disparities=num_disparities,
            known_range=known_range,
            encoded=encoded if rectification.left is left else None,
            progress=lambda stage, fraction: report(stage, 0.1 + 0.85 * fraction),
        )
    disparity, confidence = matched.disparity, matched.confidence
    if not rectification.is_identity:
        disparity, confidence = rectification.to_left_grid(disparity, confidence)
    metric_scale = rectification.metric_scale
    if baseline_m is not None and focal_px is not None:
        metric_scale = float(focal_px) * float(baseline_m)
    report("done", 1.0)
    return DepthMap(
        nearness=disparity,
        confidence=confidence,
        metric_scale=metric_scale,
        units="disparity_px",
        report=matched.report,
    )


def match_rectified(
    left: np.ndarray,
    right: np.ndarray,
    *,
    min_disparity: int | None = None,
    num_disparities: int | None = None,
    max_side: int = _MAX_MATCH_SIDE,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense disparity of a rectified pair (matches on the same rows).

    :func:`stereo_depth` gives the same with a :class:`~depthfx.depthmap.MatchReport`.

    Parameters
    ----------
    left, right : ndarray (H, W, 3) float32
        Rectified views in linear light.
    min_disparity, num_disparities : int, optional
        Search range in pixels of ``left``; estimated from feature matches when not given.
    max_side : int
        Photos with a longer side are matched at reduced size and upsampled guided by
        the full-resolution left view.
    progress : callable(stage, fraction), optional

    Returns
    -------
    disparity : ndarray (H, W) float32
        ``x_left - x_right`` in pixels, finite everywhere (holes filled from the background).
    confidence : ndarray (H, W) float32
        0.5..1 where the matcher's checks passed (higher with more texture and agreeing
        neighbours, see :func:`~depthfx.depth.confidence.match_confidence`), 0 where the
        value was filled in.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> right = rng.random((60, 120, 3)).astype(np.float32)
    >>> left = np.roll(right, 8, axis=1)  # every pixel 8 px to the right in the left view
    >>> disparity, _ = match_rectified(left, right, min_disparity=0, num_disparities=16)
    >>> round(float(np.median(disparity[:, 20:])), 2)
    8.0
    """
    matched = _match(
        left,
        right,
        min_disparity=min_disparity,
        num_disparities=num_disparities,
        max_side=max_side,
        progress=progress,
    )
    return matched.disparity, matched.confidence


@dataclass(frozen=True)
class _Matched:
    disparity: np.ndarray
    confidence: np.ndarray
    report: MatchReport


def _match(
    left: np.ndarray,
    right: np.ndarray,
    *,
    min_disparity: int | None,
    num_disparities: int | None,
    max_side: int = _MAX_MATCH_SIDE,
    progress: ProgressCallback | None = None,
    known_range: tuple[float, float] | None = None,
    encoded: _EncodedPair | None = None,
) -> _Matched:
    """:func:`match_rectified` with the report of how plausible the result is."""
    left, right = _check_pair(left, right)
    _check_range(min_disparity, num_disparities)
    if max_side < 64:
        raise ParameterError(f"max_side must be >= 64 pixels, got {max_side}")
    report = progress or (lambda stage, fraction: None)
    height, width = left.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    encoded = encoded or _EncodedPair(left, right)
    automatic = min_disparity is None and num_disparities is None

    report("estimating disparity range", 0.0)
    if min_disparity is None or num_disparities is None:
        low, high, gain = _estimate_range(encoded, known_range)
        if abs(gain - 1.0) > _GAIN_TOLERANCE:
            # One view darker than the other: the matcher's costs compare intensities.
            encoded = encoded.with_right_gain(gain)
        if min_disparity is not None:
            low = float(min_disparity)
        if num_disparities is not None:
            high = low + num_disparities - 1
    else:
        low, high = float(min_disparity), float(min_disparity + num_disparities - 1)
        # The range is given, but the views may still be exposed differently.
        coarse = coarse_range(
            *encoded.at(coarse_size(width, height)), full_width=width, seed=(low, high)
        )
        if coarse is not None and abs(coarse.gain - 1.0) > _GAIN_TOLERANCE:
            encoded = encoded.with_right_gain(coarse.gain)
    if (high - low) * scale > _MAX_MATCH_RANGE:
        scale = _MAX_MATCH_RANGE / (high - low)
    work_size = (max(16, round(width * scale)), max(16, round(height * scale)))
    x_scale = work_size[0] / width

    report("matching", 0.15)
    small_left, small_right = encoded.at(work_size)
    work_min = math.floor(low * x_scale)
    work_num = max(16, 16 * math.ceil((math.ceil(high * x_scale) - work_min + 1) / 16))
    disparity, valid, ends = _sgbm(small_left, small_right, work_min, work_num)
    if automatic and max(ends) > _END_RETRY_SHARE:
        # Many best matches at an end of the range: the scene goes on beyond it. Widen that
        # end by half the range and match again (once).
        extra = 16 * math.ceil(work_num / 32)
        at_low, at_high = (share > _END_RETRY_SHARE for share in ends)
        work_min -= extra if at_low else 0
        work_num += extra * (int(at_low) + int(at_high))
        disparity, valid, ends = _sgbm(small_left, small_right, work_min, work_num)
    if valid.mean() < _MIN_VALID_FRACTION:
        raise StereoMatchError(
            f"too little texture or overlap to match the stereo pair: only {100 * valid.mean():.1f}% "
            f"of pixels found a reliable match; {_MONO_HINT}"
        )

    report("refining", 0.6)
    guide = small_left.astype(np.float32) / 255.0
    grey = mean_grey(guide)
    disparity, valid, guessed, confidence = _refine(
        disparity, valid, guide, grey, (work_min, work_min + work_num - 1)
    )
    searched = (work_min / x_scale, (work_min + work_num - 1) / x_scale)
    match_report = MatchReport(
        disparity_range=searched,
        matched=float(valid.mean()),
        warnings=implausibility(
            matched=float(valid.mean()), filled_far=float(guessed.mean()), ends=ends
        ),
    )

    if work_size != (width, height):
        report("upsampling", 0.85)
        disparity, confidence = _upsample(disparity, confidence, left, x_scale)
    report("matched", 1.0)
    return _Matched(disparity, confidence, match_report)


def estimate_disparity_range(left: np.ndarray, right: np.ndarray) -> tuple[int, int]:
    """Disparity range of a rectified pair, with a margin.

    ORB features are matched both ways with a ratio test; matches off the epipolar line
    (vertical offset above ~1.5 px, or outliers of a RANSAC fundamental matrix) are
    dropped, and robust percentiles of ``x_left - x_right`` seed a coarse semi-global pass
    over a wide range (:func:`~depthfx.depth.range.coarse_range`), whose confident matches
    give the range: plain near objects and far walls, which have no features, count too.

    Parameters
    ----------
    left, right : ndarray (H, W, 3) float32
        Rectified views in linear light.

    Returns
    -------
    (min_disparity, max_disparity) : tuple of int
        In pixels of ``left``; negative values are possible (cameras that shift frames).

    Raises
    ------
    StereoMatchError
        Too few features match (no texture, or the views do not overlap).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> right = cv2.GaussianBlur(rng.random((200, 300, 3)).astype(np.float32), (3, 3), 0)
    >>> low, high = estimate_disparity_range(np.roll(right, 20, axis=1), right)
    >>> bool(low <= 20 <= high)
    True
    """
    left, right = _check_pair(left, right)
    low, high, _ = _estimate_range(_EncodedPair(left, right))
    return math.floor(low), math.ceil(high)


# --------------------------------------------------------------------------- checks


def _check_pair(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, image in (("left", left), ("right", right)):
        array = np.asarray(image)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4) or min(array.shape[:2]) < 16:
            raise InputError(
                f"{name} view must be an (H, W, 3) image at least 16x16 pixels, got shape {array.shape}"
            )
        if not np.issubdtype(array.dtype, np.floating):
            raise InputError(
                f"{name} view must be float linear light (as read_image gives), got {array.dtype}"
            )
        arrays.append(array[:, :, :3].astype(np.float32, copy=False))
    if arrays[0].shape != arrays[1].shape:
        raise InputError(
            f"left and right views differ in size: {arrays[0].shape[1]}x{arrays[0].shape[0]} "
            f"vs {arrays[1].shape[1]}x{arrays[1].shape[0]}"
        )
    return arrays[0], arrays[1]


def _check_range(min_disparity: int | None, num_disparities: int | None) -> None:
    if num_disparities is not None and not 1 <= num_disparities <= 4096:
        raise ParameterError(f"num_disparities must be in 1..4096 pixels, got {num_disparities}")
    if min_disparity is not None and not -4096 <= min_disparity <= 4096:
        raise ParameterError(f"min_disparity must be in -4096..4096 pixels, got {min_disparity}")


# --------------------------------------------------------------------------- stages


def _rectify(
    left: np.ndarray,
    right: np.ndarray,
    *,
    calibration: Any,
    rectify: bool | None,
    progress: ProgressCallback | None,
) -> Rectification:
    if rectify is False and calibration is None:
        return Rectification(left=left, right=right, is_identity=True, method="identity")
    return rectify_pair(left, right, calibration=calibration, progress=progress)


def _resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


class _EncodedPair:
    """The two views as 8-bit sRGB at the sizes asked for, each computed once.

    Matching costs behave best on perceptual (sRGB-encoded) values.
    """

    def __init__(self, left: np.ndarray, right: np.ndarray) -> None:
        self.left = left
        self.right = right
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._unseeded_coarse: Future[CoarseRange | None] | None = None
        # Work beside the caller's (two cores; NumPy and OpenCV release the GIL). Callers
        # run in ``with pair.jobs:``, so nothing is left running when they return.
        self.jobs = JobGroup()

    def start_coarse_pass(self) -> None:
        """Start the coarse range pass without a seed in a worker thread.

        It needs no feature matches unless they reach past its first searched range (rare),
        so it runs beside the feature matching; :meth:`coarse_pass` picks it up.
        """
        if self._unseeded_coarse is None:
            height, width = self.left.shape[:2]
            views = self.at(coarse_size(width, height))
            self._unseeded_coarse = self.jobs.submit(coarse_range, *views, full_width=width)

    def coarse_pass(self, seed: tuple[float, float] | None) -> CoarseRange | None:
        """:func:`~depthfx.depth.range.coarse_range` of the pair, seeded by ``seed``."""
        height, width = self.left.shape[:2]
        early = self._unseeded_coarse
        if early is not None and first_search(
            width, height, full_width=width, seed=seed
        ) == first_search(width, height, full_width=width):
            return early.result()  # the same search as with the seed
        return coarse_range(*self.at(coarse_size(width, height)), full_width=width, seed=seed)

    def with_right_gain(self, gain: float) -> _EncodedPair:
        """The pair with the right view's exposure multiplied by ``gain`` (linear light)."""
        return _EncodedPair(self.left, self.right * np.float32(gain))

    def at(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        if size not in self._cache:
            right = self.jobs.submit(_encoded, self.right, size)  # beside the left view
            self._cache[size] = (_encoded(self.left, size), right.result())
        return self._cache[size]


def _encoded(view: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return encode_srgb8(_resize(view, size))


def _grey(encoded: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(encoded, cv2.COLOR_RGB2GRAY)


@dataclass(frozen=True)
class _Matches:
    """ORB matches (F-matrix inliers) at a feature scale: positions in scaled pixels."""

    left: np.ndarray  # (N, 2) x, y
    right: np.ndarray
    scale: float
    width: int  # image width at the feature scale

    @property
    def disparities(self) -> np.ndarray:
        on_row = np.abs(self.left[:, 1] - self.right[:, 1]) <= _ROW_TOLERANCE
        return (self.left[on_row, 0] - self.right[on_row, 0]).astype(np.float32)


def _estimate_range(
    encoded: _EncodedPair, feature_range: tuple[float, float] | None = None
) -> tuple[float, float, float]:
    """(low, high) disparity in pixels of the left view, margin included, and the exposure
    gain of the left view over the right one (1.0 when unknown).

    Feature matches seed a coarse wide-range pass (:mod:`depthfx.depth.range`), which finds
    the plain near objects and far walls that features miss.
    """
    with encoded.jobs:
        failure = None
        if feature_range is None:
            encoded.start_coarse_pass()
            try:
                matches = _feature_matches(encoded)
                feature_range = _range_from_disparities(
                    matches.disparities, matches.scale, matches.width
                )
            except StereoMatchError as exc:
                failure = exc
        height, width = encoded.left.shape[:2]
        coarse = encoded.coarse_pass(feature_range)
    if coarse is None:
        if feature_range is None:
            assert failure is not None
            raise failure
        return feature_range[0], feature_range[1], 1.0
    x_step = width / coarse_size(width, height)[0]  # one coarse pixel, in full-size pixels
    margin = max(6.0, 2.0 * x_step, _COARSE_MARGIN * (coarse.high - coarse.low))
    # The coarse range alone, not its union with the features': the union only widens it
    # with stray feature matches (robustness suite: same mean bad2, worse worst case).
    return coarse.low - margin, coarse.high + margin, coarse.gain


def _range_from_disparities(
    disparities: np.ndarray, scale: float, width: int
) -> tuple[float, float]:
    """Robust range of feature disparities (at ``scale``, image ``width`` px) plus a margin."""
    if disparities.size < _MIN_FEATURE_MATCHES:
        raise StereoMatchError(
            f"too little texture or overlap to match the stereo pair: {disparities.size} feature "
            f"matches on the same rows (need {_MIN_FEATURE_MATCHES}); {_MONO_HINT}"
        )
    low, high = np.percentile(disparities, [1.0, 99.0])
    # Features gather on texture; near objects and far walls may have few, so widen the
    # range generously: a range too narrow breaks matching, one too wide only costs time.
    margin = max(6.0, 0.25 * float(high - low), 0.02 * width)
    return (float(low) - margin) / scale, (float(high) + margin) / scale


def _looks_rectified(matches: _Matches) -> bool:
    """Matched features lie on the same rows (sub-pixel), all across the frame."""
    if len(matches.left) < 2 * _MIN_FEATURE_MATCHES:
        return False
    # Measured at the feature scale: feature positions are precise to a fraction of a pixel
    # of the image they were found in, whatever the photo's full size.
    dy = np.abs(matches.left[:, 1] - matches.right[:, 1])
    return bool(np.median(dy) <= 0.5 and np.percentile(dy, 90) <= 1.5)


def _feature_matches(encoded: _EncodedPair) -> _Matches:
    """ORB matches with a ratio test and fundamental-matrix RANSAC (no row assumption)."""
    height, width = encoded.left.shape[:2]
    scale = min(1.0, _MAX_FEATURE_SIDE / max(height, width))
    size = (round(width * scale), round(height * scale))
    grey_left, grey_right = (_grey(view) for view in encoded.at(size))
    empty = _Matches(np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32), scale, size[0])
    # The two views' features in parallel (OpenCV releases the GIL; ORB is single-threaded).
    with JobGroup() as jobs:
        right_features = jobs.submit(_orb_features, grey_right)
        keys_left, desc_left = _orb_features(grey_left)
        keys_right, desc_right = right_features.result()
    if desc_left is None or desc_right is None or len(keys_left) < 2 or len(keys_right) < 2:
        return empty
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(desc_left, desc_right, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < _MIN_FEATURE_MATCHES:
        return empty
    points_left = np.array([keys_left[m.queryIdx].pt for m in good], dtype=np.float32)
    points_right = np.array([keys_right[m.trainIdx].pt for m in good], dtype=np.float32)
    _, inliers = cv2.findFundamentalMat(points_left, points_right, cv2.FM_RANSAC, 1.5, 0.99)
    if inliers is None or inliers.sum() < _MIN_FEATURE_MATCHES:
        return empty
    keep = inliers.ravel() > 0
    return _Matches(points_left[keep], points_right[keep], scale, size[0])


def _orb_features(grey: np.ndarray) -> tuple[Any, Any]:
    orb = cv2.ORB_create(  # type: ignore[attr-defined]
        nfeatures=_ORB_FEATURES, scaleFactor=1.3, nlevels=3, fastThreshold=10
    )
    return orb.detectAndCompute(grey, None)


def _sgbm(
    left: np.ndarray, right: np.ndarray, min_disparity: int, num_disparities: int
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """SGBM disparity (float px), validity and the shares of pixels at each end of the range.

    The border strips are recovered by padding.
    """
    # SGBM leaves columns whose match would fall outside the other view empty; padding both
    # views by the range lets those pixels find their partner (or the replicated border).
    pad_left = max(0, min_disparity + num_disparities)
    pad_right = max(0, -min_disparity)
    padded_left = cv2.copyMakeBorder(left, 0, 0, pad_left, pad_right, cv2.BORDER_REPLICATE)
    padded_right = cv2.copyMakeBorder(right, 0, 0, pad_left, pad_right, cv2.BORDER_REPLICATE)
    area = left.shape[0] * left.shape[1]
    width = left.shape[1]
    # The right view's disparity on the border strips (for their left-right check) does not
    # depend on the main pass: it runs beside it, with a matcher of its own.
    jobs = _border_strip_jobs(width, pad_left, min_disparity, num_disparities)
    with JobGroup() as beside:
        strips = beside.submit(
            _match_border_strips,
            _matcher(min_disparity, num_disparities, area),
            padded_left,
            padded_right,
            jobs,
            min_disparity,
        )
        raw = _matcher(min_disparity, num_disparities, area).compute(padded_left, padded_right)
    raw = raw[:, pad_left : pad_left + width]
    disparity = raw.astype(np.float32) / 16.0
    # The range has a margin on both sides, so a disparity at either end of it means the
    # best match lies outside: not a measurement.
    valid = (raw > min_disparity * 16) & (raw < (min_disparity + num_disparities - 1) * 16)
    valid &= _check_border_strips(disparity, strips.result()[:, pad_left : pad_left + width], jobs)
    # A match that lands in the padding is a guess against replicated border pixels: treat
    # it as unmatched, so the strip is filled from the measured pixels beside it.
    target = np.arange(width, dtype=np.float32)[None, :] - disparity
    inside = (target >= 0) & (target <= width - 1)
    valid &= inside
    # Best matches at an end of the range, where the partner lies inside the other view
    # (in the border strips the ends are where partners outside the view end up).
    ends = (
        float(np.mean(inside & (raw >= min_disparity * 16) & (raw < min_disparity * 16 + 8))),
        float(np.mean(inside & (raw >= (min_disparity + num_disparities - 1) * 16 - 8))),
    )
    return disparity, valid, ends


def _matcher(min_disparity: int, num_disparities: int, area: int) -> Any:
    """The fine pass's semi-global matcher (one per thread: compute keeps state)."""
    channels = 3
    return cv2.StereoSGBM_create(  # type: ignore[attr-defined]
        minDisparity=min_disparity,
        numDisparities=num_disparities,
        blockSize=_BLOCK_SIZE,
        P1=_P1 * channels * _BLOCK_SIZE**2,
        P2=_P2 * channels * _BLOCK_SIZE**2,
        disp12MaxDiff=1,
        uniquenessRatio=_UNIQUENESS,
        # Speckles: regions smaller than ~0.1% of the image are unreliable islands.
        speckleWindowSize=max(50, round(0.0012 * area)),
        speckleRange=2,
        mode=cv2.STEREO_SGBM_MODE_SGBM_3WAY,
    )


def _border_strip_jobs(
    width: int, pad_left: int, min_disparity: int, num_disparities: int
) -> list[tuple[int, int, int, int]]:
    """(first, stop) columns of the padded views to match mirrored, and (first, stop) columns
    of the strip checked with them, for each border strip.

    Pixels near the left edge (and the right edge for negative disparities) may have their
    partner outside the other view; SGBM then often picks a wrong partner inside it.
    """
    max_disparity = min_disparity + num_disparities - 1
    # A strip pixel's partner lies within the range of it, and the mirrored matcher needs
    # the range again beyond the partner (plus the block) to see it.
    reach = max_disparity - min_disparity + _BLOCK_SIZE + 1
    padded_width = pad_left + width + max(0, -min_disparity)
    jobs = []
    left_strip = min(width, max(0, max_disparity + 1))
    if left_strip > 0:
        stop = min(width, left_strip + reach) + pad_left
        jobs.append((0, stop, 0, left_strip))
    if min_disparity < 0:
        right_strip = max(0, width - 1 + min_disparity)
        start = max(0, right_strip - reach) + pad_left
        jobs.append((start, padded_width, right_strip, width))
    return jobs


def _match_border_strips(
    matcher: Any,
    padded_left: np.ndarray,
    padded_right: np.ndarray,
    jobs: list[tuple[int, int, int, int]],
    min_disparity: int,
) -> np.ndarray:
    """The right view's disparity on the columns the jobs name (NaN elsewhere), padded grid.

    It comes from the same matcher on the mirrored pair, which has the same disparities.
    """
    right_disparity = np.full(padded_left.shape[:2], np.nan, np.float32)
    for start, stop, _, _ in jobs:
        crop_right = np.ascontiguousarray(padded_right[:, start:stop][:, ::-1])
        crop_left = np.ascontiguousarray(padded_left[:, start:stop][:, ::-1])
        mirrored = matcher.compute(crop_right, crop_left)[:, ::-1]
        values = mirrored.astype(np.float32) / 16.0
        values[mirrored < min_disparity * 16] = np.nan
        right_disparity[:, start:stop] = values
    return right_disparity


def _check_border_strips(
    disparity: np.ndarray, right_disparity: np.ndarray, jobs: list[tuple[int, int, int, int]]
) -> np.ndarray:
    """Left-right consistency of the border strips, where SGBM's own check is weakest.

    ``right_disparity`` is the right view's disparity (:func:`_match_border_strips`) in the
    unpadded grid. Returns a mask: False where a strip pixel fails the check.
    """
    height, width = disparity.shape
    partner = np.round(np.arange(width, dtype=np.float32)[None, :] - disparity)
    partner = np.clip(partner, 0, width - 1).astype(np.intp)
    seen = np.take_along_axis(right_disparity, partner, axis=1)
    passed = np.ones((height, width), bool)
    for _, _, first, last in jobs:
        with np.errstate(invalid="ignore"):
            passed[:, first:last] = np.abs(seen[:, first:last] - disparity[:, first:last]) <= 1.0
    return passed


def _refine(
    disparity: np.ndarray,
    valid: np.ndarray,
    guide: np.ndarray,
    grey: np.ndarray,
    disparity_range: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Filled, edge-aligned disparity, the measurements it kept, the pixels filled far
    from any measurement outside the sky (a guess), and the match confidence.

    ``guide`` is the left view (sRGB, 0..1) and ``grey`` its channel mean.
    """
    # Stages that need only the picture or the final measurements run in a worker thread
    # beside the fill (two cores; NumPy and OpenCV release the GIL).
    with JobGroup() as beside:
        regions = beside.submit(plain_regions, grey)
        kept = _drop_islands(valid)
        valid = kept if kept.any() else valid
        sky = sky_mask(grey, valid)
        valid = valid & ~sky
        confidence = beside.submit(match_confidence, disparity, valid, grey)
        low, high = np.percentile(disparity[valid], [2.0, 98.0])
        spread = float(high - low)
        filled = fill_from_background(disparity, valid)
        _smooth_border_strips(filled, valid, disparity_range)
        filled_in_2d = _fill_large_regions(filled, disparity, valid, spread)
        # Plain bright regions at the top with no match (sky): the farthest depth around them.
        filled = far_fill(filled, valid, sky)
        guessed = filled_in_2d & ~sky  # far from any match, and not sky: a guess
        filled_in_2d |= sky
        # Unmatched pixels of plain regions (a blank wall) from planes fitted to their matches.
        planar, replaced = fill_plain_regions(
            filled, disparity, valid, grey, regions=regions.result()
        )
        replaced &= ~sky
        filled = np.where(replaced, planar, filled)
        filled_in_2d |= replaced
        filled = cv2.medianBlur(filled, 5)
        # Re-estimate holes and the pixels beside depth edges from similar-coloured, measured
        # neighbours, so edges follow the photo instead of the matcher's block footprint.
        gradient = np.abs(cv2.Sobel(filled, cv2.CV_32F, 1, 0, ksize=1)) + np.abs(
            cv2.Sobel(filled, cv2.CV_32F, 0, 1, ksize=1)
        )
        redo = ~valid | (gradient > _EDGE_STEP)
        redo = cv2.dilate(redo.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        redo &= ~filled_in_2d  # smooth already; the median would only cost time there
        refined = weighted_median(filled, guide, redo, radius=6, step=3, sigma_color=0.1)
        smoothed = _smooth_low_spread(refined, valid, guide, float(low), float(high))
        return smoothed, valid, guessed, confidence.result()


def _drop_islands(valid: np.ndarray) -> np.ndarray:
    """Unmark measurements in mostly unmatched surroundings (a few % of the image across).

    Small clusters of matches inside a large unmatched area (a textureless wall, sky) are
    mostly wrong, and a fill would spread them over the whole area.
    """
    kept = valid.astype(np.float32)
    for window, density in _ISLANDS:
        size = 2 * round(window * max(valid.shape)) + 1
        kept *= cv2.blur(kept, (size, size)) >= density
    return kept > 0


def _fill_large_regions(
    filled: np.ndarray, disparity: np.ndarray, valid: np.ndarray, spread: float
) -> np.ndarray:
    """Refill, in place, the parts of unmatched regions far from any measurement in 2-D.

    The row-by-row background fill suits occlusions (a few pixels beside a depth edge) but
    turns large unmatched regions (a border strip with no partner, sky, a blank wall) into
    horizontal streaks. Beyond ``_FILL_NEAR`` of the image size from the nearest
    measurement a smooth background-biased push-pull fill takes over, blended in up to
    ``_FILL_FAR``. It runs at half resolution (the values it gives are smooth anyway) and
    only when such regions exist. Returns the mask of pixels filled in 2-D alone.
    """
    side = max(valid.shape)
    near, far = _FILL_NEAR * side, _FILL_FAR * side
    distance = cv2.distanceTransform((~valid).astype(np.uint8), cv2.DIST_L2, 3)
    blend = np.clip((distance - near) / (far - near), 0.0, 1.0)
    region = blend > 0
    if not region.any():
        return region
    height, width = valid.shape
    half = (max(1, width // 2), max(1, height // 2))
    coverage = cv2.resize(valid.astype(np.float32), half, interpolation=cv2.INTER_AREA)
    total = cv2.resize(
        np.where(valid, disparity, 0.0).astype(np.float32), half, interpolation=cv2.INTER_AREA
    )
    small_valid = coverage > 0.5
    small = np.where(small_valid, total / np.maximum(coverage, 1e-6), 0.0).astype(np.float32)
    if not small_valid.any():
        return np.zeros_like(region)
    smooth = fill_smooth(
        small, small_valid, background_bias=max(0.5, _FILL_BACKGROUND_BIAS * spread)
    )
    # Deep inside a large unmatched region in the upper part of the frame (sky) prefer
    # the background strongly: what cannot be matched there is mostly far away.
    rows = np.arange(half[1], dtype=np.float32)[:, None] / half[1]
    deep = np.clip((distance[::2, ::2][: half[1], : half[0]] - far) / far, 0.0, 1.0)
    deep *= np.clip((_FILL_SKY_END - rows) / (_FILL_SKY_END - _FILL_SKY_FULL), 0.0, 1.0)
    if deep.shape == smooth.shape and deep.any():
        far_fill = fill_smooth(
            small, small_valid, background_bias=max(0.5, _FILL_SKY_BIAS * spread)
        )
        smooth = deep * far_fill + (1.0 - deep) * smooth
    smooth = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
    weight = blend[region]
    filled[region] = weight * smooth[region] + (1.0 - weight) * filled[region]
    return blend >= 1.0


def _smooth_low_spread(
    disparity: np.ndarray, valid: np.ndarray, guide: np.ndarray, low: float, high: float
) -> np.ndarray:
    """Strong edge-aware smoothing when the depth spread is close to the matching noise.

    Pairs with only a few pixels of disparity range (the Nintendo 3DS: 3-10 px) are
    dominated by matching noise of about half a pixel and by clusters of wrong matches on
    blank surfaces. Values far from a large-window median are discarded (those clusters),
    then a confidence-weighted guided filter (``GF(guide, d * c) / GF(guide, c)``) with a
    large window keeps the structure that follows the photo. Blended in from
    ``_SPREAD_SMOOTH_END`` down to ``_SPREAD_SMOOTH_FULL`` px of spread (``high - low``),
    so pairs with a real depth range are untouched. Depth edges soften by a few pixels.
    """
    spread = high - low
    strength = (_SPREAD_SMOOTH_END - spread) / (_SPREAD_SMOOTH_END - _SPREAD_SMOOTH_FULL)
    strength = float(np.clip(strength, 0.0, 1.0))
    if strength == 0.0:
        return disparity
    side = max(disparity.shape)
    offset = float(disparity.min())
    step = max(float(disparity.max()) - offset, 1e-6) / 255.0
    # 8-bit so OpenCV's constant-time median handles the large window.
    quantized = np.round((disparity - offset) / step).astype(np.uint8)
    median = cv2.medianBlur(quantized, 2 * round(0.1 * side) + 1).astype(np.float32)
    median = median * np.float32(step) + np.float32(offset)
    weight = np.where(valid, 1.0, 0.05).astype(np.float32)
    # Clusters off the median are wrong matches when small; large ones are real objects.
    # Filled values off the median (spread from such clusters) are discarded too.
    off = (np.abs(disparity - median) > max(1.0, 0.25 * spread)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(off, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < _SPREAD_OUTLIER_AREA * disparity.size
    small[0] = False  # background label: pixels near the median
    weight[small[labels]] = 0.0
    weight[(off > 0) & ~valid] = 0.0  # filled, not measured: no support of their own
    # Far outside the bulk of the measurements (2nd-98th percentile): wrong matches.
    margin = 0.5 * spread
    weight[(disparity < low - margin) | (disparity > high + margin)] = 0.0
    radius = max(2, round(0.02 * side))
    numerator = guided_filter(guide, disparity * weight, radius=radius, eps=0.01)
    denominator = guided_filter(guide, weight, radius=radius, eps=0.01)
    # Where little trusted support is left (a blank wall), lean on the robust median.
    prior = np.float32(_SPREAD_MEDIAN_PRIOR)
    smooth = (numerator + prior * median) / (np.maximum(denominator, 0.0) + prior)
    return (strength * smooth + (1.0 - strength) * disparity).astype(np.float32)


def _smooth_border_strips(
    filled: np.ndarray, valid: np.ndarray, disparity_range: tuple[int, int]
) -> None:
    """Median-filter the filled pixels of the strips that have no partner in the other view.

    There each row is extrapolated from its nearest measurement, so one stray value makes a
    streak the width of the strip; a large median across rows removes such streaks.
    """
    low, high = disparity_range
    height, width = filled.shape
    strips = [(0, min(width, max(0, high)))]  # left strip: partners left of the frame
    if low < 0:
        strips.append((max(0, width - 1 + low), width))  # right strip, negative disparities
    size = 2 * max(2, round(0.02 * max(height, width))) + 1
    for start, stop in strips:
        if stop - start < 2:
            continue
        margin = min(size, start)
        columns = slice(start - margin, min(width, stop + size))
        block = filled[:, columns]
        offset = float(block.min())
        span = float(block.max()) - offset
        step = max(span / 255.0, 1e-6)
        # 8-bit so OpenCV's constant-time median handles the large window.
        quantized = np.round((block - offset) / step).astype(np.uint8)
        smoothed = cv2.medianBlur(quantized, size).astype(np.float32) * step + offset
        region = np.zeros(filled.shape, bool)
        region[:, start:stop] = True
        holes = region[:, columns] & ~valid[:, columns]
        block[holes] = smoothed[holes]


def _upsample(
    disparity: np.ndarray, confidence: np.ndarray, left: np.ndarray, x_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """Full-size disparity guided by the full-resolution left view, values rescaled."""
    height, width = left.shape[:2]
    guide = encode_srgb8(cv2.cvtColor(left, cv2.COLOR_RGB2GRAY)).astype(np.float32)
    guide *= np.float32(1.0 / 255.0)
    full = guided_upsample(disparity, guide) * np.float32(1.0 / x_scale)
    full_confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
    return full.astype(np.float32), full_confidence


__all__ = ["estimate_disparity_range", "match_rectified", "stereo_depth"]
