"""VMware: a virtual machine's .vmx (Workstation, Player, Fusion, GSX/Server, ESXi) and the
hosted products' NAT and DHCP configuration (vmnetnat.conf / vmnetdhcp.conf on Windows,
/etc/vmware/vmnetN/nat/nat.conf and .../dhcpd/dhcpd.conf on Linux, the same under
/Library/Preferences/VMware Fusion/vmnetN/ on macOS).

.vmx: `key = "value"` lines, keys case-insensitive. Per NIC N: ethernetN.present (absent =
FALSE: the NIC does not exist), connectionType (bridged, nat, hostonly, custom + vnet, pvn =
LAN segment), networkName (an ESXi port group), dvs.* (an ESXi distributed switch),
startConnected. displayName names the VM (else the file name).

NAT: [host] ip/netmask (the NAT device, the guests' gateway) and device (the VMnet),
[incomingtcp]/[incomingudp] port forwards `8080 = 192.168.80.128:80` (VMware Workstation Pro
documentation, "NAT Configuration File", and the VMware Server/GSX guides for the forward lines).
DHCP: ISC dhcpd syntax; each `subnet A netmask M { range ...; option routers ...; }` is one
VMnet's DHCP scope, and `host VMnetN { fixed-address ... }` is the host's adapter on it.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import Builder, Loaded, LoadOptions

# ----------------------------------------------------------------------------------- detection

# A line's leading blanks are `[^\S\n]*`, not `\s*`: `^\s*` ran on over the next lines from
# every line start, and a file of 20,000 blank lines took minutes (every format's content
# detection asks these).
_VMX_KEY = re.compile(
    r"^[^\S\n]*(config\.version|virtualhw\.version|displayname|guestos|ethernet\d+\.\w+)"
    r'\s*=\s*"',
    re.IGNORECASE | re.MULTILINE,
)
_NAT_HOST = re.compile(r"^[^\S\n]*\[host\][^\S\n]*$", re.IGNORECASE | re.MULTILINE)
_NAT_MARK = re.compile(
    r"^[^\S\n]*(\[incoming(tcp|udp)\]|device\s*=\s*(/dev/)?vmnet\d+|hostMAC\s*=)",
    re.IGNORECASE | re.MULTILINE,
)
_DHCP_SUBNET = re.compile(r"^[^\S\n]*subnet\s+[\d.]+\s+netmask\s+[\d.]+\s*\{", re.MULTILINE)
_VMNET = re.compile(r"vmnet([0-9]+)", re.IGNORECASE)


def detect(name: str, text: str, kind: str) -> bool:
    """A .vmx by its keys; a NAT file by [host] and VMware's keys; a DHCP file by a subnet
    block and a mention of a VMnet."""
    head = text[:65536]
    if kind == "vmx":
        return len({m.group(1).lower().split(".")[0] for m in _VMX_KEY.finditer(head)}) >= 2
    if _NAT_HOST.search(head) and _NAT_MARK.search(head):
        return True
    return bool(_DHCP_SUBNET.search(head) and _VMNET.search(head))


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read a .vmx, or a NAT / DHCP configuration file."""
    if not text.strip():
        raise InputError("empty file", file=file)
    if kind == "vmx":
        return _load_vmx(text, file, kind)
    if _NAT_HOST.search(text):
        return _load_nat(text, file, kind)
    if _looks_dhcp(text):
        return _load_dhcp(text, file, kind)
    raise InputError(
        "neither a VMware NAT configuration ([host] section) nor a DHCP configuration "
        "(subnet blocks)",
        file=file,
        line=1,
    )


_DHCP_BLOCK = re.compile(r"^[^\S\n]*(?:subnet|host)\s", re.MULTILINE)
_DHCP_END = re.compile(r";\s*(?:#.*)?$", re.MULTILINE)
_BRACE_OR_HASH = re.compile(r"[{#]")


