"""Facts about one host: `ip -j addr`, `ip -j route`, `iptables-save`, `nft -j list ruleset`, and
Docker's `daemon.json`.

These usually describe the host behind a compose file or a Vagrantfile, merged with it by
`netwhy check --setup`; each loader fills only the parts of `host` (and `docker`) its input
states, and says in the notes what it saw but could not place (a DNAT rule whose container is
not named, a daemon.json key netwhy does not use ...).

- ip-json: `ip -j addr` -> host.interfaces (name, address/prefix, up, and the type where it is
  certain: the kernel's link kind with `ip -d`, the loopback link type, or names that only
  Docker, libvirt, VirtualBox, VMware, VPN software or the kernel's naming scheme give);
  `ip -j route` -> host.routes and each default route's gateway on its interface. Both may
  be in one file, one JSON array after the other.
- iptables / nft-json: the FORWARD policy, ufw or firewalld (host.firewall), Docker's chains,
  docker0's subnet from Docker's MASQUERADE rule.
- daemon-json: bip, default-address-pools, dns, iptables, ip-forward, userland-proxy, ip.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import AtLineStart, Builder, Loaded, LoadOptions, type_name
from diagnose.report import Location
from diagnose.yamltext import Document, PathKey, parse, value_problem

# ------------------------------------------------------------------------------- detection

_IP_ADDR = re.compile(r'"ifname"\s*:')
_IP_ROUTE = re.compile(r'"dst"\s*:')
_IPTABLES_TABLE = AtLineStart(r"\*(filter|nat|mangle|raw|security)\s*$")
_IPTABLES_CHAIN = AtLineStart(r":[\w.-]+ (ACCEPT|DROP|RETURN|-) \[\d+:\d+\]\s*$")
_NFT = re.compile(r'^\s*\{\s*"nftables"\s*:\s*\[')

# dockerd's daemon.json keys (dockerd reference, "Daemon configuration file"); a JSON object
# whose keys are all among them is a daemon.json.
DAEMON_KEYS = frozenset(
    {
        "allow-direct-routing", "allow-nondistributable-artifacts", "api-cors-header",
        "authorization-plugins", "bip", "bip6", "bridge", "builder", "cdi-spec-dirs",
        "cgroup-parent", "cluster-advertise", "cluster-store", "cluster-store-opts", "containerd",
        "containerd-namespace", "containerd-plugin-namespace", "cpu-rt-period", "cpu-rt-runtime",
        "cri-containerd", "data-root", "debug", "default-address-pools", "default-cgroupns-mode",
        "default-gateway", "default-gateway-v6", "default-ipc-mode", "default-network-opts",
        "default-runtime", "default-shm-size", "default-ulimits", "disable-legacy-registry",
        "dns", "dns-opts", "dns-search", "exec-opts", "exec-root", "experimental", "features",
        "firewall-backend", "fixed-cidr", "fixed-cidr-v6", "graph", "group", "host-gateway-ip",
        "host-gateway-ips", "hosts", "http-proxy", "https-proxy", "icc", "init", "init-path",
        "insecure-registries", "ip", "ip-forward", "ip-forward-no-drop", "ip-masq", "ip6tables",
        "iptables", "ipv6", "labels", "live-restore", "log-driver", "log-format", "log-level",
        "log-opts", "max-concurrent-downloads", "max-concurrent-uploads", "max-download-attempts",
        "mtu", "no-new-privileges", "no-proxy", "node-generic-resources", "oom-score-adjust",
        "pidfile", "proxies", "raw-logs", "registry-mirrors", "runtimes", "seccomp-profile",
        "selinux-enabled", "shutdown-timeout", "storage-driver", "storage-opts",
        "swarm-default-advertise-addr", "tls", "tlscacert", "tlscert", "tlskey", "tlsverify",
        "userland-proxy", "userland-proxy-path", "userns-remap",
    }
)  # fmt: skip
# The keys netwhy reads, and where they go in docker.daemon
_DAEMON_FIELDS = {
    "bip": "bip",
    "default-address-pools": "default_address_pools",
    "dns": "dns",
    "iptables": "iptables",
    "ip-forward": "ip_forward",
    "userland-proxy": "userland_proxy",
    "ip": "ip",
}


def detect(name: str, text: str, kind: str) -> bool:
    """Cheap checks on the start of the text for each host-facts kind."""
    head = text[:4096]
    if kind == "ip-json":
        start = head.lstrip()
        return start.startswith("[") and (
            # `ip -j addr`, or `ip -j link` (interfaces without their addresses)
            (_IP_ADDR.search(head) is not None and ('"addr_info"' in head or '"operstate"' in head))
            or (_IP_ROUTE.search(head) is not None and '"dev"' in head and '"lladdr"' not in head)
        )
    if kind == "iptables":
        return bool(_IPTABLES_TABLE.search(text[:65536]) and _IPTABLES_CHAIN.search(text[:65536]))
    if kind == "nft-json":
        return _NFT.match(head) is not None
    if kind == "daemon-json":
        if Path(name).name.lower() == "daemon.json":
            return True
        if not head.lstrip().startswith("{") or len(text) > 65536:
            return False
        try:
            data = json.loads(text)
        except ValueError:
            return False
        return isinstance(data, dict) and bool(data) and set(data) <= DAEMON_KEYS
    return False


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read one host-facts file of `kind`."""
    if not text.strip():
        raise InputError("empty file", file=file)
    if kind == "ip-json":
        return _IpJson(text, file).load(kind)
    if kind == "iptables":
        return _iptables(text, file, kind)
    if kind == "nft-json":
        return _nft(text, file, kind)
    if kind == "daemon-json":
        return _daemon(text, file, kind)
    raise InputError(f"no host-facts loader for {kind}", file=file)


