"""The Setup: one normalized description of a reported network, whatever it was read from.

Every field is optional: a person may not know it, and unknown is a value (None), not an error.
The words "unknown" and "?" are accepted wherever a value goes and mean the same.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails

from diagnose.ports import (
    PortSyntaxError,
    Proto,
    parse_listen,
    parse_port_range,
    parse_publish,
    split_proto,
)

UNKNOWN_WORDS = frozenset({"unknown", "?", "unsure", "don't know", "dont know"})


def _is_unknown_word(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in UNKNOWN_WORDS


def _unknown_to_none(value: Any) -> Any:
    return None if _is_unknown_word(value) else value


def _replace_unknown_words(data: Any) -> Any:
    # Copied only when there is something to replace: most mappings have nothing.
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, str) and value.strip().lower() in UNKNOWN_WORDS:  # inlined
                return {k: _unknown_to_none(v) for k, v in data.items()}
    return data


def _lower(value: Any) -> Any:
    # A field's validator: Model._unknown_words has already made every unknown word None.
    return value.strip().lower() if isinstance(value, str) else value


@functools.lru_cache(maxsize=4096)  # a batch sees the same few addresses over and over
def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address") from None


@functools.lru_cache(maxsize=4096)
def _interface(value: str) -> str:
    """An address with an optional prefix: 192.168.1.10/24 or 192.168.1.10."""
    try:
        if "/" in value:
            return str(ipaddress.ip_interface(value.strip()))
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (with an optional /prefix)") from None


@functools.lru_cache(maxsize=4096)
def _network(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not a subnet such as 192.168.1.0/24") from None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@functools.lru_cache(maxsize=4096)  # a batch repeats the same values; errors are not kept
def _text(value: str) -> str:
    if _CONTROL.search(value):  # they would reach terminals and commands unseen
        raise ValueError(f"{value!r} contains control characters")
    return value


@functools.lru_cache(maxsize=4096)  # a batch repeats the same names
def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("a name cannot be empty")
    return _text(value)


Address = Annotated[str, AfterValidator(_address)]
Interface = Annotated[str, AfterValidator(_interface)]
Subnet = Annotated[str, AfterValidator(_network)]
Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, AfterValidator(_text)]  # a value netwhy repeats in reports and commands


@functools.lru_cache(maxsize=4096)  # a batch repeats the same ports; errors are not kept
def _port_text(value: str) -> str | None:
    """A port or range as Docker reads it (`80`, `8000-8010`); empty means none."""
    if value == "":
        return None
    try:
        return str(parse_port_range(value, "port"))
    except PortSyntaxError as exc:
        raise ValueError(str(exc)) from None


@functools.lru_cache(maxsize=4096)
def _container_port_text(value: str) -> str:
    text = _port_text(value)
    if text is None:  # a published port may be left empty (Docker picks one), this may not
        raise ValueError("the container port is empty")
    return text


PortText = Annotated[str, AfterValidator(_port_text)]  # text in; None out when empty
ContainerPortText = Annotated[str, AfterValidator(_container_port_text)]


def _lowered(values: tuple[str, ...]) -> Any:
    return Annotated[Literal[values], BeforeValidator(_lower)]


OS = Literal["linux", "windows", "mac"]
DockerPlatform = Literal["engine", "desktop", "wsl2", "none"]
Hypervisor = Literal["vmware", "virtualbox", "libvirt", "hyperv"]
AdapterMode = Literal[
    "bridged",
    "nat",
    "hostonly",
    "custom",
    "internal",
    "natnetwork",
    "private",
    "external",
    "default",
    "isolated",
    "routed",
    "user",
    "direct",
    "disconnected",
]
ServiceState = Literal["running", "stopped"]
InterfaceType = Literal["ethernet", "wifi", "vpn", "bridge", "virtual", "loopback"]
Firewall = Literal["ufw", "firewalld", "iptables", "nftables", "windows", "none"]
ForwardPolicy = Literal["accept", "drop"]
NetworkDriver = Literal["bridge", "host", "none", "macvlan", "ipvlan", "overlay", "nat"]

_MODE_ALIASES = {
    "host-only": "hostonly",
    "host_only": "hostonly",
    "hostonlyif": "hostonly",
    "bridge": "bridged",
    "nat-network": "natnetwork",
    "nat_network": "natnetwork",
    "default switch": "default",
    "default-switch": "default",
    "none": "disconnected",
    "macvtap": "direct",  # libvirt <interface type='direct'>
    "slirp": "user",
}
_OS_ALIASES = {"macos": "mac", "osx": "mac", "darwin": "mac", "win": "windows", "win10": "windows"}
_DOCKER_ALIASES = {
    "docker desktop": "desktop",
    "docker-desktop": "desktop",
    "dockerd": "engine",
    "docker engine": "engine",
    "docker-ce": "engine",
    "no": "none",
    "false": "none",
}
_HYPERVISOR_ALIASES = {
    "vmware workstation": "vmware",
    "workstation": "vmware",
    "fusion": "vmware",
    "esx": "vmware",
    "esxi": "vmware",
    "vbox": "virtualbox",
    "kvm": "libvirt",
    "qemu": "libvirt",
    "virt-manager": "libvirt",
    "hyper-v": "hyperv",
}


def _alias(table: dict[str, str]) -> BeforeValidator:
    def convert(value: Any) -> Any:
        if isinstance(value, bool) and not value and "no" in table:
            return table["no"]  # YAML 1.1 reads `docker: no` as false
        value = _lower(value)
        return table.get(value, value) if isinstance(value, str) else value

    return BeforeValidator(convert)


def _unique(items: list[Any] | None, what: str, *, fold: bool = False) -> None:
    """Refuse two entries with one name: their facts would silently merge."""
    seen: dict[str, int] = {}
    for i, item in enumerate(items or []):
        name = getattr(item, "name", None) or getattr(item, "id", None)
        if name is None:
            continue
        key = name.lower() if fold else name
        if key in seen:
            raise ValueError(
                f"[{i}] repeats the {what} {name!r} of [{seen[key]}]; names are unique"
            )
        seen[key] = i


class Model(BaseModel):
    """Base: unknown fields are refused (a typo is an error, not silently dropped)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=False)

    # The function itself, not a classmethod calling it: pydantic-core calls it for every
    # model of a setup (a compose file has some ten), and a call less each is measurable.
    _unknown_words = model_validator(mode="before")(staticmethod(_replace_unknown_words))


