"""VirtualBox: a machine's .vbox XML, VirtualBox.xml (the global settings: NAT networks, DHCP
servers, host-only addresses), and VBoxManage output: `showvminfo --machinereadable`,
`list hostonlyifs`, `list natnets` / `natnetwork list`, `list dhcpservers`, `list bridgedifs`.

The attachment of an adapter (.vbox) is the one child element of <Adapter> other than
<DisabledModes> (which keeps the settings of the modes not in use); no child means "not
attached". Defaults are VirtualBox's own (src/VBox/Main/xml/Settings.cpp): an <Adapter> is
disabled unless enabled="true"; its cable is connected by default from settings version 1.16
(VirtualBox 5.1) on and unplugged before; NAT rules carry proto 0 = UDP, 1 = TCP.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import AtLineStart, Builder, Loaded, LoadOptions
from diagnose.loaders.xmlnodes import Node, bool_attr, parse_xml

_PROLOG = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*|<!--.*?-->\s*)*", re.DOTALL)
_MARKUP = re.compile(r"\s*<")
_SHOWVMINFO = AtLineStart(r'name="')
_SHOWVMINFO_MORE = AtLineStart(r'UUID="')
_LIST_KEY = re.compile(
    r"^(Name|NetworkName|VBoxNetworkName|Network|IPAddress|IP|NetworkMask|"
    r"lowerIPAddress|LowerIPAddress|Dhcpd IP|Gateway):",
    re.MULTILINE,
)


def detect(name: str, text: str, kind: str) -> bool:
    """A .vbox / VirtualBox.xml by its <VirtualBox> root; VBoxManage output by its keys."""
    head = text[:65536]
    if kind == "vbox":
        m = _PROLOG.match(head)
        return head.startswith("<VirtualBox", m.end() if m else 0)
    if _MARKUP.match(head):  # XML (libvirt's, often long) is no VBoxManage output: not searched
        return False
    if _SHOWVMINFO.search(head) and _SHOWVMINFO_MORE.search(head):
        return True
    return _list_kind(head) is not None


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read a VirtualBox settings file or a VBoxManage output."""
    if not text.strip():
        raise InputError("empty file", file=file)
    if kind == "vbox":
        return _load_xml(text, file, kind)
    if _SHOWVMINFO.search(text):
        return _load_showvminfo(text, file, kind)
    listing = _list_kind(text)
    if listing is None:
        raise InputError(
            "not VBoxManage output this loader knows (showvminfo --machinereadable, list "
            "hostonlyifs / natnets / dhcpservers / bridgedifs, natnetwork list)",
            file=file,
            line=1,
        )
    return _load_list(text, file, kind, listing)


# --------------------------------------------------------------------------------- shared bits

_OS_WINDOWS = re.compile(r"^win", re.IGNORECASE)
_OS_MAC = re.compile(r"^mac", re.IGNORECASE)
_OS_LINUX = re.compile(
    r"linux|ubuntu|debian|fedora|redhat|rhel|opensuse|suse|arch|gentoo|mandriva|mageia|"
    r"turbolinux|xandros|oracle|centos|rocky|alma",
    re.IGNORECASE,
)


def _guest_os(raw: str | None) -> str | None:
    """VirtualBox's OS type id (Ubuntu_64, Windows10_64, MacOS ...; showvminfo prints the
    description, "Ubuntu (64-bit)")."""
    if not raw:
        return None
    if _OS_WINDOWS.search(raw):
        return "windows"
    if _OS_MAC.search(raw):
        return "mac"
    if _OS_LINUX.search(raw):
        return "linux"
    return None


def _forward(
    proto: str, host_ip: str, host_port: str, guest_ip: str, guest_port: str
) -> str | None:
    """A NAT rule as the setup writes it: tcp:[HOSTIP:]HOSTPORT:[GUESTIP:]GUESTPORT; None for
    an IPv6 rule (the setup's forwards are IPv4)."""
    host_ip = host_ip.strip().strip("[]")
    guest_ip = guest_ip.strip().strip("[]")
    if ":" in host_ip or ":" in guest_ip:
        return None
    spec = f"{proto}:"
    if host_ip:
        spec += f"{host_ip}:"
    spec += f"{int(host_port)}:"
    if guest_ip:
        spec += f"{guest_ip}:"
    return spec + str(int(guest_port))


