"""libvirt domain and network XML (`virsh dumpxml`, `virsh net-dumpxml`, /etc/libvirt/...,
virt-manager's test-driver files with many definitions under <node>).

What is read (https://libvirt.org/formatnetwork.html, https://libvirt.org/formatdomain.html):
- <network>: name; <forward mode> (no <forward> = isolated; a <forward> without mode = nat);
  <bridge name>; the first IPv4 <ip> (address + netmask/prefix) as the host's address on the
  network and its subnet, its <dhcp> ranges/hosts. libvirt networks have no port forwards.
- <domain>: name; each devices/<interface>: type network/bridge/direct/user/..., <source>,
  <link state>, and passt's <portForward> ranges.

Several definitions in one file are read in order (a <node> of the test driver, or definitions
pasted one after the other); a later definition with the same name replaces the earlier one,
as `virsh define` / `virsh net-define` would.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import Builder, Loaded, LoadOptions
from diagnose.loaders.xmlnodes import Node, parse_xml

_TEXT_OF = frozenset({"name"})  # the only elements whose text is read
_PROLOG = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*|<!--.*?-->\s*)*", re.DOTALL)
_ROOT = re.compile(r"<(domain|network|node)[\s>/]")


def detect(name: str, text: str, kind: str) -> bool:
    """libvirt XML: the first element is <domain>, <network>, or a test-driver <node>."""
    head = text[:65536]
    m = _ROOT.match(head, _PROLOG.match(head).end())  # type: ignore[union-attr]
    if m is None:
        return False
    if m.group(1) == "node":
        return "<domain" in text or "<network" in text
    return "<name>" in head or "<name " in head


# libvirt forward modes -> the setup's adapter modes (rules/libvirt.yaml maps them on).
# route and open both route the guests' subnet through the host; open adds no firewall rules.
# bridge with a host bridge is bridged; bridge/private/vepa/passthrough over a pool of host
# NICs are macvtap (direct). hostdev hands guests an SR-IOV function: no mode in the model.
_FORWARD_MODES = {
    "nat": "nat",
    "route": "routed",
    "open": "routed",
    "bridge": "bridged",
    "private": "direct",
    "vepa": "direct",
    "passthrough": "direct",
    "hostdev": None,
}
_INTERFACE_TYPES = (
    "network",
    "bridge",
    "direct",
    "user",
    "ethernet",
    "hostdev",
    "vhostuser",
    "vdpa",
    "server",
    "client",
    "mcast",
    "udp",
    "internal",
    "null",
    "vds",
)
MAX_RANGE = 32  # port-forward ranges wider than this are noted, not expanded


@dataclass
class _Net:
    node: Node
    name: str
    mode: str | None
    bridge: str | None
    data: dict[str, Any] = field(default_factory=dict)
    places: dict[str, int] = field(default_factory=dict)  # field -> line


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read every <network> and <domain> of the file into vm_networks and vms."""
    tops = parse_xml(text, file, many=True, text_of=_TEXT_OF)
    networks: list[Node] = []
    domains: list[Node] = []
    for top in tops:
        if top.tag == "node":
            networks += top.findall("network")
            domains += top.findall("domain")
        elif top.tag == "network":
            networks.append(top)
        elif top.tag == "domain":
            domains.append(top)
        else:
            raise InputError(
                f"<{top.tag}> is not a libvirt domain or network definition",
                file=file,
                line=top.line,
                field=top.tag,
            )
    builder = Builder(file)
    nets = _latest(networks, "network", file, builder.notes)
    by_name = {}
    by_bridge = {}
    for node in nets:
        net = _network(node, file, builder.notes)
        by_name[net.name] = net
        if net.bridge and net.mode not in ("bridged", "direct"):
            by_bridge[net.bridge] = net
    for i, net in enumerate(by_name.values()):
        builder.append("vm_networks", net.data, at=net.node.line)
        for key, line in net.places.items():
            builder.place(f"vm_networks[{i}].{key}", line)
    for i, node in enumerate(_latest(domains, "domain", file, builder.notes)):
        _domain(builder, i, node, file, by_name, by_bridge)
    if not nets and not domains:
        builder.notes.append("no <domain> or <network> definition in the file")
    return builder.finish(kind)