def _looks_dhcp(text: str) -> bool:
    """A `subnet`/`host` line opening a block (a `{` before any `#`), or a line ending in
    `;`. Not one regex search: `[^#]*{` scanned on to the next `{` or `#` from every such
    line, and a file of many `host` lines without braces took minutes."""
    if _DHCP_END.search(text):
        return True
    upto, brace = -1, False  # the first `{` or `#` after a block line, once found
    for m in _DHCP_BLOCK.finditer(text):
        if m.end() > upto:
            found = _BRACE_OR_HASH.search(text, m.end())
            if found is None:
                return False
            upto, brace = found.start(), found.group() == "{"
        if brace:
            return True
    return False


def vmnet_name(raw: str) -> str | None:
    """vmnet8, VMnet8, /dev/vmnet8 -> VMnet8 (the spelling the rules join on)."""
    m = re.fullmatch(r"(?:/dev/)?vmnet([0-9]{1,9})", raw.strip(), re.IGNORECASE)
    return f"VMnet{int(m.group(1))}" if m else None


def _path_vmnet(file: str) -> str | None:
    """The VMnet a Linux/macOS file's path names: /etc/vmware/vmnet8/nat/nat.conf -> VMnet8."""
    for part in reversed(Path(file).parts[:-1]):
        name = vmnet_name(part)
        if name:
            return name
    return None


# ----------------------------------------------------------------------------------------- vmx

# Read from a stripped line. No `(.*?)\s*$`: a lazy group before optional space retries the
# space after every character, and a long line of spaces took seconds.
_LINE = re.compile(r"([^=\s\"#]+)\s*=\s*(.*)")
_COMMENT = re.compile(r"\s#")
# ethernet0. to ethernet9., ethernet10. ...: a number written otherwise (ethernet01) is a key
# VMware does not read, and its settings could not be found by the number.
_NIC_KEY = re.compile(r"ethernet(0|[1-9][0-9]{0,8})\.(.+)", re.IGNORECASE)
_ODD_NIC_KEY = re.compile(r"(ethernet0[0-9]+)\.", re.IGNORECASE)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
_CONNECTION_TYPES = ("bridged", "nat", "hostonly", "custom", "pvn")


