"""`--setup`: several inputs describe one setup (a compose file, the host's `ip -j addr`,
daemon.json...). Their setups are merged into one, keeping where each entry came from.

Lists of named things (containers, networks, VMs, interfaces) are merged by name; other
lists are joined, an entry an earlier input gave already not repeated. A value two inputs
give differently: a compose file read after another overrides it, as `docker compose -f
base.yaml -f override.yaml` does; between other inputs it is a contradiction, an error
naming the field and both places (`netwhy scan`, which reads one machine's state from
several sources, keeps the first and notes the disagreement).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from diagnose.errors import InputError
from diagnose.loaders.base import Loaded, nearest, split_path
from diagnose.loading import field_path, validation_error
from diagnose.model import Setup
from diagnose.report import Location

_GENERATED_ID = re.compile(r"s\d+")


# (merged path, the path in input n, the inputs that gave the kept value, kept value,
# input n's value, n) -> the value
Disagree = Callable[[str, str, frozenset[int], Any, Any, int], Any]


_MATCHED = object()


class _Merger:
    """Merges inputs one by one, remembering which inputs gave each entry."""

    def __init__(self, disagree: Disagree) -> None:
        self.data: dict[str, Any] = {}
        # merged path of an entry -> the inputs that gave it (a value: that gave it so)
        self.owner: dict[str, frozenset[int]] = {}
        self.disagree = disagree

    def givers(self, path: str) -> frozenset[int]:
        """The inputs that gave the entry at `path` (or the nearest entry holding it)."""
        return nearest(self.owner, path) or frozenset()

    def merge(self, into: Any, new: Any, path: str, own: str, remap: dict[str, str], n: int) -> Any:
        """Merge input n's `new` (at `own` in it) into `into` at `path`; record how its list
        indices move."""
        if isinstance(into, dict) and isinstance(new, dict):
            for key, value in new.items():
                sub = f"{path}.{key}" if path else key
                if key in into:
                    into[key] = self.merge(
                        into[key], value, sub, f"{own}.{key}" if own else key, remap, n
                    )
                else:
                    into[key] = value
                    self.owner[sub] = frozenset({n})
            return into
        if isinstance(into, list) and isinstance(new, list):
            named = all(isinstance(v, dict) and "name" in v for v in into + new)
            earlier: list[Any] = [] if named else into[:]  # what earlier inputs gave, unmatched
            for i, value in enumerate(new):
                target = None
                if named:
                    target = next(
                        (j for j, v in enumerate(into) if v["name"] == value["name"]), None
                    )
                elif value in earlier:  # two inputs tell of one port: it is there once
                    target = earlier.index(value)
                    earlier[target] = _MATCHED
                if target is None:
                    into.append(value)
                    target = len(into) - 1
                    self.owner[f"{path}[{target}]"] = frozenset({n})
                else:
                    into[target] = self.merge(
                        into[target], value, f"{path}[{target}]", f"{own}[{i}]", remap, n
                    )
                remap[f"{path}[{i}]"] = f"{path}[{target}]"
            return into
        givers = self.givers(path)
        if into != new:
            kept = self.disagree(path, own, givers, into, new, n)
            if kept is new:
                self.owner[path] = frozenset({n})
            return kept
        self.owner[path] = givers | {n}
        return into


def _implicit_default_dropped(merger: _Merger, loads: list[Loaded], notes: list[str]) -> None:
    """A compose service without network_mode joins the project's `default` network; an
    override that gives it a network_mode takes it off, as compose merges them (else the
    service would be read as in host mode and on `default` at once)."""
    containers = merger.data.get("docker", {}).get("containers", [])
    for i, ct in enumerate(containers):
        path = f"docker.containers[{i}]"
        if "network_mode" not in ct or ct.get("networks") != [{"name": "default"}]:
            continue
        joined = merger.givers(f"{path}.networks")
        moded = merger.givers(f"{path}.network_mode")
        if joined.isdisjoint(moded) and all(loads[n].kind == "compose" for n in joined | moded):
            del ct["networks"]
            notes.append(
                f"{ct.get('name')}: network_mode {ct['network_mode']!r} from an override takes "
                "it off the default network, as compose does"
            )


def _moved(path: str, remap: dict[str, str]) -> str:
    """Where an entry of one input stands in the merged setup."""
    parts = split_path(path)
    out: list[str | int] = []
    for part in parts:
        out.append(part)
        current = field_path(tuple(out))
        if isinstance(part, int) and current in remap:
            out = list(split_path(remap[current]))
    return field_path(tuple(out))


def merge(loads: list[Loaded], *, strict: bool = True) -> Loaded:
    """One Loaded from several; see the module's docstring for values they give differently
    (not `strict`: the first is kept and a note says so)."""
    if len(loads) == 1:
        return loads[0]
    places: dict[str, Location] = {}
    notes: list[str] = []
    suppressions = []
    files: list[str] = []
    overridden: list[str] = []  # merged paths whose value the input being merged replaced

    def disagree(path: str, own: str, givers: frozenset[int], kept: Any, new: Any, n: int) -> Any:
        giver, current = loads[min(givers, default=0)], loads[n]
        # Compose files override one another, as `docker compose -f a -f b` reads them; not
        # a value another kind of input also gave.
        if current.kind == "compose" and all(loads[g].kind == "compose" for g in givers):
            notes.append(f"{path}: {current.files[0]} overrides {kept!r} with {new!r}")
            overridden.append(path)
            return new
        if not strict:
            notes.append(f"{path}: two inputs disagree ({kept!r} and {new!r}); kept {kept!r}")
            return kept
        where = [
            nearest(places, path) or Location(file=giver.files[0]),
            current.locate(own) or Location(file=current.files[0]),
        ]
        said = " and ".join(
            f"{w.file}{f':{w.line}' if w.line else ''} says {v!r}"
            for w, v in zip(where, (kept, new), strict=True)
        )
        raise InputError(
            f"the inputs contradict each other: {said}",
            file=where[1].file,
            line=where[1].line,
            field=path,
        )

    merger = _Merger(disagree)
    data = merger.data
    for n, loaded in enumerate(loads):
        remap: dict[str, str] = {}
        part = loaded.setup.model_dump(by_alias=True, exclude_none=True)
        overridden.clear()
        merger.merge(data, part, "", "", remap, n)
        for path, place in loaded.places.items():
            moved = _moved(path, remap)
            if moved in overridden:  # findings about the value point where it now comes from
                places[moved] = place
            else:
                places.setdefault(moved, place)
        notes += loaded.notes
        suppressions += loaded.suppressions
        files += loaded.files
    _implicit_default_dropped(merger, loads, notes)
    for symptom in data.get("symptoms", []):
        if _GENERATED_ID.fullmatch(str(symptom.get("id", ""))):
            del symptom["id"]  # numbered again, so two inputs' "s1" do not clash
    try:
        setup = Setup.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, None, " + ".join(files)) from None
    return Loaded(setup, "merged", tuple(files), places, suppressions, notes)
