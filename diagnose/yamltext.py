"""Reading YAML/JSON text the way Docker does, keeping the line of every value for error messages.

- Ports such as `22:22` stay text (YAML 1.1 would read the base-60 number 1342; Docker reads text).
- Compose's `!reset` and `!override` tags load instead of failing.
- Duplicate keys are an error (YAML keeps the last one silently).
"""

from __future__ import annotations

import codecs
import errno
import json
import operator
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from diagnose.errors import InputError

MAX_BYTES = 5 * 1024 * 1024

PathKey = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers, with compose's merge tags."""


# Copy the resolvers so the stock SafeLoader is untouched, then drop the sexagesimal forms.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:int",)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
for _first, _resolvers in list(_Loader.yaml_implicit_resolvers.items()):
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, rx)
        for tag, rx in _resolvers
        if not (tag == "tag:yaml.org,2002:float" and rx.match("1:20.5"))
    ]
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


# A batch's documents repeat the same plain scalars (keys, images, ports): the tag the
# resolvers' regular expressions give each is remembered. Short texts only (every number,
# boolean and null form is short), up to a bound, forgotten together when it is reached.
_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_AT_MOST = 20_000
_PLAIN_TAG_LENGTH = 64
_base_resolve: Callable[[Any, Any, str, tuple[bool, bool]], str] = yaml.SafeLoader.resolve


_STR, _MAP, _SEQ = (f"tag:yaml.org,2002:{t}" for t in ("str", "map", "seq"))
# Without path resolvers (netwhy adds none) a node that is not a plain scalar takes its kind's
# default tag: said here, not found by PyYAML's general resolve (a call for every node).
_DEFAULT_TAGS = {yaml.ScalarNode: _STR, yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}
_SCALAR_NODE = yaml.ScalarNode


def _resolve(loader: Any, kind: Any, value: str, implicit: tuple[bool, bool]) -> str:
    if kind is not _SCALAR_NODE or not implicit[0]:
        return _DEFAULT_TAGS[kind]
    tag = _PLAIN_TAGS.get(value)  # only short texts are there
    if tag is None:
        if len(value) > _PLAIN_TAG_LENGTH:
            return _base_resolve(loader, kind, value, implicit)
        tag = _base_resolve(loader, kind, value, implicit)
        if len(_PLAIN_TAGS) >= _PLAIN_TAGS_AT_MOST:
            _PLAIN_TAGS.clear()
        _PLAIN_TAGS[value] = tag
    return tag


_Loader.resolve = _resolve  # type: ignore[method-assign]


@dataclass(frozen=True)
class Tagged:
    """A value carrying compose's `!reset` or `!override` tag."""

    tag: str
    value: Any


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Tagged:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return Tagged(suffix, value)


_Loader.add_multi_constructor("!", _tagged)


# libyaml's parser (when PyYAML was built with it) reads about ten times faster; it is given
# the same resolvers and constructors, so it reads every document the same way.
_FastLoader: type[Any] | None = None
if hasattr(yaml, "CSafeLoader"):

    class _CLoader(yaml.CSafeLoader):
        """CSafeLoader with _Loader's resolvers and tags."""

        # libyaml's composer calls these two around every node for path resolvers, which
        # netwhy has none of: a C function that does nothing costs less than PyYAML's
        # Python one that returns at once (a compose file has some 40 nodes).
        descend_resolver = staticmethod(operator.is_)  # type: ignore[assignment]
        ascend_resolver = staticmethod(tuple)  # type: ignore[assignment]

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _CLoader.resolve = _resolve  # type: ignore[method-assign]
    _CLoader.yaml_multi_constructors = dict(_Loader.yaml_multi_constructors)
    _FastLoader = _CLoader


def text_scalars(text: str) -> list[tuple[tuple[int, int], tuple[int, int]]] | None:
    """Where each quoted or block scalar of a YAML text starts and ends, as (line, column)
    with lines from 1: a `#` inside one is text, not a comment. None if the text does not
    scan (its loader says why)."""
    try:
        tokens = yaml.scan(text, Loader=_FastLoader or _Loader)
        return [
            ((t.start_mark.line + 1, t.start_mark.column), (t.end_mark.line + 1, t.end_mark.column))
            for t in tokens
            if isinstance(t, yaml.ScalarToken) and not t.plain
        ]
    except (yaml.YAMLError, ValueError, RecursionError):
        return None