def _unquote(raw: str, file: str, line: int) -> str:
    if raw.startswith('"'):
        # A comment may follow the value (`# netwhy: ignore[...]` on the same line).
        m = re.fullmatch(r'"([^"]*)"\s*(#.*)?', raw)
        if m is None:
            raise InputError("unterminated quoted value", file=file, line=line)
        raw = m.group(1)
    else:  # a comment from the first ` #` on (found at once: `\s+#` retried every space)
        comment = _COMMENT.search(raw)
        raw = raw[: comment.start()].rstrip() if comment else raw
    # VMware writes characters it does not keep as |XX (hex), e.g. |22 for a quote.
    return re.sub(r"\|([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), raw)


class _Vmx:
    """The key/value lines of a .vmx, keys folded to lower case, with their lines."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self.values: dict[str, tuple[str, int]] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            m = _LINE.match(stripped)
            if m is None:
                raise InputError(
                    f'not a `key = "value"` line: {stripped[:60]!r}', file=file, line=number
                )
            key = m.group(1).lower()
            value = _unquote(m.group(2), file, number)
            seen = self.values.get(key)
            if seen is not None and seen[0] != value and self._read(key):
                raise InputError(
                    f"{m.group(1)} is set twice, to {seen[0]!r} (line {seen[1]}) and {value!r}",
                    file=file,
                    line=number,
                    field=m.group(1),
                )
            self.values[key] = (value, number)

    @staticmethod
    def _read(key: str) -> bool:
        """Keys this loader reads: a conflict among them is an error, elsewhere not ours."""
        return key == "displayname" or key == "guestos" or bool(_NIC_KEY.fullmatch(key))

    def get(self, key: str) -> str | None:
        hit = self.values.get(key.lower())
        return hit[0] if hit else None

    def line(self, key: str) -> int | None:
        hit = self.values.get(key.lower())
        return hit[1] if hit else None

    def flag(self, key: str) -> bool | None:
        value = self.get(key)
        if value is None:
            return None
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise InputError(
            f"{key} = {value!r} is not TRUE or FALSE",
            file=self.file,
            line=self.line(key),
            field=key,
        )

    def nics(self) -> list[int]:
        found = {int(m.group(1)) for key in self.values if (m := _NIC_KEY.fullmatch(key))}
        return sorted(found)

    def misnumbered_nics(self) -> dict[str, int]:
        """ethernet01... -> the line of its first key: NICs VMware does not read."""
        found: dict[str, int] = {}
        for key, (_, line) in self.values.items():
            if m := _ODD_NIC_KEY.match(key):
                found.setdefault(m.group(1), line)
        return found


def _load_vmx(text: str, file: str, kind: str) -> Loaded:
    vmx = _Vmx(text, file)
    builder = Builder(file)
    name = (vmx.get("displayName") or "").strip()
    if not name:
        name = Path(file).stem or "vm"
        builder.notes.append(f"no displayName: the VM is named after the file ({name!r})")
    vm: dict[str, Any] = {"name": name, "hypervisor": "vmware"}
    os = _guest_os(vmx.get("guestOS"))
    if os:
        vm["os"] = os
    builder.append("vms", vm, at=vmx.line("displayName") or 1)
    builder.place("vms[0].name", vmx.line("displayName"))
    for nic, line in vmx.misnumbered_nics().items():
        builder.notes.append(
            f"line {line}: {nic} is no NIC VMware reads (its numbers have no leading zero): "
            "its settings are left out"
        )
    adapters: list[dict[str, Any]] = []
    networks: dict[str, tuple[str, int]] = {}  # port groups named by the NICs -> (name, line)
    for n in vmx.nics():
        prefix = f"ethernet{n}."
        present = vmx.flag(prefix + "present")
        if not present:
            # libvirt's VMX reader (src/vmx/vmx.c): ethernetN.present "defaults to false"; a
            # NIC without present = "TRUE" does not exist in the VM.
            if present is None:
                builder.notes.append(
                    f"line {_first_line(vmx, prefix)}: ethernet{n} has settings but no "
                    'present = "TRUE": VMware gives the VM no such NIC'
                )
            continue
        path = f"vms[0].adapters[{len(adapters)}]"
        adapter = _nic(vmx, n, path, builder, networks)
        if len(adapters) != n:
            builder.notes.append(
                f"{path} is ethernet{n} (the setup numbers the NICs present from 0)"
            )
        adapters.append(adapter)
    vm["adapters"] = adapters
    for net_name, line in networks.values():
        i = builder.append("vm_networks", {"name": net_name, "hypervisor": "vmware"}, at=line)
        builder.place(f"vm_networks[{i}].name", line)
    return builder.finish(kind)


def _first_line(vmx: _Vmx, prefix: str) -> int:
    return min(line for key, (_, line) in vmx.values.items() if key.startswith(prefix))


def _nic(
    vmx: _Vmx, n: int, path: str, builder: Builder, networks: dict[str, tuple[str, int]]
) -> dict[str, Any]:
    prefix = f"ethernet{n}."
    builder.place(path, vmx.line(prefix + "present"))
    out: dict[str, Any] = {}
    kind = vmx.get(prefix + "connectionType")
    network_name = (vmx.get(prefix + "networkName") or "").strip()
    vnet = vmx.get(prefix + "vnet")
    switch_id = vmx.get(prefix + "dvs.switchId")
    address_type = (vmx.get(prefix + "addressType") or "").strip().lower()
    if kind is not None:
        kind = kind.strip().lower()
        if kind not in _CONNECTION_TYPES:
            raise InputError(
                f"unknown connectionType {vmx.get(prefix + 'connectionType')!r}; VMware knows "
                + ", ".join(_CONNECTION_TYPES),
                file=vmx.file,
                line=vmx.line(prefix + "connectionType"),
                field=f"ethernet{n}.connectionType",
            )
        builder.place(f"{path}.mode", vmx.line(prefix + "connectionType"))
        if kind == "pvn":
            builder.notes.append(
                f"line {vmx.line(prefix + 'connectionType')}: ethernet{n} is on a LAN segment "
                f"(pvnID {vmx.get(prefix + 'pvnID')}): VMs only, no host adapter; the setup "
                "model has no such mode, so its mode is left unknown"
            )
        else:
            out["mode"] = kind
        if kind == "custom":
            if vnet:
                out["network"] = vmnet_name(vnet) or vnet.strip()
                builder.place(f"{path}.network", vmx.line(prefix + "vnet"))
            else:
                builder.notes.append(
                    f"line {vmx.line(prefix + 'connectionType')}: ethernet{n} is custom but "
                    "names no vnet: its VMnet is unknown"
                )
        elif kind == "bridged" and network_name:
            out["network"] = vmnet_name(network_name) or network_name
            builder.place(f"{path}.network", vmx.line(prefix + "networkName"))
    elif switch_id is not None:
        # ESXi distributed switch: the port group's key is all the file says.
        portgroup = (vmx.get(prefix + "dvs.portgroupId") or "").strip()
        if portgroup:
            out["network"] = portgroup
            builder.place(f"{path}.network", vmx.line(prefix + "dvs.portgroupId"))
        builder.notes.append(
            f"line {vmx.line(prefix + 'dvs.switchId')}: ethernet{n} is on an ESXi distributed "
            "switch"
            + (f" (port group {portgroup})" if portgroup else "")
            + ": not a Workstation mode, so its mode is left unknown"
        )
    elif network_name and not vmnet_name(network_name):
        # ESXi: networkName is the port group ("VM Network") of a vSwitch; not a Workstation
        # mode. The port group is recorded as a network whose mode is unknown.
        out["network"] = network_name
        builder.place(f"{path}.network", vmx.line(prefix + "networkName"))
        networks.setdefault(
            network_name.lower(), (network_name, vmx.line(prefix + "networkName") or 1)
        )
        builder.notes.append(
            f"line {vmx.line(prefix + 'networkName')}: ethernet{n} is on the ESXi port group "
            f"{network_name!r}: not a Workstation mode, so its mode is left unknown"
        )
    elif address_type == "vpx" and not network_name:
        # vCenter assigned the MAC (addressType "vpx"): an ESXi VM, where a NIC without a port
        # group is connected to no network (libvirt reads it as type 'null').
        builder.notes.append(
            f"line {vmx.line(prefix + 'present')}: ethernet{n} is an ESXi NIC (addressType "
            "vpx) with no networkName: its network and mode are unknown"
        )
    else:
        # No connectionType: bridged. libvirt's VMX reader documents the default
        # (src/vmx/vmx.c: `ethernet0.connectionType = "bridged"  # defaults to "bridged"`) and
        # reads an absent connectionType as a bridged NIC.
        out["mode"] = "bridged"
        builder.place(f"{path}.mode", vmx.line(prefix + "present"))
        builder.notes.append(
            f"line {vmx.line(prefix + 'present')}: ethernet{n} has no connectionType: bridged, "
            "VMware's default"
        )
        if network_name:
            out["network"] = vmnet_name(network_name)
            builder.place(f"{path}.network", vmx.line(prefix + "networkName"))
    if network_name and kind == "bridged" and not vmnet_name(network_name):
        networks.setdefault(
            network_name.lower(), (network_name, vmx.line(prefix + "networkName") or 1)
        )
    connected = vmx.flag(prefix + "startConnected")
    if connected is not None:
        out["connected"] = connected
        builder.place(f"{path}.connected", vmx.line(prefix + "startConnected"))
    return out


_LINUX_GUESTS = re.compile(
    r"linux|ubuntu|debian|rhel|centos|fedora|suse|sles|mandr|turbolinux|asianux|coreos|"
    r"photon|amazonlinux|almalinux|rockylinux|oraclelinux|vmware-photon"
)


def _guest_os(raw: str | None) -> str | None:
    """VMware's guestOS identifier (winxppro, windows9-64, ubuntu-64, darwin19-64 ...)."""
    if not raw:
        return None
    value = raw.strip().lower()
    if value.startswith(("win", "longhorn")):
        return "windows"
    if value.startswith("darwin"):
        return "mac"
    if _LINUX_GUESTS.search(value):
        return "linux"
    return None


# ----------------------------------------------------------------------------------------- NAT

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_KEYVAL = re.compile(r"\s*([^=\s][^=]*)=(.*)")  # both sides stripped after: see _LINE
_FORWARD_TARGET = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,3}){3})\s*:\s*([0-9]{1,5})")


