"""VMware loaders: .vmx (kind vmx) and the NAT / DHCP configuration files (kind vmnet-conf)."""

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
VMX = FIXTURES / "vmx"
CONF = FIXTURES / "vmnet-conf"


# ------------------------------------------------------------------------------------- .vmx


def test_workstation_vmx_reads_every_present_nic() -> None:
    loaded = load_file(VMX / "workstation-nat.vmx")
    assert loaded.kind == "vmx"
    assert _dump(loaded) == {
        "vms": [
            {
                "name": "devbox",
                "hypervisor": "vmware",
                "os": "linux",
                "adapters": [
                    {"mode": "nat"},
                    {"mode": "hostonly", "connected": False},
                    # keys are case-insensitive: Ethernet2.Present counts
                    {"mode": "custom", "network": "VMnet2", "connected": True},
                ],
            }
        ]
    }
    lines = _lines(loaded)
    assert lines["vms[0]"] == 4  # displayName
    assert lines["vms[0].adapters[0]"] == 8  # ethernet0.present
    assert lines["vms[0].adapters[0].mode"] == 9  # ethernet0.connectionType
    assert lines["vms[0].adapters[1].connected"] == 16
    assert lines["vms[0].adapters[2].network"] == 21  # ethernet2.vnet
    assert loaded.notes == []  # ethernet3.present = FALSE: simply no NIC


def test_workstation_vmx_findings() -> None:
    # The unplugged host-only NIC is the one thing wrong, reported on its NIC.
    assert _findings(VMX / "workstation-nat.vmx") == [("VW011", 14)]


def test_no_connection_type_is_bridged_on_workstation() -> None:
    """Trap 9: no connectionType. A hosted (Workstation) NIC is bridged by default."""
    loaded = load_file(VMX / "default-bridged.vmx")
    assert _dump(loaded) == {
        "vms": [
            {
                "name": "Windows 10 x64",
                "hypervisor": "vmware",
                "os": "windows",
                "adapters": [{"mode": "bridged"}],
            }
        ]
    }
    assert _lines(loaded)["vms[0].adapters[0].mode"] == 5
    assert loaded.notes == ["line 5: ethernet0 has no connectionType: bridged, VMware's default"]


def test_a_nic_number_in_other_digits_is_no_nic() -> None:
    # Python's \d matches ٨ (Arabic-Indic eight); VMware reads ASCII digits only. Such a key
    # made the loader look for "ethernet80." and crash.
    loaded = load_text(
        'displayName = "x"\nethernet0.present = "TRUE"\nethernet0.connectionType = "nat"\n'
        'ethernet٨٠.generatedAddress = "00:50:56:87:65:43"\n',
        "x.vmx",
    )
    assert [a.mode for a in loaded.setup.vms[0].adapters] == ["nat"]
    # Nor is one written with a leading zero (its settings would be looked up as ethernet1).
    loaded = load_text(
        'displayName = "x"\nethernet0.present = "TRUE"\nethernet01.connectionType = "nat"\n',
        "x.vmx",
    )
    assert len(loaded.setup.vms[0].adapters) == 1
    assert (
        "line 3: ethernet01 is no NIC VMware reads (its numbers have no leading zero): "
        "its settings are left out"
    ) in loaded.notes


def test_esx_port_groups_are_networks_of_unknown_mode() -> None:
    """Trap 9: ESXi files have no connectionType; networkName is a port group, dvs.* a
    distributed switch, and a vCenter NIC (addressType vpx) without either has no network."""
    loaded = load_file(VMX / "esx-portgroups.vmx")
    assert _dump(loaded) == {
        "vm_networks": [{"name": "VM Network", "hypervisor": "vmware"}],
        "vms": [
            {
                "name": "web01",
                "hypervisor": "vmware",
                "os": "linux",
                "adapters": [{"network": "VM Network"}, {"network": "dvportgroup-1285"}, {}],
            }
        ],
    }
    lines = _lines(loaded)
    assert lines["vm_networks[0]"] == 8
    assert lines["vms[0].adapters[1].network"] == 16
    assert len(loaded.notes) == 3
    assert all("mode" in note and "unknown" in note for note in loaded.notes)
    assert _findings(VMX / "esx-portgroups.vmx") == []


