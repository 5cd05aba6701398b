"""Report models built without validation are the models validation would make."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from diagnose.diagnosis import diagnose
from diagnose.loading import load_path, load_setup
from diagnose.report import FixOut, Out, Report, trusted
from tests.conftest import CASES
from tests.rulecases import load_case_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _validated(model: Out) -> Out:
    """The model the constructor makes of the fields `model` was given."""
    given = {name: model.__dict__[name] for name in model.model_fields_set}
    return type(model)(**given)


def _same(built: Out, validated: Out) -> None:
    assert list(built.__dict__) == list(validated.__dict__)  # every field, in order
    assert built.model_fields_set == validated.model_fields_set
    assert built == validated
    # as data too: true is not 1, "80" is not 80
    assert built.model_dump_json() == validated.model_dump_json()
    assert repr(built.__dict__) == repr(validated.__dict__)


def _reports() -> list[Report]:
    reports = [diagnose(load_path(path)) for path in sorted(EXAMPLES.glob("*.yaml"))]
    for path in sorted(CASES.glob("*.yaml")):
        for name, case in load_case_file(path).cases.items():
            reports.append(diagnose(load_setup(case.setup, name=name)))
    return reports


def test_findings_and_fixes_are_the_models_validation_makes() -> None:
    findings = [f for report in _reports() for f in report.findings]
    assert len(findings) > 100 and any(f.at for f in findings) and any(f.fixes for f in findings)
    for finding in findings:
        _same(finding, _validated(finding))
        for fix in finding.fixes:
            _same(fix, _validated(fix))


def test_a_report_is_the_model_its_fields_make() -> None:
    for report in _reports()[:20]:
        given = {name: report.__dict__[name] for name in report.model_fields_set}
        assert list(report.__dict__) == list(Report.model_fields)
        assert report.model_fields_set == set(Report.model_fields) - {"schema_version"}
        assert report == Report.model_construct(**given)


def test_trusted_fills_the_fields_not_given_from_the_values() -> None:
    values: dict[str, Any] = {"text": "t", "command": None, "config": None}
    values |= {"persistent": True, "risky": False}
    fix = trusted(FixOut, values, frozenset({"text", "persistent", "risky"}))
    _same(fix, FixOut(text="t", persistent=True, risky=False))


@pytest.mark.parametrize("changes", [{}, {"facts": {}, "trace": [], "findings": []}])
def test_changed_is_model_copy(changes: dict[str, Any]) -> None:
    report = _reports()[0]
    changed, copied = report.changed(**changes), report.model_copy(update=changes)
    assert changed is not report
    assert list(changed.__dict__) == list(copied.__dict__)
    assert changed.model_fields_set == copied.model_fields_set
    assert changed.model_dump_json() == copied.model_dump_json()
    assert pickle.loads(pickle.dumps(changed)) == copied
    assert report.model_fields_set == set(Report.model_fields) - {"schema_version"}


def test_a_model_with_private_or_extra_values_is_changed_by_pydantic() -> None:
    finding = _reports()[1].findings[0]
    object.__setattr__(finding, "__pydantic_extra__", {"x": 1})
    assert finding.changed(title="t").__pydantic_extra__ == {"x": 1}
