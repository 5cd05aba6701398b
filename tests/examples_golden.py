"""Run every bundled example and print what its verdicts and findings are, as JSON.

Run in a child process by tests/test_examples.py (durable-rules can crash a process), and by
hand to refresh tests/examples_expected.yaml: `python -m tests.examples_golden --yaml`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import diagnose

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def summary(path: Path) -> dict[str, Any]:
    """What a user relies on in one example's report."""
    report = diagnose.why(path)
    out: dict[str, Any] = {}
    for v in report.verdicts:
        broken = next((h.device for h in v.path if h.seq == v.broken_at), None)
        out[v.symptom] = {
            "status": v.status,
            "broken_at": broken,
            "causes": [c.rule for c in v.causes if c.certain],
            "questions": sorted({q.id for q in v.questions}),
        }
    out["findings"] = sorted({f.rule for f in report.findings})
    return out


def main() -> None:
    result = {p.name: summary(p) for p in sorted(EXAMPLES.glob("*.yaml"))}
    if "--yaml" in sys.argv:
        import yaml

        print(yaml.safe_dump(result, sort_keys=True, default_flow_style=None, width=100))
    else:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
