"""`docker run` / `docker create` command lines in command files, scripts and READMEs."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from diagnose.batch import CheckOptions, check_file
from diagnose.errors import InputError
from diagnose.loaders import detect, docker_run, load_file, load_text
from diagnose.loaders.base import Loaded, LoadOptions
from tests.loader_helpers import CORPUS as SHARED_CORPUS
from tests.loader_helpers import lines as _lines

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "docker-run"
CORPUS = SHARED_CORPUS / "docker-run"
KIND = "docker-run"


def _load(name: str) -> Loaded:
    loaded = load_file(FIXTURES / name, KIND)
    assert loaded.kind == KIND
    return loaded


def _run(text: str, name: str = "commands.txt", **env: str) -> Loaded:
    return load_text(text, name, KIND, LoadOptions(env=env))


def _containers(text: str, name: str = "commands.txt", **env: str) -> list[dict[str, Any]]:
    dump = _run(text, name, **env).setup.model_dump(exclude_none=True)
    return list(dump.get("docker", {}).get("containers", []))


def _one(text: str, **env: str) -> dict[str, Any]:
    (container,) = _containers(text, **env)
    return container


def _port(published: str | None, target: str, proto: str = "tcp", ip: str | None = None) -> Any:
    out: dict[str, str] = {"target": target, "protocol": proto}
    if published is not None:
        out["published"] = published
    if ip is not None:
        out["host_ip"] = ip
    return out


# ------------------------------------------------------------------------------ fixtures


def test_command_file() -> None:
    loaded = _load("commands.txt")
    assert loaded.setup.model_dump(exclude_none=True) == {
        "docker": {
            "networks": [
                {
                    "name": "media",
                    "driver": "bridge",
                    "subnet": "172.28.0.0/24",
                    "gateway": "172.28.0.1",
                },
                {"name": "bridge", "driver": "bridge", "external": True},
            ],
            "containers": [
                {
                    "name": "jellyfin",
                    "image": "jellyfin/jellyfin",
                    "network_mode": "media",
                    "networks": [{"name": "media", "ip": "172.28.0.10"}],
                    "ports": [_port("8096", "8096"), _port("8920", "8920", ip="127.0.0.1")],
                },
                {
                    "name": "pihole",
                    "image": "pihole/pihole:latest",
                    "ports": [_port("53", "53", "udp"), _port("53", "53")],
                    "dns": ["127.0.0.1", "1.1.1.1"],
                    "hostname": "pihole",
                },
                {
                    "name": "ssh",  # -itp 2222:22: -p takes the next word (pflag)
                    "image": "linuxserver/openssh-server",
                    "ports": [_port("2222", "22")],
                },
                {
                    "name": "homeassistant",
                    "image": "ghcr.io/home-assistant/home-assistant:stable",
                    "network_mode": "host",
                    "ports": [],
                },
                {
                    "name": "vpn-check",
                    "image": "alpine:3.20",
                    "network_mode": "container:jellyfin",
                    "ports": [],
                },
                {
                    "name": "run-8",  # no --name: anonymous, named by its line
                    "image": "portainer/agent",
                    "ports": [_port(None, "9000")],  # -P with --expose 9000: ephemeral
                    "expose": ["9000"],
                },
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.networks[0].subnet"] == 2
    assert lines["docker.containers[0]"] == 3
    assert lines["docker.containers[1].dns[0]"] == 4
    assert lines["docker.containers[5]"] == 8
    assert any("-P also publishes the ports the image EXPOSEs" in n for n in loaded.notes)


def test_shell_script() -> None:
    loaded = _load("deploy.sh")
    assert loaded.setup.model_dump(exclude_none=True) == {
        "docker": {
            "networks": [
                {"name": "backend", "driver": "bridge", "internal": True},
                {"name": "frontend", "driver": "bridge", "subnet": "10.10.0.0/24"},
                {"name": "bridge", "driver": "bridge", "external": True},
            ],
            "containers": [
                {
                    "name": "db",  # behind sudo -E and an environment assignment
                    "image": "postgres:16",
                    "network_mode": "backend",
                    "networks": [{"name": "backend", "aliases": ["database"]}],
                    "ports": [],
                },
                {
                    "name": "app",  # inside $(...), over continuation lines
                    "image": "registry.example.com/app:2.1",
                    "network_mode": "frontend",
                    "networks": [
                        {"name": "frontend"},
                        {"name": "backend", "aliases": ["api"]},  # docker network connect
                    ],
                    # --publish published=8080,target=80; -p "${METRICS_PORT}:9100" is unknown
                    "ports": [_port("8080", "80")],
                    "extra_hosts": ["db.internal:10.10.0.5"],
                },
                {
                    "name": "worker",  # docker create, then docker start: running not said
                    "image": "worker:latest",
                    "ports": [],
                    "links": ["db:postgres"],
                },
                {
                    "name": "run-32",  # the here-document's docker run is text, not a command
                    "image": "app-smoke-test",
                    "ports": [_port("8080", "8080")],
                },
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.containers[0]"] == 10
    assert lines["docker.containers[0].network_mode"] == 12
    assert lines["docker.containers[1]"] == 17
    assert lines["docker.containers[1].ports[0]"] == 19  # the line of its --publish
    assert lines["docker.containers[1].networks[1]"] == 23
    assert any("line 20" in n and "METRICS_PORT" in n for n in loaded.notes)
    assert any("line 25" in n and "commented-out" in n for n in loaded.notes)
    # one script runs together: app and the smoke test compete for 8080
    result = check_file(str(FIXTURES / "deploy.sh"), CheckOptions())
    assert "DP013" in {f.rule for f in result.findings}


def test_readme() -> None:
    loaded = load_file(FIXTURES / "README.md")
    assert loaded.kind == KIND
    assert loaded.setup.model_dump(exclude_none=True) == {
        "docker": {
            "networks": [
                {"name": "demo-net", "driver": "bridge"},
                {"name": "bridge", "driver": "bridge", "external": True},
            ],
            "containers": [
                {
                    "name": "api",
                    "image": "demo/api:1.0",
                    "network_mode": "demo-net",
                    "ports": [_port("8080", "80")],
                    "profiles": ["block-5"],
                },
                {
                    "name": "web",  # `$ sudo docker run ... \` then the `> ` continuation
                    "image": "demo/web:1.0",
                    "network_mode": "demo-net",
                    "ports": [_port("80", "80")],
                    "profiles": ["block-5"],
                },
                {
                    "name": "web@15",  # PowerShell's ` continuation; another example of web
                    "image": "demo/web:1.0",
                    "ports": [_port("8081", "80")],
                    "profiles": ["block-14"],
                },
                {
                    "name": "web@21",  # an indented code block with a root prompt
                    "image": "demo/web:0.9",
                    "ports": [_port("80", "80")],
                    "profiles": ["block-21"],
                },
            ],
        }
    }
    lines = _lines(loaded)
    assert lines["docker.containers[1]"] == 8
    assert lines["docker.containers[1].ports[0]"] == 9
    # two code blocks publish port 80: alternatives, not a clash
    result = check_file(str(FIXTURES / "README.md"), CheckOptions())
    assert "DP013" not in {f.rule for f in result.findings}


def test_placeholders_are_unknown_not_errors() -> None:
    """docker/cli and netshoot docs keep <container_name>-style placeholders verbatim."""
    loaded = load_file(FIXTURES / "placeholders.md")
    assert loaded.setup.model_dump(exclude_none=True) == {
        "docker": {
            "networks": [{"name": "bridge", "driver": "bridge", "external": True}],
            "containers": [
                # --net container:<container_name>: the mode is not known (left out)
                {
                    "name": "run-4",
                    "image": "nicolaka/netshoot",
                    "network_mode_unknown": True,
                    "ports": [],
                },
                # -p <host_port>:80 is left out, so the ports are not known either
                {"name": "run-5", "image": "nginx"},
            ],
        }
    }
    assert any("container:<container_name> is unknown" in n for n in loaded.notes)
    assert any("-p <host_port>:80 is unknown" in n for n in loaded.notes)


def test_trap_comment_after_backslash() -> None:
    """Corpus trap (jessfraz/dockerfiles chrome/beta): `--net host \\ # may as well YOLO`.
    The backslash escapes the blank, not the newline: bash passes ` #`, `may`, `as`, ... to
    docker as the image and its command, and the next lines are commands of their own. Docker
    refuses ` #` as an image, so no container comes of it; notes say why."""
    loaded = _load("yolo.sh")
    assert loaded.setup.model_dump(exclude_none=True) == {}
    assert any("line 3" in n and "escapes the blank" in n for n in loaded.notes)
    assert any("line 3" in n and "not an image reference" in n for n in loaded.notes)


def test_trap_host_mode_with_published_ports_synthetic(tmp_path: Path) -> None:
    """Corpus README: no docker run line combines --net host with -p; a synthetic one gets
    DM006 (ports are discarded in host mode) at its -p line."""
    path = tmp_path / "host.sh"
    path.write_text("#!/bin/sh\ndocker run -d --net host \\\n  -p 8080:80 nginx\n")
    loaded = load_file(path)
    assert loaded.setup.model_dump(exclude_none=True)["docker"]["containers"] == [
        {"name": "run-2", "image": "nginx", "network_mode": "host", "ports": [_port("8080", "80")]}
    ]
    assert _lines(loaded)["docker.containers[0].ports[0]"] == 3
    result = check_file(str(path), CheckOptions())
    dm006 = [f for f in result.findings if f.rule == "DM006"]
    assert dm006 and dm006[0].location is not None


# ------------------------------------------------------------------------ docker's parsing


@pytest.mark.parametrize(
    ("command", "ports"),
    [
        ("docker run -p 80:80 nginx", [_port("80", "80")]),
        ("docker run -p80:80 nginx", [_port("80", "80")]),
        ("docker run -p=80:80 nginx", [_port("80", "80")]),
        ("docker run -dp 80:80 nginx", [_port("80", "80")]),
        ("docker run -itdp8080:80 nginx", [_port("8080", "80")]),
        ("docker run --publish=8080:80/udp nginx", [_port("8080", "80", "udp")]),
        ("docker run --publish 127.0.0.1::80 nginx", [_port(None, "80", ip="127.0.0.1")]),
        ("docker run -p '[::1]:8080:80' nginx", [_port("8080", "80", ip="::1")]),
        ("docker run -p 7000-7002:7000-7002 nginx", [_port("7000-7002", "7000-7002")]),
        ("docker run -p 80 nginx", [_port(None, "80")]),
        (
            "docker run --publish published=8080,target=80,protocol=udp,mode=host nginx",
            [_port("8080", "80", "udp")],
        ),
        ("docker run --publish target=80 nginx", [_port(None, "80")]),
        # options stop at the image: -p after it belongs to the container's command
        ("docker run nginx -p 80:80", []),
        ("docker run -- nginx -p 80:80", []),
        ("docker run --rm=false -p 1:1 nginx", [_port("1", "1")]),
    ],
)
def test_publish_flags_as_docker_parses_them(command: str, ports: list[Any]) -> None:
    assert _one(command)["ports"] == ports


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("docker run --net=host nginx", {"network_mode": "host"}),
        ("docker run --network none nginx", {"network_mode": "none"}),
        ("docker run --network=bridge nginx", {"network_mode": "bridge"}),
        ("docker run --network default nginx", {}),
        ("docker container run --network container:db nginx", {"network_mode": "container:db"}),
        (
            "docker run --network a --network b nginx",
            {"network_mode": "a", "networks": [{"name": "a"}, {"name": "b"}]},
        ),
        (
            "docker run --network=name=a,alias=web,ip=10.1.0.5 nginx",
            {
                "network_mode": "a",
                "networks": [{"name": "a", "ip": "10.1.0.5", "aliases": ["web"]}],
            },
        ),
        (
            "docker run --net app --net-alias web --ip 10.1.0.9 nginx",
            {
                "network_mode": "app",
                "networks": [{"name": "app", "ip": "10.1.0.9", "aliases": ["web"]}],
            },
        ),
        ("docker run -h box --hostname=real nginx", {"hostname": "real"}),
        (
            "docker run --add-host db:10.0.0.2 --add-host=gw=host-gateway nginx",
            {"extra_hosts": ["db:10.0.0.2", "gw=host-gateway"]},
        ),
        ("docker run --link db --link cache:c nginx", {"links": ["db", "cache:c"]}),
        ("docker run --dns 9.9.9.9 --dns=::1 nginx", {"dns": ["9.9.9.9", "::1"]}),
        (
            "docker run --expose 80 --expose 7000-7002/udp nginx",
            {"expose": ["80", "7000-7002/udp"]},
        ),
    ],
)
def test_networking_flags(command: str, expected: dict[str, Any]) -> None:
    container = _one(command)
    for key in ("network_mode", "networks", "hostname", "extra_hosts", "links", "dns", "expose"):
        assert container.get(key) == expected.get(key), key


def test_prompts_sudo_env_and_wrappers() -> None:
    text = (
        "$ docker run -d --name c1 nginx\n"
        "user@host:~/src$ sudo -u root docker run -d --name c2 nginx\n"
        "# docker run -d --name c3 nginx\n"
        "% FOO=1 BAR=2 docker run -d --name c4 nginx\n"
        "if docker run -d --name c5 nginx; then echo ok; fi\n"
        "docker -H tcp://10.0.0.5:2375 --debug run -d --name c6 nginx\n"
        "docker create --name c7 nginx\n"
        "docker run -d --name c8 nginx | tee log && docker run -d --name c9 nginx\n"
        "docker run -d --name x nginx\n"  # docker refuses one-letter names
    )
    loaded = _run(text)
    names = [(c.name, c.running) for c in loaded.setup.docker.containers or []]
    assert names == [
        ("c1", None),
        ("c2", None),
        ("c3", None),
        ("c4", None),
        ("c5", None),
        ("c6", None),
        ("c7", False),  # created, never started
        ("c8", None),
        ("c9", None),
    ]
    assert any("line 6" in n and "another daemon" in n for n in loaded.notes)
    assert any("line 9" in n and "container name 'x'" in n for n in loaded.notes)


def test_variables_are_unknown_unless_given() -> None:
    text = 'docker run -d --name web -p "${PORT}:80" --network $NET nginx\n'
    assert _one(text)["name"] == "web"
    assert "ports" not in _one(text)  # the only -p is unknown
    assert "network_mode" not in _one(text)
    assert _one(text)["network_mode_unknown"] is True  # not the default bridge
    given = _one(text, PORT="8080", NET="front")
    assert given["ports"] == [_port("8080", "80")]
    assert given["network_mode"] == "front"


def test_unknown_words_in_the_options() -> None:
    """`$(DOCKER_FLAGS)` may hold options or be the image: the image is left unknown and the
    ports not known (they may be in it), while the options after it are read."""
    loaded = _run("docker run --rm $(DOCKER_FLAGS) --name lint -p 80:80 r.j3ss.co/shellcheck\n")
    (container,) = loaded.setup.model_dump(exclude_none=True)["docker"]["containers"]
    assert container == {
        "name": "lint",
        "network_mode_unknown": True,  # $(DOCKER_FLAGS) may hold --network
        "ports": [_port("80", "80")],
    }
    assert any("$(DOCKER_FLAGS)" in n for n in loaded.notes)


def test_linuxserver_optional_comment_substitution_is_empty() -> None:
    """linuxserver's READMEs: `-e PLEX_CLAIM= `#optional`` -- the substitution is empty."""
    text = (
        "docker run -d --name=plex --net=host -e PLEX_CLAIM= `#optional` lscr.io/linuxserver/plex\n"
    )
    container = _one(text)
    assert container["image"] == "lscr.io/linuxserver/plex"
    assert container["network_mode"] == "host"


