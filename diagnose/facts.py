"""Flatten a Setup into engine facts, plus the relations the engine cannot compute itself.

Facts are flat dicts with a `kind`; values stay typed (80, not "80"); unknown values are left
out (the engine treats a missing key and None differently, see the project notes). The
relations computed here are arithmetic, not diagnosis: CIDR membership and overlap, address
scopes, which entity an address belongs to, and host-port collisions.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from diagnose.model import Container, Docker, Setup, Symptom, parse_forward
from diagnose.ports import address_scope, parse_listen, parse_port_range, port_pairs
from diagnose.yamltext import parse

Fact = dict[str, Any]
IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

DOCKER0_SUBNET = "172.17.0.0/16"
DOCKER0_GATEWAY = "172.17.0.1"
MAX_EXPANDED_PORTS = 2048
WELL_KNOWN_VMNETS = {"vmnet0": "bridged", "vmnet1": "hostonly", "vmnet8": "nat"}
HOST_ALIASES = ("host.docker.internal", "gateway.docker.internal", "host-gateway")
USER_BRIDGE = "br-…"  # br-<12 hex digits of the network id>: the id is never in a setup


@cache
def vm_defaults() -> dict[str, dict[str, dict[str, str]]]:
    """Per hypervisor and mode: the default switch, subnet, gateway (knowledge/modes.yaml)."""
    text = resources.files("diagnose.knowledge").joinpath("modes.yaml").read_text("utf-8")
    data: dict[str, dict[str, dict[str, str]]] = parse(text, "knowledge/modes.yaml").data
    return data


@cache
def says_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Error-message classes (refused, timeout, dns...) and their patterns (knowledge/says.yaml)."""
    text = resources.files("diagnose.knowledge").joinpath("says.yaml").read_text("utf-8")
    data = parse(text, "knowledge/says.yaml").data
    return [(cls, re.compile("|".join(pats), re.IGNORECASE)) for cls, pats in data.items()]


def classify_says(says: str | None) -> str | None:
    """The class of an error message the user quotes, or None."""
    if not says:
        return None
    for cls, pattern in says_patterns():
        if pattern.search(says):
            return cls
    return None


def _put(fact: Fact, **values: Any) -> Fact:
    """Set only the known values."""
    for key, value in values.items():
        if value is not None:
            fact[key] = value
    return fact


@lru_cache(maxsize=4096)  # ipaddress parsing is slow and setups repeat addresses
def _iface(text: str | None) -> tuple[str | None, int | None, str | None]:
    """Split an address like 192.168.1.10/24 into (address, prefix, subnet)."""
    if text is None:
        return None, None, None
    if "/" in text:
        iface = ipaddress.ip_interface(text)
        return str(iface.ip), iface.network.prefixlen, str(iface.network)
    return text, None, None


@lru_cache(maxsize=4096)  # ipaddress parsing is slow and setups repeat addresses
def _net(text: str | None) -> IPNet | None:
    return ipaddress.ip_network(text, strict=False) if text else None


@lru_cache(maxsize=4096)
def _span(text: str | None) -> tuple[int, int, int] | None:
    """A subnet as (IP version, first address, last address): comparing numbers is far
    cheaper than ipaddress's overlaps(), and every pair of sites is compared."""
    net = _net(text)
    if net is None:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


@lru_cache(maxsize=4096)  # ipaddress parsing is slow and setups repeat addresses
def _inside(address: str | None, subnet: str | None) -> bool | None:
    if address is None or subnet is None:
        return None
    return ipaddress.ip_address(address) in ipaddress.ip_network(subnet, strict=False)


@dataclass
class _Site:
    """An address range somebody routes: the LAN, a VPN, a VM network, a Docker network."""

    kind: str
    name: str
    subnet: str
    src: str | None = None  # the setup entry that declares it


_SITE_ORDER = ("lan", "vpn", "route", "vm_network", "dnet", "pool")


