"""Redaction: a report whose addresses and names are replaced by stable placeholders.

For sharing a diagnosis (a chat, an issue, a forum) without the network it describes:

- IPv4 and IPv6 addresses and subnets become `netN` plus the host's offset inside its subnet,
  so what shares a subnet stays visible and VMware's `.1`/`.2`/`.128` keep their meaning:
  192.168.80.0/24 -> `net2.0/24`, 192.168.80.128 -> `net2.128`, 172.20.0.5 in 172.20.0.0/16 ->
  `net3.0.5`, fd00::5 in fd00::/64 -> `net4::5`. An address in no known subnet becomes `ipN`.
- Names become `vm-N`, `container-N`, `net-N` (Docker and hypervisor networks), `hostname-N`
  (DNS names, aliases, what a symptom dials), `image-N`, `symptom-N` (ids other than sN).
- The same value gets the same placeholder everywhere in one output; numbers follow the order
  of the setup (the report's facts, sorted by the setup entry they come from).
- Kept as they are, because they carry meaning and identify nothing: 0.0.0.0 and ::, loopback
  (127.0.0.0/8, ::1), netmasks, /0, ports, protocols, rule, claim and question ids, device
  kinds, modes, interface names (eth0, Ethernet, br0), and well-known names: docker0, the
  networks bridge/host/none, VMnet0-19, vboxnetN, virbrN, libvirt's `default`, Hyper-V's
  `Default Switch`, VirtualBox's NAT engine, localhost and host.docker.internal.

netwhy's texts are its knowledge's templates filled with the setup's values: each text is
matched with its template and only what filled a {placeholder} is redacted, so the words and
constants of netwhy's own prose stay (a container called `app` leaves "the app in ..." alone;
VirtualBox's 10.0.2.15 stays where a text explains that every NAT guest has it). A text no
template gives (a rule of --rules without its catalogue, a fact, a loader's note) is redacted
whole: there a name that is also a word is replaced as a word. Fact ids (hashes of the
original facts) are recomputed from the redacted facts. Absolute file paths keep only their
file name.

    redact_report(report) -> Report          # one diagnosis
    redact_results(results) -> list[FileResult]   # a `netwhy check` batch
    Redactor.for_reports(...).text(s) / .data(obj) # any other text or JSON-like data
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from diagnose.errors import InputError
from diagnose.report import Finding, Report

if TYPE_CHECKING:
    from diagnose.batch import FileResult
    from diagnose.catalogue import Catalogue, LanguagePack
    from diagnose.conversation import AskResult
    from diagnose.model import Setup

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Keys whose values are ids, kinds or enumerations, never user data.
EXEMPT_KEYS = frozenset(
    {
        "rule",
        "claims",
        "host_claims",
        "severity",
        "kind",
        "device",
        "status",
        "route",
        "settles",
        "schema_version",
        "src",
        "lang",
    }
)
FACT_EXEMPT = EXEMPT_KEYS | {"question", "says_class", "via"}

# Words that are values of the setup format (modes, endpoints, drivers...): a name equal to one
# of them stays, or the words themselves would be replaced everywhere.
RESERVED = frozenset(
    [
        "lan",
        "host",
        "internet",
        "bridge",
        "bridged",
        "none",
        "default",
        "nat",
        "hostonly",
        "host-only",
        "internal",
        "isolated",
        "custom",
        "natnetwork",
        "private",
        "external",
        "routed",
        "user",
        "direct",
        "disconnected",
        "container",
        "vm",
        "service",
        "network",
        "tcp",
        "udp",
        "overlay",
        "macvlan",
        "ipvlan",
        "any",
        "loopback",
        "own",
        "shared",
        "docker",
        "engine",
        "desktop",
        "wsl2",
        "linux",
        "windows",
        "mac",
        "vmware",
        "virtualbox",
        "libvirt",
        "hyperv",
        "localhost",
        "auto",
        "automatic",
        "unknown",
    ]
)

# Names everybody's setup has: they say which product default is in use, not whose network.
_WELL_KNOWN = re.compile(
    r"(?i)docker0|docker_gwbridge|br-…|vmnet\d+|vboxnet\d+|virbr\d+|default switch|nat engine"
    r"|natnetwork|nat network|user-mode \(slirp\)|virtualbox host-only ethernet adapter( #\d+)?"
    r"|host\.docker\.internal|gateway\.docker\.internal|host\.containers\.internal"
    r"|kubernetes\.docker\.internal|localhost|localhost\.localdomain"
)

# Addresses end where ASCII word characters end, as names do below: in "地址192.168.1.10" the
# address stands next to Chinese text (Python's \w and \d take in every script).
_IPV4 = (
    r"(?<![A-Za-z0-9_.])(?P<v4>[0-9]{1,3}(?:\.[0-9]{1,3}){3})(?:/(?P<p4>[0-9]{1,2}))?"
    r"(?![A-Za-z0-9_]|\.[0-9])"
)
_IPV6 = (
    r"(?<![A-Za-z0-9_:.])(?P<v6>(?:[0-9A-Fa-f]{0,4}:){2,7}"
    r"(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{0,4}))"
    r"(?:/(?P<p6>[0-9]{1,3}))?(?![A-Za-z0-9_:])"
)
_ADDRESS = re.compile(f"{_IPV6}|{_IPV4}")
_FQDN = re.compile(
    r"(?i)(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9](?![\w-])"
)
_FACT_ID = re.compile(r"[a-z_]+:[0-9a-f]{16}")
_SRC_INDEX = re.compile(r"\[(\d+)\]")
_SRC_ORDER = ("host", "lan", "vm_networks", "vms", "docker", "symptoms")

# Which fact fields name what (kind, key) -> category; kind None: any fact.
_FACT_NAMES: dict[tuple[str | None, str], str] = {
    ("vm", "name"): "vm",
    ("container", "name"): "container",
    ("container", "target"): "container",
    ("container", "image"): "image",
    ("container", "hostname"): "hostname",
    ("dnet", "name"): "net",
    ("vm_network", "name"): "net",
    ("adapter", "network"): "net",
    ("vnic", "switch"): "net",
    ("attach", "network"): "net",
    ("dns_name", "name"): "hostname",
    ("extra_host", "name"): "hostname",
    # learn_setup takes both sides of a link (`--link target:name`) for containers
    ("link", "target"): "container",
    ("link", "name"): "container",
    ("symptom", "dial"): "hostname",
    (None, "vm"): "vm",
    (None, "container"): "container",
    (None, "owner"): "container",
    (None, "network"): "net",
    (None, "switch"): "net",
    (None, "target_network"): "net",
}
_PREFIX = {
    "vm": "vm-",
    "container": "container-",
    "net": "net-",
    "hostname": "hostname-",
    "image": "image-",
    "symptom": "symptom-",
}


_SUMMARIES = (
    "blocked_at",
    "blocked_cause",
    "blocked",
    "reachable",
    "unknown_no_path",
    "unknown_hops",
    "unexplained",
)
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")


def _pieces(template: str, label: bool) -> list[tuple[str, bool]]:
    """A template cut into (part, optional): a hop label's `[...]` parts are optional."""
    if not label:
        return [(template, False)]
    out, pos = [], 0
    for m in _OPTIONAL.finditer(template):
        out += [(template[pos : m.start()], False), (m.group(1), True)]
        pos = m.end()
    return [*out, (template[pos:], False)]


