"""Facts added for the VM review fixes: the Windows profile of a VM network's host adapter,
the source adapter that holds a dialled address on-link, and the host NIC a macvtap sits on."""

from __future__ import annotations

from diagnose.facts import build_facts, iter_kinds
from diagnose.model import Setup


def _one(setup: dict[str, object], kind: str) -> list[dict[str, object]]:
    return list(iter_kinds(build_facts(Setup.model_validate(setup)), kind))


def test_host_profile_is_a_network_fact() -> None:
    nets = _one(
        {
            "vm_networks": [
                {"name": "VMnet8", "hypervisor": "vmware", "mode": "nat", "host_profile": "Public"},
                {"name": "VMnet1", "hypervisor": "vmware", "mode": "hostonly"},
            ]
        },
        "vm_network",
    )
    by_name = {n["name"]: n for n in nets}
    assert by_name["VMnet8"]["host_profile"] == "public"  # lower-cased
    assert "host_profile" not in by_name["VMnet1"]  # unknown stays a missing key


def test_on_link_picks_the_adapter_holding_the_dialled_address() -> None:
    setup = {
        "vms": [
            {
                "name": "dev",
                "hypervisor": "virtualbox",
                "adapters": [{"mode": "nat"}, {"mode": "hostonly", "address": "192.168.56.101/24"}],
            }
        ],
        "symptoms": [
            {"from": "vm:dev", "to": "host", "port": 8000, "dial": "192.168.56.1"},
            # the NAT engine's network (10.0.2.0/24) is the adapter's network by default
            {"from": "vm:dev", "to": "host", "port": 8000, "dial": "10.0.2.2"},
            {"from": "vm:dev", "to": "internet", "port": 443, "dial": "1.1.1.1"},
            {"from": "host", "to": "vm:dev", "port": 22, "dial": "192.168.56.101"},
        ],
    }
    links = {(f["symptom"], f["index"]) for f in _one(setup, "on_link")}
    assert links == {("s1", 1), ("s2", 0)}


def test_on_link_uses_the_target_address_without_a_dial() -> None:
    setup = {
        "host": {"interfaces": [{"name": "eth0", "address": "192.168.1.10/24"}]},
        "vms": [
            {
                "name": "lab",
                "hypervisor": "vmware",
                "adapters": [{"mode": "bridged", "address": "192.168.1.50/24"}],
            }
        ],
        "symptoms": [{"from": "vm:lab", "to": "192.168.1.10", "port": 22}],
    }
    assert [(f["vm"], f["index"]) for f in _one(setup, "on_link")] == [("lab", 0)]


def test_a_macvtap_sits_on_its_named_host_nic() -> None:
    adapters = _one(
        {
            "host": {"interfaces": [{"name": "enp3s0", "address": "192.168.1.30/24"}]},
            "vms": [
                {
                    "name": "srv",
                    "hypervisor": "libvirt",
                    "adapters": [{"mode": "macvtap", "network": "eno1"}, {"mode": "macvtap"}],
                }
            ],
        },
        "adapter",
    )
    named, unnamed = sorted(adapters, key=lambda a: a["index"])
    # named (though not among the host's interfaces given): that NIC
    assert named["bridged_to"] == "eno1"
    assert named["bridged_via"] == "eno1"
    # not named: presumably the host's LAN NIC, marked as a guess
    assert unnamed["bridged_via"] == "enp3s0"
    assert unnamed["bridged_guess"] is True
