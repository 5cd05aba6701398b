"""Host facts loaders: `ip -j addr` / `ip -j route` (ip-json), `iptables-save` (iptables),
`nft -j list ruleset` (nft-json) and Docker's daemon.json (daemon-json)."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.batch import CheckOptions, check_file, check_setup
from diagnose.errors import InputError
from diagnose.loaders import detect, load_file, load_text
from diagnose.loaders.base import Loaded
from tests.loader_helpers import dump as _dump

FIXTURES = Path(__file__).parent / "fixtures"
IP = FIXTURES / "ip-json"
IPT = FIXTURES / "iptables"
NFT = FIXTURES / "nft-json"
DAEMON = FIXTURES / "daemon-json"


def _places(loaded: Loaded) -> dict[str, tuple[int | None, int | None]]:
    return {path: (p.line, p.column) for path, p in loaded.places.items()}


def _refused(text: str, name: str, kind: str) -> InputError:
    with pytest.raises(InputError) as info:
        load_text(text, name, kind)
    return info.value


# ---------------------------------------------------------------------------------- ip -j


def test_ip_addr() -> None:
    """Types only where certain: the loopback link type; docker0/virbr0 bridges; a veth;
    tun0 a VPN; wl*/en* by the kernel's naming. docker0's address is the default bridge
    network's subnet and gateway."""
    loaded = load_file(IP / "addr.json")
    assert loaded.kind == "ip-json"
    assert _dump(loaded) == {
        "host": {
            "interfaces": [
                {"name": "lo", "address": "127.0.0.1/8", "type": "loopback", "up": True},
                {"name": "enp3s0", "address": "192.168.1.23/24", "type": "ethernet", "up": True},
                {"name": "wlp2s0", "type": "wifi", "up": False},
                {"name": "docker0", "address": "172.17.0.1/16", "type": "bridge", "up": False},
                {"name": "virbr0", "address": "192.168.122.1/24", "type": "bridge", "up": False},
                {"name": "tun0", "address": "10.8.0.6/32", "type": "vpn", "up": True},
                {"name": "veth3f1c2a1", "type": "virtual", "up": True},
            ]
        },
        "docker": {
            "networks": [
                {
                    "name": "bridge",
                    "driver": "bridge",
                    "subnet": "172.17.0.0/16",
                    "gateway": "172.17.0.1",
                }
            ]
        },
    }
    places = _places(loaded)
    assert places["host.interfaces[1]"] == (2, 1)  # one interface per line in this file
    assert places["host.interfaces[1].address"] == (2, 287)  # its addr_info entry
    assert places["docker.networks[0]"] == (4, 246)
    assert loaded.notes == []


def test_ip_route() -> None:
    """The default route's gateway goes on its interface (with the address of its connected
    route); that connected route is the LAN, not listed again; docker0's and virbr0's routes
    are those networks' own; routes through tun0 are a VPN's."""
    loaded = load_file(IP / "route.json")
    assert _dump(loaded) == {
        "host": {
            "interfaces": [
                {
                    "name": "enp3s0",
                    "address": "192.168.1.23/24",
                    "gateway": "192.168.1.1",
                    "type": "ethernet",
                }
            ],
            "routes": [
                {"to": "10.8.0.0/24", "via": "10.8.0.5", "dev": "tun0", "vpn": True},
                {"to": "10.8.0.5/32", "dev": "tun0", "vpn": True},
                {"to": "10.20.0.0/16", "via": "10.8.0.5", "dev": "tun0", "vpn": True},
            ],
        }
    }
    places = _places(loaded)
    assert places["host.interfaces[0].gateway"] == (1, 19)
    assert places["host.routes[2]"] == (1, 292)
    assert loaded.notes == [
        "routes of docker0, virbr0 are those networks' own (Docker, libvirt, VirtualBox, "
        "VMware): not listed as host routes"
    ]


def test_addr_and_route_in_one_file_pretty_printed() -> None:
    """`ip -j -p -d addr` then `ip -j route` appended: both read; linkinfo's kind decides
    the type (br0 a bridge, wg0 WireGuard); a second IPv4 address is noted; a blackhole
    route is no path."""
    loaded = load_file(IP / "bridge-host.json")
    assert _dump(loaded) == {
        "host": {
            "interfaces": [
                {"name": "lo", "address": "127.0.0.1/8", "type": "loopback", "up": True},
                {"name": "eno1", "type": "ethernet", "up": True},
                {
                    "name": "br0",
                    "address": "192.168.1.10/24",
                    "gateway": "192.168.1.1",
                    "type": "bridge",
                    "up": True,
                },
                {"name": "wg0", "address": "10.99.0.2/24", "type": "vpn", "up": True},
            ],
            "routes": [
                {"to": "10.99.0.0/24", "dev": "wg0", "vpn": True},
                {"to": "172.16.0.0/12", "via": "10.99.0.1", "dev": "wg0", "vpn": True},
            ],
        }
    }
    places = _places(loaded)
    assert places["host.interfaces[2]"] == (39, 7)
    assert places["host.interfaces[2].address"] == (59, 24)
    assert places["host.interfaces[2].gateway"] == (109, 19)  # the appended route array
    assert loaded.notes == [
        "br0 has 2 IPv4 addresses (192.168.1.10/24, 192.168.1.11/24); the first, "
        "192.168.1.10/24, is used"
    ]


