"""Command-line options generated from an effect's parameter dataclass.

Each field made with :func:`depthfx.params.option` becomes ``--field-name`` (plus its
aliases) with the field's help, range and panel; the command receives the built, validated
dataclass instead of one argument per option.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

import typer

from ..params import flag, option_fields

CommandT = TypeVar("CommandT", bound=Callable[..., Any])


def cli_parameters(params_class: type) -> list[inspect.Parameter]:
    """One keyword-only typer parameter per declared option of ``params_class``."""
    parameters = []
    for item, spec in option_fields(params_class):
        # Options with a syntax of their own (a point, a colour) are typed as text.
        kind: type = str if spec.parse is not None else spec.kind
        annotation: Any = kind | None if spec.optional else kind
        if kind is bool:
            declarations: tuple[str, ...] = (
                f"{flag(item.name)}/--no-{item.name.replace('_', '-')}",
            )
        else:
            declarations = (flag(item.name), *spec.aliases)
        default: Any = item.default
        if default is dataclasses.MISSING:  # a required option
            default = inspect.Parameter.empty
        elif spec.parse is not None and default is not None and not isinstance(default, str):
            default = str(default)
        declared = Annotated[
            annotation,
            typer.Option(*declarations, help=spec.describe(), rich_help_panel=spec.panel),
        ]
        parameters.append(
            inspect.Parameter(
                item.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=declared
            )
        )
    return parameters


def with_params(params_class: type, *, argument: str = "params") -> Callable[[CommandT], CommandT]:
    """Give a command the options of ``params_class``; it receives them built, as ``argument``.

    The generated options follow the command's own parameters in ``--help``. A bad value
    raises :class:`~depthfx.errors.ParameterError` when the object is built, which the app
    turns into a one-line error with exit code 2.
    """
    generated = cli_parameters(params_class)
    names = [parameter.name for parameter in generated]

    def decorate(command: CommandT) -> CommandT:
        signature = inspect.signature(command, eval_str=True)
        own = [
            parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for parameter in signature.parameters.values()
            if parameter.name != argument
        ]
        clashing = set(names) & {parameter.name for parameter in own}
        if clashing:
            raise TypeError(f"{command.__name__}: options declared twice: {sorted(clashing)}")
        parameters = own + generated

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in names}
            return command(**{argument: params_class(**values)}, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return cast(CommandT, wrapper)

    return decorate


__all__ = ["cli_parameters", "flag", "with_params"]
