"""`accord import odcs` and `accord export odcs`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import load_file
from contracts.odcs import API_VERSION, validate_odcs
from tests.cli import accord
from tests.conftest import EXAMPLE_FILES, EXAMPLES
from tests.processes import running_registry

DATA = Path(__file__).parent / "data" / "odcs"
FULL, SINGLE = DATA / "full.odcs.yaml", DATA / "single.odcs.yaml"


def test_help_lists_import_and_export() -> None:
    result = accord("--help")
    assert "import" in result.stdout and "export" in result.stdout
    assert "odcs" in accord("import", "--help").stdout
    assert "odcs" in accord("export", "--help").stdout


# -- import ------------------------------------------------------------------------------------


def test_import_to_stdout_with_warnings_on_stderr(tmp_path: Path) -> None:
    result = accord("import", "odcs", str(SINGLE))
    assert result.returncode == 0, result.stderr
    contract = yaml.safe_load(result.stdout)
    assert contract["name"] == "payments" and contract["status"] == "draft"
    # warnings name the file, the line and the path inside the document
    assert f"{SINGLE}:7: warning: /status: 'proposed' read as 'draft'" in result.stderr
    assert f"{SINGLE}:18: warning: /schema/0: no Accord equivalent" in result.stderr
    assert "physicalType" in result.stderr
    out = tmp_path / "payments.yaml"
    out.write_text(result.stdout)
    assert accord("lint", str(out)).returncode == 0


def test_import_several_schema_objects_into_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "contracts"
    result = accord("import", "odcs", str(FULL), "-o", str(target))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in target.iterdir())
    assert written == ["line_items.yaml", "orders.yaml"]
    assert f"wrote {target / 'orders.yaml'}" in result.stderr
    assert "not enforced by Accord" in result.stderr  # the SQL check
    lint = accord("lint", *map(str, target.iterdir()))
    assert lint.returncode == 0, lint.stdout
    # ... and back: the same document, apart from the ODCS version it is written in
    back = accord("export", "odcs", str(target / "orders.yaml"), str(target / "line_items.yaml"))
    assert back.returncode == 0, back.stderr
    original = {**yaml.safe_load(FULL.read_text()), "apiVersion": API_VERSION}
    assert json.dumps(yaml.safe_load(back.stdout), sort_keys=True) == json.dumps(
        json.loads(json.dumps(original)), sort_keys=True
    )


def test_import_one_contract_to_a_json_file(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "payments.json"
    result = accord("import", "odcs", str(SINGLE), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["name"] == "payments"
    assert result.stdout == ""


def test_import_several_to_stdout_is_a_yaml_stream() -> None:
    result = accord("import", "odcs", str(FULL))
    assert result.returncode == 0
    assert [d["name"] for d in yaml.safe_load_all(result.stdout)] == ["orders", "line_items"]
    as_json = accord("import", "odcs", str(FULL), "--format", "json")
    assert [d["name"] for d in json.loads(as_json.stdout)] == ["orders", "line_items"]


def test_import_invalid_odcs_exits_1_naming_file_line_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text(
        "apiVersion: v3.2.0\nkind: DataContract\nid: x\nversion: '1'\nschema:\n"
        "  - name: t\n    properties:\n      - name: a\n        logicalType: text\n"
    )
    result = accord("import", "odcs", str(bad))
    assert result.returncode == 1
    assert f"{bad}:9: error: /schema/0/properties/0/logicalType:" in result.stderr
    assert result.stdout == ""


def test_import_that_makes_an_invalid_contract_exits_1(tmp_path: Path) -> None:
    doc = yaml.safe_load(SINGLE.read_text())
    doc["schema"][0]["properties"][0]["logicalTypeOptions"] = {"pattern": "([unclosed"}
    bad = tmp_path / "bad.odcs.yaml"
    bad.write_text(yaml.safe_dump(doc))
    result = accord("import", "odcs", str(bad))
    assert result.returncode == 1
    assert f"{bad}" in result.stderr and "/schema/0" in result.stderr
    assert "/schema/properties/payment_id/pattern" in result.stderr


def test_import_unreadable_input_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: [unclosed\n")
    result = accord("import", "odcs", str(broken))
    assert result.returncode == 2 and str(broken) in result.stderr
    missing = accord("import", "odcs", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 2 and "missing.yaml" in missing.stderr
    assert accord("import", "odcs").returncode == 2  # usage


# -- export ------------------------------------------------------------------------------------


def exported(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(text)
    assert validate_odcs(doc) == []
    return doc


def test_export_a_file_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    orders = EXAMPLES / "orders.created.yaml"
    result = accord("export", "odcs", str(orders))
    assert result.returncode == 0, result.stderr
    doc = exported(result.stdout)
    assert doc["schema"][0]["name"] == "orders.created" and doc["version"] == "1.0.0"
    out = tmp_path / "orders.odcs.json"
    written = accord("export", "odcs", str(orders), "-o", str(out))
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(out.read_text()) == doc
    # and the file imports back to the same contract
    back = accord("import", "odcs", str(out), "-o", str(tmp_path / "back.yaml"))
    assert back.returncode == 0 and back.stderr.startswith("wrote")
    assert load_file(str(tmp_path / "back.yaml")) == load_file(str(orders))


def test_export_several_files_gives_one_document() -> None:
    result = accord("export", "odcs", *map(str, EXAMPLE_FILES))
    assert result.returncode == 0, result.stderr
    assert len(exported(result.stdout)["schema"]) == 3


def test_export_an_invalid_contract_exits_1_naming_file_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: demo.events\nowner: {team: demo}\nschema: {}\nstatsu: active\n")
    result = accord("export", "odcs", str(bad))
    assert result.returncode == 1
    assert f"{bad}:4: error: /statsu: unknown key" in result.stderr
    assert result.stdout == ""


def test_export_unreadable_file_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = accord("export", "odcs", str(broken))
    assert result.returncode == 2 and str(broken) in result.stderr
    missing = accord("export", "odcs", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_export_by_name_from_an_unreachable_registry_exits_2() -> None:
    result = accord("export", "odcs", "orders.created", "--registry", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "orders.created" in result.stderr and "unreachable" in result.stderr


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`accord serve --load-examples` on a fresh SQLite file."""
    folder = tmp_path_factory.mktemp("serve")
    with running_registry(f"sqlite:///{folder / 'accord.db'}", folder, "--load-examples") as url:
        yield url


