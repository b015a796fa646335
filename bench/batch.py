"""Batch validation: 1,000,000 rows x 10 columns, and `accord validate` on a 10M-row CSV.

Prints, for one contract (schema checks + 2 CEL rules + 3 quality checks):
- the time of `enforcers.validate` on pandas and on polars, and the time of hand-written
  vectorized pandas checks of the same rules, measured in the same run, with the ratios
  (goals: pandas <= 1.3x, polars <= 0.35x the hand-written pandas time);
- the peak memory (the child process's own RSS high-water mark) of `accord validate` on a
  10,000,000-row CSV generated into a temporary directory (goal: below 1 GiB).

Usage: python bench/batch.py [--rows N] [--csv-rows N] [--skip-csv]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

warnings.filterwarnings("ignore")

CONTRACT: dict[str, Any] = {
    "name": "bench.orders",
    "owner": {"team": "bench"},
    "schema": {
        "type": "object",
        "required": ["order_id", "created_at", "channel", "amount", "customer", "country"],
        "properties": {
            "order_id": {"type": "string", "format": "uuid"},
            "created_at": {"type": "string", "format": "date-time"},
            "shipped_at": {"type": ["string", "null"], "format": "date-time"},
            "channel": {"enum": ["web", "ios", "android"]},
            "amount": {"type": "integer", "minimum": 0, "maximum": 1000000},
            "discount": {"type": "number", "minimum": 0, "maximum": 1},
            "coupon": {"type": "string", "maxLength": 16},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "customer": {
                "type": "object",
                "required": ["id", "email"],
                "properties": {
                    "id": {"type": "string", "pattern": "^C[0-9]{8}$"},
                    "email": {"type": "string", "format": "email"},
                },
            },
        },
    },
    "semantics": {"order_id": {"primary_key": True}, "customer.email": {"classification": "pii"}},
    "rules": [
        {
            "name": "ships_after_creation",
            "expression": "!has(this.shipped_at) || "
            "timestamp(this.shipped_at) >= timestamp(this.created_at)",
        },
        {
            "name": "big_orders_from_web",
            "expression": "this.amount < 500000 || this.channel == 'web'",
        },
    ],
    "quality": [
        {"name": "ids_unique", "type": "duplicate_rate", "field": "order_id", "must_be": 0},
        {
            "name": "coupons_rare",
            "type": "null_rate",
            "field": "coupon",
            "must_be_greater_than": 0.5,
        },
        {"name": "enough_rows", "type": "row_count", "must_be_greater_than": 0},
    ],
}
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
DATE_TIME = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


# `accord validate` reporting its own peak RSS (VmHWM) as it exits. The rusage of a child
# is no use here: Linux counts the parent's resident set, at the fork before the exec, in
# the child's high-water mark, and this process holds the 1M-row frames by then.
PEAK_REPORTING_CLI = """
import atexit, re, sys

def report_peak():
    status = open("/proc/self/status").read()
    kib = re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)
    sys.stderr.write(f"\\npeak-rss-kib {kib}\\n")

