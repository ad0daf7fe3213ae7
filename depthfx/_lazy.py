"""Package namespaces that import a name's module only when the name is first used.

``import depthfx`` (and so ``depthfx --help``) then costs nothing beyond the package itself;
``depthfx.bokeh`` imports the lens-blur modules the first time it is touched.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose names live in ``table``'s modules.

    ``table`` maps each public name to the module (relative to ``package``) defining it.
    """

    def get_attribute(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        globals_of_package = importlib.import_module(package).__dict__
        globals_of_package[name] = value  # later look-ups skip __getattr__
        return value

    def list_names() -> list[str]:
        return sorted(set(table) | set(importlib.import_module(package).__dict__))

    return get_attribute, list_names


__all__ = ["lazy_exports"]
