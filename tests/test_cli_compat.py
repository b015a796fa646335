"""`accord diff` and `accord check`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.cli import accord, script
from tests.conftest import EXAMPLES

ORDERS = (EXAMPLES / "orders.created.yaml").read_text()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(ORDERS)
    new.write_text(
        ORDERS.replace("maxLength: 32", "maxLength: 16").replace(
            "max_delay: PT15M", "max_delay: PT30M"
        )
    )
    return old, new


def test_diff_text_names_changes_and_exits_1(pair: tuple[Path, Path]) -> None:
    result = accord("diff", *map(str, pair))
    assert result.returncode == 1, result.stderr
    assert "INCOMPATIBLE under BACKWARD (STRICT)" in result.stdout
    assert (
        "MAX_LENGTH_DECREASED" in result.stdout
        and "/schema/properties/coupon_code/maxLength" in result.stdout
    )
    assert "SLA_LOOSENED" in result.stdout


def test_diff_mode_override_and_same_file(pair: tuple[Path, Path]) -> None:
    old, new = pair
    assert accord("diff", str(old), str(old)).returncode == 0
    # Under FORWARD the narrowing is fine but the looser SLA breaks consumers.
    forward = accord("diff", str(old), str(new), "--mode", "FORWARD", "--format", "json")
    assert forward.returncode == 1
    report = json.loads(forward.stdout)
    assert report["mode"] == "FORWARD"
    by_type = {c["type"]: c for c in report["changes"]}
    assert by_type["MAX_LENGTH_DECREASED"]["compatible"] is True
    assert by_type["SLA_LOOSENED"] == {
        "type": "SLA_LOOSENED",
        "path": "/sla/freshness/max_delay",
        "layer": "contract",
        "breaks": "consumers",
        "compatible": False,
        "message": "freshness max delay PT15M -> PT30M",
        "against_version": 1,
        "consumers": [],
    }
    assert accord("diff", str(old), str(new), "--mode", "NONE").returncode == 0


def test_junit_is_valid_xml_with_one_failure_per_breaking_change(pair: tuple[Path, Path]) -> None:
    result = accord("diff", *map(str, pair), "--mode", "FULL", "--format", "junit")
    assert result.returncode == 1
    suite = ET.fromstring(result.stdout).find("testsuite")
    assert suite is not None
    assert suite.get("failures") == "2" and suite.get("tests") == "2"
    assert len(suite.findall("testcase/failure")) == 2


def test_github_annotations_point_at_lines(pair: tuple[Path, Path]) -> None:
    old, new = pair
    result = accord("diff", str(old), str(new), "--format", "github")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"::error file={new},line=")
    assert "title=MAX_LENGTH_DECREASED (breaks producers)::" in lines[0]
    line = int(lines[0].split("line=")[1].split(",")[0])
    assert "maxLength: 16" in new.read_text().splitlines()[line - 1]
    assert lines[1].startswith("::warning ")


def test_bare_json_schemas(tmp_path: Path) -> None:
    old, new = tmp_path / "a.json", tmp_path / "b.json"
    old.write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    new.write_text('{"type": "object", "properties": {"a": {"type": ["string", "null"]}}}')
    assert accord("diff", str(old), str(new)).returncode == 0
    assert accord("diff", str(new), str(old)).returncode == 1
    broken = tmp_path / "c.json"
    broken.write_text('{"type": "strnig"}')
    result = accord("diff", str(old), str(broken))
    assert result.returncode == 2 and f"{broken}" in result.stderr and "/type" in result.stderr


def test_input_errors_exit_2(tmp_path: Path, pair: tuple[Path, Path]) -> None:
    old, _ = pair
    schema = tmp_path / "s.json"
    schema.write_text("{}")
    assert accord("diff", str(old), str(schema)).returncode == 2
    assert accord("diff", str(old), str(tmp_path / "missing.yaml")).returncode == 2
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(ORDERS.replace("status: active", "status: gone"))
    result = accord("check", str(invalid), "--against", str(old))
    assert result.returncode == 2
    assert f"{invalid}:" in result.stderr and "/status" in result.stderr
    assert accord("check", str(old)).returncode == 2  # no --against, no ACCORD_REGISTRY_URL


def test_check_against_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "contracts").mkdir(parents=True)
    contract = repo / "contracts" / "orders.yaml"
    contract.write_text(ORDERS)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    assert (
        accord("check", "contracts/orders.yaml", "--against", "git:HEAD", cwd=repo).returncode == 0
    )
    contract.write_text(ORDERS.replace("minItems: 1", "minItems: 2"))
    result = accord("check", "contracts/orders.yaml", "--against", "git:HEAD", cwd=repo)
    assert result.returncode == 1 and "MIN_ITEMS_INCREASED" in result.stdout
    # Run from another directory: the path is resolved relative to its repository.
    assert accord("check", str(contract), "--against", "git:HEAD").returncode == 1
    new_file = repo / "contracts" / "new.yaml"
    new_file.write_text(ORDERS.replace("name: orders.created", "name: orders.new"))
    git("add", ".")
    assert accord("check", str(new_file), "--against", "git:HEAD").returncode == 0
    # A revision that does not exist is an input error, not "a new file": a typo in CI
    # must not pass every check.
    typo = accord("check", str(contract), "--against", "git:origin/mian")
    assert typo.returncode == 2 and "git revision 'origin/mian' not found" in typo.stderr


def test_machine_formats_are_not_wrapped(tmp_path: Path) -> None:
    # Lines far longer than a console: XML and workflow commands must come out whole.
    long = "a_folder_whose_name_goes_on_" + "and_on_" * 30 + "x"
    (tmp_path / long).mkdir()
    old, new = tmp_path / long / "old & older.yaml", tmp_path / long / "new & newer.yaml"
    old.write_text(ORDERS)
    new.write_text(ORDERS.replace("maxLength: 32", "maxLength: 16"))
    # A real process: the CLI decides the width once, when imported.
    github = script("diff", str(old), str(new), "--format", "github")
    assert github.returncode == 1
    assert all(line.startswith("::") for line in github.stdout.splitlines()), github.stdout
    assert f"file={new}," in github.stdout
    junit = script("check", str(new), "--against", str(old), "--format", "junit")
    ET.fromstring(junit.stdout)  # well-formed, "&" escaped whole
    as_json = accord("diff", str(old), str(new), "--format", "json")
    assert json.loads(as_json.stdout)["compatible"] is False


def test_brackets_in_file_names_are_printed(tmp_path: Path) -> None:
    missing = tmp_path / "x[/b].yaml"
    result = accord("diff", str(missing), str(missing))
    assert result.returncode == 2 and "x[/b].yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_several_files_against_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    ok, bad = repo / "a.yaml", repo / "b.yaml"
    ok.write_text(ORDERS)
    bad.write_text(ORDERS.replace("name: orders.created", "name: orders.other"))
    for args in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.name=t", "-c", "user.email=t@e.x", "commit", "-qm", "1"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    bad.write_text(bad.read_text().replace("minimum: 1\n", "minimum: 2\n", 1))
    result = accord(
        "check", "a.yaml", "b.yaml", "--against", "git:HEAD", "--format", "json", cwd=repo
    )
    assert result.returncode == 1
    reports = json.loads(result.stdout)
    assert [(r["subject"], r["compatible"]) for r in reports] == [
        ("orders.created", True),
        ("orders.other", False),
    ]
    junit = accord(
        "check", "a.yaml", "b.yaml", "--against", "git:HEAD", "--format", "junit", cwd=repo
    )
    suites = ET.fromstring(junit.stdout).findall("testsuite")
    assert [s.get("failures") for s in suites] == ["0", "1"]


def test_a_change_cannot_turn_off_its_own_check(tmp_path: Path) -> None:
    # The registry judges a change by the mode it is configured with, not by the one the
    # new version declares: so does CI.
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(ORDERS)
    new.write_text(
        ORDERS.replace("maxLength: 32", "maxLength: 16").replace("mode: BACKWARD", "mode: NONE")
    )
    for args in (["check", str(new), "--against", str(old)], ["diff", str(old), str(new)]):
        result = accord(*args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert "INCOMPATIBLE under BACKWARD" in result.stdout


def test_check_against_git_input_errors_exit_2(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    contract = repo / "c.yaml"
    contract.write_text("name: [unclosed\n")

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "v1")
    contract.write_text(ORDERS)
    result = accord("check", "c.yaml", "--against", "git:HEAD", cwd=repo)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "c.yaml: the version at HEAD is unreadable: HEAD:c.yaml:" in result.stderr
    assert "Traceback" not in result.stderr

    no_git = accord("check", "c.yaml", "--against", "git:HEAD", cwd=repo, env={"PATH": "/none"})
    assert no_git.returncode == 2, no_git.stdout + no_git.stderr
    assert "c.yaml: --against git:HEAD: cannot run git" in no_git.stderr


def test_check_with_a_malformed_registry_url_exits_2(pair: tuple[Path, Path]) -> None:
    result = accord("check", str(pair[1]), "--against", "registry", "--registry", "http://[::1")
    assert result.returncode == 2, result.stderr
    assert "--registry: invalid registry URL 'http://[::1'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bare_schemas_are_judged_against_the_old_file(tmp_path: Path) -> None:
    # No version numbers here: "against nothing (first version)" would say no check ran.
    old, new = tmp_path / "s1.json", tmp_path / "s2.json"
    old.write_text('{"type": "object", "properties": {"a": {"type": "string"}}}')
    new.write_text('{"type": "object", "properties": {"a": {"type": "integer"}}}')
    text = accord("diff", str(old), str(new))
    assert text.returncode == 1
    assert f"s2.json: INCOMPATIBLE under BACKWARD (STRICT) against {old}" in text.stdout
    as_json = json.loads(accord("diff", str(old), str(new), "--format", "json").stdout)
    assert as_json["against"] == str(old) and as_json["checked_versions"] == []
    github = accord("diff", str(old), str(new), "--format", "github").stdout.splitlines()
    assert github[-1].endswith(f"against {old}")


@pytest.mark.parametrize(
    ("schema", "path", "code"),
    [
        ('{"properties": {"a": {"$ref": "#/$defs/nope"}}}', "/properties/a/$ref", "unresolved-ref"),
        ('{"properties": {"a": {"pattern": "(a"}}}', "/properties/a/pattern", "invalid-schema"),
    ],
)
def test_diff_rejects_bare_schemas_lint_rejects(
    tmp_path: Path, schema: str, path: str, code: str
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text('{"properties": {"a": {"type": "string"}}}')
    new.write_text(schema)
    result = accord("diff", str(old), str(new))
    assert result.returncode == 2, result.stdout
    assert f"{new}:1: error: {path}: " in result.stderr and f"[{code}]" in result.stderr
    assert result.stdout == ""


def test_junit_holds_no_character_xml_cannot(tmp_path: Path) -> None:
    # U+0001 in a property name: ElementTree writes it raw, and the report is not XML.
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text('{"properties": {"a\\u0001b": {"type": "string"}}}')
    new.write_text('{"properties": {"a\\u0001b": {"type": "integer"}}}')
    result = accord("diff", str(old), str(new), "--format", "junit")
    assert result.returncode == 1, result.stderr
    case = ET.fromstring(result.stdout).find("testsuite/testcase")
    assert case is not None and case.get("name") == "TYPE_CHANGED /properties/a\\x01b"


def test_check_names_the_file_a_registry_error_is_about(pair: tuple[Path, Path]) -> None:
    old, new = pair
    result = accord("check", str(old), str(new), "--registry", "http://127.0.0.1:1")
    assert result.returncode == 2
    assert f"error: {old}: registry http://127.0.0.1:1: cannot reach" in result.stderr
