"""Plain conversion of simple option values, without typer's Pydantic adapters.

typer (0.2x) converts every option value through a Pydantic ``TypeAdapter`` built on first
use. Importing Pydantic and building the adapters costs about 50 ms per command, a tenth
of what ``depthfx fog`` takes on a 12 MP photo. depthfx's options are plain ``str``,
``int``, ``float`` and ``Path`` values, checked afterwards by their specs
(:mod:`depthfx.params`), so those are converted here with the builtins. Every other
parameter keeps typer's own conversion, and so does every parameter when typer's
internals are not the ones this module knows (older or newer typer): then nothing changes
but the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

try:  # typer's private runtime-conversion layer (0.2x); absent elsewhere.
    from typer._click import Context
    from typer._click.exceptions import BadParameter
    from typer._coercion import RuntimeParam
    from typer._param_types import coerce_cli_path
    from typer.core import _TyperParameter

    _KNOWN_TYPER = True
except ImportError:  # pragma: no cover - depends on the installed typer
    _KNOWN_TYPER = False

_NUMBER_NAMES = {int: "an integer", float: "a number"}
# The spellings Pydantic accepts for a boolean (typer's conversion before this one).
_BOOLEANS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("", "0", "off", "f", "false", "n", "no"), False),
}

if _KNOWN_TYPER:

    @dataclass(frozen=True)
    class _PlainParam(RuntimeParam):
        """``str``, ``bool``, ``int``, ``float`` or ``Path`` (or a list of one of them) by
        the builtins, with click's message."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if get_origin(self.annotation) is list:
                (kind,) = get_args(self.annotation)
                values = value if isinstance(value, (list, tuple)) else [value]
                return [self._one(kind, item, param, ctx) for item in values]
            return self._one(self.annotation, value, param, ctx)

        def _one(self, kind: Any, value: Any, param: Any, ctx: Any) -> Any:
            if kind is bool:
                if isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
                    return _BOOLEANS[value.strip().lower()]
                raise BadParameter(f"{value!r} is not a boolean.", ctx=ctx, param=param)
            if kind is str:
                return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if kind in _NUMBER_NAMES:
                if isinstance(value, kind) and not isinstance(value, bool):
                    return value
                try:
                    return kind(value)
                except (TypeError, ValueError):
                    message = f"{value!r} is not {_NUMBER_NAMES[kind]}."
                    raise BadParameter(message, ctx=ctx, param=param) from None
            # typer's own path checks (exists, dir_okay, ...) on an already-made Path.
            path = value if isinstance(value, Path) else Path(value)
            return coerce_cli_path(path, self.parameter_info, path_type=Path, param=param, ctx=ctx)


def _is_plain(param: Any) -> bool:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(param, "_runtime_param", False) is not None:
        return False
    info = descriptor.parameter_info
    if descriptor.file_annotation is not None or info.parser is not None:
        return False
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        (annotation,) = get_args(annotation) or (None,)
    if annotation in (str, bool):
        return True
    if annotation in _NUMBER_NAMES:
        return info.min is None and info.max is None
    return annotation is Path and info.path_type is None


def use_plain_coercion(command: Any) -> Any:
    """Give the simple options of a click command (and a group's subcommands) the plain
    conversion; returns the command."""
    if not _KNOWN_TYPER:  # pragma: no cover - depends on the installed typer
        return command
    # The --help option is made on first use: make it now (typer caches it) to convert it too.
    help_option = command.get_help_option(Context(command))
    for param in [*getattr(command, "params", ()), help_option]:
        if isinstance(param, _TyperParameter) and _is_plain(param):
            descriptor = param.type_descriptor
            param._runtime_param = _PlainParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
    for subcommand in getattr(command, "commands", {}).values():
        use_plain_coercion(subcommand)
    return command
