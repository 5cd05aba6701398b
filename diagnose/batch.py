"""`netwhy check PATH...`: many config files, each loaded, diagnosed and reported like a linter.

One bad file never stops the batch: it becomes an input-error finding (IN001 unreadable,
IN002 invalid) for that file. Suppressions (`# netwhy: ignore[ID] reason`) and the project
configuration decide what is reported; a suppression without a reason is itself reported.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from diagnose import pool
from diagnose.config import Config
from diagnose.errors import EngineError, InputError, RuleError
from diagnose.loaders.base import Loaded, LoadOptions, Suppression
from diagnose.report import Finding, Location, Report

SKIP_DIRS = frozenset({".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".hg"})
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
# Findings netwhy makes about the input itself; they cannot be suppressed.
UNREADABLE, INVALID = "IN001", "IN002"
INPUT_RULES = frozenset({UNREADABLE, INVALID})
NO_REASON, UNKNOWN_RULE, MALFORMED = "SP001", "SP002", "SP003"


@dataclass
class FileResult:
    """What checking one input gave."""

    file: str
    kind: str | None
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    report: Report | None = None  # the full report (verdicts, trace) when the file loaded
    input_error: bool = False


@dataclass(frozen=True)
class CheckOptions:
    """Everything that shapes a batch run."""

    config: Config = field(default_factory=Config)
    kind: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    rules: tuple[str, ...] = ()
    lang: str = "en"
    jobs: int = 1
    include: tuple[str, ...] = ()
    one_setup: bool = False  # --setup: the files describe one setup together
    # Keep each report's trace and the facts it cites; None: only when one file is checked
    # (its diagram draws from them, and redaction reads the facts; a batch's renderers use
    # findings and verdicts only).
    how: bool | None = None


# ------------------------------------------------------------------------------ collecting


def collect(paths: Iterable[str], options: CheckOptions) -> list[str]:
    """Files to check: files as given; folders walked (skipping .git, node_modules...)."""
    import fnmatch

    out: list[str] = []
    for given in paths:
        path = Path(given)
        if given == "-" or not path.is_dir():
            out.append(given)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                full = str(Path(root) / name)
                if options.config.excluded(full):
                    continue
                if options.include and not any(
                    fnmatch.fnmatch(name, g) or fnmatch.fnmatch(full, g) for g in options.include
                ):
                    continue
                if not options.include and not _looks_checkable(name):
                    continue
                out.append(full)
    return [p for p in out if p == "-" or not options.config.excluded(p)]


_CHECKABLE = (
    ".yml",
    ".yaml",
    ".json",
    ".vmx",
    ".vbox",
    ".xml",
    ".conf",
    ".sh",
    ".md",
    ".txt",
    ".out",
)


def _looks_checkable(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(_CHECKABLE) or "vagrantfile" in lowered or lowered == "readme"


# ------------------------------------------------------------------------------- checking


def _input_finding(exc: InputError, file: str, rule: str) -> Finding:
    from diagnose.diagnosis import report_phrase

    title = exc.message if not exc.field else f"{exc.field}: {exc.message}"
    return Finding(
        rule=rule,
        name="input-unreadable" if rule == UNREADABLE else "input-invalid",
        severity="error",
        title=title,
        explanation=report_phrase("input_error"),
        fixes=[],
        claims=[],
        facts=[],
        source=exc.field,
        location=Location(file=exc.file or file, line=exc.line, column=exc.column),
    )


_UNREADABLE_WORDS = (
    "binary file",
    "not UTF-8",
    "no such file",
    "permission denied",
    "is a directory",
    "the limit is",
    "cannot read",
    "empty file",
)


def _load(path: str, options: CheckOptions) -> Loaded:
    from diagnose.loaders import load_file, load_text

    load_options = LoadOptions(env=dict(options.env))
    if path == "-":
        return load_text(sys.stdin.read(), "<stdin>", options.kind, load_options)
    return load_file(path, options.kind, load_options)


def _diagnose(loaded: Loaded, options: CheckOptions) -> Report:
    from diagnose.diagnosis import diagnose

    report = diagnose(
        loaded.setup,
        rule_dirs=options.rules,
        lang=options.lang,
        source=", ".join(loaded.files),
        how=options.how is not False,
    )
    for finding in report.findings:
        finding.location = loaded.locate(finding.source)
        if finding.location is None and len(loaded.files) == 1:
            finding.location = Location(file=loaded.files[0])
    return report


def _apply(
    result: FileResult,
    findings: list[Finding],
    suppressions: list[Suppression],
    options: CheckOptions,
) -> None:
    """Configuration first (it says what exists), then the inline suppressions.

    The findings about suppressions themselves (SP001-SP003) obey the configuration like
    any other, but no inline suppression; input errors (IN001, IN002) are never selected,
    ignored or suppressed (only a severity may be set for them)."""
    config = options.config
    about_suppressions = _suppression_findings(suppressions, options.rules)
    for finding in (*findings, *about_suppressions):
        if finding.rule in config.severity:
            finding.severity = config.severity[finding.rule]
    for finding in findings:
        if finding.rule in INPUT_RULES:
            result.findings.append(finding)
        elif config.wants(finding.rule, finding.location.file if finding.location else result.file):
            hit = None
            if suppressions:  # most files have none: no search then
                hit = next((s for s in suppressions if _covers(s, finding)), None)
            if hit is None:
                result.findings.append(finding)
            else:
                result.suppressed.append((finding, hit))
    result.findings += [
        f
        for f in about_suppressions
        if config.wants(f.rule, f.location.file if f.location else result.file)
    ]
    result.findings.sort(key=_order)


@functools.cache  # asked once per file that has suppressions
def filterable_rules(rule_dirs: tuple[str, ...]) -> frozenset[str]:
    """The ids the configuration and suppressions may name: every rule of the catalogue and
    the findings about suppressions (input errors are always reported)."""
    from diagnose.diagnosis import catalogue_for

    return frozenset({*catalogue_for(rule_dirs).rules, NO_REASON, UNKNOWN_RULE, MALFORMED})


def _suppression_findings(
    suppressions: list[Suppression], rule_dirs: tuple[str, ...]
) -> list[Finding]:
    """SP001 for a suppression without a reason, SP002 for each id it names that is no rule
    (ill-formed, or well-formed but not a rule netwhy has: ZZ999, a misspelt DN081), SP003
    for a comment meant as a suppression that netwhy cannot read."""
    if not suppressions:
        return []
    from diagnose.diagnosis import report_phrase

    known = filterable_rules(rule_dirs)
    out = []
    for s in suppressions:
        where = Location(file=s.file, line=s.line)
        if s.malformed is not None:
            text = s.malformed if len(s.malformed) <= 80 else s.malformed[:79] + "…"
            out.append(
                Finding(
                    rule=MALFORMED,
                    name="suppression-not-read",
                    severity="warning",
                    title=report_phrase("malformed_suppression", text=text),
                    explanation=report_phrase("malformed_suppression_why"),
                    fixes=[],
                    claims=[],
                    facts=[],
                    location=where,
                )
            )
            continue
        if s.reason is None:
            out.append(
                Finding(
                    rule=NO_REASON,
                    name="suppression-without-reason",
                    severity="warning",
                    title=report_phrase("no_reason", rules=", ".join(s.rules)),
                    explanation=report_phrase("no_reason_why"),
                    fixes=[],
                    claims=[],
                    facts=[],
                    location=where,
                )
            )
        for rule in s.rules:
            if rule not in known:
                out.append(
                    Finding(
                        rule=UNKNOWN_RULE,
                        name="suppression-names-no-rule",
                        severity="warning",
                        title=report_phrase(
                            "input_rule" if rule in INPUT_RULES else "unknown_rule", rule=rule
                        ),
                        explanation=report_phrase("unknown_rule_why"),
                        fixes=[],
                        claims=[],
                        facts=[],
                        location=where,
                    )
                )
    return out


def _covers(s: Suppression, finding: Finding) -> bool:
    if finding.rule not in s.rules:
        return False
    if s.scope == "file":
        return finding.location is None or finding.location.file == s.file
    loc = finding.location
    return (
        loc is not None
        and loc.file == s.file
        and loc.line is not None
        and (loc.line in (s.line, s.line + 1) or s.line < loc.line <= (s.until or 0))
    )


def _order(f: Finding) -> tuple[str, int, int, int, str, str]:
    loc = f.location
    return (
        loc.file if loc else "",
        loc.line or 0 if loc else 0,
        loc.column or 0 if loc else 0,
        SEVERITY_ORDER[f.severity],
        f.rule,
        f.title,
    )


def check_file(path: str, options: CheckOptions) -> FileResult:
    """Load, diagnose and filter one file; never raises for bad input."""
    return _check(path, lambda: _load(path, options), options)


def check_text(text: str, name: str, options: CheckOptions) -> FileResult:
    """Check an input held in memory (HTTP and MCP callers) exactly as `check_file` checks a
    file; `name` helps to detect the format (e.g. compose.yaml) and names it in locations."""
    from diagnose.loaders import load_text

    return _check(
        name,
        # The name is a label: nothing beside it (.env, extends: file:) is read.
        lambda: load_text(
            text, name, options.kind, LoadOptions(env=dict(options.env), read_siblings=False)
        ),
        options,
    )


def _check(path: str, load: Callable[[], Loaded], options: CheckOptions) -> FileResult:
    result = FileResult(file=path, kind=None)
    try:
        loaded = load()
    except InputError as exc:
        return _refused(result, exc, path, options)
    except Exception as exc:
        return _failed(result, exc, options)
    try:
        return check_loaded(loaded, path, options)
    except (EngineError, RuleError) as exc:  # a bug or a bad user rule: still one line
        result.kind = loaded.kind
        result.notes = list(loaded.notes)
        return _refused(result, InputError(str(exc), file=path), path, options, INVALID)
    except Exception as exc:
        result.kind = loaded.kind
        return _failed(result, exc, options)


def _failed(result: FileResult, exc: Exception, options: CheckOptions) -> FileResult:
    """A bug of netwhy's met on one input: that input's error, so the batch goes on (and the
    run still exits 2); NETWHY_DEBUG=1 lets it through with its traceback."""
    if os.environ.get("NETWHY_DEBUG"):
        raise exc
    message = (
        f"netwhy failed on this file, a bug of netwhy's ({type(exc).__name__}: {exc}); "
        "NETWHY_DEBUG=1 shows where"
    )
    return _refused(result, InputError(message, file=result.file), result.file, options, INVALID)


def _refused(
    result: FileResult, exc: InputError, file: str, options: CheckOptions, rule: str | None = None
) -> FileResult:
    """The result of an input netwhy could not check: its one finding, IN001 when it could
    not be read (the default, from the message) or IN002."""
    if rule is None:
        rule = UNREADABLE if any(w in exc.message for w in _UNREADABLE_WORDS) else INVALID
    result.input_error = True
    _apply(result, [_input_finding(exc, file, rule)], [], options)
    return result


def check_loaded(loaded: Loaded, file: str, options: CheckOptions) -> FileResult:
    """Diagnose an input already loaded (e.g. text sent to the server) and keep the findings
    the configuration and the inline suppressions let through. Raises EngineError, RuleError."""
    result = FileResult(file=file, kind=loaded.kind, notes=list(loaded.notes))
    report = _diagnose(loaded, options)
    result.report = report
    _apply(result, list(report.findings), loaded.suppressions, options)
    return result


def check_setup(paths: list[str], options: CheckOptions) -> FileResult:
    """--setup: several files describe one setup; load each, merge, diagnose once. Never
    raises for bad input; a bug met on the way is the setup's IN002, as for one file."""
    result = FileResult(file=" + ".join(paths), kind="merged")
    try:
        return _check_setup(paths, options, result)
    except (EngineError, RuleError) as exc:
        return _refused(
            result, InputError(str(exc), file=result.file), result.file, options, INVALID
        )
    except Exception as exc:
        return _failed(result, exc, options)