def test_custom_vnet_on_vmnet1_and_vmnet2() -> None:
    """Trap 9: the GSX router VM uses custom NICs on /dev/vmnet1 (the host-only VMnet) and
    /dev/vmnet2; the device paths become VMnet1 / VMnet2, the names the rules join on."""
    loaded = load_file(VMX / "gsx-router.vmx")
    assert _dump(loaded)["vms"][0]["adapters"] == [
        {"mode": "custom", "network": "VMnet1"},
        {"mode": "custom", "network": "VMnet2"},
    ]
    assert _lines(loaded)["vms[0].adapters[1].network"] == 13
    assert _findings(VMX / "gsx-router.vmx") == []


def test_two_nics_bridged_to_vmnet0_static_mac_and_lan_segment() -> None:
    """Trap 9: two NICs bridged to VMnet0 and a static MAC outside VMware's OUI with
    checkMACAddress false are legal; a LAN segment (pvn) has no mode in the model."""
    loaded = load_file(VMX / "fusion-two-bridged.vmx")
    assert _dump(loaded) == {
        "vms": [
            {
                "name": 'lab"s" vm',  # |22 is VMware's escape for a double quote
                "hypervisor": "vmware",
                "os": "mac",
                "adapters": [
                    {"mode": "bridged", "network": "VMnet0"},
                    {"mode": "bridged", "network": "VMnet0"},
                    {},
                ],
            }
        ]
    }
    lines = _lines(loaded)
    assert lines["vms[0].adapters[1]"] == 11  # ethernet2: the second NIC present
    assert lines["vms[0].adapters[2].mode"] == 17
    assert any("ethernet5 has settings but no present" in n for n in loaded.notes)
    assert any("LAN segment" in n for n in loaded.notes)
    assert _findings(VMX / "fusion-two-bridged.vmx") == []


def test_display_name_missing_uses_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "Ubuntu 64-bit.vmx"
    path.write_text('config.version = "8"\nethernet0.present = "TRUE"\n')
    loaded = load_file(path)
    assert _dump(loaded)["vms"][0]["name"] == "Ubuntu 64-bit"
    assert "vms[0].name" not in loaded.places
    assert loaded.notes[0].startswith("no displayName")


# ---------------------------------------------------------------------------- NAT and DHCP


def test_windows_vmnetnat_conf() -> None:
    loaded = load_file(CONF / "vmnetnat.conf")
    assert loaded.kind == "vmnet-conf"
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "mode": "nat",
                "subnet": "192.168.80.0/24",
                "gateway": "192.168.80.2",
                "port_forwards": [
                    "2222 = 192.168.80.128:22",
                    "8080 = 192.168.80.128:80",
                    "5353 = 192.168.80.129:53/udp",
                ],
            }
        ]
    }
    lines = _lines(loaded)
    assert lines["vm_networks[0]"] == 3  # [host]
    assert lines["vm_networks[0].name"] == 10  # device = VMnet8
    assert lines["vm_networks[0].gateway"] == 6  # ip = ...
    assert lines["vm_networks[0].port_forwards[1]"] == 51
    assert lines["vm_networks[0].port_forwards[2]"] == 57  # [incomingudp]


def test_linux_nat_conf_names_its_vmnet() -> None:
    loaded = load_file(CONF / "etc/vmware/vmnet8/nat/nat.conf")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "mode": "nat",
                "subnet": "172.16.151.0/24",
                "gateway": "172.16.151.2",
                "port_forwards": ["8889 = 172.16.151.128:22"],
            }
        ]
    }
    assert _lines(loaded)["vm_networks[0].port_forwards[0]"] == 29


def test_nat_conf_without_device_takes_the_vmnet_from_its_path(tmp_path: Path) -> None:
    path = tmp_path / "Library/Preferences/VMware Fusion/vmnet8/nat.conf"
    path.parent.mkdir(parents=True)
    path.write_text("[host]\nip = 172.16.2.2/24\nhostMAC = 00:50:56:C0:00:08\n")
    assert _dump(load_file(path)) == {
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "mode": "nat",
                "subnet": "172.16.2.0/24",
                "gateway": "172.16.2.2",
            }
        ]
    }


def test_windows_vmnetdhcp_conf_one_network_per_segment() -> None:
    loaded = load_file(CONF / "vmnetdhcp.conf")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "VMnet1",
                "hypervisor": "vmware",
                "subnet": "192.168.52.0/24",
                "host_address": "192.168.52.1/24",
                "dhcp": True,
            },
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "subnet": "192.168.80.0/24",
                "gateway": "192.168.80.2",
                "host_address": "192.168.80.1/24",
                "dhcp": True,
            },
            # no host block: the "# Virtual ethernet segment 2" comment names it
            {"name": "VMnet2", "hypervisor": "vmware", "subnet": "10.20.30.0/24"},
        ]
    }
    lines = _lines(loaded)
    assert lines["vm_networks[1]"] == 36  # subnet 192.168.80.0 ...
    assert lines["vm_networks[1].gateway"] == 42  # option routers
    assert lines["vm_networks[1].host_address"] == 48  # fixed-address in host VMnet8
    assert loaded.notes == [
        "line 57: subnet 10.20.30.0/24 (VMnet2) has no range: whether VMware's DHCP leases "
        "addresses on it is not said"
    ]