# ---------------------------------------------------------------------------- interface types

# Names only one piece of software gives: the bridges and links of Docker, libvirt, LXC/LXD,
# Incus, Podman and CNI; the host adapters of VirtualBox and VMware; VPN tunnels; and the
# kernel's / udev's naming scheme for Wi-Fi ("wl") and Ethernet ("en", "eth") ports.
_NAME_TYPES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"docker0|docker_gwbridge|br-[0-9a-f]{12}", "bridge"),
        (r"virbr\d+", "bridge"),
        (r"(lxc|lxd|incus)br\d+|podman\d+|cni-podman\d+|cni\d+", "bridge"),
        (r"veth\w*|virbr\d+-nic|vnet\d+|vboxnet\d+|vmnet\d+", "virtual"),
        (r"tun\d+|wg\w*|tailscale\d*|nordlynx|zt[0-9a-z]{8,}", "vpn"),
        (r"wl\w+", "wifi"),
        (r"en[opsx]\w+|eth\d+", "ethernet"),
    )
)
_KIND_TYPES = {
    "bridge": "bridge",
    "veth": "virtual",
    "dummy": "virtual",
    "macvlan": "virtual",
    "macvtap": "virtual",
    "ipvlan": "virtual",
    "vxlan": "virtual",
    "wireguard": "vpn",
}
# Devices whose routes are a Docker, libvirt, VirtualBox or VMware network's own: that
# network is described by its own input; its route is no "other range" it could overlap.
_OWN_ROUTE_DEVICES = re.compile(
    r"docker0|docker_gwbridge|br-[0-9a-f]{12}|virbr\d+|vboxnet\d+|vmnet\d+|veth\w*|vnet\d+"
    r"|(lxc|lxd|incus)br\d+|podman\d+|cni-podman\d+|cni\d+"
)
_VPN_DEVICES = re.compile(r"tun\d+|wg\w*|tailscale\d*|nordlynx|zt[0-9a-z]{8,}")


def _iface_type(item: dict[str, Any]) -> str | None:
    if item.get("link_type") == "loopback":
        return "loopback"
    info = item.get("linkinfo")
    kind = info.get("info_kind") if isinstance(info, dict) else None
    if isinstance(kind, str) and kind in _KIND_TYPES:
        return _KIND_TYPES[kind]
    name = str(item.get("ifname", ""))
    for pattern, value in _NAME_TYPES:
        if pattern.fullmatch(name):
            return value
    return None