def _check_setup(paths: list[str], options: CheckOptions, result: FileResult) -> FileResult:
    from diagnose.merge import merge

    name = result.file
    seen: dict[str, str] = {}
    for path in paths:
        real = os.path.realpath(path)
        if real in seen:  # merged with itself, every adapter and port would be there twice
            message = f"given twice to --setup (as {seen[real]} and {path})"
            return _refused(result, InputError(message, file=path), path, options, INVALID)
        seen[real] = path
    loads = []
    for path in paths:
        try:
            loads.append(_load(path, options))
        except InputError as exc:  # every unusable file is reported, then the setup is not
            _refused(result, exc, path, options)
    if result.input_error:
        return result
    try:
        loaded = merge(loads)
    except InputError as exc:
        return _refused(result, exc, name, options, INVALID)
    result.notes = list(loaded.notes)
    report = _diagnose(loaded, options)
    result.report = report
    _apply(result, list(report.findings), loaded.suppressions, options)
    return result


def _batch_check(path: str, options: CheckOptions) -> FileResult:
    result = check_file(path, options)
    if result.report is not None and not options.how:
        # A batch reports findings (the result's own) and verdicts only: whatever else the
        # report holds a worker would pickle and the parent unpickle for nothing (with whole
        # reports, the parent spent as long on that as a worker on checking the file).
        result.report = result.report.changed(facts={}, trace=[], findings=[], questions=[])
    return result


