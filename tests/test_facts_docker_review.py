"""Facts behind the Docker review fixes: implied host services, docker0 on a bare engine,
network gateways as host addresses, addresses outside subnets, namespace loops, remapping."""

from __future__ import annotations

from typing import Any

from diagnose.facts import build_facts
from diagnose.loading import load_setup

ENGINE = {
    "os": "linux",
    "docker": "engine",
    "interfaces": [{"name": "eth0", "address": "192.168.1.10/24", "gateway": "192.168.1.1"}],
}


def facts(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in build_facts(load_setup(data)) if f["kind"] == kind]


def test_systemd_resolved_stub_is_an_implied_host_service() -> None:
    stub = facts({"host": {**ENGINE, "resolver": ["127.0.0.53"]}}, "host_service")
    assert {(s["address"], s["port"], s["proto"], s["scope"]) for s in stub} == {
        ("127.0.0.53", 53, "udp", "loopback"),
        ("127.0.0.53", 53, "tcp", "loopback"),
    }
    assert all(s["implied"] is True for s in stub)
    # a listed socket is not implied a second time
    listed = facts(
        {"host": {**ENGINE, "resolver": ["127.0.0.53"], "listens": ["127.0.0.53:53/udp"]}},
        "host_service",
    )
    assert sorted((s["proto"], s.get("implied", False)) for s in listed) == [
        ("tcp", True),
        ("udp", False),
    ]
    assert facts({"host": {**ENGINE, "resolver": ["192.168.1.1"]}}, "host_service") == []


def test_a_bare_docker_engine_has_the_default_docker0() -> None:
    nets = facts({"host": ENGINE}, "dnet")
    assert [(n["name"], n["subnet"], n.get("subnet_default")) for n in nets] == [
        ("bridge", "172.17.0.0/16", True)
    ]
    assert facts({"host": {"os": "mac", "docker": "desktop"}}, "dnet") == []
    assert facts({"host": {"os": "linux"}}, "dnet") == []


def test_network_gateways_are_addresses_of_the_host() -> None:
    data = {
        "host": ENGINE,
        "docker": {
            "networks": [{"name": "appnet", "subnet": "172.20.0.0/24", "gateway": "172.20.0.1"}],
            "containers": [{"name": "app", "networks": ["appnet"]}],
        },
        "symptoms": [
            {"from": "container:app", "to": "host", "port": 80, "dial": "172.17.0.1"},
            {"from": "container:app", "to": "host", "port": 80, "dial": "172.20.0.1"},
        ],
    }
    syms = facts(data, "symptom")
    assert [(s["dial_owner_kind"], s["dial_owner"]) for s in syms] == [("host", "host")] * 2


def test_user_defined_bridges_are_not_named_after_the_network() -> None:
    nets = facts(
        {
            "host": ENGINE,
            "docker": {
                "networks": [
                    {"name": "appnet", "subnet": "172.20.0.0/24", "gateway": "172.21.0.1"}
                ],
                "containers": [{"name": "x", "networks": ["other"]}],
            },
        },
        "dnet",
    )
    by = {n["name"]: n for n in nets}
    assert by["bridge"]["bridge"] == "docker0"
    assert by["appnet"]["bridge"] == by["other"]["bridge"] == "br-…"
    assert by["appnet"]["gateway_in_subnet"] is False
    assert "gateway_in_subnet" not in by["bridge"]


def test_addresses_outside_their_network() -> None:
    data = {
        "host": ENGINE,
        "docker": {
            "networks": [{"name": "appnet", "subnet": "172.20.0.0/24"}, {"name": "free"}],
            "containers": [
                {"name": "a", "networks": [{"name": "appnet", "ipv4_address": "172.21.0.5"}]},
                {"name": "b", "networks": [{"name": "appnet", "ipv4_address": "172.20.0.5"}]},
                {"name": "c", "networks": [{"name": "free", "ipv4_address": "10.9.9.9"}]},
                {"name": "d", "ip": "172.18.0.5"},
                {"name": "e", "ip": "172.17.0.9"},
            ],
        },
    }
    out = facts(data, "ip_outside")
    assert [(o["container"], o["network"], o["ip"], o.get("subnet_default")) for o in out] == [
        ("a", "appnet", "172.21.0.5", None),
        ("d", "bridge", "172.18.0.5", True),
    ]


def test_namespace_self_reference_and_cycles_are_marked() -> None:
    cts = facts(
        {
            "host": ENGINE,
            "docker": {
                "containers": [
                    {"name": "self", "network_mode": "container:self"},
                    {"name": "a", "network_mode": "service:b"},
                    {"name": "b", "network_mode": "container:a"},
                    {"name": "c", "network_mode": "container:a"},
                    {"name": "d", "network_mode": "container:e"},
                    {"name": "e"},
                ]
            },
        },
        "container",
    )
    by = {c["name"]: c for c in cts}
    assert by["self"]["self_ref"] is True and "cycle" not in by["self"]
    assert by["a"]["cycle"] == "a -> b -> a" and by["b"]["cycle"] == "b -> a -> b"
    for name in ("c", "d", "e"):
        assert "cycle" not in by[name] and "self_ref" not in by[name]


def test_publish_says_when_the_host_port_differs() -> None:
    pubs = facts(
        {"docker": {"containers": [{"name": "db", "ports": ["5433:5432", "80:80", "9000"]}]}},
        "publish",
    )
    assert [(p.get("host_port"), p.get("remapped")) for p in pubs] == [
        (5433, True),
        (80, False),
        (None, None),
    ]


def test_a_shared_namespace_container_has_no_name_of_its_own() -> None:
    names = facts(
        {
            "docker": {
                "networks": [{"name": "arr_default"}],
                "containers": [
                    {"name": "gluetun", "networks": ["arr_default"]},
                    {"name": "qbittorrent", "network_mode": "service:gluetun"},
                ],
            }
        },
        "dns_name",
    )
    assert {n["container"] for n in names} == {"gluetun"}
