"""Read a question in English or Chinese into a partial setup: the intake of `netwhy ask`.

It recognises technology, hypervisor, modes, platform, endpoints and the direction of the
failing connection, addresses, subnets, ports, names and the error quoted, with the patterns
of knowledge/intake.yaml; a pasted `docker run` line or compose snippet goes through the
loaders `netwhy check` uses. No guessing beyond defaults it names: what it could not read is
left out of the setup, for the diagnosis to ask.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import Field

from diagnose.errors import InputError
from diagnose.report import Out

SYMPTOM = "s1"
# The names the intake gives what the question leaves unnamed; answers that name the real
# entries replace them (conversation._merged).
DEFAULT_NAMES = frozenset({"vm", "vm2", "container", "container2", "container3"})
# Words right before what a command is pointed at: `curl X`, `psql -h X`, `ssh user@X`.
DIAL_CUE = (
    r"(\b(curl|wget|ping|ssh|telnet|nc|mstsc|rdp|open|browse|http|https|ftp)\b[^,，。]{0,8}|-h ?|@|//"
    r"|访问|连接?|打开|请求|调用)\s*$"
)
CJK = re.compile(r"[\u4e00-\u9fff]")
# ASCII only (Python's \w and \d take in every script): "地址192.168.1.10" holds an address, and
# "٨٠" is no port a setup can hold.
IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/(\d{1,2}))?(?![\w]|\.\d)", re.ASCII)
# Words that follow "container"/"虚拟机" yet are not names.
NOT_NAMES = {
    "ping", "curl", "wget", "ssh", "telnet", "nc", "scp", "apt", "yum",
    "ip", "ips", "port", "ports", "nat", "bridge", "bridged", "host", "none", "mode", "network",
    "networks", "docker", "vmware", "virtualbox", "kvm", "dns", "dhcp", "lan", "wan", "tcp", "udp",
    "the", "a", "an", "is", "and", "or", "can", "cannot", "to", "from", "on", "in", "it", "vm",
    "container", "containers", "my", "this", "that", "same", "other", "another", "new", "old",
    "running", "each", "every", "both", "two", "one", "first", "second", "some", "any", "your",
    "our", "its", "their", "docker-compose", "compose", "linux", "windows", "ubuntu", "debian",
    "centos", "alpine", "busybox", "single", "separate", "all", "no", "test",
    "vmnet0", "vmnet1", "vmnet8", "virbr0", "docker0", "eth0", "localhost",
}  # fmt: skip


class Recognised(Out):
    """One thing the intake read in the text: what kind, the value it means, the words."""

    kind: str = Field(description="technology, hypervisor, mode, symptom, endpoint, address, ...")
    value: str
    text: str = Field(description="the words it was read from")


@cache
def lexicon() -> dict[str, Any]:
    """knowledge/intake.yaml, patterns compiled."""
    raw = yaml.safe_load(
        resources.files("diagnose.knowledge").joinpath("intake.yaml").read_text(encoding="utf-8")
    )

    def comp(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: comp(v) for k, v in node.items()}
        if isinstance(node, list):
            # ASCII: \b must end an English word where a Chinese one begins ("NAT模式").
            return [re.compile(p, re.IGNORECASE | re.ASCII) for p in node]
        raise TypeError(f"knowledge/intake.yaml: unexpected {node!r}")

    return {k: comp(v) for k, v in raw.items()}


@dataclass
class Hit:
    """A match of the lexicon: the value it stands for, where, and the words."""

    value: str
    start: int
    end: int
    text: str


@dataclass
class Reading:
    """What the intake made of a question."""

    lang: str
    setup: dict[str, Any]
    recognised: list[Recognised]
    entity: str | None = None  # "vm" or "docker": what the question is about
    sure: bool = False  # ...from clear words ("from the LAN", "容器里", "curl X"), not guessed
    endpoints: list[str] = field(default_factory=list)  # endpoints mentioned, for the choices


def language(text: str) -> str:
    return "zh" if CJK.search(text) else "en"


def _find(patterns: list[re.Pattern[str]], text: str) -> list[re.Match[str]]:
    out = []
    for p in patterns:
        out += list(p.finditer(text))
    return sorted(out, key=lambda m: m.start())


def _first(table: dict[str, list[re.Pattern[str]]], text: str) -> tuple[str, re.Match[str]] | None:
    """The value whose pattern matches earliest (ties: table order)."""
    best: tuple[str, re.Match[str]] | None = None
    for value, patterns in table.items():
        for m in _find(patterns, text)[:1]:
            if best is None or m.start() < best[1].start():
                best = (value, m)
    return best


def _hits(table: dict[str, list[re.Pattern[str]]], text: str) -> list[Hit]:
    out = []
    for value, patterns in table.items():
        for m in _find(patterns, text):
            out.append(Hit(value, m.start(), m.end(), m.group(0)))
    return sorted(out, key=lambda h: (h.start, -h.end))


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with the spans replaced by spaces (positions kept)."""
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


# ------------------------------------------------------------------------- pasted configuration


