"""Bipartite matching of the subschemas of two combined schemas.

Confluent pairs the subschemas of an old and a new ``allOf``/``anyOf``/``oneOf`` with a maximum
cardinality matching over the compatible pairs. Any maximum matching gives the same verdict; among
them we take one with the fewest reported changes, so that the output is deterministic and pairs
identical subschemas with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["best_matching"]


def best_matching(
    rows: int, cols: int, costs: Mapping[tuple[int, int], int]
) -> list[tuple[int, int]]:
    """A maximum-cardinality matching of least total cost.

    ``costs`` holds the edges ``(row, col)`` that may be matched, with their non-negative cost.
    Returns the matched edges sorted by row.
    """
    if not costs:
        return []
    # Reduce to an assignment problem: a missing edge costs more than all real edges together,
    # so the optimum matches as many real edges as possible before it looks at their costs.
    missing = sum(costs.values()) + 1
    transpose = rows > cols  # the solver below wants no more rows than columns
    n, m = (cols, rows) if transpose else (rows, cols)

    def cost(i: int, j: int) -> int:
        edge = (j, i) if transpose else (i, j)
        return costs.get(edge, missing)

    assignment = _assign(n, m, cost)
    pairs = [((j, i) if transpose else (i, j)) for i, j in enumerate(assignment)]
    return sorted(p for p in pairs if p in costs)


def _assign(n: int, m: int, cost: Callable[[int, int], int]) -> list[int]:
    """Hungarian algorithm (potentials form) for an ``n`` x ``m`` cost matrix, ``n <= m``.

    Returns, for each row, the column assigned to it.
    """
    inf = float("inf")
    # Potentials of rows (u) and columns (v); column 0 is a virtual start column.
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) assigned to column j, 0 for none
    for row in range(1, n + 1):
        owner[0] = row
        previous = [0] * (m + 1)
        slack = [inf] * (m + 1)
        visited = [False] * (m + 1)
        col = 0
        while owner[col] != 0:
            visited[col] = True
            current_row = owner[col]
            delta, next_col = inf, 0
            for j in range(1, m + 1):
                if visited[j]:
                    continue
                reduced = cost(current_row - 1, j - 1) - u[current_row] - v[j]
                if reduced < slack[j]:
                    slack[j], previous[j] = reduced, col
                if slack[j] < delta:
                    delta, next_col = slack[j], j
            for j in range(m + 1):
                if visited[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            col = next_col
        # Flip the augmenting path back to the start column.
        while col != 0:
            prior = previous[col]
            owner[col] = owner[prior]
            col = prior
    assignment = [0] * n
    for j in range(1, m + 1):
        if owner[j]:
            assignment[owner[j] - 1] = j - 1
    return assignment
