"""`--setup`: several inputs describe one setup (a compose file, the host's `ip -j addr`,
daemon.json...). Their setups are merged into one, keeping where each entry came from.

Lists of named things (containers, networks, VMs, interfaces) are merged by name; other
lists are joined, an entry an earlier input gave already not repeated. A value two inputs
give differently: a compose file read after another overrides it, as `docker compose -f
base.yaml -f override.yaml` does; between other inputs it is a contradiction, an error
naming the field and both places (`netwhy scan`, which reads one machine's state from
several sources, keeps the first and notes the disagreement).

A container's published ports are matched by container port: the compose file's `8080:80`
and the running container's `0.0.0.0:8080:80` are one port, and `9090:80` against `8080:80`
is a contradiction; compose files' ports are joined, as compose joins them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from diagnose.compose_ties import tie_to_compose
from diagnose.errors import InputError
from diagnose.loaders.base import Loaded, nearest, split_path
from diagnose.loading import field_path, validation_error
from diagnose.model import Setup
from diagnose.report import Location

_GENERATED_ID = re.compile(r"s\d+")


# (merged path, the path in input n, the inputs that gave the kept value, kept value,
# input n's value, n) -> the value
Disagree = Callable[[str, str, frozenset[int], Any, Any, int], Any]
# (the inputs that gave an entry, n) -> whether input n's entry of the same identity is it
Pairs = Callable[[frozenset[int], int], bool]

# What makes two entries of these lists one thing, told of by two inputs: a port published
# for one container port (two inputs telling its host port differently contradict).
_IDENTITY: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "ports": lambda port: (port.get("target"), port.get("protocol")),
}


_MATCHED = object()


class _Merger:
    """Merges inputs one by one, remembering which inputs gave each entry."""

    def __init__(self, disagree: Disagree, pairs: Pairs) -> None:
        self.data: dict[str, Any] = {}
        # merged path of an entry -> the inputs that gave it (a value: that gave it so)
        self.owner: dict[str, frozenset[int]] = {}
        self.disagree = disagree
        self.pairs = pairs

    def givers(self, path: str) -> frozenset[int]:
        """The inputs that gave the entry at `path` (or the nearest entry holding it)."""
        return nearest(self.owner, path) or frozenset()

    def match(self, into: list[Any], new: list[Any], path: str, n: int) -> list[int | None]:
        """For each entry of input n's list of unnamed things, the entry of the merged list
        at `path` it is (None: a new one): an equal entry, else one of the same identity."""
        earlier: list[Any] = into[:]  # what earlier inputs gave, unmatched
        targets: list[int | None] = [None] * len(new)
        for i, value in enumerate(new):
            if value in earlier:  # two inputs tell of one port: it is there once
                j = earlier.index(value)
                targets[i] = j
                earlier[j] = _MATCHED
        identity = _IDENTITY.get(str(split_path(path)[-1])) if path else None
        for i, value in enumerate(new):
            if identity is None or targets[i] is not None or not isinstance(value, dict):
                continue
            same = [
                j
                for j, v in enumerate(earlier)
                if isinstance(v, dict)
                and identity(v) == identity(value)
                and self.pairs(self.givers(f"{path}[{j}]"), n)
            ]
            # One that says nothing else differently (`8080:80` and `0.0.0.0:8080:80`), else
            # the only one there is, whose difference is a contradiction.
            agree = [
                j for j in same if all(earlier[j][k] == value[k] for k in earlier[j] if k in value)
            ]
            fits = agree or same
            if len(fits) == 1:
                targets[i] = fits[0]
                earlier[fits[0]] = _MATCHED
        return targets

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
            targets = [None] * len(new) if named else self.match(into, new, path, n)
            for i, value in enumerate(new):
                target = targets[i]
                if named:
                    target = next(
                        (j for j, v in enumerate(into) if v["name"] == value["name"]), None
                    )
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

    def pairs(givers: frozenset[int], n: int) -> bool:
        # Compose joins the ports of the files it reads (`-f a.yaml -f b.yaml`).
        return not (loads[n].kind == "compose" and all(loads[g].kind == "compose" for g in givers))

    merger = _Merger(disagree, pairs)
    data = merger.data
    parts = [loaded.setup.model_dump(by_alias=True, exclude_none=True) for loaded in loads]
    # What `docker inspect` calls proj-web-1 and proj_default, the compose file web and default.
    tied = tie_to_compose(loads, parts)
    for n, (loaded, part) in enumerate(zip(loads, parts, strict=True)):
        remap: dict[str, str] = {}
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
    notes += tied
    _implicit_default_dropped(merger, loads, notes)
    for symptom in data.get("symptoms", []):
        if _GENERATED_ID.fullmatch(str(symptom.get("id", ""))):
            del symptom["id"]  # numbered again, so two inputs' "s1" do not clash
    try:
        setup = Setup.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, None, " + ".join(files)) from None
    return Loaded(setup, "merged", tuple(files), places, suppressions, notes)
