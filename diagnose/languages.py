"""The languages netwhy's knowledge is written in (knowledge/<lang>/)."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "zh")