def test_vpn_default_route_in_two_halves() -> None:
    """OpenVPN's def1 routes (0.0.0.0/1 + 128.0.0.0/1) are a default route: listed as routes
    they would overlap every network."""
    loaded = load_file(IP / "vpn-def1-route.json")
    assert _dump(loaded)["host"]["routes"] == [
        {"to": "10.8.0.0/24", "dev": "tun0", "vpn": True},
        {"to": "203.0.113.7/32", "via": "192.168.0.1", "dev": "wlp2s0"},
    ]
    assert _dump(loaded)["host"]["interfaces"] == [
        {"name": "tun0", "address": "10.8.0.2/24", "gateway": "10.8.0.1", "type": "vpn"},
        {"name": "wlp2s0", "address": "192.168.0.42/24", "gateway": "192.168.0.1", "type": "wifi"},
    ]
    assert len(loaded.notes) == 1 and "two halves" in loaded.notes[0]


def test_own_routes_do_not_overlap_their_networks(tmp_path: Path) -> None:
    """The Docker network's and libvirt network's own routes must not make them "overlap a
    route" (DN021, LV009, PV095) when the host facts are merged with what describes them."""
    setup = tmp_path / "setup.yaml"
    setup.write_text(
        "docker:\n"
        "  networks:\n"
        "    - {name: bridge, driver: bridge, subnet: 172.17.0.0/16}\n"
        "vm_networks:\n"
        "  - {name: default, hypervisor: libvirt, mode: nat, subnet: 192.168.122.0/24}\n"
    )
    result = check_setup(
        [str(IP / "addr.json"), str(IP / "route.json"), str(setup)],
        CheckOptions(one_setup=True),
    )
    assert not result.input_error
    assert [f.rule for f in result.findings if f.severity in ("error", "warning")] == []


# --------------------------------------------------------------------------- iptables-save


def test_iptables_docker_and_ufw() -> None:
    loaded = load_file(IPT / "docker-ufw.rules")
    assert loaded.kind == "iptables"
    assert _dump(loaded) == {
        "host": {"docker": "engine", "forward_policy": "drop", "firewall": "ufw"},
        "docker": {"networks": [{"name": "bridge", "driver": "bridge", "subnet": "172.17.0.0/16"}]},
    }
    lines = {path: line for path, (line, _) in _places(loaded).items()}
    assert lines == {
        "host": 4,
        "host.forward_policy": 4,  # :FORWARD DROP
        "host.firewall": 10,  # the first ufw- chain
        "host.docker": 9,  # :DOCKER-USER
        "docker.networks[0]": 44,  # -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
    }
    assert loaded.notes == [
        "Docker's DNAT rules publish tcp 8080 -> 172.17.0.2:80 (line 47): which container "
        "each belongs to is not in this file, so none is added"
    ]


def test_iptables_libvirt_only() -> None:
    """libvirt's chains and MASQUERADE say nothing about Docker or a firewall."""
    loaded = load_file(IPT / "libvirt-accept.rules")
    assert _dump(loaded) == {"host": {"forward_policy": "accept"}}


def test_forward_drop_with_bridged_vm_fires_on_the_policy_line(tmp_path: Path) -> None:
    """Docker's FORWARD DROP and a VM bridged on a Linux bridge (PV099) point at the policy."""
    setup = tmp_path / "setup.yaml"
    setup.write_text(
        "host:\n"
        "  interfaces: [{name: br0, type: bridge, address: 192.168.1.10/24}]\n"
        "vms:\n"
        "  - name: vm1\n"
        "    hypervisor: libvirt\n"
        "    adapters: [{mode: bridged, network: br0}]\n"
    )
    result = check_setup([str(IPT / "docker-ufw.rules"), str(setup)], CheckOptions(one_setup=True))
    found = [(f.rule, f.location.file, f.location.line) for f in result.findings if f.location]
    assert ("PV099", str(IPT / "docker-ufw.rules"), 4) in found


