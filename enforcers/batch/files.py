"""Validating a file in chunks with bounded memory: CSV, Parquet and JSON Lines.

Chunks are read with pyarrow's streaming readers (CSV, Parquet) or line-aligned blocks
(JSON Lines) and validated as polars frames. Row checks are per row, so per-chunk results
add up; dataset checks keep accumulators that stay exact across chunks: counts for null
rates, allowed-value shares and the row count, the newest event time for freshness, and
the keys seen so far (two 64-bit hashes per key) for uniqueness and duplicate rates.

CSV has no types: every column is read as text and cast to the contract's type, and a cell
that does not cast is a type failure of that row (``"12x"`` for an integer).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from contracts import Severity
from enforcers.batch.backends.polars import KeySet, PolarsBackend
from enforcers.batch.plan import Measures, RowCheck, make_plan
from enforcers.batch.report import CheckResult, ValidationReport
from enforcers.batch.rowwise import items_validator
from enforcers.batch.spec import ColumnSpec, NotChecked, TableSpec, table_spec
from enforcers.batch.validate import (
    ContractRef,
    Reporter,
    _order,
    judge_dataset,
    resolve_contract,
)

__all__ = ["DataError", "detect_format", "validate_file"]

FORMATS = ("csv", "parquet", "jsonl")
Progress = Callable[[int, int], None]  # (done, total) in bytes or rows


class DataError(Exception):
    """The data file cannot be read (missing, unreadable, not the format it claims)."""


# Compressed data files, read through Arrow's decompressing stream.
_COMPRESSION = {".gz": "gzip", ".zst": "zstd"}


def _inner_suffix(path: Path) -> str:
    """The suffix naming the format: ``.csv`` of ``orders.csv.gz`` too."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSION:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def detect_format(path: Path) -> str:
    last = _inner_suffix(path)
    if last in (".csv", ".tsv"):
        return "csv"
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise DataError(
        f"{path}: unknown data format {last or '(no extension)'!r}: "
        "expected .csv, .parquet or .jsonl"
    )


@dataclass(slots=True)
class Chunk:
    frame: pl.DataFrame  # typed, as validated
    raw: pl.DataFrame  # as read (CSV: text), for the quarantine file
    casts: dict[str, pl.Series] = field(default_factory=dict)
    items: dict[str, pl.Series] = field(default_factory=dict)  # see `_item_failures`


# -- readers ----------------------------------------------------------------------------------


class _Counting(io.RawIOBase):
    """A file that counts the bytes read from it (progress for streaming readers)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw, self.read_bytes = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self.raw.readinto(b)
        self.read_bytes += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


def _first_line(stream: Any) -> bytes:
    """The first line of `stream` (Arrow's decompressing stream has no readline)."""
    head = b""
    while b"\n" not in head:
        data = stream.read(1 << 16)
        if not data:
            break
        head += data
    return head.split(b"\n", 1)[0] + b"\n"


def _open_data(path: Path) -> tuple[Any, _Counting]:
    """`path` to read, decompressed when its name ends in .gz or .zst; and the file on disk
    under it, which counts the bytes read from it (progress against the file's size)."""
    import pyarrow as pa

    counting = _Counting(path.open("rb"))
    compression = _COMPRESSION.get(path.suffix.lower())
    if compression is None:
        return counting, counting
    return pa.CompressedInputStream(counting, compression), counting


def read_csv(path: Path, spec: TableSpec, rows: int) -> Iterator[tuple[Chunk, int, int]]:
    import pyarrow as pa
    from pyarrow import csv

    total = path.stat().st_size
    stream, counting = _open_data(path)
    try:
        header = _first_line(stream)
    except OSError as exc:  # not gzip after all, truncated...
        raise DataError(f"{path}: cannot read: {exc}") from None
    finally:
        stream.close()
    import csv as csv_module

    try:
        text = header.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: line 1: not UTF-8 text: {exc}") from None
    names: list[str] = next(iter(csv_module.reader([text])), [])
    if not names:
        raise DataError(f"{path}: empty CSV (no header)")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataError(f"{path}: line 1: the header names columns twice: {', '.join(repeated)}")
    stream, counting = _open_data(path)
    tsv = _inner_suffix(path) == ".tsv"
    try:
        reader = csv.open_csv(
            stream,
            read_options=csv.ReadOptions(block_size=max(1 << 20, rows * 64)),
            parse_options=csv.ParseOptions(delimiter="\t" if tsv else ","),
            convert_options=csv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True
            ),
        )
        empty = True
        for batch in reader:
            raw_frame = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(raw_frame, pl.DataFrame)
            frame, casts = cast_text(raw_frame, spec)
            empty = False
            yield Chunk(frame, raw_frame, casts), counting.read_bytes, total
        if empty:  # a header only: its columns are still checked (a required one missing)
            raw_frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
            frame, casts = cast_text(raw_frame, spec)
            yield Chunk(frame, raw_frame, casts), total, total
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable CSV: {exc}") from None
    finally:
        stream.close()


