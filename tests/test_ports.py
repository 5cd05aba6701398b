"""Docker's -p syntax and listen addresses, parsed the way Docker reads them."""

from __future__ import annotations

import pytest

from diagnose.ports import PortSyntaxError, address_scope, parse_listen, parse_publish


@pytest.mark.parametrize(
    ("text", "host_ip", "pairs", "proto"),
    [
        ("80", None, [(None, 80)], "tcp"),
        ("8080:80", None, [(8080, 80)], "tcp"),
        ("127.0.0.1:9000:9000/udp", "127.0.0.1", [(9000, 9000)], "udp"),
        ("0.0.0.0::53/udp", "0.0.0.0", [(None, 53)], "udp"),
        ("[::1]:8080:80", "::1", [(8080, 80)], "tcp"),
        ("8000-8002:80-82", None, [(8000, 80), (8001, 81), (8002, 82)], "tcp"),
        ("8000-8010:80", None, [(None, 80)], "tcp"),  # Docker picks one port of the range
        ("5000-5001", None, [(None, 5000), (None, 5001)], "tcp"),
        ("53:53/UDP", None, [(53, 53)], "udp"),
        ("2905:2905/sctp", None, [(2905, 2905)], "sctp"),
    ],
)
def test_publish(
    text: str, host_ip: str | None, pairs: list[tuple[int | None, int]], proto: str
) -> None:
    mapping = parse_publish(text)
    assert mapping.host_ip == host_ip
    assert mapping.pairs() == pairs
    assert mapping.proto == proto


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("80:80:80:80", "too many colons"),
        ("8080:80/icmp", "invalid protocol"),
        ("70000:80", "1 to 65535"),
        ("0:80", "1 to 65535"),
        ("8002-8000:80", "ends before it starts"),
        ("8000-8001:80-83", "differ in length"),
        ("300.1.1.1:80:80", "invalid host IP"),
        ("web:80", "invalid host port"),
        ("", "no port"),
        ("[::1:80:80", "IPv6"),
    ],
)
def test_bad_publish(text: str, message: str) -> None:
    with pytest.raises(PortSyntaxError, match=message):
        parse_publish(text)


@pytest.mark.parametrize(
    ("text", "address", "port", "proto", "scope"),
    [
        ("0.0.0.0:80", "0.0.0.0", 80, "tcp", "any"),
        ("127.0.0.1:5432", "127.0.0.1", 5432, "tcp", "loopback"),
        ("localhost:3000", "localhost", 3000, "tcp", "loopback"),
        ("[::]:80", "::", 80, "tcp", "any"),
        ("[::1]:53/udp", "::1", 53, "udp", "loopback"),
        (":8080", None, 8080, "tcp", "any"),
        ("8080", None, 8080, "tcp", "any"),
        ("*:80", None, 80, "tcp", "any"),
        ("172.17.0.2:80", "172.17.0.2", 80, "tcp", "specific"),
    ],
)
def test_listen(text: str, address: str | None, port: int, proto: str, scope: str) -> None:
    ln = parse_listen(text)
    assert (ln.address, ln.port, ln.proto, ln.scope) == (address, port, proto, scope)


def test_scopes() -> None:
    assert address_scope(None) == "any"
    assert address_scope("127.0.0.53") == "loopback"
    assert address_scope("192.168.1.10") == "specific"