def _strip_comment(raw: str) -> str:
    stripped = raw.strip()
    if stripped.startswith(("#", ";")):
        return ""
    return re.split(r"\s[#;]", stripped, maxsplit=1)[0].strip()


def _load_nat(text: str, file: str, kind: str) -> Loaded:
    builder = Builder(file)
    section = ""
    host: dict[str, tuple[str, int]] = {}
    forwards: list[tuple[str, int]] = []
    first_section_line = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw)
        if not line:
            continue
        m = _SECTION.match(line)
        if m:
            section = m.group(1).strip().lower()
            if section == "host":
                first_section_line = number
            continue
        kv = _KEYVAL.match(line)
        if kv is None:
            raise InputError(f"not a `key = value` line: {line[:60]!r}", file=file, line=number)
        key, value = kv.group(1).strip(), kv.group(2).strip()
        if section == "host":
            host[key.lower()] = (value, number)
        elif section in ("incomingtcp", "incomingudp"):
            forwards.append((_forward(key, value, section[8:], file, number), number))
    device = host.get("device")
    name = (vmnet_name(device[0]) if device else None) or _path_vmnet(file)
    if device and not vmnet_name(device[0]):
        raise InputError(
            f"device = {device[0]!r} is not a VMnet (vmnet8, /dev/vmnet8)",
            file=file,
            line=device[1],
            field="device",
        )
    if name is None:
        raise InputError(
            "this NAT configuration does not say which VMnet it serves (no `device =` in "
            "[host], and the path names no vmnetN)",
            file=file,
            line=first_section_line,
            field="device",
        )
    net: dict[str, Any] = {"name": name, "hypervisor": "vmware", "mode": "nat"}
    builder.append("vm_networks", net, at=first_section_line)
    builder.place("vm_networks[0].name", device[1] if device else first_section_line)
    builder.place("vm_networks[0].mode", first_section_line)
    ip = host.get("ip")
    if ip:
        # The NAT device's own address: the guests' gateway and DNS proxy.
        address, prefix = _nat_address(ip[0], host.get("netmask"), file, ip[1])
        net["gateway"] = str(address)
        builder.place("vm_networks[0].gateway", ip[1])
        if prefix is not None:
            net["subnet"] = str(ipaddress.ip_interface(f"{address}/{prefix}").network)
            builder.place("vm_networks[0].subnet", ip[1])
    else:
        builder.notes.append(
            "[host] has no ip: the NAT device's address (and the subnet) is not in this file"
        )
    if forwards:
        net["port_forwards"] = [spec for spec, _ in forwards]
        for j, (_, at) in enumerate(forwards):
            builder.place(f"vm_networks[0].port_forwards[{j}]", at)
    return builder.finish(kind)


