"""IoU formulas and the one-to-one matching of answered boxes with solution boxes."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from groundscore.model import box_iou


def vlm_r1_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU as VLM-R1's ``iou_reward`` computes it (inclusive pixel ends).

    The intersection counts ``x2 - x1 + 1`` pixels while the areas count
    ``x2 - x1``; kept exactly so that ``iou_formula="vlm_r1"`` gives VLM-R1's
    numbers. 0.0 where VLM-R1 would divide by zero or see non-finite input.
    """
    try:
        ax1, ay1, ax2, ay2 = (float(v) for v in a)
        bx1, by1, bx2, by2 = (float(v) for v in b)
    except (TypeError, ValueError):
        return 0.0
    if not all(math.isfinite(v) for v in (ax1, ay1, ax2, ay2, bx1, by1, bx2, by2)):
        return 0.0
    ix1, iy1 = max(ax1, bx1), max(ay1, by1)
    ix2, iy2 = min(ax2 - 1, bx2 - 1), min(ay2 - 1, by2 - 1)
    inter = (ix2 - ix1 + 1) * (iy2 - iy1 + 1) if ix1 < ix2 and iy1 < iy2 else 0.0
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    if union == 0 or not math.isfinite(union):
        return 0.0
    return float(inter) / union


def _iou_fn(formula: str) -> Callable[[Sequence[float], Sequence[float]], float]:
    return vlm_r1_iou if formula == "vlm_r1" else box_iou


def hungarian(matrix: Sequence[Sequence[float]]) -> list[tuple[int, int]]:
    """Pairs ``(row, column)`` that maximise the total of ``matrix`` (one-to-one, rectangular allowed).

    The exact Hungarian algorithm (Kuhn-Munkres with potentials, O(n^2 m)),
    in pure Python so that a reward never depends on whether SciPy is
    installed; a test checks it against ``scipy.optimize.linear_sum_assignment``.
    Matrices here are small (answered boxes x solution boxes, at most 100 each).
    """
    rows = len(matrix)
    cols = len(matrix[0]) if rows else 0
    if not rows or not cols:
        return []
    transposed = rows > cols
    cost = [[-float(matrix[i][j]) for i in range(rows)] for j in range(cols)] if transposed else [
        [-float(v) for v in row] for row in matrix]
    n, m = len(cost), len(cost[0])  # n <= m
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    owner = [0] * (m + 1)  # owner[j]: the row (1-based) assigned to column j, 0 for none
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = owner[j0]
            delta = inf
            j1 = 0
            row = cost[i0 - 1]
            for j in range(1, m + 1):
                if used[j]:
                    continue
                cur = row[j - 1] - u[i0] - v[j]
                if cur < minv[j]:
                    minv[j] = cur
                    way[j] = j0
                if minv[j] < delta:
                    delta = minv[j]
                    j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    pairs = [(owner[j] - 1, j - 1) for j in range(1, m + 1) if owner[j]]
    if transposed:
        pairs = [(c, r) for r, c in pairs]
    return sorted(pairs)


def _hungarian_by_component(matrix: list[list[float]]) -> list[tuple[int, int]]:
    """:func:`hungarian`, solved separately on each group of boxes that overlap each other.

    A pair with IoU 0 adds nothing to the total, so the optimum is the union
    of the optima of the connected components of the overlap graph (exact,
    like :func:`hungarian` on the whole matrix); rows and columns left over
    are paired in order at IoU 0, so there are still ``min(rows, columns)``
    pairs. Answers with many boxes mostly overlap few others, so this turns
    one cubic problem into many small ones.
    """
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    parent = list(range(rows + cols))  # union-find over rows 0..rows-1 and columns rows..rows+cols-1

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    overlapping_rows: set[int] = set()
    overlapping_cols: set[int] = set()
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value > 0.0:
                overlapping_rows.add(i)
                overlapping_cols.add(j)
                a, b = find(i), find(rows + j)
                if a != b:
                    parent[a] = b
    components: dict[int, tuple[list[int], list[int]]] = {}
    for i in sorted(overlapping_rows):
        components.setdefault(find(i), ([], []))[0].append(i)
    for j in sorted(overlapping_cols):
        components.setdefault(find(rows + j), ([], []))[1].append(j)
    pairs: list[tuple[int, int]] = []
    for comp_rows, comp_cols in components.values():
        sub = [[matrix[i][j] for j in comp_cols] for i in comp_rows]
        pairs += [(comp_rows[a], comp_cols[b]) for a, b in hungarian(sub)]
    used_rows, used_cols = {r for r, _ in pairs}, {c for _, c in pairs}
    free_rows = [i for i in range(rows) if i not in used_rows]
    free_cols = [j for j in range(cols) if j not in used_cols]
    pairs += list(zip(free_rows, free_cols, strict=False))
    return sorted(pairs)


def _greedy(matrix: list[list[float]]) -> list[tuple[int, int]]:
    pairs = sorted(((v, i, j) for i, row in enumerate(matrix) for j, v in enumerate(row)), key=lambda t: (-t[0], t[1], t[2]))
    used_r: set[int] = set()
    used_c: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i in used_r or j in used_c:
            continue
        used_r.add(i)
        used_c.add(j)
        out.append((i, j))
    return out


def match_boxes(
    predicted: Sequence[Sequence[float]],
    solution: Sequence[Sequence[float]],
    matching: str = "hungarian",
    formula: str = "area",
) -> tuple[float, list[tuple[int, int, float]]]:
    """Mean matched IoU over ``max(#predicted, #solution)``, and the pairs.

    ``first`` pairs the first predicted box with the first solution box only
    (VLM-R1's regex reads one box); ``hungarian`` maximises the total IoU
    (exactly, with or without SciPy); ``greedy`` takes the highest IoU first.
    """
    iou = _iou_fn(formula)
    if not predicted or not solution:
        return 0.0, []
    if matching == "first":
        v = iou(predicted[0], solution[0])
        return v, [(0, 0, v)]
    matrix = [[iou(p, s) for s in solution] for p in predicted]
    pairs = _hungarian_by_component(matrix) if matching == "hungarian" else _greedy(matrix)
    matched = [(i, j, matrix[i][j]) for i, j in pairs]
    return sum(v for _, _, v in matched) / max(len(predicted), len(solution)), matched
