"""VirtualBox loaders: .vbox / VirtualBox.xml (kind vbox) and VBoxManage output (kind
vboxmanage: showvminfo --machinereadable, list hostonlyifs / natnets / dhcpservers /
bridgedifs, natnetwork list)."""

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

FIXTURES = Path(__file__).parent / "fixtures"
VBOX = FIXTURES / "vbox"
MANAGE = FIXTURES / "vboxmanage"


# -------------------------------------------------------------------------------------- .vbox


def test_vbox_machine_adapters() -> None:
    loaded = load_file(VBOX / "devbox.vbox")
    assert loaded.kind == "vbox"
    assert _dump(loaded) == {
        "host": {"os": "linux"},  # version="1.19-linux": written by VirtualBox on Linux
        "vms": [
            {
                "name": "devbox",
                "hypervisor": "virtualbox",
                "os": "linux",
                "adapters": [
                    {
                        "mode": "nat",
                        "connected": True,
                        "port_forwards": [
                            "tcp:127.0.0.1:2222:22",
                            "tcp:8080:10.0.2.15:80",
                            "udp:5353:53",  # proto="0" is UDP
                        ],
                    },
                    # DisabledModes keeps the settings of modes not in use: not read
                    {"mode": "hostonly", "network": "vboxnet1", "connected": True},
                    {"mode": "bridged", "connected": False, "bridged_to": "enp3s0"},
                    # slot 3 is disabled: no such adapter in the guest
                    {"mode": "natnetwork", "network": "NatNetwork", "connected": True},
                    {"mode": "disconnected", "connected": True},  # no attachment element
                ],
            }
        ],
    }
    lines = _lines(loaded)
    assert lines["vms[0]"] == 9
    assert lines["vms[0].adapters[0]"] == 14
    assert lines["vms[0].adapters[0].port_forwards[2]"] == 19
    assert lines["vms[0].adapters[1].network"] == 29
    assert lines["vms[0].adapters[2].connected"] == 31
    assert lines["vms[0].adapters[3]"] == 37
    assert loaded.notes == [
        "vms[0].adapters[3] is the adapter in slot 4 (adapter 5)",
        "vms[0].adapters[4] is the adapter in slot 5 (adapter 6)",
    ]
    assert _findings(VBOX / "devbox.vbox") == [("PV073", 31)]  # cable="false"


def test_cable_default_follows_the_settings_version() -> None:
    """VirtualBox 5.1 (settings 1.16) made 'cable connected' the default; before it the
    default was unplugged (Settings.cpp, readNetworkAdapters)."""
    adapter = '<Adapter slot="0" enabled="true"><NAT/></Adapter>'
    text = (
        '<VirtualBox xmlns="http://www.virtualbox.org/" version="{v}-windows">'
        '<Machine name="m"><Hardware><Network>' + adapter + "</Network></Hardware></Machine>"
        "</VirtualBox>"
    )
    new = _dump(load_text(text.format(v="1.16"), "m.vbox"))
    old = _dump(load_text(text.format(v="1.15"), "m.vbox"))
    assert new["vms"][0]["adapters"] == [{"mode": "nat", "connected": True}]
    assert old["vms"][0]["adapters"] == [{"mode": "nat", "connected": False}]
    assert new["host"] == {"os": "windows"}


def test_virtualbox_xml_global_networks() -> None:
    loaded = load_file(VBOX / "VirtualBox.xml")
    assert _dump(loaded) == {
        "host": {"os": "linux"},
        "vm_networks": [
            {
                "name": "vboxnet0",
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": "192.168.56.0/24",
                "host_address": "192.168.56.1/24",
                "dhcp": True,
            },
            {
                "name": "vboxnet1",
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": "192.168.33.0/24",
                "host_address": "192.168.33.1/24",
            },
            {
                "name": "NatNetwork",
                "hypervisor": "virtualbox",
                "mode": "natnetwork",
                "subnet": "10.0.2.0/24",
                "gateway": "10.0.2.1",  # the address after the network's (VirtualBox manual)
                "dhcp": True,
                "port_forwards": ["tcp:2022:10.0.2.4:22"],
            },
        ],
    }
    assert _lines(loaded)["vm_networks[1].host_address"] == 14
    assert _lines(loaded)["vm_networks[2].port_forwards[0]"] == 28


def test_hostonly_outside_the_allowed_range_reaches_vb008() -> None:
    """Host-only addresses outside 192.168.56.0/21 (VirtualBox 6.1.28+ on Linux/macOS)."""
    assert _findings(VBOX / "VirtualBox.xml") == [("VB008", 14)]
    assert _findings(MANAGE / "list-hostonlyifs.txt") == [("VB008", 14)]