def _up(item: dict[str, Any]) -> bool | None:
    """operstate UP/DOWN; for UNKNOWN (lo, tun) the UP and LOWER_UP flags decide."""
    state = item.get("operstate")
    flags = item.get("flags")
    if state == "UP":
        return True
    if state in ("DOWN", "LOWERLAYERDOWN", "NOTPRESENT"):
        return False
    if isinstance(flags, list):
        if "UP" not in flags:
            return False
        if "LOWER_UP" in flags:
            return True
    return None


# ------------------------------------------------------------------------------- ip -j addr/route


class _IpJson:
    """One or more JSON arrays (`ip -j addr`, then maybe `ip -j route`) in one file."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.b = Builder(file)
        self.interfaces: dict[str, int] = {}  # name -> index in host.interfaces

    def fail(
        self, message: str, at: tuple[Document, PathKey] | None = None, field: str | None = None
    ) -> InputError:
        line = column = None
        if at is not None:
            line, column = at[0].where(at[1])
        return InputError(message, file=self.file, line=line, column=column, field=field)

    def chunks(self) -> list[Document]:
        """Each JSON value of the file, parsed with its positions in the whole file."""
        decoder = json.JSONDecoder()
        out: list[Document] = []
        i, n = 0, len(self.text)
        # Lines counted on from the previous value, not from the start for each value:
        # 20,000 values (`[...]0000...`) after 2,000,000 characters took 12 s.
        seen, line0, line_start = 0, 0, 0
        while True:
            while i < n and self.text[i].isspace():
                i += 1
            if i >= n:
                break
            try:
                _, end = decoder.raw_decode(self.text, i)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"malformed JSON: {exc.msg}", file=self.file, line=exc.lineno, column=exc.colno
                ) from None
            except ValueError as exc:  # an int of more digits than Python reads
                raise InputError(f"malformed JSON: {value_problem(exc)}", file=self.file) from None
            except RecursionError:
                raise InputError("malformed JSON: nested too deeply", file=self.file) from None
            doc = parse(self.text[i:end], self.file)
            line0 += self.text.count("\n", seen, i)
            line_start = max(line_start, self.text.rfind("\n", seen, i) + 1)
            seen = i
            col0 = i - line_start
            doc.lines = {
                path: (line + line0, column + col0 if line == 1 else column)
                for path, (line, column) in doc.lines.items()
            }
            out.append(doc)
            i = end
        return out

    def load(self, kind: str) -> Loaded:
        docs = self.chunks()
        if not docs:
            raise InputError("empty file", file=self.file)
        routes: list[tuple[Document, int]] = []
        for doc in docs:
            if not isinstance(doc.data, list):
                raise self.fail(
                    f"`ip -j` prints a JSON array, not {type_name(doc.data)}", (doc, ())
                )
            for j, item in enumerate(doc.data):
                if not isinstance(item, dict):
                    raise self.fail(
                        f"an `ip -j` entry is an object, not {type_name(item)}", (doc, (j,))
                    )
                if "ifname" in item:
                    self.interface(doc, j, item)
                elif "dst" in item and not {"lladdr", "state"} & set(item):
                    routes.append((doc, j))
                else:
                    raise self.fail(
                        "neither an interface (`ip -j addr`: ifname, addr_info) nor a route "
                        "(`ip -j route`: dst, dev)",
                        (doc, (j,)),
                    )
        self.routes(routes)
        if "host" in self.b.data:
            self.b.places.setdefault("host", self.loc(docs[0], ()))
        return self.b.finish(kind)

    # ---- ip -j addr

    def interface(self, doc: Document, j: int, item: dict[str, Any]) -> None:
        name = item.get("ifname")
        if not isinstance(name, str) or not name:
            raise self.fail("ifname is not a name", (doc, (j, "ifname")), "ifname")
        entry: dict[str, Any] = {"name": name}
        addr_info = item.get("addr_info", [])
        if not isinstance(addr_info, list):
            raise self.fail("addr_info is not a list", (doc, (j, "addr_info")), "addr_info")
        chosen = self.address(doc, j, name, addr_info)
        if chosen is not None:
            entry["address"] = chosen[0]
        iface_type = _iface_type(item)
        if iface_type:
            entry["type"] = iface_type
        up = _up(item)
        if up is not None:
            entry["up"] = up
        if name in self.interfaces:
            raise self.fail(f"interface {name} is listed twice", (doc, (j, "ifname")), "ifname")
        self.interfaces[name] = self.b.append("host.interfaces", entry)
        self.b.places[f"host.interfaces[{self.interfaces[name]}]"] = self.loc(doc, (j,))
        if chosen is not None:
            self.b.places[f"host.interfaces[{self.interfaces[name]}].address"] = self.loc(
                doc, (j, "addr_info", chosen[1])
            )
        if name == "docker0" and chosen is not None and ":" not in chosen[0]:
            # docker0 is the default bridge network's bridge; its address is that network's
            # gateway (Docker docs, "Bridge network driver").
            net = ipaddress.ip_interface(chosen[0])
            i = self.b.append(
                "docker.networks",
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": str(net.network),
                    "gateway": str(net.ip),
                },
            )
            self.b.places[f"docker.networks[{i}]"] = self.loc(doc, (j, "addr_info", chosen[1]))

    def address(
        self, doc: Document, j: int, name: str, addr_info: list[Any]
    ) -> tuple[str, int] | None:
        """The interface's IPv4 address (else a global IPv6 one) with its prefix."""
        candidates: list[tuple[int, str, int]] = []
        for k, info in enumerate(addr_info):
            if not isinstance(info, dict):
                raise self.fail("an addr_info entry is not an object", (doc, (j, "addr_info", k)))
            family, local, prefix = info.get("family"), info.get("local"), info.get("prefixlen")
            if family not in ("inet", "inet6") or local is None:
                continue
            try:
                iface = ipaddress.ip_interface(f"{local}/{prefix}")
            except (ValueError, TypeError):
                raise self.fail(
                    f"{local!r}/{prefix!r} is not an address with a prefix",
                    (doc, (j, "addr_info", k, "local")),
                    "addr_info.local",
                ) from None
            if family == "inet6" and (info.get("scope") != "global" or iface.ip.is_link_local):
                continue
            candidates.append((0 if family == "inet" else 1, str(iface), k))
        if not candidates:
            return None
        candidates.sort(key=lambda c: c[0])
        v4 = [c for c in candidates if c[0] == 0]
        if len(v4) > 1:
            self.b.notes.append(
                f"{name} has {len(v4)} IPv4 addresses ({', '.join(c[1] for c in v4)}); "
                f"the first, {v4[0][1]}, is used"
            )
        return candidates[0][1], candidates[0][2]

    def loc(self, doc: Document, path: PathKey) -> Location:
        line, column = doc.where(path)
        return Location(file=self.file, line=line, column=column)

    # ---- ip -j route

    def routes(self, items: list[tuple[Document, int]]) -> None:
        own: list[str] = []
        halves: list[Any] = []
        defaults: list[tuple[int, str, str | None, Document, int]] = []  # metric, dev, gw, ...
        for doc, j in items:
            item = doc.data[j]
            rtype = item.get("type", "unicast")
            if rtype != "unicast":
                continue  # local, broadcast, blackhole, unreachable ...: no path anywhere
            dst = item.get("dst")
            hops = item.get("nexthops")
            paths = (
                [(h.get("dev"), h.get("gateway")) for h in hops if isinstance(h, dict)]
                if isinstance(hops, list)
                else [(item.get("dev"), item.get("gateway"))]
            )
            if not paths:  # `ip` prints none such; an edited file may hold one
                self.b.notes.append(f"route {dst}: nexthops holds no hop: left out")
                continue
            if dst == "default" or dst in ("0.0.0.0/1", "128.0.0.0/1"):
                # the default route (or OpenVPN's def1 pair, a default route in two halves)
                metric = item.get("metric", 0)
                for dev, gw in paths:
                    if isinstance(dev, str):
                        defaults.append((metric if isinstance(metric, int) else 0, dev, gw, doc, j))
                if dst != "default" and paths[0][0] not in halves:
                    halves.append(paths[0][0])
                    self.b.notes.append(
                        f"routes 0.0.0.0/1 and 128.0.0.0/1 via {paths[0][0]}: a default route "
                        "in two halves (a VPN carrying all traffic); read as a default route"
                    )
                continue
            if not isinstance(dst, str):
                raise self.fail("dst is not a destination", (doc, (j, "dst")), "dst")
            try:
                net = ipaddress.ip_network(
                    dst if "/" in dst else f"{dst}/{32 if ':' not in dst else 128}", strict=False
                )
            except ValueError:
                raise self.fail(f"dst {dst!r} is not a subnet", (doc, (j, "dst")), "dst") from None
            if net.is_link_local or net.is_multicast:
                continue
            for dev, gw in paths:
                if isinstance(dev, str) and _OWN_ROUTE_DEVICES.fullmatch(dev):
                    if dev not in own:
                        own.append(dev)
                    continue
                route: dict[str, Any] = {"to": str(net)}
                if isinstance(gw, str):
                    route["via"] = gw
                if isinstance(dev, str):
                    route["dev"] = dev
                    if _VPN_DEVICES.fullmatch(dev):
                        route["vpn"] = True
                if self.connected_lan(item, dev, defaults_of=items):
                    continue
                i = self.b.append("host.routes", route)
                self.b.places[f"host.routes[{i}]"] = self.loc(doc, (j,))
        if own:
            self.b.notes.append(
                f"routes of {', '.join(own)} are those networks' own (Docker, libvirt, "
                "VirtualBox, VMware): not listed as host routes"
            )
        for _metric, dev, gw, doc, j in sorted(defaults, key=lambda d: d[0]):
            if not isinstance(gw, str):
                continue
            index = self.interfaces.get(dev)
            if index is None:
                entry: dict[str, Any] = {"name": dev}
                matched = [c for c in self.connected(items, dev)]
                if len(matched) == 1:
                    entry["address"] = matched[0]
                iface_type = _iface_type({"ifname": dev})
                if iface_type:
                    entry["type"] = iface_type
                index = self.interfaces[dev] = self.b.append("host.interfaces", entry)
                self.b.places[f"host.interfaces[{index}]"] = self.loc(doc, (j,))
            elif "gateway" in self.b.data["host"]["interfaces"][index]:
                continue  # a second default route on one device: the lower metric wins
            self.b.data["host"]["interfaces"][index]["gateway"] = gw
            self.b.places[f"host.interfaces[{index}].gateway"] = self.loc(doc, (j, "gateway"))

    def connected(self, items: list[tuple[Document, int]], dev: str) -> list[str]:
        """Addresses of `dev` from its connected routes (`proto kernel scope link src X`)."""
        out = []
        for doc, j in items:
            item = doc.data[j]
            dst, src = item.get("dst"), item.get("prefsrc")
            if (
                item.get("dev") == dev
                and item.get("scope") == "link"
                and isinstance(src, str)
                and isinstance(dst, str)
                and "/" in dst
            ):
                try:
                    out.append(f"{src}/{ipaddress.ip_network(dst, strict=False).prefixlen}")
                except ValueError:
                    continue
        return out

    def connected_lan(
        self, item: dict[str, Any], dev: Any, *, defaults_of: list[tuple[Document, int]]
    ) -> bool:
        """The connected route of a device that carries a default route: that is the LAN,
        which the interface's address already states (listing it again as a route would
        report every overlap with the LAN twice)."""
        if item.get("scope") != "link" or "prefsrc" not in item or not isinstance(dev, str):
            return False
        for doc, j in defaults_of:
            other = doc.data[j]
            if other.get("dst") == "default" and other.get("dev") == dev and "gateway" in other:
                return True
        return False