def test_fragments_are_skipped_with_a_note() -> None:
    loaded = _run(
        "docker run --blkio-weight\n"
        "docker run -dns\n"
        "docker run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"
        "docker run -it IMAGE sh\n"
        "docker run --name = web nginx\n"
        "docker run --foo busybox\n"
        "docker run -d -p 80:80 nginx\n"
    )
    assert [c.name for c in loaded.setup.docker.containers or []] == ["run-7"]
    assert len(loaded.notes) == 6
    assert all("is not a command docker accepts" in n for n in loaded.notes)


def test_same_name_in_one_script_is_the_later_container() -> None:
    loaded = _run(
        "#!/bin/sh\ndocker rm -f web\ndocker run -d --name web -p 80:80 a\n"
        "docker rm -f web\ndocker run -d --name web -p 81:80 b\n",
        "up.sh",
    )
    assert [(c.name, c.image) for c in loaded.setup.docker.containers or []] == [("web", "b")]
    assert any("run again" in n for n in loaded.notes)


def test_anonymous_names_in_a_pipeline_stay_unique() -> None:
    names = [c["name"] for c in _containers("docker run -i a | docker run -i b\n")]
    assert names == ["run-1", "run-1-2"]


# ------------------------------------------------------------------------------ detection


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("README.md", "Run:\n\n```\ndocker run -p 80:80 nginx\n```\n", KIND),
        ("start.sh", "#!/bin/sh\nexec docker run --rm -p 80:80 nginx\n", KIND),
        ("README", "    $ sudo docker container create nginx\n", KIND),
        ("deploy.bash", "docker -H ssh://box run nginx\n", KIND),
    ],
)
def test_detected_by_name(name: str, text: str, kind: str) -> None:
    assert detect(name, text) == kind