def _nat_address(
    raw: str, netmask: tuple[str, int] | None, file: str, line: int
) -> tuple[ipaddress.IPv4Address, int | None]:
    """`ip = 192.168.80.2` with `netmask = 255.255.255.0`, or `ip = 192.168.80.2/24`."""
    text, _, bits = raw.partition("/")
    try:
        address = ipaddress.IPv4Address(text.strip())
    except ValueError:
        raise InputError(
            f"ip = {raw!r} is not an IPv4 address", file=file, line=line, field="ip"
        ) from None
    if bits:
        try:
            prefix = int(bits)
            ipaddress.ip_network(f"0.0.0.0/{prefix}")
        except ValueError:
            raise InputError(
                f"ip = {raw!r}: bad prefix", file=file, line=line, field="ip"
            ) from None
        return address, prefix
    if netmask is None:
        return address, None
    try:
        return address, ipaddress.ip_network(f"0.0.0.0/{netmask[0]}").prefixlen
    except ValueError:
        raise InputError(
            f"netmask = {netmask[0]!r} is not a netmask",
            file=file,
            line=netmask[1],
            field="netmask",
        ) from None


def _forward(key: str, value: str, proto: str, file: str, line: int) -> str:
    """`8080 = 192.168.80.128:80` in [incomingtcp] / [incomingudp]."""
    target = _FORWARD_TARGET.fullmatch(value)
    port_ok = key.isascii() and key.isdigit() and len(key) <= 5 and 0 < int(key) <= 65535
    if not port_ok or target is None or not 0 < int(target.group(2)) <= 65535:
        raise InputError(
            f"{key} = {value}: a port forward is HOSTPORT = GUESTIP:GUESTPORT, "
            "e.g. 8080 = 192.168.80.128:80",
            file=file,
            line=line,
            field=f"incoming{proto}",
        )
    try:
        ipaddress.IPv4Address(target.group(1))
    except ValueError:
        raise InputError(
            f"{target.group(1)!r} is not an IPv4 address",
            file=file,
            line=line,
            field=f"incoming{proto}",
        ) from None
    spec = f"{int(key)} = {target.group(1)}:{int(target.group(2))}"
    return spec if proto == "tcp" else f"{spec}/udp"