# --------------------------------------------------------------------------------- iptables-save

_RULE_TOKENS = re.compile(r"""'[^']*'|"[^"]*"|\S+""")


def _iptables(text: str, file: str, kind: str) -> Loaded:
    b = Builder(file)
    table = None
    policies: dict[tuple[str, str], tuple[str, int]] = {}
    chains: dict[str, int] = {}
    docker_net_line: int | None = None
    dnats: list[str] = []
    seen_filter = 0
    input_rejects = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            table = line[1:].strip()
            if table == "filter":
                seen_filter += 1
            continue
        if line == "COMMIT":
            table = None
            continue
        if table is None:
            raise InputError(
                "a rule or chain outside a table (`*filter` ... `COMMIT`): "
                "not iptables-save output",
                file=file,
                line=number,
            )
        if line.startswith(":"):
            parts = line[1:].split()
            if len(parts) < 2 or parts[1] not in (
                "ACCEPT",
                "DROP",
                "RETURN",
                "-",
                "REJECT",
                "QUEUE",
            ):
                raise InputError(
                    f"chain line {line!r} has no policy", file=file, line=number, field="policy"
                )
            chains.setdefault(parts[0], number)
            if parts[1] != "-" and (table, parts[0]) not in policies and seen_filter <= 1:
                policies[(table, parts[0])] = (parts[1], number)
            continue
        if not line.startswith(("-A ", "-I ", "-N ", "-P ")):
            raise InputError(f"not an iptables-save line: {line[:60]!r}", file=file, line=number)
        words = [w.strip("'\"") for w in _RULE_TOKENS.findall(line)]
        chain = words[1] if len(words) > 1 else ""
        target = _option(words, "-j")
        if (
            table == "nat"
            and target == "MASQUERADE"
            and _option(words, "-o", negated=True) == "docker0"
        ):
            source = _option(words, "-s")
            if source and ":" not in source and docker_net_line is None:  # IPv4: docker0's
                try:
                    subnet = str(ipaddress.ip_network(source, strict=False))
                except ValueError:
                    raise InputError(
                        f"-s {source!r} is not a subnet", file=file, line=number, field="-s"
                    ) from None
                b.append(
                    "docker.networks",
                    {"name": "bridge", "driver": "bridge", "subnet": subnet},
                    at=number,
                )
                docker_net_line = number
        if table == "nat" and chain == "DOCKER" and target == "DNAT":
            to = _option(words, "--to-destination")
            port = _option(words, "--dport")
            proto = _option(words, "-p") or "tcp"
            if to and port:
                dnats.append(f"{proto} {port} -> {to} (line {number})")
        if table == "filter" and chain == "INPUT" and target in ("DROP", "REJECT"):
            input_rejects += 1
    if seen_filter > 1:
        b.notes.append(
            "the file holds several filter tables (iptables and ip6tables?): the first is read"
        )
    forward = policies.get(("filter", "FORWARD"))
    if forward is not None and forward[0] in ("ACCEPT", "DROP"):
        b.set("host.forward_policy", forward[0].lower(), at=forward[1])
        b.place("host", forward[1])  # a finding about the host: most likely its FORWARD policy
    firewall = _firewall(chains)
    if firewall is not None:
        b.set("host.firewall", firewall[0], at=firewall[1])
        if "host" not in b.places:
            b.place("host", firewall[1])
    elif input_rejects or policies.get(("filter", "INPUT"), ("ACCEPT", 0))[0] == "DROP":
        # a hand-made iptables firewall: INPUT drops by policy or by rule
        b.set("host.firewall", "iptables", at=chains.get("INPUT"))
    docker_chain = next(
        (c for c in ("DOCKER-USER", "DOCKER", "DOCKER-FORWARD") if c in chains), None
    )
    if docker_chain is not None:
        # Only dockerd on this kernel writes the DOCKER chains (Docker Desktop runs its
        # engine inside a VM of its own).
        b.set("host.docker", "engine", at=chains[docker_chain])
    if dnats:
        b.notes.append(
            "Docker's DNAT rules publish "
            + "; ".join(dnats[:8])
            + (" ..." if len(dnats) > 8 else "")
            + ": which container each belongs to is not in this file, so none is added"
        )
    return b.finish(kind)