def test_command_files_are_detected_by_content() -> None:
    """A file of commands with no telling name (the registry's name-less pass decides whether
    it asks this detector; the detector itself recognises it)."""
    text = (FIXTURES / "commands.txt").read_text()
    assert docker_run.detect("commands.txt", text, KIND)
    assert docker_run.detect("notes", "$ docker run -d -p 80:80 nginx\n", KIND)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("README.md", "# Project\n\nUse docker compose up.\n"),
        ("build.sh", "#!/bin/sh\ndocker build -t x .\ndocker compose run web\n"),
        ("setup.yaml", "# docker run -p 80:80 nginx\ndocker:\n  containers: [{name: web}]\n"),
        ("x.json", '{"cmd": "docker run -p 80:80 nginx"}'),
        ("domain.xml", "<domain><!-- docker run x --></domain>"),
        ("notes.txt", "the docker runtime\nrun docker run.\n"),
    ],
)
def test_other_texts_are_not_claimed(name: str, text: str) -> None:
    assert not docker_run.detect(name, text, KIND)


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("docker run -d \\\n  -p 53:53:udp nginx\n", 2, "--publish", "invalid host IP '53'"),
        ("docker run -p 80:80:80:80 nginx\n", 1, "--publish", "too many colons"),
        ("docker run -p 8080-8081:80-82 nginx\n", 1, "--publish", "differ in length"),
        ("docker run --publish published=8080 nginx\n", 1, "--publish", "container port"),
        ("docker run --publish published nginx\n", 1, "--publish", "container port"),
        ("docker run --network n --ip 10.0.0.300 nginx\n", 1, "--ip", "not an IP address"),
        ("docker run --dns dns.google nginx\n", 1, "--dns", "not an IP address"),
        ("docker run --add-host db nginx\n", 1, "--add-host", "bad format"),
        ("docker run --add-host db:10.0.0.x nginx\n", 1, "--add-host", "invalid IP"),
        ("docker run --link a:b:c nginx\n", 1, "--link", "bad format"),
        ("docker run --expose 80-70 nginx\n", 1, "--expose", "invalid range"),
        ("docker run --network a --network host nginx\n", 1, "--network", "conflicting"),
        ("docker run --network a --network a nginx\n", 1, "--network", "multiple times"),
        ("docker run --network-alias web nginx\n", 1, "--network-alias", "user-defined"),
        ("docker run --network name=a,foo=bar nginx\n", 1, "--network", "invalid field key"),
        ("echo hello\n", None, None, "no `docker run`"),
        ("", None, None, "no `docker run`"),
    ],
)
def test_bad_input_is_one_input_error(
    text: str, line: int | None, field: str | None, message: str
) -> None:
    with pytest.raises(InputError) as info:
        _run(text)
    err = info.value
    assert err.file == "commands.txt"
    assert message in err.message
    assert err.line == line
    assert err.field == field


