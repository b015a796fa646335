"""One contract and one corrupted dataset, shared by the pandas, polars and Spark tests.

`records()` builds `ROWS` valid rows and corrupts chosen rows in known ways; `EXPECTED`
is how many rows each check must fail (the same on every backend).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts import Contract

ROWS = 120
NOW = datetime(2024, 3, 1, 14, 0, tzinfo=UTC)

DOCUMENT: dict[str, Any] = {
    "name": "shop.orders",
    "owner": {"team": "checkout"},
    "schema": {
        "type": "object",
        "required": ["order_id", "created_at", "channel", "amount", "customer"],
        "additionalProperties": False,
        "properties": {
            "order_id": {"type": "string", "format": "uuid"},
            "created_at": {"type": "string", "format": "date-time"},
            "shipped_at": {"type": ["string", "null"], "format": "date-time"},
            "channel": {"enum": ["web", "ios", "android"]},
            "amount": {"type": "integer", "minimum": 0, "maximum": 100000},
            "discount": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "coupon": {"type": "string", "maxLength": 8, "pattern": "^[A-Z0-9]+$"},
            "customer": {
                "type": "object",
                "required": ["id", "email"],
                "properties": {
                    "id": {"type": "string", "pattern": "^C[0-9]{4}$"},
                    "email": {"type": "string", "format": "email"},
                },
            },
        },
    },
    "semantics": {
        "order_id": {"primary_key": True},
        "customer.email": {"classification": "pii"},
    },
    "rules": [
        {
            "name": "ships_after_creation",
            "expression": "!has(this.shipped_at) || "
            "timestamp(this.shipped_at) >= timestamp(this.created_at)",
        },
        {"name": "discount_needs_coupon", "expression": "!has(this.discount) || has(this.coupon)"},
        {
            "name": "big_orders_from_web",
            "severity": "warning",
            "expression": "this.amount < 50000 || this.channel == 'web'",
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
        {"name": "enough_rows", "type": "row_count", "must_be_greater_or_equal_to": 100},
        {
            "name": "mostly_web",
            "type": "allowed_values",
            "field": "channel",
            "values": ["web"],
            "must_be_greater_or_equal_to": 0.9,
            "severity": "warning",
        },
        {
            "name": "warehouse_check",
            "type": "custom",
            "engine": "sql",
            "implementation": "select 1",
        },
    ],
    "sla": {
        "freshness": {"field": "created_at", "max_delay": "PT1H"},
        "volume": {"window": "PT1H", "min": 10, "max": 1000},
    },
}

CONTRACT = Contract.from_document(DOCUMENT)
COLUMNS = [
    "order_id",
    "created_at",
    "shipped_at",
    "channel",
    "amount",
    "discount",
    "coupon",
    "customer.id",
    "customer.email",
]


def _uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def records() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(ROWS):
        rows.append(
            {
                "order_id": _uuid(i),
                "created_at": f"2024-03-01T{10 + i % 2:02d}:{i % 60:02d}:00Z",
                "shipped_at": f"2024-03-02T10:{i % 60:02d}:00+01:00" if i % 3 == 0 else None,
                "channel": "web",
                "amount": 100 + i,
                "discount": 0.5 if i % 10 == 0 else None,
                "coupon": f"C{i}" if i % 10 == 0 else None,
                "customer.id": f"C{i:04d}",
                "customer.email": f"user{i}@example.com",
            }
        )

    def put(i: int, **values: Any) -> None:
        rows[i].update({k.replace("__", "."): v for k, v in values.items()})

    put(1, order_id="not-a-uuid")  # format:uuid
    put(2, order_id=_uuid(3))  # unique (row 3 keeps it... row 2 first)
    put(4, created_at="yesterday")  # format:date-time (+ rule error: no)
    put(6, shipped_at="2024-02-01T00:00:00Z")  # rule ships_after_creation
    put(9, shipped_at="soon")  # format + rule (timestamp() error)
    put(11, channel="fax")  # enum
    put(12, channel=None)  # not_null
    put(13, amount=-5)  # minimum
    put(14, amount=200000)  # maximum
    put(15, discount=0.0, coupon="X1")  # exclusiveMinimum
    put(16, discount=0.2)  # rule discount_needs_coupon
    put(17, coupon="toolongcoupon")  # maxLength + pattern
    put(18, coupon="ab")  # pattern
    put(19, customer__id="X12")  # pattern
    put(21, customer__email="nope")  # format:email
    put(22, customer__email=None)  # not_null
    put(23, amount=60000, channel="ios")  # rule big_orders_from_web (warning)
    put(24, channel="ios")  # allowed-values share
    return rows


# Rows failing each check (row checks); 0 for the checks that must pass.
EXPECTED = {
    "order_id: format:uuid": 1,
    "order_id: unique": 1,
    "created_at: format:date-time": 1,
    "shipped_at: format:date-time": 1,
    "channel: enum": 1,
    "channel: not_null": 1,
    "amount: minimum": 1,
    "amount: maximum": 1,
    "discount: exclusiveMinimum": 1,
    "coupon: maxLength": 1,
    "coupon: pattern": 2,
    "customer.id: pattern": 1,
    "customer.email: format:email": 1,
    "customer.email: not_null": 1,
    # Row 4's created_at does not parse: the rule errors there only where it reads it (row 4
    # has no shipped_at, so `!has(...)` decides first); rows 6 and 9 fail.
    "ships_after_creation": 2,
    "discount_needs_coupon": 1,
    "big_orders_from_web": 1,
    # Dataset checks that fail: duplicates (1/120 > 0); the newest row is 2h01m old.
    "ids_unique": 1,
    "freshness": 1,
}
