"""Keep policy: within a duplicate group keep the most voted, then the longest, then the earliest."""

from __future__ import annotations

import numpy as np


def choose_kept(groups: np.ndarray, votes: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each row, the row index kept for its group (a kept row maps to itself).

    `votes` may hold NaN (no vote signal): such rows lose to any row that has votes.
    Ties are broken by position, so the result is deterministic for a given input order.
    """
    n = len(groups)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    v = np.where(np.isnan(votes), -np.inf, votes)
    order = np.lexsort((np.arange(n), -lengths.astype(np.int64), -v, groups))
    sorted_groups = groups[order]
    first = np.concatenate(([True], sorted_groups[1:] != sorted_groups[:-1]))
    head = np.where(first, np.arange(n), 0)
    np.maximum.accumulate(head, out=head)
    kept = np.empty(n, dtype=np.int64)
    kept[order] = order[head]
    return kept