def test_binary_input_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_bytes(b"docker run \x00\x01 nginx")
    with pytest.raises(InputError, match="binary"):
        load_file(path, KIND)


# ------------------------------------------------------------------------------ corpus

# What the corpus gives per file: (containers loaded, notes), reviewed by hand.
CORPUS_FILES = {
    "Haxxnet__Compose-Examples__docker-run-lines.txt": (5, 0),
    "docker__awesome-compose__docker-run-lines.txt": (1, 0),
    "docker__cli__docker-run-lines.txt": (209, 69),
    "geerlingguy__ansible-for-devops__docker-run-lines.txt": (3, 1),
    "jessfraz__dockerfiles__docker-run-lines.txt": (73, 19),
    "jetsung__awesome-compose__docker-run-lines.txt": (47, 12),
    "linuxserver__docker-plex__docker-run-lines.txt": (3, 0),
    "linuxserver__docker-wireguard__docker-run-lines.txt": (3, 0),
    "nicolaka__netshoot__docker-run-lines.txt": (4, 1),
    "oracle__vagrant-projects__docker-run-lines.txt": (2, 1),
    "pi-hole__docker-pi-hole__docker-run-lines.txt": (1, 1),
    "qdm12__gluetun-wiki__docker-run-lines.txt": (41, 0),
}


