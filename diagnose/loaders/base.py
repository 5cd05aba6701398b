"""What every input loader produces: a Setup, and where each of its entries stands in the files.

A loader knows one format (a compose file, `docker inspect` JSON, a .vmx ...) and nothing
about diagnosis. It builds the setup as plain data with a `Builder`, recording for each entry
it creates the place in the input it comes from; findings about that entry then point to the
file, line and column of the key that causes them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from pydantic import ValidationError

from diagnose.errors import InputError
from diagnose.loading import field_path, validation_error
from diagnose.model import Setup
from diagnose.report import Location
from diagnose.yamltext import Document, PathKey

_PART = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


T = TypeVar("T")


class AtLineStart:
    """A pattern searched for at the start of any line, as `(?m)^pattern` is. The anchor makes
    the regex engine try every offset of the text; a newline before the pattern is a literal
    it finds fast, and the text's own start is matched apart (content detection runs such
    searches over every text file not known by its name)."""

    def __init__(self, pattern: str) -> None:
        self.first = re.compile(pattern, re.M)
        self.later = re.compile("\n" + pattern, re.M)

    def search(self, text: str) -> re.Match[str] | None:
        """The first match, as `(?m)^pattern` finds it (a later one starts at its newline)."""
        return self.first.match(text) or self.later.search(text)


def nearest(found: Mapping[str, T], path: str) -> T | None:
    """What `found` holds for the setup entry at `path`, or for its nearest parent."""
    parts = split_path(path)
    for cut in range(len(parts), 0, -1):
        hit = found.get(field_path(parts[:cut]))
        if hit is not None:
            return hit
    return None


@lru_cache(maxsize=4096)  # loaders split the same few paths for every file
def split_path(path: str) -> PathKey:
    """`docker.containers[0].ports[1]` -> ("docker", "containers", 0, "ports", 1)."""
    return tuple(int(index) if index else name for name, index in _PART.findall(path))


@dataclass(frozen=True)
class Suppression:
    """An inline `# netwhy: ignore[ID, ...] reason` in an input file."""

    file: str
    line: int
    rules: tuple[str, ...]
    reason: str | None
    scope: str = "next"  # "next" line (or the same line), or "file" for `ignore-file`
    until: int | None = None  # the last line of a statement the next line begins, if longer
    # A comment meant as one that netwhy cannot read (it suppresses nothing): its text.
    malformed: str | None = None


# Finds the line and column of a place in a parsed document (None, None: not known).
Where = Callable[[Any], tuple[int | None, int | None]]


class _Later(NamedTuple):
    """A place to look up when asked for, and the one it replaces (kept if none is found)."""

    file: str
    where: Where
    at: Any
    before: Location | None


class Places(MutableMapping[str, Location]):
    """Setup path -> place in the input, in the order recorded. A place given as a path in a
    parsed document, or as a line of a line-based format, is made a Location when it is asked
    for: loaders record one for every value, and a batch of files locates a few findings
    (building every Location first cost a tenth of loading a file). Reading may settle
    entries: one thread at a time, like a dict being filled."""

    def __init__(self, known: dict[str, Location] | None = None) -> None:
        self._entries: dict[str, Any] = dict(known or {})  # a Location, _Later or `at`
        # Finds the place of an entry recorded only as `at` (see `deferred`).
        self._locate: Callable[[Any], Location | None] | None = None

    @classmethod
    def deferred(cls, entries: dict[str, Any], locate: Callable[[Any], Location | None]) -> Places:
        """Places all to be looked up, in the order of `entries` (setup path -> `at`): each
        found as locate(at) when asked for. A loader that records every place itself hands
        them over at once, not one defer() call each (a compose file has some twenty)."""
        places = cls()
        places._entries = dict(entries)
        places._locate = locate
        return places

    def defer(self, path: str, file: str, where: Where, at: Any) -> None:
        """Record that `path` stands at `where(at)` in `file`; found when asked for."""
        before = self._entries.get(path)
        if isinstance(before, _Later):
            before = before.before
        elif not isinstance(before, Location):
            before = None  # unset, or an `at` of `deferred`: replaced as a _Later's place is
        # tuple.__new__: the same _Later without a NamedTuple's Python-level constructor
        self._entries[path] = tuple.__new__(_Later, (file, where, at, before))

    def _settled(self, path: str) -> Location | None:
        entry = self._entries.get(path)
        if entry is None or isinstance(entry, Location):
            return entry
        if isinstance(entry, _Later):
            line, column = entry.where(entry.at)
            place = entry.before
            if line is not None:
                place = Location(file=entry.file, line=line, column=column)
        else:
            assert self._locate is not None
            place = self._locate(entry)
        if place is None:
            del self._entries[path]
        else:
            self._entries[path] = place
        return place

    def __getitem__(self, path: str) -> Location:
        place = self._settled(path)
        if place is None:
            raise KeyError(path)
        return place

    def __setitem__(self, path: str, place: Location) -> None:
        self._entries[path] = place

    def __delitem__(self, path: str) -> None:
        del self._entries[path]

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._settled(path) is not None

    def __iter__(self) -> Iterator[str]:
        for path in list(self._entries):
            self._settled(path)
        return iter(list(self._entries))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"Places({dict(self.items())!r})"


@dataclass(frozen=True)
class ComposeLabel:
    """What Docker Compose's labels on a snapshot's container or network say made it: a
    service (a network) of a project. `--setup` ties it to the compose file by them."""

    project: str  # com.docker.compose.project
    name: str  # com.docker.compose.service; a network's com.docker.compose.network (its key)
    number: int | None = None  # com.docker.compose.container-number: which replica
    oneoff: bool = False  # com.docker.compose.oneoff: `docker compose run`, not a replica


@dataclass(frozen=True)
class ComposeNames:
    """What Docker calls what a compose file describes, as far as the file says; the setup
    names a service's container by the service and a network by its key."""

    project: str | None = None  # COMPOSE_PROJECT_NAME (--env), else the top-level name:
    container_names: dict[str, str] = field(default_factory=dict)  # service -> container_name
    # network key -> Docker's name of it, when the file fixes one (name:, an external network)
    network_names: dict[str, str] = field(default_factory=dict)