def test_export_by_name_from_the_registry(registry_url: str) -> None:
    result = accord("export", "odcs", "orders.created", env={"ACCORD_REGISTRY_URL": registry_url})
    assert result.returncode == 0, result.stderr
    doc = exported(result.stdout)
    assert doc["version"] == "1"  # the registry's version of the contract
    assert doc["schema"][0]["name"] == "orders.created"
    pinned = accord("export", "odcs", "orders.created@1", "--registry", registry_url)
    assert pinned.returncode == 0 and yaml.safe_load(pinned.stdout) == doc
    missing = accord("export", "odcs", "no.such.contract", "--registry", registry_url)
    assert missing.returncode == 2 and "no.such.contract" in missing.stderr


def test_export_to_a_path_that_cannot_be_written_exits_2(tmp_path: Path) -> None:
    orders = str(EXAMPLES / "orders.created.yaml")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("")
    for output, reason in (
        ("adir", "is a directory"),
        ("afile/x.yaml", "afile is not a directory"),
    ):
        result = accord("export", "odcs", orders, "-o", output, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert f"{output}: error: cannot write: {reason}" in result.stderr
        assert "Traceback" not in result.stderr
    # Replaced whole: no temporary file left beside it.
    (tmp_path / "adir" / "o.yaml").write_text("old")
    written = accord("export", "odcs", orders, "-o", "adir/o.yaml", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert [p.name for p in (tmp_path / "adir").iterdir()] == ["o.yaml"]
    assert exported((tmp_path / "adir" / "o.yaml").read_text())["schema"]


def test_export_by_name_with_a_malformed_registry_url_exits_2() -> None:
    result = accord("export", "odcs", "orders.created", "--registry", "http://[::1")
    assert result.returncode == 2, result.stderr
    assert "--registry: invalid registry URL 'http://[::1'" in result.stderr
