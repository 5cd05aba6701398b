"""Turn what callers hand us (a path, text, a dict, a Setup) into a validated Setup.

Bad input of every kind raises one InputError naming the file, line and field.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from diagnose.errors import InputError
from diagnose.model import Setup
from diagnose.yamltext import Document, PathKey, parse, read_text, refuse_surrogates

SetupSource = Setup | dict[str, Any] | str | Path


def field_path(loc: PathKey) -> str:
    """Render a pydantic location as `docker.containers[0].ports[1]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _data_path(loc: tuple[Any, ...]) -> PathKey:
    """Drop pydantic's validator labels (e.g. 'function-after[...]') from a location."""
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and p != "from_"))


def validation_error(exc: ValidationError, doc: Document | None, file: str) -> InputError:
    """The first validation error as an InputError with file, line and field."""
    err = exc.errors(include_url=False)[0]
    loc = _data_path(tuple(err["loc"]))
    if err["loc"] and err["loc"][-1] == "from_":
        loc = (*loc, "from")
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown field (a typo?)"
    elif err["type"] == "literal_error":
        got = err.get("input")
        msg = f"unknown value {got!r}: {msg.replace('Input should be', 'expected')}"
    elif err["type"] == "missing":
        msg = "required field is missing"
    line, column = doc.where(loc) if doc else (None, None)
    more = len(exc.errors())
    if more > 1:
        msg += f" (and {more - 1} more problem{'s' if more > 2 else ''})"
    return InputError(msg, file=file, line=line, column=column, field=field_path(loc) or None)


def setup_from_document(doc: Document) -> Setup:
    """Validate parsed data as a Setup."""
    if not isinstance(doc.data, dict):
        raise InputError(
            f"a setup is a mapping (host:, docker:, vms:, symptoms: ...), not a "
            f"{type(doc.data).__name__}",
            file=doc.file,
            line=1,
        )
    try:
        return Setup.model_validate(doc.data)
    except ValidationError as exc:
        raise validation_error(exc, doc, doc.file) from None


def load_text(text: str, file: str = "<text>") -> Setup:
    """Parse and validate YAML or JSON text."""
    refuse_surrogates(text, file)  # text from a caller, not a file, may hold one
    return setup_from_document(parse(text, file))


def load_path(path: str | Path) -> Setup:
    """Read a file (or `-` for standard input) and validate it."""
    if str(path) == "-":
        return load_text(sys.stdin.read(), "<stdin>")
    return load_text(read_text(path), str(path))


def load_setup(source: SetupSource, *, name: str = "<setup>") -> Setup:
    """Accept a Setup, a dict, a path, or YAML/JSON text; return a validated Setup."""
    if isinstance(source, Setup):
        return source
    if isinstance(source, dict):
        try:
            return Setup.model_validate(source)
        except ValidationError as exc:
            raise validation_error(exc, None, name) from None
    if isinstance(source, Path):
        return load_path(source)
    if isinstance(source, str):
        one_line = "\n" not in source and len(source) < 4096
        if one_line and (
            source == "-" or Path(source).suffix.lower() in _SUFFIXES or _exists(source)
        ):
            return load_path(source)
        return load_text(source, name)
    raise InputError(f"cannot read a setup from a {type(source).__name__}", file=name)


_SUFFIXES = {".yaml", ".yml", ".json"}


def _exists(name: str) -> bool:
    """Whether a text names an existing file (a lone surrogate or a NUL names none)."""
    try:
        return Path(name).exists()
    except (OSError, ValueError):
        return False