def test_windows_hostonly_adapters_say_the_host_is_windows() -> None:
    """The range limit is not Windows': a Windows adapter name tells the host OS, and VB008
    stays silent."""
    text = (
        "Name:            VirtualBox Host-Only Ethernet Adapter\n"
        "GUID:            62d9b6ab-5f2a-4b1c-9a0e-7e1f4b2c3d4e\n"
        "DHCP:            Disabled\n"
        "IPAddress:       192.168.33.1\n"
        "NetworkMask:     255.255.255.0\n"
        "Status:          Up\n"
        "VBoxNetworkName: HostInterfaceNetworking-VirtualBox Host-Only Ethernet Adapter\n"
    )
    loaded = load_text(text, "hostonlyifs.txt")
    assert _dump(loaded)["host"] == {"os": "windows"}
    from diagnose.api import check

    assert [f.rule for f in check(loaded.setup).findings] == []


# ------------------------------------------------------------------------- VBoxManage output


def test_showvminfo_machinereadable() -> None:
    loaded = load_file(MANAGE / "showvminfo-machinereadable.txt")
    assert loaded.kind == "vboxmanage"
    assert _dump(loaded) == {
        "host": {"os": "windows"},
        "vms": [
            {
                "name": "builder",
                "hypervisor": "virtualbox",
                "os": "windows",
                "adapters": [
                    {
                        "mode": "nat",
                        "connected": True,
                        # Forwarding(i) lines belong to the NAT adapter printed before them
                        "port_forwards": ["tcp:33890:3389", "tcp:127.0.0.1:55985:10.0.2.15:5985"],
                    },
                    {
                        "mode": "hostonly",
                        "network": "VirtualBox Host-Only Ethernet Adapter #2",
                        "connected": False,
                    },
                    {"mode": "disconnected", "connected": True},  # nic3="null"
                    {
                        "mode": "bridged",
                        "connected": True,
                        "bridged_to": "Intel(R) Wi-Fi 6 AX201 160MHz",
                    },
                ],
            }
        ],
    }
    lines = _lines(loaded)
    assert lines["vms[0].adapters[0]"] == 13  # nic1=
    assert lines["vms[0].adapters[0].port_forwards[1]"] == 22
    assert lines["vms[0].adapters[1].network"] == 23  # hostonlyadapter2=
    assert lines["vms[0].adapters[3].bridged_to"] == 32


def test_machinereadable_escapes() -> None:
    text = 'name="say \\"hi\\" \\\\ bye"\nUUID="1"\nnic1="none"\n'
    assert _dump(load_text(text, "vm.txt"))["vms"][0]["name"] == 'say "hi" \\ bye'


def test_list_hostonlyifs() -> None:
    loaded = load_file(MANAGE / "list-hostonlyifs.txt")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "vboxnet0",
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": "192.168.56.0/24",
                "host_adapter": True,
                "host_address": "192.168.56.1/24",
            },
            {
                "name": "vboxnet1",
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": "192.168.33.0/24",
                "host_adapter": True,
                "host_address": "192.168.33.1/24",
            },
        ]
    }
    assert _lines(loaded)["vm_networks[1].host_address"] == 17
    assert loaded.notes[0].startswith("line 24: vboxnet1 is Down")


def test_list_natnets_and_natnetwork_list() -> None:
    loaded = load_file(MANAGE / "list-natnets.txt")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "labnet",
                "hypervisor": "virtualbox",
                "mode": "natnetwork",
                "subnet": "192.168.15.0/24",
                "gateway": "192.168.15.1",
                "dhcp": True,
                "port_forwards": [
                    "tcp:1022:192.168.15.5:22",
                    "udp:127.0.0.1:5353:192.168.15.6:53",
                ],
            },
            {
                "name": "NatNetwork",
                "hypervisor": "virtualbox",
                "mode": "natnetwork",
                "subnet": "10.0.2.0/24",
                "gateway": "10.0.2.1",
                "dhcp": False,
            },
        ]
    }
    assert _lines(loaded)["vm_networks[0].port_forwards[1]"] == 10
    assert loaded.notes == ["line 20: NAT network NatNetwork is disabled (Enabled: No)"]
    other = load_file(MANAGE / "natnetwork-list.txt")
    assert _dump(other) == {
        "vm_networks": [
            {
                "name": "vm-net",
                "hypervisor": "virtualbox",
                "mode": "natnetwork",
                "subnet": "192.168.10.0/24",
                "gateway": "192.168.10.1",
                "dhcp": False,
                "port_forwards": ["tcp:3323:192.168.10.23:22"],
            }
        ]
    }


