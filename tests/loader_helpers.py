"""What the loader tests share: a Setup as plain data, its located lines, a file's findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diagnose.batch import CheckOptions, check_file
from diagnose.loaders.base import Loaded
from tests.corpus_snapshot import CORPUS

__all__ = ["CORPUS", "dump", "findings", "lines"]


def dump(loaded: Loaded) -> dict[str, Any]:
    return loaded.setup.model_dump(exclude_none=True)


def lines(loaded: Loaded) -> dict[str, int | None]:
    return {path: place.line for path, place in loaded.places.items()}


def findings(path: Path) -> list[tuple[str, int | None]]:
    """The (rule, line) of each error and warning `netwhy check` reports for a file."""
    result = check_file(str(path), CheckOptions())
    return sorted(
        (f.rule, f.location.line if f.location else None)
        for f in result.findings
        if f.severity in ("error", "warning")
    )
