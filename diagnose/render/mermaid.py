"""The topology of a Report as a Mermaid flowchart, with the hops where paths break marked.

Built from the report alone: its facts give the devices (LAN, host, Docker Desktop's VM,
hypervisor switches and NAT devices, Docker networks, VMs, containers), its verdicts the hops
where a path breaks. A blocked hop's device gets the `blocked` class (red) — an edge device such
as a veth pair or a VM's adapter also gets its edge drawn red and dashed — and a note naming the
symptom and the rule; the first unknown hop of an unknown verdict gets the `unknown` class and a
note naming the question. A reachable verdict marks nothing. A blocked verdict with no blocked
hop (a cause that blocks the symptom as a whole) puts its note on its destination.

Node ids are ASCII (`ct_web_1` for a container `web-1`), labels are quoted and escaped; the
same report gives the same diagram, byte for byte. A report whose facts describe no device
gives no diagram (`render` returns ""). Labels and notes speak the report's language
(knowledge/<lang>/report.yaml, keys `mermaid_*`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnose.report import Hop, Report, Verdict

Fact = Mapping[str, Any]
Key = tuple[str, ...]

_PREFIX = {
    "lan": "lan",
    "internet": "internet",
    "host": "host",
    "dvm": "desktop_vm",
    "net": "net",
    "sw": "sw",
    "natdev": "nat",
    "vm": "vm",
    "ct": "ct",
    "note": "note",
}
STYLES = [
    "classDef blocked fill:#fde2e2,stroke:#c62828,stroke-width:3px,color:#7f0000",
    "classDef unknown fill:#fff4ce,stroke:#b58900,stroke-width:2px,stroke-dasharray:5 3",
    "classDef note fill:#ffffff,stroke:#c62828,stroke-dasharray:3 3,color:#c62828",
]
_RED_EDGE = "stroke:#c62828,stroke-width:3px,stroke-dasharray:6 4"

# Which topology element a hop's device sits on: the node key is built from the hop's keys.
_ON_HOST = {
    "host-process",
    "host-nic",
    "host-routing",
    "host-forwarding",
    "host-service",
    "masquerade",
    "dnat",
    "host-firewall",
}


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for what the parser reads)."""
    text = " ".join(text.split())
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def _lines(*parts: str | None) -> str:
    return "<br/>".join(_label(p) for p in parts if p)


def _order(fact: Fact) -> tuple[Any, ...]:
    src = str(fact.get("src", "~"))
    return (re.sub(r"\d+", lambda m: m.group(0).zfill(6), src), str(fact.get("name", "")))


@dataclass
class _Edge:
    a: str
    b: str
    dotted: bool = False
    text: str | None = None

    def line(self) -> str:
        link = "-.-" if self.dotted else "---"
        if self.text:
            clean = re.sub(r"[^\w .:/-]", "", self.text)
            return f"    {self.a} {link}|{clean}| {self.b}"
        return f"    {self.a} {link} {self.b}"


@dataclass
class Topology:
    """Nodes (ordered, with Mermaid-safe ids) and edges of one report's setup."""

    labels: dict[str, str] = field(default_factory=dict)  # id -> label
    ids: dict[Key, str] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)
    _edge_index: dict[tuple[str, str], int] = field(default_factory=dict)
    classes: dict[str, str] = field(default_factory=dict)  # id -> class
    red_edges: set[int] = field(default_factory=set)

    def node(self, key: Key, label: str) -> str:
        """The id of the node for key, created with this label if new."""
        if key in self.ids:
            return self.ids[key]
        base = "_".join([_PREFIX[key[0]], *key[1:]])
        base = re.sub(r"[^A-Za-z0-9_]", "_", base)
        node_id, n = base, 1
        while node_id in self.labels:
            n += 1
            node_id = f"{base}_{n}"
        self.ids[key] = node_id
        self.labels[node_id] = label
        return node_id

    def edge(self, a: str, b: str, *, dotted: bool = False, text: str | None = None) -> int:
        """Link two nodes once; returns the link's index (for linkStyle)."""
        pair = (a, b) if a <= b else (b, a)
        if pair not in self._edge_index:
            self._edge_index[pair] = len(self.edges)
            self.edges.append(_Edge(a, b, dotted, text))
        return self._edge_index[pair]

    def edge_index(self, a: str, b: str) -> int | None:
        return self._edge_index.get((a, b) if a <= b else (b, a))