def test_linux_dhcpd_conf() -> None:
    loaded = load_file(CONF / "etc/vmware/vmnet8/dhcpd/dhcpd.conf")
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "VMnet8",
                "hypervisor": "vmware",
                "subnet": "172.16.151.0/24",
                "gateway": "172.16.151.2",
                "host_address": "172.16.151.1/24",
                "dhcp": True,
            }
        ]
    }


def test_vmx_and_nat_conf_together_describe_one_setup() -> None:
    """A NAT VM plus the NAT file: the forward reaches the VM's network (VMnet8)."""
    from diagnose.merge import merge

    merged = merge([load_file(VMX / "workstation-nat.vmx"), load_file(CONF / "vmnetnat.conf")])
    data = _dump(merged)
    assert data["vm_networks"][0]["name"] == "VMnet8"
    assert data["vms"][0]["adapters"][0] == {"mode": "nat"}


# ------------------------------------------------------------------------------- detection


VMX_TEXT = (VMX / "workstation-nat.vmx").read_text()
NAT_TEXT = (CONF / "vmnetnat.conf").read_text()
DHCP_TEXT = (CONF / "vmnetdhcp.conf").read_text()
OTHERS = {
    "compose": "services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n",
    "setup": "vms:\n  - name: a\n    hypervisor: vmware\n",
    "inspect": '[{"Id": "abc", "Name": "/web", "NetworkSettings": {"Networks": {}}}]',
    "ini": "[host]\nname = example\n",
    "isc-dhcpd": ("subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.10 10.0.0.99;\n}\n"),
}


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("devbox.vmx", VMX_TEXT, "vmx"),
        ("Windows 10 x64.vmx", VMX_TEXT, "vmx"),
        ("config.txt", VMX_TEXT, "vmx"),
        ("vmnetnat.conf", NAT_TEXT, "vmnet-conf"),
        ("nat.conf", NAT_TEXT, "vmnet-conf"),
        ("saved-settings", NAT_TEXT, "vmnet-conf"),
        ("vmnetdhcp.conf", DHCP_TEXT, "vmnet-conf"),
        ("dhcp-backup.txt", DHCP_TEXT, "vmnet-conf"),
    ],
)
def test_detected_by_name_and_by_content(name: str, text: str, kind: str) -> None:
    assert detect(name, text) == kind


@pytest.mark.parametrize("other", sorted(OTHERS))
def test_other_formats_are_not_vmware(other: str) -> None:
    assert detect("input.txt", OTHERS[other]) not in ("vmx", "vmnet-conf")


def test_a_plain_isc_dhcpd_conf_is_refused_not_guessed() -> None:
    """dhcpd.conf is VMware's name and ISC's: one that names no VMnet is not taken for
    VMware's, and nothing else reads it."""
    with pytest.raises(InputError) as err:
        load_text(OTHERS["isc-dhcpd"], "/etc/dhcp/dhcpd.conf")
    assert err.value.line == 1
    assert "not a format netwhy reads" in err.value.message


# ------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('config.version = "8"\nethernet0.present\n', 2, None, "key ="),
        (
            'ethernet0.present = "TRUE"\nethernet0.connectionType = "bridge"\n',
            2,
            "ethernet0.connectionType",
            "unknown connectionType",
        ),
        ('ethernet0.present = "maybe"\n', 1, "ethernet0.present", "TRUE or FALSE"),
        (
            'displayName = "a"\nethernet0.present = "TRUE"\nDisplayName = "b"\n',
            3,
            "DisplayName",
            "set twice",
        ),
        ('displayName = "unterminated\n', 1, None, "unterminated"),
    ],
)
def test_bad_vmx_is_one_input_error(text: str, line: int, field: str | None, words: str) -> None:
    with pytest.raises(InputError) as err:
        load_text(text, "bad.vmx")
    assert err.value.file == "bad.vmx"
    assert err.value.line == line
    assert err.value.field == field
    assert words in err.value.message


