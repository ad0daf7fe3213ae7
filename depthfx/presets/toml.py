"""A small TOML writer for preset dicts (``tomllib`` reads; the standard library has no writer)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ParameterError


def plain(value: Any) -> Any:
    """Tuples become lists and numpy scalars Python numbers, as TOML gives them back."""
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    return value


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialize a preset dict to TOML (strings, numbers, booleans, arrays, tables).

    Scalars come first, then tables, then arrays of tables, so ``tomllib.loads`` gives the
    same dict back.

    Examples
    --------
    >>> print(dumps_toml({"version": 1, "depth": {"source": "auto"}}).strip())
    version = 1
    <BLANKLINE>
    [depth]
    source = "auto"
    """
    lines: list[str] = []
    _write_table(lines, data, prefix="")
    return "\n".join(lines).strip("\n") + "\n"


def _write_table(lines: list[str], data: Mapping[str, Any], *, prefix: str) -> None:
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    tables = {k: v for k, v in data.items() if _is_table(v)}
    arrays = {k: v for k, v in data.items() if _is_table_array(v)}
    for key, value in scalars.items():
        if value is None:
            continue
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        name = f"{prefix}{_key(key)}"
        lines.extend(["", f"[{name}]"])
        _write_table(lines, value, prefix=f"{name}.")
    for key, items in arrays.items():
        name = f"{prefix}{_key(key)}"
        for item in items:
            lines.extend(["", f"[[{name}]]"])
            _write_table(lines, item, prefix=f"{name}.")


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("\r", "\\r")
    )
    escaped = "".join(
        ch if ord(ch) >= 0x20 and ord(ch) != 0x7F else f"\\u{ord(ch):04x}" for ch in escaped
    )
    return f'"{escaped}"'


def _value(value: Any) -> str:
    value = plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(ch in text for ch in ".en") else f"{text}.0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value if item is not None) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_key(str(k))} = {_value(v)}" for k, v in value.items() if v is not None
        )
        return "{" + inner + "}" if inner else "{}"
    raise ParameterError(f"cannot write {type(value).__name__} values to TOML: {value!r}")


__all__ = ["dumps_toml", "plain"]