def cast_text(frame: pl.DataFrame, spec: TableSpec) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Text columns cast to the contract's types; which non-empty cells did not cast."""
    exprs = []
    for c in spec.columns:
        if c.name not in frame.schema or frame.schema[c.name] != pl.String:
            continue
        text = pl.col(c.name).str.strip_chars()
        if c.kind == "integer":
            as_float = text.cast(pl.Float64, strict=False)
            integral = pl.when(as_float.is_finite() & (as_float.floor() == as_float)).then(as_float)
            exprs.append(
                pl.coalesce(
                    text.cast(pl.Int64, strict=False), integral.cast(pl.Int64, strict=False)
                ).alias(c.name)
            )
        elif c.kind == "number":
            exprs.append(text.cast(pl.Float64, strict=False).alias(c.name))
        elif c.kind == "boolean":
            low = text.str.to_lowercase()
            exprs.append(
                pl.when(low == "true").then(True).when(low == "false").then(False).alias(c.name)
            )
    if not exprs:
        return frame, {}
    typed = frame.with_columns(exprs)
    names = [e.meta.output_name() for e in exprs]
    failed = (
        frame.select([(pl.col(n).is_not_null() & typed[n].is_null()).alias(n) for n in names])
        if names
        else pl.DataFrame()
    )
    casts = {n: failed[n] for n in names if failed[n].any()}
    return typed, casts