# ---------------------------------------------------------------------------------------- host


class HostInterface(Model):
    """A network interface of the host (its NIC, Wi-Fi, a VPN tunnel, a host adapter)."""

    name: Name | None = None
    address: Interface | None = Field(None, description="address with prefix, 192.168.1.10/24")
    gateway: Address | None = None
    type: Annotated[InterfaceType | None, _alias({"wireless": "wifi", "wlan": "wifi"})] = None
    up: bool | None = None


class Route(Model):
    """A route on the host, e.g. a VPN's `10.8.0.0/16 via tun0`."""

    to: Subnet
    via: Address | None = None
    dev: Name | None = None
    vpn: bool | None = None


class Host(Model):
    """The machine that runs the hypervisor and/or Docker."""

    name: Name | None = None
    os: Annotated[OS | None, _alias(_OS_ALIASES)] = None
    docker: Annotated[DockerPlatform | None, _alias(_DOCKER_ALIASES)] = Field(
        None, description="engine = dockerd on Linux; desktop = Docker Desktop; wsl2; none"
    )
    interfaces: list[HostInterface] | None = None
    routes: list[Route] | None = None
    ip_forward: bool | None = Field(None, description="net.ipv4.ip_forward")
    forward_policy: Annotated[ForwardPolicy | None, BeforeValidator(_lower)] = Field(
        None, description="policy of the iptables FORWARD chain"
    )
    bridge_netfilter: bool | None = Field(
        None, description="net.bridge.bridge-nf-call-iptables (bridged frames cross iptables)"
    )
    firewall: Annotated[Firewall | None, BeforeValidator(_lower)] = None
    resolver: list[Address] | None = Field(
        None, description="nameservers in the host's /etc/resolv.conf"
    )
    listens: list[str] | None = Field(
        None, description="services listening on the host: '127.0.0.1:5432', '0.0.0.0:53/udp'"
    )
    docker_desktop_host_networking: bool | None = Field(
        None, description="Docker Desktop 4.34+ opt-in host networking enabled"
    )

    @field_validator("listens")
    @classmethod
    def _check_listens(cls, values: list[str] | None) -> list[str] | None:
        return _check_listen_list(values)

    @field_validator("resolver", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Lan(Model):
    """The physical network the host sits on."""

    subnet: Subnet | None = None
    gateway: Address | None = None
    dns: list[Address] | None = None

    @field_validator("dns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


# ----------------------------------------------------------------------------------------- VMs


def _check_listen_list(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    out = []
    for value in values:
        try:
            parse_listen(str(value))
        except PortSyntaxError as exc:
            raise ValueError(str(exc)) from None
        out.append(str(value))
    return out


def _check_forward_list(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        parse_forward(str(value))
    return [str(v) for v in values]


_FORWARD = re.compile(
    r"(?:(?P<proto>tcp|udp):)?(?:(?P<host_ip>[0-9.]+):)?(?P<host>[0-9]+)"
    r"\s*(?::|->|=)\s*(?:(?P<guest_ip>[0-9.]+):)?(?P<guest>[0-9]+)(?:/(?P<proto2>tcp|udp))?",
    re.IGNORECASE,
)


def parse_forward(text: str) -> dict[str, Any]:
    """Parse a NAT port forward: `2222:22`, `tcp:2222:22`, `2222 = 192.168.80.128:22`, `8080->80/udp`.

    Returns host_port, guest_port, proto and the optional host_ip / guest_ip.
    """
    m = _FORWARD.fullmatch(str(text).strip())
    if not m:
        raise ValueError(
            f"invalid port forward {text!r}: write HOSTPORT:GUESTPORT, e.g. 2222:22 or "
            "tcp:2222:192.168.80.128:22"
        )
    out: dict[str, Any] = {
        "host_port": int(m.group("host")),
        "guest_port": int(m.group("guest")),
        "proto": (m.group("proto") or m.group("proto2") or "tcp").lower(),
    }
    for key in ("host_ip", "guest_ip"):
        if m.group(key):
            out[key] = _address(m.group(key))
    for key in ("host_port", "guest_port"):
        if not 0 < out[key] <= 65535:
            raise ValueError(f"invalid port forward {text!r}: ports run from 1 to 65535")
    return out


class VmNetwork(Model):
    """A hypervisor's virtual network: VMnet8, vboxnet0, virbr0, a Hyper-V switch."""

    name: Name
    hypervisor: Annotated[Hypervisor | None, _alias(_HYPERVISOR_ALIASES)] = None
    mode: Annotated[AdapterMode | None, _alias(_MODE_ALIASES)] = None
    subnet: Subnet | None = None
    gateway: Address | None = Field(None, description="the address guests use as gateway")
    host_adapter: bool | None = Field(
        None, description="the host's adapter on this network exists (VMnet1/VMnet8, vboxnet0)"
    )
    host_adapter_enabled: bool | None = None
    host_address: Interface | None = Field(None, description="the host adapter's address")
    host_profile: Annotated[
        Literal["public", "private", "domain"] | None, BeforeValidator(_lower)
    ] = Field(
        None,
        description="Windows host: the network profile (firewall category) of the host's "
        "adapter on this network (Get-NetConnectionProfile)",
    )
    dhcp: bool | None = None
    dhcp_service: Annotated[ServiceState | None, BeforeValidator(_lower)] = None
    nat_service: Annotated[ServiceState | None, BeforeValidator(_lower)] = None
    bridged_to: str | None = Field(
        None, description="physical adapter a bridged network uses; 'auto' for automatic"
    )
    active: bool | None = Field(
        None, description="the network is started (libvirt: `virsh net-list --all` says active)"
    )
    autostart: bool | None = Field(
        None, description="the network starts at boot (libvirt: `virsh net-autostart NAME`)"
    )
    port_forwards: list[str] | None = Field(
        None, description="NAT port forwards: '2222 = 192.168.80.128:22' or 'tcp:8080:10.0.2.15:80'"
    )

    @field_validator("port_forwards")
    @classmethod
    def _check_forwards(cls, values: list[str] | None) -> list[str] | None:
        return _check_forward_list(values)


class VmAdapter(Model):
    """One network adapter of a VM."""

    mode: Annotated[AdapterMode | None, _alias(_MODE_ALIASES)] = None
    network: Name | None = Field(None, description="VMnet8, vboxnet0, default, a switch name")
    address: Interface | None = None
    gateway: Address | None = None
    dns: list[Address] | None = None
    dhcp: bool | None = Field(None, description="the guest takes its address by DHCP")
    connected: bool | None = None
    bridged_to: str | None = None
    port_forwards: list[str] | None = Field(
        None, description="NAT port forwards to this VM: '2222:22', 'tcp:127.0.0.1:2222:22'"
    )

    @field_validator("port_forwards")
    @classmethod
    def _check_forwards(cls, values: list[str] | None) -> list[str] | None:
        return _check_forward_list(values)

    @field_validator("dns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Vm(Model):
    """A virtual machine."""

    name: Name
    hypervisor: Annotated[Hypervisor | None, _alias(_HYPERVISOR_ALIASES)] = None
    os: Annotated[OS | None, _alias(_OS_ALIASES)] = None
    adapters: list[VmAdapter] | None = None
    listens: list[str] | None = Field(None, description="services in the guest: '0.0.0.0:22'")

    @field_validator("listens")
    @classmethod
    def _check_listens(cls, values: list[str] | None) -> list[str] | None:
        return _check_listen_list(values)


# -------------------------------------------------------------------------------------- Docker


class AddressPool(Model):
    """One entry of the daemon's default-address-pools."""

    base: Subnet
    size: int = Field(ge=1, le=128)

    @model_validator(mode="after")
    def _size_fits(self) -> AddressPool:
        base = ipaddress.ip_network(self.base)
        if not base.prefixlen <= self.size <= base.max_prefixlen:
            raise ValueError(
                f"size {self.size} must lie between the base's prefix /{base.prefixlen} and "
                f"/{base.max_prefixlen}"
            )
        return self


class Daemon(Model):
    """Settings of dockerd (daemon.json)."""

    bip: Interface | None = Field(None, description="docker0's address with prefix")
    default_address_pools: list[AddressPool] | None = None
    dns: list[Address] | None = None
    iptables: bool | None = None
    ip_forward: bool | None = None
    userland_proxy: bool | None = None
    ip: Address | None = Field(None, description="default host IP for published ports")

    @field_validator("dns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class DockerNetwork(Model):
    """A Docker network (`docker network create`, a compose network)."""

    name: Name
    driver: Annotated[NetworkDriver | None, BeforeValidator(_lower)] = None
    subnet: Subnet | None = None
    gateway: Address | None = None
    internal: bool | None = None
    external: bool | None = None


class Publish(Model):
    """A published port in compose's long syntax; strings in `-p` syntax become this too."""

    host_ip: Address | None = None
    published: PortText | None = Field(None, description="host port or range; empty = ephemeral")
    target: ContainerPortText = Field(description="container port or range")
    protocol: Annotated[Proto, BeforeValidator(_lower)] = "tcp"
    # The original -p text, when the port was given as one: netwhy's, not an input's (a
    # `text:` key is refused like any unknown key), so not in the schema either.
    text: SkipJsonSchema[str | None] = Field(None, exclude=True)

    @model_validator(mode="wrap")
    @classmethod
    def _from_text(cls, data: Any, handler: ModelWrapValidatorHandler[Publish]) -> Publish:
        if isinstance(data, bool):
            raise ValueError("a port must be text such as '8080:80', not a boolean")
        if isinstance(data, int):
            data = str(data)
        if isinstance(data, str):
            try:
                host_ip, published, target, proto = _publish_fields(data)
            except PortSyntaxError as exc:
                raise ValueError(str(exc)) from None
            # Built without validating again: parse_publish checked all that the fields'
            # validators and _ranges_match would (the host IP's normal form is taken here), and
            # validating again costs more than the parse. This is model_construct's own way of
            # building, without its per-field search of aliases and defaults: every field is given.
            publish = cls.__new__(cls)
            object.__setattr__(
                publish,
                "__dict__",
                {
                    "host_ip": host_ip,
                    "published": published,
                    "target": target,
                    "protocol": proto,
                    "text": data,
                },
            )
            object.__setattr__(publish, "__pydantic_fields_set__", set(_TEXT_FIELDS))
            object.__setattr__(publish, "__pydantic_extra__", None)
            object.__setattr__(publish, "__pydantic_private__", None)
            return publish
        if isinstance(data, dict):
            if "text" in data:
                error = InitErrorDetails(type="extra_forbidden", loc=("text",), input=data["text"])
                raise ValidationError.from_exception_data(cls.__name__, [error])
            data = dict(data)
            for key in ("published", "target"):
                if isinstance(data.get(key), int):
                    data[key] = str(data[key])
            data.pop("mode", None)  # swarm ingress vs host: same reachability for one host
            data.pop("name", None)
            data.pop("app_protocol", None)
        return cls._ranges_match(handler(data))

    @staticmethod
    def _ranges_match(publish: Publish) -> Publish:
        # The long syntax must obey the rule Docker applies to `-p`.
        if publish.published and "-" in publish.target:
            host = parse_port_range(publish.published, "port")
            target = parse_port_range(publish.target, "port")
            if host.size != target.size:
                raise ValueError(
                    f"published range {host} and target range {target} differ in length"
                )
        return publish


_TEXT_FIELDS = frozenset(("host_ip", "published", "target", "protocol", "text"))
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# The commonest -p texts, `80`, `8080:80`, `127.0.0.1:8080:80`, in the form parse_publish and
# _address write back (ports 1 to 65535 and octets without leading zeros): their fields are
# their own parts, read in one match.
_PLAIN_PUBLISH = re.compile(rf"(?:(?:({_OCTET}(?:\.{_OCTET}){{3}}):)?({_PORT}):)?({_PORT})")


def _publish_fields(text: str) -> tuple[str | None, str | None, str, Proto]:
    """A -p text's (host_ip, published, target, protocol), as validating them would leave them."""
    plain = _PLAIN_PUBLISH.fullmatch(text)
    if plain:
        return plain[1], plain[2], plain[3], "tcp"
    mapping = parse_publish(text)
    return (
        _address(mapping.host_ip) if mapping.host_ip else None,
        str(mapping.host) if mapping.host else None,
        str(mapping.container),
        mapping.proto,
    )


class Attachment(Model):
    """A container's membership of one network."""

    name: Name
    ip: Address | None = Field(None, alias="ipv4_address")
    aliases: list[str] | None = None


class Container(Model):
    """A container (`docker run`, a compose service)."""

    @model_validator(mode="before")
    @classmethod
    def _unknown_words(cls, data: Any) -> Any:  # Model's, in one call out of pydantic-core
        # `network_mode: unknown` is not the same as leaving it out (which means the default
        # bridge): keep the difference before unknown words become None.
        if isinstance(data, dict):
            mode = data.get("network_mode", "")
            if mode is None or (isinstance(mode, str) and mode.strip().lower() in UNKNOWN_WORDS):
                data = {**data, "network_mode": None, "network_mode_unknown": True}
        return _replace_unknown_words(data)

    name: Name
    image: Text | None = None
    network_mode_unknown: bool | None = Field(
        None, description="the network mode is not known (unlike leaving it out: bridge)"
    )
    network_mode: Text | None = Field(
        None, description="bridge | host | none | container:NAME | service:NAME | a network name"
    )
    networks: list[Attachment] | None = None
    ip: Address | None = Field(None, description="Container-IP on its (only) network")
    ports: list[Publish] | None = Field(None, description="published ports, -p syntax")
    expose: list[str] | None = Field(None, description="EXPOSE / expose: (publishes nothing)")
    listens: list[str] | None = Field(None, description="where the app binds: '0.0.0.0:80'")
    dns: list[Address] | None = None
    hostname: Text | None = None
    extra_hosts: list[Text] | None = None
    links: list[Text] | None = None
    profiles: list[Text] | None = None
    running: bool | None = None

    @field_validator("listens")
    @classmethod
    def _check_listens(cls, values: list[str] | None) -> list[str] | None:
        return _check_listen_list(values)

    @field_validator("network_mode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        value = _unknown_to_none(value)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("network_mode must be text such as bridge, host or container:db")
        value = value.strip()
        kind, sep, target = value.partition(":")
        if sep and kind.lower() in ("container", "service") and not target.strip():
            raise ValueError(f"{value!r} names no container after '{kind}:'")
        if value.lower() in ("bridge", "host", "none", "default"):
            return "bridge" if value.lower() == "default" else value.lower()
        return value

    @field_validator("networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [{"name": value}]
        if isinstance(value, dict):
            out = []
            for name, spec in value.items():
                item = dict(spec) if isinstance(spec, dict) else {}
                item["name"] = name
                out.append(item)
            return out
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("expose", mode="before")
    @classmethod
    def _expose(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("expose")
    @classmethod
    def _check_expose(cls, values: list[str] | None) -> list[str] | None:
        out = []
        for value in values or []:
            try:
                body, _, proto = value.partition("/")
                parse_port_range(body, "exposed port")
                _, proto = split_proto(f"0/{proto}" if proto else "0")
            except PortSyntaxError as exc:
                raise ValueError(str(exc)) from None
            out.append(body.strip() if proto == "tcp" else f"{body.strip()}/{proto}")
        return out if values is not None else None

    @field_validator("ports", mode="before")
    @classmethod
    def _sexagesimal(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 22:22 as the base-60 number 1342; Docker reads text.
        if isinstance(value, list):
            for item in value:
                if isinstance(item, int) and not isinstance(item, bool) and item > 65535:
                    raise ValueError(
                        f"port {item} is not a port: YAML 1.1 read an unquoted HOST:CONTAINER "
                        'as a base-60 number; quote it, e.g. "22:22"'
                    )
        return value


class Docker(Model):
    """Docker on the host: the daemon, its networks and containers."""

    daemon: Daemon | None = None
    networks: list[DockerNetwork] | None = None
    containers: list[Container] | None = None

    @field_validator("networks")
    @classmethod
    def _unique_networks(cls, nets: list[DockerNetwork] | None) -> list[DockerNetwork] | None:
        _unique(nets, "network name")
        return nets

    @field_validator("containers")
    @classmethod
    def _unique_containers(cls, cts: list[Container] | None) -> list[Container] | None:
        _unique(cts, "container name")
        return cts


# ------------------------------------------------------------------------------------ symptoms

ENDPOINT_WORDS = ("lan", "host", "internet")
_ENDPOINT = re.compile(r"(lan|host|internet)|(vm|container):(.+)", re.IGNORECASE)
SymptomType = Literal["connect", "resolve", "start"]


def _endpoint(value: str) -> str:
    value = value.strip()
    m = _ENDPOINT.fullmatch(value)
    if m:
        return value.lower() if m.group(1) else f"{m.group(2).lower()}:{m.group(3).strip()}"
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(
            f"{value!r} is not an endpoint: use lan, host, internet, vm:NAME, container:NAME "
            "or an IP address"
        ) from None


Endpoint = Annotated[str, AfterValidator(_endpoint)]


class Symptom(Model):
    """What the user sees: from A to B (port P) fails, a name does not resolve, a start fails."""

    id: Name | None = None
    type: Annotated[SymptomType | None, BeforeValidator(_lower)] = None
    from_: Endpoint = Field(alias="from")
    to: Endpoint | None = None
    port: Annotated[int, Strict()] | None = Field(None, ge=1, le=65535)
    proto: Annotated[Proto, BeforeValidator(_lower)] = "tcp"
    dial: str | None = Field(
        None, description="what the client dials: a name, an IP, localhost, host.docker.internal"
    )
    says: str | None = Field(None, description="the error the user sees")

    @model_validator(mode="after")
    def _needs_target(self) -> Symptom:
        if self.to is None and self.type != "start" and self.dial is None and not self.says:
            raise ValueError("a symptom needs 'to' (or 'dial', 'says', or type: start)")
        return self


# --------------------------------------------------------------------------------------- setup


class Setup(Model):
    """A reported setup: host, LAN, VMs and their networks, Docker, and the symptoms."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"title": "netwhy setup"},
    )

    host: Host | None = None
    lan: Lan | None = None
    vm_networks: list[VmNetwork] | None = None
    vms: list[Vm] | None = None
    docker: Docker | None = None
    symptoms: list[Symptom] | None = None

    @field_validator("symptoms")
    @classmethod
    def _name_symptoms(cls, symptoms: list[Symptom] | None) -> list[Symptom] | None:
        _unique(symptoms, "symptom id")
        taken = {s.id for s in symptoms or [] if s.id is not None}
        number = 0
        for symptom in symptoms or []:
            if symptom.id is None:
                number += 1
                while f"s{number}" in taken:
                    number += 1
                symptom.id = f"s{number}"
                taken.add(symptom.id)
        return symptoms

    @field_validator("vms")
    @classmethod
    def _unique_vms(cls, vms: list[Vm] | None) -> list[Vm] | None:
        _unique(vms, "VM name")
        return vms

    @field_validator("vm_networks")
    @classmethod
    def _unique_vm_networks(cls, nets: list[VmNetwork] | None) -> list[VmNetwork] | None:
        _unique(nets, "network name", fold=True)  # VMnet8 and vmnet8 are one switch
        return nets
