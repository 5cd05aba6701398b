"""Vagrant loader: Vagrantfiles read statically, without Ruby (kind vagrant)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from diagnose.batch import CheckOptions, check_file, check_setup
from diagnose.errors import InputError
from diagnose.loaders import detect, load_file, load_text
from diagnose.loaders.base import Loaded
from tests.loader_helpers import CORPUS
from tests.loader_helpers import dump as _dump
from tests.loader_helpers import findings as _findings
from tests.loader_helpers import lines as _lines

FIXTURES = Path(__file__).parent / "fixtures" / "vagrant"
HOST = Path(__file__).parent / "fixtures" / "ip-json"

VBOX56 = {
    "name": "<vboxnet for 192.168.56.0/24>",
    "hypervisor": "virtualbox",
    "mode": "hostonly",
    "subnet": "192.168.56.0/24",
    "host_address": "192.168.56.1/24",
}


def _load(text: str, name: str = "Vagrantfile") -> Loaded:
    return load_text(text, name)


def _refused(text: str) -> InputError:
    with pytest.raises(InputError) as info:
        _load(text)
    return info.value


# ------------------------------------------------------------------------------- fixtures


def test_basic_single_machine() -> None:
    """No define: the machine "default"; adapter 1 is NAT with the forwards (string, symbol,
    hash-rocket and parenthesized forms); a disabled forward is dropped; the heredoc's `end`
    and the `#` in a string change nothing."""
    loaded = load_file(FIXTURES / "basic" / "Vagrantfile")
    assert loaded.kind == "vagrant"
    assert _dump(loaded) == {
        "vm_networks": [VBOX56],
        "vms": [
            {
                "name": "default",
                "hypervisor": "virtualbox",
                "adapters": [
                    {
                        "mode": "nat",
                        "port_forwards": [
                            "tcp:8080:80",
                            "tcp:127.0.0.1:15432:5432",
                            "udp:1053:53",
                        ],
                    },
                    {
                        "mode": "hostonly",
                        "network": VBOX56["name"],
                        "address": "192.168.56.10/24",
                        "dhcp": False,
                    },
                    {
                        "mode": "bridged",
                        "address": "192.168.1.50/24",
                        "dhcp": False,
                        "bridged_to": "enp3s0",
                    },
                ],
            }
        ],
    }
    lines = _lines(loaded)
    assert lines["vms[0]"] == 4  # Vagrant.configure
    assert lines["vms[0].hypervisor"] == 19  # config.vm.provider "virtualbox"
    assert lines["vms[0].adapters[0].port_forwards[0]"] == 9
    assert lines["vms[0].adapters[0].port_forwards[1]"] == 10
    assert lines["vms[0].adapters[0].port_forwards[2]"] == 11
    assert lines["vms[0].adapters[1]"] == 14
    assert lines["vm_networks[0]"] == 14
    assert lines["vms[0].adapters[2]"] == 15  # a statement continued over three lines
    assert loaded.notes == []
    assert _findings(FIXTURES / "basic" / "Vagrantfile") == []


def test_multi_machine_with_overrides_and_customize() -> None:
    """Root forwards apply to every machine, before its own; a provider override adds a
    forward; `--natpf1` is a forward too; `virtualbox__intnet` is an internal network; a
    `name:` picks an existing host-only interface; a literal constant names a machine."""
    loaded = load_file(FIXTURES / "multi" / "Vagrantfile")
    web, db = _dump(loaded)["vms"]
    assert web == {
        "name": "web",
        "hypervisor": "virtualbox",
        "adapters": [
            {
                "mode": "nat",
                "port_forwards": ["tcp:9100:9100", "tcp:8080:80", "tcp:3000:3000", "tcp:8443:443"],
            },
            {
                "mode": "hostonly",
                "network": VBOX56["name"],
                "address": "192.168.56.11/24",
                "dhcp": False,
            },
        ],
    }
    assert db == {
        "name": "db",  # DB_NAME = "db", assigned once at top level
        "hypervisor": "virtualbox",
        "adapters": [
            {"mode": "nat", "port_forwards": ["tcp:9100:9100"]},
            {
                "mode": "hostonly",
                "network": VBOX56["name"],
                "address": "192.168.56.12/24",
                "dhcp": False,
            },
            {"mode": "internal", "network": "backend", "address": "10.10.0.12/24", "dhcp": False},
            {"mode": "hostonly", "network": "vboxnet3", "dhcp": True},
        ],
    }
    assert _dump(loaded)["vm_networks"] == [VBOX56]  # one host-only network for both
    lines = _lines(loaded)
    assert lines["vms[0]"] == 10 and lines["vms[1]"] == 19
    assert lines["vms[0].adapters[0].port_forwards[0]"] == 8  # the root's line
    assert lines["vms[0].adapters[0].port_forwards[2]"] == 15  # override.vm.network
    assert lines["vms[0].adapters[0].port_forwards[3]"] == 14  # vb.customize --natpf1
    assert lines["vms[1].adapters[2]"] == 21
    assert _findings(FIXTURES / "multi" / "Vagrantfile") == []


def test_trap10_values_from_variables_are_unknown_and_noted() -> None:
    """Corpus trap 10: 33 of 59 private_network lines take the IP from variables or settings
    files. Nothing is guessed: no address, no forward, no machine from the loop; each place
    is named in the notes."""
    loaded = load_file(FIXTURES / "variables" / "Vagrantfile")
    assert _dump(loaded) == {
        "vms": [
            {
                "name": '<settings["name"]>',
                "hypervisor": "virtualbox",
                "adapters": [{"mode": "nat"}, {"mode": "hostonly"}, {"mode": "hostonly"}],
            }
        ]
    }
    notes = "\n".join(loaded.notes)
    assert 'line 10: the machine\'s name `settings["name"]` is not a literal' in notes
    assert 'line 11: `node.vm.network "private_network", ip: settings["ip"]`: ip' in notes
    assert 'ip `"#{SUBNET}.20"` is not a literal' in notes
    assert 'host `settings["port"].to_i` is not a literal' in notes
    assert "line 14:" in notes and "trailing `if`" in notes
    assert (
        "lines 17-21: 1 machine definition, 1 network line inside `(1..NODE_COUNT).each do`"
        in notes
    )
    assert 'lines 23-25: 1 network line inside `if ENV["EXPOSE_DB"]`' in notes
    assert all(not vm.name.startswith("worker") for vm in loaded.setup.vms or [])


def test_trap10_hostonly_address_outside_virtualbox_range_reaches_vb_rules() -> None:
    """Corpus trap 10: 192.168.50.4 (Oracle OL9's example) is outside VirtualBox 6.1.28's
    host-only range 192.168.56.0/21: the network Vagrant creates for it (host side .1)
    reaches VB008 at the private_network line; an inline suppression silences another."""
    path = FIXTURES / "hostonly-range" / "Vagrantfile"
    loaded = load_file(path)
    nets = _dump(loaded)["vm_networks"]
    assert nets[0] == {
        "name": "<vboxnet for 192.168.50.0/24>",
        "hypervisor": "virtualbox",
        "mode": "hostonly",
        "subnet": "192.168.50.0/24",
        "host_address": "192.168.50.1/24",
    }
    result = check_file(str(path), CheckOptions())
    assert [(f.rule, f.location.line if f.location else None) for f in result.findings] == [
        ("VB008", 5)
    ]
    assert [(f.rule, s.reason) for f, s in result.suppressed] == [
        ("VB008", "this lab host allows 10.0.0.0/8 in /etc/vbox/networks.conf")
    ]


def test_trap10_commented_example_is_not_configuration() -> None:
    """The corpus's 192.168.50.4 sits in a comment of Oracle's OL9 Vagrantfile: a comment is
    no network, so nothing fires on it."""
    loaded = _load(
        "# For example:\n"
        '#   config.vm.network "private_network", ip: "192.168.50.4", nic_type: "virtio"\n'
        "=begin\n"
        'config.vm.network "private_network", ip: "192.168.50.5"\n'
        "=end\n"
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.box = "oraclelinux/9"\n'
        "end\n"
    )
    assert _dump(loaded) == {
        "vms": [{"name": "default", "hypervisor": "virtualbox", "adapters": [{"mode": "nat"}]}]
    }


def test_trap10_libvirt_private_network_stays_out_of_virtualbox_rules() -> None:
    """Corpus trap 10: 10.20.30.40 in a vagrant-libvirt file is a libvirt network (NATed by
    default), never a VirtualBox host-only one: no VB rule fires."""
    path = FIXTURES / "libvirt" / "Vagrantfile"
    loaded = load_file(path)
    assert _dump(loaded) == {
        "vm_networks": [
            {
                "name": "vagrant-mgmt",
                "hypervisor": "libvirt",
                "mode": "nat",
                "subnet": "192.168.120.0/24",
                "gateway": "192.168.120.1",
                "host_address": "192.168.120.1/24",
                "dhcp": True,
            },
            {
                "name": "<libvirt network for 10.20.30.0/24>",
                "hypervisor": "libvirt",
                "mode": "nat",
                "subnet": "10.20.30.0/24",
                "gateway": "10.20.30.1",
                "host_address": "10.20.30.1/24",
                "dhcp": True,
            },
            {
                "name": "storage",
                "hypervisor": "libvirt",
                "mode": "isolated",
                "subnet": "10.30.0.0/24",
                "host_address": "10.30.0.1/24",
                "dhcp": False,
            },
        ],
        "vms": [
            {
                "name": "test_vm",
                "hypervisor": "libvirt",
                "adapters": [
                    {
                        "mode": "nat",
                        "network": "vagrant-mgmt",
                        "dhcp": True,
                        # ssh tunnels: localhost unless host_ip says otherwise; TCP only
                        "port_forwards": ["tcp:127.0.0.1:2000:80", "tcp:0.0.0.0:8080:8080"],
                    },
                    {
                        "mode": "nat",
                        "network": "<libvirt network for 10.20.30.0/24>",
                        "address": "10.20.30.40/24",
                        "dhcp": False,
                    },
                    {
                        "mode": "direct",
                        "address": "192.168.1.60/24",
                        "dhcp": False,
                        "bridged_to": "enp3s0",
                    },
                    {
                        "mode": "isolated",
                        "network": "storage",
                        "address": "10.30.0.5/24",
                        "dhcp": False,
                    },
                ],
            }
        ],
    }
    assert _lines(loaded)["vm_networks[1]"] == 12
    assert any("TCP only" in n and n.startswith("line 20") for n in loaded.notes)
    result = check_file(str(path), CheckOptions())
    assert not [f for f in result.findings if f.rule.startswith("VB")]
    assert _findings(path) == []


def test_trap10_forwarded_ports_host_equal_guest() -> None:
    """Corpus trap 10: Oracle's boxes forward host port = guest port (1521, 5500, 8080). Read
    as they are; one file alone has no collision, so nothing fires."""
    text = (
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.define "apex" do |apex|\n'
        '    apex.vm.network "forwarded_port", guest: 1521, host: 1521\n'
        '    apex.vm.network "forwarded_port", guest: 5500, host: 5500\n'
        '    apex.vm.network "forwarded_port", guest: 8080, host: 8080\n'
        "  end\n"
        "end\n"
    )
    loaded = _load(text)
    assert loaded.setup.vms is not None
    adapters = loaded.setup.vms[0].adapters or []
    assert adapters[0].port_forwards == ["tcp:1521:1521", "tcp:5500:5500", "tcp:8080:8080"]


def test_vmware_and_hyperv_providers() -> None:
    vmware = load_file(FIXTURES / "vmware" / "Vagrantfile")
    assert _dump(vmware) == {
        "vms": [
            {
                "name": "default",
                "hypervisor": "vmware",
                "adapters": [
                    {"mode": "nat", "network": "VMnet8", "port_forwards": ["tcp:8080:80"]},
                    {"mode": "hostonly", "address": "172.16.20.10/24", "dhcp": False},
                    {"mode": "bridged", "dhcp": True},
                ],
            }
        ]
    }
    hyperv = load_file(FIXTURES / "hyperv" / "Vagrantfile")
    assert _dump(hyperv) == {"vms": [{"name": "default", "hypervisor": "hyperv"}]}
    assert "does not configure networks" in hyperv.notes[0]


def test_several_providers_take_the_first_and_say_so() -> None:
    loaded = _load(
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.provider "virtualbox" do |vb|\n'
        "    vb.memory = 1024\n"
        "  end\n"
        "  config.vm.provider :libvirt do |lv|\n"
        "    lv.memory = 1024\n"
        "  end\n"
        '  config.vm.network "private_network", ip: "192.168.56.5"\n'
        "end\n"
    )
    assert loaded.setup.vms is not None and loaded.setup.vms[0].hypervisor == "virtualbox"
    assert loaded.notes == [
        "machine default: configures providers virtualbox, libvirt; read as virtualbox, the "
        "first (Vagrant takes the first usable one unless --provider or "
        "VAGRANT_DEFAULT_PROVIDER says otherwise)"
    ]


def test_ruby_syntax_that_must_not_confuse_the_reader() -> None:
    """Keywords as method names, one-line blocks and conditionals, regexes, %w lists,
    `end.each`, a shadowing block variable, symbols with `=>`."""
    loaded = _load(
        "BOXES = %w[a b]\n"
        'Vagrant.configure("2") do |config|\n'
        "  x = config.class\n"
        "  y = [1, 2].map { |v| v * 2 }\n"
        "  z = if x then 1 else 2 end\n"
        '  w = "a do b".gsub(/ do /, "-")\n'
        "  [1].each do |i| puts i end\n"
        "  config.vm.define :app do |config|\n"
        "    config.vm.network :private_network, :ip => '192.168.56.40'\n"
        "    config.vm.provider(:virtualbox) { |vb| vb.memory = 512 }\n"
        "  end\n"
        "end\n"
    )
    assert _dump(loaded) == {
        "vm_networks": [VBOX56],
        "vms": [
            {
                "name": "app",
                "hypervisor": "virtualbox",
                "adapters": [
                    {"mode": "nat"},
                    {
                        "mode": "hostonly",
                        "network": VBOX56["name"],
                        "address": "192.168.56.40/24",
                        "dhcp": False,
                    },
                ],
            }
        ],
    }


def test_helper_methods_and_shell_literals() -> None:
    """`module`/`def` helpers, `%x{...}` with `$5` and quotes inside, `case`/`when`: parsed
    without tripping; a network in a method is unknown, as is a call to a helper."""
    loaded = _load(
        "module OS\n"
        "  def OS.linux?\n"
        "    (/linux/ =~ RUBY_PLATFORM) != nil\n"
        "  end\n"
        "end\n"
        "def bridge()\n"
        "  return %x{ip route | grep default | awk '{ print $5 }'}.chomp\n"
        "end\n"
        "def forward(vm)\n"
        '  vm.network "forwarded_port", guest: 80, host: 8080\n'
        "end\n"
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.network :public_network, bridge: bridge(), ip: "192.168.1.70"\n'
        "  forward(config.vm)\n"
        "end\n"
    )
    assert loaded.setup.vms is not None
    assert [a.model_dump(exclude_none=True) for a in loaded.setup.vms[0].adapters or []] == [
        {"mode": "nat"},
        {"mode": "bridged", "address": "192.168.1.70/24", "dhcp": False},
    ]
    assert loaded.notes == [
        "lines 9-11: 1 network line inside `def forward(vm)` not read: they depend on a "
        "condition, a loop or a method call, so they are unknown",
        'line 13: `config.vm.network :public_network, bridge: bridge(), ip: "192.168.1.7…`: '
        "bridge is a list or not a literal: the host adapter is chosen at `vagrant up`",
        "line 14: `forward(config.vm)` hands the configuration to a method: what it sets is "
        "not read",
    ]


def test_root_network_inside_a_provider_block_applies_with_that_provider_only() -> None:
    loaded = _load(
        'Vagrant.configure("2") do |config|\n'
        "  config.vm.provider :virtualbox do |vb|\n"
        '    config.vm.network "forwarded_port", guest: 80, host: 8080\n'
        "  end\n"
        "  config.vm.provider :libvirt do |lv|\n"
        '    config.vm.network "forwarded_port", guest: 81, host: 8081\n'
        "  end\n"
        "end\n"
    )
    assert loaded.setup.vms is not None
    assert (loaded.setup.vms[0].adapters or [])[0].port_forwards == ["tcp:8080:80"]


def test_a_conditional_configure_block_is_not_read() -> None:
    loaded = _load(
        'if ENV["LAB"]\n'
        '  Vagrant.configure("2") do |config|\n'
        '    config.vm.network "forwarded_port", guest: 1, host: 1\n'
        "  end\n"
        "end\n"
    )
    assert _dump(loaded) == {}
    assert loaded.notes == [
        'lines 1-5: 1 Vagrant.configure block, 1 network line inside `if ENV["LAB"]` not '
        "read: they depend on a condition, a loop or a method call, so they are unknown"
    ]


def test_forwarded_port_with_same_id_overrides_the_earlier_one() -> None:
    """Vagrant merges a forward into an earlier one of the same id (host_ip + protocol +
    host port by default): the machine's guest port wins, the root's line goes."""
    loaded = _load(
        'Vagrant.configure("2") do |config|\n'
        '  config.vm.network "forwarded_port", guest: 80, host: 8080\n'
        '  config.vm.define "web" do |web|\n'
        '    web.vm.network "forwarded_port", guest: 8000, host: 8080\n'
        "  end\n"
        "end\n"
    )
    assert loaded.setup.vms is not None
    assert (loaded.setup.vms[0].adapters or [])[0].port_forwards == ["tcp:8080:8000"]
    assert _lines(loaded)["vms[0].adapters[0].port_forwards[0]"] == 4


def test_machines_only_in_a_loop_give_no_default_machine() -> None:
    loaded = _load(
        'Vagrant.configure("2") do |config|\n'
        "  3.times do |i|\n"
        '    config.vm.define "n#{i}" do |n|\n'
        "    end\n"
        "  end\n"
        "end\n"
    )
    assert _dump(loaded) == {}
    assert loaded.notes == [
        "lines 2-5: 1 machine definition inside `3.times do` not read: they depend on a "
        "condition, a loop or a method call, so they are unknown"
    ]


def test_vagrant_1_syntax_is_noted_not_read() -> None:
    loaded = _load(
        'Vagrant::Config.run do |config|\n  config.vm.network :hostonly, "10.11.12.13"\nend\n'
    )
    assert _dump(loaded) == {}
    assert loaded.notes == ["line 1: Vagrant 1 syntax (`Vagrant::Config.run`) is not read"]


def test_names_in_any_letters_and_odd_digits_are_read() -> None:
    # Ruby names may be any letters; a superscript digit is no number (str.isdigit() says it
    # is): neither may stop the file being read.
    loaded = _load(
        'Vagrant.configure("2") do |config|\n'
        "  café = 1\n"
        "  x = ²\n"
        '  config.vm.network "forwarded_port", guest: 80, host: 8080\n'
        "end\n"
    )
    assert loaded.setup.vms[0].adapters[0].port_forwards == ["tcp:8080:80"]


# ------------------------------------------------------------------------------ detection


def test_detected_by_name_and_by_content() -> None:
    text = (FIXTURES / "basic" / "Vagrantfile").read_text()
    assert detect("Vagrantfile", text) == "vagrant"
    assert detect("some/dir/Vagrantfile", "") == "vagrant"
    # A name ending in Vagrantfile is one too (copies kept side by side, as in the corpus).
    assert detect("team__app__Vagrantfile", "") == "vagrant"
    assert detect("dev.Vagrantfile", "") == "vagrant"
    assert detect("myvagrantfile", "") != "vagrant"  # a word ending so is no such name
    assert detect("Vagrantfile.local", text) == "vagrant"  # by content
    assert detect("dev.rb", text) == "vagrant"


def test_others_are_not_vagrantfiles() -> None:
    readme = '# Setup\n\n```ruby\nVagrant.configure("2") do |config|\nend\n```\n'
    assert detect("NOTES.md", readme) != "vagrant"  # a README quoting one is not one
    for path in (Path(__file__).parent / "fixtures").rglob("*"):
        if path.is_file() and path.parent.parent.name != "vagrant" and path.name != "Vagrantfile":
            assert detect(path.name, path.read_text()) != "vagrant", path


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("", None, None, "empty file"),
        ('config.vm.box = "x"\n', 1, None, "no `Vagrant.configure"),
        (
            'Vagrant.configure("2") do |config|\n  config.vm.box = "x\nend\n',
            2,
            None,
            "never closed",
        ),
        (
            'Vagrant.configure("2") do |config|\n  config.vm.box = "x"\n',
            1,
            None,
            "never closed by `end`",
        ),
        ('Vagrant.configure("2") do |config|\nend\nend\n', 3, None, "`end` without a block"),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.network "forwarded_port", guest: 80, host: 70000\nend\n',
            2,
            "forwarded_port.host",
            "not a port",
        ),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.network "forwarded_port", guest: 80\nend\n',
            2,
            "forwarded_port.host",
            "needs `host:`",
        ),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.network "forwarded_port", guest: 80, host: 81, protocol: "sctp"\nend\n',
            2,
            "forwarded_port.protocol",
            "not tcp or udp",
        ),
        (
            'Vagrant.configure("2") do |c|\n\n  c.vm.network "private_network", ip: "192.168.56.300"\nend\n',
            3,
            "private_network.ip",
            "not an IP address",
        ),
        # ² is a digit to str.isdigit() and no number to int(): both were internal errors
        (
            'Vagrant.configure("2") do |c|\n  c.vm.network "forwarded_port", guest: "²", host: 1\nend\n',
            2,
            "forwarded_port.guest",
            "not a port",
        ),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.network "private_network", ip: "10.0.0.4", netmask: "²"\nend\n',
            2,
            "private_network.ip",
            "valid netmask",
        ),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.provision "shell", inline: <<-EOS\n    echo hi\nend\n',
            2,
            None,
            "heredoc <<EOS is never closed",
        ),
        (
            'Vagrant.configure("2") do |c|\n  c.vm.provider :virtualbox do |vb|\n    vb.customize ["modifyvm", :id, "--natpf1", "web,tcp,8080"]\n  end\nend\n',
            3,
            "customize.natpf1",
            "NAME,PROTO",
        ),
    ],
)
def test_bad_input_is_one_input_error(
    text: str, line: int | None, field: str | None, words: str
) -> None:
    err = _refused(text)
    assert words in err.message
    assert err.file == "Vagrantfile"
    assert err.line == line
    assert err.field == field


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "Vagrantfile"
    path.write_bytes(b"\x00\x01Vagrant.configure")
    with pytest.raises(InputError, match="binary"):
        load_file(path)


# ------------------------------------------------------------------------------ together


def test_merged_with_host_facts() -> None:
    """A Vagrantfile plus the host's `ip -j addr`/`ip -j route` (--setup): the VM network
    and the host's routes meet; the VirtualBox host-only network in range stays silent."""
    result = check_setup(
        [
            str(FIXTURES / "multi" / "Vagrantfile"),
            str(HOST / "addr.json"),
            str(HOST / "route.json"),
        ],
        CheckOptions(one_setup=True),
    )
    assert not result.input_error
    assert [f.rule for f in result.findings if f.severity in ("error", "warning")] == []


# --------------------------------------------------------------------------------- corpus


def test_corpus_vagrantfiles_load_and_findings_are_defensible() -> None:
    """Every corpus Vagrantfile loads (none is refused: they are all valid Ruby); the machines
    in loops and conditions are not invented; no finding fires: the only out-of-range
    host-only IP (192.168.50.4, OL9) is in a comment, and 10.20.30.40 is libvirt's and
    commented out too."""
    folder = CORPUS / "vagrant"
    if not folder.is_dir():
        pytest.skip("the shared corpus is not here")
    loaded, refused = 0, 0
    rules: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    hypervisors: Counter[str] = Counter()
    unknown_notes = 0
    for path in sorted(folder.iterdir()):
        try:
            result = load_file(path)
        except InputError:
            refused += 1
            continue
        loaded += 1
        assert result.kind == "vagrant", path
        for vm in result.setup.vms or []:
            hypervisors[str(vm.hypervisor)] += 1
            modes.update(str(a.mode) for a in vm.adapters or [])
        unknown_notes += sum("not a literal" in n or "not read" in n for n in result.notes)
        rules.update(f.rule for f in check_file(str(path), CheckOptions()).findings)
    assert (loaded, refused) == (45, 0)
    assert rules == Counter()
    assert hypervisors == Counter({"virtualbox": 43, "libvirt": 2})
    # the 26 literal private_network IPs: the 24 outside comments are read; one more
    # host-only adapter has its IP from a variable (REGISTRY_IP): known mode, unknown address
    assert modes == Counter({"nat": 45, "hostonly": 25})
    addresses = [
        a.address
        for path in sorted(folder.iterdir())
        for vm in load_file(path).setup.vms or []
        for a in vm.adapters or []
        if a.mode == "hostonly"
    ]
    assert sum(a is not None for a in addresses) == 24
    assert unknown_notes == 43


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_a_backslash_continues_the_line_whatever_ends_it(ending: str) -> None:
    # A lone CR after the backslash (old Mac endings, a cut file) is a blank, not a reason
    # to skip to the next new line, nor a crash when none follows.
    text = (
        'Vagrant.configure("2") do |config|\n'
        f'  config.vm.network "forwarded_port", guest: 80, \\{ending}'
        "    host: 8080\n"
        "end\n"
    )
    vm = _load(text).setup.vms[0]
    assert vm.adapters[0].port_forwards == ["tcp:8080:80"]


def test_a_backslash_and_carriage_return_that_end_the_file_are_read() -> None:
    error = _refused('Vagrant.configure("2") do |config|\n  config.vm.box = "x" \\\r')
    assert "never closed by `end`" in error.message
