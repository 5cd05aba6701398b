"""libvirt loader: domain and network XML (kind libvirt), one or many definitions per file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from diagnose.batch import CheckOptions, check_file
from diagnose.errors import InputError
from diagnose.loaders import detect, load_file, load_text
from tests.loader_helpers import CORPUS
from tests.loader_helpers import dump as _dump
from tests.loader_helpers import findings as _findings
from tests.loader_helpers import lines as _lines

FIXTURES = Path(__file__).parent / "fixtures" / "libvirt"

DEFAULT_NET = {
    "name": "default",
    "hypervisor": "libvirt",
    "mode": "nat",
    "subnet": "192.168.122.0/24",
    "gateway": "192.168.122.1",
    "host_address": "192.168.122.1/24",
    "dhcp": True,
}


def test_default_network() -> None:
    loaded = load_file(FIXTURES / "default-network.xml")
    assert loaded.kind == "libvirt"
    assert _dump(loaded) == {"vm_networks": [DEFAULT_NET]}
    lines = _lines(loaded)
    assert lines["vm_networks[0]"] == 8
    assert lines["vm_networks[0].mode"] == 11  # <forward>
    assert lines["vm_networks[0].subnet"] == 14  # <ip>
    assert lines["vm_networks[0].dhcp"] == 15
    assert _findings(FIXTURES / "default-network.xml") == []


def test_forward_modes_and_pasted_definitions() -> None:
    """No <forward> = isolated, route/open = routed, bridge = bridged (a host bridge) or
    direct (a pool of NICs: macvtap), hostdev = no mode; <forward/> alone is nat."""
    loaded = load_file(FIXTURES / "networks.xml")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "isolated",
                "hypervisor": "libvirt",
                "mode": "isolated",  # and no gateway: dnsmasq advertises no router
                "subnet": "10.10.10.0/24",
                "host_address": "10.10.10.1/24",
                "dhcp": True,
            },
            {
                "name": "routed",
                "hypervisor": "libvirt",
                "mode": "routed",
                "subnet": "192.168.150.0/24",
                "gateway": "192.168.150.1",
                "host_address": "192.168.150.1/24",
                "dhcp": False,  # an <ip> without <dhcp>: no DHCP service
            },
            {
                "name": "open",
                "hypervisor": "libvirt",
                "mode": "routed",
                # no netmask or prefix: libvirt takes the address's class (10/8)
                "subnet": "10.0.0.0/8",
                "gateway": "10.24.10.1",
                "host_address": "10.24.10.1/8",
                "dhcp": False,
            },
            {"name": "host-bridge", "hypervisor": "libvirt", "mode": "bridged"},
            {
                "name": "macvtap-pool",
                "hypervisor": "libvirt",
                "mode": "direct",
                "bridged_to": "enp5s0",
            },
            {"name": "sriov", "hypervisor": "libvirt"},
            {
                "name": "lab",
                "hypervisor": "libvirt",
                "mode": "nat",
                "subnet": "192.168.140.0/24",
                "gateway": "192.168.140.1",
                "host_address": "192.168.140.1/24",
                "dhcp": True,
            },
        ]
    }
    lines = _lines(loaded)
    assert lines["vm_networks[1]"] == 12
    assert lines["vm_networks[4].bridged_to"] == 31
    assert lines["vm_networks[6].mode"] == 43
    assert [n.split(":")[0] for n in loaded.notes] == ["line 21", "line 37"]
    # 10.0.0.0/8 (open) covers 10.10.10.0/24 (isolated): a real overlap on that host
    assert _findings(FIXTURES / "networks.xml") == [("PV096", 19)]  # the later network


def test_domain_interfaces_map_to_adapter_modes() -> None:
    loaded = load_file(FIXTURES / "domain.xml")
    assert _dump(loaded) == {
        "vm_networks": [DEFAULT_NET],
        "vms": [
            {
                "name": "web01",
                "hypervisor": "libvirt",
                "os": "linux",
                "adapters": [
                    {"mode": "nat", "network": "default"},  # the network, defined below
                    {"mode": "bridged", "network": "br0"},
                    {"mode": "direct", "network": "eno1", "connected": False},
                    {"mode": "user"},
                    # type='bridge' straight onto the default network's own bridge
                    {"mode": "nat", "network": "default"},
                    {},  # hostdev: no mode in the model
                ],
            }
        ],
    }
    lines = _lines(loaded)
    assert lines["vms[0]"] == 1
    assert lines["vms[0].adapters[1]"] == 21
    assert lines["vms[0].adapters[1].network"] == 23  # <source bridge=...>
    assert lines["vms[0].adapters[2].connected"] == 30  # <link state='down'/>
    assert lines["vm_networks[0]"] == 50
    assert _findings(FIXTURES / "domain.xml") == [("PV073", 26)]


def test_network_not_in_the_file_leaves_the_mode_unknown() -> None:
    text = (
        "<domain type='kvm'>\n  <name>a</name>\n  <devices>\n"
        "    <interface type='network'>\n      <source network='lab'/>\n    </interface>\n"
        "  </devices>\n</domain>\n"
    )
    loaded = load_text(text, "a.xml")
    assert _dump(loaded)["vms"][0]["adapters"] == [{"network": "lab"}]
    assert loaded.notes == [
        "line 4: a's <interface type='network'> uses network 'lab', which this file does not "
        "define: its mode is unknown"
    ]


def test_passt_port_forwards() -> None:
    loaded = load_file(FIXTURES / "passt.xml")
    assert _dump(loaded)["vms"][0]["adapters"] == [
        {
            "mode": "user",
            # 5301 is excluded from 5300-5302; 10000-20000 is too wide to list
            "port_forwards": ["tcp:127.0.0.1:2022:22", "udp:5300:53", "udp:5302:55"],
        }
    ]
    lines = _lines(loaded)
    assert lines["vms[0].adapters[0].port_forwards[0]"] == 11
    assert lines["vms[0].adapters[0].port_forwards[2]"] == 14
    assert any("10000-20000" in note for note in loaded.notes)


def test_subnets_reused_across_networks_reach_the_overlap_rules() -> None:
    """Trap 7: libvirt networks reuse 192.168.122.0/24 and 192.168.100.0/24; defined together
    on one host, libvirt cannot start both (LV009/LV010)."""
    loaded = load_file(FIXTURES / "node-collisions.xml")
    data = _dump(loaded)
    assert [(n["name"], n["subnet"], n.get("mode")) for n in data["vm_networks"]] == [
        ("default", "192.168.122.0/24", "nat"),
        ("netboot", "192.168.122.0/24", "nat"),
        ("isolated_net", "192.168.100.0/24", "isolated"),
        ("nat_to_eth0", "192.168.100.0/24", "nat"),
    ]
    # the snapshot's copy of the domain inside <domainsnapshot> is not a second VM
    assert data["vms"] == [
        {
            "name": "test",
            "hypervisor": "libvirt",
            "adapters": [{"mode": "nat", "network": "netboot"}],
        },
        {"name": "no-devices", "hypervisor": "libvirt"},  # no <devices>: adapters unknown
    ]
    found = _findings(FIXTURES / "node-collisions.xml")
    assert [f for f in found if f[0].startswith("LV")] == [
        ("LV009", 16),
        ("LV009", 36),
        ("LV010", 6),
        ("LV010", 28),
    ]


def test_a_later_definition_replaces_an_earlier_one() -> None:
    text = (
        "<network><name>n</name><ip address='10.1.0.1' prefix='24'/></network>\n"
        "<network><name>n</name><ip address='10.2.0.1' prefix='24'/></network>\n"
    )
    loaded = load_text(text, "nets.xml")
    assert [n["subnet"] for n in _dump(loaded)["vm_networks"]] == ["10.2.0.0/24"]
    assert loaded.notes == [
        "line 2: network 'n' is defined again (first on line 1); the later definition is used, "
        "as `virsh define` would"
    ]


# ------------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("default.xml", (FIXTURES / "default-network.xml").read_text()),
        ("web01.xml", (FIXTURES / "domain.xml").read_text()),
        ("dumpxml.txt", (FIXTURES / "domain.xml").read_text()),
        ("testdriver.xml", (FIXTURES / "node-collisions.xml").read_text()),
        ("n", "<?xml version='1.0'?>\n<!-- c -->\n<network>\n<name>x</name>\n</network>\n"),
    ],
)
def test_detected_by_content(name: str, text: str) -> None:
    assert detect(name, text) == "libvirt"


@pytest.mark.parametrize(
    "text",
    [
        '<?xml version="1.0"?>\n<VirtualBox version="1.19-linux"/>\n',
        "<project><modelVersion>4.0.0</modelVersion></project>\n",
        "<network-security-config/>\n",
        "<node><child/></node>\n",
        # a diff of domain XML (virt-xml --print-diff) is not a definition
        '   <vcpu>2</vcpu>\n-  <interface type="network">\n+  <interface type="bridge">\n',
        "services:\n  db:\n    image: postgres\n",
    ],
)
def test_other_text_is_not_libvirt(text: str) -> None:
    assert detect("input.xml", text) != "libvirt"


# ------------------------------------------------------------------------------- bad input

DOMAIN = "<domain type='kvm'>\n<name>a</name>\n<devices>\n{}\n</devices>\n</domain>\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            "<network>\n<name>n</name>\n<ip address='10.0.0.1'>\n</network>\n",
            4,
            None,
            "malformed XML",
        ),
        ("<network>\n<name>n</name>\n", 2, None, "not closed"),
        ('<!DOCTYPE network [<!ENTITY x "y">]>\n<network/>\n', 1, None, "DOCTYPE"),
        (
            "<network>\n<name>n</name>\n<forward mode='nat-ish'/>\n</network>\n",
            3,
            "forward.mode",
            "unknown forward mode",
        ),
        ("<network>\n<name>  </name>\n</network>\n", 2, "name", "no <name>"),
        (
            "<network>\n<name>n</name>\n<ip address='10.0.0.1' prefix='40'/>\n</network>\n",
            3,
            "ip.prefix",
            "prefix",
        ),
        (
            "<network>\n<name>n</name>\n<ip address='10.0.0.1' netmask='255.0.255.0'/>\n"
            "</network>\n",
            3,
            "ip.netmask",
            "netmask",
        ),
        (
            "<network>\n<name>n</name>\n<ip address='ten'/>\n</network>\n",
            3,
            "ip.address",
            "not an IP",
        ),
        (
            DOMAIN.format("<interface>\n<source network='x'/>\n</interface>"),
            4,
            "type",
            "without a type",
        ),
        (DOMAIN.format("<interface type='tap'/>"), 4, "interface.type", "unknown interface"),
        (DOMAIN.format("<interface type='network'/>"), 4, "source.network", "source network"),
        (
            DOMAIN.format(
                "<interface type='user'>\n<portForward proto='tcp'>\n"
                "<range start='0'/>\n</portForward>\n</interface>"
            ),
            6,
            "portForward.range",
            "1-65535",
        ),
        (
            "<domain>\n<name>a</name>\n</domain>\n<pool><name>p</name></pool>\n",
            4,
            "pool",
            "not a libvirt",
        ),
        ("<network><name>n</name></network>\n-  <interface/>\n", 2, None, "outside any element"),
        # A log after the XML: the line where it starts, not where the text ends.
        ("<network><name>n</name></network>\nINFO started\n", 2, None, "'INFO started'"),
        (
            "<network><name>n</name></network>\nINFO a\nINFO b\n\n<network><name>m</name></network>",
            2,
            None,
            "'INFO a'",
        ),
    ],
)
def test_bad_xml_is_one_input_error(text: str, line: int, field: str | None, words: str) -> None:
    with pytest.raises(InputError) as err:
        load_text(text, "net.xml", kind="libvirt")
    assert err.value.file == "net.xml"
    assert err.value.line == line
    assert err.value.field == field
    assert words in err.value.message


def test_empty_and_binary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty"):
        load_text(" \n", "a.xml", kind="libvirt")
    path = tmp_path / "a.xml"
    path.write_bytes(b"<domain>\x00</domain>")
    with pytest.raises(InputError, match="binary"):
        load_file(path, kind="libvirt")


# ---------------------------------------------------------------------------------- corpus


def test_corpus_libvirt_files_load_or_are_refused_cleanly() -> None:
    """Every file loads or gives one InputError; the findings are the subnet collisions of
    the test driver's networks (trap 7) and the interfaces whose link is down."""
    folder = CORPUS / "libvirt"
    if not folder.is_dir():
        pytest.skip("the shared corpus is not here")
    loaded, refused = 0, 0
    rules: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for path in sorted(folder.iterdir()):
        try:
            result = load_file(path)
        except InputError:
            refused += 1
            continue
        loaded += 1
        if result.kind == "libvirt":
            for vm in result.setup.vms or []:
                types.update(str(a.mode) for a in vm.adapters or [])
        rules.update(f.rule for f in check_file(str(path), CheckOptions()).findings)
    # refused: 9 diffs printed by virt-xml (not XML) and one template with an empty <name>
    assert (loaded, refused) == (19, 10)
    assert rules == Counter({"LV009": 3, "LV010": 3, "PV096": 3, "PV073": 2})
    assert types["nat"] >= 1 and types["user"] >= 10 and types["direct"] == 2
    assert types["bridged"] >= 8 and types["None"] >= 8  # network w/o definition, hostdev...


@pytest.mark.parametrize("many", [False, True])
def test_element_limit_counts_every_element(many: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """More than MAX_ELEMENTS elements are refused, the wrapper of pasted definitions counted
    (the reader counts one by one only when the text's `<`s allow more than the limit)."""
    from diagnose.loaders import xmlnodes

    monkeypatch.setattr(xmlnodes, "MAX_ELEMENTS", 50)
    limit = 50 - (1 if many else 0)  # elements of the text, the wrapper aside
    if many:
        fits, over = "<n/>\n" * limit, "<n/>\n" * (limit + 1)
    else:
        fits, over = "<d>" + "<n/>" * (limit - 1) + "</d>", "<d>" + "<n/>" * limit + "</d>"
    assert xmlnodes.parse_xml(fits, "x.xml", many=many)
    with pytest.raises(InputError, match="more than 50 elements"):
        xmlnodes.parse_xml(over, "x.xml", many=many)
