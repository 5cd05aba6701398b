"""Rule case files (tests/cases/<RULE>.yaml): setups where a rule must fire, and must not.

rule: DP001
cases:
  fires_when_app_binds_loopback:
    setup: {docker: {containers: [{name: web, ports: ["8080:80"], listens: ["127.0.0.1:80"]}]}}
    expect:                      # exactly these firings of the rule, by their params
      - {container: web, port: 80, proto: tcp, address: 127.0.0.1, spec: "8080:80"}
    verdicts:                    # optional: what `why` must answer
      s1: {status: blocked, broken_at: listener, causes: [DP001]}
  silent_when_app_binds_all:
    setup: {...}
    expect: []
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from diagnose.yamltext import parse


class VerdictExpectation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["reachable", "blocked", "unknown"]
    broken_at: str | None = Field(None, description="device of the first blocked hop")
    causes: list[str] | None = Field(None, description="rule ids of the certain causes, in order")
    questions: list[str] | None = Field(None, description="question ids, sorted")


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    setup: dict[str, Any]
    expect: list[dict[str, Any]]
    verdicts: dict[str, VerdictExpectation] | None = None


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str
    cases: dict[str, Case]


def load_case_file(path: Path) -> CaseFile:
    return CaseFile.model_validate(parse(path.read_text("utf-8"), str(path)).data)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
