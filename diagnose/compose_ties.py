"""`--setup` with a compose file and `docker inspect` of what it started: the snapshot names
the container of service `web` `proj-web-1` (compose v1: `proj_web_1`) and network `default`
`proj_default`, the compose file `web` and `default`. Before merging, the snapshot's entries
that compose made are renamed to the compose file's names (findings point into the compose
file, and symptoms say `container:web`), with a note for each; so are the references to them
(a container's networks, `container:` modes, links). Then the two inputs' entries merge
by name, and what they say differently is a contradiction naming both places, as always.

What ties an entry to the compose file, first that applies:
- its compose labels (`com.docker.compose.project` and `.service`, a network's `.network`),
  when they name the project the compose file is for;
- a container named as the file's `container_name` says, a network as its `name:` says (or
  an external network's own name): the name Docker was given;
- compose's naming, `<project>-<service>-<n>` / `<project>_<service>_<n>` and
  `<project>_<network>`, only when the project is known: from the labels of the other
  entries, or from the compose file (COMPOSE_PROJECT_NAME, `name:`); never from the
  folder's name, which `docker compose -p` may have overridden.

The project is the one the compose file names, else the one the labels name; labels naming
another project than the file's, or several when the file names none, tie nothing (the user
can name it: `--env COMPOSE_PROJECT_NAME=...`). Of several containers of one service
(replicas), the one compose numbers 1 is the service's container, which the compose file's
one container stands for (as the compose loader reads `scale`); the others stay containers
of their own, under their own names (on the compose file's networks). The only container of
a service is its container, whatever its number. Entries that would each be one service's
container (or one network) and are not such replicas: none is taken, and a note says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from diagnose.loaders.base import ComposeLabel, ComposeNames, Loaded

# What each claim rests on, for the note that says it was taken.
_LABELS = "its compose labels say so"
_CONTAINER_NAME = "the compose file's container_name"
_FIXED_NAME = "the compose file's name for it"
_NAMING = "compose's name for it in project {project}"
_SAME = "the same name"


@dataclass(frozen=True)
class _Claim:
    """What a snapshot's entry is taken to be: a compose service (a network's key)."""

    target: str
    number: int | None  # the replica compose numbered it, when known
    why: str


@dataclass
class _Compose:
    """What the compose inputs say together (a later file overrides an earlier one)."""

    names: ComposeNames
    services: dict[str, dict[str, Any]]  # service -> its container, as the setup has it
    networks: set[str]  # network keys


def tie_to_compose(loads: list[Loaded], parts: list[dict[str, Any]]) -> list[str]:
    """Rename, in the parts (each input's setup as data) of `docker inspect` inputs, what a
    compose input describes to the compose file's names; return notes saying what was taken
    for what, and what was not and why."""
    compose = _compose(loads, parts)
    snaps = [n for n, loaded in enumerate(loads) if loaded.kind == "docker-inspect"]
    if compose is None or not snaps:
        return []
    notes: list[str] = []
    project = _project(compose.names, [loads[n] for n in snaps], notes)
    containers: dict[str, _Claim] = {}
    networks: dict[str, _Claim] = {}
    places: dict[str, str] = {}  # a snapshot entry's name -> where it stands, for notes
    hints: list[str] = []
    for n in snaps:
        docker = parts[n].get("docker", {})
        for i, ct in enumerate(docker.get("containers", [])):
            path = f"docker.containers[{i}]"
            label = loads[n].compose_labels.get(path)
            places.setdefault(ct["name"], _where(loads[n], path))
            claim = _container_claim(ct["name"], label, compose, project)
            if claim is not None:
                containers.setdefault(ct["name"], claim)
            elif label is None:
                hints += [] if project is not None else _unknown_project(ct["name"], compose)
            elif label.project == project:
                what = (
                    "a one-off container (`docker compose run`)"
                    if label.oneoff
                    else "a container of a service the compose file does not have"
                )
                notes.append(
                    f"{places[ct['name']]}: {ct['name']} is {what} of service {label.name} "
                    f"in project {project}; kept as a container of its own"
                )
        for i, net in enumerate(docker.get("networks", [])):
            path = f"docker.networks[{i}]"
            places.setdefault(net["name"], _where(loads[n], path))
            label = loads[n].compose_labels.get(path)
            claim = _network_claim(net["name"], label, compose, project)
            if claim is not None:
                networks.setdefault(net["name"], claim)
    names = {e["name"] for n in snaps for e in parts[n].get("docker", {}).get("containers", [])}
    nets = {e["name"] for n in snaps for e in parts[n].get("docker", {}).get("networks", [])}
    renamed = _choose(
        containers, names, lambda s: f"compose service {s}'s container", places, notes
    )
    renamed_nets = _choose(networks, nets, lambda k: f"compose network {k}", places, notes)
    for n in snaps:
        _rename(parts[n].get("docker", {}), renamed, renamed_nets, compose, names)
    return notes + hints


def _compose(loads: list[Loaded], parts: list[dict[str, Any]]) -> _Compose | None:
    """The compose inputs' services, networks and names together; None without one."""
    found: _Compose | None = None
    for loaded, part in zip(loads, parts, strict=True):
        if loaded.kind != "compose" or loaded.compose is None:
            continue
        names = loaded.compose
        docker = part.get("docker", {})
        if found is None:
            found = _Compose(ComposeNames(), {}, set())
        before = found.names
        found.names = ComposeNames(
            names.project or before.project,
            {**before.container_names, **names.container_names},
            {**before.network_names, **names.network_names},
        )
        for ct in docker.get("containers", []):
            found.services[ct["name"]] = {**found.services.get(ct["name"], {}), **ct}
        found.networks |= {net["name"] for net in docker.get("networks", [])}
    return found


def _project(names: ComposeNames, snaps: list[Loaded], notes: list[str]) -> str | None:
    """The compose project the snapshots' entries are taken from (see the module's
    docstring); None when it is not known."""
    labelled = sorted({label.project for s in snaps for label in s.compose_labels.values()})
    if names.project is not None:
        others = [p for p in labelled if p != names.project]
        if others and names.project not in labelled:
            notes.append(
                f"the compose labels of the inspected entries name project {others[0]}"
                f"{' and others' if len(others) > 1 else ''}, not {names.project}, the one the "
                "compose file names (name:, COMPOSE_PROJECT_NAME): their labels tie nothing "
                f"to it (started as `docker compose -p {others[0]}`? say --env "
                f"COMPOSE_PROJECT_NAME={others[0]})"
            )
        return names.project
    if len(labelled) == 1:
        return labelled[0]
    if labelled:
        notes.append(
            f"the inspected entries belong to several compose projects ({', '.join(labelled)}) "
            "and the compose file names none (name:, COMPOSE_PROJECT_NAME): their labels tie "
            "nothing to it (say which with --env COMPOSE_PROJECT_NAME=...)"
        )
    return None


def _container_claim(
    name: str, label: ComposeLabel | None, compose: _Compose, project: str | None
) -> _Claim | None:
    services = compose.services
    by_container_name = {v: k for k, v in compose.names.container_names.items()}
    if label is not None:
        if label.oneoff or label.name not in services:
            return None
        if project is not None and label.project == project:
            return _Claim(label.name, label.number, _LABELS)
        if project is None and by_container_name.get(name) == label.name:
            return _Claim(label.name, label.number, _CONTAINER_NAME)
        return None  # another project's container, or the project is not known
    if name in by_container_name:
        return _Claim(by_container_name[name], None, _CONTAINER_NAME)
    if project is not None:
        for sep in ("-", "_"):
            head, tail = f"{project}{sep}", re.fullmatch(rf".*{sep}([0-9]+)", name)
            if name.startswith(head) and tail is not None:
                service = name[len(head) : tail.start(1) - 1]
                if service in services and service not in compose.names.container_names:
                    return _Claim(service, int(tail.group(1)), _NAMING.format(project=project))
    if name in services:
        return _Claim(name, None, _SAME)  # merged by its name, as any two inputs' entries
    return None


def _network_claim(
    name: str, label: ComposeLabel | None, compose: _Compose, project: str | None
) -> _Claim | None:
    keys = compose.networks
    fixed = compose.names.network_names
    if label is not None and project is not None and label.project == project:
        return _Claim(label.name, None, _LABELS) if label.name in keys else None
    for key, docker_name in fixed.items():
        if name == docker_name and key in keys:
            return _Claim(key, None, _FIXED_NAME)
    if project is not None and name.startswith(f"{project}_"):
        key = name[len(project) + 1 :]
        if key in keys and key not in fixed:
            return _Claim(key, None, _NAMING.format(project=project))
    if name in keys and name not in fixed:
        return _Claim(name, None, _SAME)
    return None


def _choose(
    claims: dict[str, _Claim],
    names: set[str],
    what: Callable[[str], str],
    places: dict[str, str],
    notes: list[str],
) -> dict[str, str]:
    """Snapshot name -> compose name, for the entries taken as what a compose service
    (network) describes; `what(target)` says it in notes. See the module's docstring for
    replicas and entries that fit one target."""
    by_target: dict[str, list[str]] = {}
    for name, claim in claims.items():
        by_target.setdefault(claim.target, []).append(name)
    renamed: dict[str, str] = {}
    for target, fits in by_target.items():
        chosen = fits[0] if len(fits) == 1 else None
        numbers = [claims[name].number for name in fits]
        if chosen is None and None not in numbers and numbers.count(1) == 1:
            chosen = fits[numbers.index(1)]
            for name in fits:
                if name != chosen:
                    notes.append(
                        f"{places[name]}: {name} is replica {claims[name].number} of compose "
                        f"service {target}; kept as a container of its own ({target} stands "
                        f"for replica 1, {chosen})"
                    )
        if chosen is None:
            same = f" ({target} merges by its name)" if target in fits else ""
            notes.append(
                f"{' and '.join(sorted(fits))} could each be {what(target)}: none is taken "
                f"as it{same}"
            )
        else:
            renamed[chosen] = target
    # A name the snapshot gives another entry, which keeps it: the two would become one.
    while True:
        kept = names - set(renamed)
        clash = next((n for n, t in renamed.items() if n != t and t in kept), None)
        if clash is None:
            break
        notes.append(
            f"{places[clash]}: {clash} would be {what(renamed[clash])}, but another entry of "
            f"the snapshot is called {renamed[clash]}: {clash} is kept apart"
        )
        del renamed[clash]
    for name, target in renamed.items():
        why = claims[name].why
        if name != target:  # else merged by its name, as any two inputs' entries are
            notes.append(f"{places[name]}: {name} is {what(target)} ({why}): merged as {target}")
    return renamed


def _rename(
    docker: dict[str, Any],
    renamed: dict[str, str],
    nets: dict[str, str],
    compose: _Compose,
    inspected: set[str],
) -> None:
    """Give the snapshot's entries and its references to them the compose file's names
    (`inspected`: the snapshots' container names)."""
    for net in docker.get("networks", []):
        if net["name"] in nets:
            net["name"] = nets[net["name"]]
            # A snapshot marks every network external (others may share it); whether compose
            # creates it, the compose file says.
            net.pop("external", None)
    for ct in docker.get("containers", []):
        ct["name"] = renamed.get(ct["name"], ct["name"])
        attachments = ct.get("networks", [])
        for att in attachments:
            att["name"] = nets.get(att["name"], att["name"])
        mode = ct.get("network_mode", "")
        kind, colon, owner = mode.partition(":")
        if mode in nets:
            # Docker sets NetworkMode to the first network compose connects; the compose
            # file says it in `networks:` (and `network_mode: default` would be docker0).
            del ct["network_mode"]
            if all(att["name"] != nets[mode] for att in attachments):
                ct["networks"] = [*attachments, {"name": nets[mode]}]
        elif colon and kind == "container":
            said = compose.services.get(ct["name"], {}).get("network_mode", "")
            if owner in renamed:
                owned = f"container:{renamed[owner]}"
                # compose's `service:vpn` is the namespace Docker shows as container:<vpn's>
                ct["network_mode"] = said if said == f"service:{renamed[owner]}" else owned
            elif owner not in inspected and said.startswith(("service:", "container:")):
                # The owner was not inspected, so the snapshot knows only its id: the
                # compose file says whose it is.
                ct["network_mode"] = said
        if "links" in ct:
            ct["links"] = [_link(text, renamed) for text in ct["links"]]


def _link(text: str, renamed: dict[str, str]) -> str:
    """A link `proj-db-1:db` to a renamed container: `db` (its alias is then its name)."""
    target, _, alias = text.partition(":")
    target = renamed.get(target, target)
    return target if alias in ("", target) else f"{target}:{alias}"


def _where(loaded: Loaded, path: str) -> str:
    place = loaded.locate(path)
    if place is None:
        return loaded.files[0]
    return f"{place.file}:{place.line}" if place.line else place.file


def _unknown_project(name: str, compose: _Compose) -> list[str]:
    """A hint for a container named as compose names a service's, in a project that is not
    known: it is not taken (the project could be another one's), but the user can say it."""
    for service in compose.services:
        shape = rf"(.+)([-_]){re.escape(service)}\2([0-9]+)"
        m = re.fullmatch(shape, name)
        if m is not None:
            return [
                f"{name} may be compose service {service}'s container in project "
                f"{m.group(1)}, but neither compose labels nor the compose file (name:, "
                "COMPOSE_PROJECT_NAME) say the project: it is kept apart"
            ]
    return []
