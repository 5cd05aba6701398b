"""netwhy's own setup format (YAML or JSON): the Setup model, read directly."""

from __future__ import annotations

from diagnose.errors import InputError
from diagnose.loaders.base import Loaded, LoadOptions
from diagnose.loading import field_path, setup_from_document
from diagnose.report import Location
from diagnose.yamltext import parse

SETUP_KEYS = frozenset({"host", "lan", "vm_networks", "vms", "docker", "symptoms"})


def detect(name: str, text: str, kind: str) -> bool:
    """Any YAML/JSON mapping whose keys are the setup's (the fallback format)."""
    return True


def load(text: str, file: str, kind: str, options: LoadOptions) -> Loaded:
    """Parse and validate a setup; every entry keeps its place in the file."""
    doc = parse(text, file)
    if kind == "setup" and not (isinstance(doc.data, dict) and SETUP_KEYS & set(doc.data)):
        # Nothing recognised it, and it is no netwhy setup either.
        from diagnose.loaders import KINDS

        raise InputError(
            "not a format netwhy reads (a netwhy setup has host:, docker:, vms:, symptoms: "
            f"...); --kind forces one of: {', '.join(KINDS)}",
            file=file,
            line=1,
        )
    setup = setup_from_document(doc)
    places = {
        field_path(path): Location(file=file, line=line, column=column)
        for path, (line, column) in doc.lines.items()
        if path
    }
    return Loaded(setup, kind, (file,), places)
