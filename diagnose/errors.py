"""The one exception type for input netwhy cannot use: it names the file, line and field."""

from __future__ import annotations


class InputError(Exception):
    """Unusable input: malformed text, a wrong type, an unknown value or an unreadable file."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field

    def __str__(self) -> str:
        parts = []
        if self.file or self.line is not None:
            where = self.file or "<input>"
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            parts.append(where + ":")
        if self.field:
            parts.append(f"field {self.field}:")
        parts.append(self.message)
        return " ".join(parts)


class RuleError(Exception):
    """A rule or knowledge file that does not validate: names the file and the rule."""

    def __init__(self, message: str, *, file: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.rule = rule

    def __str__(self) -> str:
        rule = f" rule {self.rule}:" if self.rule else ""
        return f"{self.file}:{rule} {self.message}"


class EngineError(Exception):
    """The rule engine failed (an action raised, or durable-rules reported an error)."""