def _option(words: list[str], flag: str, *, negated: bool = False) -> str | None:
    """The value after `flag` (after `! flag` when negated)."""
    for i, w in enumerate(words[:-1]):
        if w == flag and (i > 0 and words[i - 1] == "!") == negated:
            return words[i + 1]
    return None


def _firewall(chains: dict[str, int]) -> tuple[str, int] | None:
    for name, line in chains.items():
        if name.startswith("ufw-") or name.startswith("ufw6-"):
            return "ufw", line
    for name, line in chains.items():
        # firewalld's iptables backend: INPUT_ZONES, FORWARD_IN_ZONES, IN_public ...
        if name in ("INPUT_ZONES", "FORWARD_IN_ZONES", "FORWARD_OUT_ZONES") or re.fullmatch(
            r"IN_\w+_allow", name
        ):
            return "firewalld", line
    return None


# ------------------------------------------------------------------------------------ nft -j


def _nft(text: str, file: str, kind: str) -> Loaded:
    doc = parse(text, file)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("nftables"), list):
        raise InputError('not `nft -j list ruleset` output: no "nftables" list', file=file, line=1)
    b = Builder(file, doc)
    tables: dict[tuple[str, str], int] = {}
    chains: dict[str, tuple[int, PathKey]] = {}
    forward: list[tuple[str, PathKey, bool]] = []  # policy, path, is iptables' FORWARD
    input_drop: PathKey | None = None
    dnats = 0
    docker_net = False
    for i, obj in enumerate(data["nftables"]):
        if not isinstance(obj, dict) or len(obj) != 1:
            raise InputError(
                "each nftables entry is an object with one key (table, chain, rule ...)",
                file=file,
                line=doc.where(("nftables", i))[0],
            )
        ((what, body),) = obj.items()
        if not isinstance(body, dict):
            continue
        path: PathKey = ("nftables", i, what)
        if what == "table":
            tables[(str(body.get("family")), str(body.get("name")))] = i
        elif what == "chain":
            name = str(body.get("name"))
            chains.setdefault(name, (i, path))
            policy = body.get("policy")
            if body.get("hook") == "forward" and policy in ("accept", "drop"):
                iptables_forward = body.get("table") == "filter" and name == "FORWARD"
                forward.append((policy, (*path, "policy"), iptables_forward))
            if body.get("hook") == "input" and policy == "drop":
                input_drop = (*path, "policy")
        elif what == "rule":
            expr = body.get("expr")
            exprs: list[Any] = expr if isinstance(expr, list) else []
            targets = {_nft_target(e) for e in exprs}
            if "dnat" in targets and body.get("chain") == "DOCKER":
                dnats += 1
            if "masquerade" in targets and not docker_net:
                subnet = _nft_masq_docker0(exprs)
                if subnet is not None:
                    b.append(
                        "docker.networks",
                        {"name": "bridge", "driver": "bridge", "subnet": subnet},
                        at=path,
                    )
                    docker_net = True
    if forward:
        # iptables-nft's FORWARD chain is the policy the setup means; without it, a packet
        # must pass every forward hook, so one `drop` policy drops what no rule accepts.
        mine = [f for f in forward if f[2]]
        policy, at, _ = (
            mine[0] if mine else next((f for f in forward if f[0] == "drop"), forward[0])
        )
        b.set("host.forward_policy", policy, at=at)
        b.place("host", at)
    if ("inet", "firewalld") in tables:
        b.set("host.firewall", "firewalld", at=("nftables", tables[("inet", "firewalld")]))
        if "host" not in b.places:
            b.place("host", ("nftables", tables[("inet", "firewalld")]))
    elif any(name.startswith("ufw-") for name in chains):
        first = next(name for name in chains if name.startswith("ufw-"))
        b.set("host.firewall", "ufw", at=chains[first][1])
    elif input_drop is not None:
        b.set("host.firewall", "nftables", at=input_drop)
    docker_chain = next(
        (c for c in ("DOCKER-USER", "DOCKER", "DOCKER-FORWARD") if c in chains), None
    )
    if docker_chain is not None:
        b.set("host.docker", "engine", at=chains[docker_chain][1])
    if dnats:
        b.notes.append(
            f"{dnats} DNAT rule(s) in Docker's DOCKER chain publish ports: which container each "
            "belongs to is not in this file, so none is added"
        )
    return b.finish(kind)


