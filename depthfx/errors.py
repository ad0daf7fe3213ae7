"""Typed exceptions. The library raises these; only the CLI turns them into messages."""

from __future__ import annotations


class DepthfxError(Exception):
    """Base class of every error depthfx raises on purpose.

    The message is one line, names the problem (file, parameter, allowed range) and is
    meant to be shown to a user as it is.
    """


class InputError(DepthfxError, ValueError):
    """A file or array given to depthfx cannot be used (missing, unreadable, wrong size)."""


class ParameterError(DepthfxError, ValueError):
    """An option is outside its allowed range or of an unknown kind."""


class StereoMatchError(DepthfxError):
    """A stereo pair cannot be matched (too little texture or overlap, not a stereo pair)."""


class ModelError(DepthfxError):
    """A depth model is unknown, missing, corrupt, or does not run."""


class DownloadError(ModelError):
    """A model file could not be downloaded or failed its checksum."""


class PresetError(DepthfxError):
    """A preset file is malformed or names unknown effects or keys."""


__all__ = [
    "DepthfxError",
    "DownloadError",
    "InputError",
    "ModelError",
    "ParameterError",
    "PresetError",
    "StereoMatchError",
]