def _hostonly_name(network_name: str) -> str | None:
    """VirtualBox names a host-only network's DHCP server HostInterfaceNetworking-<iface>."""
    prefix = "HostInterfaceNetworking-"
    return network_name[len(prefix) :] if network_name.startswith(prefix) else None


def _windows_hostonly(name: str) -> bool:
    """Windows hosts name host-only adapters "VirtualBox Host-Only Ethernet Adapter [#N]";
    Linux and macOS hosts name them vboxnetN."""
    return "host-only ethernet adapter" in name.lower()


# ------------------------------------------------------------------------------------ XML files


def _version(root: Node, file: str) -> tuple[int, int]:
    raw = root.attrs.get("version", "")
    m = re.match(r"([0-9]{1,9})\.([0-9]{1,9})", raw)
    if m is None:
        raise InputError(
            f"<VirtualBox version={raw!r}>: not a settings version such as 1.16-linux",
            file=file,
            line=root.line,
            field="version",
        )
    return int(m.group(1)), int(m.group(2))


def _load_xml(text: str, file: str, kind: str) -> Loaded:
    root = parse_xml(text, file)[0]
    if root.tag != "VirtualBox":
        raise InputError(
            f"the root element is <{root.tag}>, not <VirtualBox>",
            file=file,
            line=root.line,
            field=root.tag,
        )
    version = _version(root, file)
    builder = Builder(file)
    # The version's suffix is the platform of the VirtualBox that wrote the file
    # (VBOX_XML_PLATFORM in Settings.cpp: "1.19-linux", "1.19-windows", "1.19-macosx").
    platform = root.attrs.get("version", "").partition("-")[2].lower()
    host_os = {"linux": "linux", "windows": "windows", "macosx": "mac"}.get(platform)
    if host_os:
        builder.set("host.os", host_os, at=root.line)
    machine = root.find("Machine")
    glob = root.find("Global")
    if machine is None and glob is None:
        raise InputError(
            "neither a <Machine> (.vbox) nor <Global> (VirtualBox.xml) settings file",
            file=file,
            line=root.line,
        )
    if machine is not None:
        _machine(builder, machine, version, file)
    if glob is not None:
        _global(builder, glob, file)
    return builder.finish(kind)


_ATTACHMENTS = {
    "NAT": "nat",
    "BridgedInterface": "bridged",
    "HostInterface": "bridged",  # settings before 1.3
    "InternalNetwork": "internal",
    "HostOnlyInterface": "hostonly",
    "HostOnlyNetwork": "hostonly",  # VirtualBox 7 on macOS: a vmnet host-only network
    "NATNetwork": "natnetwork",
    "GenericInterface": None,
    "VDE": None,
    "CloudNetwork": None,
}


def _machine(builder: Builder, machine: Node, version: tuple[int, int], file: str) -> None:
    name = machine.attrs.get("name", "").strip()
    if not name:
        raise InputError("<Machine> without a name", file=file, line=machine.line, field="name")
    vm: dict[str, Any] = {"name": name, "hypervisor": "virtualbox"}
    os = _guest_os(machine.attrs.get("OSType"))
    if os:
        vm["os"] = os
    builder.append("vms", vm, at=machine.line)
    builder.place("vms[0].name", machine.line)
    hardware = machine.find("Hardware")
    network = hardware.find("Network") if hardware is not None else None
    if network is None:
        builder.notes.append("no <Hardware><Network>: the VM's adapters are unknown")
        return
    # From settings 1.16 (VirtualBox 5.1) the cable is connected unless said otherwise.
    cable_default = version >= (1, 16)
    slots: dict[int, Node] = {}
    for adapter in network.findall("Adapter"):
        try:
            slot = int(adapter.attrs["slot"])
        except (KeyError, ValueError):
            raise InputError(
                "<Adapter> needs a numeric slot", file=file, line=adapter.line, field="slot"
            ) from None
        if slot in slots:
            raise InputError(
                f"two <Adapter> with slot {slot} (lines {slots[slot].line} and {adapter.line})",
                file=file,
                line=adapter.line,
                field="slot",
            )
        slots[slot] = adapter
    adapters: list[dict[str, Any]] = []
    for slot in sorted(slots):
        adapter = slots[slot]
        if not bool_attr(adapter, "enabled", file, default=False):
            continue  # a disabled adapter does not exist in the guest
        path = f"vms[0].adapters[{len(adapters)}]"
        builder.place(path, adapter.line)
        if len(adapters) != slot:
            builder.notes.append(f"{path} is the adapter in slot {slot} (adapter {slot + 1})")
        adapters.append(_vbox_adapter(builder, path, adapter, slot, cable_default, file))
    vm["adapters"] = adapters