def _worker_start(collecting: bool) -> None:
    # Forked while the parent does not collect (see check_many): collect here as usual.
    if collecting:
        gc.enable()


def _died(path: str, error: pool.Died, options: CheckOptions) -> FileResult:
    """The result of a file whose checking process died (twice: in its batch, then alone)."""
    message = f"netwhy failed on this file, a bug of netwhy's: {error}"
    return _refused(
        FileResult(file=path, kind=None), InputError(message, file=path), path, options, INVALID
    )


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:  # checked (and reported) like any other
        return 0


def check_many(
    paths: list[str],
    options: CheckOptions,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[FileResult]:
    """Check every file (in parallel processes with jobs > 1: durable-rules holds the GIL)."""
    if options.one_setup:
        return [check_setup(paths, options)]
    results: list[FileResult] = []
    total = len(paths)
    if options.how is None:
        options = replace(options, how=total == 1)
    if options.jobs > 1 and total > 1 and "-" not in paths:
        # Biggest files first, in small chunks: the workers finish together (a few large
        # READMEs or Vagrantfiles last in one chunk kept the other worker idle).
        order = sorted(range(total), key=lambda i: -_size(paths[i]))
        placed: list[FileResult | None] = [None] * total
        # Workers are forked: objects the garbage collector would walk in each of them (and
        # so copy page by page) are frozen first, as the gc module's documentation advises.
        gc.freeze()
        # Results hold no cycles, and each collection while they pile up walks all of them:
        # this process spent half its time so, on a core the workers need. The workers (some
        # inputs make cyclic garbage in them) collect as usual.
        collecting = gc.isenabled()
        gc.disable()
        try:
            done = pool.run(
                [paths[i] for i in order],
                functools.partial(_batch_check, options=options),
                jobs=options.jobs,
                chunk=max(1, min(32, total // (options.jobs * 16))),
                died=functools.partial(_died, options=options),
                start_worker=functools.partial(_worker_start, collecting),
            )
            with contextlib.closing(done):  # an interrupt stops the workers at once
                for n, (k, result) in enumerate(done, start=1):
                    placed[order[k]] = result
                    if progress:
                        progress(n, total, result.file)
        finally:
            gc.unfreeze()
            if collecting:
                gc.enable()
        results = [r for r in placed if r is not None]
    else:
        for i, path in enumerate(paths, start=1):
            results.append(_batch_check(path, options))
            if progress:
                progress(i, total, path)
    return results


# -------------------------------------------------------------------------------- summary


@dataclass
class Summary:
    """Counts over a batch."""

    files: int
    with_findings: int
    input_errors: int
    by_severity: dict[str, int]
    by_rule: dict[str, int]
    suppressed: int


def summarize(results: list[FileResult]) -> Summary:
    """Files, findings by severity and by rule, input errors."""
    sev: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for r in results:
        for f in r.findings:
            sev[f.severity] += 1
            rules[f.rule] += 1
    return Summary(
        files=len(results),
        with_findings=sum(1 for r in results if r.findings),
        input_errors=sum(1 for r in results if r.input_error),
        by_severity={s: sev[s] for s in ("error", "warning", "info") if sev[s]},
        by_rule=dict(sorted(rules.items())),
        suppressed=sum(len(r.suppressed) for r in results),
    )


def failing(results: list[FileResult], fail_on: str) -> bool:
    """Whether a finding reaches the --fail-on level."""
    if fail_on == "never":
        return False
    limit = SEVERITY_ORDER[fail_on]
    return any(SEVERITY_ORDER[f.severity] <= limit for r in results for f in r.findings)


def iter_findings(results: list[FileResult]) -> Iterator[tuple[FileResult, Finding]]:
    """Every reported finding with its file."""
    for r in results:
        for f in r.findings:
            yield r, f