@dataclass
class Loaded:
    """One input made into a Setup."""

    setup: Setup
    kind: str
    files: tuple[str, ...]
    places: MutableMapping[str, Location] = field(default_factory=Places)  # setup path -> place
    suppressions: list[Suppression] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the loader could not read
    # Statements continued over several lines (`docker run ... \`): first line -> last line.
    # A comment cannot stand between their lines, so a suppression above one covers them all.
    statements: dict[int, int] = field(default_factory=dict)
    # A compose file's names for what it describes (kind compose) ...
    compose: ComposeNames | None = None
    # ... and the compose labels of a snapshot's entries (setup path -> label)
    compose_labels: dict[str, ComposeLabel] = field(default_factory=dict)

    def locate(self, path: str | None) -> Location | None:
        """The place of a setup entry, or of its nearest located parent."""
        return None if path is None else nearest(self.places, path)


def _at_line(line: int) -> tuple[int, None]:
    """The place of a line-based format's entry: its line (Places.defer's `where`)."""
    return line, None


class Builder:
    """Build a Setup as plain data while recording where each entry comes from.

    b = Builder("compose.yaml", doc)
    i = b.append("docker.containers", {"name": "web"}, at=("services", "web"))
    b.place(f"docker.containers[{i}].ports[0]", ("services", "web", "ports", 0))
    loaded = b.finish("compose")
    """

    def __init__(self, file: str, doc: Document | None = None) -> None:
        self.file = file
        self.doc = doc
        self.data: dict[str, Any] = {}  # built by set() and append() only
        # path -> the list append() fills: found once, not by walking the path each time
        # (a loader appends every container and network); set() may replace one, so it clears
        self._lists: dict[str, list[Any]] = {}
        self.places = Places()
        self.suppressions: list[Suppression] = []
        self.notes: list[str] = []
        self.statements: dict[int, int] = {}  # see Loaded.statements

    def place(self, path: str, at: PathKey | int | None) -> None:
        """Record that setup entry `path` comes from `at`: a path in the parsed document, or
        a line number for line-based formats."""
        if at is None:
            return
        if isinstance(at, int):
            # Made a Location when asked for, as a document's places are: a Location validates
            # its fields, and a file of commands records hundreds of lines.
            self.places.defer(path, self.file, _at_line, at)
            return
        if self.doc is not None:
            self.places.defer(path, self.file, self.doc.where, at)

    def _slot(self, path: str) -> tuple[dict[str, Any] | list[Any], str | int]:
        parts = split_path(path)
        node: Any = self.data
        for here, nxt in itertools.pairwise(parts):
            if isinstance(node, dict):
                node = node.setdefault(here, [] if isinstance(nxt, int) else {})
            else:
                node = node[here]
        return node, parts[-1]

    def set(self, path: str, value: Any, at: PathKey | int | None = None) -> None:
        """Set a value (creating the mappings on the way) and record its place."""
        parent, key = self._slot(path)
        parent[key] = value  # type: ignore[index]
        self._lists.clear()
        self.place(path, at)

    def append(self, path: str, value: Any, at: PathKey | int | None = None) -> int:
        """Append to a list (created if needed); return the index of the new item."""
        items = self._lists.get(path)
        if items is None:
            parent, key = self._slot(path)
            assert isinstance(parent, dict)
            items = self._lists[path] = parent.setdefault(key, [])  # type: ignore[arg-type]
        items.append(value)
        index = len(items) - 1
        if at is not None:
            self.place(f"{path}[{index}]", at)
        return index

    def finish(self, kind: str, *, files: tuple[str, ...] | None = None) -> Loaded:
        """Validate what was built; an invalid value is reported at its place in the input."""
        try:
            setup = Setup.model_validate(self.data)
        except ValidationError as exc:
            err = validation_error(exc, None, self.file)
            place = Loaded(Setup(), kind, (self.file,), self.places).locate(err.field)
            if place is not None:
                err.file, err.line, err.column = place.file, place.line, place.column
            raise err from None
        return Loaded(
            setup,
            kind,
            files or (self.file,),
            self.places,
            list(self.suppressions),
            list(self.notes),
            dict(self.statements),
        )


def type_name(value: Any) -> str:
    """What a parsed value is, in the words an error message gives it ("a mapping")."""
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


@dataclass(frozen=True)
class LoadOptions:
    """What the caller tells every loader."""

    env: dict[str, str] = field(default_factory=dict)  # --env NAME=VALUE for ${NAME}
    read_siblings: bool = True  # may read files beside the input (.env, extends: file:)
    regular_file: bool | None = None  # the input is a regular file (None: not known yet)

    def for_file(self, regular: bool) -> LoadOptions:
        """These options for an input read from a file (regular or not): what
        dataclasses.replace gives, which finds the fields anew for every file. Built as a
        copy of every field, not by __init__ (a frozen dataclass's sets each one through
        object.__setattr__)."""
        options = object.__new__(LoadOptions)
        object.__setattr__(options, "__dict__", {**self.__dict__, "regular_file": regular})
        return options


Loader = Callable[[str, str, str, LoadOptions], Loaded]  # (text, file, kind, options)
Detector = Callable[[str, str, str], bool]  # (file name, text, kind) -> is it mine?


def refuse(message: str, file: str, line: int | None = None, field: str | None = None) -> None:
    """Raise the one error type every loader raises."""
    raise InputError(message, file=file, line=line, field=field)
