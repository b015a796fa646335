"""`accord enforce kafka`: what it refuses before it reaches a broker (the bridge itself is
tested against Kafka in tests/kafka)."""

from __future__ import annotations

from pathlib import Path

from tests.cli import Ran, accord


def enforce(*args: str, cwd: Path) -> Ran:
    return accord(
        "enforce", "kafka", "--bootstrap-servers", "127.0.0.1:9", "--topic", "t",
        "--group", "g", "--valid-topic", "v", "--dlq-topic", "d", *args, cwd=cwd,
    )  # fmt: skip


def test_an_unreadable_contract_file_is_named_once(tmp_path: Path) -> None:
    result = enforce("--contract", "missing.yaml", "--no-report", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: missing.yaml: cannot read" in result.stderr
    assert result.stderr.count("missing.yaml") == 1


def test_registry_and_spool_options_that_cannot_work_exit_2(tmp_path: Path) -> None:
    bad_url = enforce("--contract", "orders.created", "--registry", "http://[::1", cwd=tmp_path)
    assert bad_url.returncode == 2, bad_url.stdout + bad_url.stderr
    assert "--registry: invalid registry URL 'http://[::1'" in bad_url.stderr
    (tmp_path / "taken").write_text("")
    spool = enforce(
        "--contract", "orders.created", "--registry", "http://127.0.0.1:9",
        "--spool-dir", "taken", cwd=tmp_path,
    )  # fmt: skip
    assert spool.returncode == 2, spool.stdout + spool.stderr
    assert "--spool-dir taken: not a directory" in spool.stderr
    assert "Traceback" not in spool.stderr
