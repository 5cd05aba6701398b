"""`docker inspect` / `docker ps` JSON: containers and networks as the Engine API shows them.

Shapes read (alone, or mixed in one array):
- `docker inspect CONTAINER` (GET /containers/{id}/json): Name, HostConfig, NetworkSettings, Config;
  old API versions (< 1.21) have no `NetworkSettings.Networks` map, only `IPAddress`.
- the container list (GET /containers/json, what `docker ps` reads): Names, Ports, HostConfig
  .NetworkMode, NetworkSettings.Networks, State as a word;
- `docker network inspect NETWORK` (GET /networks/{id}): Name, Driver, IPAM, Internal;
- the body of POST /containers/create (HostConfig + Config keys at the top, no Id or name);
- `docker ps --format json`: one JSON object per line, every value a string.

What a snapshot cannot say (the app's listen address, other containers on the host) stays
unknown; every mapping from Docker's words to the setup's is commented with its source.
Docker Compose's labels (the project, the service, the network's key) are kept beside the
setup: `--setup` ties the entries to the compose file by them (compose_ties.py).

Every network is marked `external` (compose's word for a network this file does not create):
a snapshot shows some containers of a daemon, and others (stopped, or not inspected) may share
its networks, so no rule may conclude that a network has no other member.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Any

from diagnose.errors import InputError
from diagnose.loaders.base import (
    Builder,
    ComposeLabel,
    Loaded,
    LoadOptions,
    refuse,
    type_name,
)
from diagnose.yamltext import Document, PathKey, parse

# Keys are matched as JSON keys ("Key" followed by a colon); Docker's casing is exact.
_KEY = r'"{}"\s*:'
_ID = re.compile(_KEY.format("Id"))
_CONTAINER_PART = re.compile(r'"(?:HostConfig|NetworkSettings|Config)"\s*:\s*\{')
_NAMES_LIST = re.compile(r'"Names"\s*:\s*\[')
_PORTS_LIST = re.compile(r'"Ports"\s*:\s*\[')
_NET_NAME = re.compile(_KEY.format("Name"))
_NET_DRIVER = re.compile(_KEY.format("Driver"))
_NET_IPAM = re.compile(r'"IPAM"\s*:\s*\{')
_HOSTCONFIG = re.compile(r'"HostConfig"\s*:\s*\{')
_IMAGE = re.compile(_KEY.format("Image"))
_PS_LINE = re.compile(r'^\{.*"ID"\s*:\s*"[0-9a-f]+".*"Names"\s*:\s*".*\}\s*$')

# Docker's driver names -> the setup's. The `none` network's driver is called "null".
_DRIVERS = {
    "bridge": "bridge",
    "host": "host",
    "null": "none",
    "none": "none",
    "overlay": "overlay",
    "macvlan": "macvlan",
    "ipvlan": "ipvlan",
    "nat": "nat",  # Windows' default network (Windows container networking docs)
}
# `docker ps` State words -> running. Paused and restarting containers show Running: true in
# `docker inspect` (State.Running), so the list reads the same way.
_RUNNING_WORDS = {
    "running": True,
    "paused": True,
    "restarting": True,
    "created": False,
    "exited": False,
    "dead": False,
    "removing": False,
}
_HEX = re.compile(r"[0-9a-f]{12,64}")


def detect(name: str, text: str, kind: str) -> bool:
    """JSON with Docker's own keys: a container (Id + HostConfig/NetworkSettings/Config), a
    container list (Names + Ports lists), a network (Name + Driver + IPAM), a create body
    (HostConfig + Image), or `docker ps --format json` lines. The setup format's keys are
    lower case and `ip -j` has ifname/addr_info, so neither matches."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return False
    if head == "{":
        first = text.lstrip().split("\n", 1)[0]
        if _PS_LINE.match(first):
            return True
    if _ID.search(text) and _CONTAINER_PART.search(text):
        return True
    if _NAMES_LIST.search(text) and _PORTS_LIST.search(text):
        return True
    if _NET_NAME.search(text) and _NET_DRIVER.search(text) and _NET_IPAM.search(text):
        return True
    return bool(_HOSTCONFIG.search(text) and _IMAGE.search(text))