def _template_regex(template: str, label: bool) -> str:
    """A regex matching what `template` gives once filled: one group per placeholder."""
    out = []
    for part, optional in _pieces(template, label):
        body = ""
        for literal, name, _spec, _conv in string.Formatter().parse(part):
            body += re.escape(literal)
            if name is not None:
                body += "(.*?)"
        out.append(f"(?:{body})?" if optional and body else body)
    return "".join(out)


def _field_names(template: str, label: bool) -> list[str]:
    return [
        name
        for part, _ in _pieces(template, label)
        for _lit, name, _spec, _conv in string.Formatter().parse(part)
        if name is not None
    ]


def _src_key(src: str) -> tuple[Any, ...]:
    head = src.split(".", 1)[0].split("[", 1)[0]
    section = _SRC_ORDER.index(head) if head in _SRC_ORDER else len(_SRC_ORDER)
    return (section, src.count("."), [int(n) for n in _SRC_INDEX.findall(src)], src)


def _strings(value: Any, exempt: frozenset[str] = EXEMPT_KEYS) -> Iterator[str]:
    """Every string in JSON-like data, in order, outside exempt keys."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in exempt:
                yield from _strings(item, exempt)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, exempt)


def _is_netmask(ip: IPAddress) -> bool:
    if ip.version != 4:
        return False
    value = int(ip)
    return any(value == (0xFFFFFFFF << (32 - k)) & 0xFFFFFFFF for k in range(8, 33))


def _kept(ip: IPAddress, prefix: int | None) -> bool:
    return prefix == 0 or ip.is_unspecified or ip.is_loopback or _is_netmask(ip)


class Redactor:
    """Learns the values to hide (from reports, setups, texts), then replaces them.

    Placeholders are given when the first text is redacted, in the order things were learned,
    so none of them can equal an original name learned later.
    """

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self.catalogue = catalogue  # whose templates the texts came from (default: bundled)
        self._templates: dict[tuple[str, bool], re.Pattern[str]] = {}
        self._lang = "en"  # the language of the report being redacted: its templates first
        self._categories: dict[str, str] = {}  # original name -> category, in learning order
        self._keep_names: set[str] = set()  # interface names and the like
        self._nets: dict[IPNetwork, None] = {}
        self._lone: dict[IPAddress, None] = {}
        self._sealed = False
        self.names: dict[str, str] = {}  # original name -> placeholder
        self._folded: dict[str, str] = {}  # lower-cased original -> placeholder
        self._networks: dict[IPNetwork, str] = {}
        self._addresses: dict[IPAddress, str] = {}
        self._ids: dict[str, str] = {}  # original fact id -> redacted fact id
        self._counts: dict[str, int] = {}
        self._taken: set[str] = set()  # every original name, lower-cased
        self._pattern: re.Pattern[str] | None = None
        self._done: dict[str, str] = {}  # text -> redacted text

    # ---------------------------------------------------------------------------- learning

    @classmethod
    def for_reports(
        cls, *reports: Report, setup: Setup | None = None, catalogue: Catalogue | None = None
    ) -> Redactor:
        """A redactor for these reports (and their setup, when at hand)."""
        r = cls(catalogue)
        for report in reports:
            r.learn_facts(report.facts)
        if setup is not None:
            r.learn_setup(setup)
        for report in reports:
            r.learn_addresses(_strings(report.model_dump(mode="json")))
        return r

    def _learning(self) -> None:
        if self._sealed:
            raise RuntimeError("learn everything before redacting the first text")

    def keep(self, name: str) -> None:
        """Never replace this name (an interface name, say)."""
        self._learning()
        self._keep_names.add(name)

    def add_name(self, value: Any, category: str) -> None:
        """Hide a name of a VM, container, network, host name, image or symptom."""
        self._learning()
        if not isinstance(value, str):
            return
        value = value.strip()
        if (
            not value
            or value.lower() in RESERVED
            or value in self._keep_names
            or value in self._categories
            or _WELL_KNOWN.fullmatch(value)
            or _ADDRESS.fullmatch(value)
        ):
            return
        if category == "hostname" and value.lower() in self._taken:
            return  # a DNS name that is a container's name shares its placeholder
        self._categories[value] = category
        self._taken.add(value.lower())

    def add_network(self, net: IPNetwork) -> None:
        """A subnet whose addresses are written as its placeholder plus their offset."""
        self._learning()
        address = net.network_address
        if net.prefixlen == 0 or net.num_addresses <= 2 or address.is_loopback:
            return
        self._nets.setdefault(net)

    def _seal(self) -> None:
        if self._sealed:
            return
        self._sealed = True
        for name, category in self._categories.items():
            placeholder = self._fresh(_PREFIX[category], category)
            self.names[name] = placeholder
            self._folded.setdefault(name.lower(), placeholder)
        for net in self._nets:
            self._networks[net] = self._fresh("net", "net-address")
        for ip in self._lone:
            if self._network_of(ip) is None:
                self._addresses[ip] = self._fresh("ip", "ip")

    def _fresh(self, prefix: str, counter: str) -> str:
        """The next placeholder of a kind that is no original name."""
        while True:
            self._counts[counter] = self._counts.get(counter, 0) + 1
            candidate = f"{prefix}{self._counts[counter]}"
            if candidate.lower() not in self._taken:
                return candidate

    def learn_addresses(self, texts: Iterable[str]) -> None:
        """Register the subnets (and then the lone addresses) these texts mention."""
        self._learning()
        for text in texts:
            for m in _ADDRESS.finditer(text):
                parsed = self._parse(m)
                if parsed is None:
                    continue
                ip, prefix = parsed
                if _kept(ip, prefix):
                    continue
                if prefix is not None:
                    self.add_network(ipaddress.ip_network((ip, prefix), strict=False))
                else:
                    self._lone.setdefault(ip)

    def learn_facts(self, facts: Mapping[str, Mapping[str, Any]]) -> None:
        """Names and subnets from a report's facts, in the order of the setup."""
        ordered = sorted(
            facts.values(),
            key=lambda f: (0, _src_key(f["src"])) if "src" in f else (1, ()),
        )
        for fact in ordered:
            kind = fact.get("kind")
            if kind == "host_iface":
                self.keep(str(fact.get("name")))
            for key in ("nic", "bridged_via", "bridged_to", "dev", "iface"):
                if isinstance(fact.get(key), str):
                    self.keep(fact[key])
        for fact in ordered:
            self._learn_fact(fact)
        self.learn_addresses(_strings(list(ordered)))

    def _learn_fact(self, fact: Mapping[str, Any]) -> None:
        kind = fact.get("kind")
        for key, value in fact.items():
            category = _FACT_NAMES.get((kind, key)) or _FACT_NAMES.get((None, key))
            if category == "container" and value == "host":
                continue
            if category is not None:
                self._add_name_or_fqdns(value, category)
        if kind == "symptom":
            for end in ("from", "to"):
                if fact.get(f"{end}_kind") in ("vm", "container"):
                    self.add_name(fact.get(f"{end}_name"), fact[f"{end}_kind"])
            sid = fact.get("symptom")
            if isinstance(sid, str) and not re.fullmatch(r"s\d+", sid):
                self.add_name(sid, "symptom")
            if isinstance(fact.get("says"), str):
                for m in _FQDN.finditer(fact["says"]):
                    self.add_name(m.group(0), "hostname")
        for key in ("params", "at"):
            if isinstance(fact.get(key), Mapping):
                self._learn_fact({"kind": None, **fact[key]})

    def _add_name_or_fqdns(self, value: Any, category: str) -> None:
        if category == "hostname" and isinstance(value, str) and " " in value.strip():
            for m in _FQDN.finditer(value):
                self.add_name(m.group(0), category)
            return
        self.add_name(value, category)

    def learn_setup(self, setup: Setup) -> None:
        """Names the facts may not carry (host name, aliases, extra hosts, links)."""
        host = setup.host
        for iface in (host.interfaces or []) if host else []:
            if iface.name:
                self.keep(iface.name)
        if host is not None:
            self.add_name(host.name, "hostname")
        for net in setup.vm_networks or []:
            self.add_name(net.name, "net")
        for vm in setup.vms or []:
            self.add_name(vm.name, "vm")
            for adapter in vm.adapters or []:
                self.add_name(adapter.network, "net")
        docker = setup.docker
        for dnet in (docker.networks or []) if docker else []:
            self.add_name(dnet.name, "net")
        for ct in (docker.containers or []) if docker else []:
            self.add_name(ct.name, "container")
            for att in ct.networks or []:
                self.add_name(att.name, "net")
                for alias in att.aliases or []:
                    self.add_name(alias, "hostname")
            mode = ct.network_mode or ""
            kind, sep, target = mode.partition(":")
            if sep and kind in ("container", "service"):
                self.add_name(target, "container")
            elif mode:
                self.add_name(mode, "net")
            self.add_name(ct.hostname, "hostname")
            self.add_name(ct.image, "image")
            for entry in ct.extra_hosts or []:
                self.add_name(re.split(r"[:=]", entry, maxsplit=1)[0], "hostname")
            for link in ct.links or []:
                for part in link.split(":"):
                    self.add_name(part, "container")
        for sym in setup.symptoms or []:
            if sym.id and not re.fullmatch(r"s\d+", sym.id):
                self.add_name(sym.id, "symptom")
            for end in (sym.from_, sym.to):
                kind, sep, name = (end or "").partition(":")
                if sep and kind in ("vm", "container"):
                    self.add_name(name, kind)
            self._add_name_or_fqdns(sym.dial, "hostname")
            for m in _FQDN.finditer(sym.says or ""):
                self.add_name(m.group(0), "hostname")
        self.learn_addresses(_strings(setup.model_dump(mode="json", by_alias=True)))

    # --------------------------------------------------------------------------- replacing

    @staticmethod
    def _parse(m: re.Match[str]) -> tuple[IPAddress, int | None] | None:
        text = m.group("v6") or m.group("v4")
        bits = m.group("p6") or m.group("p4")
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return None
        prefix = int(bits) if bits is not None else None
        if prefix is not None and prefix > ip.max_prefixlen:
            return None
        return ip, prefix

    def _network_of(self, ip: IPAddress) -> IPNetwork | None:
        best: IPNetwork | None = None
        for net in self._networks:
            if (
                net.version == ip.version
                and ip in net
                and (best is None or net.prefixlen > best.prefixlen)
            ):
                best = net
        return best

    @staticmethod
    def _offset(ip: IPAddress, net: IPNetwork) -> str:
        offset = int(ip) - int(net.network_address)
        if ip.version == 4:
            width = max(1, -(-(32 - net.prefixlen) // 8))
            return "." + ".".join(str(b) for b in offset.to_bytes(width, "big"))
        groups: list[str] = []
        while offset:
            groups.insert(0, f"{offset & 0xFFFF:x}")
            offset >>= 16
        return "::" + ":".join(groups)

    def address(self, ip: IPAddress, prefix: int | None) -> str | None:
        """The placeholder of an address (with its prefix), or None when it is kept."""
        self._seal()
        if _kept(ip, prefix):
            return None
        suffix = f"/{prefix}" if prefix is not None else ""
        net: IPNetwork | None = None
        if prefix is not None:
            own = ipaddress.ip_network((ip, prefix), strict=False)
            net = own if own in self._networks else None
        if net is None:
            net = self._network_of(ip)
        if net is not None:
            return self._networks[net] + self._offset(ip, net) + suffix
        if ip not in self._addresses:
            self._addresses[ip] = self._fresh("ip", "ip")
        return self._addresses[ip] + suffix

    def _regex(self) -> re.Pattern[str]:
        self._seal()
        if self._pattern is None:
            parts = []
            for name in sorted(self.names, key=lambda n: (-len(n), n)):
                escaped = re.escape(name)
                parts.append(escaped if len(name) < 3 else f"(?i:{escaped})")
            names = "|".join(parts) or r"(?!x)x"
            # Names end where ASCII word characters end: "容器web" names web.
            edge = r"A-Za-z0-9_"
            self._pattern = re.compile(
                f"{_IPV6}|{_IPV4}|(?<![{edge}])(?P<name>{names})(?![{edge}])"
            )
        return self._pattern

    def _replace(self, m: re.Match[str]) -> str:
        if m.group("name") is not None:
            found = m.group("name")
            return self.names.get(found) or self._folded[found.lower()]
        parsed = self._parse(m)
        if parsed is None:
            return m.group(0)
        return self.address(*parsed) or m.group(0)

    def text(self, text: str) -> str:
        """A text with every address and known name replaced."""
        done = self._done.get(text)
        if done is None:
            done = self._done[text] = self._regex().sub(self._replace, text)
        return done

    def path(self, path: str) -> str:
        """A file path: absolute ones keep only the file name (no home folders)."""
        if path.startswith(("/", "~", "\\")) or re.match(r"[A-Za-z]:[\\/]", path):
            path = re.split(r"[\\/]", path)[-1]
        return self.text(path)

    def data(self, value: Any, exempt: frozenset[str] = EXEMPT_KEYS) -> Any:
        """JSON-like data with every string outside `exempt` keys redacted (keys stay)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: v if k in exempt else self.data(v, exempt) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v, exempt) for v in value]
        return value

    # ---------------------------------------------------------------------------- reports

    def report(self, report: Report) -> Report:
        """The report with addresses and names replaced and fact ids recomputed."""
        data = report.model_dump(mode="json")
        self._lang = str(data.get("lang") or "en")
        facts = self._facts(data["facts"])  # first: the trace and findings name their ids
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key == "verdicts":
                out[key] = [self._verdict(v) for v in value]
            elif key == "findings":
                out[key] = [self.finding(f) for f in value]
            elif key == "questions":
                out[key] = [self._question(q) for q in value]
            elif key == "facts":
                out[key] = facts
            elif key == "trace":
                out[key] = [
                    {
                        "rule": t["rule"],
                        "matched": {a: self.fact_id(f) for a, f in t["matched"].items()},
                        "produced": [self.fact_id(f) for f in t["produced"]],
                    }
                    for t in value
                ]
            elif key == "source":
                out[key] = self.path(value) if isinstance(value, str) else value
            elif key in EXEMPT_KEYS:
                out[key] = value
            else:
                out[key] = self.data(value)
        return Report.model_validate(out)

    def finding(self, finding: Mapping[str, Any]) -> dict[str, Any]:
        """A finding (JSON data): its texts follow its rule's templates, its rule name stays,
        its location's path is shortened."""
        out = dict(self.data(finding, EXEMPT_KEYS | {"name", "facts"}))
        self._rule_texts(finding, out)
        out["facts"] = [self.fact_id(f) for f in finding.get("facts", [])]
        if isinstance(out.get("location"), Mapping):
            out["location"] = {**out["location"], "file": self.path(finding["location"]["file"])}
        return out

    # ------------------------------------------------------------------ texts from templates
    #
    # netwhy's texts are templates of its knowledge filled with the setup's values. A text is
    # matched against the template it came from, and only what filled a {placeholder} is
    # redacted, so a name that is also a word ("app", "proxy") leaves the prose alone. A text
    # no template matches (a rule from --rules, say) is redacted as a whole.

    def _catalogue(self) -> Catalogue:
        if self.catalogue is None:
            from diagnose.catalogue import default_catalogue

            self.catalogue = default_catalogue()
        return self.catalogue

    def _packs(self) -> list[LanguagePack]:
        texts = self._catalogue().texts
        first = self._lang if self._lang in texts else "en"
        return [texts[lang] for lang in sorted(texts, key=lambda lang: (lang != first, lang))]

    def _template(self, template: str, label: bool) -> re.Pattern[str]:
        key = (template, label)
        if key not in self._templates:
            self._templates[key] = re.compile(_template_regex(template, label), re.DOTALL)
        return self._templates[key]

    def guided(
        self,
        text: str | None,
        templates: Iterable[str | None],
        *,
        label: bool = False,
        fields: Mapping[str, Callable[[str], str]] | None = None,
    ) -> str | None:
        """A text filled from one of these templates, with only its filled values redacted
        (`fields` redacts a named value its own way); any other text is redacted whole."""
        if text is None:
            return None
        for template in dict.fromkeys(t for t in templates if t):
            pattern = self._template(template, label)
            m = pattern.fullmatch(text)
            if m is None:
                continue
            names = _field_names(template, label)
            parts, pos = [], 0
            for i, name in enumerate(names, start=1):
                if m.start(i) < 0:
                    continue
                parts.append(text[pos : m.start(i)])
                redact = (fields or {}).get(name, self.text)
                parts.append(redact(m.group(i)))
                pos = m.end(i)
            parts.append(text[pos:])
            return "".join(parts)
        return self.text(text)

    def _rule_texts(self, item: Mapping[str, Any], out: dict[str, Any]) -> None:
        """Title, explanation and fixes of a finding or cause, by its rule's templates."""
        rule = str(item.get("rule"))
        packs = self._packs()
        texts = [p.rules[rule] for p in packs if rule in p.rules]
        if not texts:  # netwhy's own findings (input errors, suppressions)
            phrases = [t for p in packs for t in p.report.values()]
            for key in ("title", "explanation"):
                if isinstance(item.get(key), str):
                    out[key] = self.guided(item[key], phrases)
            return
        out["title"] = self.guided(item["title"], [t.title for t in texts])
        if isinstance(item.get("explanation"), str):
            out["explanation"] = self.guided(item["explanation"], [t.explanation for t in texts])
        fixes = []
        for i, fix in enumerate(item.get("fixes", [])):
            known = [t.fixes[i] for t in texts if i < len(t.fixes)]
            fixes.append(
                {
                    **fix,
                    "text": self.guided(fix["text"], [k.text for k in known]),
                    "command": self.guided(fix.get("command"), [k.command for k in known]),
                    "config": self.guided(fix.get("config"), [k.config for k in known]),
                }
            )
        out["fixes"] = fixes

    def _question(self, q: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self.data(q))
        packs = self._packs()
        known = [p.questions[q["id"]] for p in packs if q["id"] in p.questions]
        if not known:
            return out
        out["text"] = self.guided(q["text"], [k.text for k in known])
        out["fills"] = self.guided(q["fills"], [k.fills for k in known])
        out["choices"] = [
            self.guided(c, [k.choices[i] for k in known if i < len(k.choices)])
            for i, c in enumerate(q["choices"])
        ]
        out["labels"] = [
            self.guided(
                lab, [k.labels.get(k.choices[i], k.choices[i]) for k in known if i < len(k.choices)]
            )
            for i, lab in enumerate(q["labels"])
        ]
        titles = [
            t.title for p in packs for r in q["settles"] if r in p.rules for t in [p.rules[r]]
        ]

        def decided(text: str) -> str:
            return "; ".join(str(self.guided(part, titles)) for part in text.split("; "))

        whys = []
        for p in packs:
            for k in known:
                decides = p.report.get("answer_decides", "")
                whys += [f"{k.why} {decides}" if k.why else decides, k.why]
        out["why"] = self.guided(q["why"], whys, fields={"titles": decided})
        return out

    def _hop(self, hop: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self.data(hop))
        labels = [p.devices.get(hop["device"]) for p in self._packs()]
        out["label"] = self.guided(hop["label"], labels, label=True)
        questions = [q.text for p in self._packs() for q in p.questions.values()]
        out["assumptions"] = [self.guided(a, questions) for a in hop["assumptions"]]
        return out

    def _cause(self, cause: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self.data(cause))
        self._rule_texts(cause, out)
        return out

    def _verdict(self, v: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(self.data(v))
        out["path"] = [self._hop(h) for h in v["path"]]
        out["alternatives"] = [[self._hop(h) for h in alt] for alt in v["alternatives"]]
        out["causes"] = [self._cause(c) for c in v["causes"]]
        out["questions"] = [self._question(q) for q in v["questions"]]
        packs = self._packs()
        labels = [p.devices.get(h["device"]) for p in packs for h in v["path"]]
        titles = [
            p.rules[c["rule"]].title for p in packs for c in v["causes"] if c["rule"] in p.rules
        ]

        def hop(text: str) -> str:
            return str(self.guided(text, labels, label=True))

        def cause(text: str) -> str:
            return str(self.guided(text, titles))

        phrases = [p.report.get(k) for p in packs for k in _SUMMARIES]
        out["summary"] = self.guided(v["summary"], phrases, fields={"hop": hop, "cause": cause})
        return out

    def fact_id(self, fid: str) -> str:
        """The redacted id of a fact (one the reports did not hold gets a numbered one)."""
        if fid not in self._ids:
            kind = fid.split(":", 1)[0] if _FACT_ID.fullmatch(fid) else "fact"
            digest = hashlib.sha1(f"unknown fact {len(self._ids)}".encode()).hexdigest()
            self._ids[fid] = f"{kind}:{digest[:16]}"
        return self._ids[fid]

    def _facts(self, facts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The facts redacted, under ids hashed from the redacted facts (the old ids hashed
        the names); the old id -> new id map is kept for the trace and findings."""
        out: dict[str, Any] = {}
        taken = set(self._ids.values())
        vias: dict[str, str] = {}
        for fid, fact in facts.items():
            new = self.data(fact, FACT_EXEMPT)
            if new.get("kind") == "hop" and isinstance(new.get("via"), str):
                # The route's id hashes the ids of the facts it matched: number them instead.
                via = new["via"]
                if via not in vias:
                    vias[via] = hashlib.sha1(f"via {len(vias)}".encode()).hexdigest()[:8]
                new["via"] = vias[via]
            elif "via" in new:
                new["via"] = self.data(new["via"])  # a route's gateway address
            if fid not in self._ids:
                key = json.dumps(new, sort_keys=True, ensure_ascii=False)
                kind = fid.split(":", 1)[0]
                n = 0
                while True:
                    digest = hashlib.sha1(f"{key} {n}".encode()).hexdigest()[:16]
                    if f"{kind}:{digest}" not in taken:
                        break
                    n += 1
                taken.add(f"{kind}:{digest}")
                self._ids[fid] = f"{kind}:{digest}"
            out[self._ids[fid]] = new
        return out


def redact_report(
    report: Report, setup: Setup | None = None, *, catalogue: Catalogue | None = None
) -> Report:
    """The report with the setup's addresses and names replaced by stable placeholders.

    `setup` adds names the report may not hold; `catalogue` is the one the report was made
    with when it had extra rules (--rules), so their texts are redacted by their templates.
    """
    return Redactor.for_reports(report, setup=setup, catalogue=catalogue).report(report)


def redact_results(
    results: list[FileResult], *, catalogue: Catalogue | None = None
) -> list[FileResult]:
    """A `netwhy check` batch redacted with one redactor (one placeholder per value)."""
    reports = [r.report for r in results if r.report is not None]
    redactor = Redactor.for_reports(*reports, catalogue=catalogue)
    texts: list[str] = []
    for r in results:
        texts += [*r.notes, *(f.title for f in r.findings)]
        texts += [s.reason or "" for _, s in r.suppressed]
    redactor.learn_addresses(texts)
    redacted = [redactor.report(r.report) if r.report is not None else None for r in results]
    out = []
    for r, report in zip(results, redacted, strict=True):
        out.append(
            replace(
                r,
                file=redactor.path(r.file),
                findings=[_finding(redactor, f) for f in r.findings],
                suppressed=[
                    (
                        _finding(redactor, f),
                        replace(
                            s,
                            file=redactor.path(s.file),
                            reason=redactor.text(s.reason) if s.reason else s.reason,
                        ),
                    )
                    for f, s in r.suppressed
                ],
                notes=[redactor.text(n) for n in r.notes],
                report=report,
            )
        )
    return out


def _finding(redactor: Redactor, finding: Finding) -> Finding:
    return Finding.model_validate(redactor.finding(finding.model_dump(mode="json")))


def redact_turn(turn: AskResult) -> AskResult:
    """A turn of `ask` to share: its report, setup, answer and questions redacted alike.

    The question keys are redacted too (`vms[vm-1].hypervisor`), so a redacted turn is for
    reading, not for sending answers back.
    """
    from diagnose.conversation import AskResult as Turn
    from diagnose.loading import load_setup

    try:
        setup = load_setup(turn.setup) if turn.setup else None
    except InputError:
        setup = None
    redactor = Redactor.for_reports(turn.report, setup=setup)
    texts = [turn.answer, *(q.text for q in turn.questions), *(r.text for r in turn.understood)]
    redactor.learn_addresses(texts)
    report = redactor.report(turn.report)
    data = turn.model_dump(mode="json", exclude={"report"})
    keep = frozenset({"kind", "status", "lang", "id", "settles", "outcomes"})
    return Turn.model_validate({**redactor.data(data, keep), "report": report})
