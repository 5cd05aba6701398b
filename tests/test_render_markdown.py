"""Markdown for chats: the short answer first, then the details, and the topology in Mermaid
with the hop where a path breaks marked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import diagnose
from diagnose.cli import app
from diagnose.render import markdown, mermaid
from diagnose.report import Report

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TRICKY = Path(__file__).resolve().parent / "data" / "tricky-names.yaml"

runner = CliRunner()

NODE = re.compile(r'^    ([A-Za-z][A-Za-z0-9_]*)\["([^"]*)"\]$')
EDGE = re.compile(r"^    ([A-Za-z0-9_]+) (---|-\.-)(?:\|[\w .:/-]+\|)? ([A-Za-z0-9_]+)$")


def why(name: str) -> Report:
    return diagnose.why(EXAMPLES / name)


def parse(chart: str) -> tuple[dict[str, str], list[tuple[str, str, str]], dict[str, set[str]]]:
    """Nodes (id -> label), edges and classes of a chart; fails on any line it cannot read."""
    lines = chart.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    classes: dict[str, set[str]] = {}
    for line in lines[1:]:
        if m := NODE.match(line):
            nodes[m.group(1)] = m.group(2)
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3)))
        elif line.startswith("    class "):
            ids, cls = line.split()[1:]
            classes.setdefault(cls, set()).update(ids.split(","))
        else:
            assert line.startswith(("    classDef ", "    linkStyle ")), line
    for a, _, b in edges:
        assert a in nodes and b in nodes, (a, b)
    return nodes, edges, classes


def test_short_answer_comes_first() -> None:
    text = markdown.render(why("vmware-nat-from-lan.yaml"))
    head = text.split("\n## Verdicts\n")[0].splitlines()
    assert head[:2] == ["## Answer", ""]
    assert head[2].startswith("- ❌ **s1** lan -> vm:devbox port 22/tcp: Blocked at the NAT device")
    assert head[2].endswith("(`VW008`)")
    assert head[3].startswith("  Fix: Windows host: Edit > Virtual Network Editor")
    assert (
        head[4]
        == "- ✅ **s2** host -> vm:devbox port 22/tcp: Reachable: every hop of the path passes."
    )
    order = [text.index(h) for h in ("## Answer", "## Verdicts", "## Topology", "## Findings")]
    assert order == sorted(order)


def test_chinese_report_has_chinese_headings_and_labels() -> None:
    text = markdown.render(diagnose.why(EXAMPLES / "vmware-nat-from-lan.yaml", lang="zh"))
    order = [text.index(h) for h in ("## 结论", "## 逐条诊断", "## 网络拓扑", "## 发现的问题")]
    assert order == sorted(order) and text.startswith("## 结论\n\n- ❌ **s1**")
    assert "| # | 节点 | 状态 | 规则 | 依据 |" in text and '["局域网<br/>' in text
    for english in (
        "## Answer",
        "## Verdicts",
        "| hop |",
        "not reached",
        "Claims:",
        "blocked here",
    ):
        assert english not in text


def test_unknown_verdict_answers_with_the_question() -> None:
    text = markdown.render(why("docker-incomplete-report.yaml"))
    answer = text.split("\n## Verdicts\n")[0]
    assert "- ❔ **s1**" in answer
    assert "  To settle it: Which ports does web publish" in answer


def test_vmware_nat_diagram_marks_the_nat_device() -> None:
    nodes, edges, classes = parse(mermaid.render(why("vmware-nat-from-lan.yaml")))
    assert {"lan", "host", "vm_devbox", "sw_VMnet8", "nat_VMnet8", "note_s1"} == set(nodes)
    assert nodes["lan"] == "LAN<br/>192.168.1.0/24"
    assert nodes["sw_VMnet8"] == "NAT switch VMnet8<br/>192.168.80.0/24"
    assert ("host", "---", "nat_VMnet8") in edges and ("nat_VMnet8", "---", "sw_VMnet8") in edges
    assert classes["blocked"] == {"nat_VMnet8"}
    assert nodes["note_s1"] == "s1: blocked here (VW008)"
    assert ("note_s1", "-.-", "nat_VMnet8") in edges
    assert "note_s2" not in nodes  # s2 is reachable: nothing marked for it


def test_reachable_verdict_marks_nothing(tmp_path: Path) -> None:
    setup = tmp_path / "fine.yaml"
    setup.write_text(
        "docker:\n  containers:\n    - {name: web, ports: ['8080:80'], listens: ['0.0.0.0:80']}\n"
        "symptoms:\n  - {from: lan, to: container:web, port: 8080}\n"
    )
    report = diagnose.why(setup)
    assert [v.status for v in report.verdicts] == ["reachable"]
    chart = mermaid.render(report)
    nodes, _, classes = parse(chart)
    assert "ct_web" in nodes and "net_bridge" in nodes
    assert (
        classes == {} and "linkStyle" not in chart and not any(n.startswith("note") for n in nodes)
    )


def test_containers_only() -> None:
    nodes, edges, classes = parse(mermaid.render(why("docker-published-port-loopback.yaml")))
    assert set(nodes) == {"lan", "host", "net_bridge", "ct_web", "note_s1"}
    assert nodes["net_bridge"] == "network bridge (docker0)<br/>172.17.0.0/16"
    assert ("net_bridge", "---", "ct_web") in edges
    assert classes["blocked"] == {"ct_web"}  # the app listening on 127.0.0.1 in web
    assert nodes["note_s1"] == "s1: blocked here (DP001)"


def test_container_modes_are_drawn() -> None:
    nodes, edges, _ = parse(mermaid.render(why("docker-container-mode-sidecar.yaml")))
    assert ("ct_vpn", "-.-", "ct_qbittorrent") in edges  # shares vpn's namespace
    nodes, edges, _ = parse(mermaid.render(why("docker-host-mode.yaml")))
    assert ("host", "-.-", "ct_grafana") in edges and ("host", "-.-", "ct_proxy") in edges
    nodes, edges, _ = parse(mermaid.render(why("docker-none-mode.yaml")))
    # none mode: no link at all (but the notes of the symptoms that break there)
    assert not [e for e in edges if "ct_batch" in e and not e[0].startswith("note_")]
    nodes, _, _ = parse(mermaid.render(why("docker-desktop-mac.yaml")))
    assert nodes["desktop_vm"] == "Docker Desktop VM"


def test_vms_only() -> None:
    nodes, edges, classes = parse(mermaid.render(why("virtualbox-nat-ssh.yaml")))
    # VirtualBox NAT: one NAT engine per VM, no shared switch
    assert {"vm_web1", "vm_web2", "nat_web1_0", "nat_web2_0", "host"} <= set(nodes)
    assert ("nat_web1_0", "---", "vm_web1") in edges
    assert "nat_web1_0" in classes["blocked"]
    # s2 is blocked as a whole (no hop breaks): its note sits on the destination
    assert nodes["note_s2"] == "s2: blocked (VB016)"
    assert ("note_s2", "-.-", "vm_web1") in edges
    nodes, edges, _ = parse(mermaid.render(why("vmware-hostonly-no-internet.yaml")))
    assert ("host", "---", "sw_VMnet1") in edges and ("sw_VMnet1", "---", "vm_lab") in edges


def test_vms_and_containers() -> None:
    nodes, edges, classes = parse(mermaid.render(why("vm-and-containers.yaml")))
    assert {"lan", "host", "sw_br0", "vm_homeassistant", "net_bridge", "ct_pihole"} <= set(nodes)
    assert ("lan", "---", "sw_br0") in edges  # bridged: the VM sits on the LAN
    assert classes["blocked"] == {"sw_br0"}  # Docker's FORWARD drop breaks the bridge
    assert "note_s2" not in nodes  # the container is reachable


def test_a_blocked_link_is_drawn_red() -> None:
    # The bridged VM's adapter (a link, not a box) breaks: its edge is red, with the notes'.
    chart = mermaid.render(why("vmware-bridged-wrong-subnet.yaml"))
    style = next(line for line in chart.splitlines() if "linkStyle" in line)
    edges = [line.strip() for line in chart.splitlines() if EDGE.match(line)]
    red = [edges[int(i)] for i in style.split()[1].split(",")]
    assert red == [
        "sw_VMnet0 ---|10.0.0.50| vm_ubuntu",
        "note_s1 -.- vm_ubuntu",
        "note_s2 -.- vm_ubuntu",
    ]


def test_verdict_without_path_gives_the_topology_only(tmp_path: Path) -> None:
    setup = tmp_path / "nopath.yaml"
    setup.write_text(
        "host: {os: linux, interfaces: [{name: eth0, address: 192.168.1.10/24}]}\n"
        "symptoms:\n  - {from: lan, to: 203.0.113.9, port: 80}\n"
    )
    report = diagnose.why(setup)
    assert report.verdicts[0].path == []
    nodes, _, classes = parse(mermaid.render(report))
    assert set(nodes) == {"lan", "host"} and classes == {}


def test_nothing_to_draw_gives_no_diagram() -> None:
    report = diagnose.check({"host": {"os": "linux"}})
    assert mermaid.render(report) == ""
    assert "```mermaid" not in markdown.render(report)
    assert markdown.render(report).startswith("## Answer\n\nNo findings.\n")


def test_tricky_names_give_safe_ids_and_quoted_labels() -> None:
    report = diagnose.why(TRICKY)
    chart = mermaid.render(report)
    nodes, edges, classes = parse(chart)
    assert nodes["vm_Win_10__dev___x_"] == "VM Win 10 #quot;dev#quot; #lt;x#gt; (virtualbox)"
    assert nodes["sw_Lab_Net__2"] == "host-only switch Lab Net #35;2<br/>10.77.0.0/16"
    assert "vm_end" in nodes and "net_acme_backend_v2" in nodes and "ct_ops_sidecar" in nodes
    assert "note_laptop_to_orders" in nodes
    assert ("ct_orders_api", "-.-", "ct_ops_sidecar") in edges
    assert classes["blocked"] == {"ct_orders_api", "nat_VMnet8"}
    assert chart == mermaid.render(diagnose.why(TRICKY))  # byte for byte


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_draws_a_readable_chart(name: str) -> None:
    report = why(name)
    nodes, _, _ = parse(mermaid.render(report))
    notes = {n for n in nodes if n.startswith("note_")}
    broken = {v.symptom for v in report.verdicts if v.status == "blocked"}
    assert {n.removeprefix("note_") for n in notes} >= broken
    assert all(v.status != "reachable" for v in report.verdicts if f"note_{v.symptom}" in notes)


def test_check_markdown_has_answers_and_the_topology() -> None:
    result = runner.invoke(
        app, ["check", str(EXAMPLES / "vmware-nat-from-lan.yaml"), "--format", "markdown"]
    )
    text = result.stdout
    assert "- ❌ **s1** lan -> vm:devbox port 22/tcp: Blocked at the NAT device" in text
    assert text.index("- ❌ **s1**") < text.index("| where |") < text.index("### Topology")
    assert "    class nat_VMnet8 blocked" in text
    several = runner.invoke(app, ["check", str(EXAMPLES / "configs"), "--format", "markdown"])
    assert "```mermaid" not in several.stdout  # a batch of several setups: no wall of charts