def _vbox_adapter(
    builder: Builder, path: str, adapter: Node, slot: int, cable_default: bool, file: str
) -> dict[str, Any]:
    modes = [c for c in adapter.children if c.tag != "DisabledModes"]
    if len(modes) > 1:
        raise InputError(
            f"the adapter in slot {slot} has {len(modes)} attachments "
            f"({', '.join(m.tag for m in modes)}); VirtualBox allows one",
            file=file,
            line=modes[1].line,
            field="Adapter",
        )
    out: dict[str, Any] = {}
    out["connected"] = bool_attr(adapter, "cable", file, default=cable_default)
    builder.place(f"{path}.connected", adapter.line)
    if not modes:
        out["mode"] = "disconnected"  # "Not attached"
        builder.place(f"{path}.mode", adapter.line)
        return out
    mode_node = modes[0]
    if mode_node.tag not in _ATTACHMENTS:
        raise InputError(
            f"unknown attachment <{mode_node.tag}> of the adapter in slot {slot}",
            file=file,
            line=mode_node.line,
            field="Adapter",
        )
    mode = _ATTACHMENTS[mode_node.tag]
    builder.place(f"{path}.mode", mode_node.line)
    net_name = mode_node.attrs.get("name", "").strip()
    if mode is None:
        builder.notes.append(
            f"line {mode_node.line}: the adapter in slot {slot} uses <{mode_node.tag}>, which "
            "has no mode in the setup model"
        )
        return out
    out["mode"] = mode
    if mode == "bridged":
        if net_name:
            out["bridged_to"] = net_name
            builder.place(f"{path}.bridged_to", mode_node.line)
    elif net_name:
        out["network"] = net_name
        builder.place(f"{path}.network", mode_node.line)
    if mode == "nat":
        if mode_node.attrs.get("network"):
            builder.notes.append(
                f"line {mode_node.line}: the NAT engine of slot {slot} uses "
                f"{mode_node.attrs['network']} instead of 10.0.2.0/24; the setup model has no "
                "field for it"
            )
        forwards: list[str] = []
        for rule in mode_node.findall("Forwarding"):
            spec = _xml_rule(rule, file)
            if spec is None:
                builder.notes.append(f"line {rule.line}: an IPv6 NAT rule is not read")
                continue
            builder.place(f"{path}.port_forwards[{len(forwards)}]", rule.line)
            forwards.append(spec)
        if forwards:
            out["port_forwards"] = forwards
    return out


def _xml_rule(rule: Node, file: str) -> str | None:
    """<Forwarding name proto hostip hostport guestip guestport/> (proto 0 = UDP, 1 = TCP)."""
    proto = {"0": "udp", "1": "tcp"}.get(rule.attrs.get("proto", "1").strip())
    host_port = rule.attrs.get("hostport", "")
    guest_port = rule.attrs.get("guestport", "")
    ports_ok = all(
        p.isascii() and p.isdigit() and len(p) <= 5 and 0 < int(p) <= 65535
        for p in (host_port, guest_port)
    )
    if proto is None or not ports_ok:
        raise InputError(
            f"NAT rule {rule.attrs.get('name', '')!r}: needs proto 0 or 1 and ports 1-65535",
            file=file,
            line=rule.line,
            field="Forwarding",
        )
    return _forward(
        proto, rule.attrs.get("hostip", ""), host_port, rule.attrs.get("guestip", ""), guest_port
    )


