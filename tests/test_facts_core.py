"""Facts the core computes: large port ranges, linear clash and overlap relations."""

from __future__ import annotations

from diagnose import why
from diagnose.facts import MAX_EXPANDED_PORTS, build_facts
from diagnose.loading import load_setup


def _kinds(setup: dict, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in build_facts(load_setup(setup)) if f["kind"] == kind]


def test_a_dialled_port_inside_a_huge_range_is_published() -> None:
    setup = {
        "docker": {
            "containers": [
                {"name": "a", "ports": ["1-65535:1-65535"], "listens": ["0.0.0.0:60000"]}
            ]
        },
        "symptoms": [{"from": "lan", "to": "container:a", "port": 60000}],
    }
    pubs = _kinds(setup, "publish")
    assert len(pubs) == MAX_EXPANDED_PORTS + 1
    assert any(p["host_port"] == 60000 for p in pubs)
    assert _kinds(setup, "publish_range")
    assert why(setup).verdicts[0].status == "reachable"


def test_one_port_published_by_many_makes_linear_clashes() -> None:
    containers = [{"name": f"c{i:03}", "ports": ["80:80"]} for i in range(50)]
    clashes = _kinds({"docker": {"containers": containers}}, "port_clash")
    assert len(clashes) == 49
    assert {c["a"] for c in clashes} == {"c000"}


def test_clashes_respect_host_addresses_and_profiles() -> None:
    containers = [
        {"name": "a", "ports": ["127.0.0.1:80:80"]},
        {"name": "b", "ports": ["192.168.1.10:80:80"]},  # another address: no clash with a
        {"name": "c", "ports": ["80:80"], "profiles": ["dev"]},
        {"name": "d", "ports": ["80:80"], "profiles": ["prod"]},  # never runs with c
    ]
    pairs = {(c["a"], c["b"]) for c in _kinds({"docker": {"containers": containers}}, "port_clash")}
    assert pairs == {("a", "c"), ("a", "d")}


def test_many_networks_on_one_subnet_make_linear_overlaps() -> None:
    nets = [{"name": f"n{i:03}", "subnet": "10.5.0.0/16"} for i in range(40)]
    overlaps = _kinds({"docker": {"networks": nets}}, "overlap")
    assert len(overlaps) == 39