# ---------------------------------------------------------------------------------- reading


@dataclass
class _Item:
    """One object of the input and what it is."""

    shape: str  # inspect | list | ps-format | create | network
    data: dict[str, Any]
    at: PathKey
    line: int | None
    name: str = ""
    ident: str = ""


@dataclass
class _Reader:
    file: str
    doc: Document
    b: Builder
    items: list[_Item] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # full container id -> name
    net_names: set[str] = field(default_factory=set)
    synthesized: dict[str, int] = field(default_factory=dict)  # network name -> index
    compose: dict[str, ComposeLabel] = field(default_factory=dict)  # setup path -> labels

    # ------------------------------------------------------------------------- helpers
    def line(self, at: PathKey) -> int | None:
        return self.doc.where(at)[0]

    def fail(self, message: str, at: PathKey, key: str | None = None) -> None:
        where = ".".join(str(p) for p in at) if at else None
        refuse(message, self.file, self.line(at), key or where)

    def mapping(self, value: Any, at: PathKey, what: str) -> dict[str, Any]:
        """A JSON object or null (as {}); anything else is refused."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f"{what} must be a JSON object, not {type_name(value)}", at)
        return value  # type: ignore[no-any-return]

    def text(self, value: Any, at: PathKey, what: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(f"{what} must be text, not {type_name(value)}", at)
        return value  # type: ignore[no-any-return]

    def strings(self, value: Any, at: PathKey, what: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{what} must be a list of text", at)
        return list(value)

    # ------------------------------------------------------------------------- shapes
    def classify(self, obj: Any, at: PathKey) -> _Item:
        if not isinstance(obj, dict):
            self.fail(f"expected a container or network object, not {type_name(obj)}", at)
        line = self.line(at)
        if "IPAM" in obj or (
            "Driver" in obj and "Scope" in obj and not {"HostConfig", "Config"} & obj.keys()
        ):
            return _Item("network", obj, at, line)
        if isinstance(obj.get("Names"), list):
            return _Item("list", obj, at, line)
        if isinstance(obj.get("Names"), str) and "ID" in obj:
            return _Item("ps-format", obj, at, line)
        if "Id" in obj and {"HostConfig", "NetworkSettings", "Config", "State"} & obj.keys():
            return _Item("inspect", obj, at, line)
        if "HostConfig" in obj and "Id" not in obj:
            return _Item("create", obj, at, line)
        self.fail(
            "neither a container (Id with HostConfig/NetworkSettings/Config), a container "
            "list entry (Names, Ports) nor a network (Name, Driver, IPAM)",
            at,
        )
        raise AssertionError  # unreachable: fail() raises

    def name_of(self, item: _Item) -> str:
        obj, at = item.data, item.at
        if item.shape == "network":
            name = self.text(obj.get("Name"), (*at, "Name"), "Name")
            if not name:
                self.fail("a network needs its Name", at, "Name")
            return name  # type: ignore[return-value]
        if item.shape == "create":
            # The create body carries no name: the name is the ?name= query parameter.
            name = f"create-{item.line or 1}"
            self.b.notes.append(
                f"line {item.line}: a container-create request body carries no name (it is "
                f"the ?name= query parameter); it is called {name} here"
            )
            return name
        if item.shape == "ps-format":
            joined = self.text(obj.get("Names"), (*at, "Names"), "Names") or ""
            return joined.split(",")[0].strip()
        ident = self.text(obj.get("Id"), (*at, "Id"), "Id") or ""
        if item.shape == "list":
            names = self.strings(obj.get("Names"), (*at, "Names"), "Names")
            # Legacy links add names like /web/db to the target; the own name has one slash.
            own = [n for n in names if n.count("/") <= 1] or names
            if own:
                return own[0].lstrip("/")
        else:
            name = self.text(obj.get("Name"), (*at, "Name"), "Name")
            if name and name.strip("/"):
                return name.lstrip("/")
        if ident:
            self.b.notes.append(
                f"line {item.line}: the container has no name; it is called by its short "
                f"id {ident[:12]}"
            )
            return ident[:12]
        self.fail("a container needs a Name (or an Id)", at, "Name")
        raise AssertionError

    @staticmethod
    def name_at(item: _Item) -> PathKey:
        """Where an object's name stands: findings about the whole entry point there."""
        key = "Names" if item.shape in ("list", "ps-format") else "Name"
        return (*item.at, key) if key in item.data else item.at

    def read(self) -> None:
        data = self.doc.data
        if isinstance(data, dict):
            objs: list[tuple[Any, PathKey]] = [(data, ())]
        elif isinstance(data, list):
            objs = [(obj, (i,)) for i, obj in enumerate(data)]
        else:
            refuse(
                f"expected `docker inspect` JSON (an object or an array), not {type_name(data)}",
                self.file,
                1,
            )
        if not objs:
            self.b.notes.append("the input is an empty list: no containers, no networks")
        seen: dict[tuple[str, str], _Item] = {}
        for obj, at in objs:
            item = self.classify(obj, at)
            item.name = self.name_of(item)
            if item.shape in ("inspect", "list"):
                item.ident = str(obj.get("Id") or "")
            elif item.shape == "ps-format":
                item.ident = str(obj.get("ID") or "")
            what = "network" if item.shape == "network" else "container"
            first = seen.get((what, item.name))
            if first is not None:
                self.fail(
                    f"the {what} name {item.name!r} appears twice (first on line "
                    f"{first.line}); Docker names are unique on one host: are these two "
                    "hosts, or two snapshots of one?",
                    self.name_at(item),
                    "Name",
                )
            seen[(what, item.name)] = item
            self.items.append(item)
            if item.ident:
                self.ids[item.ident] = item.name
            if item.shape == "network":
                self.net_names.add(item.name)
        for item in self.items:
            if item.shape == "network":
                self.network(item)
        for item in self.items:
            if item.shape != "network":
                self.container(item)

    # ------------------------------------------------------------------------- networks
    def driver(self, value: Any, at: PathKey, net: str) -> str | None:
        raw = self.text(value, at, "Driver")
        if not raw:
            return None
        mapped = _DRIVERS.get(raw.lower())
        if mapped is None:
            self.b.notes.append(
                f"line {self.line(at)}: network {net} uses the driver {raw!r}, which netwhy "
                "does not model; its driver is left unknown"
            )
        return mapped

    def network(self, item: _Item) -> None:
        obj, at, name = item.data, item.at, item.name
        entry: dict[str, Any] = {"name": name, "external": True}
        driver = self.driver(obj.get("Driver"), (*at, "Driver"), name)
        if driver:
            entry["driver"] = driver
        places: dict[str, PathKey] = {}
        ipam = self.mapping(obj.get("IPAM"), (*at, "IPAM"), "IPAM")
        configs = ipam.get("Config") or []
        if not isinstance(configs, list):
            self.fail("IPAM.Config must be a list", (*at, "IPAM", "Config"))
        chosen = self.pick_subnet(configs, (*at, "IPAM", "Config"), name)
        if chosen is not None:
            j, cfg = chosen
            cat = (*at, "IPAM", "Config", j)
            subnet = self.text(cfg.get("Subnet"), (*cat, "Subnet"), "Subnet")
            if subnet:
                entry["subnet"] = subnet
                places["subnet"] = (*cat, "Subnet")
            gateway = self.text(cfg.get("Gateway"), (*cat, "Gateway"), "Gateway")
            if gateway:
                entry["gateway"] = gateway.split("/")[0]
                places["gateway"] = (*cat, "Gateway")
        internal = obj.get("Internal")
        if isinstance(internal, bool):
            entry["internal"] = internal
            places["internal"] = (*at, "Internal")
        elif internal is not None:
            self.fail("Internal must be true or false", (*at, "Internal"))
        options = self.mapping(obj.get("Options"), (*at, "Options"), "Options")
        if options.get("com.docker.network.bridge.default_bridge") == "true":
            # dockerd gives the default bridge the daemon's --ip (daemon.json "ip") as its
            # host_binding_ipv4 option: the address published ports bind to by default.
            bind = options.get("com.docker.network.bridge.host_binding_ipv4")
            if isinstance(bind, str) and bind:
                self.b.set(
                    "docker.daemon.ip",
                    bind,
                    (*at, "Options", "com.docker.network.bridge.host_binding_ipv4"),
                )
        members = self.mapping(obj.get("Containers"), (*at, "Containers"), "Containers")
        if members:
            self.b.notes.append(
                f"line {item.line}: network {name} lists {len(members)} container(s); their "
                "ports and modes are in `docker inspect` of the containers, not read here"
            )
        i = self.b.append("docker.networks", entry, self.name_at(item))
        for key, where in places.items():
            self.b.place(f"docker.networks[{i}].{key}", where)
        self.label(f"docker.networks[{i}]", obj.get("Labels"), (*at, "Labels"), "network")

    def pick_subnet(
        self, configs: list[Any], at: PathKey, net: str
    ) -> tuple[int, dict[str, Any]] | None:
        """The first IPv4 IPAM entry, else the first one (the setup keeps one subnet)."""
        entries = []
        for j, cfg in enumerate(configs):
            cfg = self.mapping(cfg, (*at, j), "an IPAM.Config entry")
            subnet = cfg.get("Subnet")
            if isinstance(subnet, str) and subnet:
                entries.append((j, cfg, ":" not in subnet))
        if not entries:
            return None
        v4 = [e for e in entries if e[2]]
        j, cfg, _ = (v4 or entries)[0]
        if len(entries) > 1:
            self.b.notes.append(
                f"line {self.line(at)}: network {net} has {len(entries)} IPAM subnets; only "
                f"{cfg.get('Subnet')} is kept (the setup holds one subnet per network)"
            )
        return j, cfg

    def synthesize(self, net: str, ep: dict[str, Any] | None, at: PathKey, windows: bool) -> None:
        """A network known only from a container: its name, and from the container's endpoint
        its gateway and its subnet (the endpoint's address and prefix length, as Docker's IPAM
        assigned them)."""
        if net in self.net_names or net in self.synthesized or net in ("host", "none"):
            return
        entry: dict[str, Any] = {"name": net, "external": True}
        if net == "bridge":
            entry["driver"] = "bridge"  # the default bridge network always uses it
        elif net == "nat" and windows:
            entry["driver"] = "nat"  # Windows' default network (Windows container networking)
        places: dict[str, PathKey] = {}
        ep = ep or {}
        ip, prefix = ep.get("IPAddress"), ep.get("IPPrefixLen")
        if isinstance(ip, str) and ip and isinstance(prefix, int) and 0 < prefix <= 32:
            try:
                entry["subnet"] = str(ipaddress.ip_interface(f"{ip}/{prefix}").network)
                places["subnet"] = (*at, "IPPrefixLen")
            except ValueError:
                pass  # the container's own check reports the address
        gateway = ep.get("Gateway")
        if isinstance(gateway, str) and gateway:
            entry["gateway"] = gateway
            places["gateway"] = (*at, "Gateway")
        i = self.b.append("docker.networks", entry, at)
        self.synthesized[net] = i
        for key, where in places.items():
            self.b.place(f"docker.networks[{i}].{key}", where)

    # ------------------------------------------------------------------------- containers
    def container(self, item: _Item) -> None:
        obj, at = item.data, item.at
        if item.shape == "ps-format":
            self.ps_format(item)
            return
        hc_at = (*at, "HostConfig")
        hc = self.mapping(obj.get("HostConfig"), hc_at, "HostConfig")
        ns_at = (*at, "NetworkSettings")
        ns = self.mapping(obj.get("NetworkSettings"), ns_at, "NetworkSettings")
        if item.shape == "create":
            cfg, cfg_at = obj, at
        else:
            cfg_at = (*at, "Config")
            cfg = self.mapping(obj.get("Config"), cfg_at, "Config")
        windows = obj.get("Platform") == "windows" or obj.get("Driver") == "windowsfilter"
        entry: dict[str, Any] = {"name": item.name}
        places: dict[str, PathKey] = {}

        image = cfg.get("Image") if item.shape != "list" else obj.get("Image")
        if isinstance(image, str) and image:
            entry["image"] = image

        # ---- network mode (HostConfig.NetworkMode)
        nets_at = (*ns_at, "Networks")
        networks = self.mapping(ns.get("Networks"), nets_at, "NetworkSettings.Networks")
        raw = self.text(hc.get("NetworkMode"), (*hc_at, "NetworkMode"), "NetworkMode")
        mode = self.mode(raw, networks, windows, item)
        if mode is not None:
            entry["network_mode"] = mode
            places["network_mode"] = (*hc_at, "NetworkMode")
        kind = (mode or "").split(":", 1)[0]

        # ---- networks (NetworkSettings.Networks; old API: NetworkSettings.IPAddress)
        attachments: list[tuple[dict[str, Any], PathKey]] = []
        if kind not in ("host", "none", "container"):
            for net, ep in networks.items():
                ep_at = (*nets_at, net)
                ep = self.mapping(ep, ep_at, f"the endpoint of network {net}")
                att: dict[str, Any] = {"name": net}
                ip = ep.get("IPAddress") or self.mapping(
                    ep.get("IPAMConfig"), (*ep_at, "IPAMConfig"), "IPAMConfig"
                ).get("IPv4Address")
                if isinstance(ip, str) and ip:
                    att["ipv4_address"] = ip
                aliases = self.strings(ep.get("Aliases"), (*ep_at, "Aliases"), "Aliases")
                if aliases:
                    att["aliases"] = list(dict.fromkeys(aliases))
                attachments.append((att, ep_at))
                self.synthesize(net, ep, ep_at, windows)
            if not networks and kind in ("", "bridge"):
                ip = ns.get("IPAddress")  # API < 1.21: the one bridge address
                if isinstance(ip, str) and ip:
                    entry["ip"] = ip
                    places["ip"] = (*ns_at, "IPAddress")
                # The old API keeps the network's gateway and prefix beside the address.
                self.synthesize("bridge", ns if kind else None, ns_at, windows)
            if mode is not None and kind not in ("", "container", "host", "none"):
                self.synthesize(mode, None, (*hc_at, "NetworkMode"), windows)
        if attachments:
            entry["networks"] = [a for a, _ in attachments]
        elif mode is None:
            entry["network_mode_unknown"] = True  # neither NetworkMode nor Networks say

        # ---- published and exposed ports
        running = self.running(obj, at, item.shape)
        if running is not None:
            entry["running"] = running
            places["running"] = (*at, "State")
        ports, expose = self.ports(item, hc, hc_at, ns, ns_at, cfg, cfg_at, running)
        if ports is not None:
            entry["ports"] = [text for text, _ in ports]
        if expose:
            entry["expose"] = [text for text, _ in expose]

        # ---- names and resolution
        if kind not in ("container", "host"):
            hostname = cfg.get("Hostname")
            # Docker sets Hostname to the short id unless -h/--hostname gave one; in host
            # mode it is the host's name and in container mode the owner's: not the user's.
            if isinstance(hostname, str) and hostname and hostname != item.ident[:12]:
                entry["hostname"] = hostname
                places["hostname"] = (*cfg_at, "Hostname")
        dns = self.strings(hc.get("Dns"), (*hc_at, "Dns"), "Dns")
        if dns:
            entry["dns"] = dns
            places["dns"] = (*hc_at, "Dns")
        hosts = self.strings(hc.get("ExtraHosts"), (*hc_at, "ExtraHosts"), "ExtraHosts")
        if hosts:
            entry["extra_hosts"] = hosts
            places["extra_hosts"] = (*hc_at, "ExtraHosts")
        links = self.strings(hc.get("Links"), (*hc_at, "Links"), "Links")
        if links:
            entry["links"] = [self.link(text) for text in links]
            places["links"] = (*hc_at, "Links")

        i = self.b.append("docker.containers", entry, self.name_at(item))
        base = f"docker.containers[{i}]"
        labels_at = (*at, "Labels") if item.shape == "list" else (*cfg_at, "Labels")
        self.label(base, (obj if item.shape == "list" else cfg).get("Labels"), labels_at)
        for key, where in places.items():
            self.b.place(f"{base}.{key}", where)
        for j, (_, where) in enumerate(attachments):
            self.b.place(f"{base}.networks[{j}]", where)
        for j, (_, where) in enumerate(ports or []):
            self.b.place(f"{base}.ports[{j}]", where)
        for j, (_, where) in enumerate(expose):
            self.b.place(f"{base}.expose[{j}]", where)
        if windows:
            self.b.set("host.os", "windows", (*at, "Platform"))

    def mode(
        self, raw: str | None, networks: dict[str, Any], windows: bool, item: _Item
    ) -> str | None:
        if raw is None or raw == "":
            if item.shape == "create":
                # An empty NetworkMode in a create request is "default" (the daemon fills it).
                raw = "default"
            else:
                return None
        if raw == "default":
            # "default" is the daemon's default network: bridge on Linux, nat on Windows
            # (moby runconfig DefaultDaemonNetworkMode; Windows container networking docs).
            if windows or set(networks) == {"nat"}:
                if not windows:
                    self.b.notes.append(
                        f"line {item.line}: {item.name} is on the `nat` network by default: "
                        "a Windows container host"
                    )
                return "nat"
            return "bridge"
        kind, sep, target = raw.partition(":")
        if sep and kind == "container":
            target = target.strip()
            owner = self.ids.get(target)
            if owner is None and _HEX.fullmatch(target):
                # Docker accepts any unique prefix of an id.
                hits = {n for ident, n in self.ids.items() if ident.startswith(target)}
                owner = next(iter(hits)) if len(hits) == 1 else None
            # An id not in this input stays an id: DM017 reports a namespace owner the setup
            # does not describe (watchtower's container_net_consumer-missing_supplier.json).
            return f"container:{owner or target}"
        return raw

    def running(self, obj: dict[str, Any], at: PathKey, shape: str) -> bool | None:
        state = obj.get("State")
        if shape == "list" and isinstance(state, str):
            value = _RUNNING_WORDS.get(state.lower())
            if value is None:
                self.b.notes.append(f"line {self.line(at)}: unknown container state {state!r}")
            return value
        if isinstance(state, dict):
            running = state.get("Running")
            if isinstance(running, bool):
                return running
        return None

    def ports(
        self,
        item: _Item,
        hc: dict[str, Any],
        hc_at: PathKey,
        ns: dict[str, Any],
        ns_at: PathKey,
        cfg: dict[str, Any],
        cfg_at: PathKey,
        running: bool | None,
    ) -> tuple[list[tuple[str, PathKey]] | None, list[tuple[str, PathKey]]]:
        """Published ports (-p syntax text) and exposed ports, each with its place."""
        if item.shape == "list":
            return self.list_ports(item)
        expose: dict[str, PathKey] = {}
        exposed = self.mapping(cfg.get("ExposedPorts"), (*cfg_at, "ExposedPorts"), "ExposedPorts")
        for key in exposed:
            expose.setdefault(key, (*cfg_at, "ExposedPorts", key))
        runtime = self.mapping(ns.get("Ports"), (*ns_at, "Ports"), "NetworkSettings.Ports")
        for key in runtime:  # every exposed port is listed, null when not published
            expose.setdefault(key, (*ns_at, "Ports", key))
        config = self.mapping(
            hc.get("PortBindings"), (*hc_at, "PortBindings"), "HostConfig.PortBindings"
        )
        # A running container's NetworkSettings.Ports is what is in effect (ephemeral host
        # ports resolved); otherwise HostConfig.PortBindings is what the next start applies.
        if running and any(runtime.values()):
            source, source_at = runtime, (*ns_at, "Ports")
        else:
            source, source_at = config, (*hc_at, "PortBindings")
        ports: list[tuple[str, PathKey]] = []
        seen: set[tuple[str, str]] = set()
        for key, bindings in source.items():
            key_at = (*source_at, key)
            if bindings is None:
                continue
            if not isinstance(bindings, list):
                self.fail(f"the bindings of {key} must be a list", key_at)
            target, _, proto = str(key).partition("/")
            for j, binding in enumerate(bindings):
                binding = self.mapping(binding, (*key_at, j), "a port binding")
                host_ip = self.text(binding.get("HostIp"), (*key_at, j, "HostIp"), "HostIp")
                host_port = self.text(binding.get("HostPort"), (*key_at, j, "HostPort"), "HostPort")
                # Docker binds "" and 0.0.0.0 on IPv4 and :: on IPv6 for one -p: one publish.
                dual = (host_port or "", f"{target}/{proto}")
                if host_ip == "::" and dual in seen:
                    continue
                if host_ip in ("0.0.0.0", "", None):
                    seen.add(dual)
                ports.append((_publish_text(host_ip, host_port, target, proto), (*key_at, j)))
        if hc.get("PublishAllPorts") is True and source is config:
            # -P: every exposed port not bound explicitly gets an ephemeral host port.
            for key in expose:
                if not config.get(key):
                    target, _, proto = key.partition("/")
                    ports.append(
                        (_publish_text(None, None, target, proto), (*hc_at, "PublishAllPorts"))
                    )
        return ports, [(_expose_text(k), where) for k, where in expose.items()]

    def list_ports(
        self, item: _Item
    ) -> tuple[list[tuple[str, PathKey]], list[tuple[str, PathKey]]]:
        """`docker ps` list: Ports = [{IP, PrivatePort, PublicPort, Type}]."""
        raw = item.data.get("Ports") or []
        at = (*item.at, "Ports")
        if not isinstance(raw, list):
            self.fail("Ports must be a list", at)
        ports: list[tuple[str, PathKey]] = []
        expose: dict[str, PathKey] = {}
        seen: set[tuple[Any, Any, str]] = set()
        for j, p in enumerate(raw):
            p = self.mapping(p, (*at, j), "a Ports entry")
            private, public = p.get("PrivatePort"), p.get("PublicPort")
            proto = str(p.get("Type") or "tcp")
            if not isinstance(private, int) or isinstance(private, bool):
                self.fail("PrivatePort must be a port number", (*at, j, "PrivatePort"))
            expose.setdefault(f"{private}/{proto}", (*at, j))
            if public is None:
                continue  # exposed, not published
            if not isinstance(public, int) or isinstance(public, bool):
                self.fail("PublicPort must be a port number", (*at, j, "PublicPort"))
            ip = p.get("IP")
            ip = ip if isinstance(ip, str) else None
            if ip == "::" and (private, public, proto) in seen:
                continue
            if ip in ("0.0.0.0", "", None):
                seen.add((private, public, proto))
            ports.append((_publish_text(ip, str(public), str(private), proto), (*at, j)))
        return ports, [(_expose_text(k), where) for k, where in expose.items()]

    def ps_format(self, item: _Item) -> None:
        """`docker ps --format json`: strings only, e.g. Ports "0.0.0.0:80->80/tcp, 443/tcp"."""
        obj, at = item.data, item.at
        entry: dict[str, Any] = {"name": item.name}
        image = obj.get("Image")
        if isinstance(image, str) and image:
            entry["image"] = image
        nets = [n.strip() for n in str(obj.get("Networks") or "").split(",") if n.strip()]
        if nets == ["host"] or nets == ["none"]:
            entry["network_mode"] = nets[0]
        elif nets:
            if "bridge" in nets:
                entry["network_mode"] = "bridge"
            entry["networks"] = nets
            for net in nets:
                self.synthesize(net, None, (*at, "Networks"), False)
        else:
            entry["network_mode_unknown"] = True
            self.b.notes.append(
                f"line {item.line}: {item.name} lists no network (container mode, or "
                "stopped): its network mode is unknown"
            )
        state = obj.get("State")
        if isinstance(state, str) and state.lower() in _RUNNING_WORDS:
            entry["running"] = _RUNNING_WORDS[state.lower()]
        ports: list[str] = []
        expose: list[str] = []
        for part in str(obj.get("Ports") or "").split(","):
            part = part.strip()
            if not part:
                continue
            left, arrow, right = part.rpartition("->")
            target, _, proto = (right if arrow else part).partition("/")
            key = f"{target}/{proto or 'tcp'}"
            if _expose_text(key) not in expose:
                expose.append(_expose_text(key))
            if not arrow:
                continue
            ip, _, host = left.rpartition(":")
            text = _publish_text(ip or None, host, target, proto or "tcp")
            if ip == "::" and _publish_text("0.0.0.0", host, target, proto or "tcp") in ports:
                continue
            ports.append(text)
        entry["ports"] = ports
        if expose:
            entry["expose"] = expose
        i = self.b.append("docker.containers", entry, at)
        self.label(f"docker.containers[{i}]", obj.get("Labels"), (*at, "Labels"))
        for key in ("ports", "expose", "networks"):
            for j in range(len(entry.get(key) or [])):
                self.b.place(f"docker.containers[{i}].{key}[{j}]", (*at, key.title()))

    def label(self, path: str, raw: Any, at: PathKey, what: str = "service") -> None:
        """Keep what Docker Compose's labels say made the entry at `path`: the project and
        the service (a network: its key in the compose file). `docker ps --format json` gives
        the labels as one text, `k=v,k=v` (a value may hold commas: config_files)."""
        if isinstance(raw, str):
            labels: dict[str, Any] = {}
            key = ""
            for part in raw.split(","):
                head, sep, value = part.partition("=")
                if sep:
                    key = head
                    labels[key] = value
                elif key:
                    labels[key] += f",{part}"
        else:
            labels = self.mapping(raw, at, "Labels")
        project = labels.get("com.docker.compose.project")
        name = labels.get(f"com.docker.compose.{what}")
        if not (isinstance(project, str) and project and isinstance(name, str) and name):
            return
        number = labels.get("com.docker.compose.container-number")
        self.compose[path] = ComposeLabel(
            project,
            name,
            int(number) if isinstance(number, str) and number.isdigit() else None,
            labels.get("com.docker.compose.oneoff") == "True",
        )

    @staticmethod
    def link(text: str) -> str:
        """`/db:/web/database` (inspect) -> `db:database`; `db:database` stays."""
        target, _, alias = text.partition(":")
        target = target.lstrip("/")
        alias = alias.rsplit("/", 1)[-1] if alias else ""
        return f"{target}:{alias}" if alias else target


