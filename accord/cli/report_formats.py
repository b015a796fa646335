"""Renderings of a compatibility report: a reviewer's table, JSON, JUnit XML, GitHub annotations."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts.compatibility import Breaks, CompatibilityReport

__all__ = ["render_github", "render_json", "render_junit", "render_text"]

LineOf = Callable[[str], int | None]


def _verdict(report: CompatibilityReport, against: str | None) -> str:
    """`against` names the baseline when it has no version number (a bare schema file)."""
    word = "compatible" if report.compatible else "INCOMPATIBLE"
    baseline = against or (
        ", ".join(f"v{v}" for v in report.checked_versions) or "nothing (first version)"
    )
    return f"{word} under {report.mode.value} ({report.policy.value}) against {baseline}"


def render_text(
    report: CompatibilityReport, subject: str, console: Console, against: str | None = None
) -> None:
    style = "green" if report.compatible else "bold red"
    console.print(f"{escape(subject)}: [{style}]{escape(_verdict(report, against))}[/]")
    if report.changes:
        table = Table(show_edge=False, pad_edge=False, expand=False)
        for column in ("", "change", "path", "breaks", "details"):
            table.add_column(column, overflow="fold")
        for change in report.changes:
            mark = "✓" if change.compatible else "✗"
            if change.compatible and change.breaks is not Breaks.NONE:
                mark = "!"
            several = len(report.checked_versions) > 1
            version = f" (vs v{change.against_version})" if several else ""
            table.add_row(
                mark,
                change.type,
                escape(change.path or "/"),
                change.breaks.value,
                escape(change.message + version),
                style=None if change.compatible else "red",
            )
        console.print(table)
    else:
        console.print("no changes")
    for consumer in report.affected_consumers:
        contact = f" <{consumer.contact}>" if consumer.contact else ""
        console.print(
            f"affects consumer {escape(consumer.name)} (team {escape(consumer.team)}{contact}): "
            + escape(", ".join(consumer.changes))
        )
    if not report.compatible and report.consumers_registered and not report.affected_consumers:
        console.print("no registered consumer reads the fields these changes touch")


def render_json(report: CompatibilityReport, subject: str, against: str | None = None) -> str:
    """`against`: the baseline file when there are no versions (`checked_versions` is [])."""
    document = {"subject": subject, **report.to_dict()}
    if against is not None:
        document["against"] = against
    return json.dumps(document, indent=2)


# Characters XML 1.0 cannot hold at all, not even as character references: C0 controls but
# tab, CR and LF; lone surrogates; U+FFFE and U+FFFF. ElementTree writes them as they are,
# and the document is then not well-formed: CI rejects the whole report.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(value: str) -> str:
    """`value` with each character XML cannot hold written as its escape (U+0001 as
    ``\\x01``): a name that holds one still reads as that name."""
    return _XML_ILLEGAL.sub(
        lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}",
        value,
    )


def render_junit(reports: list[tuple[CompatibilityReport, str]]) -> str:
    """A test suite per contract, a test case per change; each breaking change fails."""
    root = ET.Element("testsuites")
    for report, raw_subject in reports:
        subject = _xml(raw_subject)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"accord compatibility: {subject}",
            tests=str(max(1, len(report.changes))),
            failures=str(len(report.breaking)),
            errors="0",
        )
        if not report.changes:
            ET.SubElement(suite, "testcase", classname=subject, name="no changes")
        for change in report.changes:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=subject,
                name=_xml(f"{change.type} {change.path or '/'}"),
            )
            if not change.compatible:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=_xml(change.message),
                    type=f"breaks {change.breaks.value}",
                )
                # json.dumps already escapes control characters; _xml keeps that true.
                failure.text = _xml(json.dumps(change.to_dict(), indent=2))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _escape_property(value: str) -> str:
    return (
        value.replace("%", "%25")
        .replace("\r", "%0D")
        .replace("\n", "%0A")
        .replace(":", "%3A")
        .replace(",", "%2C")
    )


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(
    report: CompatibilityReport, file: str, line_of: LineOf, against: str | None = None
) -> str:
    """Workflow commands: an error per breaking change, a warning per loosened promise."""
    lines = []
    for change in report.changes:
        if change.compatible and change.breaks is Breaks.NONE:
            continue
        level = "warning" if change.compatible else "error"
        line = line_of(change.path)
        where = f"file={_escape_property(file)}" + (f",line={line}" if line else "")
        title = _escape_property(f"{change.type} (breaks {change.breaks.value})")
        lines.append(f"::{level} {where},title={title}::{_escape_data(change.message)}")
    if not report.compatible:
        verdict = _escape_data(_verdict(report, against))
        lines.append(f"::error file={_escape_property(file)}::{verdict}")
    return "\n".join(lines)
