"""Text from input made safe to print: every output format stays valid, every terminal sane.

File names that are not UTF-8 reach Python as lone surrogates (U+DC80..U+DCFF, one per byte;
see PEP 383), which no UTF-8 output can hold; inputs may hold control characters (ESC, NUL)
that a terminal obeys and XML 1.0 forbids. Each function here spells such characters out
visibly (`\\xff`, `\\x1b`, `\\ufffe`) and leaves every other character as it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

from pydantic import BaseModel

from diagnose.report import Report

if TYPE_CHECKING:
    from diagnose.batch import FileResult

T = TypeVar("T")

# Lone surrogates: no encoding but Python's own can carry them.
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a terminal would obey rather than show: C0 controls but tab and newline, DEL, C1.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# What XML 1.0 forbids (its Char production), lone surrogates included.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _spell(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(text: str) -> str:
    """`text` with lone surrogates spelled out, so that it encodes to UTF-8 (JSON, Markdown)."""
    return _SURROGATE.sub(_spell, text)


def visible(text: str) -> str:
    """`text` with control characters and lone surrogates spelled out, for a terminal
    (or Markdown, which is read there too)."""
    return _CONTROL.sub(_spell, text)


def xml(text: str) -> str:
    """`text` with every character XML 1.0 forbids spelled out, for a JUnit report."""
    return _NOT_XML.sub(_spell, text)


def scrub(value: T, clean: Callable[[str], str]) -> T:
    """`value` with `clean` applied to every string in it (models, dataclasses, lists, tuples
    and dicts, keys too), copied only where something changed."""
    return cast(T, _scrub(value, clean))


def _scrub(value: object, clean: Callable[[str], str]) -> object:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, BaseModel):
        changed = {}
        for name in type(value).model_fields:
            old = getattr(value, name)
            new = _scrub(old, clean)
            if new is not old:
                changed[name] = new
        return value.model_copy(update=changed) if changed else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _scrub(old, clean)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, list | tuple):
        items = [_scrub(v, clean) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        pairs = [(_scrub(k, clean), _scrub(v, clean)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(pairs, value.items(), strict=True)):
            return value
        return dict(pairs)
    return value


def shown_report(report: Report, clean: Callable[[str], str]) -> Report:
    """The parts of `report` a renderer prints (source, verdicts, findings, questions) cleaned;
    the trace and facts, which can be large, are left as they are."""
    changed = {
        name: new
        for name in ("source", "verdicts", "findings", "questions")
        if (new := _scrub(old := getattr(report, name), clean)) is not old
    }
    return report.model_copy(update=changed) if changed else report


def shown_results(results: list[FileResult], clean: Callable[[str], str]) -> list[FileResult]:
    """Each result with `clean` applied to what a batch renderer prints of it; of its report
    only the printed parts (see `shown_report`)."""
    out = []
    for r in results:
        report = r.report
        r = scrub(dataclasses.replace(r, report=None), clean)
        r.report = None if report is None else shown_report(report, clean)
        out.append(r)
    return out


def utf8(text: str) -> str:
    """`text` with any lone surrogate left replaced by U+FFFD: the last guard before output,
    for text already laid out (a backslash there could break a JSON string)."""
    return _SURROGATE.sub("\ufffd", text)
