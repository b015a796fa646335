"""Does the registry keep serving while some clients send hostile input?

Starts ``accord serve`` (authentication on, a rate limit per token) on a free loopback port
over a fresh SQLite file, then for a bounded time runs a few threads of well-formed
requests (read the latest version, dry-run a check, publish a new version) next to a few
threads of hostile ones (bodies over the limit, declared and chunked; deeply nested and
alias-bomb YAML; regular expressions that backtrack; $ref cycles; bad tokens; a flood from
one token). Prints, per kind, requests, statuses and latency, and the error rate of the
well-formed requests: the goal is 0.

    python bench/hostile.py [--seconds 15] [--good 3] [--bad 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' process helpers
from tests.conftest import ACCORD
from tests.processes import running_registry

RATE = "6000/minute"  # 100 requests/s per token: the flood hits it, the good clients do not


def _token(env: dict[str, str], role: str, *teams: str) -> str:
    args = [ACCORD, "token", "create", "--role", role]
    for team in teams:
        args += ["--team", team]
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _doc(name: str, fields: int) -> dict[str, Any]:
    properties = {"id": {"type": "string"}} | {f"f{i}": {"type": "string"} for i in range(fields)}
    return {
        "name": name,
        "owner": {"team": "payments"},
        "compatibility": {"mode": "BACKWARD", "policy": "STRICT"},
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id"],
            "properties": properties,
        },
    }


def _hostile_bodies() -> list[tuple[str, bytes, str]]:
    deep = "name: bench.hostile\nschema: " + "[" * 50_000 + "]" * 50_000
    bomb = "name: bench.hostile\nowner: {team: payments}\na: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{','.join([f'*{p}'] * 10)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    evil = _doc("bench.hostile", 1)
    evil["schema"]["properties"]["f0"]["pattern"] = "^(a|a)*\\1$"
    cycle = _doc("bench.hostile", 1)
    cycle["schema"]["allOf"] = [{"$ref": "#"}]
    nested = '{"type":"object"}'
    for _ in range(150):
        nested = '{"type":"object","properties":{"a":' + nested + "}}"
    return [
        ("huge", b"{" + b" " * (2 * 1024 * 1024) + b"}", "application/json"),
        ("deep-yaml", deep.encode(), "application/yaml"),
        ("alias-bomb", bomb.encode(), "application/yaml"),
        ("evil-regex", json.dumps(evil).encode(), "application/json"),
        ("ref-cycle", json.dumps(cycle).encode(), "application/json"),
        ("deep-json", f'{{"name":"bench.hostile","schema":{nested}}}'.encode(), "application/json"),
        ("not-utf8", b"name: \xff\xfe\xfd", "application/yaml"),
    ]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)

    def add(self, kind: str, status: str, seconds: float) -> None:
        with self.lock:
            self.statuses[kind][status] += 1
            self.latency[kind].append(seconds)


def _timed(
    stats: Stats, kind: str, call: Callable[..., httpx.Response], *args: Any, **kwargs: Any
) -> None:
    started = time.perf_counter()
    try:
        status = str(call(*args, **kwargs).status_code)
    except httpx.HTTPError as exc:
        status = type(exc).__name__
    stats.add(kind, status, time.perf_counter() - started)


def _good(url: str, token: str, index: int, stop: float, stats: Stats) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    name = f"bench.good{index}"
    fields = 0
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        client.post(f"/contracts/{name}/versions", json=_doc(name, fields))
        turn = 0
        while time.monotonic() < stop:
            turn += 1
            if turn % 10 == 0:
                fields += 1
                doc = _doc(name, fields)
                _timed(stats, "good publish", client.post, f"/contracts/{name}/versions", json=doc)
            elif turn % 3 == 0:
                doc = _doc(name, fields + 1)
                _timed(
                    stats, "good check", client.post, f"/contracts/{name}/compatibility", json=doc
                )
            else:
                _timed(stats, "good read", client.get, f"/contracts/{name}/versions/latest")
            time.sleep(0.02)


def _bad(url: str, token: str, index: int, stop: float, stats: Stats) -> None:
    bodies = _hostile_bodies()
    headers = {"Authorization": f"Bearer {token}"}
    turn = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() < stop:
            turn += 1
            if index == 0 and turn % 4 == 0:  # a stranger guessing tokens
                bad = {"Authorization": f"Bearer accord_{turn:016x}_{'x' * 43}"}
                _timed(stats, "hostile bad-token", client.get, "/contracts", headers=bad)
                continue
            if index == 1 and turn % 3 == 0:  # a chunked body that never ends well

                def chunks() -> Iterator[bytes]:
                    for _ in range(64):
                        yield b" " * 65536

                _timed(
                    stats,
                    "hostile chunked",
                    client.post,
                    "/contracts/bench.hostile/versions",
                    content=chunks(),
                    headers={**headers, "Content-Type": "application/json"},
                )
                continue
            kind, body, media = bodies[turn % len(bodies)]
            _timed(
                stats,
                f"hostile {kind}",
                client.post,
                "/contracts/bench.hostile/versions",
                content=body,
                headers={**headers, "Content-Type": media},
            )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--good", type=int, default=3, help="threads of well-formed requests")
    parser.add_argument("--bad", type=int, default=3, help="threads of hostile requests")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="accord-hostile-"))
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": f"sqlite:///{folder / 'registry.db'}",
        "ACCORD_AUTH": "on",
        "ACCORD_RATE_LIMIT": RATE,
    }
    subprocess.run([ACCORD, "db", "upgrade"], env=env, capture_output=True, check=True)
    good = [_token(env, "producer", "payments") for _ in range(args.good)]
    bad = [_token(env, "producer", "payments") for _ in range(args.bad)]
    with running_registry(
        env["ACCORD_DATABASE_URL"],
        folder,
        environ={"ACCORD_AUTH": "on", "ACCORD_RATE_LIMIT": RATE},
    ) as url:
        stats = Stats()
        stop = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=_good, args=(url, t, i, stop, stats))
            for i, t in enumerate(good)
        ] + [
            threading.Thread(target=_bad, args=(url, t, i, stop, stats)) for i, t in enumerate(bad)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 60)
        try:
            alive = httpx.get(f"{url}/health", timeout=5).status_code == 200
        except httpx.TransportError:
            alive = False
    print(
        f"{args.seconds:.0f} s, {args.good} well-formed and {args.bad} hostile clients, "
        f"rate limit {RATE} per token; server alive throughout: {alive}"
    )
    print(f"{'kind':<24}{'requests':>9}  {'p50 ms':>8}{'p99 ms':>8}  statuses")
    good_total = good_failed = 0
    for kind in sorted(stats.statuses):
        statuses = stats.statuses[kind]
        latency = stats.latency[kind]
        total = sum(statuses.values())
        p50, p99 = (_percentile(latency, q) * 1000 for q in (0.5, 0.99))
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        print(f"{kind:<24}{total:>9}  {p50:>8.1f}{p99:>8.1f}  {shown}")
        if kind.startswith("good"):
            good_total += total
            good_failed += sum(n for s, n in statuses.items() if not s.startswith("2"))
    rate = good_failed / good_total if good_total else 1.0
    print(
        f"well-formed requests: {good_total}, failed: {good_failed}, error rate {rate:.4f} (goal 0)"
    )
    server_errors = sum(
        n for statuses in stats.statuses.values() for s, n in statuses.items() if s.startswith("5")
    )
    print(f"5xx answers of any kind: {server_errors}")
    return 0 if rate == 0 and server_errors == 0 and alive else 1


if __name__ == "__main__":
    sys.exit(main())
