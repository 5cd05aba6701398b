"""Batch results as JUnit XML: a test suite per file, a failing test case per finding."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from diagnose.batch import FileResult
from diagnose.render.safe import xml


def render(results: list[FileResult], fail_on: str = "warning") -> str:
    """JUnit XML; findings below `fail_on` are reported as skipped, not failed."""
    order = {"error": 0, "warning": 1, "info": 2}
    limit = order.get(fail_on, -1)
    suites = ET.Element("testsuites", name="netwhy")
    total = failures = 0
    # Every text from the input (file names, values quoted in titles) goes through `xml`:
    # characters XML 1.0 forbids (\x01, ESC, U+FFFE, a name's undecodable bytes) spelled out.
    for r in results:
        file = xml(r.file)
        suite = ET.SubElement(suites, "testsuite", name=file)
        cases = fails = 0
        if not r.findings:
            ET.SubElement(suite, "testcase", classname=file, name="no findings")
            cases = 1
        for f in r.findings:
            loc = f.location
            line = f":{loc.line}" if loc and loc.line else ""
            title = xml(f.title)
            case = ET.SubElement(suite, "testcase", classname=file, name=f"{f.rule}{line} {title}")
            cases += 1
            if order[f.severity] <= limit:
                fail = ET.SubElement(case, "failure", message=title, type=f.severity)
                fail.text = xml("\n".join([f.explanation, *(x.text for x in f.fixes)]))
                fails += 1
            else:
                ET.SubElement(case, "skipped", message=f"{f.severity}: below --fail-on")
        suite.set("tests", str(cases))
        suite.set("failures", str(fails))
        total += cases
        failures += fails
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
