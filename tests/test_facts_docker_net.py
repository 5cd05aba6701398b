"""Facts for Docker networks: names, links, extra hosts, resolvers, symptom addresses, dials."""

from __future__ import annotations

from typing import Any

from diagnose.facts import build_facts
from diagnose.loading import load_setup


def facts(data: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in build_facts(load_setup(data)) if f["kind"] == kind]


def test_host_resolver_flags() -> None:
    stub = facts({"host": {"resolver": ["127.0.0.53"]}}, "host")[0]
    assert stub["resolver_all_loopback"] is True and stub["resolver_stub_only"] is True
    dnsmasq = facts({"host": {"resolver": ["127.0.1.1"]}}, "host")[0]
    assert dnsmasq["resolver_all_loopback"] is True and dnsmasq["resolver_stub_only"] is False
    mixed = facts({"host": {"resolver": ["127.0.0.53", "192.168.1.1"]}}, "host")[0]
    assert mixed["resolver_all_loopback"] is False and mixed["resolver_stub_only"] is False
    unknown = facts({"host": {"os": "linux"}}, "host")[0]
    assert "resolver_all_loopback" not in unknown and "resolver_stub_only" not in unknown


def test_container_dns_loopback() -> None:
    cts = facts(
        {
            "docker": {
                "containers": [
                    {"name": "a", "dns": ["127.0.0.1"]},
                    {"name": "b", "dns": ["1.1.1.1"]},
                    {"name": "c"},
                ]
            }
        },
        "container",
    )
    by = {c["name"]: c for c in cts}
    assert by["a"]["dns_loopback"] is True
    assert by["b"]["dns_loopback"] is False
    assert "dns_loopback" not in by["c"]


def test_a_mode_named_container_without_a_colon_is_a_network() -> None:
    # `--network container` names a network called container (it crashed the facts builder).
    cts = facts(
        {
            "docker": {
                "containers": [
                    {"name": "a", "network_mode": "container"},
                    {"name": "b", "network_mode": "service:a"},
                    {"name": "c", "network_mode": "Container:a"},  # Docker: case counts
                ]
            }
        },
        "container",
    )
    by = {c["name"]: c for c in cts}
    assert (by["a"]["mode"], by["a"]["target"]) == ("network", "container")
    assert (by["b"]["mode"], by["b"]["target"]) == ("container", "a")
    assert (by["c"]["mode"], by["c"]["target"]) == ("network", "Container:a")


def test_dns_names_links_and_extra_hosts() -> None:
    data = {
        "docker": {
            "containers": [
                {
                    "name": "web",
                    "links": ["db:database", "cache"],
                    "extra_hosts": ["host.docker.internal:host-gateway", "box=10.0.0.5"],
                },
                {"name": "db"},
                {"name": "pg", "networks": {"appnet": {"aliases": ["postgres"]}, "other": None}},
                {"name": "mon", "network_mode": "host"},
            ]
        }
    }
    names = {
        (f["container"], f["network"], f["name"], f["source"]) for f in facts(data, "dns_name")
    }
    assert ("web", "bridge", "web", "name") in names  # no mode: the implicit default bridge
    assert ("pg", "appnet", "postgres", "alias") in names
    assert ("pg", "other", "pg", "name") in names
    assert not any(n[0] == "mon" for n in names)  # host mode joins no network
    links = {(f["container"], f["target"], f["name"]) for f in facts(data, "link")}
    assert links == {("web", "db", "database"), ("web", "cache", "cache")}
    hosts = {(f["container"], f["name"], f["address"]) for f in facts(data, "extra_host")}
    assert hosts == {("web", "host.docker.internal", "host-gateway"), ("web", "box", "10.0.0.5")}


def test_addr_in_names_the_ranges_holding_symptom_addresses() -> None:
    data = {
        "host": {
            "interfaces": [{"name": "eth0", "address": "192.168.1.10/24"}],
            "routes": [{"to": "10.8.0.0/16", "dev": "tun0", "vpn": True}],
        },
        "docker": {
            "networks": [{"name": "appnet", "subnet": "10.8.0.0/24"}],
            "containers": [{"name": "app", "networks": ["appnet"]}],
        },
        "symptoms": [
            {"from": "container:app", "to": "10.8.0.5", "port": 443, "dial": "192.168.1.50"}
        ],
    }
    got = {(f["end"], f["address"], f["site_kind"], f["site_name"]) for f in facts(data, "addr_in")}
    assert got == {
        ("to", "10.8.0.5", "vpn", "tun0"),
        ("to", "10.8.0.5", "dnet", "appnet"),
        ("dial", "192.168.1.50", "lan", "lan"),
    }


def test_a_dial_fills_the_missing_target() -> None:
    data = {
        "docker": {
            "containers": [
                {"name": "web", "networks": ["appnet"]},
                {"name": "pg", "networks": {"appnet": {"aliases": ["database"]}}},
            ]
        },
        "symptoms": [
            {
                "from": "container:web",
                "dial": "database",
                "port": 5432,
                "says": "connection refused",
            },
            {"from": "container:web", "dial": "host.docker.internal", "port": 8000},
            {"from": "container:web", "dial": "database"},
            {"from": "container:web", "dial": "example.com", "says": "could not resolve host"},
        ],
    }
    sy = {f["symptom"]: f for f in facts(data, "symptom")}
    assert (sy["s1"]["type"], sy["s1"]["to_kind"], sy["s1"]["to_name"]) == (
        "connect",
        "container",
        "pg",
    )
    assert (sy["s1"]["dial_owner_kind"], sy["s1"]["dial_owner"]) == ("container", "pg")
    assert (sy["s2"]["type"], sy["s2"]["to_kind"]) == ("connect", "host")
    assert sy["s3"]["type"] == "resolve"  # a bare name: the lookup is the question
    assert sy["s4"]["type"] == "resolve" and "to_kind" not in sy["s4"]


def test_an_ambiguous_name_names_no_owner() -> None:
    data = {
        "docker": {
            "containers": [
                {"name": "a", "networks": {"n1": {"aliases": ["svc"]}}},
                {"name": "b", "networks": {"n2": {"aliases": ["svc"]}}},
            ]
        },
        "symptoms": [{"from": "container:a", "dial": "svc", "port": 80}],
    }
    sy = facts(data, "symptom")[0]
    assert "dial_owner" not in sy and "to_kind" not in sy