def _pasted(text: str) -> tuple[dict[str, Any] | None, list[tuple[int, int]]]:
    """A `docker run` line or a compose snippet in the text, read by the real loaders."""
    from diagnose.loaders import compose, docker_run
    from diagnose.loaders.base import LoadOptions

    options = LoadOptions(read_siblings=False)
    spans: list[tuple[int, int]] = []
    setup: dict[str, Any] | None = None
    services = re.search(
        r"^\s*(version:.*\n\s*)?services:\s*\n(?:[ \t].*(?:\n|$)|\s*\n)+", text, re.M
    )
    if services:
        try:
            loaded = compose.load(services.group(0), "<question>", "compose", options)
            setup = loaded.setup.model_dump(mode="json", exclude_none=True, by_alias=True)
            spans.append(services.span())
        except InputError:
            pass
    # A command ends at the line's end, a backtick, or the prose that follows it.
    runs = list(
        re.finditer(
            r"\b(docker|podman) +(container +)?(run|create)\b(?:[^\n`,;，；。]|,(?=\S))*", text
        )
    )
    if runs and setup is None:
        lines = "\n".join(m.group(0) for m in runs)
        # From the first space of a run only: `\s+` tried from every space of a long run.
        lines = re.sub(r"(?<!\s)\s+(then|and|but|after that)\b.*$", "", lines, flags=re.M)
        try:
            loaded = docker_run.load(lines, "<question>", "docker-run", options)
            setup = loaded.setup.model_dump(mode="json", exclude_none=True, by_alias=True)
            spans += [m.span() for m in runs]
        except InputError:
            pass
    networks = _network_creates(text, spans)
    if networks:
        setup = setup or {}
        docker = setup.setdefault("docker", {})
        known = {n.get("name") for n in docker.get("networks", [])}
        docker.setdefault("networks", []).extend(n for n in networks if n["name"] not in known)
    return setup, spans


def _network_creates(text: str, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """`docker network create [--subnet S] [--gateway G] [--internal] NAME` lines."""
    out: list[dict[str, Any]] = []
    for m in re.finditer(r"\bdocker +network +create\b([^\n`;，。,&|]*)", text):
        words = m.group(1).replace("=", " ").split()
        net: dict[str, Any] = {"driver": "bridge"}
        i = 0
        while i < len(words):
            word = words[i]
            if word in ("--subnet", "--gateway", "-d", "--driver") and i + 1 < len(words):
                key = {"--subnet": "subnet", "--gateway": "gateway"}.get(word, "driver")
                net[key] = words[i + 1]
                i += 2
                continue
            if word == "--internal":
                net["internal"] = True
            elif not word.startswith("-") and re.fullmatch(r"[A-Za-z0-9][\w.-]*", word):
                net["name"] = word
            i += 1
        if "name" in net and net["name"] not in {n["name"] for n in out}:
            out.append(_valid_values(net))
            spans.append(m.span())
    return out


def _valid_values(net: dict[str, Any]) -> dict[str, Any]:
    """A network with the values the setup format refuses left out (`--subnet bogus`,
    `-d foo`), as the loaders leave out what they cannot read."""
    from pydantic import ValidationError

    from diagnose.model import DockerNetwork

    try:
        DockerNetwork.model_validate(net)
    except ValidationError as exc:
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]} - {"name"}
        return {k: v for k, v in net.items() if k not in bad}
    return net


# ------------------------------------------------------------------------- the reading