# ------------------------------------------------------------------------------------ nft -j


def test_nft_firewalld_and_docker() -> None:
    loaded = load_file(NFT / "firewalld-docker.json")
    assert loaded.kind == "nft-json"
    assert _dump(loaded) == {
        "host": {"docker": "engine", "forward_policy": "drop", "firewall": "firewalld"},
        "docker": {"networks": [{"name": "bridge", "driver": "bridge", "subnet": "172.17.0.0/16"}]},
    }
    lines = {path: line for path, (line, _) in _places(loaded).items()}
    assert lines["host.forward_policy"] == 148  # iptables-nft's FORWARD chain policy
    assert lines["host.firewall"] == 167  # table inet firewalld
    assert lines["docker.networks[0]"] == 38
    assert "DNAT" in loaded.notes[0]


def test_nft_plain_input_drop() -> None:
    loaded = load_file(NFT / "nft-input-drop.json")
    assert _dump(loaded) == {"host": {"forward_policy": "accept", "firewall": "nftables"}}


# ------------------------------------------------------------------------------ daemon.json


def test_daemon_json() -> None:
    loaded = load_file(DAEMON / "daemon.json")
    assert loaded.kind == "daemon-json"
    assert _dump(loaded) == {
        "docker": {
            "daemon": {
                "bip": "10.200.0.1/24",
                "default_address_pools": [{"base": "10.201.0.0/16", "size": 24}],
                "dns": ["10.0.0.2", "1.1.1.1"],
                "userland_proxy": False,
                "ip": "127.0.0.1",
            }
        }
    }
    places = _places(loaded)
    assert places["docker.daemon"] == (1, 1)
    assert places["docker.daemon.bip"] == (2, 3)
    assert places["docker.daemon.default_address_pools[0]"] == (4, 5)
    assert places["docker.daemon.dns[1]"] == (6, 23)
    assert loaded.notes == [
        "daemon.json keys not used by netwhy: log-driver, log-opts, live-restore"
    ]


def test_daemon_json_unknown_keys_are_noted_apart() -> None:
    loaded = load_text('{"bip4": "10.1.0.1/24", "mtu": 1400, "iptables": true}', "daemon.json")
    assert _dump(loaded) == {"docker": {"daemon": {"iptables": True}}}
    assert loaded.notes == [
        "daemon.json keys not used by netwhy: mtu",
        "daemon.json keys netwhy does not know as dockerd options: bip4 (a typo? dockerd "
        "refuses to start on a key it does not know)",
    ]


def test_daemon_json_findings_point_into_it() -> None:
    result = check_file(str(DAEMON / "no-iptables.json"), CheckOptions())
    rules = sorted((f.rule, f.location.line if f.location else None) for f in result.findings)
    assert rules == [("HO003", 1), ("HO004", 1)]


# -------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (IP / "addr.json", "ip-json"),
        (IP / "route.json", "ip-json"),
        (IP / "bridge-host.json", "ip-json"),
        (IP / "vpn-def1-route.json", "ip-json"),
        (IPT / "docker-ufw.rules", "iptables"),
        (IPT / "libvirt-accept.rules", "iptables"),
        (NFT / "firewalld-docker.json", "nft-json"),
        (NFT / "nft-input-drop.json", "nft-json"),
        (DAEMON / "daemon.json", "daemon-json"),
        (DAEMON / "no-iptables.json", "daemon-json"),  # by its keys
    ],
)
def test_detected(path: Path, kind: str) -> None:
    assert detect(path.name, path.read_text()) == kind
    assert detect("host-facts.txt", path.read_text()) == kind  # by content alone


def test_ip_link_is_read_as_interfaces_without_addresses() -> None:
    text = (
        '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,'
        '"operstate":"UNKNOWN","link_type":"loopback"},{"ifindex":2,"ifname":"eth0",'
        '"flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"operstate":"UP","link_type":"ether"}]'
    )
    assert detect("links.json", text) == "ip-json"
    assert _dump(load_text(text, "links.json")) == {
        "host": {
            "interfaces": [
                {"name": "lo", "type": "loopback", "up": True},
                {"name": "eth0", "type": "ethernet", "up": True},
            ]
        }
    }


def test_others_are_not_host_facts() -> None:
    mine = {"ip-json", "iptables", "nft-json", "daemon-json"}
    for path in FIXTURES.rglob("*"):
        if path.is_file() and path.parent.name not in mine:
            assert detect(path.name, path.read_text()) not in mine, path
    # a setup in JSON, a `docker inspect`, an `ip -j neigh`: not host facts
    assert detect("x.json", '{"host": {"os": "linux"}}') == "setup"
    assert detect("x.json", '[{"Id": "abc", "Name": "/web", "NetworkSettings": {}}]') != "ip-json"
    neigh = (
        '[{"dst":"192.168.1.1","dev":"eth0","lladdr":"aa:bb:cc:dd:ee:ff","state":["REACHABLE"]}]'
    )
    assert detect("x.json", neigh) != "ip-json"


