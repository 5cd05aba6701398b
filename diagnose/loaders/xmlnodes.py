"""A small XML reader for the loaders of XML formats (.vbox, libvirt): every element keeps the
line of its start tag, so findings can point into the file (no loader reads a column).

It parses with expat directly (ElementTree's C parser hides the line numbers), refuses DOCTYPE
and entity declarations (no entity expansion, no external fetches), and turns every syntax
error into one InputError naming the file, line and column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from xml.parsers import expat

from diagnose.errors import InputError

MAX_ELEMENTS = 200_000  # a libvirt test driver file has a few thousand; more is not a config


@dataclass(slots=True)  # a libvirt file makes hundreds
class Node:
    """One element: tag (namespace prefix kept as written), attributes, children, and its text
    if its tag is one parse_xml was asked to keep the text of."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Node] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> Node | None:
        """The first child element with this tag."""
        for child in self.children:
            if child.tag == tag:
                return child
        return None

    def findall(self, tag: str) -> list[Node]:
        """Every child element with this tag."""
        return [child for child in self.children if child.tag == tag]

    def walk(self) -> Iterator[Node]:
        """This element and every element below it, in document order."""
        stack = [self]
        while stack:  # iterative: a deeply nested file must not exhaust the call stack
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


class _Refused(Exception):
    """Raised from an expat handler; carries the message and the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


_DECL = re.compile(r"<\?xml[^>]*\?>")
WRAPPER = "netwhy-wrapper"


def parse_xml(
    text: str, file: str, *, many: bool = False, text_of: frozenset[str] = frozenset()
) -> list[Node]:
    """Parse an XML document into its top-level elements.

    many=True accepts several top-level elements one after the other (definitions pasted into
    one file, e.g. `virsh net-dumpxml a; virsh dumpxml b`); line numbers stay those of the file.
    Top-level text other than whitespace is refused (it is not XML: a diff, a log).
    Only the elements whose tag is in text_of keep their text (the others' is ""): the runs of
    blanks between elements are most of the text, and expat hands each one to Python.
    """
    if not text.strip():
        raise InputError("empty file", file=file)
    declared = re.search(r"<!(DOCTYPE|ENTITY)", text)
    if declared:  # refused before parsing: inside the wrapper it would be a syntax error
        raise InputError(
            f"{declared.group(1)} declarations are refused (no entities, no external DTDs)",
            file=file,
            line=text.count("\n", 0, declared.start()) + 1,
        )
    prefix = ""
    body = text
    if many:
        # XML declarations are legal only at the very start of a document: blank them (same
        # length, so columns and lines stay put) and put the wrapper on line 1.
        body = _DECL.sub(lambda m: " " * len(m.group(0)), text)
        prefix = f"<{WRAPPER}>"
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True  # one call per run of text, not one per line and entity
    root = Node(WRAPPER, {}, 1)
    stack: list[Node] = [root]
    count = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        # expat hands each call a dict of its own; children given: no default factory to run
        node = Node(tag, attrs, parser.CurrentLineNumber, [])
        stack[-1].children.append(node)
        stack.append(node)
        if tag in text_of:
            hand_text(chars)
        elif handler is not None:
            hand_text(None)

    def start_counted(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise _Refused(
                f"more than {MAX_ELEMENTS:,} elements; refusing it", parser.CurrentLineNumber
            )
        start(tag, attrs)

    def end(tag: str) -> None:
        stack.pop()
        text_to: Callable[[str], None] | None = outside
        if len(stack) != top_level:
            text_to = chars if stack[-1].tag in text_of else None
        if text_to is not handler:
            hand_text(text_to)

    # Text is handed over only where it is read (None: expat calls no Python for it); the
    # handler is set only when it changes (setting one costs a search of the handler names).
    handler: Callable[[str], None] | None = None
    top_level = 2 if many else -1  # the stack's length between top-level elements

    def hand_text(text_to: Callable[[str], None] | None) -> None:
        nonlocal handler
        parser.CharacterDataHandler = handler = text_to

    def chars(data: str) -> None:
        stack[-1].text += data

    def outside(data: str) -> None:
        if data.strip():  # directly inside the wrapper: handed over only there
            # buffer_text hands the whole run over when the next markup starts, and expat
            # stands there: count back to the run's first line that is not blank.
            blank = len(data) - len(data.lstrip())
            line = parser.CurrentLineNumber - data.count("\n") + data.count("\n", 0, blank)
            first = data.strip().splitlines()[0]
            raise _Refused(
                f"text outside any element ({first[:40]!r}): not XML (a diff or a log?)", line
            )

    def doctype(*_: object) -> None:
        raise _Refused(
            "DOCTYPE declarations are refused (no entities, no external DTDs)",
            parser.CurrentLineNumber,
        )

    def entity(*_: object) -> None:
        raise _Refused("entity declarations are refused", parser.CurrentLineNumber)

    # A text has no more elements than `<`s (the wrapper of `many` is one more): counting
    # them one by one is needed only beyond.
    most = text.count("<") + (1 if prefix else 0)
    parser.StartElementHandler = start_counted if most > MAX_ELEMENTS else start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.ExternalEntityRefHandler = lambda *_: False
    closing = False
    try:
        if prefix:
            parser.Parse(prefix, False)
            hand_text(outside)
        parser.Parse(body, False)
        closing = True
        parser.Parse(f"</{WRAPPER}>" if prefix else "", True)
    except _Refused as exc:
        raise InputError(exc.message, file=file, line=exc.line) from None
    except expat.ExpatError as exc:
        line: int | None = exc.lineno
        column: int | None = exc.offset + 1
        message = expat.ErrorString(exc.code) or "malformed XML"
        no_elements = expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS]
        seen = root.children[0].children if prefix else root.children
        if exc.code == no_elements and not seen:
            raise InputError("no XML element in the file", file=file, line=1) from None
        if closing:  # the text ended inside an element
            line, column = text.rstrip().count("\n") + 1, None
            message = "unexpected end of file (an element is not closed)"
        elif prefix and line == 1 and column is not None:
            column = max(1, column - len(prefix))
        raise InputError(f"malformed XML: {message}", file=file, line=line, column=column) from None
    except RecursionError:
        raise InputError("malformed XML: nested too deeply", file=file) from None
    tops = root.children[0].children if many else root.children
    if not tops:
        raise InputError("no XML element in the file", file=file, line=1)
    return tops


def bool_attr(node: Node, name: str, file: str, default: bool | None = None) -> bool | None:
    """A boolean attribute written as true/false, yes/no, on/off or 1/0."""
    raw = node.attrs.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise InputError(
        f"{name}={raw!r} is not a boolean (true/false)", file=file, line=node.line, field=name
    )
