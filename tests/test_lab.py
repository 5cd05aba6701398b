"""The lab in real network namespaces: netwhy's verdicts against the kernel's behaviour.

Skipped with the reason where namespaces cannot be made; LAB_REQUIRED=1 (set by CI) turns
the skip into a failure. Every topology lives in a private sandbox (see diagnose/lab/sandbox.py):
these tests never touch the root namespace, and a test checks exactly that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from diagnose.cli import app
from diagnose.lab.plan import plan_setup
from diagnose.lab.sandbox import Sandbox, lab_unavailable_reason
from diagnose.lab.verify import Check, Summary, bundled, lab_claims, verify

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def summary(lab: None) -> Summary:
    return verify(bundled())


def check(summary: Summary, scenario: str, symptom: str) -> Check:
    return next(c for c in summary.checks if c.scenario == scenario and c.symptom == symptom)


def test_the_kernel_agrees_with_every_bundled_verdict(summary: Summary) -> None:
    assert [c for c in summary.checks if c.agree is not True] == []
    assert summary.disagreements == []


def test_every_lab_claim_is_verified(summary: Summary) -> None:
    assert set(summary.claims) == set(lab_claims())
    assert {k: v for k, v in summary.claims.items() if not v.startswith("verified")} == {}


@pytest.mark.parametrize(
    ("scenario", "symptom", "kind"),
    [
        ("docker-bridge-publish", "s1", "connected"),
        ("docker-bridge-publish", "s6", "timeout"),  # nobody routes a Container-IP
        ("docker-publish-on-loopback-only", "s1", "refused"),
        ("docker-app-listens-on-loopback", "s1", "refused"),
        ("docker-ip-forward-off", "s1", "timeout"),  # DNAT without forwarding: silence
        ("docker-none-mode-has-only-lo", "s1", "unreachable"),
        ("bridged-vm-in-another-subnet", "s2", "no-route"),  # ARP for its gateway fails
        ("docker-host-mode-shares-the-host-stack", "s2", "in-use"),
        ("docker-user-defined-networks-are-isolated", "s1", "timeout"),
        ("docker-publish-udp", "s1", "connected"),
        ("docker-publish-udp", "s2", "refused"),  # ICMP port unreachable: nothing on 69
        ("nat-vm-hidden-behind-the-host", "s6", "connected"),  # ping host -> NAT VM
    ],
)
def test_each_failure_has_the_kind_the_notes_measured(
    summary: Summary, scenario: str, symptom: str, kind: str
) -> None:
    assert check(summary, scenario, symptom).observed == kind


def test_nat_hides_the_vm_and_publishing_keeps_the_client(summary: Summary) -> None:
    # N1: the LAN sees the host's address; D4/D7: a published container sees the real client.
    assert "server saw 192.168.1.10" in check(summary, "nat-vm-hidden-behind-the-host", "s2").detail
    assert "server saw 192.168.1.254" in check(summary, "docker-bridge-publish", "s1").detail


def _root_state() -> dict[str, str]:
    def run(*argv: str) -> str:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        return done.stdout

    return {
        "addr": run("ip", "-j", "addr"),
        "route": run("ip", "-j", "route"),
        "forward": Path("/proc/sys/net/ipv4/ip_forward").read_text(),
        "nft": run("nft", "list", "ruleset"),
        "netns": run("ip", "netns", "list"),
    }


def test_a_lab_leaves_the_root_namespace_as_it_was(lab: None) -> None:
    before = _root_state()
    scenario = next(s for s in bundled() if s.name == "nat-vm-hidden-behind-the-host")
    with Sandbox() as box:
        box.build(plan_setup(scenario.setup))
        assert box.run("host", ["cat", "/proc/sys/net/ipv4/ip_forward"]).strip() == "1"
        assert _root_state() == before
    assert _root_state() == before


def _namespaces_in_use(kind: str) -> set[str]:
    """The namespaces of `kind` (net, mnt) that some process is in."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                found.add(os.readlink(proc / "ns" / kind))
            except OSError:
                continue
    return found


