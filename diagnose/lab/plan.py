"""Turn a Setup into a lab plan: the namespaces, bridges, veth pairs, addresses, routes,
sysctls and nftables rules that reproduce it in a real kernel, the servers the setup says
are listening, and one probe per symptom.

Pure data: nothing here touches the kernel (see sandbox.py). What the lab cannot reproduce
faithfully raises `NotModelled` with the reason, so a verification reports it instead of
comparing netwhy with a topology that is not the user's.

Stand-ins (fixed, private to the sandbox):
- the LAN is a bridge in the `router` node, which owns the LAN gateway address and
  masquerades to the `inet` node (203.0.113.10, a documentation address: the "internet");
- `lan` is another machine on the LAN;
- Docker's bridges, NAT (DNAT per published port, MASQUERADE, FORWARD accept/isolation rules)
  and ip_forward are the host node's, as dockerd would set them;
- a hypervisor's NAT device is a node of its own at the network's gateway address unless the
  gateway is the host's own address (libvirt, Hyper-V), where the host kernel does the NAT.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from diagnose.facts import vm_defaults
from diagnose.model import Container, Setup, Symptom, VmAdapter, VmNetwork, parse_forward
from diagnose.ports import PortSyntaxError, parse_listen

INTERNET_ADDRESS = "203.0.113.10"
_WAN = ("203.0.113.1/24", "203.0.113.10/24")
_DEFAULT_LAN = "192.168.50.0/24"
_DEFAULT_BIP = "172.17.0.1/16"
_IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,14}")


class NotModelled(Exception):
    """The setup (or one symptom) has something the lab does not reproduce."""


@dataclass
class Node:
    """One network namespace."""

    name: str
    bridges: dict[str, list[str]] = field(default_factory=dict)  # bridge -> addresses
    routes: list[str] = field(default_factory=list)  # `ip route add` arguments
    sysctls: dict[str, str] = field(default_factory=dict)
    nft: list[str] = field(default_factory=list)  # lines of one `table ip lab { ... }`
    # who listens (host, container:web, vm:db, lan) -> its (address, port, proto)s: one
    # server process each, started in this order, so a second owner of a port sees "in use".
    listens: dict[str, list[tuple[str, int, str]]] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)  # every address, for the report
    extra: list[tuple[str, str]] = field(default_factory=list)  # (ifname, cidr) added last

    def listen(self, owner: str, address: str, port: int, proto: str = "tcp") -> None:
        mine = self.listens.setdefault(owner, [])
        if (address, port, proto) not in mine:
            mine.append((address, port, proto))


@dataclass(frozen=True)
class End:
    """One end of a veth pair: node, interface, addresses, the bridge it is a port of."""

    node: str
    ifname: str
    addresses: tuple[str, ...] = ()
    master: str | None = None


@dataclass(frozen=True)
class Probe:
    """One symptom as a connection attempt from a node to an address and port, or (type
    start) whether an owner's servers could bind their ports."""

    symptom: str
    source: str
    address: str = ""
    port: int = 0
    kind: str = "tcp"  # tcp | udp | ping
    start: str | None = None  # the owner whose binds are the question
    target: str | None = None  # the owner that must answer (container:web, vm:db)


@dataclass
class Plan:
    nodes: dict[str, Node] = field(default_factory=dict)
    links: list[tuple[End, End]] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # symptom id -> why not probed
    # proxy owner -> (its container's DNAT chain, the container's owner)
    publish_chains: dict[str, tuple[str, str]] = field(default_factory=dict)

    def node(self, name: str) -> Node:
        if name not in self.nodes:
            self.nodes[name] = Node(name)
        return self.nodes[name]

    def link(self, a: End, b: End) -> None:
        self.links.append((a, b))
        for end in (a, b):
            self.node(end.node).addresses.extend(end.addresses)


def _iface(address: str) -> ipaddress.IPv4Interface:
    return ipaddress.IPv4Interface(address)


def _first_free(subnet: str, used: set[str], *, top: bool = False) -> str:
    net = ipaddress.IPv4Network(subnet, strict=False)
    hosts = list(net.hosts())
    for ip in reversed(hosts) if top else hosts:
        if str(ip) not in used:
            used.add(str(ip))
            return f"{ip}/{net.prefixlen}"
    raise NotModelled(f"no free address left in {subnet}")


def _ifname(name: str | None, default: str) -> str:
    return name if name and _IFNAME.fullmatch(name) else default