atexit.register(report_peak)
from accord.cli import main
sys.argv[0] = "accord"
main()
"""


def generate(n: int, seed: int = 0, start: int = 0) -> pl.DataFrame:
    """n rows, about 0.1% of them corrupted in one way or another."""
    rng = np.random.default_rng(seed)
    i = np.arange(start, start + n)
    created = np.datetime64("2024-01-01T00:00:00") + rng.integers(0, 86400 * 30, n).astype(
        "timedelta64[s]"
    )
    shipped = created + rng.integers(-3600, 86400 * 3, n).astype("timedelta64[s]")
    df = pl.DataFrame(
        {
            "order_id": [f"{x:08x}-0000-4000-8000-{x:012x}" for x in i],
            "created_at": pl.Series(created.astype("datetime64[ms]")).dt.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "shipped_at": pl.Series(shipped.astype("datetime64[ms]")).dt.strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"
            ),
            "channel": rng.choice(
                ["web", "ios", "android", "fax"], n, p=[0.6, 0.2, 0.1995, 0.0005]
            ),
            "amount": rng.integers(-1, 700000, n),
            "discount": np.round(rng.random(n) * 1.001, 3),
            "coupon": rng.choice(["SPRING24", "WELCOME", "a-very-long-coupon-code"], n),
            "country": rng.choice(["DE", "FR", "US", "usa"], n, p=[0.5, 0.3, 0.1995, 0.0005]),
            "customer.id": [f"C{x % 100000000:08d}" for x in i],
            "customer.email": [f"user{x}@example.com" for x in i],
        }
    )
    nulls = rng.random(n)
    return df.with_columns(
        pl.when(pl.Series(nulls < 0.5))
        .then(None)
        .otherwise(pl.col("shipped_at"))
        .alias("shipped_at"),
        pl.when(pl.Series(nulls > 0.2)).then(None).otherwise(pl.col("coupon")).alias("coupon"),
        pl.when(pl.Series(rng.random(n) < 0.001))
        .then(pl.lit("00000000-0000-4000-8000-000000000001"))
        .otherwise(pl.col("order_id"))
        .alias("order_id"),
    )


def hand_written(df: pd.DataFrame) -> dict[str, int]:
    """The same checks, written by hand as vectorized pandas."""
    out: dict[str, int] = {}
    for col in (
        "order_id",
        "created_at",
        "channel",
        "amount",
        "country",
        "customer.id",
        "customer.email",
    ):
        out[f"{col} not null"] = int(df[col].isna().sum())
    out["order_id uuid"] = int((~df["order_id"].str.contains(UUID, na=True)).sum())
    out["order_id unique"] = int(df["order_id"].duplicated().sum())
    for col in ("created_at", "shipped_at"):
        out[f"{col} date-time"] = int((~df[col].str.contains(DATE_TIME, na=True)).sum())
    out["channel enum"] = int(
        (~df["channel"].isin(["web", "ios", "android"]) & df["channel"].notna()).sum()
    )
    out["amount type"] = int(not pd.api.types.is_integer_dtype(df["amount"]))
    out["amount range"] = int((~df["amount"].between(0, 1000000)).sum())
    out["discount range"] = int((~df["discount"].between(0, 1) & df["discount"].notna()).sum())
    out["coupon length"] = int((df["coupon"].str.len() > 16).sum())
    out["country pattern"] = int((~df["country"].str.contains("^[A-Z]{2}$", na=True)).sum())
    out["customer.id pattern"] = int(
        (~df["customer.id"].str.contains("^C[0-9]{8}$", na=True)).sum()
    )
    out["email format"] = int((~df["customer.email"].str.contains(EMAIL, na=True)).sum())
    shipped = pd.to_datetime(df["shipped_at"], format="ISO8601", utc=True, errors="coerce")
    created = pd.to_datetime(df["created_at"], format="ISO8601", utc=True, errors="coerce")
    out["ships_after_creation"] = int((df["shipped_at"].notna() & ~(shipped >= created)).sum())
    out["big_orders_from_web"] = int((~((df["amount"] < 500000) | (df["channel"] == "web"))).sum())
    out["ids_unique"] = int(df["order_id"].duplicated().sum())
    out["coupons_rare"] = int(df["coupon"].isna().sum())
    out["enough_rows"] = len(df)
    return out


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--csv-rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-csv", action="store_true")
    args = parser.parse_args()

    from contracts import Contract
    from enforcers import validate

    contract = Contract.from_document(CONTRACT)
    frame = generate(args.rows)
    pdf = frame.to_pandas()
    print(
        f"{args.rows:,} rows x {frame.width} columns; pandas {pd.__version__}, "
        f"polars {pl.__version__}"
    )
    report = validate(pdf, contract)  # warm-up (imports, compiled rules)
    validate(frame, contract)
    hand = best(lambda: hand_written(pdf), args.repeat)
    on_pandas = best(lambda: validate(pdf, contract), args.repeat)
    on_polars = best(lambda: validate(frame, contract), args.repeat)
    print(
        f"  checks: {len(report.checks)} ({report.rules_row_wise} rules row-wise), "
        f"{report.failed_rows:,} failing rows"
    )
    print(f"  hand-written pandas checks   {hand:7.3f} s")
    print(
        f"  validate(pandas DataFrame)   {on_pandas:7.3f} s   {on_pandas / hand:5.2f}x"
        "   (goal <= 1.3x)"
    )
    print(
        f"  validate(polars DataFrame)   {on_polars:7.3f} s   {on_polars / hand:5.2f}x"
        "   (goal <= 0.35x)"
    )
    if args.skip_csv:
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "orders.csv"
        step = 1_000_000
        with data.open("wb") as f:
            for k, start in enumerate(range(0, args.csv_rows, step)):
                chunk = generate(min(step, args.csv_rows - start), seed=k + 1, start=start)
                chunk.write_csv(f, include_header=k == 0)
        contract_file = root / "contract.json"
        contract_file.write_text(json.dumps(CONTRACT))
        arguments = ["validate", str(data), "--contract", str(contract_file), "--format", "json"]
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", PEAK_REPORTING_CLI, *arguments],
            capture_output=True,
            text=True,
            cwd=root,
        )
        elapsed = time.perf_counter() - start
        found = re.search(r"^peak-rss-kib (\d+)$", result.stderr, re.MULTILINE)
        assert found, result.stderr[-2000:]
        peak = int(found.group(1)) * 1024
        rows = json.loads(result.stdout)["rows"] if result.stdout else "?"
        size = data.stat().st_size
        print(
            f"accord validate on a {size / 2**30:.2f} GiB CSV ({rows:,} rows): {elapsed:.1f} s, "
            f"peak RSS {peak / 2**20:.0f} MiB   (goal < 1024 MiB)"
        )


if __name__ == "__main__":
    main()