def _nft_target(expr: Any) -> str | None:
    if not isinstance(expr, dict):
        return None
    if "masquerade" in expr:
        return "masquerade"
    if "dnat" in expr:
        return "dnat"
    xt = expr.get("xt")
    if isinstance(xt, dict) and xt.get("type") == "target":
        return {"MASQUERADE": "masquerade", "DNAT": "dnat"}.get(str(xt.get("name")))
    return None


def _nft_masq_docker0(exprs: list[Any]) -> str | None:
    """`ip saddr 172.17.0.0/16 oifname != "docker0" masquerade`: docker0's subnet."""
    subnet = None
    out_docker0 = False
    for e in exprs:
        m = e.get("match") if isinstance(e, dict) else None
        if not isinstance(m, dict):
            continue
        left, right, op = m.get("left"), m.get("right"), m.get("op")
        meta = left.get("meta") if isinstance(left, dict) else None
        payload = left.get("payload") if isinstance(left, dict) else None
        if isinstance(meta, dict) and meta.get("key") == "oifname":
            out_docker0 = op == "!=" and right == "docker0"
        prefix = right.get("prefix") if isinstance(right, dict) else None
        if (
            isinstance(payload, dict)
            and payload.get("field") == "saddr"
            and isinstance(prefix, dict)
        ):
            try:
                net = ipaddress.ip_network(
                    f"{prefix.get('addr')}/{prefix.get('len')}", strict=False
                )
            except ValueError:
                continue
            subnet = str(net) if net.version == 4 else None
    return subnet if out_docker0 else None