class _Builder:
    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.facts: list[Fact] = []
        self.sites: list[_Site] = []
        self.addresses: dict[str, tuple[str, str]] = {}  # ip -> (entity kind, name)
        self.names: dict[str, set[str]] = {}  # DNS name -> containers known by it
        # Ports some symptom dials: always expanded, even inside a range too big to expand.
        self.dialled = {s.port for s in setup.symptoms or [] if s.port is not None}
        # Where in the Setup the facts being added come from ("docker.containers[0].ports[1]"):
        # a finding points back to the file and line of what it is about.
        self.src: str | None = None
        # The Docker facts the relations read, kept as they are added (not found by kind in
        # every fact once per relation).
        self.dnets: list[Fact] = []
        self.containers: list[Fact] = []
        self.attaches: list[Fact] = []
        self.host_ports: list[Fact] = []  # publish facts with a host port

    def _site(self, site: _Site) -> None:
        site.src = self.src
        self.sites.append(site)

    def add(self, kind: str, **values: Any) -> Fact:
        fact: Fact = {"kind": kind}
        for key, value in values.items():
            if value is not None:  # unknown stays out of the fact
                fact[key] = value
        if self.src is not None and "src" not in values:
            fact["src"] = self.src
        self.facts.append(fact)
        return fact

    # ------------------------------------------------------------------------------ host/LAN

    def host(self) -> None:
        host = self.setup.host
        primary = None
        for i, iface in enumerate((host.interfaces or []) if host else []):
            self.src = f"host.interfaces[{i}]"
            address, prefix, subnet = _iface(iface.address)
            self.add(
                "host_iface",
                name=iface.name,
                address=address,
                prefix=prefix,
                subnet=subnet,
                gateway=iface.gateway,
                type=iface.type,
                up=iface.up,
            )
            if address:
                self.addresses.setdefault(address, ("host", "host"))
            if iface.type == "vpn" and subnet:
                self._site(_Site("vpn", iface.name or address or "vpn", subnet))
            physical = address and iface.type in (None, "ethernet", "wifi")
            # The LAN interface: the first physical one, unless a later one has the gateway.
            if physical and (primary is None or (iface.gateway and not primary[0].gateway)):
                primary = (iface, address, subnet)
        # A host whose LAN address sits on a Linux bridge (br0 holding the NIC, for bridged
        # VMs): the bridge with the default gateway is the LAN interface.
        for iface in (host.interfaces or []) if host and primary is None else []:
            address, _, subnet = _iface(iface.address)
            if address and iface.type == "bridge" and iface.gateway:
                primary = (iface, address, subnet)
                break
        for i, route in enumerate((host.routes or []) if host else []):
            self.src = f"host.routes[{i}]"
            self.add("host_route", to=route.to, via=route.via, dev=route.dev, vpn=route.vpn)
            self._site(_Site("vpn" if route.vpn else "route", route.dev or route.to, route.to))
        listed: set[tuple[str | None, int, str]] = set()
        for i, text in enumerate((host.listens or []) if host else []):
            self.src = f"host.listens[{i}]"
            ln = parse_listen(text)
            listed.add((ln.address, ln.port, ln.proto))
            self.add(
                "host_service", address=ln.address, port=ln.port, proto=ln.proto, scope=ln.scope
            )
        # A resolv.conf naming 127.0.0.53 means systemd-resolved's stub listens there on port
        # 53 (udp and tcp): it holds port 53 even when the user listed no services.
        self.src = "host.resolver" if host and host.resolver else None
        if host and host.resolver and "127.0.0.53" in host.resolver:
            for proto in ("udp", "tcp"):
                if ("127.0.0.53", 53, proto) not in listed:
                    self.add(
                        "host_service",
                        address="127.0.0.53",
                        port=53,
                        proto=proto,
                        scope="loopback",
                        implied=True,
                    )
        lan = self.setup.lan
        lan_subnet = (lan.subnet if lan else None) or (primary[2] if primary else None)
        lan_gateway = (lan.gateway if lan else None) or (primary[0].gateway if primary else None)
        # The host always exists, even when nothing is known about it.
        resolver = host.resolver if host else None
        self.src = "host" if host else None
        self.add(
            "host",
            os=host.os if host else None,
            docker=self._docker_platform(),
            address=primary[1] if primary else None,
            nic=primary[0].name if primary else None,
            nic_type=primary[0].type if primary else None,
            ip_forward=host.ip_forward if host else None,
            forward_policy=host.forward_policy if host else None,
            bridge_netfilter=host.bridge_netfilter if host else None,
            firewall=host.firewall if host else None,
            services_known=host.listens is not None if host else False,
            resolver_loopback=(
                any(ipaddress.ip_address(r).is_loopback for r in resolver) if resolver else None
            ),
            # Docker drops loopback nameservers for default-bridge containers; when none is
            # left it falls back to 8.8.8.8, except that a lone 127.0.0.53 (systemd-resolved's
            # stub) makes it read /run/systemd/resolve/resolv.conf instead.
            resolver_all_loopback=(
                all(ipaddress.ip_address(r).is_loopback for r in resolver) if resolver else None
            ),
            resolver_stub_only=(resolver == ["127.0.0.53"]) if resolver else None,
            desktop_host_networking=host.docker_desktop_host_networking if host else None,
        )
        if lan_subnet or lan_gateway or lan is not None:
            self.src = "lan" if lan is not None else None
            self.add("lan", subnet=lan_subnet, gateway=lan_gateway, dns_known=bool(lan and lan.dns))
            if lan_subnet:
                self._site(_Site("lan", "lan", lan_subnet))
        self.lan_subnet = lan_subnet
        self.lan_gateway = lan_gateway
        # The host's interfaces by name, and the one that carries the LAN: bridged VMs are
        # judged by the interface their switch is bridged to.
        self.ifaces = {
            i.name.lower(): i for i in ((host.interfaces or []) if host else []) if i.name
        }
        self.primary_nic = primary[0] if primary else None

    def _docker_platform(self) -> str | None:
        host = self.setup.host
        if host and host.docker:
            return host.docker
        return None

    # ------------------------------------------------------------------------------------ VMs

    def vms(self) -> None:
        networks = {n.name.lower(): n for n in self.setup.vm_networks or []}
        for i, net in enumerate(self.setup.vm_networks or []):
            self.src = f"vm_networks[{i}]"
            defaults = vm_defaults().get(net.hypervisor or "", {}).get(net.mode or "", {})
            subnet = net.subnet or defaults.get("subnet")
            host_addr, _, _ = _iface(net.host_address)
            self.add(
                "vm_network",
                name=net.name,
                hypervisor=net.hypervisor,
                mode=net.mode,
                subnet=subnet,
                subnet_default=True if (subnet and not net.subnet) else None,
                gateway=net.gateway or defaults.get("gateway"),
                host_adapter=net.host_adapter,
                host_adapter_enabled=net.host_adapter_enabled,
                host_address=host_addr,
                host_profile=net.host_profile,
                dhcp=net.dhcp,
                dhcp_service=net.dhcp_service,
                nat_service=net.nat_service,
                bridged_to=net.bridged_to,
                bridged_to_auto=_is_auto(net.bridged_to) if net.bridged_to else None,
                host_adapter_state=_host_adapter_state(net.host_adapter, net.host_adapter_enabled),
                auto_candidates=self._auto_candidates() if _is_auto(net.bridged_to) else None,
                active=net.active,
                autostart=net.autostart,
            )
            if subnet and net.mode not in ("bridged", "external", "direct"):
                self._site(_Site("vm_network", net.name, subnet))
            for j, text in enumerate(net.port_forwards or []):
                self.src = f"vm_networks[{i}].port_forwards[{j}]"
                self._forward(text, network=net.name)
        for i, vm in enumerate(self.setup.vms or []):
            self.src = f"vms[{i}]"
            self.add(
                "vm",
                name=vm.name,
                hypervisor=vm.hypervisor,
                os=vm.os,
                adapters_known=vm.adapters is not None,
                services_known=vm.listens is not None,
            )
            for j, text in enumerate(vm.listens or []):
                self.src = f"vms[{i}].listens[{j}]"
                ln = parse_listen(text)
                self.add(
                    "vm_service",
                    vm=vm.name,
                    address=ln.address,
                    port=ln.port,
                    proto=ln.proto,
                    scope=ln.scope,
                )
            for index, adapter in enumerate(vm.adapters or []):
                self.src = f"vms[{i}].adapters[{index}]"
                self._adapter(vm.name, vm.hypervisor, index, adapter, networks)
        self.src = None
        # Forwards on a NAT network name their guest by address; tie them to the VM.
        for fact in self.facts:
            if fact["kind"] == "forward" and "vm" not in fact and "guest_ip" in fact:
                owner = self.addresses.get(fact["guest_ip"])
                if owner and owner[0] == "vm":
                    fact["vm"] = owner[1]

    def _adapter(
        self, vm: str, hypervisor: str | None, index: int, adapter: Any, networks: dict[str, Any]
    ) -> None:
        net = networks.get((adapter.network or "").lower())
        mode = adapter.mode
        effective = mode
        if mode in (None, "custom") and adapter.network:
            effective = (net.mode if net and net.mode else None) or WELL_KNOWN_VMNETS.get(
                adapter.network.lower(), effective
            )
        defaults = vm_defaults().get(hypervisor or "", {}).get(effective or "", {})
        # One spelling per switch, so that rules can join adapters to their network.
        network = (
            (net.name if net else None)
            or _vmnet_name(hypervisor, adapter.network)
            or defaults.get("switch")
        )
        if net is None and network:
            net = networks.get(network.lower())  # the default switch, when it is described
        address, prefix, subnet = _iface(adapter.address)
        net_subnet = (net.subnet if net else None) or defaults.get("subnet")
        net_gateway = (net.gateway if net else None) or defaults.get("gateway")
        host_address = _iface(net.host_address)[0] if net else None
        gateway = adapter.gateway
        # VMware bridges a whole switch (VMnet0) to a host NIC; other hypervisors bridge each
        # adapter. The adapter's own setting wins, else its switch's.
        bridged_to = adapter.bridged_to or (net.bridged_to if net else None)
        # A libvirt macvtap sits on a host NIC too: its network is that NIC (<source dev>).
        if effective == "direct" and not bridged_to and adapter.network:
            bridged_to = adapter.network
        bridged = (
            self._bridged_relations(bridged_to)
            if effective in ("bridged", "direct") or bridged_to
            else {}
        )
        fact = self.add(
            "adapter",
            vm=vm,
            index=index,
            hypervisor=hypervisor,
            mode=mode,
            effective_mode=effective,
            network=network,
            network_default=True if (network and not adapter.network) else None,
            network_mode=net.mode if net else None,
            mode_conflict=(
                True
                if (net and net.mode and mode not in (None, "custom") and net.mode != mode)
                else None
            ),
            address=address,
            prefix=prefix,
            subnet=subnet,
            gateway=gateway,
            dhcp=adapter.dhcp,
            connected=adapter.connected,
            bridged_to=bridged_to,
            **bridged,
            dns_known=adapter.dns is not None,
            dns_off_lan=self._dns_off_lan(adapter.dns),
            in_lan_subnet=_inside(address, self.lan_subnet),
            gateway_in_lan=_inside(gateway, self.lan_subnet),
            gateway_is_lan_gateway=(gateway == self.lan_gateway)
            if (gateway and self.lan_gateway)
            else None,
            in_network_subnet=_inside(address, net_subnet),
            gateway_in_subnet=_inside(gateway, subnet) if subnet else None,
            network_subnet=net_subnet,
            network_subnet_default=True if (net_subnet and not (net and net.subnet)) else None,
            gateway_is_network_gateway=(gateway == net_gateway)
            if (gateway and net_gateway)
            else None,
            gateway_is_host_adapter=(gateway == host_address)
            if (gateway and host_address)
            else None,
            gateway_index=_host_index(gateway, net_subnet),
        )
        if address:
            self.addresses.setdefault(address, ("vm", vm))
        base = self.src
        for j, text in enumerate(adapter.port_forwards or []):
            self.src = f"{base}.port_forwards[{j}]" if base else None
            self._forward(text, vm=vm, adapter=index, network=fact.get("network"))

    def _bridged_relations(self, bridged_to: str | None) -> dict[str, Any]:
        """What a bridged adapter is bridged through: the named host interface, or (auto or
        not given) presumably the one that carries the LAN, marked as a guess."""
        out: dict[str, Any] = {}
        auto = _is_auto(bridged_to)
        named = self.ifaces.get(bridged_to.lower()) if bridged_to and not auto else None
        if auto:
            out["bridged_auto"] = True
        if named is not None:
            out["bridged_via"] = named.name
            out["bridged_iface_type"] = named.type
            out["bridged_iface_up"] = named.up
            if self.primary_nic is not None:
                out["bridged_is_lan_nic"] = named is self.primary_nic
        elif bridged_to and not auto:
            out["bridged_via"] = bridged_to  # named, though not among the interfaces given
        elif (auto or not bridged_to) and self.primary_nic is not None:
            out["bridged_via"] = self.primary_nic.name
            out["bridged_iface_type"] = self.primary_nic.type
            out["bridged_guess"] = True
        return {k: v for k, v in out.items() if v is not None}

    def _auto_candidates(self) -> int:
        """Host interfaces automatic bridging may pick: physical ones up (or not known down),
        not VMware's own host adapters (VMnetN), which it never bridges to."""
        return sum(
            1
            for name, i in self.ifaces.items()
            if i.up is not False
            and i.type in (None, "ethernet", "wifi")
            and not re.fullmatch(r"(vmware network adapter )?vmnet\d+", name)
        )

    def _dns_off_lan(self, dns: list[str] | None) -> str | None:
        """The first private DNS server outside the LAN (a bridged VM cannot reach, say, the
        NAT device's 192.168.80.2); None when the LAN is unknown or every server is fine."""
        if not dns or not self.lan_subnet:
            return None
        for server in dns:
            ip = ipaddress.ip_address(server)
            if ip.is_private and not ip.is_loopback and not _inside(server, self.lan_subnet):
                return server
        return None

    def _forward(self, text: str, **where: Any) -> None:
        fwd = parse_forward(text)
        self.add("forward", spec=text, **where, **fwd)

    # --------------------------------------------------------------------------------- Docker

    def docker(self) -> None:
        docker = self.setup.docker
        if docker is None:
            if self._docker_platform() != "engine":
                return
            # dockerd on Linux always has docker0, even when no container is described.
            docker = Docker()
        daemon = docker.daemon
        bip_address, _, bip_subnet = _iface(daemon.bip if daemon else None)
        if daemon is not None:
            dns = daemon.dns or []
            self.src = "docker.daemon"
            self.add(
                "daemon",
                bip=daemon.bip,
                bip_subnet=bip_subnet,
                bip_is_network_address=(
                    ipaddress.ip_interface(daemon.bip).ip
                    == ipaddress.ip_interface(daemon.bip).network.network_address
                )
                if daemon.bip and "/" in daemon.bip
                else None,
                dns_known=daemon.dns is not None,
                dns_loopback=any(ipaddress.ip_address(d).is_loopback for d in dns) if dns else None,
                iptables=daemon.iptables,
                ip_forward=daemon.ip_forward,
                userland_proxy=daemon.userland_proxy,
                ip=daemon.ip,
            )
            for i, pool in enumerate(daemon.default_address_pools or []):
                self.src = f"docker.daemon.default_address_pools[{i}]"
                self.add("pool", base=pool.base, size=pool.size)
                self._site(_Site("pool", pool.base, pool.base))
        declared = {n.name: n for n in docker.networks or []}
        self.src = "docker.daemon" if daemon is not None else None
        if "bridge" not in declared:
            subnet = bip_subnet or DOCKER0_SUBNET
            dnet = self.add(
                "dnet",
                name="bridge",
                driver="bridge",
                default_bridge=True,
                bridge="docker0",
                subnet=subnet,
                gateway=bip_address or DOCKER0_GATEWAY,
                subnet_default=True if not bip_subnet else None,
                declared=False,
            )
            self.dnets.append(dnet)
            self._site(_Site("dnet", "bridge", subnet))
            self.addresses.setdefault(bip_address or DOCKER0_GATEWAY, ("host", "host"))
        for i, net in enumerate(docker.networks or []):
            self.src = f"docker.networks[{i}]"
            default = net.name == "bridge"
            net_subnet = net.subnet or (bip_subnet or DOCKER0_SUBNET if default else None)
            dnet = self.add(
                "dnet",
                name=net.name,
                # An external network's driver is not in the file: unknown, not bridge.
                driver=net.driver or (None if net.external else "bridge"),
                default_bridge=default,
                # Docker names a user-defined bridge br-<first 12 hex digits of the network id>.
                bridge="docker0" if default else USER_BRIDGE,
                subnet=net_subnet,
                subnet_default=True if default and not (net.subnet or bip_subnet) else None,
                gateway=net.gateway,
                gateway_in_subnet=_inside(net.gateway, net_subnet) if net.gateway else None,
                internal=net.internal,
                external=net.external,
                declared=True,
            )
            self.dnets.append(dnet)
            # A network's gateway address is the host's own address on that bridge.
            if net.gateway:
                self.addresses.setdefault(net.gateway, ("host", "host"))
            elif default:
                self.addresses.setdefault(bip_address or DOCKER0_GATEWAY, ("host", "host"))
            if net.subnet and (net.driver or "bridge") in (
                "bridge",
                "overlay",
                "macvlan",
                "ipvlan",
            ):
                self._site(_Site("dnet", net.name, net.subnet))
        attached = set(declared) | {"bridge"}
        for i, container in enumerate(docker.containers or []):
            self.src = f"docker.containers[{i}]"
            for name in self._container(container):
                if name not in attached:
                    attached.add(name)
                    dnet = self.add(
                        "dnet",
                        name=name,
                        driver="bridge",
                        default_bridge=False,
                        bridge=USER_BRIDGE,
                        declared=False,
                    )
                    self.dnets.append(dnet)
        self.src = None  # relations below belong to no single entry
        self._pools(docker)
        self._port_clashes(docker.containers or [])
        self._ips_outside_subnets()
        self._namespace_loops()
        self._alone_on_networks()

    def _alone_on_networks(self) -> None:
        """Mark containers that share none of their networks with another container (computed
        here: comparing every pair of a network's members in the engine would be quadratic)."""
        members: dict[str, set[str]] = {}
        for fact in self.attaches:
            members.setdefault(fact["network"], set()).add(fact["container"])
        containers = self.containers
        for fact in containers:  # no mode given: the default bridge (DM001 derives it)
            if "mode" not in fact and not fact.get("mode_unknown"):
                members.setdefault("bridge", set()).add(fact["name"])
        # Alone: on some network, and on none with another member.
        joined = set().union(*members.values())
        shared = set().union(*(who for who in members.values() if len(who) > 1))
        for fact in containers:
            if (
                fact.get("mode") in ("bridge", "network", None)
                and not fact.get("mode_unknown")
                and fact["name"] in joined
                and fact["name"] not in shared
            ):
                fact["alone"] = True

    def _ips_outside_subnets(self) -> None:
        """A container address (ip, ipv4_address) outside its network's known subnet."""
        nets = {f["name"]: f for f in self.dnets if "subnet" in f}
        checks = [(f["container"], f["network"], f["ip"]) for f in self.attaches if "ip" in f]
        # A container with no mode is on the default bridge (DM001 derives its attach fact).
        checks += [
            (f["name"], "bridge", f["ip"]) for f in self.containers if "mode" not in f and "ip" in f
        ]
        for container, network, ip in checks:
            net = nets.get(network)
            if net is None or _inside(ip, net["subnet"]) is not False:
                continue
            self.add(
                "ip_outside",
                container=container,
                network=network,
                ip=ip,
                subnet=net["subnet"],
                subnet_default=net.get("subnet_default"),
            )

    def _namespace_loops(self) -> None:
        """Mark container:/service: modes that name the container itself or go round in a
        circle (a -> b -> a): there is no namespace to join (a rule cannot see a chain)."""
        targets = {f["name"]: f for f in self.containers}
        for fact in targets.values():
            if fact.get("mode") != "container":
                continue
            if fact.get("target") == fact["name"]:
                fact["self_ref"] = True
                continue
            seen = [fact["name"]]
            nxt = targets.get(fact.get("target", ""))
            while nxt is not None and nxt.get("mode") == "container" and nxt["name"] not in seen:
                seen.append(nxt["name"])
                nxt = targets.get(nxt.get("target", ""))
            if nxt is not None and nxt["name"] == fact["name"]:
                fact["cycle"] = " -> ".join([*seen, fact["name"]])

    def _container(self, ct: Container) -> list[str]:
        """Add a container's facts; return the names of the networks it joins."""
        raw = ct.network_mode
        mode: str | None
        target: str | None = None
        kind, colon, owner = (raw or "").partition(":")
        if raw is None:
            mode = "network" if ct.networks else None
        elif raw in ("bridge", "host", "none"):
            mode = raw
        elif colon and kind in ("container", "service"):
            mode, target = "container", owner.strip()
        else:  # a network's name: Docker reads `--network container` or `Container:x` so too
            mode, target = "network", raw
        joined: list[str] = []
        ips: list[str] = []
        if mode == "bridge":
            joined.append("bridge")
        elif mode == "network" and target:
            joined.append(target)
        # Per network: where it is first attached, the first address given on it, its aliases.
        where: dict[str, int] = {}
        att_ips: dict[str, str] = {}
        aliases: dict[str, list[str]] = {}
        for j, att in enumerate(ct.networks or []):
            if att.name not in where:
                where[att.name] = j
                if att.name not in joined:
                    joined.append(att.name)
            if att.ip and att.name not in att_ips:
                att_ips[att.name] = att.ip
            if att.aliases:
                aliases.setdefault(att.name, []).extend(att.aliases)
        base = self.src
        only_ip = ct.ip if len(joined) == 1 else None
        for name in joined:
            ip = att_ips.get(name) or only_ip
            at = where.get(name)
            self.src = f"{base}.networks[{at}]" if base and at is not None else base
            self.attaches.append(self.add("attach", container=ct.name, network=name, ip=ip))
            if ip:
                ips.append(ip)
            self._dns_names(ct.name, name, aliases.get(name, ()))
        if mode is None and ct.ip:
            ips.append(ct.ip)
        for ip in ips:
            self.addresses.setdefault(ip, ("container", ct.name))
        self.src = base
        extra_hosts = ct.extra_hosts or []
        fact = self.add(
            "container",
            name=ct.name,
            image=ct.image,
            mode=mode,
            mode_unknown=ct.network_mode_unknown,
            target=target,
            ip=ct.ip,
            ports_known=ct.ports is not None,
            listens_known=ct.listens is not None,
            expose_known=ct.expose is not None,
            dns_known=ct.dns is not None,
            has_own_dns=True if ct.dns else None,
            hostname=ct.hostname,
            host_gateway=True
            if extra_hosts and any("host-gateway" in h for h in extra_hosts)
            else None,
            networks_count=len(joined),
            running=ct.running,
            profiles=",".join(sorted(ct.profiles)) if ct.profiles else None,
            dns_loopback=(
                any(ipaddress.ip_address(d).is_loopback for d in ct.dns) if ct.dns else None
            ),
        )
        self.containers.append(fact)
        if mode is None:
            self._dns_names(ct.name, "bridge", aliases.get("bridge", ()))  # implicit (DM001)
        for text in ct.links or []:
            target_name, _, alias = text.partition(":")
            self.add(
                "link",
                container=ct.name,
                target=target_name.strip(),
                name=(alias or target_name).strip(),
            )
        for text in extra_hosts:
            sep = "=" if "=" in text else ":"
            host_name, _, address = text.partition(sep)
            self.add(
                "extra_host",
                container=ct.name,
                name=host_name.strip(),
                address=address.strip().strip("[]"),
            )
        expanded = 0
        for j, pub in enumerate(ct.ports or []):
            self.src = f"{base}.ports[{j}]" if base else None
            host_ip, published, protocol = pub.host_ip, pub.published, pub.protocol
            host_ip_scope = address_scope(host_ip) if host_ip else "any"
            host = _port_span(published) if published else None
            spec = pub.text or _publish_text(host_ip, published, pub.target, protocol)
            pairs = port_pairs(host, _port_span(pub.target))
            if expanded + len(pairs) > MAX_EXPANDED_PORTS:
                # Too many to give each its own fact: keep the first ones and every port a
                # symptom dials, and say so (a rule reports the range as partly checked).
                room = max(MAX_EXPANDED_PORTS - expanded, 0)
                pairs = pairs[:room] + [
                    p for p in pairs[room:] if p[0] in self.dialled or p[1] in self.dialled
                ]
                self.add("publish_range", container=ct.name, spec=spec, limit=MAX_EXPANDED_PORTS)
            for host_port, container_port in pairs:
                expanded += 1
                fact = self.add(
                    "publish",
                    container=ct.name,
                    host_ip=host_ip,
                    host_ip_scope=host_ip_scope,
                    host_port=host_port,
                    ephemeral=True if host_port is None else None,
                    # the host port differs from the container port (rules cannot compare
                    # two fields of one fact)
                    remapped=(host_port != container_port) if host_port is not None else None,
                    container_port=container_port,
                    proto=protocol,
                    spec=spec,
                )
                if host_port is not None:
                    self.host_ports.append(fact)
        for j, text in enumerate(ct.expose or []):
            self.src = f"{base}.expose[{j}]" if base else None
            body, _, proto = text.partition("/")
            rng = parse_port_range(body, "exposed port")
            for port in range(rng.start, min(rng.end, rng.start + MAX_EXPANDED_PORTS) + 1):
                self.add("expose", container=ct.name, port=port, proto=proto or "tcp")
        for j, text in enumerate(ct.listens or []):
            self.src = f"{base}.listens[{j}]" if base else None
            ln = parse_listen(text)
            self.add(
                "listen",
                container=ct.name,
                address=ln.address,
                port=ln.port,
                proto=ln.proto,
                scope=ln.scope,
            )
        self.src = base
        return joined

    def _dns_names(self, container: str, network: str, aliases: Iterable[str]) -> None:
        """The names other containers may look up for a container on `network`: its name, the
        aliases its attachments to `network` give.

        Whether a lookup works (embedded DNS on user-defined networks, none on the default
        bridge) is for the rules to say.
        """
        self.add("dns_name", container=container, network=network, name=container, source="name")
        self.names.setdefault(container, set()).add(container)
        for alias in aliases:
            self.add("dns_name", container=container, network=network, name=alias, source="alias")
            self.names.setdefault(alias, set()).add(container)

    def _pools(self, docker: Any) -> None:
        daemon = docker.daemon
        pools = daemon.default_address_pools if daemon else None
        if not pools:
            return
        capacity = 0
        for pool in pools:
            base = ipaddress.ip_network(pool.base)
            capacity += (
                2 ** max(pool.size - base.prefixlen, 0) if pool.size >= base.prefixlen else 0
            )
        needed = sum(1 for n in docker.networks or [] if not n.subnet and n.name != "bridge")
        self.add(
            "pool_usage",
            capacity=capacity,
            needed=needed,
            exhausted=True if needed > capacity else None,
        )

    def _port_clashes(self, containers: list[Container]) -> None:
        by_port: dict[tuple[int, str], list[Fact]] = {}
        for fact in self.host_ports:
            by_port.setdefault((fact["host_port"], fact["proto"]), []).append(fact)
        # A port with one publisher clashes with nobody: only the others are sorted and compared.
        shared = sorted(item for item in by_port.items() if len(item[1]) > 1)
        if not shared:
            return
        profiles = {c.name: set(c.profiles or []) for c in containers}
        for (port, proto), pubs in shared:
            # Each publisher clashes with the first earlier one it overlaps: n publishers of
            # one port make at most n - 1 facts, not n * (n - 1) / 2.
            holders: list[Fact] = []
            for b in sorted(pubs, key=lambda f: f["container"]):
                first = None
                for a in holders:
                    if a["container"] == b["container"]:
                        first = None
                        break
                    pa, pb = profiles.get(a["container"]), profiles.get(b["container"])
                    if pa and pb and not (pa & pb):
                        continue  # never started together
                    if _ips_overlap(a.get("host_ip"), b.get("host_ip")):
                        first = a
                        break
                if first is not None:
                    self.add(
                        "port_clash",
                        a=first["container"],
                        b=b["container"],
                        host_port=port,
                        proto=proto,
                        host_ip=first.get("host_ip") or b.get("host_ip"),
                    )
                holders.append(b)

    # ------------------------------------------------------------------------------ relations

    def overlaps(self) -> None:
        sites = sorted(self.sites, key=lambda s: (_SITE_ORDER.index(s.kind), s.name, s.subnet))
        seen: set[tuple[str, str, str, str]] = set()
        # Sites with the very same subnet are linked to the first site of each kind only, so
        # 200 networks on one subnet make 199 facts, not 19,900.
        same_linked: set[tuple[str, str, str]] = set()  # (b kind, b name, a kind)
        spans = [_span(s.subnet) for s in sites]
        for i, a in enumerate(sites):
            for j, b in enumerate(sites[i + 1 :], i + 1):
                if a.kind == b.kind and a.kind not in ("dnet", "vm_network"):
                    continue
                if (a.kind, a.name) == (b.kind, b.name):
                    continue
                na, nb = spans[i], spans[j]
                if na is None or nb is None or na[0] != nb[0] or na[1] > nb[2] or nb[1] > na[2]:
                    continue
                if na == nb:
                    if (b.kind, b.name, a.kind) in same_linked:
                        continue
                    same_linked.add((b.kind, b.name, a.kind))
                key = (a.kind, a.name, b.kind, b.name)
                if key in seen:
                    continue
                seen.add(key)
                self.add(
                    "overlap",
                    src=b.src or a.src,
                    a_kind=a.kind,
                    a_name=a.name,
                    a_subnet=a.subnet,
                    b_kind=b.kind,
                    b_name=b.name,
                    b_subnet=b.subnet,
                    same=True if na == nb else None,
                )

    def symptoms(self) -> None:
        for i, sym in enumerate(self.setup.symptoms or []):
            self.src = f"symptoms[{i}]"
            fact = self.add("symptom", **self._symptom(sym))
            self._addr_sites(fact)
            self._on_link(fact)

    def _on_link(self, sym: Fact) -> None:
        """Which adapters of the VM a symptom starts in hold the dialled address on-link:
        the guest sends it out of that adapter, not to its default gateway."""
        if sym.get("from_kind") != "vm" or "from_name" not in sym:
            return
        address = sym.get("dial") if sym.get("dial_kind") == "ip" else sym.get("to_address")
        if address is None:
            return
        adapters = [f for f in self.facts if f["kind"] == "adapter"]
        for fact in adapters:
            subnet = fact.get("subnet") or fact.get("network_subnet")
            if fact.get("vm") == sym["from_name"] and _inside(address, subnet):
                self.add("on_link", symptom=sym["symptom"], vm=fact["vm"], index=fact["index"])

    def _addr_sites(self, sym: Fact) -> None:
        """Which address ranges (LAN, VPN, VM network, Docker network...) hold each address a
        symptom names: where a range is routed elsewhere, that decides where packets go."""
        ends = [(end, sym.get(f"{end}_address")) for end in ("from", "to")]
        if sym.get("dial_kind") == "ip":
            ends.append(("dial", sym["dial"]))
        for end, address in ends:
            if address is None:
                continue
            ip = ipaddress.ip_address(address)
            found: dict[tuple[str, str], IPNet] = {}
            for site in self.sites:
                net = _net(site.subnet)
                if net is None or net.version != ip.version or ip not in net:
                    continue
                found.setdefault((site.kind, site.name), net)
            # The host sends the address along its most specific route; pools are no routes.
            routed = [n.prefixlen for (kind, _), n in found.items() if kind != "pool"]
            best = max(routed, default=None)
            for (kind, name), net in found.items():
                self.add(
                    "addr_in",
                    symptom=sym["symptom"],
                    end=end,
                    address=address,
                    site_kind=kind,
                    site_name=name,
                    site_subnet=str(net),
                    longest=True if kind != "pool" and net.prefixlen == best else None,
                )

    def _endpoint(self, text: str | None, prefix: str) -> dict[str, Any]:
        if text is None:
            return {}
        if text in ("lan", "host", "internet"):
            return {f"{prefix}_kind": text}
        kind, sep, name = text.partition(":")
        if sep and kind in ("vm", "container"):
            return {f"{prefix}_kind": kind, f"{prefix}_name": name}
        owner = self.addresses.get(text)
        if owner:
            out = {f"{prefix}_kind": owner[0], f"{prefix}_address": text}
            if owner[0] != "host":
                out[f"{prefix}_name"] = owner[1]
            return out
        if self.lan_subnet and _inside(text, self.lan_subnet):
            return {f"{prefix}_kind": "lan", f"{prefix}_address": text}
        ip = ipaddress.ip_address(text)
        if ip.is_global:
            return {f"{prefix}_kind": "internet", f"{prefix}_address": text}
        return {f"{prefix}_kind": "address", f"{prefix}_address": text}

    def _symptom(self, sym: Symptom) -> dict[str, Any]:
        out: dict[str, Any] = {"symptom": sym.id, "proto": sym.proto}
        out.update(self._endpoint(sym.from_, "from"))
        out.update(self._endpoint(sym.to, "to"))
        says_class = classify_says(sym.says)
        _put(out, port=sym.port, says=sym.says, says_class=says_class)
        if sym.dial:
            dial = sym.dial.strip()
            out["dial"] = dial
            out["dial_kind"] = _dial_kind(dial)
            if out["dial_kind"] == "ip":
                owner = self.addresses.get(dial)
                if owner:
                    out["dial_owner_kind"] = owner[0]
                    out["dial_owner"] = owner[1]
            elif out["dial_kind"] == "name" and len(self.names.get(dial, ())) == 1:
                out["dial_owner_kind"] = "container"
                out["dial_owner"] = next(iter(self.names[dial]))
            if sym.to is None:
                # No `to`: what the client dials says where it goes.
                if out["dial_kind"] == "host-alias":
                    out["to_kind"] = "host"
                elif out["dial_kind"] == "ip":
                    out.update(self._endpoint(dial, "to"))
                elif "dial_owner" in out:
                    out["to_kind"] = "container"
                    out["to_name"] = out["dial_owner"]
        kind = sym.type
        if kind is None:
            if says_class in ("allocated", "in-use"):
                kind = "start"
            elif says_class == "dns" or (
                sym.to is None and sym.dial and sym.port is None and says_class is None
            ):
                # A name alone, with no port and no connection error: the lookup is the question.
                kind = "resolve"
            else:
                kind = "connect"
        out["type"] = kind
        return out