class _Builder:
    def __init__(self, report: Report) -> None:
        self.report = report
        self.lang = report.lang
        self.t = Topology()
        self.by_kind: dict[str, list[Fact]] = defaultdict(list)
        for fact in report.facts.values():
            self.by_kind[str(fact.get("kind"))].append(fact)
        for facts in self.by_kind.values():
            facts.sort(key=_order)
        self.host_fact = next(iter(self.by_kind["host"]), None)
        self.lan_fact = next(iter(self.by_kind["lan"]), None)
        self.vnics = {(f.get("vm"), f.get("index")): f for f in self.by_kind["vnic"]}
        self.adapters = {(f.get("vm"), f.get("index")): f for f in self.by_kind["adapter"]}

    def w(self, key: str, **params: object) -> str:
        """A word of the diagram, in the report's language (knowledge/<lang>/report.yaml)."""
        from diagnose.diagnosis import report_phrase

        return report_phrase(f"mermaid_{key}", self.lang, **params)

    # ---------------------------------------------------------------------------- devices

    def lan(self) -> str:
        subnet = self.lan_fact.get("subnet") if self.lan_fact else None
        lan = self.t.node(("lan",), _lines(self.w("lan"), subnet))
        self.t.edge(lan, self.host())
        return lan

    def internet(self) -> str:
        node = self.t.node(("internet",), _lines(self.w("internet")))
        self.t.edge(node, self.lan())
        return node

    def host(self) -> str:
        f = self.host_fact or {}
        title = self.w("host_os", os=f["os"]) if f.get("os") else self.w("host")
        nic = " ".join(str(f[k]) for k in ("nic", "address") if f.get(k))
        return self.t.node(("host",), _lines(title, nic))

    def docker_parent(self) -> str:
        """Where Docker's networks hang: the host, or Docker Desktop's VM."""
        host = self.host()
        platform = (self.host_fact or {}).get("docker")
        if platform not in ("desktop", "wsl2"):
            return host
        label = self.w("desktop_vm" if platform == "desktop" else "wsl2_vm")
        node = self.t.node(("dvm",), _lines(label))
        self.t.edge(host, node)
        return node

    def network(self, name: str) -> str:
        key = ("net", name)
        if key in self.t.ids:
            return self.t.ids[key]
        f = next((d for d in self.by_kind["dnet"] if d.get("name") == name), {})
        bridge = f.get("bridge")
        title = (
            self.w("network_bridge", name=name, bridge=bridge)
            if bridge
            else self.w("network", name=name)
        )
        node = self.t.node(key, _lines(title, f.get("subnet")))
        driver = f.get("driver")
        if driver in ("macvlan", "ipvlan"):
            self.t.edge(self.lan(), node)
        elif not f.get("internal") and driver not in ("none", "host"):
            self.t.edge(self.docker_parent(), node)
        return node

    def container(self, name: str) -> str:
        key = ("ct", name)
        if key in self.t.ids:
            return self.t.ids[key]
        f = next((c for c in self.by_kind["container"] if c.get("name") == name), {})
        node = self.t.node(key, _lines(self.w("container", name=name), f.get("ip")))
        netns = next((n for n in self.by_kind["netns"] if n.get("container") == name), {})
        kind = netns.get("type")
        if kind == "host":
            self.t.edge(self.docker_parent(), node, dotted=True, text=self.w("host_network"))
        elif kind == "shared" and netns.get("owner") not in (None, name):
            owner = self.container(str(netns["owner"]))
            self.t.edge(owner, node, dotted=True, text=self.w("shares_netns"))
        elif kind != "none":
            for att in self.by_kind["attach"]:
                if att.get("container") == name:
                    net = self.network(str(att["network"]))
                    self.t.edge(net, node, text=att.get("ip"))
        return node

    def switch(self, name: str, family: str | None) -> str:
        key = ("sw", name)
        if key in self.t.ids:
            return self.t.ids[key]
        net = next((n for n in self.by_kind["vm_network"] if n.get("name") == name), {})
        subnet = net.get("subnet") or next(
            (
                a.get("network_subnet") or a.get("subnet")
                for a in self.by_kind["adapter"]
                if a.get("network") == name and (a.get("network_subnet") or a.get("subnet"))
            ),
            None,
        )
        known = ("bridged", "nat", "hostonly", "isolated", "routed")
        what = self.w(f"switch_{family}" if family in known else "switch", name=name)
        node = self.t.node(key, _lines(what, subnet if family != "bridged" else None))
        if family == "bridged":
            self.t.edge(self.lan(), node)
        elif family == "nat":
            nat = self.t.node(("natdev", name), _lines(self.w("nat_device", name=name)))
            self.t.edge(self.host(), nat)
            self.t.edge(nat, node)
            self.t.edge(self.host(), node, dotted=True, text=self.w("host_adapter"))
        elif family in ("hostonly", "routed"):
            self.t.edge(self.host(), node, text=self.w("host_adapter"))
        return node

    def vm_uplink(self, vm: str, index: Any) -> str | None:
        """The node a VM's adapter plugs into (a switch, or VirtualBox's per-VM NAT engine)."""
        vnic = self.vnics.get((vm, index))
        adapter = self.adapters.get((vm, index), {})
        family = vnic.get("family") if vnic else None
        switch = (vnic or {}).get("switch") or adapter.get("network")
        if family == "disconnected":
            return None
        if family == "nat-private":
            nat = self.t.node(("natdev", vm, str(index)), _lines(self.w("nat_engine", vm=vm)))
            self.t.edge(self.host(), nat)
            return nat
        if switch is None:
            return None
        return self.switch(str(switch), family)

    def vm(self, name: str) -> str:
        key = ("vm", name)
        if key in self.t.ids:
            return self.t.ids[key]
        f = next((v for v in self.by_kind["vm"] if v.get("name") == name), {})
        title = (
            self.w("vm_hypervisor", name=name, hypervisor=f["hypervisor"])
            if f.get("hypervisor")
            else self.w("vm", name=name)
        )
        node = self.t.node(key, _lines(title))
        for adapter in self.by_kind["adapter"]:
            if adapter.get("vm") == name:
                self.vm_nic(name, adapter.get("index"))
        return node

    def vm_nic(self, vm: str, index: Any) -> tuple[str, int | None]:
        node = self.vm(vm)
        uplink = self.vm_uplink(vm, index)
        if uplink is None:
            return node, None
        address = self.adapters.get((vm, index), {}).get("address")
        return node, self.t.edge(uplink, node, text=address)

    # ------------------------------------------------------------------------- the whole

    def build(self) -> Topology:
        if self.lan_fact or (self.host_fact and self.host_fact.get("address")):
            self.lan()
        for f in self.by_kind["vm"]:
            self.vm(str(f["name"]))
        if self.by_kind["container"]:
            for f in self.by_kind["dnet"]:
                attached = any(a.get("network") == f.get("name") for a in self.by_kind["attach"])
                if attached or f.get("declared"):
                    self.network(str(f["name"]))
            for f in self.by_kind["container"]:
                self.container(str(f["name"]))
        for v in self.report.verdicts:
            self.mark(v)
        return self.t

    def locate(self, hop: Fact) -> tuple[str | None, int | None]:
        """The node (and edge, for a link device) a hop sits on."""
        device = hop.get("device")
        get = hop.get
        if device in ("lan-client", "lan-gateway"):
            return self.lan(), None
        if device == "internet":
            return self.internet(), None
        if device in _ON_HOST:
            return self.host(), None
        if device == "host-netns":
            return self.docker_parent(), None
        if device == "desktop-vm":
            return self.docker_parent(), None
        if device in ("docker-bridge", "embedded-dns") and get("network"):
            return self.network(str(get("network"))), None
        if device == "veth" and get("container"):
            return self.veth(hop)
        if device in ("shared-netns", "loopback") and get("owner"):
            return self.container(str(get("owner"))), None
        if get("container") and device in (
            "container-ns",
            "listener",
            "container-dns",
            "none-netns",
            "shared-netns",
        ):
            return self.container(str(get("container"))), None
        if device == "vm-nic" and get("vm"):
            return self.vm_nic(str(get("vm")), get("index"))
        if device in ("vm-gateway", "vm-service") and get("vm"):
            return self.vm(str(get("vm"))), None
        if device not in ("vm-gateway", "vm-service") and get("vm") is not None:
            vnic = self.vnics.get((get("vm"), get("index")), {})
            if vnic.get("family") == "nat-private":  # VirtualBox: a NAT engine per adapter
                self.vm(str(get("vm")))
                return self.vm_uplink(str(get("vm")), get("index")), None
        if device == "nat-device" and get("switch"):
            self.switch(str(get("switch")), "nat")
            return self.t.ids.get(("natdev", str(get("switch")))), None
        if device in ("host-adapter-nat", "host-adapter-hostonly") and get("switch"):
            family = "nat" if device == "host-adapter-nat" else "hostonly"
            node = self.switch(str(get("switch")), family)
            return node, self.t.edge_index(self.host(), node)
        if get("switch"):
            return self.switch(str(get("switch")), None), None
        return None, None

    def veth(self, hop: Fact) -> tuple[str | None, int | None]:
        """A container's veth pair: its node, and its link to the network the hop crosses."""
        name = str(hop["container"])
        node = self.container(name)
        networks = [str(a["network"]) for a in self.by_kind["attach"] if a.get("container") == name]
        if hop.get("network"):
            networks = [str(hop["network"])]
        elif hop.get("bridge") and len(networks) > 1:
            bridges = {str(d.get("name")): d.get("bridge") for d in self.by_kind["dnet"]}
            networks = [n for n in networks if bridges.get(n) == hop["bridge"]] or networks
        for net in networks[:1]:
            return node, self.t.edge_index(self.network(net), node)
        return node, None

    def hop_facts(self, v: Verdict) -> list[Fact]:
        """The hop facts of a verdict's path (the route's facts whose hops match it)."""
        wanted = [(h.seq, h.device) for h in v.path]
        routes: dict[str, list[Fact]] = defaultdict(list)
        for f in self.by_kind["hop"]:
            if f.get("symptom") == v.symptom and f.get("route") == v.route:
                routes[str(f.get("via", ""))].append(f)
        for via in sorted(routes):
            hops = sorted(routes[via], key=lambda f: int(f.get("seq", 0)))
            if [(f.get("seq"), f.get("device")) for f in hops] == wanted:
                return hops
        return []

    def destination(self, v: Verdict) -> str | None:
        sym = next((s for s in self.by_kind["symptom"] if s.get("symptom") == v.symptom), {})
        kind, name = sym.get("to_kind"), sym.get("to_name")
        if kind == "vm" and name:
            return self.vm(str(name))
        if kind == "container" and name:
            return self.container(str(name))
        return {"host": self.host, "lan": self.lan, "internet": self.internet}.get(
            str(kind), lambda: None
        )()

    def mark(self, v: Verdict) -> None:
        if v.status == "reachable":
            return
        facts = self.hop_facts(v)
        pairs: list[tuple[Hop, Fact]] = list(zip(v.path, facts, strict=False))
        if v.status == "blocked":
            hit = next(((h, f) for h, f in pairs if h.status == "blocked"), None)
            rule = hit[0].rule if hit else (v.causes[0].rule if v.causes else None)
            text = self.w("blocked_here" if hit else "blocked", symptom=v.symptom)
            if rule:
                text = self.w("rule", text=text, rule=rule)
            cls = "blocked"
        else:
            hit = next(((h, f) for h, f in pairs if h.status == "unknown" and h.reached), None)
            asked = hit[0].questions[0] if hit and hit[0].questions else None
            text = self.w("unknown_here", symptom=v.symptom)
            if asked:
                text = self.w("asks", text=text, question=asked)
            cls = "unknown"
            if hit is None:
                return
        node, edge = self.locate(hit[1]) if hit else (self.destination(v), None)
        if node is None:
            return
        if hit is not None:
            if self.t.classes.get(node) != "blocked":
                self.t.classes[node] = cls
            if edge is not None and cls == "blocked":
                self.t.red_edges.add(edge)
        note = self.t.node(("note", v.symptom), _lines(text))
        self.t.classes[note] = "note"
        index = self.t.edge(note, node, dotted=True)
        if cls == "blocked":
            self.t.red_edges.add(index)


def topology(report: Report) -> Topology:
    """The devices of a report's setup, with its broken hops marked."""
    return _Builder(report).build()


def render(report: Report) -> str:
    """A Mermaid flowchart (without the ``` fence), or "" when there is nothing to draw."""
    t = topology(report)
    if not t.labels:
        return ""
    lines = ["flowchart LR"]
    lines += [f'    {node_id}["{label}"]' for node_id, label in t.labels.items()]
    lines += [e.line() for e in t.edges]
    if t.classes:
        lines += ["    " + s for s in STYLES]
        by_class: dict[str, list[str]] = defaultdict(list)
        for node_id, cls in t.classes.items():
            by_class[cls].append(node_id)
        for cls in ("blocked", "unknown", "note"):
            if by_class[cls]:
                lines.append(f"    class {','.join(by_class[cls])} {cls}")
    if t.red_edges:
        lines.append(f"    linkStyle {','.join(map(str, sorted(t.red_edges)))} {_RED_EDGE}")
    return "\n".join(lines) + "\n"