def _global(builder: Builder, glob: Node, file: str) -> None:
    """VirtualBox.xml: host-only addresses (ExtraData HostOnly/<if>/IPAddress), NAT networks,
    DHCP servers."""
    extra = glob.find("ExtraData")
    hostonly: dict[str, dict[str, tuple[str, int]]] = {}
    for item in extra.findall("ExtraDataItem") if extra is not None else []:
        m = re.fullmatch(r"HostOnly/(.+)/(IPAddress|IPNetMask)", item.attrs.get("name", ""))
        if m and item.attrs.get("value"):
            hostonly.setdefault(m.group(1), {})[m.group(2)] = (item.attrs["value"], item.line)
    networks: dict[str, dict[str, Any]] = {}
    for iface, values in hostonly.items():
        address = values.get("IPAddress")
        if address is None:
            continue
        mask = values.get("IPNetMask", ("255.255.255.0", address[1]))
        iface_addr = _iface(address[0], mask[0], file, address[1])
        net = _net(builder, networks, iface, "hostonly", address[1])
        net["host_address"] = str(iface_addr)
        net["subnet"] = str(iface_addr.network)
        i = list(networks).index(iface)
        builder.place(f"vm_networks[{i}].host_address", address[1])
        builder.place(f"vm_networks[{i}].subnet", address[1])
    registry = glob.find("NetserviceRegistry")
    nat_networks = registry.find("NATNetworks") if registry is not None else None
    for nat in nat_networks.findall("NATNetwork") if nat_networks is not None else []:
        name = nat.attrs.get("networkName", "").strip()
        if not name:
            raise InputError(
                "<NATNetwork> without a networkName", file=file, line=nat.line, field="networkName"
            )
        net = _net(builder, networks, name, "natnetwork", nat.line)
        i = list(networks).index(name)
        if nat.attrs.get("network"):
            net["subnet"] = _subnet(nat.attrs["network"], file, nat.line)
            if (
                "/" not in nat.attrs["network"]
                or ipaddress.ip_network(net["subnet"]).prefixlen > 30
            ):
                # VirtualBox writes a CIDR with room for its gateway, DHCP server and guests
                raise InputError(
                    f"network={nat.attrs['network']!r}: a NAT network is a subnet with its "
                    "prefix and room for guests, such as 10.0.2.0/24",
                    file=file,
                    line=nat.line,
                    field="network",
                )
            builder.place(f"vm_networks[{i}].subnet", nat.line)
            # The VirtualBox manual (6.4, "Network Address Translation Service"): "the gateway
            # will be assigned the address 192.168.15.1, the address following the interface
            # address" of --network 192.168.15.0/24.
            net["gateway"] = str(ipaddress.ip_network(net["subnet"]).network_address + 1)
            builder.place(f"vm_networks[{i}].gateway", nat.line)
        dhcp = bool_attr(nat, "needDhcp", file)
        if dhcp is not None:
            net["dhcp"] = dhcp
            builder.place(f"vm_networks[{i}].dhcp", nat.line)
        forwards: list[str] = []
        for group in nat.findall("PortForwarding4"):
            for rule in group.findall("Forwarding"):
                spec = _xml_rule(rule, file)
                if spec is not None:
                    builder.place(f"vm_networks[{i}].port_forwards[{len(forwards)}]", rule.line)
                    forwards.append(spec)
        if forwards:
            net["port_forwards"] = forwards
    servers = registry.find("DHCPServers") if registry is not None else None
    for server in servers.findall("DHCPServer") if servers is not None else []:
        server_net = server.attrs.get("networkName", "").strip()
        server_if = _hostonly_name(server_net)
        name = server_if or server_net
        if not name:
            continue
        net = _net(builder, networks, name, "hostonly" if server_if else None, server.line)
        i = list(networks).index(name)
        enabled = bool_attr(server, "enabled", file)
        if enabled is not None and "dhcp" not in net:  # a NAT network's needDhcp comes first
            net["dhcp"] = enabled
            builder.place(f"vm_networks[{i}].dhcp", server.line)
        if (
            "subnet" not in net
            and server.attrs.get("IPAddress")
            and server.attrs.get("networkMask")
        ):
            net["subnet"] = str(
                _iface(
                    server.attrs["IPAddress"], server.attrs["networkMask"], file, server.line
                ).network
            )
            builder.place(f"vm_networks[{i}].subnet", server.line)


def _net(
    builder: Builder, networks: dict[str, dict[str, Any]], name: str, mode: str | None, line: int
) -> dict[str, Any]:
    """The vm_networks entry of this name, created on first use."""
    if name in networks:
        return networks[name]
    net: dict[str, Any] = {"name": name, "hypervisor": "virtualbox"}
    if mode:
        net["mode"] = mode
    networks[name] = net
    i = builder.append("vm_networks", net, at=line)
    builder.place(f"vm_networks[{i}].name", line)
    return net


