"""The registry depends on `contracts` only: never on `enforcers` or the `accord` CLI."""

from __future__ import annotations

import ast

from tests.conftest import REPO


def test_registry_imports_neither_enforcers_nor_accord() -> None:
    offending = []
    for path in sorted((REPO / "registry").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            offending += [
                f"{path.relative_to(REPO)}: {name}"
                for name in names
                if name.split(".")[0] in ("enforcers", "accord")
            ]
    assert not offending
