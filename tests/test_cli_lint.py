"""`accord lint`; `--help` and `--version` through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import accord, script
from tests.conftest import EXAMPLE_FILES


def test_help_lists_commands_and_version() -> None:
    help_text = script("--help")
    assert help_text.returncode == 0
    assert "lint" in help_text.stdout
    version = script("--version")
    assert version.returncode == 0 and version.stdout.startswith("accord ")


def test_examples_lint_clean() -> None:
    result = script("lint", *map(str, EXAMPLE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b[" not in result.stdout  # no colour codes when not on a terminal


def test_broken_file_exits_1_and_names_file_line_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: demo.events\nowner: {team: demo}\nstatsu: active\n"
        "schema: {type: object, properties: {id: {type: 5}}}\n"
        "semantics: {nope: {unit: s}}\n"
    )
    result = accord("lint", str(bad))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith(
        f"{bad}:3: error: /statsu: unknown key 'statsu' (did you mean 'status'?)"
    )
    assert any(f"{bad}:4: error: /schema/properties/id/type" in line for line in lines)
    assert any(f"{bad}:5: error: /semantics/nope" in line for line in lines)


def test_json_format(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "demo.events", "owner": {"team": "demo"}, "schema": {}, "tagz": []}')
    result = accord("lint", "--format", "json", str(bad))
    assert result.returncode == 1
    [report] = json.loads(result.stdout)
    assert report["problems"][0]["path"] == "/tagz"
    assert report["problems"][0]["line"] == 1


def test_unreadable_input_exits_2_on_stderr(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = accord("lint", str(broken), str(tmp_path / "missing.yaml"))
    assert result.returncode == 2
    assert f"{broken}:2: invalid YAML" in result.stderr
    assert "missing.yaml: cannot read" in result.stderr
    assert result.stdout == ""


def test_usage_error_exits_2() -> None:
    assert accord("lint").returncode == 2
    assert accord("no-such-command").returncode == 2


def test_json_nested_too_deep_is_an_input_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(
        '{"name": "x.y", "owner": {"team": "t"}, "schema": '
        + '{"not": ' * 400
        + "{}"
        + "}" * 400
        + "}"
    )
    result = accord("lint", str(deep))
    assert result.returncode == 2, result.stderr
    assert "deep.json: invalid JSON: nested more than 300 levels deep" in result.stderr


def test_diagnostics_are_never_wrapped(tmp_path: Path) -> None:
    # grep and CI problem matchers read `file:line: error: ...` one line at a time.
    field = "a" * 300
    long = tmp_path / "long.yaml"
    long.write_text(
        "name: demo.events\nowner: {team: demo}\nschema: {type: object}\n"
        f"rules:\n  - {{name: r, expression: 'this.{field} > 1'}}\n"
    )
    missing = tmp_path / ("m" * 220 + ".yaml")
    # A real process: the CLI decides the width once, when imported.
    result = script("lint", str(long), str(missing))
    assert result.returncode == 2
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{long}:5: error: /rules/0/expression: ") and field in line
    assert line.endswith("[unknown-field]")
    [error] = result.stderr.splitlines()
    assert error.startswith(f"{missing}: cannot read")