def test_corpus_loads_or_refuses_cleanly() -> None:
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not here")
    got: dict[str, tuple[int, int]] = {}
    refused: list[str] = []
    rules: Counter[str] = Counter()
    for path in sorted(CORPUS.iterdir()):
        try:
            loaded = load_file(path, KIND)
        except InputError as exc:
            refused.append(f"{path.name}:{exc.line}:{exc.field}")
        else:
            got[path.name] = (len(loaded.setup.docker.containers or []), len(loaded.notes))
        result = check_file(str(path), CheckOptions(kind=KIND))
        rules.update(f.rule for f in result.findings)
    # nginx-proxy's README publishes `53:53:udp`: docker refuses it (invalid IP address: 53)
    assert refused == ["nginx-proxy__nginx-proxy__docker-run-lines.txt:42:--publish"]
    assert got == CORPUS_FILES
    assert rules == Counter(
        {
            "DN018": 6,  # legacy --link (true, info)
            "DM017": 3,  # gluetun wiki: --network=container:gluetun, no gluetun in the file
            "DM019": 3,  # the same three: the namespace goes when gluetun is recreated
            "DP005": 1,  # docker/cli run docs: -p 127.0.0.1:80:8080/tcp
            "IN002": 1,  # nginx-proxy's 53:53:udp
        }
    )
