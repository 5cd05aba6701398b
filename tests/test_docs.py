"""Generated documentation stays in step with the catalogue."""

from __future__ import annotations

from diagnose.catalogue import Catalogue
from diagnose.docgen import render
from tests.conftest import ROOT


def test_rules_reference_is_up_to_date(catalogue: Catalogue) -> None:
    committed = (ROOT / "docs" / "rules.md").read_text("utf-8")
    assert committed == render(catalogue), "run: python -m diagnose.docgen"