# ----------------------------------------------------------------------------------- daemon.json


def _daemon(text: str, file: str, kind: str) -> Loaded:
    if not text.lstrip().startswith("{"):
        raise InputError("daemon.json is a JSON object ({ ... })", file=file, line=1)
    doc = parse(text, file)  # malformed JSON (a comment, a trailing comma) is an InputError
    data = doc.data
    if not isinstance(data, dict):
        raise InputError("daemon.json is a JSON object ({ ... })", file=file, line=1)
    b = Builder(file, doc)

    def fail(key: str, message: str) -> InputError:
        line, column = doc.where((key,))
        return InputError(message, file=file, line=line, column=column, field=key)

    ignored: list[str] = []
    unknown: list[str] = []
    for key, value in data.items():
        field = _DAEMON_FIELDS.get(key)
        if field is None:
            (ignored if key in DAEMON_KEYS else unknown).append(key)
            continue
        # dockerd reads these with Go's encoding/json: a bool is true/false, a list is a list.
        if key in ("iptables", "ip-forward", "userland-proxy") and not isinstance(value, bool):
            raise fail(key, f"{key} must be true or false, not {value!r}")
        if key in ("bip", "ip") and not isinstance(value, str):
            raise fail(key, f"{key} must be a string, not {value!r}")
        if key == "bip" and "/" not in value:
            raise fail(
                key, f'bip is docker0\'s address with a prefix, e.g. "10.200.0.1/24", not {value!r}'
            )
        if key == "dns" and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise fail(key, f'dns must be a list of addresses such as ["1.1.1.1"], not {value!r}')
        if key == "default-address-pools":
            if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
                raise fail(
                    key, 'default-address-pools must be a list of {"base": ..., "size": ...}'
                )
            for k, pool in enumerate(value):
                if (
                    set(pool) - {"base", "size"}
                    or not isinstance(pool.get("size"), int)
                    or isinstance(pool.get("size"), bool)
                ):
                    line, column = doc.where((key, k))
                    raise InputError(
                        'a pool is {"base": "10.10.0.0/16", "size": 24}',
                        file=file,
                        line=line,
                        column=column,
                        field=f"{key}[{k}]",
                    )
            value = [dict(p) for p in value]
        b.set(f"docker.daemon.{field}", value, at=(key,))
        if key == "default-address-pools" or key == "dns":
            for k in range(len(value)):
                b.place(f"docker.daemon.{field}[{k}]", (key, k))
    if ignored:
        b.notes.append(f"daemon.json keys not used by netwhy: {', '.join(ignored)}")
    if unknown:
        b.notes.append(
            f"daemon.json keys netwhy does not know as dockerd options: {', '.join(unknown)} "
            "(a typo? dockerd refuses to start on a key it does not know)"
        )
    # A finding about the daemon's settings as a whole points to the object.
    b.place("docker.daemon", ())
    return b.finish(kind)