# ---------------------------------------------------------------------------------------- DHCP


class _Stmt:
    """One dhcpd statement: its words, its line, the comments just before it, its block."""

    def __init__(self, words: list[str], line: int, comments: list[str]) -> None:
        self.words = words
        self.line = line
        self.comments = comments
        self.block: list[_Stmt] | None = None


_TOKEN = re.compile(r'"[^"]*"|[{};]|[^\s{};"#]+')


def _dhcp_statements(text: str, file: str) -> list[_Stmt]:
    """Tokenize ISC dhcpd syntax into nested statements (blocks in braces)."""
    top: list[_Stmt] = []
    stack: list[list[_Stmt]] = [top]
    opened: list[int] = []
    words: list[str] = []
    start = 0
    comments: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        code, hash_, comment = raw.partition("#")
        if '"' in code and code.count('"') % 2:  # a # inside a quoted string
            code, comment = raw, ""
        if hash_ and comment.strip() and not code.strip() and not words:
            comments.append(comment.strip())  # a comment line before the next statement
        for token in _TOKEN.findall(code):
            if token == "{":
                stmt = _Stmt(words, start or number, comments)
                stmt.block = []
                stack[-1].append(stmt)
                stack.append(stmt.block)
                opened.append(number)
                words, comments, start = [], [], 0
            elif token == "}":
                if words:
                    raise InputError(
                        f"missing ';' after {' '.join(words)!r}", file=file, line=number
                    )
                if len(stack) == 1:
                    raise InputError("'}' without a matching '{'", file=file, line=number)
                stack.pop()
                opened.pop()
                comments = []
            elif token == ";":
                if words:
                    stack[-1].append(_Stmt(words, start or number, comments))
                words, comments, start = [], [], 0
            else:
                if not words:
                    start = number
                words.append(token.strip('"'))
    if words:
        raise InputError(f"missing ';' after {' '.join(words)!r}", file=file, line=start)
    if opened:
        raise InputError("'{' is never closed", file=file, line=opened[-1])
    return top


_SEGMENT = re.compile(r"virtual ethernet segment ([0-9]{1,9})\b", re.IGNORECASE)
_OPERATING = re.compile(r"operating on (vmnet\d+)", re.IGNORECASE)


