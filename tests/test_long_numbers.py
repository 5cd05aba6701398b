"""A number of thousands of digits anywhere in an input is an input error, never a crash.

Python reads no int of more than 4,300 digits (a guard against quadratic conversion): every
place that turns text into a number met one as an internal error that also ended the batch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from diagnose.batch import CheckOptions, check_many, check_text
from diagnose.errors import InputError
from diagnose.yamltext import parse

FIXTURES = Path(__file__).parent / "fixtures"
LONG = "9" * 4400


def _fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_number_of_every_fixture_made_huge_is_read_or_refused(path: Path) -> None:
    text = path.read_text("utf-8")
    numbers = list(re.finditer(r"[0-9]+", text))[:40]
    for m in numbers:
        mutated = text[: m.start()] + LONG + text[m.end() :]
        result = check_text(mutated, str(path), CheckOptions())
        bugs = [f.title for f in result.findings if "bug of netwhy" in f.title]
        assert not bugs, (m.group(0), m.start(), bugs)


def test_a_long_number_is_named_with_its_line() -> None:
    for text in (f"services:\n  web:\n    x: {LONG}\n", f'{{\n"a":\n{LONG}}}'):
        with pytest.raises(InputError) as caught:
            parse(text, "f.yaml")
        assert caught.value.line == 3
        assert "thousands of digits" in caught.value.message
        assert "set_int_max_str_digits" not in str(caught.value)


def test_a_file_netwhy_fails_on_is_that_files_error_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug met on one input (here, a loader that raises) must not cost the other files
    # their results: it becomes that file's IN002, and the run exits 2 as for bad input.
    import diagnose.loaders.compose as compose

    good = tmp_path / "good.json"
    good.write_text((FIXTURES / "docker-inspect").glob("*.json").__next__().read_text())
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: nginx\n")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(compose, "load", broken)
    monkeypatch.delenv("NETWHY_DEBUG", raising=False)
    results = {r.file: r for r in check_many([str(bad), str(good)], CheckOptions())}
    assert results[str(bad)].input_error
    (finding,) = results[str(bad)].findings
    assert finding.rule == "IN002" and "a bug of netwhy's (KeyError: 'boom')" in finding.title
    assert not results[str(good)].input_error and results[str(good)].kind == "docker-inspect"
    monkeypatch.setenv("NETWHY_DEBUG", "1")  # who debugs gets the traceback
    with pytest.raises(KeyError):
        check_many([str(bad)], CheckOptions())


def test_a_bug_met_under_setup_is_that_setups_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import diagnose.merge as merge

    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("services:\n  web:\n    image: nginx\n")
    second.write_text("services:\n  db:\n    image: redis\n")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(merge, "merge", broken)
    monkeypatch.delenv("NETWHY_DEBUG", raising=False)
    (result,) = check_many([str(first), str(second)], CheckOptions(one_setup=True))
    assert result.input_error
    (finding,) = result.findings
    assert finding.rule == "IN002" and "a bug of netwhy's (KeyError: 'boom')" in finding.title
