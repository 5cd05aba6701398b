"""Facts for VirtualBox, libvirt and Hyper-V setups: the fields the twins' rules rely on."""

from __future__ import annotations

from diagnose.facts import build_facts, iter_kinds
from diagnose.model import Setup


def _one(setup: dict[str, object], kind: str) -> list[dict[str, object]]:
    return list(iter_kinds(build_facts(Setup.model_validate(setup)), kind))


def test_libvirt_network_state_is_a_fact() -> None:
    nets = _one(
        {
            "vm_networks": [
                {
                    "name": "default",
                    "hypervisor": "libvirt",
                    "mode": "nat",
                    "active": False,
                    "autostart": False,
                },
                {"name": "lab", "hypervisor": "libvirt", "mode": "isolated"},
            ]
        },
        "vm_network",
    )
    by_name = {n["name"]: n for n in nets}
    assert by_name["default"]["active"] is False
    assert by_name["default"]["autostart"] is False
    assert by_name["default"]["subnet"] == "192.168.122.0/24"  # libvirt's stock subnet
    assert by_name["default"]["subnet_default"] is True
    assert "active" not in by_name["lab"]  # unknown stays a missing key


def test_macvtap_and_slirp_words_are_modes() -> None:
    adapters = _one(
        {
            "vms": [
                {
                    "name": "f",
                    "hypervisor": "kvm",
                    "adapters": [{"mode": "macvtap"}, {"mode": "slirp"}],
                }
            ]
        },
        "adapter",
    )
    assert [(a["hypervisor"], a["effective_mode"], a["network"]) for a in adapters] == [
        ("libvirt", "direct", "macvtap"),
        ("libvirt", "user", "user-mode (slirp)"),
    ]


def test_direct_networks_are_not_address_ranges_of_their_own() -> None:
    # A macvtap network puts guests on the LAN's subnet: it must not overlap the LAN.
    facts = build_facts(
        Setup.model_validate(
            {
                "lan": {"subnet": "192.168.1.0/24"},
                "vm_networks": [
                    {
                        "name": "lan-direct",
                        "hypervisor": "libvirt",
                        "mode": "direct",
                        "subnet": "192.168.1.0/24",
                    }
                ],
            }
        )
    )
    assert list(iter_kinds(facts, "overlap")) == []


def test_default_switches_per_hypervisor() -> None:
    adapters = _one(
        {
            "vms": [
                {"name": "v", "hypervisor": "virtualbox", "adapters": [{"mode": "bridged"}]},
                {"name": "h", "hypervisor": "hyperv", "adapters": [{"mode": "nat"}]},
                {"name": "l", "hypervisor": "libvirt", "adapters": [{"mode": "routed"}]},
            ]
        },
        "adapter",
    )
    assert {a["vm"]: a["network"] for a in adapters} == {
        "v": "Bridged Adapter",
        "h": "NAT switch",
        "l": "routed network",
    }
    assert all(a["network_default"] is True for a in adapters)