def read_parquet(path: Path, rows: int) -> Iterator[tuple[Chunk, int, int]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.suffix.lower() in _COMPRESSION:
        raise DataError(f"{path}: Parquet compresses its own pages; decompress the file to read it")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from None
    total = parquet.metadata.num_rows
    done = 0
    empty = True
    for batch in parquet.iter_batches(batch_size=rows):
        try:
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
        except BaseException as exc:  # polars panics (a BaseException) on some types
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            types = ", ".join(f"{f.name}: {f.type}" for f in batch.schema)
            raise DataError(f"{path}: a column type polars cannot read ({types}): {exc}") from None
        assert isinstance(frame, pl.DataFrame)
        done += frame.height
        empty = False
        yield Chunk(frame, frame), done, total
    if empty:  # no rows: its columns are still checked (a required one missing)
        frame = pl.from_arrow(parquet.schema_arrow.empty_table())
        assert isinstance(frame, pl.DataFrame)
        yield Chunk(frame, frame), total, total


def read_jsonl(path: Path, spec: TableSpec, rows: int) -> Iterator[tuple[Chunk, int, int]]:
    total = path.stat().st_size
    block = max(1 << 20, rows * 256)
    stream, counting = _open_data(path)
    line = 1  # of the first line of the next body, for errors
    try:
        carry = b""
        while True:
            try:
                data = stream.read(block)
            except OSError as exc:  # not gzip after all, truncated...
                raise DataError(f"{path}: cannot read: {exc}") from None
            if not data:
                chunk = _parse_jsonl(carry, spec, path, line) if carry.strip() else None
                if chunk is not None:
                    yield chunk, total, total
                break
            data = carry + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            body, carry = data[:cut], data[cut:]
            chunk = _parse_jsonl(body, spec, path, line)
            line += body.count(b"\n")
            if chunk is not None:
                yield chunk, min(counting.read_bytes, total), total
    finally:
        stream.close()


def _parse_jsonl(body: bytes, spec: TableSpec, path: Path, first_line: int) -> Chunk | None:
    """The lines of `body`, which starts at line `first_line` of `path`, as a chunk."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    if not lines:
        return None
    text = b"\n".join(lines)
    try:
        frame = pl.read_ndjson(io.BytesIO(text), infer_schema_length=None)
        if not _needs_exact(frame, spec) and _typed_as_read(frame, text):
            return Chunk(frame, frame)
    except Exception:  # an unparseable line or a column polars cannot type: line by line
        pass
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Not text at all (a binary file, another encoding): the input is wrong, not the
        # rows, as for CSV. Checked only here: a chunk polars read was valid UTF-8.
        line = first_line + body.count(b"\n", 0, exc.start)
        raise DataError(f"{path}: line {line}: not UTF-8 text: {exc.reason}") from None
    return _records_chunk(lines, spec)


def _needs_exact(frame: pl.DataFrame, spec: TableSpec) -> bool:
    """A text column where the contract wants numbers or booleans: polars may have turned
    mixed JSON types into text, so the chunk is re-read keeping each value's own type."""
    from enforcers.batch.backends.polars import flatten

    flat = flatten(frame, [c.name for c in spec.columns if c.container])
    for c in spec.columns:
        if (
            c.name in flat.schema
            and flat.schema[c.name] == pl.String
            and (c.kind in ("integer", "number", "boolean"))
        ):
            return True
    return False


def _typed_as_read(frame: pl.DataFrame, text: bytes) -> bool:
    """Whether every value of `text` has the JSON type of its column in `frame`.

    polars turns a column of mixed JSON types into text: 12345, false, {"a": 1} in a
    column of strings become "12345", "false", '{"a": 1}', and pass as strings. Arrow's
    JSON reader, given the same types, refuses any value of another type (a few times
    faster than polars's own read).
    """
    fields = [(name, _arrow_type(dtype)) for name, dtype in frame.schema.items()]
    if any(t is None for _, t in fields):
        return False  # a type Arrow's reader does not take (Int128...): read exactly
    options = pa_json.ParseOptions(
        explicit_schema=pa.schema(fields), unexpected_field_behavior="error"
    )
    try:
        pa_json.read_json(io.BytesIO(text), parse_options=options)
    except (pa.ArrowException, ValueError):
        return False
    return True


def _arrow_type(dtype: Any) -> pa.DataType | None:
    simple = {pl.String: pa.string(), pl.Int64: pa.int64(), pl.Float64: pa.float64()}
    simple |= {pl.Boolean: pa.bool_(), pl.Null: pa.null()}
    for polars_type, arrow_type in simple.items():
        if dtype == polars_type:
            return arrow_type
    if isinstance(dtype, pl.List):
        inner = _arrow_type(dtype.inner)
        return None if inner is None else pa.list_(inner)
    if isinstance(dtype, pl.Struct):
        fields = [(f.name, _arrow_type(f.dtype)) for f in dtype.fields]
        if any(t is None for _, t in fields):
            return None
        return pa.struct(fields)
    return None


def _records_chunk(lines: list[bytes], spec: TableSpec) -> Chunk:
    rows: list[dict[str, Any]] = []
    unparseable = []
    split = frozenset(spec.split)
    for i, line in enumerate(lines):
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            unparseable.append(i)
            value = {}
        rows.append(_flat(value, split))
    names = list(dict.fromkeys(k for r in rows for k in r))
    kinds = {c.name: c.kind for c in spec.columns}
    columns: dict[str, pl.Series] = {}
    casts: dict[str, pl.Series] = {}
    items: dict[str, pl.Series] = {}
    for name in names:
        values = [r.get(name) for r in rows]
        kind = kinds.get(name, "any")
        ok = _type_filter(kind)
        if ok is not None:
            wrong = [v is not None and not ok(v) for v in values]
            if any(wrong):
                casts[name] = pl.Series(name, wrong)
                values = [None if w else v for v, w in zip(values, wrong, strict=True)]
        try:
            columns[name] = pl.Series(name, values, strict=False)
        except Exception:
            columns[name] = pl.Series(name, [None if v is None else str(v) for v in values])
        column = spec.column(name)
        if column is not None and kinds[name] == "array" and column.element_schema is not None:
            failures = _item_failures(column, column.element_schema, values, columns[name])
            if failures is not None:
                items[name] = failures
    frame = pl.DataFrame(columns) if columns else pl.DataFrame({"_": [None] * len(rows)})
    if unparseable:
        marks = np.zeros(len(rows), dtype=bool)
        marks[unparseable] = True
        casts["__json__"] = pl.Series(marks)
    return Chunk(frame, frame, casts, items)


def _item_failures(
    c: ColumnSpec, element: Mapping[str, Any], values: list[Any], read: pl.Series
) -> pl.Series | None:
    """Per row, whether the array's items as they came fail the element schema; None when
    polars kept every array as it came. A list column holds one item type, so polars makes
    one of mixed JSON items ([1] among lists of strings is read ["1"], 2.5 among ints 2),
    which the `items` check could not see."""
    if all(_same(a, b) for a, b in zip(values, read.to_list(), strict=True)):
        return None
    ok = items_validator(c, element)
    return pl.Series(c.name, [v is not None and not ok(v) for v in values], dtype=pl.Boolean)


def _same(a: Any, b: Any) -> bool:
    """The same JSON value, of the same Python types (1 is not "1", nor 1.0, nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _type_filter(kind: str) -> Callable[[Any], bool] | None:
    if kind == "integer":
        return lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, float) and v.is_integer())
        )
    if kind == "number":
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool)
    if kind == "boolean":
        return lambda v: isinstance(v, bool)
    if kind == "string":
        return lambda v: isinstance(v, str)
    if kind == "array":
        return lambda v: isinstance(v, list)
    if kind == "object":  # an object without declared properties: a column of its own
        return lambda v: isinstance(v, dict)
    return None


def _flat(value: dict[str, Any], split: frozenset[str], prefix: str = "") -> dict[str, Any]:
    """`value` as dotted columns. An empty object where the contract declares one with
    properties has no column (its fields are absent): a column of its name is left for
    values that are not objects, which fail its type check."""
    out: dict[str, Any] = {}
    for k, v in value.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_flat(v, split, f"{name}."))
        elif not (v == {} and name in split):
            out[name] = v
    return out


# -- validating -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Acc:
    check: RowCheck
    failed: int = 0
    indices: list[int] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    column_missing: bool = False


def validate_file(
    path: str | Path,
    contract: ContractRef,
    *,
    version: int | None = None,
    fmt: str | None = None,
    chunk_rows: int = 100_000,
    quarantine: str | Path | None = None,
    progress: Progress | None = None,
    reporter: Reporter | None = None,
    now: datetime | None = None,
    samples: int = 5,
    max_indices: int = 1000,
    registry: str | None = None,
) -> ValidationReport:
    """Validate a CSV, Parquet or JSON Lines file chunk by chunk (memory bounded by the
    chunk size and the keys kept for uniqueness). Row indices are 0-based data rows.
    A contract named rather than given is fetched from `registry` (or ACCORD_REGISTRY_URL)."""
    started = time.perf_counter()
    path = Path(path)
    _release_memory_promptly()
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    kind = fmt or detect_format(path)
    if kind not in FORMATS:
        raise DataError(f"{path}: unknown format {kind!r}: expected one of {', '.join(FORMATS)}")
    resolved = resolve_contract(contract, version, registry=registry)
    spec = table_spec(resolved.contract)
    plan = make_plan(resolved.contract, spec, samples=samples)
    if kind == "csv":
        chunks = read_csv(path, spec, chunk_rows)
    elif kind == "parquet":
        chunks = read_parquet(path, chunk_rows)
    else:
        chunks = read_jsonl(path, spec, chunk_rows)
    keysets: dict[tuple[str, ...], KeySet] = {}
    accs: dict[str, _Acc] = {}
    measures = Measures()
    notes: dict[tuple[str, str], NotChecked] = {}
    offset = failed_rows = 0
    writer = _Quarantine(Path(quarantine), path) if quarantine is not None else None
    parse_check = RowCheck(
        "schema", "(record): json", "json", None, Severity.ERROR, "line is not a JSON object"
    )
    try:
        for chunk, done, total in chunks:
            casts = dict(chunk.casts)
            unparseable = casts.pop("__json__", None)
            backend = PolarsBackend(
                keysets=keysets, offset=offset, cast_failures=casts, item_failures=chunk.items
            )
            evaluation = backend.evaluate(chunk.frame, plan)
            outcomes = list(evaluation.outcomes)
            bad = evaluation.failing if evaluation.failing is not None else np.zeros(0, np.int64)
            if unparseable is not None:
                positions = np.flatnonzero(unparseable.to_numpy()).astype(np.int64)
                from enforcers.batch.plan import RowOutcome

                outcomes.append((parse_check, RowOutcome(len(positions), positions + offset)))
                bad = np.union1d(bad, positions + offset)
            for row_check, outcome in outcomes:
                acc = accs.setdefault(row_check.name, _Acc(row_check))
                acc.failed += outcome.failed
                acc.column_missing |= outcome.column_missing
                if outcome.positions is not None and len(acc.indices) < max_indices:
                    room = max_indices - len(acc.indices)
                    acc.indices.extend(int(p) for p in outcome.positions[:room])
                if len(acc.samples) < samples:
                    acc.samples.extend(outcome.samples[: samples - len(acc.samples)])
            measures.add(evaluation.measures)
            for note in evaluation.notes:
                notes[(note.field, note.reason)] = note
            failed_rows += len(bad)
            if writer is not None and len(bad):
                writer.write(chunk.raw, bad - offset, offset, outcomes)
            offset += chunk.frame.height
            if progress is not None:
                progress(done, total)
        if writer is not None:
            writer.commit()
    except DataError:
        raise
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    finally:
        if writer is not None:
            writer.discard()
    order = _order(spec, resolved.contract)
    checks = [
        CheckResult(
            category=a.check.category,
            name=a.check.name,
            check=a.check.check,
            field=a.check.field,
            severity=a.check.severity,
            passed=a.failed == 0 and not a.column_missing,
            message=a.check.message,
            failed_rows=a.failed,
            failing_indices=a.indices,
            samples=a.samples,
            row_wise=a.check.row_wise,
        )
        for a in sorted(accs.values(), key=lambda a: order(a.check))
    ]
    checks.extend(judge_dataset(resolved.contract, measures, now=now))
    report = ValidationReport(
        contract=resolved.contract.name,
        version=resolved.version,
        backend=f"polars ({kind}, streamed)",
        rows=measures.rows,
        checks=checks,
        not_checked=list(spec.not_checked) + list(notes.values()),
        failed_rows=failed_rows,
        source=str(path),
    )
    report.duration_s = time.perf_counter() - started
    if reporter is not None:
        reporter.report(report, str(path))
    return report


def _release_memory_promptly() -> None:
    """Let Arrow's allocator hand freed chunks back to the system at once."""
    try:
        import pyarrow as pa

        pa.jemalloc_set_decay_ms(0)
    except Exception:  # another allocator: nothing to tune
        pass


class _Quarantine:
    """Failing rows, as read, in one Parquet file (0-based row number and the failing
    checks' names added); rows of a chunk typed differently in part files beside it.

    Everything is written to temporary files in the same directory and renamed over the
    targets by `commit`, at the end of a run: an interrupted or failed run leaves the
    previous files as they were, never half-written ones. A run without failing rows
    removes the previous files: a quarantine file that exists holds this run's rows.
    """

    def __init__(self, path: Path, data: Path) -> None:
        if path.suffix != ".parquet":
            path = path / "quarantine.parquet"
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._error(exc) from None
        self.data = data
        self._refuse_input(path)
        self.writer: Any = None
        self.part = 0
        self.written: list[tuple[Path, Path]] = []  # (temporary, target), main file first
        self.main = self._temporary(path)

    def _refuse_input(self, target: Path) -> None:
        # Checked once the directory exists: `a/../data.parquet` names the input only then.
        # samefile: links too.
        if target.exists() and target.samefile(self.data):
            raise DataError(
                f"quarantine file {target} is the input file {self.data}: name another file"
            )

    def _error(self, exc: OSError) -> DataError:
        return DataError(f"quarantine file {self.path}: cannot write: {exc.strerror or exc}")

    def _temporary(self, target: Path) -> Path:
        """A new empty file beside `target`, to be renamed over it."""
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            # Not tempfile.mkstemp: its 0600 would be the quarantine file's mode.
            os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except OSError as exc:
            raise self._error(exc) from None
        self.written.append((temporary, target))
        return temporary

    def write(self, raw: pl.DataFrame, local: Any, offset: int, outcomes: list[Any]) -> None:
        import pyarrow.parquet as pq

        reasons: dict[int, list[str]] = {int(p): [] for p in local}
        for row_check, outcome in outcomes:
            if row_check.severity is not Severity.ERROR or outcome.positions is None:
                continue
            for p in outcome.positions:
                q = int(p) - offset
                if q in reasons:
                    reasons[q].append(row_check.name)
        rows = raw[np.asarray(local, dtype=np.int64)]
        rows = rows.with_columns(
            pl.Series("_accord_row", np.asarray(local, dtype=np.int64) + offset),
            pl.Series(
                "_accord_failed_checks", [reasons[int(p)] for p in local], dtype=pl.List(pl.String)
            ),
        )
        # Marked as ours: a later run removes stale part files only if they carry the mark,
        # never a user's file that happens to be named like one.
        table = rows.to_arrow().replace_schema_metadata(_MARK)
        try:
            if self.writer is None:
                self.writer = pq.ParquetWriter(self.main, table.schema)
            try:
                table = table.select(self.writer.schema.names).cast(self.writer.schema)
            except Exception:  # a chunk typed differently (JSON Lines): a part file of its own
                self.part += 1
                target = self.path.with_suffix(f".part{self.part}.parquet")
                self._refuse_input(target)
                pq.write_table(
                    rows.to_arrow().replace_schema_metadata(_MARK), self._temporary(target)
                )
                return
            self.writer.write_table(table)
        except OSError as exc:
            raise self._error(exc) from None

    def commit(self) -> None:
        """Put this run's files in place of the previous ones."""
        try:
            if self.writer is not None:
                self.writer.close()
                self.writer = None
            else:  # no failing row: no file, rather than an earlier run's
                self.main.unlink()
                self.written.pop(0)
                self.path.unlink(missing_ok=True)
            kept = {target for _, target in self.written}
            stem = self.path.stem
            for stale in self.path.parent.iterdir():  # an earlier run's part files
                name = stale.name
                if (
                    stale not in kept
                    and name.startswith(stem)
                    and _PART.fullmatch(name[len(stem) :])
                    and _ours(stale)
                ):
                    stale.unlink()
            for temporary, target in self.written:
                os.replace(temporary, target)
            self.written = []
        except OSError as exc:
            raise self._error(exc) from None

    def discard(self) -> None:
        """Remove this run's temporary files (after a failure: the previous files stay)."""
        if self.writer is not None:
            # Already failing: the first error is the one to report.
            with contextlib.suppress(Exception):
                self.writer.close()
        for temporary, _ in self.written:
            temporary.unlink(missing_ok=True)
        self.written = []


_PART = re.compile(r"\.part[0-9]+\.parquet")
_MARK = {b"accord": b"quarantine"}


def _ours(path: Path) -> bool:
    """Whether `path` is a quarantine file this tool wrote (not the input, not a user's)."""
    import pyarrow.parquet as pq

    try:
        return (pq.read_schema(path).metadata or {}).get(b"accord") == _MARK[b"accord"]
    except Exception:  # not Parquet, unreadable: not ours either
        return False
