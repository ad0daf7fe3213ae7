"""Preset files: the presets shipped with depthfx, and reading and writing your own."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from ..chain import Chain
from ..errors import ParameterError, PresetError
from .schema import chain_from_dict
from .toml import dumps_toml


def _preset_folder() -> Traversable:
    """The shipped presets: the installed ``depthfx._presets`` package, or ``presets/`` of a
    source checkout imported without installing."""
    try:
        return resources.files("depthfx._presets")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "presets"
        if checkout.is_dir():
            return checkout
        raise PresetError("the shipped presets are missing; reinstall depthfx") from None


def preset_names() -> list[str]:
    """Names of the presets shipped with depthfx, sorted.

    Examples
    --------
    >>> "portrait" in preset_names()
    True
    """
    folder = _preset_folder()
    return sorted(
        item.name[: -len(".toml")] for item in folder.iterdir() if item.name.endswith(".toml")
    )


def loads_preset(
    text: str, *, name: str = "", source: str | os.PathLike[str] | None = None
) -> Chain:
    """Parse preset TOML text into a :class:`Chain` (see :meth:`Chain.from_dict`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = f"{source}: " if source is not None else ""
        raise PresetError(f"{where}invalid TOML: {exc}") from None
    return chain_from_dict(data, name=name, source=source, text=text)


def load_preset(preset: str | os.PathLike[str]) -> Chain:
    """Load a shipped preset by name, or a preset file by path.

    Parameters
    ----------
    preset : str or path
        A name from :func:`preset_names` (e.g. ``"portrait"``) or a ``.toml`` file.

    Raises
    ------
    PresetError
        Unknown name (the message lists the shipped ones), unreadable or invalid file.

    Examples
    --------
    >>> chain = load_preset("portrait")
    >>> chain.name
    'portrait'
    """
    text, name, source = read_preset_text(preset)
    return loads_preset(text, name=name, source=source)


def read_preset_text(preset: str | os.PathLike[str]) -> tuple[str, str, str]:
    """(TOML text, preset name, where it came from) for a preset name or file."""
    as_text = os.fspath(preset)
    path = Path(as_text)
    looks_like_file = path.suffix.lower() == ".toml" or os.sep in as_text or "/" in as_text
    if looks_like_file or path.is_file():
        if not path.is_file():
            raise PresetError(f"{path}: preset file not found")
        try:
            return path.read_text(encoding="utf-8"), path.stem, str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise PresetError(f"{path}: cannot read preset ({exc})") from None
    names = preset_names()
    if as_text not in names:
        raise PresetError(
            f"unknown preset {as_text!r}; shipped presets: {', '.join(names)} (or give a .toml file)"
        )
    resource = _preset_folder().joinpath(f"{as_text}.toml")
    return resource.read_text(encoding="utf-8"), as_text, f"{as_text}.toml"


def dumps_preset(chain: Chain) -> str:
    """The TOML text of a chain, loadable with :func:`loads_preset`.

    Examples
    --------
    >>> print(dumps_preset(Chain(description="empty")), end="")
    version = 1
    description = "empty"
    steps = []
    <BLANKLINE>
    [depth]
    source = "auto"
    """
    return dumps_toml(chain.to_dict())


def save_preset(chain: Chain, path: str | os.PathLike[str]) -> Path:
    """Write a chain as a preset file (atomically)."""
    from ..image import write_bytes_atomic

    target = Path(path)
    if target.suffix.lower() != ".toml":
        raise ParameterError(f"{target}: preset files end in .toml")
    write_bytes_atomic(target, dumps_preset(chain).encode("utf-8"))
    return target


def iter_presets() -> Iterable[Chain]:
    """Every shipped preset, loaded."""
    for name in preset_names():
        yield load_preset(name)


__all__ = [
    "dumps_preset",
    "iter_presets",
    "load_preset",
    "loads_preset",
    "preset_names",
    "read_preset_text",
    "save_preset",
]