@dataclass
class Document:
    """Parsed data plus where each value stands in the text."""

    data: Any
    file: str
    lines: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int | None, int | None]:
        """The line and column of the value at `path`, or of its nearest located parent."""
        for cut in range(len(path), -1, -1):
            hit = self.lines.get(path[:cut])
            if hit:
                return hit
        return None, None


def read_text(path: str | Path) -> str:
    """Read a text file, refusing what is not one with one clear error."""
    return read_file(path)[0]


def read_file(path: str | Path) -> tuple[str, bool]:
    """Read a text file as read_text does; also whether it is a regular file (not a pipe or
    a device)."""
    name = str(path)
    try:
        # The descriptor itself, not a file object: open() builds a FileIO and a buffer around
        # it, which cost more than reading the few hundred bytes of a compose file.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), name)
            if info.st_size > MAX_BYTES:
                raise InputError(
                    f"file is {info.st_size:,} bytes; the limit is {MAX_BYTES:,} (is it really "
                    "a setup?)",
                    file=name,
                )
            # A regular file is read whole (its size sizes the first read); a pipe or device
            # has no size to trust and is read in chunks up to the limit.
            regular = stat.S_ISREG(info.st_mode)
            raw = _read_all(fd, info.st_size + 1 if regular else 1 << 16)
        finally:
            os.close(fd)
    except IsADirectoryError:
        raise InputError("is a directory, not a file", file=name) from None
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except PermissionError:
        raise InputError("permission denied", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_BYTES:  # it grew while being read, or is not a regular file
        raise InputError(f"file is larger than the limit of {MAX_BYTES:,} bytes", file=name)
    return decode(raw, name), regular


def _read_all(fd: int, first: int) -> bytes:
    """What `fd` holds to its end, or the first MAX_BYTES + 1 bytes (then it is refused)."""
    chunk = os.read(fd, min(first, MAX_BYTES + 1))
    if not chunk:
        return chunk
    chunks = [chunk]
    total = len(chunk)
    while total <= MAX_BYTES:
        chunk = os.read(fd, min(max(first, 1 << 16), MAX_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode(raw: bytes, name: str) -> str:
    """Decode bytes as UTF-8 text, refusing binary data."""
    if b"\x00" in raw[:8192]:
        raise InputError("binary file (contains NUL bytes), not YAML or JSON", file=name)
    # As the utf-8-sig codec reads (one BOM dropped), without its Python-level decode.
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1  # where the error is counts in what was read
        raise InputError("not UTF-8 text", file=name, line=line) from None
    return text


MAX_NODES = 200_000
_SCALAR, _SEQUENCE = yaml.ScalarNode, yaml.SequenceNode


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes the document has once aliases are expanded (an alias bomb has billions)."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 1  # a recursive alias counts once
    size = 1
    # A scalar counts one wherever it stands: counted here, not in a call (JSON is mostly them).
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            size += 1 if key_node.__class__ is _SCALAR else _expanded_size(key_node, memo)
            size += 1 if value_node.__class__ is _SCALAR else _expanded_size(value_node, memo)
            if size > MAX_NODES:
                break
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            size += 1 if item.__class__ is _SCALAR else _expanded_size(item, memo)
            if size > MAX_NODES:
                break
    memo[id(node)] = size
    return size


def _positions(
    node: yaml.Node,
    path: PathKey,
    out: dict[PathKey, tuple[int, int]],
    seen: set[int] | None = None,
) -> None:
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias: its values were located where the anchor stands
        return
    seen.add(id(node))
    out.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    # Scalars are placed here, not in a call, as the call would place them.
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                at = (*path, key_node.value)
                out[at] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if value_node.__class__ is _SCALAR:
                    seen.add(id(value_node))  # it stands where its key does
                else:
                    _positions(value_node, at, out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            if item.__class__ is not _SCALAR:
                _positions(item, (*path, i), out, seen)
            elif id(item) not in seen:
                seen.add(id(item))
                mark = item.start_mark
                out.setdefault((*path, i), (mark.line + 1, mark.column + 1))


def _check_duplicates(node: yaml.Node, file: str, visited: set[int] | None = None) -> None:
    visited = set() if visited is None else visited
    if id(node) in visited:  # an alias: checked where its anchor stands
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.startswith("!"):
                raise _bad_key(key_node, file)
            if key_node.value != "<<":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    raise _duplicate(key_node, seen[key_node.value], file)
                seen[key_node.value] = line
            _check_duplicates(value_node, file, visited)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicates(item, file, visited)


def _bad_key(key_node: yaml.Node, file: str) -> InputError:
    """`? [a, b]: x` or `!reset dns: x`: keys are names (compose reads its tags on values)."""
    line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
    if isinstance(key_node, yaml.ScalarNode):
        name, tag = key_node.value, key_node.tag
        message = f"key {name!r} is tagged {tag}: a tag goes on the value ({name}: {tag} ...)"
        return InputError(message, file=file, line=line, column=column, field=name)
    return InputError(
        "a key must be a name, not a list or a mapping", file=file, line=line, column=column
    )


def _duplicate(key_node: yaml.Node, first: int, file: str) -> InputError:
    return InputError(
        f"duplicate key {key_node.value!r} (first on line {first})",
        file=file,
        line=key_node.start_mark.line + 1,
        field=key_node.value,
    )


class _NotPlain(Exception):
    """A node the one-walk reader leaves to PyYAML: a merge key, a tag, a key not a string."""


class _Reader:
    """One walk over the composed nodes of a plain document (strings, numbers and the like,
    mappings with string keys, sequences) that builds the data, refuses duplicate keys,
    counts the nodes once aliases are expanded and records where each value stands: what
    PyYAML's constructor and three walks over the nodes gave, at a fraction of the cost.

    Anything else raises _NotPlain and the document is read the long way (see `parse`):
    PyYAML rewrites a mapping with merge keys as it builds it, so checks and counts must see
    every node before anything is built.
    """

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[PathKey, tuple[int, int]] = {}
        # node -> its value, in PyYAML's own memo: scalars other than strings are built by
        # its constructors, and an alias is the very object its anchor built.
        self.built: dict[yaml.Node, Any] = loader.constructed_objects
        self.sizes: dict[int, int] = {}  # id(node) -> its node count, aliases expanded

    def read(self, node: yaml.Node, path: PathKey) -> Any:
        # One frame per level of nesting, as the walks it replaces (deep documents).
        key = id(node)
        if key in self.sizes:  # an alias: located and counted where its anchor stands
            return self.built[node]
        lines = self.lines
        if path not in lines:  # a mapping's value already stands where its key does
            mark = node.start_mark
            lines[path] = (mark.line + 1, mark.column + 1)
        self.sizes[key] = 1  # a recursive alias counts once
        if node.__class__ is _SCALAR:
            return self.scalar(node)
        size = 1
        built = self.built
        if node.__class__ is _SEQUENCE:
            if node.tag != _SEQ:
                raise _NotPlain
            items: list[Any] = []
            built[node] = items
            for i, item in enumerate(node.value):
                if item.__class__ is _SCALAR:  # most items: read here, not in a call
                    size += 1  # an alias to a scalar counts one too
                    if item in built:  # an alias
                        items.append(built[item])
                        continue
                    mark = item.start_mark
                    lines[(*path, i)] = (mark.line + 1, mark.column + 1)
                    # text (most scalars) as scalar() reads it, without the call
                    if item.tag == _STR:
                        items.append(item.value)
                        built[item] = item.value
                    else:
                        items.append(self.scalar(item))
                    continue
                items.append(self.read(item, (*path, i)))
                size += self.sizes[id(item)]
            self.sizes[key] = size
            return items
        if node.tag != _MAP:
            raise _NotPlain
        out: dict[str, Any] = {}
        built[node] = out
        for key_node, value_node in node.value:
            name = key_node.value
            if key_node.tag != _STR or name == "<<":
                raise _NotPlain
            at = (*path, name)
            if name in out:  # the first one's line is where its key was located
                raise _duplicate(key_node, lines[at][0], self.file)
            mark = key_node.start_mark
            lines[at] = (mark.line + 1, mark.column + 1)
            if value_node.__class__ is _SCALAR:  # as in a sequence; located at its key
                size += 2
                if value_node in built:
                    out[name] = built[value_node]
                elif value_node.tag == _STR:
                    out[name] = built[value_node] = value_node.value
                else:
                    out[name] = self.scalar(value_node)
                continue
            out[name] = self.read(value_node, at)
            size += self.sizes[id(value_node)] + 1
        self.sizes[key] = size
        return out

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """The value of a scalar node not read before (an alias of it is the same object)."""
        if node.tag == _STR:
            self.built[node] = node.value
            return node.value
        return self.loader.construct_object(node)


def _json_positions(text: str) -> dict[PathKey, tuple[int, int]]:
    """Where each value of a JSON text stands, read with the YAML parser when it can
    (JSON is nearly YAML; tabs and a few escapes are not): positions are a nicety only."""
    try:
        loader = (_FastLoader or _Loader)(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        return {}
    lines: dict[PathKey, tuple[int, int]] = {}
    if node is not None and _expanded_size(node, {}) <= MAX_NODES:
        _positions(node, (), lines)
    return lines


# An escape of a high surrogate without its low one after it, or of a low one without its high.
_LONE_SURROGATE_ESCAPE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def refuse_surrogates(text: str, file: str, value: str | None = None) -> None:
    """Refuse a lone UTF-16 surrogate in `text` (a caller's string: a file read as UTF-8 has
    none), or in `value` built from it (JSON's "\\ud800"): no encoding writes it, and every
    later step (facts, output) would fail on it."""
    target = text if value is None else value
    if target.isascii():
        return
    try:
        target.encode("utf-8")
    except UnicodeEncodeError:
        m = re.search("[\\ud800-\\udfff]", text) or _LONE_SURROGATE_ESCAPE.search(text)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise InputError(
            "a lone UTF-16 surrogate (such as \\ud800 without its pair): not a character",
            file=file,
            line=line,
        ) from None


def _too_long(exc: ValueError) -> bool:
    """Whether Python refused to read an int for its digits (4,300 and more, by default)."""
    return "integer string conversion" in str(exc)


def value_problem(exc: ValueError) -> str:
    """What a ValueError met while building a parsed value says, in the project's words."""
    return (
        "a number of thousands of digits: not a value netwhy reads" if _too_long(exc) else str(exc)
    )


def _value_error(exc: ValueError, text: str, file: str, syntax: str) -> InputError:
    """A value the parser could not build; for a number too long, its line."""
    if not _too_long(exc):
        return InputError(f"malformed {syntax}: {exc}", file=file)
    limit = sys.get_int_max_str_digits() or 4300
    m = re.search(f"[0-9][0-9_]{{{limit},}}", text)
    line = text.count("\n", 0, m.start()) + 1 if m else None
    return InputError(value_problem(exc), file=file, line=line)


def parse(text: str, file: str) -> Document:
    """Parse YAML (JSON included) into a Document; malformed text raises InputError."""
    if not text.strip():
        raise InputError("empty file", file=file)
    if text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON: {exc.msg}", file=file, line=exc.lineno, column=exc.colno
            ) from None
        except RecursionError:
            raise InputError("malformed JSON: nested too deeply", file=file) from None
        except ValueError as exc:  # Python's limit on the digits of an int
            raise _value_error(exc, text, file, "JSON") from None
        if _LONE_SURROGATE_ESCAPE.search(text):  # "\ud800" alone: no character, none encodes it
            refuse_surrogates(text, file, json.dumps(data, ensure_ascii=False))
        return Document(data, file, _json_positions(text))
    loader = (_FastLoader or _Loader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError("empty document", file=file)
        reader = _Reader(loader, file)
        try:
            data = reader.read(node, ())
            size, plain = reader.sizes[id(node)], True
        except _NotPlain:  # the long way: check and count every node, then build
            loader.constructed_objects.clear()  # values the walk had begun
            _check_duplicates(node, file)
            size, plain = _expanded_size(node, {}), False
        if size > MAX_NODES:
            raise InputError(
                f"the document expands to more than {MAX_NODES:,} values (YAML aliases nested "
                "in aliases?); refusing it",
                file=file,
            )
        if not plain:
            data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        raise InputError(
            f"malformed YAML: {problem}",
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=file) from None
    except RecursionError:
        raise InputError("malformed YAML: nested too deeply", file=file) from None
    except ValueError as exc:  # an int of too many digits, a date that is none (2024-13-45)
        raise _value_error(exc, text, file, "YAML") from None
    finally:
        loader.dispose()
    if plain:
        return Document(data, file, reader.lines)
    lines: dict[PathKey, tuple[int, int]] = {}
    _positions(node, (), lines)  # after building: merged keys are in their mappings now
    return Document(data, file, lines)