def _publish_text(ip: str | None, host: str | None, target: str, proto: str) -> str:
    """The -p text of one binding: [ip:][host:]target[/proto]."""
    text = target
    if host or ip:
        text = f"{host or ''}:{target}"
    if ip:
        text = f"[{ip}]:{text}" if ":" in ip else f"{ip}:{text}"
    proto = (proto or "tcp").lower()
    return text if proto == "tcp" else f"{text}/{proto}"


def _expose_text(key: str) -> str:
    port, _, proto = key.partition("/")
    return port if proto in ("", "tcp") else f"{port}/{proto}"


# ---------------------------------------------------------------------------------- entry


def _ps_lines(text: str, file: str) -> Document | None:
    """`docker ps --format json`: one object per line (not one JSON document)."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if len(lines) < 2 or not _PS_LINE.match(lines[0][1].strip()):
        return None
    items: list[Any] = []
    where: dict[PathKey, tuple[int, int]] = {}
    for n, line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"malformed JSON line: {exc.msg}", file=file, line=n, column=exc.colno
            ) from None
        where[(len(items),)] = (n, 1)
        items.append(obj)
    return Document(items, file, where)


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Read containers and networks; each entry keeps the line of its JSON object."""
    doc = _ps_lines(text, file) or parse(text, file)
    b = Builder(file, doc)
    reader = _Reader(file, doc, b)
    reader.read()
    loaded = b.finish(kind)
    loaded.compose_labels = reader.compose
    return loaded
