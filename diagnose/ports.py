"""Docker's own port syntax: `-p [ip:][host[-end]:]container[-end][/proto]` and listen addresses.

Parsing only; what a mapping means for reachability is the rules' business.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Proto = Literal["tcp", "udp", "sctp"]
Scope = Literal["any", "loopback", "specific"]

PROTOCOLS: tuple[Proto, ...] = ("tcp", "udp", "sctp")
MAX_PORT = 65535


class PortSyntaxError(ValueError):
    """A port string Docker itself would refuse."""


@dataclass(frozen=True)
class PortRange:
    """An inclusive range of ports; a single port has start == end."""

    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+))?")  # ASCII digits, as Docker reads them


@lru_cache(maxsize=4096)  # setups repeat the same few texts; results are frozen
def parse_port_range(text: str, what: str) -> PortRange:
    """Parse `80` or `8000-8010`; raise PortSyntaxError naming `what` on anything else."""
    m = _RANGE.fullmatch(text.strip())
    if not m:
        raise PortSyntaxError(
            f"invalid {what} {text!r}: expected a number or a range like 8000-8010"
        )
    if max(len(m.group(1)), len(m.group(2) or "")) > 9:  # out of range; int() refuses 4,300+
        raise PortSyntaxError(f"invalid {what} {text[:40]!r}: ports run from 1 to {MAX_PORT}")
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else start
    for port in (start, end):
        if not 0 < port <= MAX_PORT:
            raise PortSyntaxError(f"invalid {what} {text!r}: ports run from 1 to {MAX_PORT}")
    if end < start:
        raise PortSyntaxError(f"invalid {what} {text!r}: the range ends before it starts")
    return PortRange(start, end)


@lru_cache(maxsize=4096)  # setups repeat the same few texts; results are frozen
def address_scope(address: str | None) -> Scope:
    """Classify a bind address: every interface, loopback only, or one specific address."""
    if address in (None, "", "*", "0.0.0.0", "::", "[::]"):
        return "any"
    if address == "localhost":
        return "loopback"
    ip = ipaddress.ip_address(address.strip("[]"))
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "any"
    return "specific"


def split_proto(text: str) -> tuple[str, Proto]:
    """Split `8080:80/udp` into (`8080:80`, `udp`); tcp when no protocol is given."""
    body, _, proto = text.partition("/")
    proto = proto.strip().lower() or "tcp"
    if proto not in PROTOCOLS:
        raise PortSyntaxError(f"invalid protocol {proto!r} in {text!r}: use tcp, udp or sctp")
    return body.strip(), proto


def split_host_ip(body: str) -> tuple[str | None, str]:
    """Take a leading IP (IPv6 in brackets) off `ip:host:container`; return (ip, rest)."""
    if body.startswith("["):
        end = body.find("]")
        if end < 0 or body[end + 1 : end + 2] != ":":
            raise PortSyntaxError(f"invalid address in {body!r}: write IPv6 as [::1]:8080:80")
        ip, rest = body[1:end], body[end + 2 :]
    else:
        parts = body.split(":")
        if len(parts) < 3:
            return None, body
        if len(parts) > 3:
            raise PortSyntaxError(
                f"invalid port mapping {body!r}: too many colons (write IPv6 as [::1]:8080:80)"
            )
        ip, rest = parts[0], ":".join(parts[1:])
    if ip == "":
        return None, rest
    if not _is_address(ip):
        raise PortSyntaxError(f"invalid host IP {ip!r} in port mapping {body!r}")
    return ip, rest


@lru_cache(maxsize=1024)  # the same few host IPs come back in every mapping
def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Mapping:
    """One `-p` argument, parsed. host is None when Docker picks an ephemeral host port."""

    host_ip: str | None
    host: PortRange | None
    container: PortRange
    proto: Proto

    def pairs(self) -> list[tuple[int | None, int]]:
        """Each (host port, container port) this mapping publishes, ranges expanded."""
        host = (self.host.start, self.host.end) if self.host is not None else None
        return port_pairs(host, (self.container.start, self.container.end))


def port_pairs(
    host: tuple[int, int] | None, container: tuple[int, int]
) -> list[tuple[int | None, int]]:
    """Each (host port, container port) a mapping of these (first, last) ranges publishes."""
    first, last = container
    if host is None:
        return [(None, p) for p in range(first, last + 1)]
    if first == last and host[0] != host[1]:
        # Docker picks one free host port of the range for the single container port.
        return [(None, first)]
    return [(host[0] + i, first + i) for i in range(last - first + 1)]


@lru_cache(maxsize=4096)  # setups repeat the same few texts; results are frozen
def parse_publish(text: str) -> Mapping:
    """Parse one `-p`/`ports:` string exactly as `docker run` reads it."""
    body, proto = split_proto(text)
    if not body:
        raise PortSyntaxError(f"invalid port mapping {text!r}: no port")
    host_ip, rest = split_host_ip(body)
    parts = rest.split(":")
    if len(parts) == 1:
        host_text, container_text = "", parts[0]
    elif len(parts) == 2:
        host_text, container_text = parts
    else:
        raise PortSyntaxError(f"invalid port mapping {text!r}: too many colons")
    container = parse_port_range(container_text, "container port")
    host = parse_port_range(host_text, "host port") if host_text else None
    if host is not None and host.size != container.size and container.size != 1:
        raise PortSyntaxError(
            f"invalid port mapping {text!r}: host range {host} and container range "
            f"{container} differ in length"
        )
    return Mapping(host_ip, host, container, proto)


@dataclass(frozen=True)
class Listen:
    """Where a process binds: address (None = every interface), port and protocol."""

    address: str | None
    port: int
    proto: Proto

    @property
    def scope(self) -> Scope:
        return address_scope(self.address)


@lru_cache(maxsize=4096)  # setups repeat the same few texts; results are frozen
def parse_listen(text: str) -> Listen:
    """Parse `0.0.0.0:80`, `127.0.0.1:5432`, `[::1]:80/udp`, `:80` or `80`."""
    body, proto = split_proto(text)
    if body.startswith("["):
        end = body.find("]")
        if end < 0 or body[end + 1 : end + 2] != ":":
            raise PortSyntaxError(f"invalid listen address {text!r}: write IPv6 as [::1]:80")
        address: str | None = body[1:end]
        port_text = body[end + 2 :]
    elif ":" in body:
        address, _, port_text = body.rpartition(":")
    else:
        address, port_text = None, body
    if address in ("", "*"):
        address = None
    if address is not None and address != "localhost":
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise PortSyntaxError(f"invalid listen address {address!r} in {text!r}") from None
    port = parse_port_range(port_text, "listen port")
    if port.size != 1:
        raise PortSyntaxError(f"invalid listen address {text!r}: one port, not a range")
    return Listen(address, port.start, proto)