def _iface(
    address: str, mask: str, file: str, line: int
) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
    try:
        return ipaddress.ip_interface(f"{address.strip()}/{mask.strip()}")
    except ValueError:
        raise InputError(
            f"{address}/{mask} is not an address with its netmask", file=file, line=line
        ) from None


def _subnet(raw: str, file: str, line: int) -> str:
    try:
        return str(ipaddress.ip_network(raw.strip(), strict=False))
    except ValueError:
        raise InputError(
            f"{raw!r} is not a subnet", file=file, line=line, field="network"
        ) from None


# ----------------------------------------------------------------------- showvminfo (readable)

_NIC_KINDS = {
    "none": "absent",
    "null": "disconnected",
    "nat": "nat",
    "bridged": "bridged",
    "intnet": "internal",
    "hostonly": "hostonly",
    "hostonlynetwork": "hostonly",
    "natnetwork": "natnetwork",
    "generic": None,
    "cloudnetwork": None,
    "unknown": None,
}
_NIC_NETWORK = {  # nicN value -> the key naming its network
    "bridged": "bridgeadapter",
    "intnet": "intnet",
    "hostonly": "hostonlyadapter",
    "hostonlynetwork": "hostonly-network",
    "natnetwork": "nat-network",
}


def _quoted(lines: list[str], i: int, pos: int, file: str) -> tuple[str, int, int]:
    """The quoted string starting at lines[i][pos] (a quote): VBoxManage escapes quotes and
    backslashes with a backslash, and prints newlines of a value as they are. Returns the
    text, and the line index and position just after the closing quote."""
    out: list[str] = []
    line = lines[i]
    k = pos + 1
    start = i
    while True:
        if k >= len(line):
            if i + 1 >= len(lines):
                raise InputError("unterminated quoted value", file=file, line=start + 1)
            i += 1
            line = lines[i]
            k = 0
            out.append("\n")
            continue
        char = line[k]
        if char == "\\" and k + 1 < len(line):
            out.append(line[k + 1])
            k += 2
        elif char == '"':
            return "".join(out), i, k + 1
        else:
            out.append(char)
            k += 1


