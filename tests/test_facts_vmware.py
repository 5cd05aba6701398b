"""Facts for VMware setups and bridged VMs: the fields vmware.yaml and paths_vm.yaml rely on."""

from __future__ import annotations

from typing import Any

from diagnose.facts import build_facts, iter_kinds
from diagnose.model import Setup

HOST = {
    "os": "windows",
    "interfaces": [
        {
            "name": "Ethernet",
            "type": "ethernet",
            "address": "192.168.1.20/24",
            "gateway": "192.168.1.1",
        },
        {"name": "Wi-Fi", "type": "wifi", "up": True},
        {"name": "Old NIC", "type": "ethernet", "up": False},
    ],
}


def _facts(setup: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return list(iter_kinds(build_facts(Setup.model_validate(setup)), kind))


def test_vmnet_names_are_spelled_one_way() -> None:
    adapters = _facts(
        {
            "vm_networks": [{"name": "vmnet2", "hypervisor": "vmware", "mode": "hostonly"}],
            "vms": [
                {
                    "name": "a",
                    "hypervisor": "vmware",
                    "adapters": [
                        {"mode": "nat", "network": "vmnet8"},
                        {"mode": "custom", "network": "VMNET2"},
                        {"mode": "hostonly"},
                    ],
                }
            ],
        },
        "adapter",
    )
    assert [a["network"] for a in adapters] == ["VMnet8", "vmnet2", "VMnet1"]
    assert adapters[1]["effective_mode"] == "hostonly"  # the described network's mode


def test_bridged_adapter_inherits_its_switch_bridge() -> None:
    setup = {
        "host": HOST,
        "vm_networks": [
            {"name": "VMnet0", "hypervisor": "vmware", "mode": "bridged", "bridged_to": "Wi-Fi"}
        ],
        "vms": [{"name": "a", "hypervisor": "vmware", "adapters": [{"mode": "bridged"}]}],
    }
    (adapter,) = _facts(setup, "adapter")
    assert adapter["bridged_to"] == "Wi-Fi"  # VMnet0's, the default switch of bridged mode
    assert adapter["bridged_via"] == "Wi-Fi"
    assert adapter["bridged_iface_type"] == "wifi"
    assert adapter["bridged_is_lan_nic"] is False  # the host's LAN NIC is Ethernet
    assert "bridged_guess" not in adapter


def test_automatic_bridging_is_a_guess_and_counts_candidates() -> None:
    setup = {
        "host": HOST,
        "vm_networks": [
            {"name": "VMnet0", "hypervisor": "vmware", "mode": "bridged", "bridged_to": "Automatic"}
        ],
        "vms": [{"name": "a", "hypervisor": "vmware", "adapters": [{"mode": "bridged"}]}],
    }
    (adapter,) = _facts(setup, "adapter")
    assert adapter["bridged_auto"] is True
    assert adapter["bridged_via"] == "Ethernet"
    assert adapter["bridged_guess"] is True
    assert "bridged_is_lan_nic" not in adapter  # unknown: automatic may pick any
    (net,) = _facts(setup, "vm_network")
    assert net["auto_candidates"] == 2  # Ethernet and Wi-Fi; the NIC that is down does not count
    host = {
        **HOST,
        "interfaces": [
            *HOST["interfaces"],
            {"name": "VMware Network Adapter VMnet8", "type": "virtual"},
        ],
    }
    (net,) = _facts({**setup, "host": host}, "vm_network")
    assert net["auto_candidates"] == 2  # VMware never bridges to its own host adapters


def test_host_adapter_state() -> None:
    nets = _facts(
        {
            "vm_networks": [
                {"name": "VMnet1", "host_adapter": False},
                {"name": "VMnet8", "host_adapter": True, "host_adapter_enabled": False},
                {"name": "VMnet2", "host_adapter_enabled": True},
                {"name": "VMnet3", "host_adapter": True},
                {"name": "VMnet4"},
            ]
        },
        "vm_network",
    )
    states = {n["name"]: n.get("host_adapter_state") for n in nets}
    assert states == {
        "VMnet1": "missing",
        "VMnet8": "disabled",
        "VMnet2": "enabled",
        "VMnet3": "present",
        "VMnet4": None,
    }


def test_nat_gateway_relations() -> None:
    setup = {
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "mode": "nat",
                "subnet": "192.168.80.0/24",
                "gateway": "192.168.80.2",
                "host_address": "192.168.80.1/24",
            }
        ],
        "vms": [
            {
                "name": "a",
                "hypervisor": "vmware",
                "adapters": [
                    {"mode": "nat", "address": "192.168.80.128/24", "gateway": "192.168.80.1"},
                    {"mode": "nat", "address": "192.168.80.129/24", "gateway": "192.168.80.2"},
                ],
            }
        ],
    }
    first, second = _facts(setup, "adapter")
    assert first["gateway_is_network_gateway"] is False
    assert first["gateway_is_host_adapter"] is True
    assert first["gateway_index"] == 1
    assert second["gateway_is_network_gateway"] is True
    assert second["gateway_index"] == 2


def test_dns_off_lan() -> None:
    setup = {
        "host": HOST,
        "vms": [
            {
                "name": "a",
                "hypervisor": "vmware",
                "adapters": [
                    {"mode": "bridged", "dns": ["8.8.8.8", "192.168.80.2"]},
                    {"mode": "bridged", "dns": ["192.168.1.1", "1.1.1.1"]},
                ],
            }
        ],
    }
    first, second = _facts(setup, "adapter")
    assert first["dns_off_lan"] == "192.168.80.2"
    assert "dns_off_lan" not in second


def test_lan_on_a_linux_bridge_is_the_primary_nic() -> None:
    (host,) = _facts(
        {
            "host": {
                "interfaces": [
                    {"name": "docker0", "type": "bridge", "address": "172.17.0.1/16"},
                    {
                        "name": "br0",
                        "type": "bridge",
                        "address": "192.168.1.10/24",
                        "gateway": "192.168.1.1",
                    },
                ]
            }
        },
        "host",
    )
    assert host["nic"] == "br0"
    assert host["nic_type"] == "bridge"
    (lan,) = _facts(
        {
            "host": {
                "interfaces": [
                    {
                        "name": "br0",
                        "type": "bridge",
                        "address": "192.168.1.10/24",
                        "gateway": "192.168.1.1",
                    }
                ]
            }
        },
        "lan",
    )
    assert lan["subnet"] == "192.168.1.0/24"


def test_default_network_subnet_is_marked() -> None:
    adapters = _facts(
        {
            "vm_networks": [
                {
                    "name": "vboxnet1",
                    "hypervisor": "virtualbox",
                    "mode": "hostonly",
                    "subnet": "192.168.60.0/24",
                }
            ],
            "vms": [
                {
                    "name": "a",
                    "hypervisor": "virtualbox",
                    "adapters": [
                        {"mode": "hostonly", "address": "192.168.56.10/24"},
                        {"mode": "hostonly", "network": "vboxnet1", "address": "192.168.60.5/24"},
                    ],
                }
            ],
        },
        "adapter",
    )
    assert adapters[0]["network_subnet"] == "192.168.56.0/24"
    assert adapters[0]["network_subnet_default"] is True  # vboxnet0's usual subnet: a guess
    assert "network_subnet_default" not in adapters[1]