class _Planner:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.plan = Plan()
        self.used: set[str] = set()
        self.n_veth = 0
        self.host = self.plan.node("host")
        self.container_node: dict[str, str] = {}  # container name -> node
        self.container_ips: dict[str, dict[str, str]] = {}  # container -> network -> ip
        self.network_bridge: dict[str, tuple[str, str, bool]] = {}  # net -> (bridge, gw, internal)
        self.vm_node: dict[str, str] = {}
        self.vm_ips: dict[str, list[tuple[str, str]]] = {}  # vm -> [(ip, host address seen)]
        self.vm_forwards: dict[str, dict[int, str]] = {}  # vm -> host port -> "ip:port"
        self.host_forwarding = False
        self.nat_rules: list[str] = []  # host prerouting/output DNAT (VM port forwards)
        self.publish_rules: dict[str, list[str]] = {}  # container -> its DNAT rules
        self.published_ports: set[tuple[int, str]] = set()
        self.vm_bridges: dict[str, str] = {}  # VM network (or VM, for a private NAT) -> bridge
        self.nat_uplinks: dict[str, tuple[str, str]] = {}  # same key -> (host, device) address
        self.post_rules: list[str] = []
        self.forward_rules: list[str] = []

    # ------------------------------------------------------------------ the LAN and the host
    def lan(self) -> None:
        host = self.setup.host
        ifaces = [i for i in (host.interfaces or []) if i.address] if host else []
        # A VPN tunnel is a second way out, to a VPN node; any other second NIC is not modelled.
        vpns = [i for i in ifaces[1:] if _is_vpn(i.type, i.name)]
        for iface in ifaces[1:]:
            if iface not in vpns:
                raise NotModelled(
                    f"the host has several interfaces ({iface.name}): one LAN NIC only"
                )
        ifaces = ifaces[:1]
        lan = self.setup.lan
        subnet = (lan.subnet if lan else None) or (
            str(_iface(ifaces[0].address).network) if ifaces and ifaces[0].address else None
        )
        subnet = subnet or _DEFAULT_LAN
        net = ipaddress.IPv4Network(subnet, strict=False)
        gateway = (lan.gateway if lan else None) or (ifaces[0].gateway if ifaces else None)
        gateway = gateway or str(next(net.hosts()))
        self.used.update({gateway})
        if ifaces and ifaces[0].address:
            host_addr = ifaces[0].address
            if _iface(host_addr).ip not in net:
                raise NotModelled("the host's address is outside the LAN subnet")
            self.used.add(str(_iface(host_addr).ip))
        else:
            host_addr = _first_free(subnet, self.used)
        self.host_ip = str(_iface(host_addr).ip)
        self.host_cidr = f"{self.host_ip}/{net.prefixlen}"
        self.lan_subnet = str(net)
        self.lan_gateway = gateway
        self.uplink = _ifname(ifaces[0].name if ifaces else None, "eth0")
        self.uplink_said = (ifaces[0].name or "").strip().lower() if ifaces else ""
        self.isolated: list[str] = []
        self.netfilter_free_bridges: set[str] = set()
        router = self.plan.node("router")
        router.bridges["lan0"] = [f"{gateway}/{net.prefixlen}"]
        router.addresses.append(f"{gateway}/{net.prefixlen}")
        router.sysctls["net.ipv4.ip_forward"] = "1"
        router.nft += _chain("postrouting", ['oifname "wan" masquerade'])
        self.plan.link(End("router", "wan", (_WAN[0],)), End("inet", "eth0", (_WAN[1],)))
        # Everything else is "the internet": the stand-in takes it all, answers what it has
        # and drops the rest, as the real one would (no route back needed: the router NATs).
        router.routes.append("default via 203.0.113.10")
        self.lan_ip = str(_iface(_first_free(subnet, self.used, top=True)).ip)
        self.plan.link(
            End("lan", "eth0", (f"{self.lan_ip}/{net.prefixlen}",)),
            End("router", "p-lan", master="lan0"),
        )
        self.plan.node("lan").routes.append(f"default via {gateway}")
        self.bridged_vms = any(
            a.mode == "bridged" for vm in self.setup.vms or [] for a in vm.adapters or []
        )
        if self.bridged_vms:
            # VMnet0: the host's NIC becomes a port of a bridge that carries the host's address.
            self.host.bridges["vmnet0"] = [self.host_cidr]
            self.plan.link(
                End("host", self.uplink, master="vmnet0"), End("router", "p-host", master="lan0")
            )
            self.host_dev = "vmnet0"
        else:
            self.plan.link(
                End("host", self.uplink, (self.host_cidr,)), End("router", "p-host", master="lan0")
            )
            self.host_dev = self.uplink
        self.host.addresses.append(self.host_cidr)
        self.host.routes.append(f"default via {gateway} dev {self.host_dev}")
        self.vpn_subnets: list[tuple[ipaddress.IPv4Network, str]] = []
        tunnels: dict[str, str] = {}  # the host's tunnel name -> the VPN node's address
        for i, tun in enumerate(vpns):
            assert tun.address is not None
            name, mine = _ifname(tun.name, f"tun{i}"), _iface(tun.address)
            peer = next(str(h) for h in mine.network.hosts() if h != mine.ip)
            node = f"vpn{i}"
            self.plan.link(
                End("host", name, (tun.address,)),
                End(node, "eth0", (f"{peer}/{mine.network.prefixlen}",)),
            )
            tunnels[(tun.name or "").lower()] = peer
            self.vpn_subnets.append((mine.network, node))
        for route in (host.routes or []) if host else []:
            dev = (route.dev or "").lower()
            if dev in tunnels or (route.vpn and len(tunnels) == 1 and not dev):
                peer = tunnels.get(dev) or next(iter(tunnels.values()))
                node = self.vpn_subnets[list(tunnels.values()).index(peer)][1]
                dev_name = next(
                    _ifname(t.name, f"tun{k}")
                    for k, t in enumerate(vpns)
                    if (t.name or "").lower() == (dev or (t.name or "").lower())
                )
                # Appended, never replacing: with two routes for one range the first installed
                # wins, as on a real host where docker0 came up before or after the VPN.
                self.host.routes.append(f"{route.to} via {peer} dev {dev_name}")
                self.vpn_subnets.append((ipaddress.IPv4Network(route.to, strict=False), node))
            else:
                raise NotModelled(f"host route {route.to} is not modelled")
        for text in (host.listens or []) if host else []:
            self._listen(self.host, text, "host")

    def _listen(self, node: Node, text: str, owner: str) -> None:
        try:
            listen = parse_listen(text)
        except PortSyntaxError as exc:
            raise NotModelled(str(exc)) from None
        if listen.proto not in ("tcp", "udp"):
            return  # SCTP is not probed
        address = listen.address or "0.0.0.0"
        if address == "localhost":
            address = "127.0.0.1"
        if ":" in address:
            raise NotModelled(f"{owner} listens on IPv6 {address}")
        node.listen(owner, address, listen.port, listen.proto)

    def _veth(self) -> str:
        self.n_veth += 1
        return f"v{self.n_veth}"

    # ----------------------------------------------------------------------------- Docker
    def docker(self) -> None:
        docker = self.setup.docker
        platform = self.setup.host.docker if self.setup.host else None
        if platform != "engine" and (docker is None or not (docker.containers or docker.networks)):
            return  # dockerd creates docker0 when it starts (D1), containers or not
        if platform in ("desktop", "wsl2"):
            raise NotModelled("Docker Desktop runs the engine in a VM of its own")
        daemon = docker.daemon if docker else None
        if daemon and daemon.iptables is False:
            raise NotModelled("dockerd with iptables disabled")
        if daemon and daemon.default_address_pools:
            raise NotModelled("address pools are not modelled")
        # Without bip, dockerd takes the first pool that overlaps none of the host's networks.
        bip = (daemon.bip if daemon else None) or self._free_pool(first=17).replace(
            ".0.0/16", ".0.1/16"
        )
        if _iface(bip).ip == _iface(bip).network.network_address:
            raise NotModelled(f"bip {bip} is a network address: dockerd does not start")
        self._bridge_network("bridge", "docker0", bip, internal=False)
        for net in (docker.networks if docker else None) or []:
            if net.driver not in (None, "bridge"):
                raise NotModelled(f"network {net.name}: driver {net.driver}")
            if net.external:
                raise NotModelled(f"network {net.name} is external (its subnet is not said)")
            # Docker picks a free /16 from its default pools when none is said.
            subnet = ipaddress.IPv4Network(net.subnet or self._free_pool(), strict=False)
            gw = net.gateway or str(next(subnet.hosts()))
            bridge = f"br-{len(self.network_bridge)}"
            self._bridge_network(net.name, bridge, f"{gw}/{subnet.prefixlen}", bool(net.internal))
        forward = self.setup.host.ip_forward if self.setup.host else None
        if forward is None and daemon is not None:
            forward = daemon.ip_forward
        # dockerd turns forwarding on unless told not to.
        self.host_forwarding = forward is not False
        containers = (docker.containers if docker else None) or []
        shared = [
            c for c in containers if (c.network_mode or "").startswith(("container:", "service:"))
        ]
        for c in containers:
            if c not in shared:
                self._container(c)
        for c in shared:
            target = (c.network_mode or "").split(":", 1)[1]
            if target not in self.container_node:
                raise NotModelled(f"{c.name} shares the namespace of {target}, not in the setup")
            self.container_node[c.name] = self.container_node[target]
            for text in c.listens or []:
                self._listen(
                    self.plan.node(self.container_node[c.name]), text, f"container:{c.name}"
                )
        # Docker's FORWARD rules: replies and published ports in, containers out, no
        # traffic between different networks, none out of or into an internal one.
        bridges = [(b, internal) for b, _gw, internal in self.network_bridge.values()]
        self.forward_rules.append("ct status dnat accept")  # published ports cross networks
        for bridge, internal in bridges:
            if internal:
                self.forward_rules += [
                    f'iifname "{bridge}" oifname != "{bridge}" drop',
                    f'oifname "{bridge}" iifname != "{bridge}" drop',
                ]
        for a, _ in bridges:
            for b, _ in bridges:
                if a != b:
                    self.forward_rules.append(f'iifname "{a}" oifname "{b}" drop')
        for bridge, _ in bridges:
            self.forward_rules += [
                f'oifname "{bridge}" ct state established,related accept',
                f'oifname "{bridge}" ct status dnat accept',
                f'iifname "{bridge}" accept',
            ]

    def _free_pool(self, first: int = 18) -> str:
        taken = [_iface(a[0]).network for a in self.host.bridges.values() if a]
        taken.append(ipaddress.IPv4Network(self.lan_subnet))
        for second in range(first, 32):
            candidate = ipaddress.IPv4Network(f"172.{second}.0.0/16")
            if not any(candidate.overlaps(t) for t in taken):
                return str(candidate)
        raise NotModelled("Docker's default address pools are exhausted")

    def _bridge_network(self, name: str, bridge: str, gw_cidr: str, internal: bool) -> None:
        gw = _iface(gw_cidr)
        self.host.bridges[bridge] = [gw_cidr]
        self.host.addresses.append(gw_cidr)
        self.network_bridge[name] = (bridge, str(gw.ip), internal)
        self.used.add(str(gw.ip))
        # route_localnet lets the host's own 127.0.0.1:port reach a container (as Docker's
        # userland proxy does): DNAT of a loopback source needs it on the way out.
        self.host.sysctls[f"net.ipv4.conf.{bridge}.route_localnet"] = "1"
        if not internal:
            self.post_rules.append(f'ip saddr {gw.network} oifname != "{bridge}" masquerade')
        self.post_rules.append(f'ip saddr 127.0.0.0/8 oifname "{bridge}" masquerade')
        self.post_rules.append(
            f'oifname "{bridge}" ct status dnat ip saddr {gw.network} masquerade'
        )

    def _container(self, c: Container) -> None:
        mode = c.network_mode
        if c.network_mode_unknown:
            raise NotModelled(f"the network mode of {c.name} is unknown")
        if mode == "host":
            self.container_node[c.name] = "host"
            for text in c.listens or []:
                self._listen(self.host, text, f"container:{c.name}")
            return
        node = self.plan.node(f"c{len(self.container_node)}")
        self.container_node[c.name] = node.name
        for text in c.listens or []:
            self._listen(node, text, f"container:{c.name}")
        if mode == "none":
            return
        nets = [a.name for a in c.networks or []]
        ips = {a.name: a.ip for a in c.networks or [] if a.ip}
        if mode not in (None, "bridge", "default") and mode not in nets:
            nets.insert(0, mode)
        if not nets:
            nets = ["bridge"]
        if c.ip:
            ips.setdefault(nets[0], c.ip)
        self.container_ips[c.name] = {}
        default_set = False
        for i, net in enumerate(nets):
            if net not in self.network_bridge:
                raise NotModelled(f"{c.name} is on network {net}, not in the setup")
            bridge, gw, internal = self.network_bridge[net]
            prefix = self.host.bridges[bridge][0].split("/")[1]
            subnet = str(_iface(self.host.bridges[bridge][0]).network)
            ip = ips.get(net)
            if ip:
                if ip in self.used:
                    raise NotModelled(f"address {ip} is used twice")
                self.used.add(ip)
                cidr = f"{ip}/{prefix}"
            else:
                cidr = _first_free(subnet, self.used)
            self.container_ips[c.name][net] = str(_iface(cidr).ip)
            self.plan.link(
                End(node.name, f"eth{i}", (cidr,)), End("host", self._veth(), master=bridge)
            )
            if not internal and not default_set:
                node.routes.append(f"default via {gw}")
                default_set = True
        self._publish(c)

    def _publish(self, c: Container) -> None:
        ips = self.container_ips.get(c.name) or {}
        # Docker publishes nothing through an internal network.
        reachable = [ip for net, ip in ips.items() if not self.network_bridge[net][2]]
        if not reachable:
            return
        cip = reachable[0]
        daemon = self.setup.docker.daemon if self.setup.docker else None
        for pub in c.ports or []:
            if pub.protocol not in ("tcp", "udp"):
                continue
            if not pub.published:
                raise NotModelled(f"{c.name} publishes {pub.target} on an ephemeral host port")
            hosts = [int(p) for p in pub.published.split("-")]
            targets = [int(p) for p in pub.target.split("-")]
            if len(hosts) != 1 or len(targets) != 1:
                raise NotModelled(f"{c.name}: port ranges are not modelled")
            match = "fib daddr type local"
            # The daemon's "ip" is the bind address of every -p that names none, on the
            # default bridge (user-defined networks have their own host_binding_ipv4).
            on_default = "bridge" in ips
            host_ip = pub.host_ip or (daemon.ip if daemon and on_default else None)
            if host_ip and host_ip not in ("0.0.0.0", "::"):
                if ":" in host_ip:
                    continue  # an IPv6-only binding: no IPv4 rule
                match = f"ip daddr {host_ip}"
            self.publish_rules.setdefault(c.name, []).append(
                f"{match} {pub.protocol} dport {hosts[0]} dnat to {cip}:{targets[0]}"
            )
            # Docker holds each published port on the host (docker-proxy's bind, its port
            # allocator): a port already taken makes the container fail to start.
            bind = host_ip if host_ip and host_ip != "::" else "0.0.0.0"
            self.host.listen(f"proxy:{c.name}", bind, hosts[0], pub.protocol)
            self.published_ports.add((hosts[0], pub.protocol))

    # -------------------------------------------------------------------------------- VMs
    def vms(self) -> None:
        nets = {n.name: n for n in self.setup.vm_networks or []}
        for vm in self.setup.vms or []:
            node = self.plan.node(f"vm{len(self.vm_node)}")
            self.vm_node[vm.name] = node.name
            self.vm_ips[vm.name] = []
            self.vm_forwards[vm.name] = {}
            for text in vm.listens or []:
                self._listen(node, text, f"vm:{vm.name}")
            adapters = [a for a in vm.adapters or [] if a.connected is not False]
            if len(adapters) > 1:
                raise NotModelled(f"{vm.name} has several adapters")
            for i, adapter in enumerate(adapters):
                self._adapter(vm.name, vm.hypervisor, node, i, adapter, nets)

    def _adapter(
        self,
        vm: str,
        hypervisor: str | None,
        node: Node,
        index: int,
        adapter: VmAdapter,
        nets: dict[str, VmNetwork],
    ) -> None:
        mode = adapter.mode
        if not adapter.address:
            raise NotModelled(f"{vm}: the adapter's address is not said (DHCP is not modelled)")
        addr = _iface(adapter.address)
        per_vm = hypervisor == "virtualbox" and mode == "nat"
        if not per_vm:  # each VirtualBox NAT engine is a private network of its own VM
            if str(addr.ip) in self.used:
                raise NotModelled(f"address {addr.ip} is used twice")
            self.used.add(str(addr.ip))
        if mode == "bridged":
            vmnet = nets.get(adapter.network or "") if adapter.network else None
            if vmnet is None and hypervisor == "vmware":
                vmnet = nets.get("VMnet0")
            said = adapter.bridged_to or (vmnet.bridged_to if vmnet else None)
            switch = "vmnet0"
            others = {
                (i.name or "").strip().lower()
                for i in (self.setup.host.interfaces or [] if self.setup.host else [])
            } - {self.uplink_said, ""}
            if said and said.strip().lower() in others:
                # Bridged to another adapter than the LAN's: its frames go to a network the
                # setup does not describe; in the lab, to one with nobody on it.
                switch = f"iso-{len(self.isolated)}"
                self.isolated.append(switch)
                self.host.bridges[switch] = []
            self.plan.link(
                End(node.name, f"eth{index}", (adapter.address,)),
                End("host", self._veth(), master=switch),
            )
            if hypervisor in ("vmware", "virtualbox"):
                # Their bridging drivers hand frames to the NIC below Linux's bridge layer:
                # no netfilter (a FORWARD DROP does not touch them).
                self.netfilter_free_bridges.add(switch)
            # An unsaid gateway is the LAN's (what the LAN's DHCP would hand out).
            gateway = adapter.gateway or (
                self.lan_gateway if addr.ip in ipaddress.IPv4Network(self.lan_subnet) else None
            )
            if gateway and ipaddress.IPv4Address(gateway) in addr.network:
                # (a gateway outside the subnet is refused by the guest's kernel too:
                # "Nexthop has invalid gateway", so the guest has no default route)
                node.routes.append(f"default via {gateway}")
            self.vm_ips[vm].append((str(addr.ip), self.host_ip))
            return
        if mode not in ("nat", "hostonly"):
            raise NotModelled(f"{vm}: adapter mode {mode}")
        vmnet = nets.get(adapter.network or "") if adapter.network else None
        if vmnet is None and hypervisor == "vmware":
            default = {"nat": "VMnet8", "hostonly": "VMnet1"}[mode]
            vmnet = nets.get(default)
        subnet = str(addr.network)
        if vmnet and vmnet.subnet and ipaddress.IPv4Network(vmnet.subnet) != addr.network:
            raise NotModelled(f"{vm}: address outside its network's subnet")
        key = f"{vm}" if per_vm else (vmnet.name if vmnet else f"{hypervisor}-{mode}-{subnet}")
        bridge = self._vm_bridge(key)
        first = bridge not in self.host.bridges and bridge not in self.plan.nodes
        if per_vm:
            host_adapter = False  # VirtualBox's NAT engine is per VM, with no host adapter
        elif vmnet and (vmnet.host_adapter is False or vmnet.host_adapter_enabled is False):
            host_adapter = False
        else:
            host_adapter = True
        net = addr.network
        said = vmnet.host_address if vmnet else None
        host_address = said.split("/")[0] if said else str(next(net.hosts()))
        gateway = (
            adapter.gateway
            or (vmnet.gateway if vmnet else None)
            or _default_gateway(hypervisor, mode, net)
        )
        if first:
            self.host.bridges[bridge] = []
            if host_adapter:
                self.host.bridges[bridge].append(f"{host_address}/{net.prefixlen}")
                self.host.addresses.append(f"{host_address}/{net.prefixlen}")
                self.used.add(host_address)
        self.plan.link(
            End(node.name, f"eth{index}", (adapter.address,)),
            End("host", self._veth(), master=bridge),
        )
        if gateway and ipaddress.IPv4Address(gateway) in addr.network:
            node.routes.append(f"default via {gateway}")
        # "The host" seen from a NAT or host-only guest is the host's address on that switch
        # (which nobody has when the host adapter is missing).
        self.vm_ips[vm].append((str(addr.ip), host_address))
        if mode == "hostonly":
            if first:
                # A host-only switch routes nowhere: the host answers, it does not forward.
                self.forward_rules += [
                    f'iifname "{bridge}" oifname != "{bridge}" drop',
                    f'oifname "{bridge}" iifname != "{bridge}" drop',
                ]
            return
        # NAT
        if vmnet and (vmnet.nat_service == "stopped" or vmnet.active is False):
            raise NotModelled(f"{vm}: a stopped NAT service is not modelled")
        if not gateway:
            raise NotModelled(f"{vm}: the NAT gateway is not said")
        forwards = list(adapter.port_forwards or []) + list(
            (vmnet.port_forwards if vmnet and first else None) or []
        )
        if hypervisor in ("libvirt", "hyperv") and gateway == host_address and host_adapter:
            # libvirt / Hyper-V style: the host kernel is the NAT device.
            if first:
                self.host_forwarding = True
                self.post_rules.append(f'ip saddr {net} oifname != "{bridge}" masquerade')
                self.forward_rules += [
                    f'iifname "{bridge}" oifname "{self.host_dev}" accept',  # libvirt's FWO
                    f'oifname "{bridge}" ct state established,related accept',
                    f'oifname "{bridge}" ct status dnat accept',
                    f'oifname "{bridge}" drop',
                ]
            target_node = "host"
        else:
            device_gw = (vmnet.gateway if vmnet else None) or _default_gateway(
                hypervisor, mode, net
            )
            if device_gw is None:
                raise NotModelled(f"{vm}: the NAT device's address is not said")
            target_node = self._nat_device(key, bridge, f"{device_gw}/{net.prefixlen}", net, first)
            if per_vm:
                # VirtualBox: the NAT gateway 10.0.2.2 is the host's own loopback seen from
                # the guest ("the host" is dialled there).
                self.vm_ips[vm][-1] = (str(addr.ip), device_gw)
                host_side = self.nat_uplinks[key][0]
                self.plan.node(target_node).nft[1:1] = [
                    f'  iifname "inside" ip daddr {device_gw} dnat to {host_side}'
                ]
            if first:
                # The host's adapter on a NAT switch does not route: only the NAT device does.
                self.forward_rules += [
                    f'iifname "{bridge}" oifname != "{bridge}" drop',
                    f'oifname "{bridge}" iifname != "{bridge}" ct status != dnat drop',
                ]
        for text in forwards:
            fwd = parse_forward(text)
            if fwd["proto"] != "tcp":
                continue
            guest = fwd.get("guest_ip") or str(addr.ip)
            if guest != str(addr.ip):
                continue  # a forward to another guest of the network
            dest = f"{guest}:{fwd['guest_port']}"
            self.vm_forwards[vm][fwd["host_port"]] = dest
            match = f"ip daddr {fwd['host_ip']}" if fwd.get("host_ip") else "fib daddr type local"
            if target_node == "host":
                self.nat_rules.append(f"{match} tcp dport {fwd['host_port']} dnat to {dest}")
            else:
                nat_ip = self.nat_uplinks[key][1]
                self.nat_rules.append(
                    f"{match} tcp dport {fwd['host_port']} dnat to {nat_ip}:{fwd['host_port']}"
                )
                self.plan.node(target_node).nft[1:1] = [
                    f'  iifname "outside" tcp dport {fwd["host_port"]} dnat to {dest}'
                ]

    def _vm_bridge(self, key: str) -> str:
        if key not in self.vm_bridges:
            self.vm_bridges[key] = f"vmnet-{len(self.vm_bridges)}"
        return self.vm_bridges[key]

    def _nat_device(
        self, key: str, bridge: str, gw_cidr: str, net: ipaddress.IPv4Network, first: bool
    ) -> str:
        """A NAT device of its own (VMware's vmnat, VirtualBox's NAT engine)."""
        name = f"nat{len(self.nat_uplinks)}" if first else f"nat{list(self.nat_uplinks).index(key)}"
        if not first:
            return name
        k = len(self.nat_uplinks)
        host_side, nat_side = f"100.64.{k}.1", f"100.64.{k}.2"
        self.nat_uplinks[key] = (host_side, nat_side)
        self.plan.link(
            End(name, "inside", (gw_cidr,), None), End("host", self._veth(), master=bridge)
        )
        self.plan.link(
            End(name, "outside", (f"{nat_side}/30",)), End("host", f"n{k}", (f"{host_side}/30",))
        )
        device = self.plan.node(name)
        device.routes.append(f"default via {host_side}")
        # A forward bound to the host's 127.0.0.1 crosses to the device like Docker's.
        self.host.sysctls[f"net.ipv4.conf.n{k}.route_localnet"] = "1"
        self.post_rules.append(f'ip saddr 127.0.0.0/8 oifname "n{k}" masquerade')
        device.sysctls["net.ipv4.ip_forward"] = "1"
        device.nft += [
            *_chain("prerouting", []),
            *_chain("postrouting", ['oifname "outside" masquerade']),
            *_chain(
                "forward",
                [
                    'oifname "inside" ct state established,related accept',
                    'oifname "inside" ct status dnat accept',
                    'oifname "inside" drop',
                ],
            ),
        ]
        # The NAT services are user-space proxies: a forwarded connection reaches the guest
        # from the gateway's address.
        device.nft[4:4] = ['  oifname "inside" ct status dnat masquerade']
        # The host sends the device's traffic on as its own (the NAT service is the host's).
        self.host_forwarding = True
        self.post_rules.append(f"ip saddr {nat_side} masquerade")
        return name

    # ---------------------------------------------------------------------- host firewall
    def finish(self) -> None:
        host = self.setup.host
        if host and host.firewall not in (None, "none"):
            raise NotModelled(f"host firewall {host.firewall}")
        if host and host.ip_forward is False and self.nat_uplinks:
            raise NotModelled("a hypervisor's NAT service with the host's ip_forward off")
        forwarding = self.host_forwarding
        if host and host.ip_forward is not None:
            forwarding = host.ip_forward or bool(self.nat_uplinks)
        self.host.sysctls["net.ipv4.ip_forward"] = "1" if forwarding else "0"
        if host and host.bridge_netfilter is not None:
            self.host.sysctls["net.bridge.bridge-nf-call-iptables"] = (
                "1" if host.bridge_netfilter else "0"
            )
        policy = "drop" if host and host.forward_policy == "drop" else "accept"
        nft = self.host.nft
        # Each container's DNAT rules have a chain of their own, which the lab empties when
        # the container cannot start (its published port is taken).
        chains = {name: f"pub-{i}" for i, name in enumerate(self.publish_rules)}
        self.plan.publish_chains = {
            f"proxy:{name}": (chain, f"container:{name}") for name, chain in chains.items()
        }
        for name, chain in chains.items():
            nft.append(f"chain {chain} {{")
            nft += [f"  {rule}" for rule in self.publish_rules[name]]
            nft.append("}")
        if self.nat_rules or chains:
            jumps = [f"jump {chain}" for chain in chains.values()]
            nft += _chain("prerouting", self.nat_rules + jumps)
            nft += _chain("output", self.nat_rules + jumps)
        if self.post_rules:
            nft += _chain("postrouting", self.post_rules)
        self.forward_rules[0:0] = [
            f'iifname "{b}" oifname "{b}" accept' for b in sorted(self.netfilter_free_bridges)
        ]
        # What a user-space NAT service sends is the host's own traffic, never FORWARDed.
        for k in range(len(self.nat_uplinks)):
            self.forward_rules[0:0] = [
                f'iifname "n{k}" accept',
                f'oifname "n{k}" ct state established,related accept',
            ]
        if self.forward_rules or policy == "drop":
            nft += _chain("forward", self.forward_rules, policy)

    # ------------------------------------------------------------------------- symptoms
    def probes(self) -> None:
        for sym in self.setup.symptoms or []:
            sid = sym.id or ""
            try:
                self.plan.probes.append(self._probe(sid, sym))
            except NotModelled as exc:
                self.plan.skipped[sid] = str(exc)

    def _probe(self, sid: str, sym: Symptom) -> Probe:
        if sym.type == "start":
            owner = sym.from_
            kind, _, name = owner.partition(":")
            if kind != "container" or name not in self.container_node:
                raise NotModelled("only a container's start is probed")
            return Probe(sid, self.container_node[name], start=owner)
        dial = (sym.dial or "").strip()
        if dial and dial.lower() != "localhost" and not _is_ip(dial):
            raise NotModelled(f"dialling the name {dial} (name resolution is not modelled)")
        if sym.type not in (None, "connect") or sym.to is None:
            raise NotModelled("only connections and pings are probed")
        if sym.proto not in ("tcp", "udp"):
            raise NotModelled(f"{sym.proto} is not probed")
        source = self._source(sym.from_)
        if sym.port is None:  # "can A reach B" with no port: a ping of B's own address
            address = self._ping_address(sym)
            self._place(address)
            return Probe(sid, source, address, 0, kind="ping")
        address = self._destination(sym, source)
        self._place(address)
        self._default_listener(sym, address)
        kind = (sym.to or "").partition(":")[0]
        target = sym.to if kind in ("container", "vm") else None
        return Probe(sid, source, address, sym.port, kind=sym.proto, target=target)

    def _ping_address(self, sym: Symptom) -> str:
        kind, _, name = (sym.to or "").partition(":")
        if sym.dial and _is_ip(sym.dial):
            return sym.dial
        if kind == "container" and name in self.container_node:
            if self.container_node[name] == "host":
                return self._destination(sym, self._source(sym.from_))
            node = self.container_node[name]
            ips = self.container_ips.get(name) or next(
                (v for c, v in self.container_ips.items() if self.container_node[c] == node and v),
                {},
            )
            if not ips:
                raise NotModelled(f"{name} has no address to ping")
            # From a container, the address on a network they share (as for a connection).
            from_kind, _, from_name = sym.from_.partition(":")
            mine = self.container_ips.get(from_name) or {} if from_kind == "container" else {}
            shared = [ip for net, ip in ips.items() if net in mine]
            return shared[0] if shared else next(iter(ips.values()))
        if kind == "vm" and self.vm_ips.get(name):
            return self.vm_ips[name][0][0]
        return self._destination(sym, self._source(sym.from_))

    def _publisher_listens(self, port: int, proto: str) -> None:
        for c in (self.setup.docker.containers if self.setup.docker else None) or []:
            if c.listens is not None or c.name not in self.container_node:
                continue
            for p in c.ports or []:
                if p.published == str(port) and p.target.isdigit() and p.protocol == proto:
                    node = self.plan.node(self.container_node[c.name])
                    node.listen(f"container:{c.name}", "0.0.0.0", int(p.target), proto)

    def _owner_of(self, ip: ipaddress.IPv4Address) -> Node | None:
        for node in self.plan.nodes.values():
            if any(_iface(a).ip == ip for a in node.addresses):
                return node
        return None

    def _place(self, address: str) -> None:
        """Give a dialled address nobody has to a LAN machine or to the internet stand-in."""
        ip = ipaddress.IPv4Address(address)
        if ip.is_loopback or self._owner_of(ip) is not None:
            return
        subnets = [_iface(a).network for n in self.plan.nodes.values() for a in n.addresses]
        behind_vpn = [node for net, node in self.vpn_subnets if ip in net]
        if behind_vpn:
            target, ifname, cidr = self.plan.node(behind_vpn[-1]), "lo", f"{ip}/32"
        elif ip in ipaddress.IPv4Network(self.lan_subnet):
            prefix = ipaddress.IPv4Network(self.lan_subnet).prefixlen
            target, ifname, cidr = self.plan.node("lan"), "eth0", f"{ip}/{prefix}"
        elif any(ip in net for net in subnets):
            return  # inside a network of the setup where nobody has it: nobody answers
        else:
            target, ifname, cidr = self.plan.node("inet"), "lo", f"{ip}/32"
        target.extra.append((ifname, cidr))
        target.addresses.append(cidr)

    def _default_listener(self, sym: Symptom, address: str) -> None:
        """Where the setup does not say what listens, the service is up on every address."""
        to, port, proto = sym.to or "", sym.port or 0, sym.proto
        kind, _, name = to.partition(":")
        source = self._source(sym.from_)
        via_host = address == self.host_ip or (address == "127.0.0.1" and source == "host")
        if (
            not via_host
            and source != "host"
            and any(address == gw for _b, gw, _i in self.network_bridge.values())
        ):
            via_host = True  # a container dialling the host at its bridge's gateway
        if to in ("lan", "internet") or _is_ip(to):
            owner = self._owner_of(ipaddress.IPv4Address(address))
            if owner is not None and (
                owner.name in ("lan", "inet") or owner.name.startswith("vpn")
            ):
                # A UDP reply leaves from the address the socket is bound to: bind the one
                # dialled, or a client connected to it would drop the answer.
                owner.listen(to, address if proto == "udp" else "0.0.0.0", port, proto)
        elif to == "host" and (self.setup.host is None or self.setup.host.listens is None):
            if (port, proto) not in self.published_ports:
                self.host.listen("host", "0.0.0.0", port, proto)
            else:  # the published container answers, on the mapping's container port
                self._publisher_listens(port, proto)
        elif kind == "container":
            c = next(
                c
                for c in (self.setup.docker.containers if self.setup.docker else None) or []
                if c.name == name
            )
            if c.listens is not None:
                return
            node = self.container_node[name]
            if via_host:
                # Through the host's port: the app listens on the mapping's container port
                # (in host mode Docker ignores the mapping, so the app is on that port too).
                targets = [
                    int(p.target)
                    for p in c.ports or []
                    if p.published == str(port) and p.target.isdigit() and p.protocol == proto
                ]
                if targets:
                    port = targets[0]
                elif node != "host":
                    return
            self.plan.node(node).listen(to, "0.0.0.0", port, proto)
        elif kind == "vm":
            vm = next(v for v in self.setup.vms or [] if v.name == name)
            if vm.listens is not None:
                return
            if via_host and port in self.vm_forwards.get(name, {}):
                port = int(self.vm_forwards[name][port].rsplit(":", 1)[1])
            self.plan.node(self.vm_node[name]).listen(to, "0.0.0.0", port, proto)

    def _source(self, endpoint: str) -> str:
        if endpoint in ("lan", "host"):
            return endpoint
        if endpoint == "internet":
            return "inet"
        kind, _, name = endpoint.partition(":")
        if kind == "container" and name in self.container_node:
            return self.container_node[name]
        if kind == "vm" and name in self.vm_node:
            return self.vm_node[name]
        raise NotModelled(f"a connection from {endpoint}")

    def _destination(self, sym: Symptom, source: str) -> str:
        to = sym.to or ""
        port = sym.port or 0
        dial = (sym.dial or "").strip().lower()
        if dial and dial not in ("localhost", "127.0.0.1") and not _is_ip(dial):
            raise NotModelled(f"dialling the name {sym.dial}")
        if _is_ip(dial) and dial != "127.0.0.1":
            return dial
        if to == "internet":
            if source == "inet":
                raise NotModelled("from the internet to the internet")
            return INTERNET_ADDRESS
        if to == "lan":
            return self.lan_ip
        if dial in ("localhost", "127.0.0.1"):
            return "127.0.0.1"
        kind, _, name = to.partition(":")
        from_kind, _, from_name = sym.from_.partition(":")
        if to == "host":
            if from_kind == "container":
                nets = self.container_ips.get(from_name) or {}
                if not nets:
                    raise NotModelled(f"{from_name} has no network of its own")
                return self.network_bridge[next(iter(nets))][1]
            if from_kind == "vm":
                return self.vm_ips[from_name][0][1] if self.vm_ips.get(from_name) else self.host_ip
            if source == "inet":
                raise NotModelled("from the internet to the host (the router does no port forward)")
            return self.host_ip
        if kind == "container":
            if name not in self.container_node:
                raise NotModelled(f"container {name} is not in the setup")
            if from_kind == "container":
                mine = self.container_ips.get(from_name) or {}
                theirs = self.container_ips.get(name) or {}
                if self.container_node[name] == "host" and mine:
                    # A host-mode peer is the host: dialled at the host's address on the
                    # client's own network, its bridge's gateway (X29).
                    return self.network_bridge[next(iter(mine))][1]
                for net, ip in theirs.items():
                    if net in mine:
                        return ip
                if self.container_node.get(from_name) == self.container_node[name]:
                    return "127.0.0.1"  # one namespace: they talk over lo (C3)
                if theirs:
                    return next(iter(theirs.values()))
                raise NotModelled(f"{name} has no address to dial")
            if source == "inet":
                raise NotModelled(
                    "from the internet to a container (the router does no port forward)"
                )
            if self.container_node[name] == "host" and source == "host":
                return "127.0.0.1"  # the host reaches its own services on localhost
            if from_kind == "vm" and self.vm_ips.get(from_name):
                return self.vm_ips[from_name][0][1]  # the host as that VM sees it
            return self.host_ip
        if kind == "vm":
            if name not in self.vm_node or not self.vm_ips.get(name):
                raise NotModelled(f"vm {name} has no address to dial")
            if source in ("lan", "host") and port in self.vm_forwards.get(name, {}):
                return self.host_ip
            return self.vm_ips[name][0][0]
        if _is_ip(to):
            return to
        raise NotModelled(f"a connection to {to}")


