"""`accord validate` on CSV, Parquet and JSON Lines."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from tests.batch.corrupt import COLUMNS, DOCUMENT, EXPECTED, records
from tests.cli import Ran, accord

# The CLI judges freshness against the clock: the data are from 2024, so it fails as in
# EXPECTED (which was computed for a `now` two hours after the newest row).


def run(*args: str) -> Ran:
    return accord("validate", *args)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    frame = pl.DataFrame(records(), schema={c: None for c in COLUMNS}, infer_schema_length=None)
    contract = root / "shop.orders.json"
    contract.write_text(json.dumps(DOCUMENT))
    frame.write_csv(root / "orders.csv")
    frame.write_parquet(root / "orders.parquet")
    nested = [_nest(r) for r in records()]
    (root / "orders.jsonl").write_text("\n".join(json.dumps(r) for r in nested) + "\n")
    for name, compression in (("orders.csv", "gzip"), ("orders.jsonl", "zstd")):
        suffix = ".gz" if compression == "gzip" else ".zst"
        with pa.output_stream(root / (name + suffix), compression=compression) as out:
            out.write((root / name).read_bytes())
    return {
        "contract": contract,
        "csv": root / "orders.csv",
        "parquet": root / "orders.parquet",
        "jsonl": root / "orders.jsonl",
        "csv.gz": root / "orders.csv.gz",
        "jsonl.zst": root / "orders.jsonl.zst",
    }


def _nest(row: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {k: v for k, v in row.items() if "." not in k and v is not None}
    out["customer"] = {"id": row["customer.id"], "email": row["customer.email"]}
    return out


@pytest.mark.parametrize("kind", ["csv", "parquet", "jsonl", "csv.gz", "jsonl.zst"])
def test_formats_give_the_same_failures(files: dict[str, Path], kind: str, tmp_path: Path) -> None:
    quarantine = tmp_path / "q.parquet"
    result = run(
        str(files[kind]),
        "--contract",
        str(files["contract"]),
        "--format",
        "json",
        "--quarantine",
        str(quarantine),
        "--chunk-rows",
        "1000",
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    failed = {
        c["name"]: c.get("failed_rows", 1)
        for c in report["checks"]
        if c["enforced"] and not c["passed"]
    }
    expected = dict(EXPECTED)
    if kind == "jsonl":
        # JSON has no null-vs-absent for customer.email: absent there, so not_null still.
        pass
    assert failed == expected
    assert report["failed_rows"] == 16
    assert pl.read_parquet(quarantine).height == 16
    email = next(c for c in report["checks"] if c["name"] == "customer.email: format:email")
    assert email["samples"][0]["customer.email"] == "<redacted>"


def test_text_output_and_fail_on(files: dict[str, Path]) -> None:
    result = run(str(files["csv"]), "--contract", str(files["contract"]))
    assert result.returncode == 1
    assert result.stdout.startswith("FAILED: shop.orders on 120 rows")
    assert "error: [schema] amount: minimum (1 rows)" in result.stdout
    assert (
        run(str(files["csv"]), "-c", str(files["contract"]), "--fail-on", "never").returncode == 0
    )


def test_chunks_stay_exact(tmp_path: Path) -> None:
    """Duplicates and row counts across chunk boundaries, in a file read in 1,000-row chunks."""
    doc = {
        "name": "t.keys",
        "owner": {"team": "t"},
        "schema": {"type": "object", "properties": {"k": {"type": "integer"}}},
        "semantics": {"k": {"unique": True}},
        "quality": [
            {"name": "dups", "type": "duplicate_rate", "field": "k", "must_be": 0},
            {"name": "rows", "type": "row_count", "must_be": 4500},
        ],
    }
    contract = tmp_path / "c.json"
    contract.write_text(json.dumps(doc))
    data = tmp_path / "k.csv"
    keys = list(range(3000)) + list(range(0, 3000, 2))  # 1,500 repeats, all in later chunks
    data.write_text("k\n" + "\n".join(map(str, keys)) + "\n")
    result = run(str(data), "-c", str(contract), "-f", "json", "--chunk-rows", "1000")
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["k: unique"]["failed_rows"] == 1500
    assert checks["k: unique"]["failing_indices"][:2] == [3000, 3001]
    assert checks["dups"]["measured"] == pytest.approx(1500 / 4500)
    assert checks["rows"]["passed"]


def test_csv_cells_that_do_not_cast(tmp_path: Path) -> None:
    doc = {
        "name": "t.c",
        "owner": {"team": "t"},
        "schema": {
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}, "b": {"type": "boolean"}},
        },
    }
    contract = tmp_path / "c.json"
    contract.write_text(json.dumps(doc))
    data = tmp_path / "d.csv"
    data.write_text("n,b\n1,true\n2.0,FALSE\nx,yes\n,\n")
    report = json.loads(run(str(data), "-c", str(contract), "-f", "json").stdout)
    failed = {c["name"]: c["failed_rows"] for c in report["checks"] if not c["passed"]}
    assert failed == {"n: type": 1, "n: not_null": 1, "b: type": 1}


def test_json_lines_values_of_another_json_type_are_not_taken_as_text(tmp_path: Path) -> None:
    # polars reads a column of mixed JSON types as text: 12345 and false passed as strings.
    doc = {
        "name": "t.j",
        "owner": {"team": "t"},
        "schema": {
            "type": "object",
            "properties": {
                "sku": {"type": "string"},
                "customer": {"type": "object", "properties": {"email": {"type": "string"}}},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
    }
    contract = tmp_path / "c.json"
    contract.write_text(json.dumps(doc))
    rows = [{"sku": "A"}, {"sku": 12345}, {"sku": False}, {"customer": {"email": 7}}]
    rows += [{"tags": ["a"]}, {"tags": "a"}]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = json.loads(run(str(data), "-c", str(contract), "-f", "json").stdout)
    failed = {c["name"]: c["failed_rows"] for c in report["checks"] if not c["passed"]}
    assert failed == {"sku: type": 2, "customer.email: type": 1, "tags: type": 1}


def test_input_errors_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    missing = run(str(tmp_path / "nope.csv"), "-c", str(files["contract"]))
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr
    odd = tmp_path / "data.xlsx"
    odd.write_text("x")
    result = run(str(odd), "-c", str(files["contract"]))
    assert result.returncode == 2 and "data.xlsx: unknown data format" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: t.bad\nowner: {team: t}\nschema: {type: object}\nrules:\n"
        "  - {name: r, expresion: 'true'}\n"
    )
    result = run(str(files["csv"]), "-c", str(bad))
    assert result.returncode == 2
    assert "bad.yaml" in result.stderr and "/rules/0" in result.stderr
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    result = run(str(broken), "-c", str(files["contract"]))
    assert result.returncode == 2 and "broken.parquet" in result.stderr
    twice = tmp_path / "twice.csv"
    twice.write_text("order_id,amount,order_id\nx,1,y\n")
    result = run(str(twice), "-c", str(files["contract"]))
    assert result.returncode == 2, result.stderr
    assert "twice.csv: line 1: the header names columns twice: order_id" in result.stderr


def test_a_parquet_type_polars_cannot_read_is_an_input_error(
    files: dict[str, Path], tmp_path: Path
) -> None:
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    wide = tmp_path / "wide.parquet"
    pq.write_table(
        pa.table({"amount": pa.array([decimal.Decimal("1.5")], type=pa.decimal256(40, 2))}),
        wide,
    )
    result = run(str(wide), "-c", str(files["contract"]))
    assert result.returncode == 2, result.stderr
    assert "wide.parquet: a column type polars cannot read (amount: decimal256(40, 2)" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def _keys_contract(tmp_path: Path) -> Path:
    """A contract that fails every row whose k is negative."""
    doc = {
        "name": "t.keys",
        "owner": {"team": "t"},
        "schema": {"type": "object", "properties": {"k": {"type": "integer", "minimum": 0}}},
    }
    contract = tmp_path / "c.json"
    contract.write_text(json.dumps(doc))
    return contract


def test_a_quarantine_file_that_is_the_input_is_refused(
    files: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "orders.parquet"
    data.write_bytes(files["parquet"].read_bytes())
    for target in ("orders.parquet", "not-yet/../orders.parquet"):
        result = accord(
            "validate", "orders.parquet", "-c", str(files["contract"]), "--quarantine", target,
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"quarantine file {target} is the input file orders.parquet" in result.stderr
        assert data.read_bytes() == files["parquet"].read_bytes()


def test_files_named_like_part_files_are_left_alone(files: dict[str, Path], tmp_path: Path) -> None:
    # Data files named as a quarantine's part files would be (orders.part1.parquet beside
    # the quarantine orders.parquet): only part files the tool wrote are ever removed.
    for name in ("orders.part1.parquet", "orders.part2.parquet"):
        (tmp_path / name).write_bytes(files["parquet"].read_bytes())
    result = accord(
        "validate", "orders.part1.parquet", "-c", str(files["contract"]),
        "--quarantine", "orders.parquet", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stdout + result.stderr
    for name in ("orders.part1.parquet", "orders.part2.parquet"):
        assert (tmp_path / name).read_bytes() == files["parquet"].read_bytes(), name


def test_the_quarantine_file_holds_this_runs_rows_or_is_gone(tmp_path: Path) -> None:
    contract = _keys_contract(tmp_path)
    failing, passing = tmp_path / "failing.csv", tmp_path / "passing.csv"
    failing.write_text("k\n1\n-1\n-2\n")
    passing.write_text("k\n1\n2\n")
    out = tmp_path / "out"
    quarantine = out / "q.parquet"
    assert run(str(failing), "-c", str(contract), "--quarantine", str(quarantine)).returncode == 1
    assert pl.read_parquet(quarantine)["k"].to_list() == ["-1", "-2"]
    (out / "q.part3.parquet").write_bytes(quarantine.read_bytes())  # an earlier run's part
    (out / "q.parts.parquet").write_text("not ours")

    # A pipeline reading q.parquet after a clean run must not get the earlier run's rows.
    assert run(str(passing), "-c", str(contract), "--quarantine", str(quarantine)).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["q.parts.parquet"]


def test_a_failed_run_leaves_the_previous_quarantine_file_whole(tmp_path: Path) -> None:
    contract = _keys_contract(tmp_path)
    quarantine = tmp_path / "out" / "q.parquet"
    small = tmp_path / "small.csv"
    small.write_text("k\n-5\n")
    assert run(str(small), "-c", str(contract), "--quarantine", str(quarantine)).returncode == 1
    before = quarantine.read_bytes()
    # A failing row in the first 1 MiB block, which is quarantined, then a row CSV refuses.
    broken = tmp_path / "broken.csv"
    broken.write_text("k\n-1\n" + "1\n" * 600_000 + "1,2\n")
    chunks = ("--chunk-rows", "1000")
    result = run(str(broken), "-c", str(contract), "--quarantine", str(quarantine), *chunks)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "broken.csv" in result.stderr
    assert quarantine.read_bytes() == before
    assert [p.name for p in quarantine.parent.iterdir()] == ["q.parquet"]  # no temporary left


def test_undecodable_json_lines_are_an_input_error(files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(b'{"order_id": "a"}\n\n{"order_id": "\xff\xfe"}\n')
    result = accord("validate", "d.jsonl", "-c", str(files["contract"]), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "d.jsonl: line 3: not UTF-8 text" in result.stderr


def test_messages_are_printed_as_they_are(tmp_path: Path, files: dict[str, Path]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t.bad\nowner: {team: t}\nschema: {type: object}\ndescripton: x\n")
    result = run(str(files["csv"]), "-c", str(bad))
    assert result.returncode == 2
    assert "[unknown-key]" in result.stderr and "\\[" not in result.stderr


def test_registry_options_that_cannot_work_are_input_errors(
    files: dict[str, Path], tmp_path: Path
) -> None:
    data, contract = str(files["csv"]), str(files["contract"])
    by_name = run(data, "-c", "shop.orders", "--registry", "http://[::1")
    assert by_name.returncode == 2, by_name.stderr
    assert "--registry: invalid registry URL 'http://[::1'" in by_name.stderr
    reporting = run(data, "-c", contract, "--report", "--registry", "http://[::1")
    assert reporting.returncode == 2 and "--registry" in reporting.stderr, reporting.stderr

    (tmp_path / "taken").write_text("")
    for spool in ("taken", "taken/spool"):
        result = accord(
            "validate", data, "-c", contract, "--report", "--registry", "http://127.0.0.1:1",
            "--spool-dir", spool, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert f"--spool-dir {spool}: " in result.stderr and "Traceback" not in result.stderr


def test_errors_name_the_input_at_fault(files: dict[str, Path], tmp_path: Path) -> None:
    # A bad version in the contract's name is no fault of the data file.
    by_name = run(str(files["csv"]), "-c", "shop.orders@abc")
    assert by_name.returncode == 2
    assert "error: --contract shop.orders@abc: bad contract version" in by_name.stderr
    assert str(files["csv"]) not in by_name.stderr
    # A directory exists: "no such file" would send the user looking for a typo.
    folder = run(str(tmp_path), "-c", str(files["contract"]))
    assert folder.returncode == 2
    assert f"error: {tmp_path}: a directory, not a data file" in folder.stderr
