"""One error type for everything the engine reports to its client: a stable code, a message, a hint."""

from __future__ import annotations


class EngineError(Exception):
    """An error the client can act on. `code` is stable; `hint` says what to do next."""

    def __init__(self, code: str, message: str, *, hint: str | None = None, field: str | None = None, file: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.field = field
        self.file = file

    def to_body(self) -> dict:
        return {"code": self.code, "message": self.message, "hint": self.hint, "field": self.field, "file": self.file}


class Cancelled(Exception):
    """Raised inside a job when its request was cancelled."""
