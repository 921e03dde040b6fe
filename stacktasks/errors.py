"""The one exception type tasks turn into a clean, one-line failure with a hint."""

from __future__ import annotations


class StackError(Exception):
    """A failure the user can act on: a one-line reason, an optional hint and an exit code."""

    def __init__(self, message: str, hint: str | None = None, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message
