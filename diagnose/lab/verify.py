"""`netwhy lab verify`: build each scenario's setup in the lab, probe every symptom, and
compare what the kernel did with netwhy's verdict.

Scenarios come from knowledge/lab.yaml (one or more per claim marked `lab` in the claims),
and from any setup files or rule case files given on the command line. A verdict of
`unknown` is not compared (netwhy says it cannot tell); a setup the lab does not reproduce
is listed as not modelled with the reason, never silently left out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from diagnose.errors import InputError
from diagnose.lab.plan import NotModelled, Plan, plan_setup
from diagnose.lab.sandbox import LabError, Outcome, Sandbox, lab_unavailable_reason

__all__ = ["lab_unavailable_reason", "load_scenarios", "verify"]
from diagnose.loading import load_setup
from diagnose.model import Setup
from diagnose.report import Verdict
from diagnose.yamltext import parse


@dataclass
class Scenario:
    """A setup with symptoms, what it checks, and the peers the kernel must show."""

    name: str
    setup: Setup
    claims: list[str] = field(default_factory=list)
    peers: dict[str, str] = field(default_factory=dict)  # symptom -> host | source


@dataclass
class Check:
    """One symptom: netwhy's verdict and what the lab observed."""

    scenario: str
    symptom: str
    question: str
    rules: list[str]
    claims: list[str]
    predicted: str  # reachable | blocked | unknown
    observed: str  # connected | refused | timeout | ... | in-use | bound | not modelled
    detail: str = ""
    agree: bool | None = None  # None: not compared
    deciding: list[str] = field(default_factory=list)  # the route rule, then the causes

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _scenarios(data: dict[str, Any], file: str) -> list[Scenario]:
    out = []
    for i, entry in enumerate(data["scenarios"] or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("setup"), dict):
            raise InputError(
                "each scenario needs a name and a setup", file=file, field=f"scenarios[{i}]"
            )
        name = str(entry.get("name") or f"scenario {i + 1}")
        out.append(
            Scenario(
                name,
                load_setup(entry["setup"], name=f"{file}#{name}"),
                [str(c) for c in entry.get("claims") or []],
                {str(k): str(v) for k, v in (entry.get("peers") or {}).items()},
            )
        )
    return out


def bundled() -> list[Scenario]:
    """The scenarios of knowledge/lab.yaml."""
    text = resources.files("diagnose.knowledge").joinpath("lab.yaml").read_text("utf-8")
    return _scenarios(parse(text, "knowledge/lab.yaml").data, "knowledge/lab.yaml")


def from_paths(paths: Iterable[str]) -> Iterator[Scenario]:
    """Scenarios from setup files and rule case files (each case with symptoms is one)."""
    for path in paths:
        try:
            text = Path(path).read_text("utf-8")
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text (a binary file?)", file=path) from None
        data = parse(text, path).data
        if isinstance(data, dict) and "scenarios" in data:
            yield from _scenarios(data, path)
        elif isinstance(data, dict) and "cases" in data and "rule" in data:
            for name, case in (data.get("cases") or {}).items():
                setup = (case or {}).get("setup") or {}
                if setup.get("symptoms"):
                    yield Scenario(f"{path}#{name}", load_setup(setup, name=f"{path}#{name}"))
        else:
            setup = load_setup(data, name=path)
            if setup.symptoms:
                yield Scenario(path, setup)


def _subjects(verdict: Verdict) -> tuple[list[str], list[str]]:
    rules = {verdict.route} if verdict.route else set()
    claims: set[str] = set()
    for hop in verdict.path:
        rules.add(hop.rule)
        claims.update(hop.claims)
    for cause in verdict.causes:
        if cause.certain:
            rules.add(cause.rule)
            claims.update(cause.claims)
    return sorted(rules), sorted(claims)


def _agree(predicted: str, outcome: Outcome) -> bool | None:
    if predicted == "unknown":
        return None
    return (predicted == "reachable") == outcome.connected


def run_scenario(scenario: Scenario, plan: Plan | None = None) -> list[Check]:
    """Build one scenario in a fresh sandbox, probe, compare; one Check per symptom."""
    from diagnose.api import why  # the engine only when a scenario really runs

    report = why(scenario.setup)
    verdicts = {v.symptom: v for v in report.verdicts}
    checks: dict[str, Check] = {}
    for sid, verdict in verdicts.items():
        rules, claims = _subjects(verdict)
        claims = sorted(set(claims) | set(scenario.claims))
        checks[sid] = Check(scenario.name, sid, verdict.question, rules, claims, verdict.status, "")
        checks[sid].deciding = [verdict.route or "-"] + [
            c.rule for c in verdict.causes if c.certain
        ]
    try:
        plan = plan or plan_setup(scenario.setup)
    except NotModelled as exc:
        for check in checks.values():
            check.observed, check.detail = "not modelled", str(exc)
        return list(checks.values())
    for sid, reason in plan.skipped.items():
        if sid in checks:
            checks[sid].observed, checks[sid].detail = "not modelled", reason
    connects = [p for p in plan.probes if p.start is None]
    try:
        with Sandbox() as box:
            bind_errors = box.build(plan)
            outcomes = box.probe_many(connects)
    except LabError as exc:
        for probe in plan.probes:
            checks[probe.symptom].observed, checks[probe.symptom].detail = "lab error", str(exc)
        return list(checks.values())
    for probe, outcome in zip(connects, outcomes, strict=True):
        check = checks[probe.symptom]
        check.observed = outcome.kind
        where = probe.address if probe.kind == "ping" else f"{probe.address}:{probe.port}"
        check.detail = f"{probe.source} -> {where}" + (" (ping)" if probe.kind == "ping" else "")
        if probe.kind == "udp":
            check.detail += " (udp)"
        if outcome.kind == "other-service":
            check.detail += f" ({outcome.detail})"
        if outcome.peer:
            check.detail += f", server saw {outcome.peer}"
        check.agree = _agree(check.predicted, outcome)
        want = scenario.peers.get(probe.symptom)
        if want and outcome.connected and check.agree:
            expected = _peer(plan, want, probe.source)
            if outcome.peer not in expected:
                check.agree = False
                check.detail += f" (expected {want}: {', '.join(sorted(expected))})"
    for probe in plan.probes:
        if probe.start is None:
            continue
        check = checks[probe.symptom]
        errors = bind_errors.get(probe.start, []) + bind_errors.get(
            probe.start.replace("container:", "proxy:", 1), []
        )
        check.observed = "in-use" if errors else "bound"
        check.detail = "; ".join(errors) or "every port bound"
        if check.predicted != "unknown":
            check.agree = (check.predicted == "blocked") == bool(errors)
    return list(checks.values())


