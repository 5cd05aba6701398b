"""Shared fixtures: the bundled catalogue and helpers to run one setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from diagnose.catalogue import Catalogue, default_catalogue

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return default_catalogue()


@pytest.fixture(scope="session")
def lab() -> None:
    """Network namespaces can be made here; skip with the reason, or fail under LAB_REQUIRED=1."""
    from diagnose.lab.sandbox import lab_unavailable_reason

    reason = lab_unavailable_reason()
    if reason:
        if os.environ.get("LAB_REQUIRED") == "1":
            pytest.fail(f"LAB_REQUIRED=1 but the lab is unavailable: {reason}")
        pytest.skip(reason)
