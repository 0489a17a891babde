"""One error type for bad input, so the CLI can print one line and exit non-zero."""

from __future__ import annotations

import reprlib
from pathlib import Path


class InputError(Exception):
    """A problem with something the user gave us: a file, a line in it, an option.

    ``str(error)`` is the one line the CLI prints: ``FILE:LINE: problem``.
    """

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path or ""
        if self.path is not None and self.line is not None:
            where = f"{self.path}:{self.line}"
        return f"{where}: {self.problem}" if where else self.problem


def clip(value: object, limit: int = 80) -> str:
    """A short ``repr`` of user input for error messages: nested values are elided
    (``reprlib``) and the text is cut to ``limit`` characters."""
    shortener = reprlib.Repr()
    shortener.maxlevel = 3
    shortener.maxstring = shortener.maxother = limit
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = shortener.maxset = 6
    text = shortener.repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 15]}... ({len(text)} chars)"