def _peer(plan: Plan, want: str, source: str) -> set[str]:
    """The addresses a server may see for `host` (the host's) or `source` (the client's)."""
    node = plan.nodes["host" if want == "host" else source]
    return {str(ipaddress.IPv4Interface(a).ip) for a in node.addresses}


@dataclass
class Summary:
    checks: list[Check]
    claims: dict[str, str]  # lab claim -> verified | disagrees | not exercised
    rules: dict[str, str] = field(default_factory=dict)  # deciding rule -> verified | disagrees

    @property
    def disagreements(self) -> list[Check]:
        return [c for c in self.checks if c.agree is False]


def lab_claims() -> list[str]:
    text = resources.files("diagnose.knowledge").joinpath("claims.yaml").read_text("utf-8")
    return [c["id"] for c in parse(text, "knowledge/claims.yaml").data["claims"] if c.get("lab")]


def verify(scenarios: Iterable[Scenario], *, jobs: int = 1) -> Summary:
    """Run every scenario (each in its own sandbox, `jobs` at once) and sum up per claim."""
    from concurrent.futures import ThreadPoolExecutor

    # Threads suffice: the time goes to the kernel and to child processes, not to Python.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(run_scenario, scenarios))
    checks = [check for result in results for check in result]
    claims: dict[str, str] = {}
    for claim in lab_claims():
        mine = [c for c in checks if claim in c.claims and c.agree is not None]
        if not mine:
            claims[claim] = "not exercised"
        elif any(c.agree is False for c in mine):
            claims[claim] = "disagrees"
        else:
            claims[claim] = f"verified ({len(mine)})"
    rules: dict[str, str] = {}
    for check in checks:
        if check.agree is None:
            continue
        for rule in check.deciding:
            if rule != "-" and rules.get(rule) != "disagrees":
                rules[rule] = "verified" if check.agree else "disagrees"
    return Summary(checks, claims, dict(sorted(rules.items())))


def load_scenarios(paths: list[str]) -> list[Scenario]:
    """The bundled scenarios, or those of the given files; bad files raise InputError."""
    if not paths:
        return bundled()
    try:
        return list(from_paths(paths))
    except OSError as exc:
        raise InputError(f"cannot read {exc.filename}: {exc.strerror}") from None


_MARK = {True: "yes", False: "NO", None: "-"}


def _rows(summary: Summary) -> list[list[str]]:
    return [
        [
            c.scenario,
            c.symptom,
            c.question,
            " ".join(c.deciding),
            " ".join(c.claims) or "-",
            c.predicted,
            c.observed,
            _MARK[c.agree],
        ]
        for c in summary.checks
    ]


_HEAD = ["scenario", "symptom", "question", "rules", "claims", "netwhy says", "kernel did", "agree"]


def render_text(summary: Summary) -> str:
    rows = [_HEAD, *_rows(summary)]
    widths = [min(48, max(len(r[i]) for r in rows)) for i in range(len(_HEAD))]
    lines = [
        "  ".join(cell[:w].ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]
    for c in summary.checks:
        if c.agree is False or c.observed in ("not modelled", "lab error"):
            lines.append(f"{c.scenario} {c.symptom}: {c.observed}: {c.detail}")
    lines.append("")
    for label, state in (
        ("lab claims verified", "verified"),
        ("lab claims that DISAGREE", "disagrees"),
        ("lab claims not exercised", "not exercised"),
    ):
        names = [
            k + v.removeprefix("verified") if state == "verified" else k
            for k, v in summary.claims.items()
            if v.startswith(state)
        ]
        if names:
            lines.append(f"{label}: {', '.join(names)}")
    wrong = [r for r, v in summary.rules.items() if v == "disagrees"]
    lines.append(
        f"rules deciding a compared verdict: {len(summary.rules)}"
        + (f", of which DISAGREE: {', '.join(wrong)}" if wrong else ", all agree")
    )
    compared = [c for c in summary.checks if c.agree is not None]
    lines.append(
        f"{len(compared)} compared, {len(summary.disagreements)} disagreements, "
        f"{sum(c.observed == 'not modelled' for c in summary.checks)} not modelled, "
        f"{sum(c.agree is None and c.observed != 'not modelled' for c in summary.checks)} "
        "with netwhy unsure"
    )
    return "\n".join(lines) + "\n"


def render_markdown(summary: Summary) -> str:
    lines = ["| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in _rows(summary)
    ]
    lines += ["", "| claim | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in summary.claims.items()]
    return "\n".join(lines) + "\n"


def render_json(summary: Summary) -> str:
    import json

    return json.dumps(
        {
            "checks": [c.as_dict() for c in summary.checks],
            "claims": summary.claims,
            "rules": summary.rules,
            "disagreements": len(summary.disagreements),
        },
        indent=2,
    )