def _machine_readable(text: str, file: str) -> list[tuple[str, str, int]]:
    """`key="value"` lines (showvminfo --machinereadable); keys may be quoted, values may be
    bare numbers or <not set>, and a quoted value may span lines."""
    out: list[tuple[str, str, int]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        number = i + 1
        if not raw.strip():
            i += 1
            continue
        if raw.startswith('"'):
            key, i, pos = _quoted(lines, i, 0, file)
            raw = lines[i]
        else:
            pos = raw.find("=")
            if pos <= 0:
                raise InputError(
                    f'not a `key="value"` line: {raw.strip()[:60]!r}', file=file, line=number
                )
            key = raw[:pos].strip()
        if pos >= len(raw) or raw[pos] != "=":
            raise InputError(f"no '=' after {key!r}", file=file, line=i + 1)
        if raw[pos + 1 : pos + 2] == '"':
            value, i, pos = _quoted(lines, i, pos + 1, file)
            if lines[i][pos:].strip():
                raise InputError(
                    f"text after the quoted value of {key!r}", file=file, line=i + 1, field=key
                )
        else:
            value = raw[pos + 1 :].strip()
        out.append((key, value, number))
        i += 1
    return out


def _load_showvminfo(text: str, file: str, kind: str) -> Loaded:
    pairs = _machine_readable(text, file)
    values = {key: (value, line) for key, value, line in pairs}
    name = values.get("name")
    if name is None or not name[0].strip():
        raise InputError('no name="..." line', file=file, line=1, field="name")
    builder = Builder(file)
    vm: dict[str, Any] = {"name": name[0], "hypervisor": "virtualbox"}
    os = _guest_os(values.get("ostype", ("", 0))[0])
    if os:
        vm["os"] = os
    builder.append("vms", vm, at=name[1])
    builder.place("vms[0].name", name[1])
    adapters: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None  # the NAT adapter that Forwarding(i) lines follow
    current_path = ""
    for key, value, line in pairs:
        m = re.fullmatch(r"nic([1-9][0-9]{0,8})", key)  # as VBoxManage prints them: nic1..nic8
        if m:
            n = int(m.group(1))
            if value not in _NIC_KINDS:
                raise InputError(
                    f"nic{n}={value!r}: unknown attachment; VBoxManage prints "
                    + ", ".join(_NIC_KINDS),
                    file=file,
                    line=line,
                    field=key,
                )
            current = None
            mode = _NIC_KINDS[value]
            if mode == "absent":
                continue  # nicN="none": the adapter is disabled
            path = f"vms[0].adapters[{len(adapters)}]"
            builder.place(path, line)
            builder.place(f"{path}.mode", line)
            adapter: dict[str, Any] = {}
            if len(adapters) != n - 1:
                builder.notes.append(f"{path} is nic{n}")
            if mode is None:
                builder.notes.append(
                    f"line {line}: nic{n} is attached as {value!r}, which has no mode in the "
                    "setup model"
                )
            else:
                adapter["mode"] = mode
            named = values.get(f"{_NIC_NETWORK.get(value, '')}{n}")
            if value in _NIC_NETWORK and named and named[0]:
                field_name = "bridged_to" if value == "bridged" else "network"
                adapter[field_name] = named[0]
                builder.place(f"{path}.{field_name}", named[1])
                if value == "hostonly" and _windows_hostonly(named[0]):
                    _host_os(builder, "windows", named[1], named[0])
            cable = values.get(f"cableconnected{n}")
            if cable and cable[0] in ("on", "off"):
                adapter["connected"] = cable[0] == "on"
                builder.place(f"{path}.connected", cable[1])
            natnet = values.get(f"natnet{n}")
            if value == "nat" and natnet and natnet[0] not in ("nat", ""):
                builder.notes.append(
                    f"line {natnet[1]}: the NAT engine of nic{n} uses {natnet[0]} instead of "
                    "10.0.2.0/24; the setup model has no field for it"
                )
            adapters.append(adapter)
            if value == "nat":
                current, current_path = adapter, path
            continue
        if re.fullmatch(r"Forwarding\(\d+\)", key):
            if current is None:
                raise InputError(
                    f'{key} follows no NAT adapter (nicN="nat")', file=file, line=line, field=key
                )
            parts = value.split(",")
            if len(parts) != 6 or parts[1] not in ("tcp", "udp"):
                raise InputError(
                    f"{key}={value!r}: expected name,tcp|udp,hostip,hostport,guestip,guestport",
                    file=file,
                    line=line,
                    field=key,
                )
            try:
                spec = _forward(parts[1], parts[2], parts[3], parts[4], parts[5])
            except ValueError:
                raise InputError(
                    f"{key}={value!r}: the ports are not numbers", file=file, line=line, field=key
                ) from None
            if spec is None:
                builder.notes.append(f"line {line}: an IPv6 NAT rule is not read")
                continue
            forwards = current.setdefault("port_forwards", [])
            builder.place(f"{current_path}.port_forwards[{len(forwards)}]", line)
            forwards.append(spec)
    vm["adapters"] = adapters
    return builder.finish(kind)


# -------------------------------------------------------------------------- VBoxManage list ...


@dataclass
class _Block:
    """One record of a `VBoxManage list` output: its keys and the indented lines under a
    heading (Port-forwarding (ipv4) ...)."""

    line: int
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    lists: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def _list_kind(text: str) -> str | None:
    keys = {m.group(1) for m in _LIST_KEY.finditer(text)}
    if "VBoxNetworkName" in keys and "Name" in keys:
        return "interfaces"  # hostonlyifs, or bridgedifs (told apart by the names)
    if "NetworkName" in keys and "Network" in keys:
        return "natnets"
    if "Name" in keys and "Gateway" in keys and "Network" in keys:
        return "natnetwork"
    if "NetworkName" in keys and keys & {"lowerIPAddress", "LowerIPAddress", "Dhcpd IP"}:
        return "dhcpservers"
    return None


def _blocks(text: str, file: str) -> list[_Block]:
    blocks: list[_Block] = []
    block: _Block | None = None
    heading: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            block, heading = None, None
            continue
        if raw.startswith((" ", "\t")):
            if block is not None and heading is not None:
                block.lists.setdefault(heading, []).append((raw.strip(), number))
            continue  # (dhcpservers' indented option lines are not read)
        stripped = raw.strip()
        if stripped in ("NAT Networks:", "Host-only Interfaces:") or re.fullmatch(
            r"\d+ networks? found", stripped
        ):
            continue
        m = re.match(r"^([A-Za-z][\w ()/.-]*?):\s*(.*)$", stripped)
        if block is None:
            block = _Block(number)
            blocks.append(block)
        if m is None or m.group(1).startswith(("Port-forwarding", "loopback")):
            heading = stripped.rstrip(":")
            continue
        heading = m.group(1) if not m.group(2) else None
        block.values[m.group(1)] = (m.group(2).strip(), number)
    if not blocks:
        raise InputError("no records in this VBoxManage output", file=file, line=1)
    return blocks


def _yes(raw: str | None) -> bool | None:
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in ("yes", "enabled", "true", "on", "1"):
        return True
    if value in ("no", "disabled", "false", "off", "0"):
        return False
    return None


def _load_list(text: str, file: str, kind: str, listing: str) -> Loaded:
    blocks = _blocks(text, file)
    builder = Builder(file)
    taken: set[str] = set()
    for block in blocks:
        if listing == "interfaces":
            _interface_block(builder, block, file, blocks)
        elif listing in ("natnets", "natnetwork"):
            _natnet_block(builder, block, file, taken)
        else:
            _dhcp_block(builder, block, file, taken)
    return builder.finish(kind)


def _value(block: _Block, key: str, file: str) -> tuple[str, int]:
    hit = block.values.get(key)
    if hit is None or not hit[0]:
        raise InputError(f"a record without {key}:", file=file, line=block.line, field=key)
    return hit


def _interface_block(builder: Builder, block: _Block, file: str, blocks: list[_Block]) -> None:
    """`list hostonlyifs` -> a host-only vm_network; `list bridgedifs` -> a host interface."""
    name, line = _value(block, "Name", file)
    hostonly = bool(re.fullmatch(r"vboxnet\d+", name)) or _windows_hostonly(name)
    address = block.values.get("IPAddress", ("", line))
    mask = block.values.get("NetworkMask", ("", line))
    # 0.0.0.0 is what VBoxManage prints for an interface without an IPv4 address.
    has_ip = address[0] not in ("", "0.0.0.0") and mask[0] not in ("", "0.0.0.0")
    iface = _iface(address[0], mask[0], file, address[1]) if has_ip else None
    if hostonly:
        i = len(builder.data.get("vm_networks", []))
        net: dict[str, Any] = {"name": name, "hypervisor": "virtualbox", "mode": "hostonly"}
        builder.append("vm_networks", net, at=line)
        builder.place(f"vm_networks[{i}].name", line)
        if iface is not None:
            net["host_address"] = str(iface)
            net["subnet"] = str(iface.network)
            builder.place(f"vm_networks[{i}].host_address", address[1])
            builder.place(f"vm_networks[{i}].subnet", address[1])
        net["host_adapter"] = True  # VBoxManage lists the interfaces that exist
        if _windows_hostonly(name):
            _host_os(builder, "windows", line, name)
        status = block.values.get("Status")
        if status and status[0].lower() == "down":
            builder.notes.append(
                f"line {status[1]}: {name} is Down; the setup has no field for a link state "
                "(a host-only interface is often down while no VM uses it)"
            )
        return
    # list bridgedifs: the host's own interfaces.
    i = len(builder.data.get("host", {}).get("interfaces", []))
    host_if: dict[str, Any] = {"name": name}
    builder.append("host.interfaces", host_if, at=line)
    if iface is not None:
        host_if["address"] = str(iface)
        builder.place(f"host.interfaces[{i}].address", address[1])
    status = block.values.get("Status")
    if status and status[0] in ("Up", "Down"):
        host_if["up"] = status[0] == "Up"
        builder.place(f"host.interfaces[{i}].up", status[1])
    wireless = _yes(block.values.get("Wireless", ("", 0))[0])
    if wireless:
        host_if["type"] = "wifi"


def _host_os(builder: Builder, os: str, line: int, why: str) -> None:
    host = builder.data.setdefault("host", {})
    if "os" not in host:
        host["os"] = os
        builder.place("host.os", line)
        builder.notes.append(f"line {line}: the host is Windows (the adapter name {why!r})")


def _natnet_block(builder: Builder, block: _Block, file: str, taken: set[str]) -> None:
    """`list natnets` (NetworkName, IP, Network, DHCP Enabled) or `natnetwork list` (Name,
    Network, Gateway, DHCP Server)."""
    name, line = block.values.get("NetworkName") or _value(block, "Name", file)
    if not name:
        raise InputError("a NAT network without a name", file=file, line=line, field="NetworkName")
    if name.lower() in taken:
        raise InputError(f"NAT network {name!r} is listed twice", file=file, line=line)
    taken.add(name.lower())
    i = len(builder.data.get("vm_networks", []))
    net: dict[str, Any] = {"name": name, "hypervisor": "virtualbox", "mode": "natnetwork"}
    builder.append("vm_networks", net, at=line)
    builder.place(f"vm_networks[{i}].name", line)
    network = block.values.get("Network")
    if network and network[0]:
        net["subnet"] = _subnet(network[0], file, network[1])
        builder.place(f"vm_networks[{i}].subnet", network[1])
    gateway = block.values.get("IP") or block.values.get("Gateway")
    if gateway and gateway[0]:
        try:
            net["gateway"] = str(ipaddress.ip_address(gateway[0]))
        except ValueError:
            raise InputError(
                f"{gateway[0]!r} is not an IP address", file=file, line=gateway[1], field="IP"
            ) from None
        builder.place(f"vm_networks[{i}].gateway", gateway[1])
    dhcp = block.values.get("DHCP Enabled") or block.values.get("DHCP Server")
    if dhcp and _yes(dhcp[0]) is not None:
        net["dhcp"] = _yes(dhcp[0])
        builder.place(f"vm_networks[{i}].dhcp", dhcp[1])
    enabled = block.values.get("Enabled")
    if enabled and _yes(enabled[0]) is False:
        builder.notes.append(f"line {enabled[1]}: NAT network {name} is disabled (Enabled: No)")
    forwards: list[str] = []
    for heading, entries in block.lists.items():
        if not heading.startswith("Port-forwarding"):
            continue
        for entry, number in entries:
            spec = _list_rule(entry, file, number)
            if spec is None:
                builder.notes.append(f"line {number}: an IPv6 NAT rule is not read")
                continue
            builder.place(f"vm_networks[{i}].port_forwards[{len(forwards)}]", number)
            forwards.append(spec)
    if forwards:
        net["port_forwards"] = forwards


_LIST_RULE = re.compile(
    r"^(?P<name>.*):(?P<proto>tcp|udp):\[(?P<hip>[^\]]*)\]:(?P<hport>[0-9]{1,9}):"
    r"\[(?P<gip>[^\]]*)\]:(?P<gport>[0-9]{1,9})$"
)


def _list_rule(entry: str, file: str, line: int) -> str | None:
    """`ssh:tcp:[]:1022:[192.168.15.5]:22` (name:proto:[host ip]:port:[guest ip]:port)."""
    m = _LIST_RULE.match(entry)
    if m is None or not all(0 < int(m.group(k)) <= 65535 for k in ("hport", "gport")):
        raise InputError(
            f"{entry!r}: a NAT network rule is name:tcp|udp:[hostip]:port:[guestip]:port",
            file=file,
            line=line,
            field="Port-forwarding",
        )
    return _forward(m["proto"], m["hip"], m["hport"], m["gip"], m["gport"])


def _dhcp_block(builder: Builder, block: _Block, file: str, taken: set[str]) -> None:
    """`list dhcpservers`: the DHCP server of a host-only network (HostInterfaceNetworking-
    <iface>) or of a NAT / internal network (its own name)."""
    raw, line = _value(block, "NetworkName", file)
    iface = _hostonly_name(raw)
    name = iface or raw
    if name.lower() in taken:
        raise InputError(f"two DHCP servers for {name!r}", file=file, line=line)
    taken.add(name.lower())
    i = len(builder.data.get("vm_networks", []))
    net: dict[str, Any] = {"name": name, "hypervisor": "virtualbox"}
    if iface:
        net["mode"] = "hostonly"
        if _windows_hostonly(iface):
            _host_os(builder, "windows", line, iface)
    builder.append("vm_networks", net, at=line)
    builder.place(f"vm_networks[{i}].name", line)
    enabled = block.values.get("Enabled")
    if enabled and _yes(enabled[0]) is not None:
        net["dhcp"] = _yes(enabled[0])
        builder.place(f"vm_networks[{i}].dhcp", enabled[1])
    server = block.values.get("IP") or block.values.get("Dhcpd IP")
    mask = block.values.get("NetworkMask")
    if server and mask and server[0] and mask[0]:
        net["subnet"] = str(_iface(server[0], mask[0], file, server[1]).network)
        builder.place(f"vm_networks[{i}].subnet", server[1])