def _name(node: Node, what: str, file: str) -> str:
    name_node = node.find("name")
    name = name_node.text.strip() if name_node is not None else ""
    if not name:
        raise InputError(
            f"this {what} has no <name> (libvirt refuses a definition without one)",
            file=file,
            line=name_node.line if name_node is not None else node.line,
            field="name",
        )
    return name


def _latest(nodes: list[Node], what: str, file: str, notes: list[str]) -> list[Node]:
    """One definition per name, the later replacing the earlier (in the earlier's place)."""
    out: dict[str, Node] = {}
    for node in nodes:
        name = _name(node, what, file)
        if name in out:
            notes.append(
                f"line {node.line}: {what} {name!r} is defined again (first on line "
                f"{out[name].line}); the later definition is used, as `virsh define` would"
            )
        out[name] = node
    return list(out.values())


def _network(node: Node, file: str, notes: list[str]) -> _Net:
    name = _name(node, "network", file)
    forward = node.find("forward")
    bridge_node = node.find("bridge")
    bridge = bridge_node.attrs.get("name") if bridge_node is not None else None
    places: dict[str, int] = {"name": node.find("name").line}  # type: ignore[union-attr]
    if forward is None:
        # formatnetwork: "If this element is omitted, the network will be isolated from any
        # other network".
        mode: str | None = "isolated"
        raw = None
    else:
        # formatnetwork: a <forward> without a mode attribute means mode='nat'.
        raw = forward.attrs.get("mode", "nat")
        if raw not in _FORWARD_MODES:
            raise InputError(
                f"unknown forward mode {raw!r}; libvirt knows {', '.join(_FORWARD_MODES)}",
                file=file,
                line=forward.line,
                field="forward.mode",
            )
        mode = _FORWARD_MODES[raw]
        places["mode"] = forward.line
    devs = [
        i.attrs["dev"]
        for i in (forward.findall("interface") if forward is not None else [])
        if "dev" in i.attrs
    ]
    pf = forward.find("pf") if forward is not None else None
    if raw == "bridge" and bridge is None and (devs or pf is not None):
        mode = "direct"  # a pool of host NICs: macvtap in bridge mode
    data: dict[str, Any] = {"name": name, "hypervisor": "libvirt"}
    if mode is not None:
        data["mode"] = mode
    else:
        notes.append(
            f"line {forward.line if forward is not None else node.line}: network {name!r} "
            f"(forward mode {raw}) hands guests host devices; it has no mode in the setup model"
        )
    if raw == "open" and forward is not None:
        notes.append(
            f"line {forward.line}: network {name!r} has forward mode 'open': read as routed "
            "(libvirt adds no firewall rules for it at all)"
        )
    uplinks = devs + ([pf.attrs["dev"]] if pf is not None and "dev" in pf.attrs else [])
    if mode == "direct" and len(uplinks) == 1:
        data["bridged_to"] = uplinks[0]
        places["bridged_to"] = forward.line  # type: ignore[union-attr]
    _addresses(node, name, mode, file, data, places, notes)
    return _Net(node, name, mode, bridge, data, places)


def _prefix(ip: Node, address: ipaddress.IPv4Address | ipaddress.IPv6Address, file: str) -> int:
    """The prefix of an <ip>: prefix=, else netmask=, else what libvirt assumes (the address's
    class for IPv4, /64 for IPv6: virSocketAddrGetIPPrefix in src/util/virsocketaddr.c)."""
    if "prefix" in ip.attrs:
        try:
            prefix = int(ip.attrs["prefix"])
        except ValueError:
            prefix = -1
        if not 0 <= prefix <= address.max_prefixlen:
            raise InputError(
                f"prefix={ip.attrs['prefix']!r} is not a prefix length",
                file=file,
                line=ip.line,
                field="ip.prefix",
            )
        return prefix
    if "netmask" in ip.attrs:
        try:
            return ipaddress.ip_network(f"0.0.0.0/{ip.attrs['netmask']}").prefixlen
        except ValueError:
            raise InputError(
                f"netmask={ip.attrs['netmask']!r} is not a netmask",
                file=file,
                line=ip.line,
                field="ip.netmask",
            ) from None
    if address.version == 6:
        return 64
    first = int(address) >> 24
    if first < 128:
        return 8
    if first < 192:
        return 16
    if first < 224:
        return 24
    raise InputError(
        f"{address} needs a netmask or prefix", file=file, line=ip.line, field="ip.netmask"
    )


