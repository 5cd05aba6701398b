"""The lab's plan of a setup: what it builds, without a kernel (fast, runs everywhere)."""

from __future__ import annotations

from typing import Any

import pytest

from diagnose.lab.plan import INTERNET_ADDRESS, NotModelled, Plan, plan_setup
from diagnose.lab.sandbox import build_script
from diagnose.lab.verify import bundled, lab_claims
from diagnose.loading import load_setup

HOST = {
    "os": "linux",
    "docker": "engine",
    "interfaces": [{"name": "eth0", "address": "192.168.1.10/24", "gateway": "192.168.1.1"}],
}


def plan_of(data: dict[str, Any]) -> Plan:
    return plan_setup(load_setup({"host": HOST, **data}))


def host_nft(plan: Plan) -> str:
    return "\n".join(plan.nodes["host"].nft)


def test_published_port_is_a_dnat_rule_to_the_container() -> None:
    plan = plan_of(
        {
            "docker": {"containers": [{"name": "web", "ports": ["8080:80"], "ip": "172.17.0.5"}]},
            "symptoms": [{"from": "lan", "to": "container:web", "port": 8080}],
        }
    )
    assert "fib daddr type local tcp dport 8080 dnat to 172.17.0.5:80" in host_nft(plan)
    web = plan.nodes["c0"]
    assert web.routes == ["default via 172.17.0.1"]
    assert plan.probes[0].source == "lan" and plan.probes[0].address == "192.168.1.10"
    # Nothing said where the app listens: it is up on the container port behind the mapping.
    assert web.listens == {"container:web": [("0.0.0.0", 80, "tcp")]}


def test_host_ip_binding_and_the_daemons_default_bind_address() -> None:
    plan = plan_of(
        {
            "docker": {
                "daemon": {"ip": "127.0.0.1"},
                "containers": [
                    {"name": "a", "ports": ["10.0.0.9:81:80"]},
                    {"name": "b", "ports": ["82:80"]},
                ],
            }
        }
    )
    rules = host_nft(plan)
    assert "ip daddr 10.0.0.9 tcp dport 81 dnat" in rules
    assert "ip daddr 127.0.0.1 tcp dport 82 dnat" in rules


def test_internal_networks_publish_nothing_and_lead_nowhere() -> None:
    plan = plan_of(
        {
            "docker": {
                "networks": [{"name": "back", "subnet": "172.30.0.0/16", "internal": True}],
                "containers": [{"name": "db", "networks": ["back"], "ports": ["5432:5432"]}],
            }
        }
    )
    assert "dnat to" not in host_nft(plan)
    assert plan.nodes["c0"].routes == []
    assert 'iifname "br-1" oifname != "br-1" drop' in host_nft(plan)


def test_vmware_nat_has_a_nat_device_of_its_own_at_dot_two() -> None:
    plan = plan_of(
        {
            "vm_networks": [
                {
                    "name": "VMnet8",
                    "hypervisor": "vmware",
                    "mode": "nat",
                    "subnet": "192.168.80.0/24",
                    "port_forwards": ["2222:192.168.80.128:22"],
                }
            ],
            "vms": [
                {
                    "name": "dev",
                    "hypervisor": "vmware",
                    "adapters": [
                        {"mode": "nat", "network": "VMnet8", "address": "192.168.80.128/24"}
                    ],
                }
            ],
        }
    )
    assert "192.168.80.2/24" in plan.nodes["nat0"].addresses
    assert plan.nodes["vm0"].routes == ["default via 192.168.80.2"]
    assert any("dport 2222 dnat to 192.168.80.128:22" in line for line in plan.nodes["nat0"].nft)
    assert "192.168.80.1/24" in plan.nodes["host"].bridges["vmnet-0"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            {"host": {**HOST, "docker": "desktop"}, "docker": {"containers": [{"name": "w"}]}},
            "Desktop",
        ),
        ({"vms": [{"name": "v", "adapters": [{"mode": "bridged"}]}]}, "DHCP"),
        ({"docker": {"networks": [{"name": "o", "driver": "overlay"}]}}, "overlay"),
        ({"host": {**HOST, "firewall": "ufw"}}, "firewall"),
    ],
)
def test_what_the_lab_cannot_reproduce_is_said(data: dict[str, Any], reason: str) -> None:
    with pytest.raises(NotModelled, match=reason):
        plan_setup(load_setup({"host": HOST, **data}))


def test_symptoms_the_lab_cannot_probe_are_skipped_with_the_reason() -> None:
    plan = plan_of(
        {
            "docker": {"containers": [{"name": "web"}]},
            "symptoms": [
                {"from": "container:web", "to": "internet", "port": 9, "proto": "sctp"},
                {"from": "container:web", "dial": "db", "port": 5432},
                {"from": "container:web", "to": "internet", "port": 443},
            ],
        }
    )
    assert set(plan.skipped) == {"s1", "s2"}
    assert "sctp" in plan.skipped["s1"] and "name" in plan.skipped["s2"]
    assert [p.address for p in plan.probes] == [INTERNET_ADDRESS]


def test_dialled_addresses_outside_the_setup_belong_to_the_lan_or_the_internet() -> None:
    plan = plan_of(
        {
            "docker": {"containers": [{"name": "web"}]},
            "symptoms": [
                {"from": "container:web", "to": "192.168.1.77", "port": 22},
                {"from": "container:web", "to": "internet", "dial": "1.1.1.1", "port": 443},
            ],
        }
    )
    assert ("eth0", "192.168.1.77/24") in plan.nodes["lan"].extra
    assert ("lo", "1.1.1.1/32") in plan.nodes["inet"].extra


def test_the_build_script_never_names_the_root_namespace() -> None:
    """Every command is `ip -n <lab ns>`, `ip netns ...` or a veth made between two lab ns."""
    for scenario in bundled():
        script = build_script(plan_setup(scenario.setup))
        for line in script.splitlines():
            if not line.startswith("ip "):
                continue
            assert line.startswith(("ip -n nw-", "ip netns ", "ip link add ")), line
            if line.startswith("ip link add "):
                assert line.count(" netns nw-") == 2, line


def test_every_lab_claim_has_a_bundled_scenario() -> None:
    covered = {claim for scenario in bundled() for claim in scenario.claims}
    assert set(lab_claims()) <= covered


def test_a_vpn_is_a_second_way_out_whose_routes_are_appended() -> None:
    plan = plan_setup(
        load_setup(
            {
                "host": {
                    **HOST,
                    "interfaces": [
                        {"name": "eth0", "address": "192.168.1.10/24", "gateway": "192.168.1.1"},
                        {"name": "tun0", "type": "vpn", "address": "10.8.0.6/24"},
                    ],
                    "routes": [{"to": "172.17.0.0/16", "dev": "tun0", "vpn": True}],
                },
                "symptoms": [{"from": "host", "to": "172.17.5.20", "port": 443}],
            }
        )
    )
    assert "172.17.0.0/16 via 10.8.0.1 dev tun0" in plan.nodes["host"].routes
    assert ("lo", "172.17.5.20/32") in plan.nodes["vpn0"].extra
    script = build_script(plan)
    # docker0's address (and so its route) comes after the NICs', routes are appended.
    assert script.index("dev eth0") < script.index("addr add 172.17.0.1/16 dev docker0")
    assert "route append 172.17.0.0/16 via 10.8.0.1 dev tun0" in script
