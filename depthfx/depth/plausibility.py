"""Whether a stereo result is plausible: the warnings a :class:`MatchReport` carries.

A matcher always returns numbers; when few pixels matched, much of the picture had to be
filled in, or the best matches pile up at an end of the searched range (the scene goes on
beyond it), those numbers are guesses. The warnings say which, so the caller can tell
the user instead of failing silently.
"""

from __future__ import annotations

# Below this share of matched pixels the map is mostly filled in (Middlebury: 55-90 %).
MIN_MATCHED = 0.3
# Above this share of pixels filled in 2-D, far from any measurement, the map is a guess.
MAX_FILLED_FAR = 0.3
# Above this share of pixels whose best match is at an end of the range, it was too narrow.
MAX_AT_END = 0.03
ADVICE = "check the preview; try --mono, or give the range (--min-disparity/--num-disparities)"


def implausibility(
    *, matched: float, filled_far: float, ends: tuple[float, float]
) -> tuple[str, ...]:
    """Reasons (short phrases) a stereo match is implausible; empty when it looks sound.

    Parameters
    ----------
    matched : float
        Share of pixels with a confident match (0..1).
    filled_far : float
        Share of pixels filled in 2-D, far from any measurement (0..1).
    ends : (float, float)
        Shares of pixels whose best match lies at the low (far) and high (near) end of the
        searched range.

    Examples
    --------
    >>> implausibility(matched=0.8, filled_far=0.02, ends=(0.0, 0.0))
    ()
    >>> implausibility(matched=0.12, filled_far=0.5, ends=(0.0, 0.1))  # doctest: +NORMALIZE_WHITESPACE
    ('only 12% of pixels matched', '50% of the picture filled in far from any match',
     'matches pile up at the near end of the disparity range')
    """
    warnings = []
    if matched < MIN_MATCHED:
        warnings.append(f"only {100 * matched:.0f}% of pixels matched")
    if filled_far > MAX_FILLED_FAR:
        warnings.append(f"{100 * filled_far:.0f}% of the picture filled in far from any match")
    for share, end in zip(ends, ("far", "near"), strict=True):
        if share > MAX_AT_END:
            warnings.append(f"matches pile up at the {end} end of the disparity range")
    return tuple(warnings)


__all__ = ["ADVICE", "MAX_AT_END", "MAX_FILLED_FAR", "MIN_MATCHED", "implausibility"]