def _running(pid: int) -> bool:
    """A process that exists and is not a zombie (an init that reaps nothing keeps those)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_a_closed_lab_leaves_no_process_behind(lab: None) -> None:
    scenario = next(s for s in bundled() if s.name == "docker-bridge-publish")
    with Sandbox() as box:
        plan = plan_setup(scenario.setup)
        box.build(plan)
        spaces = {box.run(n, ["readlink", "/proc/self/ns/net"]).strip() for n in plan.nodes}
        holder = box._holder.pid
        assert spaces & _namespaces_in_use("net")
    assert not _running(holder)
    assert spaces & _namespaces_in_use("net") == set()


def test_a_killed_lab_frees_every_namespace(lab: None) -> None:
    """SIGKILL the process that built a lab: the holder, every server and namespace go."""
    script = textwrap.dedent(
        """
        import json, time
        from diagnose.lab.plan import plan_setup
        from diagnose.lab.sandbox import Sandbox
        from diagnose.lab.verify import bundled
        box = Sandbox()
        plan = plan_setup(next(s for s in bundled() if s.name == "docker-bridge-publish").setup)
        box.build(plan)
        spaces = [box.run(n, ["readlink", "/proc/self/ns/net"]).strip() for n in plan.nodes]
        print(json.dumps([box._holder.pid, spaces]), flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert child.stdout is not None
    holder, spaces = json.loads(child.stdout.readline())
    mount = os.readlink(f"/proc/{holder}/ns/mnt")
    mine = set(spaces)
    assert len(mine) >= 5
    assert mine & _namespaces_in_use("net")  # the lab's servers run in them
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()
    # Once no process is in the sandbox's mount namespace (which holds the namespaces'
    # bind mounts) or in one of its network namespaces, the kernel frees them all.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not (mine & _namespaces_in_use("net")) and mount not in _namespaces_in_use("mnt"):
            break
        time.sleep(0.1)
    assert not _running(holder)
    assert mine & _namespaces_in_use("net") == set()
    assert mount not in _namespaces_in_use("mnt")


def test_without_namespaces_the_lab_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    lab_unavailable_reason.cache_clear()
    try:
        reason = lab_unavailable_reason()
        assert reason is not None and "nft" in reason and "ping" in reason
        result = CliRunner().invoke(app, ["lab", "verify"])
        assert result.exit_code == 2
        assert "lab unavailable" in result.output and "iproute2" in result.output
    finally:
        lab_unavailable_reason.cache_clear()  # the next test probes this machine again


def test_cli_reports_agreement_as_json(lab: None) -> None:
    result = CliRunner().invoke(
        app, ["lab", "verify", "--format", "json", str(ROOT / "examples/vmware-nat-from-lan.yaml")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["disagreements"] == 0
    assert [(c["predicted"], c["observed"]) for c in data["checks"]] == [
        ("blocked", "timeout"),
        ("reachable", "connected"),
    ]
    # The rules that decided each compared verdict (route rule, then certain causes).
    assert data["rules"] == {"PV010": "verified", "PV011": "verified", "VW008": "verified"}


def test_cli_exits_1_on_a_disagreement(lab: None, tmp_path: Path) -> None:
    """A scenario whose stated expectation is wrong is caught: the check can fail."""
    bad = tmp_path / "wrong.yaml"
    bad.write_text(
        textwrap.dedent(
            """
            scenarios:
              - name: published-port-claimed-to-hide-the-client
                peers: {s1: host}
                setup:
                  host:
                    os: linux
                    docker: engine
                    interfaces: [{name: eth0, address: 192.168.1.10/24, gateway: 192.168.1.1}]
                  docker:
                    containers: [{name: web, ports: ["8080:80"], listens: ["0.0.0.0:80"]}]
                  symptoms: [{from: lan, to: container:web, port: 8080}]
            """
        )
    )
    result = CliRunner().invoke(app, ["lab", "verify", str(bad)])
    assert result.exit_code == 1, result.output
    assert "expected host" in result.output
    assert "1 disagreements" in result.output


def test_cli_bad_scenario_file_is_one_clear_error(lab: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios:\n  - name: x\n")
    result = CliRunner().invoke(app, ["lab", "verify", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml" in result.output and "Traceback" not in result.output


@pytest.fixture
def box(lab: None) -> Iterator[Sandbox]:
    with Sandbox() as made:
        yield made


def test_docs_show_the_latest_table(summary: Summary) -> None:
    from diagnose.lab.verify import render_markdown
    from tests.lab_doc import table_in_doc

    assert table_in_doc() == render_markdown(summary), "refresh: python -m tests.lab_doc --update"


def test_every_rule_case_agrees_with_the_kernel(lab: None) -> None:
    """Every rule case file's symptoms, built and probed: the kernel agrees with each verdict
    the lab can reproduce (the others are listed as not modelled, with the reason)."""
    from diagnose.lab.verify import from_paths

    cases = sorted(str(p) for p in (ROOT / "tests" / "cases").glob("*.yaml"))
    result = verify(list(from_paths(cases)), jobs=4)
    compared = [c for c in result.checks if c.agree is not None]
    assert len(compared) > 300
    assert [
        (c.scenario, c.symptom, c.predicted, c.observed, c.detail) for c in result.disagreements
    ] == []
    assert not [c for c in result.checks if c.observed in ("lab error", "")]