def test_list_dhcpservers() -> None:
    loaded = load_file(MANAGE / "list-dhcpservers.txt")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "vboxnet0",
                "hypervisor": "virtualbox",
                "mode": "hostonly",
                "subnet": "192.168.56.0/24",
                "dhcp": True,
            },
            # a NAT or internal network's server: its mode is not said
            {
                "name": "labnet",
                "hypervisor": "virtualbox",
                "subnet": "192.168.15.0/24",
                "dhcp": False,
            },
        ]
    }
    assert _lines(loaded)["vm_networks[1].dhcp"] == 22


def test_list_bridgedifs_are_host_interfaces() -> None:
    loaded = load_file(MANAGE / "list-bridgedifs.txt")
    assert _dump(loaded) == {
        "host": {
            "interfaces": [
                {"name": "enp3s0", "address": "192.168.1.20/24", "up": True},
                {"name": "wlp2s0", "type": "wifi", "up": False},  # 0.0.0.0: no address
            ]
        }
    }


# ------------------------------------------------------------------------------- detection

SHOWVMINFO = (MANAGE / "showvminfo-machinereadable.txt").read_text()
VBOX_TEXT = (VBOX / "devbox.vbox").read_text()


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("devbox.vbox", VBOX_TEXT, "vbox"),
        ("devbox.vbox-prev", VBOX_TEXT, "vbox"),
        ("VirtualBox.xml", (VBOX / "VirtualBox.xml").read_text(), "vbox"),
        ("vminfo.txt", SHOWVMINFO, "vboxmanage"),
        ("out", (MANAGE / "list-hostonlyifs.txt").read_text(), "vboxmanage"),
        ("out", (MANAGE / "list-natnets.txt").read_text(), "vboxmanage"),
        ("out", (MANAGE / "natnetwork-list.txt").read_text(), "vboxmanage"),
        ("out", (MANAGE / "list-dhcpservers.txt").read_text(), "vboxmanage"),
        ("out", (MANAGE / "list-bridgedifs.txt").read_text(), "vboxmanage"),
    ],
)
def test_detected_by_name_and_by_content(name: str, text: str, kind: str) -> None:
    assert detect(name, text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "services:\n  web:\n    image: nginx\n",
        "name: demo\nvms:\n  - name: a\n",
        '[{"Name": "/web", "Config": {"Image": "nginx"}}]',
        "<domain type='kvm'><name>a</name></domain>",
        'name="x"\n',  # one key= line is not showvminfo
        "Name: a list of things\nNetwork: maybe\n",
        # markup whose lines look like VBoxManage's keys is still markup
        '<network>\nname="x"\nUUID="y"\n</network>\n',
        "<network>\nName: vboxnet0\nIPAddress: 192.168.56.1\n</network>\n",
    ],
)
def test_other_text_is_not_virtualbox(text: str) -> None:
    assert detect("input.txt", text) not in ("vbox", "vboxmanage")


# ------------------------------------------------------------------------------- bad input

