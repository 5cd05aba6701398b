"""The findings per rule over the shared corpus of real config files, as a reviewed snapshot.

    python -m tests.corpus_snapshot --update   # after reviewing what changed

The corpus lives outside the repository (NETWHY_CORPUS, default ../shared/corpus beside it);
tests skip when it is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NETWHY_CORPUS") or ROOT.parent / "shared" / "corpus")
SNAPSHOT = ROOT / "tests" / "corpus_snapshot.yaml"


def run_corpus() -> tuple[dict[str, Any], str, int]:
    """`netwhy check` over the whole corpus, in a child process; (json, stderr, exit code)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "diagnose.cli",
            "check",
            str(CORPUS),
            "--include",
            "*",
            "--exclude",
            "*.tsv",
            "--exclude",
            "*/README.md",
            "--format",
            "json",
            "--jobs",
            "2",
            "--fail-on",
            "never",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "NETWHY_NO_CACHE": ""},
    )
    return json.loads(result.stdout or "{}"), result.stderr, result.returncode


def summary(data: dict[str, Any]) -> dict[str, Any]:
    """Per corpus file (relative): its kind and the count of findings per rule."""
    files: dict[str, Any] = {}
    for item in data.get("files", []):
        name = Path(item["file"]).resolve().relative_to(CORPUS.resolve()).as_posix()
        rules = Counter(f["rule"] for f in item["findings"])
        files[name] = {"kind": item["kind"], "findings": dict(sorted(rules.items()))}
    totals = Counter(r for f in files.values() for r, n in f["findings"].items() for _ in range(n))
    return {"totals": dict(sorted(totals.items())), "files": dict(sorted(files.items()))}


if __name__ == "__main__":
    if "--update" in sys.argv:
        data, stderr, _ = run_corpus()
        SNAPSHOT.write_text(
            "# Findings per rule over ../shared/corpus (real files from public repositories).\n"
            "# Every finding here was reviewed: refresh only after reviewing the difference.\n"
            + yaml.safe_dump(summary(data), sort_keys=True, width=100)
        )
