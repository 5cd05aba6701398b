"""`--setup`: several inputs describe one setup (a compose file, the host's `ip -j addr`,
daemon.json...). Their setups are merged into one, keeping where each entry came from.

Lists of named things (containers, networks, VMs, interfaces) are merged by name; other
lists are joined; for a value two inputs both give, the first wins and a note says so.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from diagnose.loaders.base import Loaded, split_path
from diagnose.loading import field_path, validation_error
from diagnose.model import Setup
from diagnose.report import Location

_GENERATED_ID = re.compile(r"s\d+")


def _merge(into: Any, new: Any, path: str, remap: dict[str, str], notes: list[str]) -> Any:
    """Merge `new` into `into` at `path`; record how new list indices move in `remap`."""
    if isinstance(into, dict) and isinstance(new, dict):
        for key, value in new.items():
            sub = f"{path}.{key}" if path else key
            if key in into:
                into[key] = _merge(into[key], value, sub, remap, notes)
            else:
                into[key] = value
        return into
    if isinstance(into, list) and isinstance(new, list):
        named = all(isinstance(v, dict) and "name" in v for v in into + new)
        for i, value in enumerate(new):
            target = None
            if named:
                target = next((j for j, v in enumerate(into) if v["name"] == value["name"]), None)
            if target is None:
                into.append(value)
                target = len(into) - 1
            else:
                into[target] = _merge(into[target], value, f"{path}[{target}]", remap, notes)
            remap[f"{path}[{i}]"] = f"{path}[{target}]"
        return into
    if into != new:
        notes.append(f"{path}: two inputs disagree ({into!r} and {new!r}); kept {into!r}")
    return into


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


def merge(loads: list[Loaded]) -> Loaded:
    """One Loaded from several."""
    if len(loads) == 1:
        return loads[0]
    data: dict[str, Any] = {}
    places: dict[str, Location] = {}
    notes: list[str] = []
    suppressions = []
    files: list[str] = []
    for loaded in loads:
        remap: dict[str, str] = {}
        part = loaded.setup.model_dump(by_alias=True, exclude_none=True)
        _merge(data, part, "", remap, notes)
        for path, place in loaded.places.items():
            places.setdefault(_moved(path, remap), place)
        notes += loaded.notes
        suppressions += loaded.suppressions
        files += loaded.files
    for symptom in data.get("symptoms", []):
        if _GENERATED_ID.fullmatch(str(symptom.get("id", ""))):
            del symptom["id"]  # numbered again, so two inputs' "s1" do not clash
    try:
        setup = Setup.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, None, " + ".join(files)) from None
    return Loaded(setup, "merged", tuple(files), places, suppressions, notes)