MACHINE = '<VirtualBox version="1.19-linux"><Machine name="m"><Hardware><Network>{}</Network>'
MACHINE += "</Hardware></Machine></VirtualBox>"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            '<VirtualBox version="1.19-linux">\n  <Machine name="m">\n</VirtualBox>\n',
            3,
            None,
            "malformed XML",
        ),
        ('<!DOCTYPE x [<!ENTITY a "b">]>\n<VirtualBox version="1.19"/>', 1, None, "DOCTYPE"),
        ('<VirtualBox version="1.19"><Global/></VirtualBox>\n<extra/>', 2, None, "malformed"),
        ('<Settings version="1.19"/>', 1, "Settings", "not <VirtualBox>"),
        ('<VirtualBox version="one"><Machine name="m"/></VirtualBox>', 1, "version", "version"),
        ('<VirtualBox version="1.19"><Foo/></VirtualBox>', 1, None, "neither"),
        (
            MACHINE.format(
                '<Adapter slot="0" enabled="true"><NAT/>\n<NATNetwork name="n"/></Adapter>'
            ),
            2,
            "Adapter",
            "attachments",
        ),
        (
            MACHINE.format(
                '<Adapter slot="0" enabled="true"><NAT>\n<Forwarding proto="6" '
                'hostport="1" guestport="2"/></NAT></Adapter>'
            ),
            2,
            "Forwarding",
            "proto",
        ),
        (  # ² is a digit to str.isdigit() and no number to int(): it was an internal error
            MACHINE.format(
                '<Adapter slot="0" enabled="true"><NAT>\n<Forwarding proto="1" '
                'hostport="²²" guestport="22"/></NAT></Adapter>'
            ),
            2,
            "Forwarding",
            "ports 1-65535",
        ),
        (MACHINE.format('<Adapter slot="0"/>\n<Adapter slot="0"/>'), 2, "slot", "two"),
        (MACHINE.format('<Adapter slot="0" enabled="perhaps"/>'), 1, "enabled", "boolean"),
        (
            MACHINE.format('<Adapter slot="0" enabled="true"><Carrier/></Adapter>'),
            1,
            "Adapter",
            "unknown attachment",
        ),
    ],
)
def test_bad_vbox_is_one_input_error(text: str, line: int, field: str | None, words: str) -> None:
    with pytest.raises(InputError) as err:
        load_text(text, "m.vbox")
    assert err.value.file == "m.vbox"
    assert err.value.line == line
    assert err.value.field == field
    assert words in err.value.message


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('name="vm"\nUUID="1"\nnic1="slirp"\n', 3, "nic1", "unknown attachment"),
        (
            'name="vm"\nUUID="1"\nForwarding(0)="ssh,tcp,,2222,,22"\n',
            3,
            "Forwarding(0)",
            "no NAT adapter",
        ),
        (
            'name="vm"\nUUID="1"\nnic1="nat"\nForwarding(0)="ssh,sctp,,2222,,22"\n',
            4,
            "Forwarding(0)",
            "tcp|udp",
        ),
        (
            'name="vm"\nUUID="1"\nnic1="nat"\nForwarding(0)="ssh,tcp,,x,,22"\n',
            4,
            "Forwarding(0)",
            "not numbers",
        ),
        ('name="vm\nUUID="1"\n', 2, "name", "text after"),
        ('name="vm"\nUUID="1"\njunk line\n', 3, None, 'key="value"'),
        ('name="vm"\nUUID="1"\ndescription="never closed\nmore\n', 3, None, "unterminated"),
        (
            "NetworkName:    net\nIP:             10.0.9.1\nNetwork:        10.0.9.0/33\n",
            3,
            "network",
            "not a subnet",
        ),
        (
            "NetworkName:    net\nNetwork:        10.0.9.0/24\nPort-forwarding (ipv4)\n"
            "        ssh:tcp:[]:70000:[10.0.9.5]:22\n",
            4,
            "Port-forwarding",
            "rule",
        ),
        (
            "Name:            vboxnet0\nIPAddress:       192.168.56.1\nNetworkMask:     "
            "255.0.255.0\nVBoxNetworkName: HostInterfaceNetworking-vboxnet0\n",
            2,
            None,
            "netmask",
        ),
    ],
)
def test_bad_vboxmanage_is_one_input_error(
    text: str, line: int, field: str | None, words: str
) -> None:
    with pytest.raises(InputError) as err:
        load_text(text, "out.txt", kind="vboxmanage")
    assert err.value.file == "out.txt"
    assert err.value.line == line
    assert err.value.field == field
    assert words in err.value.message


def test_empty_and_binary(tmp_path: Path) -> None:
    path = tmp_path / "m.vbox"
    path.write_text("\n")
    with pytest.raises(InputError, match="empty"):
        load_file(path)
    with pytest.raises(InputError, match="empty"):
        load_text("", "vminfo.txt", kind="vboxmanage")
    path.write_bytes(b"<VirtualBox\x00>")
    with pytest.raises(InputError, match="binary"):
        load_file(path)


# ---------------------------------------------------------------------------------- corpus


def test_corpus_virtualbox_files_load_and_give_no_false_alarm() -> None:
    folder = CORPUS / "virtualbox"
    if not folder.is_dir():
        pytest.skip("the shared corpus is not here")
    kinds: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    refused = 0
    for path in sorted(folder.iterdir()):
        try:
            loaded = load_file(path)
        except InputError:
            refused += 1
            continue
        kinds[loaded.kind] += 1
        rules.update(f.rule for f in check_file(str(path), CheckOptions()).findings)
    assert refused == 0
    assert kinds == Counter({"vboxmanage": 7, "vbox": 1})
    assert rules == Counter()  # 192.168.56.1 is inside the allowed range; nothing is wrong
    hostonly = load_file(next(folder.glob("*list-hostonlyifs*")))
    assert _dump(hostonly)["vm_networks"][0]["host_address"] == "192.168.56.1/24"
    dhcp = load_file(next(folder.glob("*list-dhcpservers*")))
    assert _dump(dhcp)["host"] == {"os": "windows"}  # "VirtualBox Host-Only Ethernet Adapter"


def test_a_nic_number_with_a_leading_zero_is_not_read_as_another() -> None:
    # VBoxManage prints nic1..nic8: nic01 was read as nic1 (and its settings from natnet1...).
    loaded = load_text('name="vm"\nUUID="1"\nnic1="nat"\nnic01="bridged"\n', "vm.txt", "vboxmanage")
    assert [a.mode for a in loaded.setup.vms[0].adapters] == ["nat"]
