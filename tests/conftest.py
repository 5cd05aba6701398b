"""Shared fixtures: the bundled catalogue and helpers to run one setup."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.catalogue import Catalogue, default_catalogue

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return default_catalogue()