def _vmnet_name(hypervisor: str | None, name: str | None) -> str | None:
    """VMware's switches are VMnet0..VMnet19 however the user spells them."""
    if name and hypervisor == "vmware" and re.fullmatch(r"vmnet\d+", name.strip().lower()):
        return "VMnet" + name.strip()[5:]
    return name


def _is_auto(bridged_to: str | None) -> bool:
    return bool(bridged_to) and str(bridged_to).strip().lower() in ("auto", "automatic")


def _host_adapter_state(exists: bool | None, enabled: bool | None) -> str | None:
    """missing / disabled / enabled / present (exists, enabled not said), or None."""
    if exists is False:
        return "missing"
    if enabled is False:
        return "disabled"
    if enabled is True:
        return "enabled"
    return "present" if exists else None


def _host_index(address: str | None, subnet: str | None) -> int | None:
    """The host part of an address inside a subnet (192.168.80.2 in /24 -> 2)."""
    if not address or not subnet or not _inside(address, subnet):
        return None
    net = ipaddress.ip_network(subnet, strict=False)
    return int(ipaddress.ip_address(address)) - int(net.network_address)


def _dial_kind(dial: str) -> str:
    lowered = dial.lower()
    if lowered == "localhost" or lowered.startswith("127.") or lowered == "::1":
        return "localhost"
    if lowered in HOST_ALIASES:
        return "host-alias"
    try:
        ipaddress.ip_address(dial)
        return "ip"
    except ValueError:
        return "name"


def _ips_overlap(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return True
    if address_scope(a) == "any" or address_scope(b) == "any":
        return ipaddress.ip_address(a).version == ipaddress.ip_address(b).version
    return a == b


def _port_span(text: str) -> tuple[int, int]:
    """A published or target port of the Setup as (first, last): validated, so `80` or
    `8000-8010` exactly. Read with int(): parse_port_range's cache seldom holds the many host
    ports of a batch."""
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def _publish_text(host_ip: str | None, published: str | None, target: str, proto: str) -> str:
    text = target if not published else f"{published}:{target}"
    if host_ip:
        text = f"{host_ip}:{text}" if ":" not in host_ip else f"[{host_ip}]:{text}"
    return text if proto == "tcp" else f"{text}/{proto}"


def build_facts(setup: Setup) -> list[Fact]:
    """All facts of a setup, in a stable order."""
    builder = _Builder(setup)
    builder.host()
    builder.vms()
    builder.docker()
    builder.src = None
    builder.overlaps()
    builder.symptoms()
    return builder.facts


def iter_kinds(facts: list[Fact], kind: str) -> Iterator[Fact]:
    """The facts of one kind."""
    return (f for f in facts if f["kind"] == kind)