def _addresses(
    node: Node,
    name: str,
    mode: str | None,
    file: str,
    data: dict[str, Any],
    places: dict[str, int],
    notes: list[str],
) -> None:
    """The host's address on the network (the first IPv4 <ip>, else the first IPv6 one)."""
    ips = []
    for ip in node.findall("ip"):
        raw = ip.attrs.get("address")
        if raw is None:
            raise InputError("<ip> without an address", file=file, line=ip.line, field="ip.address")
        try:
            address = ipaddress.ip_address(raw)
        except ValueError:
            raise InputError(
                f"{raw!r} is not an IP address", file=file, line=ip.line, field="ip.address"
            ) from None
        ips.append((ip, address))
    if not ips:
        return
    ips.sort(key=lambda pair: pair[1].version)  # IPv4 first, in file order
    ip, address = ips[0]
    iface = ipaddress.ip_interface(f"{address}/{_prefix(ip, address, file)}")
    data["subnet"] = str(iface.network)
    data["host_address"] = str(iface)
    places["subnet"] = places["host_address"] = ip.line
    # Guests of nat/route/open networks get the host's address as their router (dnsmasq's
    # option 3); an isolated network advertises no router (libvirt writes an empty
    # "dhcp-option=3" for it, src/network/bridge_driver.c).
    if mode in ("nat", "routed"):
        data["gateway"] = str(address)
        places["gateway"] = ip.line
    dhcp = ip.find("dhcp")
    if dhcp is not None and (dhcp.findall("range") or dhcp.findall("host")):
        data["dhcp"] = True
        places["dhcp"] = dhcp.line
    elif dhcp is None:
        data["dhcp"] = False  # libvirt runs no DHCP service for an <ip> without <dhcp>
        places["dhcp"] = ip.line
    same_family = [a for _, a in ips[1:] if a.version == address.version]
    if same_family:
        notes.append(
            f"line {ips[1][0].line}: network {name!r} has more than one IPv{address.version} "
            f"<ip>; only the first ({iface}) is read"
        )


def _domain(
    builder: Builder,
    index: int,
    node: Node,
    file: str,
    networks: dict[str, _Net],
    bridges: dict[str, _Net],
) -> None:
    name = _name(node, "domain", file)
    base = f"vms[{index}]"
    vm: dict[str, Any] = {"name": name, "hypervisor": "libvirt"}
    os = _os(node)
    if os:
        vm["os"] = os
    builder.append("vms", vm, at=node.line)
    builder.place(f"{base}.name", node.find("name").line)  # type: ignore[union-attr]
    devices = node.find("devices")
    interfaces = devices.findall("interface") if devices is not None else []
    adapters: list[dict[str, Any]] = []
    for iface in interfaces:
        j = len(adapters)
        adapter = _interface(builder, f"{base}.adapters[{j}]", iface, name, file, networks, bridges)
        adapters.append(adapter)
    if devices is not None:
        vm["adapters"] = adapters  # a domain with <devices> but no <interface> has no NIC


def _interface(
    builder: Builder,
    path: str,
    iface: Node,
    vm: str,
    file: str,
    networks: dict[str, _Net],
    bridges: dict[str, _Net],
) -> dict[str, Any]:
    kind = iface.attrs.get("type")
    if kind is None:
        raise InputError("<interface> without a type", file=file, line=iface.line, field="type")
    if kind not in _INTERFACE_TYPES:
        raise InputError(
            f"unknown interface type {kind!r}; libvirt knows {', '.join(_INTERFACE_TYPES)}",
            file=file,
            line=iface.line,
            field="interface.type",
        )
    builder.place(path, iface.line)
    builder.place(f"{path}.mode", iface.line)
    source = iface.find("source")
    src = source.attrs if source is not None else {}
    where = f"line {iface.line}: {vm}'s <interface type='{kind}'>"
    out: dict[str, Any] = {}
    if kind == "network":
        network = src.get("network")
        if network is None:
            raise InputError(
                "<interface type='network'> without <source network=...>",
                file=file,
                line=iface.line,
                field="source.network",
            )
        out["network"] = network
        net = networks.get(network)
        if net is not None and net.mode is not None:
            out["mode"] = net.mode
        elif net is None:
            builder.notes.append(
                f"{where} uses network {network!r}, which this file does not define: its mode "
                "is unknown"
            )
    elif kind == "bridge":
        bridge = src.get("bridge")
        net = bridges.get(bridge) if bridge else None
        if net is not None:  # plugged straight into a libvirt network's own bridge
            out["network"] = net.name
            if net.mode is not None:
                out["mode"] = net.mode
        else:
            out["mode"] = "bridged"
            if bridge:
                out["network"] = bridge
    elif kind == "direct":
        out["mode"] = "direct"  # macvtap on a host NIC
        if src.get("dev"):
            out["network"] = src["dev"]
    elif kind == "user":
        out["mode"] = "user"
        backend = iface.find("backend")
        if backend is not None and backend.attrs.get("type") == "passt":
            builder.notes.append(
                f"{where} uses the passt backend: the guest gets the host's addresses, unlike "
                "SLIRP's 10.0.2.0/24; read as user-mode networking"
            )
        forwards = _port_forwards(builder, path, iface, where)
        if forwards:
            out["port_forwards"] = forwards
    else:
        builder.notes.append(f"{where} has no mode in the setup model; its network is unknown")
    if source is not None and "network" in out:
        builder.place(f"{path}.network", source.line)
    link = iface.find("link")
    if link is not None and link.attrs.get("state") in ("up", "down"):
        out["connected"] = link.attrs["state"] == "up"
        builder.place(f"{path}.connected", link.line)
    return out