_HOOKS = {
    "prerouting": "type nat hook prerouting priority dstnat",
    "output": "type nat hook output priority -100",
    "postrouting": "type nat hook postrouting priority srcnat",
    "forward": "type filter hook forward priority filter",
}


def _chain(hook: str, rules: list[str], policy: str = "accept") -> list[str]:
    """The lines of one base chain of the lab's nftables table."""
    return [f"chain {hook} {{ {_HOOKS[hook]}; policy {policy};", *[f"  {r}" for r in rules], "}"]


def _is_vpn(kind: str | None, name: str | None) -> bool:
    return kind == "vpn" or bool(name and re.match(r"(tun|wg|tap)\d*$", name))


def _default_gateway(hypervisor: str | None, mode: str, net: ipaddress.IPv4Network) -> str | None:
    """The gateway a hypervisor gives its NAT guests when the setup does not say."""
    if mode != "nat":
        return None
    defaults = vm_defaults().get(hypervisor or "", {}).get(mode, {})
    if "gateway" in defaults and ipaddress.IPv4Address(defaults["gateway"]) in net:
        return defaults["gateway"]
    if hypervisor == "vmware":
        return str(net.network_address + 2)  # VMware's NAT device is .2 of VMnet8
    return None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def plan_setup(setup: Setup) -> Plan:
    """The lab plan of a setup; raises NotModelled when the lab cannot reproduce it."""
    planner = _Planner(setup)
    planner.lan()
    planner.docker()
    planner.vms()
    planner.finish()
    planner.probes()
    for node in planner.plan.nodes.values():
        node.sysctls.setdefault("net.ipv4.ip_forward", "0")
    return planner.plan