@pytest.mark.parametrize(
    ("name", "text", "line", "field", "words"),
    [
        (
            "vmnetnat.conf",
            "[host]\ndevice = vmnet8\n[incomingtcp]\n8080 = 192.168.80.128\n",
            4,
            "incomingtcp",
            "HOSTPORT = GUESTIP:GUESTPORT",
        ),
        (
            "vmnetnat.conf",
            "[host]\ndevice = vmnet8\n[incomingudp]\n99999 = 1.2.3.4:53\n",
            4,
            "incomingudp",
            "HOSTPORT",
        ),
        (  # ² is a digit to str.isdigit(), and no number to int()
            "vmnetnat.conf",
            "[host]\ndevice = vmnet8\n[incomingtcp]\n²² = 192.168.80.128:22\n",
            4,
            "incomingtcp",
            "HOSTPORT",
        ),
        ("vmnetnat.conf", "[host]\ndevice = eth0\n", 2, "device", "not a VMnet"),
        ("vmnetnat.conf", "[host]\nip = 192.168.80.2\n", 1, "device", "which VMnet"),
        ("vmnetnat.conf", "[host]\ndevice = vmnet8\nip = 192.168.80.300\n", 3, "ip", "IPv4"),
        ("vmnetnat.conf", "[host]\ndevice = vmnet8\njust words\n", 3, None, "key = value"),
        (
            "vmnetdhcp.conf",
            "# vmnet8\nsubnet 10.0.0.0 netmask 255.255.255.0 {\n",
            2,
            None,
            "never closed",
        ),
        ("vmnetdhcp.conf", "host VMnet8 {\n fixed-address 10.0.0.1\n}\n", 3, None, "missing ';'"),
        (
            "vmnetdhcp.conf",
            "subnet 10.0.0.1 netmask 255.255.0.255 { }\nhost VMnet1 { }\n",
            1,
            "subnet",
            "not a subnet",
        ),
        ("vmnetdhcp.conf", "host vmnet1 { fixed-address 10.1.1.1; }\n", 1, None, "no subnet block"),
    ],
)
def test_bad_conf_is_one_input_error(
    name: str, text: str, line: int, field: str | None, words: str
) -> None:
    with pytest.raises(InputError) as err:
        load_text(text, name)
    assert err.value.file == name
    assert err.value.line == line
    assert err.value.field == field
    assert words in err.value.message


@pytest.mark.parametrize("name", ["empty.vmx", "vmnetnat.conf"])
def test_empty_and_binary_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("  \n")
    with pytest.raises(InputError, match="empty"):
        load_file(path)
    path.write_bytes(b'config.version = "8"\x00\x01')
    with pytest.raises(InputError, match="binary"):
        load_file(path)


# ---------------------------------------------------------------------------------- corpus


def test_corpus_vmware_files_load_and_give_no_false_alarm() -> None:
    folder = CORPUS / "vmware"
    if not folder.is_dir():
        pytest.skip("the shared corpus is not here")
    loaded, refused, modes = 0, 0, Counter()
    rules: Counter[str] = Counter()
    for path in sorted(folder.iterdir()):
        try:
            result = load_file(path)
        except InputError:
            refused += 1
            continue
        loaded += 1
        assert result.kind == "vmx"
        for adapter in result.setup.vms[0].adapters or []:  # type: ignore[index]
            modes[adapter.mode] += 1
        rules.update(f.rule for f in check_file(str(path), CheckOptions()).findings)
    assert (loaded, refused) == (20, 0)
    # Trap 9: 8 files have no connectionType; none of them is read as a Workstation default
    # (the ESXi NICs keep an unknown mode), the explicit ones keep theirs.
    assert modes == Counter({"bridged": 9, None: 8, "custom": 4, "nat": 1})
    assert rules == Counter()  # nothing wrong in these VMs, nothing reported


def test_suppression_comments_in_a_vmx(tmp_path: Path) -> None:
    """`# netwhy: ignore[...]` lines (and same-line comments after a value) are comments."""
    path = tmp_path / "lab.vmx"
    path.write_text(
        'displayName = "lab"\n'
        "# netwhy: ignore[VW011] the second NIC is plugged in by hand when needed\n"
        'ethernet1.present = "TRUE"  # the lab NIC\n'
        'ethernet1.connectionType = "hostonly"\n'
        'ethernet1.startConnected = "FALSE"\n'
    )
    result = check_file(str(path), CheckOptions())
    assert [f.rule for f in result.findings] == []
    assert [f.rule for f, _ in result.suppressed] == ["VW011"]