def _port_forwards(builder: Builder, path: str, iface: Node, where: str) -> list[str]:
    """passt's <portForward proto address><range start end to exclude/></portForward>: host
    ports start..end go to guest ports to..(to+end-start)."""
    out: list[str] = []
    for pf in iface.findall("portForward"):
        proto = pf.attrs.get("proto", "tcp")
        host_ip = pf.attrs.get("address")
        if host_ip is not None and ":" in host_ip:
            builder.notes.append(
                f"{where}: port forwards on the IPv6 address {host_ip} are not read"
            )
            continue
        ranges = [(rng, *_range(rng, builder.file)) for rng in pf.findall("range")]
        if not ranges:
            builder.notes.append(f"{where}: a <portForward> without <range> is not read")
        # exclude='yes' takes host ports out of the other ranges of the same <portForward>.
        excluded = {
            port
            for rng, start, end, _ in ranges
            if rng.attrs.get("exclude") == "yes"
            for port in range(start, end + 1)
        }
        for rng, start, end, to in ranges:
            if rng.attrs.get("exclude") == "yes":
                continue
            if end - start + 1 > MAX_RANGE:
                builder.notes.append(
                    f"{where}: the forwarded range {start}-{end} is wider than {MAX_RANGE} "
                    "ports and is not read"
                )
                continue
            for offset in range(end - start + 1):
                if start + offset in excluded:
                    continue
                spec = f"{proto}:" + (f"{host_ip}:" if host_ip else "")
                spec += f"{start + offset}:{to + offset}"
                builder.place(f"{path}.port_forwards[{len(out)}]", rng.line)
                out.append(spec)
    return out


def _range(rng: Node, file: str) -> tuple[int, int, int]:
    """A <range start end to/>: host ports start..end to guest ports from `to` (default:
    the same ports)."""
    try:
        start = int(rng.attrs["start"])
        end = int(rng.attrs.get("end", start))
        to = int(rng.attrs.get("to", start))
    except (KeyError, ValueError):
        start = end = to = 0
    if not (0 < start <= end <= 65535 and to > 0 and to + end - start <= 65535):
        raise InputError(
            "<range> needs ports 1-65535: start, and optionally end (>= start) and to",
            file=file,
            line=rng.line,
            field="portForward.range",
        )
    return start, end, to


_WINDOWS = re.compile(r"microsoft\.com/win")
_LINUX = re.compile(
    r"(fedoraproject|centos|redhat|ubuntu|debian|opensuse|suse|archlinux|alpinelinux|"
    r"rockylinux|almalinux|gentoo|mageia|mandriva|slackware|voidlinux|nixos)\.(org|com)"
)


def _os(node: Node) -> str | None:
    """The guest OS from virt-install's libosinfo metadata, when it is unambiguous."""
    metadata = node.find("metadata")
    if metadata is None:
        return None
    for item in metadata.walk():
        if item.tag.endswith(":os") and "id" in item.attrs:
            osid = item.attrs["id"]
            if _WINDOWS.search(osid):
                return "windows"
            if _LINUX.search(osid):
                return "linux"
    return None
