"""Line numbers of keys in a preset's TOML text, so errors name the file and line."""

from __future__ import annotations

import os
import re


class Locator:
    """Finds the line of a key in the preset's TOML text, for error messages."""

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, source: str | os.PathLike[str] | None, text: str | None) -> None:
        self.source = str(source) if source is not None else None
        self.lines = text.splitlines() if text is not None else []

    def message(self, line: int | None, text: str) -> str:
        if self.source is None:
            return text
        return f"{self.source}:{line}: {text}" if line is not None else f"{self.source}: {text}"

    def _sections(self) -> list[tuple[int, str | None, int | None]]:
        """(line number, section name, array index) for each line."""
        result: list[tuple[int, str | None, int | None]] = []
        section: str | None = None
        index: int | None = None
        counts: dict[str, int] = {}
        for number, raw in enumerate(self.lines, start=1):
            match = self._header.match(raw)
            if match:
                section = match.group(2).strip().strip("\"'")
                if match.group(1) == "[[":
                    index = counts.get(section, 0)
                    counts[section] = index + 1
                else:
                    index = None
            result.append((number, section, index))
        return result

    def header(self, index: int) -> int | None:
        for number, section, position in self._sections():
            if (
                section == "steps"
                and position == index
                and self._header.match(self.lines[number - 1])
            ):
                return number
        return None

    def line(self, key: str, section: str | None = None, index: int | None = None) -> int | None:
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number, current, position in self._sections():
            if (
                current == section
                and (index is None or position == index)
                and pattern.match(self.lines[number - 1])
            ):
                return number
        if section is None:  # a table header is the key's line too ([depth], [[steps]])
            for number, raw in enumerate(self.lines, start=1):
                match = self._header.match(raw)
                if match and match.group(2).strip() == key:
                    return number
        return None


__all__ = ["Locator"]