class _Reader:
    def __init__(self, text: str, entity: str | None, direction: str | None) -> None:
        self.text = text
        self.entity_hint = entity
        self.direction = direction
        self.lang = language(text)
        self.lex = lexicon()
        self.recognised: list[Recognised] = []
        self.vm_dial: str | None = None  # a VM dialled by its address
        self.host_dial: str | None = None  # the host dialled by docker0's address
        self.vm_networks: list[dict[str, Any]] = []  # a VMware NAT forward read in the text
        self.failing = ""  # the clause(s) that say what fails
        self.mode_at: list[int] = []  # where each adapter's mode was named
        self.sure = False  # the direction was read from clear words, not guessed
        self.entity_kind: str | None = None

    def note(self, kind: str, value: str, words: str) -> None:
        item = Recognised(kind=kind, value=value, text=words.strip())
        if item not in self.recognised:
            self.recognised.append(item)

    def read(self) -> Reading:
        pasted, spans = _pasted(self.text)
        # What was pasted is read by the loaders; the prose around it by the patterns.
        prose = _blank(self.text, spans)
        setup: dict[str, Any] = pasted or {}
        if pasted:
            for c in pasted.get("docker", {}).get("containers", []):
                self.note("config", f"container {c['name']}", "docker run / compose")
        entity = self._entity(prose, setup)
        self.entity_kind = entity
        hypervisor = self._one("hypervisor", prose)
        vm_modes = self._vm_modes(prose) if entity == "vm" else []
        os_ = self._one("os", prose)
        platform = self._one("platform", prose)
        names = self._names(prose, entity)
        if entity == "vm":
            self._vm(setup, names, hypervisor, vm_modes, prose)
        elif entity == "docker":
            self._docker(setup, names, prose)
        host = setup.setdefault("host", {})
        if os_:
            host.setdefault("os", os_)
        if platform and entity == "docker":
            host.setdefault("docker", platform)
        # No platform named on Windows or a Mac: Docker Desktop is likely but not certain, so
        # it is left for the diagnosis to ask.
        if self.vm_networks:
            setup["vm_networks"] = self.vm_networks
        self._addresses(setup, prose, entity)
        endpoints = self._symptom(setup, prose, entity)
        if not host:
            del setup["host"]
        return Reading(
            lang=self.lang,
            setup=setup,
            recognised=self.recognised,
            entity=entity,
            endpoints=endpoints,
            sure=self.sure or self.direction is not None,
        )

    def _one(self, table: str, text: str) -> str | None:
        found = _first(self.lex[table], text)
        if found is None:
            return None
        self.note(table, found[0], found[1].group(0))
        return found[0]

    def _entity(self, text: str, setup: dict[str, Any]) -> str | None:
        if self.entity_hint:
            self.note("technology", self.entity_hint, "(answered)")
            return self.entity_hint
        if setup.get("docker"):
            return "docker"
        found = _first(self.lex["technology"], text)
        if found is None:
            return None
        # Both named: the one the question is about is the one named first, unless the
        # other appears with its own mode words (e.g. "docker in a VMware VM": docker).
        vm = _find(self.lex["technology"]["vm"], text)
        dk = _find(self.lex["technology"]["docker"], text)
        value = found[0]
        if vm and dk:
            value = "docker" if len(dk) >= len(vm) else "vm"
        self.note("technology", value, (dk if value == "docker" else vm)[0].group(0))
        return value

    def _names(self, text: str, entity: str | None) -> list[str]:
        out: list[str] = []
        for m in _find(self.lex["name"], text):
            name = m.group("name")
            if name.lower() in NOT_NAMES:
                continue
            if entity == "vm" and re.search(r"(服务|service)$", m.group(0), re.I):
                continue  # "web服务" in a VM is a service it runs, not the VM's name
            if name not in out:
                out.append(name)
                self.note("name", name, m.group(0))
        return out

    def _forward(self, text: str) -> tuple[str, str | None, str] | None:
        """A NAT port forward written out: "端口转发 2222->22", "8080 -> 192.168.80.129:80"."""
        cue = re.search(
            r"port ?forward|端口转发|forwarding rule|转发规则|NAT 设置|nat settings", text, re.I
        )
        if not cue:
            return None
        pair = re.search(
            r"(?<![\d.:])(\d{1,5})\s*(?:->|→|=>|=|:|到|to)[^\d\n]{0,16}?"
            r"(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5})(?![\d.])",
            text[cue.start() : cue.start() + 120],
            re.ASCII,
        )
        if pair and all(0 < int(p) < 65536 for p in (pair.group(1), pair.group(3))):
            self.note("forward", f"{pair.group(1)} -> {pair.group(3)}", pair.group(0))
            return pair.group(1), pair.group(2), pair.group(3)
        return None

    def _vm_modes(self, text: str) -> list[tuple[str, int]]:
        """The adapter modes named, with where: one per adapter ("网卡1是NAT，网卡2是host-only"),
        or the one it was changed to ("改成了桥接", "switched to bridged"); else the first."""
        hits = _hits(self.lex["vm_mode"], text)
        kept: list[Hit] = []
        for h in sorted(hits, key=lambda h: (h.start, -(h.end - h.start))):
            if kept and h.start < kept[-1].end:
                continue
            kept.append(h)
        if not kept:
            return []
        several = re.search(
            r"(网卡|adapter|nic)\s*(2|二|two)|second (adapter|nic)|两块网卡|two adapters",
            text,
            re.I,
        )
        if several:
            modes = list(dict.fromkeys(h.value for h in kept))
            for h in kept:
                self.note("vm_mode", h.value, h.text)
            return [(m, next(h.start for h in kept if h.value == m)) for m in modes]
        changed = [
            h
            for h in kept
            if re.search(
                r"(改成|改为|换成|切换到|切到|设置成|changed? (it )?to|switched (it )?to|now)\s*(了)?\s*\S{0,3}$",
                text[max(0, h.start - 16) : h.start],
                re.I,
            )
        ]
        chosen = changed[-1] if changed else kept[0]
        self.note("vm_mode", chosen.value, chosen.text)
        return [(chosen.value, chosen.start)]

    def _vm(
        self,
        setup: dict[str, Any],
        names: list[str],
        hypervisor: str | None,
        modes: list[tuple[str, int]],
        text: str,
    ) -> None:
        vm: dict[str, Any] = {"name": names[0] if names else "vm"}
        if hypervisor:
            vm["hypervisor"] = hypervisor
        if modes:
            adapters: list[dict[str, Any]] = [{"mode": mode} for mode, _ in modes]
            net = re.search(r"\b(vmnet\d+|vboxnet\d+|virbr\d+)\b", text, re.I)
            if net and len(adapters) == 1:
                adapters[0]["network"] = net.group(1).lower().replace("vmnet", "VMnet")
            vm["adapters"] = adapters
            self.mode_at = [at for _, at in modes]
            forward = self._forward(text)
            nat = [a for a in adapters if a["mode"] in ("nat", "natnetwork")]
            if forward and nat:
                host_port, guest, guest_port = forward
                if guest and hypervisor == "vmware":
                    # VMware keeps forwards on VMnet8's NAT device, by the guest's address
                    self.vm_networks = [
                        {"name": "VMnet8", "hypervisor": "vmware", "mode": "nat",
                         "port_forwards": [f"{host_port} = {guest}:{guest_port}"]}
                    ]  # fmt: skip
                else:
                    nat[0]["port_forwards"] = [f"{host_port}:{guest_port}"]
        setup["vms"] = [vm]
        if _find(self.lex["endpoint"]["other"], text):
            setup["vms"].append(
                {"name": "vm2", **({"hypervisor": hypervisor} if hypervisor else {})}
            )

    def _docker(self, setup: dict[str, Any], names: list[str], text: str) -> None:
        docker = setup.setdefault("docker", {})
        containers = docker.setdefault("containers", [])
        mode_hit = _first(self.lex["docker_mode"], text)
        # Containers a pasted `docker run` left unnamed get the intake's default names.
        defaults = iter(["container", "container2", "container3"])
        for entry in containers:
            if re.fullmatch(r"run-\d+", str(entry.get("name"))):
                entry["name"] = next(defaults)
        known = {entry["name"] for entry in containers}
        # A container only named in prose: its mode is unknown (left out would mean bridge).
        for name in names:
            if name not in known and not containers_from_config(setup):
                containers.append({"name": name, "network_mode_unknown": True})
                known.add(name)
        if not containers:
            containers.append({"name": "container", "network_mode_unknown": True})
        if not containers_from_config(setup):
            c: dict[str, Any] = containers[0]
            if mode_hit:
                mode, m = mode_hit
                self.note("docker_mode", mode, m.group(0))
                target = m.groupdict().get("name")
                c.pop("network_mode_unknown", None)
                if mode in ("host", "none", "bridge"):
                    c["network_mode"] = mode
                elif mode == "container":
                    c["network_mode"] = f"container:{target or 'container2'}"
                elif mode == "network" and target:
                    c["networks"] = [target]
                    docker["networks"] = [{"name": target, "driver": "bridge"}]
        if _find(self.lex["endpoint"]["other"], text) and len(containers) == 1:
            containers.append({"name": "container2", "network_mode_unknown": True})
        self._ports(text)
        published = _find(self.lex["publish"], text)
        first = containers[0]
        if published and not first.get("ports") and first.get("network_mode") != "host":
            self.note("publish", "ports published", published[0].group(0))
            # Only a mapping written out ("8080:80", "8080->80", "8080映射到80") says which
            # port goes where; a lone number leaves the publish for the diagnosis to ask.
            pair = re.search(
                r"(?<![\d.:])(\d{1,5}) ?(?::|->|→|=>|映射到|转发到|maps? to)[^\d\n]{0,12}?(\d{1,5})(?![\d.])",
                text,
                re.ASCII,
            )
            if pair and all(0 < int(p) < 65536 for p in pair.groups()):
                first["ports"] = [f"{pair.group(1)}:{pair.group(2)}"]

    def _ports(self, text: str) -> list[str]:
        out: list[str] = []
        for m in _find(self.lex["port"], text):
            port = m.group("port")
            if 0 < int(port) < 65536 and port not in out:
                out.append(port)
                self.note("port", port, m.group(0))
        return out

    def _addresses(self, setup: dict[str, Any], text: str, entity: str | None) -> None:
        """Each address goes to the role named just before it (gateway, host, VM, container)."""
        for m in IPV4.finditer(text):
            addr, prefix = m.group(1), m.group(2)
            ip = _ip(addr)
            if ip is None or (prefix is not None and int(prefix) > 32):
                continue  # a typo (192.168.1.256, /40): no address to place
            if (
                ip.is_loopback
                or ip.is_unspecified
                or addr.startswith("255.")
                or addr in ("8.8.8.8", "1.1.1.1")
            ):
                continue
            before = text[max(0, m.start() - 16) : m.start()]
            if re.search(DIAL_CUE, before, re.I) or re.match(r":\d", text[m.end() :]):
                before = ""  # dialled ("curl X", "X:6379"), not described: no role
            role = None
            best = -1
            for value, patterns in self.lex["role"].items():
                for r in _find(patterns, before):
                    if r.start() > best:
                        best, role = r.start(), value
            self.note("address", f"{m.group(0)} ({role or 'unplaced'})", m.group(0))
            self._place(setup, role, addr, prefix, entity, m.start())

    def _place(
        self,
        setup: dict[str, Any],
        role: str | None,
        addr: str,
        prefix: str | None,
        entity: str | None,
        at_pos: int = 0,
    ) -> None:
        if role == "lan" and prefix:
            net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
            setup.setdefault("lan", {}).setdefault("subnet", str(net))
        elif role == "gateway":
            if entity == "vm" and setup.get("vms") and setup["vms"][0].get("adapters"):
                setup["vms"][0]["adapters"][0].setdefault("gateway", addr)
            else:
                setup.setdefault("lan", {}).setdefault("gateway", addr)
        elif role == "host":
            iface = {"name": "eth0", "address": f"{addr}/{prefix or 24}"}
            host = setup.setdefault("host", {})
            if not host.get("interfaces"):
                host["interfaces"] = [iface]
        elif (
            role in ("vm", None)
            and entity == "vm"
            and setup.get("vms")
            and self.mode_at
            and not (
                prefix
                and ipaddress.ip_network(f"{addr}/{prefix}", strict=False).network_address
                == ipaddress.ip_address(addr)
            )
        ):  # an address, not a subnet
            # The adapter whose mode was named last before the address ("网卡2是 host-only X").
            adapters = setup["vms"][0].get("adapters") or []
            before = [i for i, at in enumerate(self.mode_at) if at < at_pos]
            if adapters and (role == "vm" or (before and at_pos - self.mode_at[before[-1]] < 24)):
                index = before[-1] if before else 0
                adapters[index].setdefault("address", f"{addr}/{prefix or 24}")
        elif role == "container" and setup.get("docker", {}).get("containers"):
            setup["docker"]["containers"][0].setdefault("ip", addr)

    # --------------------------------------------------------------------- the failing connection

    def _mentions(self, text: str, setup: dict[str, Any]) -> list[Hit]:
        """Endpoints named in the text, each resolved to a symptom endpoint (vm:NAME...)."""
        vms = [v["name"] for v in setup.get("vms", [])]
        containers = [c["name"] for c in setup.get("docker", {}).get("containers", [])]
        hits = _hits(self.lex["endpoint"], text)
        # A container or VM named in the text is an endpoint of its own.
        for name in containers + vms:
            if name in DEFAULT_NAMES:
                continue
            for m in re.finditer(rf"(?<![A-Za-z0-9_.-]){re.escape(name)}(?![A-Za-z0-9_-])", text):
                kind = "container" if name in containers else "vm"
                hits.append(Hit(f"{kind}:{name}", m.start(), m.end(), m.group(0)))
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        named = [h for h in hits if ":" in h.value]
        # "容器api", "container `web`": the name says which one, not the word before it.
        hits = [
            h
            for h in hits
            if not (
                h.value in ("container", "vm") and any(0 <= n.start - h.end <= 2 for n in named)
            )
        ]
        kept: list[Hit] = []
        for h in hits:
            if kept and h.start < kept[-1].end:
                continue  # longest match wins ("host-only" is a mode, not the host)
            ep = self._resolve(h, vms, containers)
            if h.value == "address":
                ep = self._address_endpoint(text, h, setup)
            if ep is not None:
                h.value = ep
                kept.append(h)
        return kept

    def _address_endpoint(self, text: str, h: Hit, setup: dict[str, Any]) -> str | None:
        """An address the client dials is an endpoint; one that says what something's address
        is ("VM 192.168.80.128", "IP 172.17.0.2", a subnet) is not."""
        if text[h.end : h.end + 1] == "/" or h.text.startswith("255.") or _ip(h.text) is None:
            return None  # a subnet, a netmask or a typo (192.168.1.256), not a machine
        before = text[max(0, h.start - 14) : h.start].lower()
        if re.search(r"(\bvms?|\bguest|\bcontainer|虚拟机|容器|\bhost|宿主机)\s*$", before):
            return None  # "VM 192.168.80.128": the VM's own address, said in passing
        if re.search(
            r"(ip|address|addr|地址|是|为|at|gets?|got|is|has|\(|（|网关|gateway|subnet|网段)[\s:：=\"']*$",
            before,
        ):
            return None
        for c in setup.get("docker", {}).get("containers", []):
            if c.get("ip") == h.text:
                return f"container:{c['name']}"
        host_addrs = {
            str(i.get("address", "")).split("/")[0]
            for i in setup.get("host", {}).get("interfaces", [])
        }
        if h.text in host_addrs:
            return "host"
        if setup.get("docker") and h.text == "172.17.0.1":
            self.host_dial = h.text  # docker0's own address: the host, seen from a container
            return "host"
        return h.text

    def _resolve(self, h: Hit, vms: list[str], containers: list[str]) -> str | None:
        if ":" in h.value:
            return h.value
        if h.value == "vm":
            return f"vm:{vms[0]}" if vms else None
        if h.value == "container":
            return f"container:{containers[0]}" if containers else None
        if h.value == "address":
            return None
        if h.value == "it":
            if self.entity_kind == "vm" and vms:
                return f"vm:{vms[0]}"
            return f"container:{containers[0]}" if containers else None
        if h.value == "other":
            if ("vm" in h.text.lower() or "虚拟机" in h.text) and len(vms) > 1:
                return f"vm:{vms[1]}"
            return f"container:{containers[1]}" if len(containers) > 1 else None
        return h.value

    def _clauses(self, text: str) -> list[tuple[int, int, str]]:
        """Clauses with their state: "fail" (failure words), "ok" (works), or "" (neither)."""
        out = []
        pos = 0
        for m in re.finditer(
            # English commas mostly set off a phrase of the same clause ("From another PC,
            # mstsc to X times out"); Chinese ones separate clauses.
            r"[，。；;!?！？\n]|\.(?=\s|$)|,(?=\s*(but|and|while|yet)\b)"
            r"|\b(but|however|while|whereas)\b|但是|但|却|可是|而",
            text,
        ):
            out.append((pos, m.start()))
            pos = m.end() if m.group(0) in "，,。；;!?！？\n." else m.start()
        out.append((pos, len(text)))
        states = []
        for a, b in out:
            part = text[a:b]
            if not part.strip():
                continue
            fail = bool(_find(self.lex["failure"], part)) or bool(
                _find(self.lex["says"]["connection refused"], part)
            )
            ok = bool(_find(self.lex["works"], part))
            states.append((a, b, "fail" if fail else "ok" if ok else ""))
        return states

    def _symptom(self, setup: dict[str, Any], text: str, entity: str | None) -> list[str]:
        """Write setup["symptoms"] when the failing connection can be read; return the
        endpoints mentioned (the choices of the direction question)."""
        mentions = self._mentions(text, setup)
        endpoints = list(dict.fromkeys(h.value for h in mentions))
        vms = [v["name"] for v in setup.get("vms", [])]
        containers = setup.get("docker", {}).get("containers", [])
        subject = (
            f"vm:{vms[0]}"
            if entity == "vm" and vms
            else f"container:{containers[0]['name']}"
            if entity == "docker" and containers
            else None
        )
        # An error message may stand inside what was pasted: read those in the whole text.
        said = _first(self.lex["says"], self.text)
        symptom: dict[str, Any] = {"id": SYMPTOM}
        if said:
            symptom["says"] = said[0]
            self.note("says", said[0], said[1].group(0))
        if _find(self.lex["udp"], text):
            symptom["proto"] = "udp"
        start = self._start_failure(self.text, said)
        if start and containers and not self.direction:
            owner = self._port_owner(setup, text) or containers[0]["name"]
            symptom.update({"from": f"container:{owner}", "type": "start"})
            self.sure = True
            self.note("direction", f"container:{owner} does not start", start)
            setup["symptoms"] = [symptom]
            return endpoints
        source, target = self._direction(text, mentions, subject, setup)
        if subject and subject.startswith("vm:"):
            source, target = (self._vm_address(setup, e, subject) for e in (source, target))

        if self.direction:
            source, _, target = (p.strip() for p in self.direction.partition("->"))
            if not source or not target:
                raise InputError(
                    "expected FROM -> TO, e.g. lan -> vm:vm",
                    file="<answers>",
                    field="intake.direction",
                )
        if source is None or target is None or source == target:
            return endpoints or ([subject] if subject else [])
        symptom["from"] = source
        symptom["to"] = target
        self.note("direction", f"{source} -> {target}", f"{source} -> {target}")
        dial = self._dial(text, setup, source, target) or self.vm_dial
        if target == "host" and self.host_dial:
            dial = self.host_dial
        if dial:
            symptom["dial"] = dial
        port = self._symptom_port(setup, text, source, target)
        pinged = re.search(r"\bping|ping ?不通", self.failing, re.I)
        if pinged and not _find(self.lex["port"], self.failing):
            port = None  # "ping 不通": ICMP, no port
        if port is not None:
            symptom["port"] = port
            if "proto" not in symptom and self._udp_only(setup, target, port):
                symptom["proto"] = "udp"
        setup["symptoms"] = [symptom]
        return endpoints

    def _vm_address(self, setup: dict[str, Any], endpoint: str | None, subject: str) -> str | None:
        """In a question about a VM, a bare address dialled is the VM's own (people dial
        their VM by address), unless it is the host's or the LAN gateway's."""
        if endpoint is None or not IPV4.fullmatch(endpoint):
            return endpoint
        host_addrs = {
            str(i.get("address", "")).split("/")[0]
            for i in setup.get("host", {}).get("interfaces", [])
        }
        if endpoint in host_addrs or endpoint == setup.get("lan", {}).get("gateway"):
            return endpoint
        if endpoint.endswith(".1") and not endpoint.startswith("192.168.1."):
            self.host_dial = endpoint
            return "host"  # the host's side of a virtual network (VMnet8, vboxnet0, virbr0)
        docker_range = ipaddress.ip_address(endpoint) in ipaddress.ip_network("172.16.0.0/12")
        if docker_range and re.search(r"docker|容器|container", self.text, re.I):
            return endpoint  # a Container-IP dialled from the VM
        vm = setup["vms"][0]
        nat = [a for a in vm.get("adapters") or [] if a.get("mode") == "nat"]
        if vm.get("hypervisor") == "virtualbox" and nat and endpoint.startswith("10.0.2."):
            return endpoint  # VirtualBox NAT's private address: dialled as such, it goes nowhere
        if endpoint in self.failing:
            self.vm_dial = endpoint  # what the failing command typed
        return subject

    def _udp_only(self, setup: dict[str, Any], target: str, port: int) -> bool:
        """The target publishes this port for UDP only (a pasted "3478:3478/udp")."""
        if not target.startswith("container:"):
            return False
        name = target.split(":", 1)[1]
        protos = {
            (
                p.get("protocol")
                if isinstance(p, dict)
                else (str(p).split("/")[1] if "/" in str(p) else "tcp")
            )
            for c in setup.get("docker", {}).get("containers", [])
            if c.get("name") == name
            for p in c.get("ports") or []
            if _host_port(p) == port
        }
        return protos == {"udp"}

    def _start_failure(self, text: str, said: tuple[str, re.Match[str]] | None) -> str | None:
        found = _find(self.lex["start_failure"], text)
        if found:
            return found[0].group(0)
        if said and said[0] in ("port is already allocated", "address already in use"):
            return said[1].group(0)
        return None

    def _port_owner(self, setup: dict[str, Any], text: str) -> str | None:
        """The container publishing a port the text names."""
        ports = {int(m.group("port")) for m in _find(self.lex["port"], text)}
        for c in setup.get("docker", {}).get("containers", []):
            for p in c.get("ports") or []:
                if _host_port(p) in ports:
                    return str(c["name"])
        return None

    def _direction(
        self, text: str, mentions: list[Hit], subject: str | None, setup: dict[str, Any]
    ) -> tuple[str | None, str | None]:
        """Who cannot reach whom, read in the clause that says it fails."""
        clauses = self._clauses(text)
        failing = [c for c in clauses if c[2] == "fail"] or [(0, len(text), "")]
        a, b, _ = failing[0]
        inside = [h for h in mentions if a <= h.start < b]
        # Too few endpoints in the failing clause: widen to the clauses just before it
        # that do not say something works, as Chinese puts the topic first.
        i = clauses.index(failing[0]) if failing[0] in clauses else 0
        j = i
        while len({h.value for h in inside}) < 2 and j > 0 and clauses[j - 1][2] != "ok":
            j -= 1
            a = clauses[j][0]
            inside = [h for h in mentions if a <= h.start < b]
        part = text[a:b]
        self.failing = part
        self.sure = False
        source, target = self._order(part, [_shift(h, -a) for h in inside], subject)
        sure = self.sure
        if source is not None and target is None:
            # "the LAN can't": the object is what worked for another (its target) or the subject
            ok_targets = [
                self._order(
                    text[x:y], [_shift(h, -x) for h in mentions if x <= h.start < y], subject
                )[1]
                for x, y, state in clauses
                if state == "ok"
            ]
            target = next((t for t in ok_targets if t and t != source), None)
            if target is None and subject and subject != source:
                target = subject
            if target is None:
                target = self._dialled_endpoint(part)
        if (
            subject
            and subject.startswith("container:")
            and source in ("lan", "internet")
            and target
            and IPV4.fullmatch(target)
            and not ipaddress.ip_address(target).is_loopback
            and _find(self.lex["publish"], text)
        ):
            target = "host"  # from outside, a published port is dialled at the host's address
        if (
            target == "host"
            and subject
            and source in ("lan", "internet")
            and _find(self.lex["publish"], text)
        ):
            # "the LAN opens http://宿主机IP:8080" with a forward or -p: it means the VM/container
            target = subject
        if target == "lan":
            # "局域网里 NAS 的共享 192.168.1.30", "a server on the LAN at 10.1.2.3": that one
            addr = [h.value for h in inside if IPV4.fullmatch(h.value)]
            if addr and addr[-1] not in (source, subject):
                target = addr[-1]
        if source is None and target is not None and subject and subject != target:
            source = subject
        elif source is None and target is not None and target == subject:
            source = "host"  # a command with no place said: typed on the person's own machine
        if source is None and target is None and subject:
            publish = _find(self.lex["publish"], text)
            outward = [h.value for h in mentions if h.value in ("lan", "internet")]
            if outward == ["internet"]:
                source, target = subject, "internet"
            elif publish or outward == ["lan"]:
                source, target = "lan", subject
        if target is None and source == subject:
            target = self._dialled_endpoint(part)
        if (
            subject
            and subject.startswith("container:")
            and (source, target) == (subject, "host")
            and re.search(r"\b(localhost|127\.0\.0\.1)\b", part)
            and not re.search(r"\bhost\b|宿主", part.replace("localhost", ""), re.I)
            and not re.search(
                r"(容器|container)\S{0,6}\s*(里|内|中)|\b(inside|in|from|within) (the |my )?container",
                text,
                re.I,
            )
        ):
            # "curl localhost:8080" with nothing said about being inside: the host dials
            source, target = "host", subject
        if (source, target) == ("lan", subject) and _find(self.lex["publish"], text):
            sure = True  # "做了端口映射，外部访问不了": a publish is for the outside to come in
        self.sure = sure
        return source, target

    def _order(
        self, part: str, inside: list[Hit], subject: str | None
    ) -> tuple[str | None, str | None]:
        """Source and target among the endpoints of one clause."""
        values = list(dict.fromkeys(h.value for h in inside))
        if not values:
            return None, None
        # What a command is pointed at ("curl 172.17.0.2", "psql -h db") is the target.
        dialled = [
            h
            for h in inside
            if re.search(DIAL_CUE, part[max(0, h.start - 16) : h.start], re.I)
            and h.text.lower() not in ("localhost", "127.0.0.1")  # the host dialling itself
        ]
        # "容器app里", "宿主机上", "inside the container": where the connection starts (before
        # the verb: after it, "访问局域网里的 NAS" places the object).
        first_verb = min((m.start() for m in _find(self.lex["verb"], part)), default=len(part))
        for h in inside:
            if (
                re.match(r"\s*(里|内|里面|内部|中|上)", part[h.end :]) and h.start < first_verb
            ) or re.search(
                r"\b(inside|from inside|in|within|from within)( the| my| a)?\s*$",
                part[: h.start],
                re.I,
            ):
                rest = [d.value for d in dialled if d.value != h.value]
                rest += [v for v in values if v != h.value]
                self.sure = bool(rest)
                return h.value, rest[0] if rest else None
        if dialled and len(values) >= 2:
            target = dialled[0].value
            source = next(v for v in values if v != target)
            self.sure = True
            return source, target
        for f in _find(self.lex["from"], part):
            after = [h for h in inside if 0 <= h.start - f.end() <= 12]
            if after and f.group(0) != "在":
                source = after[0].value
                rest = [v for v in values if v != source]
                self.sure = bool(rest)
                return source, rest[0] if rest else None
        verbs = _find(self.lex["verb"], part) or _find(self.lex["failure"], part)
        passive = _find(self.lex["passive"], part)
        if len(values) == 1:
            only = values[0]
            before_verb = verbs and inside[0].start < verbs[0].start()
            if passive or not before_verb:
                if only in ("internet",) and subject:
                    return subject, only
                return None, only
            return only, None
        if passive and self.lang == "en":
            return values[-1], values[0]
        if verbs:
            v = verbs[0].start()
            ahead = [h.value for h in inside if h.start < v]
            behind = [h.value for h in inside if h.start >= v]
            if ahead:
                source = ahead[-1]
                rest = [x for x in behind if x != source] or [x for x in values if x != source]
                # "A can't reach B": subject before the verb, object after it. Chinese puts
                # topics first, so there word order alone is confirmed by asking.
                self.sure = self.lang == "en" and len(set(ahead)) == 1 and source not in behind
                return source, rest[0] if rest else None
        return values[0], values[1]

    def _dialled_endpoint(self, part: str) -> str | None:
        return next((m.group(1) for m in IPV4.finditer(part) if _ip(m.group(1))), None)

    def _dial(self, text: str, setup: dict[str, Any], source: str, target: str) -> str | None:
        """What the client typed, where it is not the target's plain name."""
        m = re.search(r"\b(host\.docker\.internal|gateway\.docker\.internal)\b", text)
        if m:
            return m.group(1)
        if target.startswith("container:"):
            name = target.split(":", 1)[1]
            for c in setup.get("docker", {}).get("containers", []):
                if c.get("name") == name and c.get("ip") and c["ip"] in text:
                    return str(c["ip"])
            # A container dials a peer by name; from outside, a name means nothing.
            quoted = rf"(//|@|-h ?|ENOTFOUND |[\"'`]){re.escape(name)}\b|\b{re.escape(name)}:\d"
            if source.startswith("container:") and re.search(quoted, text):
                return name
            for typed in IPV4.finditer(text):
                addr = _ip(typed.group(1))
                cue = re.search(DIAL_CUE, text[max(0, typed.start() - 16) : typed.start()], re.I)
                if cue and addr is not None and addr in ipaddress.ip_network("172.16.0.0/12"):
                    return typed.group(1)  # a Container-IP typed in a command
        if target == "host" and source.startswith("container:"):
            m = re.search(r"\b(localhost|127\.0\.0\.1)\b", text)
            if m:
                return m.group(1)
        if source == "host" and target.startswith("container:"):
            m = re.search(r"\b(localhost|127\.0\.0\.1)\b", self.failing)
            if m:
                return m.group(1)  # the host dials its published port on loopback
        if target == "internet":
            m = re.search(
                r"\b(?!docker\.internal)([a-z0-9-]+(\.[a-z0-9-]+)*\.(com|org|net|io|cn|dev|co|uk|de))\b",
                text,
                re.I,
            )
            if m:
                return m.group(1)
        return None

    def _symptom_port(
        self, setup: dict[str, Any], text: str, source: str, target: str
    ) -> int | None:
        # The port of the clause that fails first ("8080 works, 9000 is refused"), or the one
        # its URL or command implies ("打开 http://192.168.1.20" is 80), then any.
        failing = [int(m.group("port")) for m in _find(self.lex["port"], self.failing)]
        implied_here = _first(self.lex["service_port"], self.failing)
        if not failing and implied_here:
            failing = [int(implied_here[0])]
        failing = [p for p in failing if 0 < p < 65536]  # port 0 or 99999: a typo, no port
        ports = failing + [int(m.group("port")) for m in _find(self.lex["port"], text)]
        ports = list(dict.fromkeys(p for p in ports if 0 < p < 65536))
        if target.startswith("container:"):
            name = target.split(":", 1)[1]
            for c in setup.get("docker", {}).get("containers", []):
                if c.get("name") != name:
                    continue
                published = c.get("ports") or []
                if published and source in ("lan", "host", "internet"):
                    host_ports = [_host_port(p) for p in published]
                    if failing:
                        return failing[0]  # even one not published: that is the question
                    for p in ports:
                        if p in host_ports:
                            return p
                    if host_ports[0] is not None and not ports:
                        return host_ports[0]
        if ports:
            return ports[0]
        implied = _first(self.lex["service_port"], text)
        if implied and (target != "internet" or implied[0] in ("443", "80")):
            self.note("port", implied[0], implied[1].group(0))
            return int(implied[0])
        return None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address the text spells, or None for a dotted quad that is none (192.168.1.256)."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _shift(h: Hit, by: int) -> Hit:
    return replace(h, start=h.start + by, end=h.end + by)


def containers_from_config(setup: dict[str, Any]) -> bool:
    """Whether the containers come from a pasted run line or compose snippet."""
    return any("image" in c for c in setup.get("docker", {}).get("containers", []))


def _host_port(publish: Any) -> int | None:
    """The host port of a publish, as the loaders or the intake wrote it."""
    if isinstance(publish, dict):
        spec = str(publish.get("published") or "")
    else:
        parts = str(publish).split("/")[0].split(":")
        spec = parts[-2] if len(parts) >= 2 else ""
    head = spec.split("-")[0]
    return int(head) if head.isascii() and head.isdigit() else None


def read(text: str, *, entity: str | None = None, direction: str | None = None) -> Reading:
    """What the question says, as a partial setup; `entity` ("vm" or "docker") and
    `direction` ("FROM -> TO") are answers to the intake's own questions."""
    if not text.strip():
        raise InputError("the question is empty", file="<question>", field="text")
    if len(text) > 20_000:
        raise InputError(
            "the question is longer than 20,000 characters", file="<question>", field="text"
        )
    return _Reader(text, entity, direction).read()
