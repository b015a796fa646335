"""Registry throughput and latency over loopback, against a floor measured in the same run.

Starts ``accord serve`` (uvicorn, access log off) on a free port over a SQLite file in a
temporary folder and, when ``ACCORD_TEST_POSTGRES_URL`` or ``--database-url`` names a
PostgreSQL server, over a fresh database there too (dropped afterwards). Publishes the
example ``orders.created``, then for 1 and 16 concurrent clients measures requests/s and
p50/p99 latency of:

    GET  /health                                   the floor: routing plus a SELECT 1
    GET  /contracts/orders.created/versions/latest
    POST /contracts/orders.created/compatibility   (the example itself as the candidate)

and prints each figure's ratio to the floor's. These run with authentication off; the
server is then restarted with it on (the default in production) to measure the latest
version read with a bearer token, against that server's floor. Clients are keep-alive
connections of the standard library's http.client, one per thread, spread over two
processes: a lighter client than httpx leaves more of the two cores to the server being
measured.

    python bench/registry.py [--duration 5] [--workers 2] [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the real-process helpers are the tests' own
from tests.conftest import ACCORD  # noqa: E402
from tests.processes import fresh_postgres_database, running_registry  # noqa: E402

ORDERS = REPO / "contracts" / "examples" / "orders.created.yaml"
LATEST = "/contracts/orders.created/versions/latest"

GOALS = {"GET latest": 1500.0, "POST compatibility": 800.0}  # req/s with 16 clients


@dataclass(frozen=True)
class Target:
    label: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    token: str | None = None


@dataclass(frozen=True)
class Result:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def _client_process(
    port: int, target: Target, threads: int, start: float, end: float, out: object
) -> None:
    """Run `threads` closed-loop clients; send their latencies (s) and error count back."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    headers = {"Content-Type": target.content_type} if target.content_type else {}
    if target.token:
        headers["Authorization"] = f"Bearer {target.token}"

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed = 0
        while (began := time.perf_counter()) < end:
            connection.request(target.method, target.path, body=target.body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status >= 300:
                failed += 1
            if began >= start:  # requests in the warm-up are not counted
                mine.append(time.perf_counter() - began)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    pool = [threading.Thread(target=client) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put((latencies, errors[0]))  # type: ignore[attr-defined]


def measure(port: int, target: Target, clients: int, duration: float) -> Result:
    processes = min(clients, 2)
    now = time.perf_counter()
    start, end = now + 0.5, now + 0.5 + duration
    queue: multiprocessing.Queue[tuple[list[float], int]] = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(
            target=_client_process,
            args=(port, target, clients // processes, start, end, queue),
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    latencies = sorted(x for part, _ in results for x in part)
    errors = sum(e for _, e in results)
    if not latencies:
        return Result(0.0, float("nan"), float("nan"), errors)
    return Result(
        requests_per_s=len(latencies) / duration,
        p50_ms=latencies[len(latencies) // 2] * 1000,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        errors=errors,
    )


def print_row(label: str, clients: int, result: Result, base: Result, verdict: str = "") -> None:
    if result.errors:
        verdict += f"  {result.errors} FAILED requests"
    print(
        f"{label:<22}{clients:>8}{result.requests_per_s:>9.0f}"
        f"{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
        f"{result.requests_per_s / base.requests_per_s:>15.2f}"
        f"{result.p50_ms / base.p50_ms:>13.2f}{verdict}"
    )


def reader_token(database_url: str) -> str:
    """A new reader token, made as an operator would: `accord token create`."""
    made = subprocess.run(
        [ACCORD, "token", "create", "--role", "reader", "--name", "bench"],
        env={**os.environ, "ACCORD_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def run_with_token(database_url: str, workers: int, duration: float, folder: Path) -> bool:
    """The latest version read with a bearer token, authentication on; False on failures."""
    token = reader_token(database_url)
    environ = {"ACCORD_AUTH": "on"}
    args = ("--workers", str(workers))
    with running_registry(database_url, folder, *args, environ=environ, timeout=60) as url:
        port = int(url.rsplit(":", 1)[1])
        floor = Target("GET /health (floor)", "GET", "/health")
        read = Target("GET latest, token", "GET", LATEST, token=token)
        print("authentication on (ACCORD_AUTH=on), a reader token on every request:")
        ok = True
        for clients in (1, 16):
            base = measure(port, floor, clients, duration)
            print_row(floor.label, clients, base, base)
            result = measure(port, read, clients, duration)
            print_row(read.label, clients, result, base)
            ok = ok and base.errors == 0 and result.errors == 0
    return ok


def run(database_url: str, label: str, workers: int, duration: float, folder: Path) -> bool:
    """Benchmark one database; print the table; False when any request failed."""
    orders = ORDERS.read_bytes()
    with running_registry(database_url, folder, "--workers", str(workers), timeout=60) as url:
        published = httpx.post(
            f"{url}/contracts/orders.created/versions",
            content=orders,
            headers={"Content-Type": "application/yaml"},
        )
        published.raise_for_status()
        port = int(url.rsplit(":", 1)[1])
        floor = Target("GET /health (floor)", "GET", "/health")
        targets = [
            Target("GET latest", "GET", LATEST),
            Target(
                "POST compatibility",
                "POST",
                "/contracts/orders.created/compatibility",
                orders,
                "application/yaml",
            ),
        ]
        print(f"\nregistry on {label}, {workers} worker(s), {duration:g} s per cell")
        header = f"{'endpoint':<22}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        print(header + f"{'x floor req/s':>15}{'x floor p50':>13}")
        ok = True
        for clients in (1, 16):
            base = measure(port, floor, clients, duration)
            ok = ok and base.errors == 0
            print_row(floor.label, clients, base, base)
            for target in targets:
                result = measure(port, target, clients, duration)
                ok = ok and result.errors == 0
                goal = GOALS.get(target.label) if clients == 16 else None
                verdict = ""
                if goal:
                    met = "met" if result.requests_per_s >= goal else "MISSED"
                    verdict = f"  goal {goal:.0f} req/s {met}"
                print_row(target.label, clients, result, base, verdict)
    return run_with_token(database_url, workers, duration, folder) and ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per cell")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("ACCORD_WORKERS", "2")),
        help="uvicorn worker processes (default: ACCORD_WORKERS, else 2)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("ACCORD_TEST_POSTGRES_URL"),
        help="a PostgreSQL server to benchmark on too (a fresh database is created there)",
    )
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as tmp:
        folder = Path(tmp)
        ok = run(f"sqlite:///{folder / 'bench.db'}", "SQLite", args.workers, args.duration, folder)
        if args.database_url:
            with fresh_postgres_database(args.database_url) as url:
                ok = run(url, "PostgreSQL", args.workers, args.duration, folder) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
