"""Every README example is run, and prints what the README says it prints."""

from __future__ import annotations

import os

import pytest

from diagnose.lab.sandbox import lab_unavailable_reason
from tests.readme_blocks import README, Example, examples, run

ALL = examples(README.read_text("utf-8"))


def test_readme_shows_the_two_commands() -> None:
    text = README.read_text("utf-8")
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize("example", ALL, ids=[e.command for e in ALL])
def test_readme_example(example: Example) -> None:
    if example.command.startswith("netwhy lab"):
        reason = lab_unavailable_reason()
        if reason and os.environ.get("LAB_REQUIRED") != "1":
            pytest.skip(reason)
    got, _ = run(example.command)
    if example.truncated:
        got = got[: len(example.output)]
    assert got == example.output, "refresh with: python -m tests.readme_blocks --update"
