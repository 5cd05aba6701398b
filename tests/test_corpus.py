"""The shared corpus of real config files: every file loads or is refused cleanly, and the
findings match the reviewed snapshot."""

from __future__ import annotations

import pytest
import yaml

from tests.corpus_snapshot import CORPUS, SNAPSHOT, run_corpus, summary

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no corpus at {CORPUS}")


@pytest.fixture(scope="module")
def corpus_run() -> tuple[dict, str, int]:  # type: ignore[type-arg]
    return run_corpus()


def test_every_corpus_file_loads_or_is_refused_cleanly(
    corpus_run: tuple[dict, str, int],  # type: ignore[type-arg]
) -> None:
    data, stderr, code = corpus_run
    assert code in (0, 2), stderr[-2000:]
    assert "internal error" not in stderr and "Traceback" not in stderr
    files = data["files"]
    assert len(files) >= 300
    for item in files:
        for finding in item["findings"]:
            if finding["rule"] in ("IN001", "IN002"):
                assert finding["location"]["file"], item["file"]


def test_corpus_findings_match_the_reviewed_snapshot(
    corpus_run: tuple[dict, str, int],  # type: ignore[type-arg]
) -> None:
    expected = yaml.safe_load(SNAPSHOT.read_text())
    assert summary(corpus_run[0]) == expected, (
        "review, then: python -m tests.corpus_snapshot --update"
    )