# -------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "kind", "line", "field", "words"),
    [
        ("", "ip-json", None, None, "empty file"),
        ('[{"ifname": "eth0", "addr_info": [\n', "ip-json", 2, None, "malformed JSON"),
        ('{"ifname": "eth0"}', "ip-json", 1, None, "prints a JSON array"),
        ('[{"ifname": "eth0"},\n 7]', "ip-json", 2, None, "entry is an object"),
        (
            '[{"ifname": "eth0", "addr_info": [\n {"family": "inet", "local": "10.0.0.300", '
            '"prefixlen": 24}]}]',
            "ip-json",
            2,
            "addr_info.local",
            "not an address with a prefix",
        ),
        ('[{"dst": "10.0.0.0/33", "dev": "eth0"}]', "ip-json", 1, "dst", "not a subnet"),
        (
            '[{"dst":"192.168.1.1","dev":"eth0","lladdr":"aa:bb:cc:dd:ee:ff"}]',
            "ip-json",
            1,
            None,
            "neither an interface",
        ),
        ('[{"ifname": "eth0"},\n{"ifname": "eth0"}]', "ip-json", 2, "ifname", "listed twice"),
        ("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", "iptables", None, None, None),
        (":INPUT ACCEPT [0:0]\n*filter\n", "iptables", 1, None, "outside a table"),
        ("*filter\n:INPUT\nCOMMIT\n", "iptables", 2, "policy", "no policy"),
        (
            "*filter\n:INPUT ACCEPT [0:0]\niptables -A INPUT -j DROP\nCOMMIT\n",
            "iptables",
            3,
            None,
            "not an iptables-save line",
        ),
        (
            "*nat\n-A POSTROUTING -s 172.17.0.0/33 ! -o docker0 -j MASQUERADE\nCOMMIT\n",
            "iptables",
            2,
            "-s",
            "not a subnet",
        ),
        ('{"nftables": {"table": {}}}', "nft-json", 1, None, 'no "nftables" list'),
        ('{"nftables": [\n{"table": {}, "chain": {}}]}', "nft-json", 2, None, "one key"),
        (
            '{\n  // the bridge\n  "bip": "10.200.0.1/24"\n}\n',
            "daemon-json",
            2,
            None,
            "malformed JSON",
        ),
        ('{\n  "bip": "10.200.0.1/24",\n}\n', "daemon-json", 3, None, "malformed JSON"),
        ('{\n  "iptables": "false"\n}\n', "daemon-json", 2, "iptables", "true or false"),
        ('{\n  "dns": "8.8.8.8"\n}\n', "daemon-json", 2, "dns", "list of addresses"),
        ('{\n  "bip": "10.200.0.1"\n}\n', "daemon-json", 2, "bip", "with a prefix"),
        ('{\n  "bip": "10.200.0.300/24"\n}\n', "daemon-json", 2, "docker.daemon.bip", "not an IP"),
        (
            '{\n  "default-address-pools": [\n    {"base": "10.10.0.0/16", "size": "24"}\n  ]\n}\n',
            "daemon-json",
            3,
            "default-address-pools[0]",
            "a pool is",
        ),
        (
            '{\n  "dns": ["8.8.8.8", "dns.google"]\n}\n',
            "daemon-json",
            2,
            "docker.daemon.dns[1]",
            "not an IP",
        ),
        ("[1, 2]", "daemon-json", 1, None, "JSON object"),
    ],
)
def test_bad_input_is_one_input_error(
    text: str, kind: str, line: int | None, field: str | None, words: str | None
) -> None:
    if words is None:  # an unterminated table is still readable: iptables-save was cut short
        load_text(text, "host.rules", kind)
        return
    err = _refused(text, "host.txt", kind)
    assert words in err.message, err.message
    assert err.file == "host.txt"
    assert err.line == line
    assert err.field == field


def test_binary_and_empty_files_are_refused(tmp_path: Path) -> None:
    binary = tmp_path / "daemon.json"
    binary.write_bytes(b"\x00\x00{}")
    with pytest.raises(InputError, match="binary"):
        load_file(binary)
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    for kind in ("ip-json", "iptables", "nft-json", "daemon-json"):
        with pytest.raises(InputError, match="empty"):
            load_file(empty, kind)
