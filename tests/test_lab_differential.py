"""Differential testing: random small setups, built in the lab; the kernel's reachability
matrix against netwhy's verdict for every pair.

Hypothesis draws 2-6 machines (containers in every Docker mode, VMs bridged, NAT or
host-only), the LAN's and the Docker networks' subnets (one may be internal), ports,
publishes, forwards and where the apps listen. Every ordered pair of
endpoints becomes a symptom: a connection to the port a person would name, and a ping of
each container and VM. Each disagreement found this way was a knowledge or lab bug: it
was fixed and its setup kept in tests/cases or knowledge/lab.yaml.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.lab.verify import Scenario, run_scenario
from diagnose.loading import load_setup

# The LAN's prefix (its .1 is the router, .10 the host) and the user-defined networks' subnets.
LANS = ["192.168.1", "10.10.0", "172.16.5"]
FRONTS = ["172.20.0.0/16", "10.20.0.0/24", "192.168.200.0/24"]
BACKS = ["172.21.0.0/16", "10.21.0.0/24"]


@st.composite
def containers(draw: st.DrawFn, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        name = f"c{i}"
        modes = ["bridge", "front", "back", "host", "none"]
        if out and any(c.get("network_mode") != "none" for c in out):
            modes.append("container")
        mode = draw(st.sampled_from(modes))
        c: dict[str, Any] = {"name": name}
        if mode == "container":
            c["network_mode"] = "container:" + draw(st.sampled_from([c["name"] for c in out]))
        elif mode in ("front", "back"):
            c["networks"] = [mode] + (["back"] if mode == "front" and draw(st.booleans()) else [])
        else:
            c["network_mode"] = mode
        port = 80 + i  # distinct, so containers sharing a namespace do not clash by chance
        c["listens"] = [draw(st.sampled_from(["0.0.0.0", "127.0.0.1"])) + f":{port}"]
        if mode not in ("host", "none", "container") and draw(st.booleans()):
            c["ports"] = [f"{8000 + i}:{port}"]
        else:
            c["ports"] = []
        out.append(c)
    return out


@st.composite
def vms(draw: st.DrawFn, count: int, lan: str) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        mode = draw(st.sampled_from(["bridged", "nat", "hostonly"]))
        adapter: dict[str, Any] = {"mode": mode}
        if mode == "bridged":
            adapter |= {"address": f"{lan}.{50 + i}/24", "gateway": f"{lan}.1"}
        elif mode == "nat":
            adapter |= {
                "network": "VMnet8",
                "address": f"192.168.80.{128 + i}/24",
                "gateway": "192.168.80.2",
            }
            if draw(st.booleans()):
                adapter["port_forwards"] = [f"{2200 + i}:22"]
        else:
            adapter |= {"network": "VMnet1", "address": f"192.168.56.{10 + i}/24"}
        out.append(
            {
                "name": f"v{i}",
                "hypervisor": "vmware",
                "listens": ["0.0.0.0:22"],
                "adapters": [adapter],
            }
        )
    return out


def _port_to(target: dict[str, Any], kind: str, source: str) -> int:
    """The port a client dials for a target, as a person would write the symptom."""
    if kind == "container":
        own = int(target["listens"][0].rsplit(":", 1)[1])
        if source in ("lan", "host") or source.startswith("vm:"):
            for p in target.get("ports") or []:
                return int(p.split(":")[0])
        return own
    forwards = target["adapters"][0].get("port_forwards")
    if source == "lan" and forwards:
        return int(forwards[0].split(":")[0])
    return 22


@st.composite
def setups(draw: st.DrawFn) -> dict[str, Any]:
    n_containers = draw(st.integers(0, 4))
    n_vms = draw(st.integers(0 if n_containers >= 2 else 2 - n_containers, 6 - n_containers))
    n_vms = min(n_vms, 2)
    lan = draw(st.sampled_from(LANS))
    cs = draw(containers(n_containers))
    vs = draw(vms(n_vms, lan))
    endpoints: list[tuple[str, dict[str, Any] | None]] = [("lan", None), ("host", None)]
    endpoints += [(f"container:{c['name']}", c) for c in cs]
    endpoints += [(f"vm:{v['name']}", v) for v in vs]
    symptoms = []
    for source, _ in endpoints:
        for target, data in endpoints:
            if source == target:
                continue
            kind = target.split(":")[0]
            if kind in ("container", "vm") and data is not None:
                port = _port_to(data, kind, source)
            else:
                port = 22 if target == "host" else 80
            symptoms.append({"from": source, "to": target, "port": port})
            if kind in ("container", "vm"):
                symptoms.append({"from": source, "to": target})  # a ping
        symptoms.append({"from": source, "to": "internet", "port": 443})
    host = {
        "os": "linux",
        "docker": "engine",
        "interfaces": [{"name": "eth0", "address": f"{lan}.10/24", "gateway": f"{lan}.1"}],
        "listens": ["0.0.0.0:22"],
    }
    networks = [
        {"name": "front", "subnet": draw(st.sampled_from(FRONTS))},
        {"name": "back", "subnet": draw(st.sampled_from(BACKS)), "internal": draw(st.booleans())},
    ]
    return {
        "host": host,
        "lan": {"subnet": f"{lan}.0/24", "gateway": f"{lan}.1"},
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "mode": "nat",
                "subnet": "192.168.80.0/24",
                "gateway": "192.168.80.2",
                "host_adapter": True,
            },
            {
                "name": "VMnet1",
                "hypervisor": "vmware",
                "mode": "hostonly",
                "subnet": "192.168.56.0/24",
                "host_adapter": True,
            },
        ],
        "vms": vs,
        "docker": {"networks": networks, "containers": cs},
        "symptoms": symptoms,
    }


@settings(
    max_examples=int(os.environ.get("LAB_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,  # the same setups on every run: CI stays reproducible
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=setups())
def test_the_kernel_agrees_with_every_pair(lab: None, data: dict[str, Any]) -> None:
    checks = run_scenario(Scenario("random", load_setup(data)))
    wrong = [(c.question, c.predicted, c.observed, c.detail) for c in checks if c.agree is False]
    assert wrong == [], data
    assert not [c for c in checks if c.observed in ("lab error", "")]