def _load_dhcp(text: str, file: str, kind: str) -> Loaded:
    stmts = _dhcp_statements(text, file)
    builder = Builder(file)
    hosts: list[tuple[str, ipaddress.IPv4Address, int]] = []  # (VMnetN, fixed address, line)
    subnets: list[tuple[_Stmt, ipaddress.IPv4Network]] = []
    for stmt in stmts:
        if stmt.block is None or not stmt.words:
            continue
        head = stmt.words[0].lower()
        if head == "subnet":
            if len(stmt.words) != 4 or stmt.words[2].lower() != "netmask":
                raise InputError(
                    "a subnet block is `subnet ADDRESS netmask MASK {`",
                    file=file,
                    line=stmt.line,
                    field="subnet",
                )
            try:
                subnet = ipaddress.IPv4Network(f"{stmt.words[1]}/{stmt.words[3]}")
            except ValueError:
                raise InputError(
                    f"subnet {stmt.words[1]} netmask {stmt.words[3]} is not a subnet",
                    file=file,
                    line=stmt.line,
                    field="subnet",
                ) from None
            subnets.append((stmt, subnet))
        elif head == "host" and len(stmt.words) == 2 and vmnet_name(stmt.words[1]):
            for sub in stmt.block or []:
                if sub.words[:1] == ["fixed-address"] and len(sub.words) == 2:
                    try:
                        hosts.append(
                            (
                                vmnet_name(stmt.words[1]),
                                ipaddress.IPv4Address(sub.words[1]),
                                sub.line,
                            )  # type: ignore[arg-type]
                        )
                    except ValueError:
                        raise InputError(
                            f"fixed-address {sub.words[1]} is not an IPv4 address",
                            file=file,
                            line=sub.line,
                            field="fixed-address",
                        ) from None
    if not subnets:
        raise InputError("no subnet block in this DHCP configuration", file=file, line=1)
    operating = _OPERATING.search(text)
    single = (vmnet_name(operating.group(1)) if operating else None) or _path_vmnet(file)
    taken: set[str] = set()
    for stmt, subnet in subnets:
        own = [h for h in hosts if h[1] in subnet]
        segment = next((m for c in stmt.comments if (m := _SEGMENT.search(c))), None)
        name = (
            own[0][0]
            if own
            else f"VMnet{int(segment.group(1))}"
            if segment
            else single
            if len(subnets) == 1
            else None
        )
        if name is None:
            raise InputError(
                f"subnet {subnet} names no VMnet (VMware writes a `host VMnetN {{ "
                "fixed-address ...; }` block or a `# Virtual ethernet segment N` comment)",
                file=file,
                line=stmt.line,
                field="subnet",
            )
        if name.lower() in taken:
            raise InputError(
                f"a second subnet for {name}", file=file, line=stmt.line, field="subnet"
            )
        taken.add(name.lower())
        i = len(builder.data.get("vm_networks", []))
        net: dict[str, Any] = {"name": name, "hypervisor": "vmware", "subnet": str(subnet)}
        builder.append("vm_networks", net, at=stmt.line)
        builder.place(f"vm_networks[{i}].subnet", stmt.line)
        for sub in stmt.block or []:
            words = [w.lower() for w in sub.words]
            if words[:1] == ["range"]:
                net["dhcp"] = True  # VMware's DHCP service leases addresses on this VMnet
                builder.place(f"vm_networks[{i}].dhcp", sub.line)
            elif words[:2] == ["option", "routers"] and len(words) >= 3:
                gateway = sub.words[2].rstrip(",")
                try:
                    ipaddress.IPv4Address(gateway)
                except ValueError:
                    raise InputError(
                        f"option routers {gateway} is not an IPv4 address",
                        file=file,
                        line=sub.line,
                        field="option routers",
                    ) from None
                net["gateway"] = gateway
                builder.place(f"vm_networks[{i}].gateway", sub.line)
        if own:
            net["host_address"] = f"{own[0][1]}/{subnet.prefixlen}"
            builder.place(f"vm_networks[{i}].host_address", own[0][2])
        if "dhcp" not in net:
            builder.notes.append(
                f"line {stmt.line}: subnet {subnet} ({name}) has no range: whether VMware's DHCP "
                "leases addresses on it is not said"
            )
    return builder.finish(kind)
