"""Every rule's case file: it fires exactly where it must, and stays silent elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.catalogue import Catalogue
from diagnose.diagnosis import assemble, evaluate, firing_params
from diagnose.loading import load_setup
from tests.conftest import CASES
from tests.rulecases import Case, canonical, load_case_file


def _cases() -> list[tuple[str, str, Case]]:
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        cf = load_case_file(path)
        assert cf.rule == path.stem, f"{path.name} declares rule {cf.rule}"
        for name, case in cf.cases.items():
            out.append((cf.rule, name, case))
    return out


ALL = _cases()


@pytest.mark.parametrize(("rule_id", "name", "case"), ALL, ids=[f"{r}-{n}" for r, n, _ in ALL])
def test_case(rule_id: str, name: str, case: Case, catalogue: Catalogue) -> None:
    setup = load_setup(case.setup, name=f"{rule_id}/{name}")
    cat, run = evaluate(setup)
    rule = cat.rules[rule_id]
    got = {canonical(firing_params(rule, f)) for f in run.firings if f.rule == rule_id}
    want = {canonical(p) for p in case.expect}
    assert sorted(got) == sorted(want), (
        f"{rule_id} {name}: fired with {sorted(got)}; expected {sorted(want)}"
    )
    if case.verdicts:
        report = assemble(cat, run)
        by_id = {v.symptom: v for v in report.verdicts}
        for sid, exp in case.verdicts.items():
            v = by_id[sid]
            assert v.status == exp.status, f"{sid}: {v.status} ({v.summary})"
            if exp.broken_at is not None:
                hop = next(h for h in v.path if h.seq == v.broken_at)
                assert hop.device == exp.broken_at
            if exp.causes is not None:
                assert [c.rule for c in v.causes if c.certain] == exp.causes
            if exp.questions is not None:
                assert sorted({q.id for q in v.questions}) == exp.questions


def test_case_names_say_fires_or_silent() -> None:
    for rule_id, name, case in ALL:
        assert name.startswith(("fires_", "silent_")), f"{rule_id}: case {name}"
        assert bool(case.expect) == name.startswith("fires_"), (
            f"{rule_id}/{name}: fires_ cases expect firings, silent_ cases expect none"
        )


def test_case_files_name_real_rules(catalogue: Catalogue) -> None:
    for path in Path(CASES).glob("*.yaml"):
        assert path.stem in catalogue.rules, f"{path.name} names no rule"
